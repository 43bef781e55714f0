"""Counter-based random numbers: every draw is a pure function of (seed, step, stream, position).

Search runs many seeds in lockstep, one numpy call per step for all of them. A shared
generator would make seed 7's numbers depend on which other seeds run beside it; here
each number is a hash of its coordinates instead (SplitMix64's finalizer, Steele et al.,
OOPSLA 2014, applied to a counter), so seed 7 draws the same numbers alone or among 500.
Streams name the separate purposes of a step (sampling, mutation, acquisition...), so an
algorithm's draws never overlap however many it makes.
"""

from __future__ import annotations

from typing import Union

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_53 = 1.0 / (1 << 53)
#: The step of draws made before the first query (an algorithm's ``start``).
START_STEP = (1 << 40) - 1

ArrayLike = Union[int, np.ndarray]


def _mix(x: np.ndarray) -> np.ndarray:
    # SplitMix64: one increment by the golden gamma, then the variant-13 finalizer.
    # uint64 array arithmetic wraps modulo 2**64 without warnings, as the hash needs.
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def seed_keys(seeds: np.ndarray) -> np.ndarray:
    """The 64-bit key of each seed (``seeds``: non-negative integers), shape ``seeds.shape``."""
    s = np.asarray(seeds, dtype=np.int64).reshape(-1)
    return _mix(s.astype(np.uint64)).reshape(np.shape(seeds))


class Draws:
    """Random numbers of one step for many seeds at once: row ``k`` belongs to ``keys[k]`` only.

    ``uniform(stream, n)`` returns ``(S, n)`` numbers in [0, 1); the number at ``[k, j]``
    is a function of (seed k, step, stream, j) alone.
    """

    __slots__ = ("keys", "step", "_base")

    def __init__(self, keys: np.ndarray, step: int) -> None:
        self.keys = keys
        self.step = int(step)
        self._base = _mix(keys ^ np.uint64(self.step))

    def bits(self, stream: int, n: int) -> np.ndarray:
        """``(S, n)`` uint64 hashes of (seed, step, stream, 0..n-1)."""
        k = _mix(self._base + np.uint64((int(stream) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF))
        return _mix(k[:, None] + np.arange(n, dtype=np.uint64)[None, :] * _M2)

    def uniform(self, stream: int, n: int = 1) -> np.ndarray:
        """``(S, n)`` floats uniform in [0, 1) (53 random bits each)."""
        return (self.bits(stream, n) >> _S11).astype(np.float64) * _TWO_53

    def integers(self, stream: int, high: ArrayLike, n: int = 1) -> np.ndarray:
        """``(S, n)`` integers uniform in ``0 .. high - 1`` (``high`` broadcasts against ``(S, n)``)."""
        h = np.asarray(high, dtype=np.int64)
        # floor(u * high) can round up to high itself when u is within 2**-53 of 1
        return np.minimum((self.uniform(stream, n) * h).astype(np.int64), h - 1)

    def normal(self, stream: int, n: int = 1) -> np.ndarray:
        """``(S, n)`` standard normal numbers (Box-Muller on two uniform streams)."""
        u1 = self.uniform(stream, n)
        u2 = self.uniform(stream + 1_000_003, n)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
