"""Per-firm random draws (smegrowth.draws): the compiled generator is SplitMix64 keyed by firm, and its
uniforms and normals have the right distribution."""

import numpy as np
from smegrowth import draws

MASK = 2**64 - 1


def splitmix64(key: int, firm_id: int) -> int:
    """Output number ``firm_id + 1`` of SplitMix64 seeded with ``key``, in Python integers (Steele, Lea &
    Flood 2014), written independently of the compiled version."""
    z = (key + (firm_id + 1) * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def test_uniforms_are_the_top_24_bits_of_splitmix64_of_the_firm_id():
    key = draws.key(7, 3, "renewal")
    ids = np.array([0, 1, 2, 999, 141_000, 2**40 + 5])
    expected = [(splitmix64(int(key), int(i)) >> 40) / 2**24 for i in ids]
    assert draws.uniforms(key, ids).tolist() == expected


def test_a_firms_draw_depends_on_its_id_not_on_the_other_firms_drawn():
    key = draws.key(11, 5, "innovation")
    everyone = draws.uniforms(key, np.arange(1000))
    some = np.array([3, 500, 999, 17])
    assert np.array_equal(draws.uniforms(key, some), everyone[some])
    assert not np.array_equal(draws.uniforms(draws.key(11, 6, "innovation"), some), everyone[some])


def test_uniforms_and_normals_have_their_distributions():
    ids = np.arange(200_000)
    u = draws.uniforms(draws.key(1, 1, "u"), ids).astype(float)
    z = draws.normals(draws.key(1, 1, "z"), ids).astype(float)
    se = 1 / np.sqrt(ids.size)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 4 * se * np.sqrt(1 / 12)
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 0.098 * ids.size
    assert abs(z.mean()) < 4 * se and abs(z.std() - 1.0) < 4 * se
    assert abs(np.mean(z < -1.959964) - 0.025) < 4 * np.sqrt(0.025 * 0.975) * se
    assert abs(np.corrcoef(u, draws.uniforms(draws.key(1, 1, "other"), ids))[0, 1]) < 4 * se
