"""Training-free ensembles: one score per architecture from several proxies' scores.

Pure functions over arrays (no store, no torch); :mod:`zcdb.proxies.ensemble` stores
the result as a proxy score set of its own. Every method first orients each member
(multiplies its scores by ``orient[name]``, +1 when higher predicts better, -1 when
lower does) and ranks it; ties share their average rank, so a member that scores many
networks alike (a collapsed proxy) favours none of them. An architecture with a NaN
(or infinite) score in any member gets NaN: a member that could not score it says
nothing about it, and filling the gap with a rank would invent a judgement. Ranks are
taken over the architectures every member scored.

Methods (:data:`METHODS`):

``mean-rank``
    The mean over members of the oriented rank, scaled to 0 (worst) .. 1 (best).
``log-rank``
    AZ-NAS's non-linear ranking aggregation (Lee & Ham, "AZ-NAS: Assembling Zero-Cost
    Proxies for Network Architecture Search", CVPR 2024, Eq. 12): the sum over members
    of ``log(rank_i / n)``, with ranks 1..n ascending in the oriented score, so the
    best architecture of every member contributes ``log(1) = 0`` and the worst
    ``log(1/n)``. The reference code computes ``np.log(stats.rankdata(score) / l)``.
``mean-zscore``
    The mean over members of the oriented score standardised to mean 0, std 1 (a
    constant member contributes 0). Sensitive to outliers in the raw scores, unlike
    the rank methods; given for comparison.

Which penalises collapsed networks: ``log-rank``. A network that one member ranks at
the bottom (say a cell whose output is cut off, which a data-dependent proxy scores
worst) gets ``log(1/n)`` from that member, a large negative number (-9.7 for n =
15,625) that no other member can make up, since each contributes at most 0: one bad
member sinks it, which is AZ-NAS's point ("highlights the networks highly-ranked
consistently across all the proxies"). ``mean-rank`` averages the bad rank with the
good ones, so a network first for two members and last for the third sits at 2/3.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
from scipy.stats import rankdata

from zcdb.errors import ZcdbError


def _oriented(scores: Mapping[str, np.ndarray], orient: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(members x archs oriented scores, mask of architectures every member scored)."""
    if not scores:
        raise ZcdbError("an ensemble needs at least one member proxy")
    names = list(scores)
    missing = [n for n in names if n not in orient]
    if missing:
        raise ZcdbError(f"no orientation for {', '.join(missing)}: give +1 (higher is better) or -1 for each member")
    arrs = [np.asarray(scores[n], dtype=np.float64) for n in names]
    if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 1:
        raise ZcdbError("ensemble members need equally long 1-d score arrays (one score per architecture)")
    m = np.stack([float(np.sign(orient[n]) or 1.0) * a for n, a in zip(names, arrs)])
    return m, np.isfinite(m).all(axis=0)


def _mean_rank(m: np.ndarray) -> np.ndarray:
    n = m.shape[1]
    r = np.stack([rankdata(row) for row in m])
    return (r.mean(axis=0) - 1) / (n - 1) if n > 1 else np.ones(n)


def _log_rank(m: np.ndarray) -> np.ndarray:
    n = m.shape[1]
    return np.sum([np.log(rankdata(row) / n) for row in m], axis=0)


def _mean_zscore(m: np.ndarray) -> np.ndarray:
    sd = m.std(axis=1, keepdims=True)
    z = np.where(sd > 0, (m - m.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0), 0.0)
    return z.mean(axis=0)


#: Aggregation methods by name (see the module docstring).
METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean-rank": _mean_rank,
    "log-rank": _log_rank,
    "mean-zscore": _mean_zscore,
}


def combine(scores: Mapping[str, np.ndarray], method: str, orient: Mapping[str, float]) -> np.ndarray:
    """The ensemble score of every architecture (higher is better; NaN where any member is not finite).

    ``scores`` maps member names to equally long score arrays (one entry per architecture),
    ``orient`` each name to +1 (higher is better) or -1; ``method`` is a key of :data:`METHODS`.
    """
    if method not in METHODS:
        raise ZcdbError(f"unknown ensemble method {method!r}: use one of {', '.join(METHODS)}")
    m, ok = _oriented(scores, orient)
    out = np.full(m.shape[1], np.nan)
    if ok.any():
        out[ok] = METHODS[method](m[:, ok])
    return out
