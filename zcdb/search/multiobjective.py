"""Multi-objective search: regularized evolution with non-dominated sorting, and ParEGO.

Both are told ``(S, K)`` oriented objective scores per query (larger is better in every
column; see :class:`~zcdb.search.problem.MultiObjectiveProblem`) and work on all seeds at
once, row ``k`` depending on seed ``k`` only, as every algorithm here (:mod:`zcdb.search.base`).
Random search (:class:`~zcdb.search.simple.RandomSearch`) serves both kinds of problem.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import ZcdbError
from .bananas import Bananas
from .base import Algorithm, Context
from .rng import Draws
from .simple import RegularizedEvolution


def rank_and_crowding(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-domination rank and crowding distance of every member of ``S`` populations.

    ``scores``: ``(S, P, K)``, larger is better. Rank 0 is each population's front, rank 1
    the front once rank 0 is removed, and so on (Deb et al., IEEE TEC 2002, NSGA-II).
    Crowding: within its front, the sum over objectives of the gap between a member's two
    neighbours in that objective, divided by the front's range in it; the two ends of a
    front in any objective get infinity. Returns ``(S, P)`` ranks and distances.
    """
    S, P, K = scores.shape
    weakly = np.ones((S, P, P), dtype=bool)
    strictly = np.zeros((S, P, P), dtype=bool)
    for m in range(K):
        v = scores[:, :, m]
        weakly &= v[:, :, None] >= v[:, None, :]
        strictly |= v[:, :, None] > v[:, None, :]
    dominates = (weakly & strictly).astype(np.float64)  # [s, i, j]: i dominates j
    # peel the fronts: a member joins the next front when every member dominating it is ranked;
    # the counts are sums of ones (exact), one batched product per front
    count = dominates.sum(axis=1)
    rank = np.full((S, P), -1, dtype=np.int64)
    left = np.ones((S, P), dtype=bool)
    r = 0
    while left.any():
        front = left & (count == 0)
        rank[front] = r
        left &= ~front
        count = count - np.matmul(front[:, None, :].astype(np.float64), dominates)[:, 0, :]
        count[~left] = -1.0  # ranked members never join again
        r += 1
    crowd = np.zeros((S, P))
    idx = np.arange(P)
    for m in range(K):  # objectives in order: the same additions for a seed alone or among others
        v = scores[:, :, m]
        order = np.lexsort((v, rank), axis=-1)  # by front, then by this objective
        vs = np.take_along_axis(v, order, axis=1)
        rs = np.take_along_axis(rank, order, axis=1)
        start = np.ones((S, P), dtype=bool)
        start[:, 1:] = rs[:, 1:] != rs[:, :-1]
        end = np.ones((S, P), dtype=bool)
        end[:, :-1] = rs[:, :-1] != rs[:, 1:]
        first = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
        last = np.minimum.accumulate(np.where(end, idx, P - 1)[:, ::-1], axis=1)[:, ::-1]
        span = np.take_along_axis(vs, last, axis=1) - np.take_along_axis(vs, first, axis=1)
        gap = np.zeros((S, P))
        gap[:, 1:-1] = vs[:, 2:] - vs[:, :-2]
        gap = np.where(span > 0, gap / np.where(span > 0, span, 1.0), 0.0)
        gap = np.where(start | end, np.inf, gap)
        back = np.empty_like(gap)
        np.put_along_axis(back, order, gap, axis=1)
        crowd = crowd + back
    return rank, crowd


@dataclasses.dataclass(frozen=True)
class MORegularizedEvolution(Algorithm):
    """Multi-objective regularized evolution (as syne-tune's MO-REA, with NSGA-II's selection):
    a population of ``population_size`` random architectures; then, each step, ``sample_size``
    members are drawn with replacement and the one of lowest non-domination rank in the
    population (ties: the larger crowding distance, then the first drawn) is mutated on one
    edge; the child joins and the oldest member leaves (ageing by age, as in REA)."""

    single_objective = False
    multi_objective = True

    population_size: int = 50
    sample_size: int = 10

    def __post_init__(self) -> None:
        if self.population_size < 2 or self.sample_size < 1:
            raise ZcdbError("MO-REA needs population_size >= 2 and sample_size >= 1")

    def start(self, ctx: Context) -> Any:
        p, K = self.population_size, ctx.problem.num_objectives
        return SimpleNamespace(problem=ctx.problem, t=0, rows=np.arange(ctx.n),
                               arch=np.zeros((ctx.n, p), dtype=np.int64), score=np.full((ctx.n, p, K), -np.inf))

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        prob = state.problem
        if state.t < self.population_size:
            return prob.sample(draws.uniform(0, 1)[:, 0]), None
        rank, crowd = rank_and_crowding(state.score)
        pick = draws.integers(1, self.population_size, self.sample_size)
        r = np.take_along_axis(rank, pick, axis=1)
        c = np.take_along_axis(crowd, pick, axis=1)
        c = np.where(r == r.min(axis=1, keepdims=True), c, -1.0)  # crowding is >= 0 on the best rank
        best = np.argmax(c, axis=1)  # ties: first drawn
        parent = state.arch[state.rows, pick[state.rows, best]]
        return prob.mutate(parent, draws.uniform(2, 1)[:, 0], draws.uniform(3, 1)[:, 0]), None

    #: Ageing as REA's: the child replaces the oldest member (its scores are a row of K objectives here).
    tell = RegularizedEvolution.tell


@dataclasses.dataclass(frozen=True)
class ParEGO(Bananas):
    """ParEGO (Knowles, IEEE TEC 2006) on BANANAS's machinery (:class:`~zcdb.search.bananas.Bananas`):
    before each refit, every seed draws a weight vector uniformly from the simplex and turns
    its queries so far into one score, the augmented Chebyshev scalarization of the objectives
    normalized to [0, 1] by the seed's observed ranges (``-(max_j w_j f_j + rho sum_j w_j f_j)``,
    ``f`` 0 at the best observed value); the bagged GBDT ensemble is fitted to that score and
    the ``batch`` candidates of highest expected improvement are queried. ParEGO proper queries
    one point per weight vector and fits a Gaussian process; a batch per weight keeps the
    refits (the cost) at BANANAS's."""

    single_objective = False
    multi_objective = True

    acquisition: str = "ei"
    rho: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.rho >= 0:
            raise ZcdbError("ParEGO needs rho >= 0")

    def _targets(self, scores: np.ndarray, draws: Draws) -> np.ndarray:
        S, n, K = scores.shape
        lo = scores.min(axis=1, keepdims=True)
        hi = scores.max(axis=1, keepdims=True)
        span = hi - lo
        f = np.where(span > 0, (hi - scores) / np.where(span > 0, span, 1.0), 0.0)
        w = -np.log1p(-draws.uniform(16, K))  # normalized exponentials: uniform on the simplex
        total = w[:, 0].copy()
        for j in range(1, K):
            total += w[:, j]
        wf = f * (w / total[:, None])[:, None, :]
        cheb = wf[:, :, 0].copy()
        lin = wf[:, :, 0].copy()
        for j in range(1, K):
            cheb = np.maximum(cheb, wf[:, :, j])
            lin += wf[:, :, j]
        return -(cheb + self.rho * lin)
