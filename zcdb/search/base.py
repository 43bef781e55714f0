"""The search interface: an algorithm asks for architectures and is told their scores.

The runner owns the budget, the clock and the seeds. Algorithms work on many seeds at
once: every array has a leading seed axis ``S``, and row ``k`` of any state must depend
on seed ``k``'s draws and observations only (no cross-seed reductions), so that a seed's
trajectory is the same whether it runs alone or among others. An algorithm is a frozen
dataclass of its configuration (hashed to key stored runs); its mutable state lives in
the object ``start`` returns.

    state = algo.start(ctx)                      # ctx: problem, seeds, start draws, proxy lookups
    for step in range(...):
        archs, epochs = algo.ask(state, draws)   # (S,) arch indices, (S,) epoch indices or None
        algo.tell(state, archs, epochs, scores, draws)   # oriented scores (larger is better)

Scores are ``(S,)`` on a single-objective problem and ``(S, K)``, one column per objective,
on a multi-objective one; ``single_objective`` and ``multi_objective`` say which an
algorithm accepts. Under constraints, an infeasible query's scores are the problem's
penalty (worse than any feasible score), so algorithms need no code of their own for them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import ZcdbError
from .problem import SearchProblem
from .rng import START_STEP, Draws


class Context:
    """What an algorithm may use besides its draws: the problem, the seeds, charged proxy lookups."""

    def __init__(self, problem: SearchProblem, seeds: np.ndarray, keys: np.ndarray) -> None:
        self.problem = problem
        self.seeds = seeds
        self.keys = keys
        self.n = len(seeds)
        #: Seconds of proxy computation each seed used since the last query (the runner charges them).
        self.pending = np.zeros(self.n)
        #: Proxy lookups each seed made in the whole run.
        self.proxy_lookups = np.zeros(self.n, dtype=np.int64)

    def start_draws(self) -> Draws:
        """The draws of an algorithm's ``start`` (before the first query)."""
        return Draws(self.keys, START_STEP)

    def proxy_scores(self, archs: np.ndarray) -> np.ndarray:
        """Oriented scores ``(P, S, k)`` of every configured proxy for ``archs`` ``(S, k)``;
        their stored compute times are charged to each seed's clock."""
        p = self.problem
        if p.proxy_scores is None:
            raise ZcdbError("this algorithm ranks by proxies: pass --proxies NAME[,NAME...] with stored scores")
        times = np.ascontiguousarray(p.proxy_times[:, archs]).sum(axis=2)  # (P, S): per-row sums only
        for row in times:  # proxies in order: the same additions for a seed alone or among others
            self.pending += row
        self.proxy_lookups += archs.shape[1] * len(p.proxy_sets)
        return p.proxy_scores[:, archs]

    def proxy_ranked_sample(self, n: int, draws: Draws, stream: int) -> np.ndarray:
        """``(S, m)`` architectures: ``m = min(n, available)`` distinct ones drawn uniformly among those
        with proxy scores, scored (and charged), best first by the proxy ensemble.

        One proxy ranks by its score; several by the mean of their ranks within the sample
        (Abdelfattah et al., ICLR 2021 vote; Krishnakumar et al., NeurIPS 2022).
        """
        pool = self.problem.proxy_available_index
        if pool.size == 0:
            raise ZcdbError("no available architecture has every proxy score: compute them with `zcdb proxies compute`")
        m = min(int(n), pool.size)
        if pool.size > _LARGE_POOL and pool.size >= 4 * m:
            pick = _distinct_draws(draws, stream, m, pool.size)
        else:
            keys = draws.uniform(stream, pool.size)
            pick = np.argpartition(keys, m - 1, axis=1)[:, :m] if m < pool.size else np.broadcast_to(
                np.arange(pool.size), (self.n, pool.size))
        archs = np.sort(pool[pick], axis=1)
        scores = self.proxy_scores(archs)
        if scores.shape[0] == 1:
            vote = scores[0]
        else:
            ranks = np.argsort(np.argsort(scores, axis=2, kind="stable"), axis=2, kind="stable")
            vote = ranks[0].astype(np.float64)
            for r in ranks[1:]:
                vote = vote + r
        order = np.argsort(-vote, axis=1, kind="stable")  # ties: smaller index first (archs are sorted)
        return np.take_along_axis(archs, order, axis=1)


#: Above this many architectures with proxy scores, a seed's sample is drawn as distinct
#: positions rather than by ranking one number per architecture (seeds x pool numbers would be
#: 1.7 GB for 500 seeds of NAS-Bench-101).
_LARGE_POOL = 1 << 16


def _distinct_draws(draws: Draws, stream: int, m: int, size: int) -> np.ndarray:
    """``(S, m)`` distinct positions in ``0..size-1`` per seed, uniform: the first ``m`` distinct
    of the seed's draws (2m per round, rounds on streams of their own until each seed has m)."""
    S = draws.keys.shape[0]
    out = np.empty((S, m), dtype=np.int64)
    rows = [np.empty(0, dtype=np.int64)] * S
    missing = list(range(S))
    for r in range(64):
        batch = np.minimum((draws.uniform(stream + 7919 * (r + 1), 2 * m) * size).astype(np.int64), size - 1)
        for k in list(missing):
            seq = np.concatenate([rows[k], batch[k]])
            _, first = np.unique(seq, return_index=True)
            rows[k] = seq[np.sort(first)]  # distinct, in draw order
            if rows[k].size >= m:
                out[k] = rows[k][:m]
                missing.remove(k)
        if not missing:
            return out
    raise ZcdbError("could not draw distinct architectures: too few with proxy scores")  # unreachable: size >= 4m


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """Base of every search algorithm: a frozen configuration plus ``start``/``ask``/``tell``."""

    #: Bumped when an algorithm's behaviour changes, so stored runs of the old one are not reused.
    version: ClassVar[int] = 1
    #: Whether the algorithm queries lower epochs (needs a benchmark with curves).
    multi_fidelity: ClassVar[bool] = False
    #: Whether the algorithm needs every combination of choices to be an architecture.
    needs_product: ClassVar[bool] = False
    #: Which problems it accepts: one search metric (scores ``(S,)``), several objectives (``(S, K)``).
    single_objective: ClassVar[bool] = True
    multi_objective: ClassVar[bool] = False

    def config(self) -> dict[str, Any]:
        """The configuration as a JSON-able dict (what is hashed and stored)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    def uses_proxies(self) -> bool:
        """Whether this configuration reads proxy scores."""
        return False

    def start(self, ctx: Context) -> Any:
        """Fresh state for ``ctx.n`` seeds."""
        raise NotImplementedError

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """The next query of every seed: ``(archs, epoch_indices)``; ``None`` epochs mean the last."""
        raise NotImplementedError

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        """Observe the oriented scores of the queries ``ask`` returned."""
        raise NotImplementedError
