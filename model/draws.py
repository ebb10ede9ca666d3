"""Common random numbers keyed by firm: each firm's draw depends on the run, the quarter, the purpose
and the firm, and on nothing else.

A per-firm draw (does this firm renew equipment this quarter? what is its demand shock?) is computed
from a 64-bit key for (run seed, quarter, purpose) and the firm's id, not taken from a sequential
stream. So two runs with the same seed, a baseline and a lever scenario, give every firm the same
draws whichever firms entered or left in between (common random numbers, for paired comparisons), and
a stage pays only for the firms it draws for: 20,000 venture-backed firms cost 20,000 draws, not one per
firm ever created.

The draw is a counter-based generator: the SplitMix64 output function (Steele, Lea & Flood 2014,
"Fast splittable pseudorandom number generators", OOPSLA) applied to ``key + (id + 1) * gamma``, i.e.
output number ``id + 1`` of the SplitMix64 sequence seeded with the key, which passes the BigCrush
battery. Keys come from numpy's ``SeedSequence``, so keys of different purposes and quarters are
unrelated.
"""

from __future__ import annotations

import zlib

import numpy as np

from .compiled import per_firm

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
_LOW24 = np.uint64(0xFFFFFF)
_TWO_POW_M24 = np.float32(2.0**-24)


def key(seed: int, quarter: int, purpose: str) -> np.uint64:
    """The 64-bit key of the draws for ``purpose`` in ``quarter`` of the run seeded with ``seed``."""
    sequence = np.random.SeedSequence([seed, quarter, zlib.crc32(purpose.encode())])
    return sequence.generate_state(1, np.uint64)[0]


@per_firm
def _mix(key: np.uint64, firm_id: np.int64) -> np.uint64:
    """64 random bits of firm ``firm_id`` under ``key``: SplitMix64's output number ``firm_id + 1``."""
    z = np.uint64(firm_id) * _GAMMA + key + _GAMMA
    z ^= z >> _S30
    z *= _MIX1
    z ^= z >> _S27
    z *= _MIX2
    return z ^ (z >> _S31)


@per_firm
def _uniforms(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    out = np.empty(ids.size, dtype=np.float32)
    for i in range(ids.size):
        out[i] = np.float32(_mix(key, ids[i]) >> _S40) * _TWO_POW_M24
    return out


@per_firm
def _uniform_pairs(key: np.uint64, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two 24-bit uniforms per firm from its 64 bits: on (0, 1) and on [0, 2 pi)."""
    first = np.empty(ids.size, dtype=np.float32)
    angle = np.empty(ids.size, dtype=np.float32)
    for i in range(ids.size):
        z = _mix(key, ids[i])
        first[i] = (np.float32(z >> _S40) + np.float32(0.5)) * _TWO_POW_M24
        angle[i] = np.float32(z & _LOW24) * (np.float32(2.0 * np.pi) * _TWO_POW_M24)
    return first, angle


def uniforms(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    """Uniform draws on [0, 1) for firms ``ids``, single precision (24 random bits: far finer than any
    hazard they are compared with, and a third cheaper than double precision)."""
    return _uniforms(np.uint64(key), np.asarray(ids, dtype=np.int64))


def normals(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    """Standard normal draws for firms ``ids`` by the Box-Muller transform of two 24-bit uniforms from
    each firm's bits, in single precision (|z| up to 5.8). The logarithm and cosine are numpy's: its
    vectorised float32 versions are several times faster than a compiled loop's scalar ones."""
    radius, angle = _uniform_pairs(np.uint64(key), np.asarray(ids, dtype=np.int64))
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    np.cos(angle, out=angle)
    angle *= radius
    return angle
