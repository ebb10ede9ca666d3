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
unrelated; :func:`seed_state` computes its words in a compiled loop (a tenth of the cost of building a
``SeedSequence``, which counted at small scale, where a quarter draws a few dozen keys and streams).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from numpy.random.bit_generator import ISeedSequence

from .compiled import per_firm

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
_LOW24 = np.uint64(0xFFFFFF)
_TWO_POW_M24 = np.float32(2.0**-24)


def entropy(seed: int, quarter: int, purpose: str) -> list[int]:
    """The entropy of the draws for ``purpose`` in ``quarter`` of the run seeded with ``seed``."""
    return [seed, quarter, zlib.crc32(purpose.encode())]


def key(seed: int, quarter: int, purpose: str) -> np.uint64:
    """The 64-bit key of the draws for ``purpose`` in ``quarter`` of the run seeded with ``seed``:
    ``SeedSequence([seed, quarter, crc32(purpose)]).generate_state(1, np.uint64)[0]``."""
    return _seed_state64(entropy(seed, quarter, purpose), 1)[0]


def stream(seed: int, quarter: int, purpose: str) -> np.random.Generator:
    """The random stream for ``purpose`` in ``quarter`` of the run seeded with ``seed``: the generator
    ``np.random.default_rng([seed, quarter, crc32(purpose)])``, made without a ``SeedSequence``."""
    return np.random.Generator(np.random.PCG64(_Entropy(entropy(seed, quarter, purpose))))


def categories(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of categories ``0 .. len(weights) - 1`` with probabilities proportional to
    ``weights``: ``rng.choice(len(weights), size, p=weights / weights.sum())`` bit for bit (the same
    uniforms, the same inverse of the distribution function), without that call's checks of ``p``,
    which cost more than the draws when entrants are few."""
    cdf = np.cumsum(weights / weights.sum())
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(size), side="right")


# --- numpy's SeedSequence, compiled ----------------------------------------------------------------
# The algorithm of numpy.random.SeedSequence (after M. E. O'Neill's seed_seq_fe, 2015): the entropy's
# 32-bit words are hashed into a pool of four words, the pool words are mixed with each other, and state
# words are hashes of the pool words in turn. Arithmetic is modulo 2**32, done here in 64-bit integers.
_MASK32 = np.uint64(0xFFFFFFFF)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_S16, _S32 = np.uint64(16), np.uint64(32)
_POOL = 4


def _words(entropy: Sequence[int]) -> np.ndarray:
    """Non-negative integers as the 32-bit words SeedSequence reads: each integer's words, lowest first
    (0 is one word), one integer after another."""
    words = []
    for value in entropy:
        value = int(value)
        if value < 0:
            raise ValueError(f"seed entropy must be non-negative, got {value}")
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        while value:
            words.append(value & 0xFFFFFFFF)
            value >>= 32
    return np.array(words, dtype=np.uint64)


def seed_state(entropy: Sequence[int], n_words: int) -> np.ndarray:
    """``np.random.SeedSequence(entropy).generate_state(n_words, np.uint32)`` for a sequence of
    non-negative integers, bit for bit."""
    return _seed_state(_words(entropy), n_words).astype(np.uint32)


def _seed_state64(entropy: Sequence[int], n_words: int) -> np.ndarray:
    """``generate_state(n_words, np.uint64)``: pairs of 32-bit words, the first the low half (as
    numpy reads them, whatever the machine's byte order)."""
    return _seed_state_pairs(_words(entropy), n_words)


class _Entropy(ISeedSequence):
    """Seeds a bit generator as ``SeedSequence(entropy)`` would (without spawning children)."""

    def __init__(self, entropy: Sequence[int]) -> None:
        self.entropy = entropy

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        if np.dtype(dtype) == np.uint64:
            return _seed_state64(self.entropy, n_words)
        return seed_state(self.entropy, n_words)


@per_firm
def _hash(value: np.uint64, multiplier: np.uint64) -> tuple[np.uint64, np.uint64]:
    """SeedSequence's ``hashmix``: the hash of a word and the next multiplier."""
    value ^= multiplier
    multiplier = (multiplier * _MULT_A) & _MASK32
    value = (value * multiplier) & _MASK32
    return value ^ (value >> _S16), multiplier


@per_firm
def _mix_words(x: np.uint64, y: np.uint64) -> np.uint64:
    """SeedSequence's ``mix`` of two pool words."""
    result = (_MIX_L * x - _MIX_R * y) & _MASK32
    return result ^ (result >> _S16)


@per_firm
def _seed_state(entropy: np.ndarray, n_words: int) -> np.ndarray:
    """The first ``n_words`` state words (as uint64 below 2**32) of SeedSequence over the 32-bit words
    ``entropy``."""
    pool = np.zeros(_POOL, dtype=np.uint64)
    multiplier = _INIT_A
    for i in range(_POOL):
        pool[i], multiplier = _hash(entropy[i] if i < entropy.size else np.uint64(0), multiplier)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                hashed, multiplier = _hash(pool[src], multiplier)
                pool[dst] = _mix_words(pool[dst], hashed)
    for src in range(_POOL, entropy.size):
        for dst in range(_POOL):
            hashed, multiplier = _hash(entropy[src], multiplier)
            pool[dst] = _mix_words(pool[dst], hashed)
    state = np.empty(n_words, dtype=np.uint64)
    multiplier = _INIT_B
    for i in range(n_words):
        value = pool[i % _POOL] ^ multiplier
        multiplier = (multiplier * _MULT_B) & _MASK32
        value = (value * multiplier) & _MASK32
        state[i] = value ^ (value >> _S16)
    return state


@per_firm
def _seed_state_pairs(entropy: np.ndarray, n_words: int) -> np.ndarray:
    """The first ``n_words`` 64-bit state words of SeedSequence over the 32-bit words ``entropy``: each
    a pair of 32-bit state words, the first the low half."""
    words = _seed_state(entropy, 2 * n_words)
    state = np.empty(n_words, dtype=np.uint64)
    for i in range(n_words):
        state[i] = words[2 * i] | (words[2 * i + 1] << _S32)
    return state


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
def uniform_of(key: np.uint64, firm_id: np.int64) -> np.float32:
    """The uniform draw on [0, 1) of firm ``firm_id`` under ``key``, the one :func:`uniforms` gives it:
    for a compiled loop that draws as it goes instead of reading an array of draws (which costs a pass
    writing the array and another reading it, over every firm)."""
    return np.float32(_mix(key, firm_id) >> _S40) * _TWO_POW_M24


@per_firm
def _uniforms(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    out = np.empty(ids.size, dtype=np.float32)
    for i in range(ids.size):
        out[i] = uniform_of(key, ids[i])
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
