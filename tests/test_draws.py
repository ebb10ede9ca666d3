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


def test_seed_state_is_numpys_seed_sequence_bit_for_bit():
    rng = np.random.default_rng(0)
    cases = [[0], [1, 0, 0], [2**32], [2**64 + 5, 0, 7], list(range(9)), [2**128 - 1], [2**63 - 1, 160, 2**32 - 1]]
    for _ in range(300):  # one to seven integers of random bit lengths: fewer and more words than the pool
        k = int(rng.integers(1, 8))
        cases.append([int(v) for v in rng.integers(0, 2**63, k) >> rng.integers(0, 63, k)])
    for entropy in cases:
        for n_words in (1, 2, 8, 9):
            expected = np.random.SeedSequence(entropy).generate_state(n_words, np.uint32)
            assert np.array_equal(draws.seed_state(entropy, n_words), expected), (entropy, n_words)
    assert (
        draws.key(7, 3, "renewal")
        == np.random.SeedSequence(draws.entropy(7, 3, "renewal")).generate_state(1, np.uint64)[0]
    )


def test_streams_are_numpys_default_rng_of_the_same_entropy():
    for seed, quarter, purpose in [(0, 0, "entry"), (2**63 - 1, 39, "ipo window"), (12345, 7, "")]:
        ours = draws.stream(seed, quarter, purpose)
        numpys = np.random.default_rng(draws.entropy(seed, quarter, purpose))
        assert ours.bit_generator.state == numpys.bit_generator.state
        assert np.array_equal(ours.standard_normal(50), numpys.standard_normal(50))


def test_negative_seed_entropy_is_refused_as_numpy_refuses_it():
    import pytest

    with pytest.raises(ValueError, match="non-negative"):
        draws.seed_state([5, -1], 2)


def test_categories_are_numpys_choice_with_those_probabilities_and_use_the_same_draws():
    for seed in range(40):
        setup = np.random.default_rng(seed)
        weights = setup.random(int(setup.integers(1, 30))) ** 3
        size = int(setup.integers(0, 400))
        ours, numpys = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
        drawn = draws.categories(ours, weights, size)
        assert np.array_equal(drawn, numpys.choice(weights.size, size=size, p=weights / weights.sum()))
        assert ours.bit_generator.state == numpys.bit_generator.state


# --- the stages draw what the model's per-firm draws give for their purpose ----------------------------
# Compiled loops compute their draws firm by firm (draws.uniform_of); these check each call site against
# the stage's rule written with model.uniform, so a wrong key, purpose or firm id shows.


def test_acquisitions_are_the_firms_whose_acquisition_draw_is_below_their_hazard():
    from smegrowth import EnterpriseModel
    from smegrowth.firm_state import by_kind

    rates = {"ma_rate_sme": 0.3, "ma_rate_little_giant": 0.2, "ma_rate_unicorn": 0.4}
    model = EnterpriseModel(scale=0.05, rng=5, parameters={"listing": rates})
    model.run(2)
    seen = {}
    stage = model.capital_market.acquisitions

    def checked(model):  # the rule, on the state the stage meets in the quarter
        st, p = model.state, model.params.listing
        rows = np.flatnonzero(st.active())
        quarterly = 1.0 - (1.0 - by_kind(p.ma_rate_sme, p.ma_rate_little_giant, p.ma_rate_unicorn)) ** 0.25
        distress = np.where(st.annual_profit[rows] < 0, 1.0 + p.ma_distress_multiplier, 1.0)
        hazard = np.minimum(quarterly[st.kind[rows]] * distress * model.incentives.ma_boost[rows], 1.0)
        seen["expected"] = rows[model.uniform(rows, "acquisition") < hazard]
        seen["acquired"] = stage(model)
        seen["ids"] = model.state.firm_id[seen["acquired"]]
        return seen["acquired"]

    model.capital_market.acquisitions = checked
    model.step()
    assert seen["expected"].size > 200 and np.array_equal(seen["acquired"], seen["expected"])
    assert (model.firm_table().set_index("firm_id").loc[seen["ids"], "status"] == "acquired").all()


def test_renewals_follow_the_hazard_of_the_equipments_age_and_the_renewal_draws():
    from smegrowth import EnterpriseModel

    # short-lived equipment with a falling hazard: many firms' equipment is older than the table
    model = EnterpriseModel(scale=0.05, rng=6, parameters={"investment": {"service_life": 0.5, "renewal_shape": 0.5}})
    model.run(2)
    st, p, planner = model.state, model.params.investment, model.investment
    rows = st.active_rows()
    renewal, _ = planner.plan(model, rows)
    table = planner.renewal_hazard(p.service_life, p.renewal_shape)
    age = np.maximum(model.quarter - st.vintage[rows], 0.0) / 4.0
    rate = np.maximum(planner.financing_rate(model, rows), 0.005)
    response = np.minimum((p.reference_rate / rate) ** p.user_cost_elasticity, 3.0)
    renews = model.uniform(rows, "renewal") < np.minimum(table(age) * response, 1.0)
    assert (age > table.high).sum() > 100 and 0.05 < renews.mean() < 0.95
    assert np.array_equal(renewal, np.where(renews, p.renewal_fraction * st.capital[rows], 0.0))


def test_innovation_and_patents_follow_their_chances_and_draws():
    from smegrowth import EnterpriseModel
    from smegrowth.innovation import _beta_quantiles

    model = EnterpriseModel(scale=0.05, rng=7)
    model.run(2)
    st, p = model.state, model.params.innovation
    rows = st.active_rows()
    rd, revenue, patents = st.rd[rows].copy(), np.maximum(st.revenue[rows], 1e-9), st.patents[rows].copy()
    opportunity = model.tech_opportunity[st.sector[rows]]
    model.innovation.step(model, rows, np.zeros(rows.size))

    chance = 1.0 - np.exp(-p.innovation_rate * opportunity * np.minimum(rd / revenue, 5.0))
    size = p.jump_low + (p.jump_high - p.jump_low) * _beta_quantiles(p.jump_beta)(
        model.uniform(rows, "innovation size")
    )
    expected = (model.uniform(rows, "innovation") < chance) & (size > 0)
    assert 20 < expected.sum() < rows.size / 2
    assert np.array_equal(model.innovation.successes[rows], expected)
    granted = np.floor(rd * opportunity / p.patent_cost + model.uniform(rows, "patents"))
    assert np.array_equal(st.patents[rows], patents + granted)
