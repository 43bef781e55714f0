"""Pareto fronts and hypervolume, for two or more objectives each with its own direction.

Everything here is array-in, array-out (no store, no I/O): the points are an ``(n, k)``
array, ``maximize`` says per column whether larger is better. Internally every column is
turned into a minimisation (``sign`` below) so one dominance rule serves all.

* :func:`non_dominated` marks the points no other point dominates (weakly better in every
  objective, strictly better in one); equal points are all kept.
* :func:`hypervolume` is the measure of the region dominated by the points and bounded by
  a reference point (which must be worse than every point that counts: points not strictly
  better than it in all objectives add nothing). Exact: a sweep for two objectives, the
  inclusion-exclusion-free slicing recursion (HSO) for more, fine for the few hundred
  points of a NAS front.
* :func:`hypervolume_trajectory` is the hypervolume of every prefix of a sequence of points
  (the anytime hypervolume of a search), recomputed only when a point joins the front.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from .errors import ZcdbError

__all__ = ["non_dominated", "hypervolume", "to_minimisation", "nondominated_rank", "hypervolume_trajectory"]


def _points(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2:
        raise ZcdbError(f"points must be an (n, k) array, got shape {p.shape}")
    if p.shape[1] < 2:
        raise ZcdbError("a Pareto front needs two or more objectives: give at least two")
    if len(maximize) != p.shape[1]:
        raise ZcdbError(f"{p.shape[1]} objectives but {len(maximize)} directions")
    return p


def to_minimisation(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``points`` with the maximised columns negated (so that smaller is better everywhere)."""
    p = _points(points, maximize)
    return p * np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)


def non_dominated(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (rows with a NaN are never on the front)."""
    q = to_minimisation(points, maximize)
    n = q.shape[0]
    ok = np.isfinite(q).all(axis=1)
    mask = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return mask
    sub = q[idx]
    if sub.shape[1] == 2:
        mask[idx[_non_dominated_2d(sub)]] = True
        return mask
    # Sort by the objectives lexicographically: a point can only be dominated by one sorted before it.
    order = np.lexsort(sub.T[::-1])
    sub = sub[order]
    if sub.shape[1] == 2:
        # Two objectives: a point is dominated when a point sorted before it, other than its own
        # duplicates, is at least as good in the second objective (a sweep instead of a loop).
        n_sub = sub.shape[0]
        new_row = np.ones(n_sub, dtype=bool)
        new_row[1:] = np.any(sub[1:] != sub[:-1], axis=1)
        start = np.maximum.accumulate(np.where(new_row, np.arange(n_sub), 0))
        best_before = np.concatenate([[np.inf], np.minimum.accumulate(sub[:, 1])])[start]
        mask[idx[order[best_before > sub[:, 1]]]] = True
        return mask
    keep = np.ones(sub.shape[0], dtype=bool)
    front: list[int] = []
    for i in range(sub.shape[0]):
        if front:
            f = sub[front]
            dominated = np.all(f <= sub[i], axis=1) & np.any(f < sub[i], axis=1)
            if dominated.any():
                keep[i] = False
                continue
        front.append(i)
    mask[idx[order[keep]]] = True
    return mask


def _non_dominated_2d(q: np.ndarray) -> np.ndarray:
    """Positions of the non-dominated rows of a finite two-column minimisation array, in O(n log n).

    Sorted by the first objective (then the second), a point is dominated exactly when a point
    with a strictly smaller first objective has a second objective at most its own, or a point
    with the same first objective has a smaller second one; equal points are all kept."""
    order = np.lexsort((q[:, 1], q[:, 0]))
    a, b = q[order, 0], q[order, 1]
    first = np.r_[True, a[1:] != a[:-1]]
    group = np.cumsum(first) - 1
    best = b[first]  # each level's smallest second objective
    before = np.r_[np.inf, np.minimum.accumulate(best)[:-1]]  # the best of all levels before it
    keep = (b == best[group]) & (best[group] < before[group])
    return order[keep]


def nondominated_rank(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """The non-domination rank of every row (0: the front, 1: the front once it is removed, ...);
    rows with a NaN get the largest rank plus one."""
    p = _points(points, maximize)
    rank = np.full(p.shape[0], -1, dtype=np.int64)
    left = np.isfinite(p).all(axis=1)
    r = 0
    while left.any():
        idx = np.flatnonzero(left)
        front = idx[non_dominated(p[idx], maximize)]
        rank[front] = r
        left[front] = False
        r += 1
    rank[rank < 0] = r
    return rank


def _reference(reference: Union[Sequence[float], np.ndarray], maximize: Sequence[bool]) -> np.ndarray:
    """The reference point in minimisation form."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    if ref.size != len(maximize) or not np.isfinite(ref).all():
        raise ZcdbError(f"the reference point needs {len(maximize)} finite values, got {list(np.asarray(reference))}")
    return ref * np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)


