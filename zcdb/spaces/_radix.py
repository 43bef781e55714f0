"""Mixed-radix codes of product spaces: a choice tuple <-> its integer code, the first position slowest.

Shared by the spaces whose architectures are every combination of per-position choices
(nb201, macro, nats-sss and :class:`~zcdb.spaces.base.ProductSpace`).
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

Radix = Union[int, Sequence[int], np.ndarray]


def powers(radix: Sequence[int]) -> np.ndarray:
    """Read-only int64 place values: position ``k`` counts ``prod(radix[k + 1:])``."""
    out = np.ones(len(radix), dtype=np.int64)
    for k in range(len(radix) - 2, -1, -1):
        out[k] = out[k + 1] * int(radix[k + 1])
    out.setflags(write=False)
    return out


def code(digits: Sequence[int], base: int) -> int:
    """The code of ``digits`` in one base (all positions the same radix)."""
    c = 0
    for d in digits:
        c = c * base + d
    return c


def decode(c: int, base: int, width: int) -> tuple[int, ...]:
    """The ``width`` digits of code ``c`` in one base, first position first."""
    out = [0] * width
    for k in range(width - 1, -1, -1):
        c, out[k] = divmod(c, base)
    return tuple(out)


def one_change_codes(digits: np.ndarray, codes: np.ndarray, place: np.ndarray, radix: Sequence[int]) -> np.ndarray:
    """``(n, sum(radix - 1))`` int64 codes that differ from each row in one position, position by
    position, choices ``(c + 1) % r .. (c + r - 1) % r`` (the product spaces' neighbours)."""
    d = np.asarray(digits, dtype=np.int64)
    cols = []
    for k, r in enumerate(radix):
        for delta in range(1, int(r)):
            cols.append(codes + ((d[:, k] + delta) % r - d[:, k]) * place[k])
    return np.stack(cols, axis=1) if cols else np.empty((len(codes), 0), np.int64)


def digit_matrix(codes: np.ndarray, place: np.ndarray, radix: Radix) -> np.ndarray:
    """``(len(codes), len(place))`` read-only int8 array: the digits of each code."""
    r = np.asarray(radix, dtype=np.int64)
    m = ((np.asarray(codes, dtype=np.int64)[:, None] // place[None, :]) % (r[None, :] if r.ndim else r))
    m = m.astype(np.int8)
    m.setflags(write=False)
    return m