def hypervolume(points: np.ndarray, reference: Union[Sequence[float], np.ndarray], maximize: Sequence[bool]) -> float:
    """Hypervolume dominated by ``points`` and bounded by ``reference`` (both in the objectives' units)."""
    q = to_minimisation(points, maximize)
    r = _reference(reference, maximize)
    q = q[np.isfinite(q).all(axis=1)]
    q = q[np.all(q < r, axis=1)]
    if q.shape[0] == 0:
        return 0.0
    q = q[non_dominated(q, [False] * q.shape[1])]
    return float(_hv(q, r))


def _hv(q: np.ndarray, r: np.ndarray) -> float:
    """Hypervolume of mutually non-dominated minimisation points ``q`` (all better than ``r``)."""
    k = q.shape[1]
    if k == 1:
        return float(r[0] - q[:, 0].min())
    if k == 2:
        q = q[np.argsort(q[:, 0], kind="stable")]
        # Sorted by the first objective, a front has the second strictly decreasing.
        widths = np.diff(np.append(q[:, 0], r[0]))
        return float(np.sum(widths * (r[1] - q[:, 1])))
    # Slice along the last objective: between consecutive levels, the points at or below a
    # level project to a (k-1)-dimensional front.
    order = np.argsort(q[:, -1], kind="stable")
    q = q[order]
    levels = np.append(q[:, -1], r[-1])
    total = 0.0
    for i in range(q.shape[0]):
        depth = levels[i + 1] - levels[i]
        if depth <= 0:
            continue
        sub = q[: i + 1, :-1]
        sub = sub[non_dominated(sub, [False] * (k - 1))]
        total += depth * _hv(sub, r[:-1])
    return total


def hypervolume_trajectory(points: np.ndarray, reference: Union[Sequence[float], np.ndarray],
                           maximize: Sequence[bool], valid: Optional[np.ndarray] = None) -> np.ndarray:
    """``out[t]``: the hypervolume of ``points[:t + 1]`` (as :func:`hypervolume`), for every ``t``.

    Rows where ``valid`` is False (an infeasible query) or with a NaN count for nothing. The
    front is kept as the points arrive and its hypervolume recomputed, exactly, only when a
    point joins it, so the few hundred queries of a search cost milliseconds.
    """
    q = to_minimisation(points, maximize)
    r = _reference(reference, maximize)
    ok = np.isfinite(q).all(axis=1) & np.all(q < r, axis=1)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    out = np.zeros(q.shape[0])
    front = q[:0]
    hv = 0.0
    for t in range(q.shape[0]):
        x = q[t]
        # a point weakly dominated by the front (a duplicate included) adds nothing
        if ok[t] and not (front.shape[0] and np.any(np.all(front <= x, axis=1))):
            front = np.vstack([front[~np.all(x <= front, axis=1)], x])
            hv = float(_hv(front, r))
        out[t] = hv
    return out
