"""Random search, regularized evolution, local search, REINFORCE and training-free proxy ranking.

Each works on all seeds at once (see :mod:`zcdb.search.base`); stream numbers below only
have to differ within one algorithm and one step.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import ZcdbError
from .base import Algorithm, Context
from .rng import Draws


def _warm_config(cfg: dict[str, Any], warm: bool) -> dict[str, Any]:
    # Proxy settings of a configuration that does not read proxies must not change its hash.
    if not warm:
        cfg.pop("n_proxy_samples", None)
    return cfg


@dataclasses.dataclass(frozen=True)
class RandomSearch(Algorithm):
    """Uniform sampling of available architectures, with replacement (Li & Talwalkar, UAI 2019);
    it never reads the scores, so it serves single- and multi-objective problems alike."""

    multi_objective = True

    def start(self, ctx: Context) -> Any:
        return SimpleNamespace(problem=ctx.problem)

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        return state.problem.sample(draws.uniform(0, 1)[:, 0]), None

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class RegularizedEvolution(Algorithm):
    """Regularized (aging) evolution (Real et al., AAAI 2019), as NAS-Bench-201's baseline runs it:
    a population of ``population_size`` random architectures; then, each step, the best of
    ``sample_size`` members drawn with replacement is mutated on one edge, the child joins
    and the oldest member leaves. ``warm_start``: the first population is the best
    ``population_size`` of ``n_proxy_samples`` architectures ranked by the proxies."""

    population_size: int = 10
    sample_size: int = 3
    warm_start: bool = False
    n_proxy_samples: int = 1000

    def __post_init__(self) -> None:
        if self.population_size < 1 or not 1 <= self.sample_size:
            raise ZcdbError("REA needs population_size >= 1 and sample_size >= 1")

    def config(self) -> dict[str, Any]:
        return _warm_config(super().config(), self.warm_start)

    def uses_proxies(self) -> bool:
        return self.warm_start

    def start(self, ctx: Context) -> Any:
        p = self.population_size
        init = ctx.proxy_ranked_sample(self.n_proxy_samples, ctx.start_draws(), 0)[:, :p] if self.warm_start \
            else np.zeros((ctx.n, 0), dtype=np.int64)
        return SimpleNamespace(problem=ctx.problem, init=init, t=0, rows=np.arange(ctx.n),
                               arch=np.zeros((ctx.n, p), dtype=np.int64), score=np.full((ctx.n, p), -np.inf))

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        t, prob = state.t, state.problem
        if t < self.population_size:
            if t < state.init.shape[1]:
                return state.init[:, t], None
            return prob.sample(draws.uniform(0, 1)[:, 0]), None
        pick = draws.integers(1, self.population_size, self.sample_size)
        best = np.argmax(np.take_along_axis(state.score, pick, axis=1), axis=1)  # ties: first drawn
        parent = state.arch[state.rows, pick[state.rows, best]]
        return prob.mutate(parent, draws.uniform(2, 1)[:, 0], draws.uniform(3, 1)[:, 0]), None

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        slot = state.t % self.population_size  # the oldest member (or an empty slot while filling)
        state.arch[:, slot] = archs
        state.score[:, slot] = scores
        state.t += 1


@dataclasses.dataclass(frozen=True)
class LocalSearch(Algorithm):
    """Best-improvement local search over one-edge neighbourhoods, restarting at random from
    local optima (White et al., UAI 2021, "Exploring the loss landscape in NAS"): query every
    available neighbour of the current architecture (in random order), move to the best if it
    improves, otherwise restart from a random architecture."""

    def start(self, ctx: Context) -> Any:
        n = ctx.n
        width = ctx.problem.neighbour_width
        return SimpleNamespace(
            problem=ctx.problem, rows=np.arange(n), exploring=np.zeros(n, dtype=bool),
            cur=np.zeros(n, dtype=np.int64), cur_score=np.full(n, -np.inf),
            order=np.zeros((n, width), dtype=np.int64), count=np.zeros(n, dtype=np.int64),
            pos=np.zeros(n, dtype=np.int64), best=np.zeros(n, dtype=np.int64), best_score=np.full(n, -np.inf))

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        fresh = state.problem.sample(draws.uniform(0, 1)[:, 0])
        nb = state.order[state.rows, np.minimum(state.pos, state.order.shape[1] - 1)]
        return np.where(state.exploring, nb, fresh), None

    def _centre(self, state: Any, mask: np.ndarray, arch: np.ndarray, score: np.ndarray, draws: Draws) -> None:
        """Make ``arch`` the current architecture of the seeds in ``mask`` and shuffle its neighbours."""
        prob = state.problem
        nb = prob.neighbours_of(arch)
        ok = prob.available_at(nb)
        keys = np.where(ok, draws.uniform(5, nb.shape[1]), 2.0)  # unavailable neighbours sort last
        order = np.take_along_axis(nb, np.argsort(keys, axis=1, kind="stable"), axis=1)
        count = ok.sum(axis=1)
        state.cur = np.where(mask, arch, state.cur)
        state.cur_score = np.where(mask, score, state.cur_score)
        state.order = np.where(mask[:, None], order, state.order)
        state.count = np.where(mask, count, state.count)
        state.pos = np.where(mask, 0, state.pos)
        state.best_score = np.where(mask, -np.inf, state.best_score)
        state.exploring = np.where(mask, count > 0, state.exploring)

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        exploring = state.exploring.copy()
        better = exploring & (scores > state.best_score)
        state.best = np.where(better, archs, state.best)
        state.best_score = np.where(better, scores, state.best_score)
        state.pos = state.pos + exploring
        done = exploring & (state.pos >= state.count)
        move = done & (state.best_score > state.cur_score)
        state.exploring = np.where(done & ~move, False, state.exploring)  # local optimum: restart
        # a restart's random architecture becomes the centre; an improving neighbour does too
        centre = ~exploring | move
        self._centre(state, centre, np.where(move, state.best, archs), np.where(move, state.best_score, scores), draws)


@dataclasses.dataclass(frozen=True)
class Reinforce(Algorithm):
    """REINFORCE (Williams, 1992) over independent categorical distributions of each edge's
    operation, as NAS-Bench-201's baseline: Adam on the logits, reward the search score, and an
    exponential moving average baseline (``momentum``) updated before the advantage."""

    needs_product: ClassVar[bool] = True
    learning_rate: float = 0.01
    momentum: float = 0.9
    retries: int = 8

    def start(self, ctx: Context) -> Any:
        prob = ctx.problem
        prob.search_space.require_product("REINFORCE (independent categorical choices per position)")
        radix = np.array([len(c) for c in prob.search_space.choices], dtype=np.int64)
        n_edges, n_ops = radix.size, int(radix.max())
        shape = (ctx.n, n_edges, n_ops)
        pow_ = np.array([int(np.prod(radix[k + 1:])) for k in range(n_edges)], dtype=np.int64)
        code = (prob.ops.astype(np.int64) * pow_).sum(axis=1)
        index_of_code = np.empty(int(np.prod(radix)), dtype=np.int64)
        index_of_code[code] = np.arange(code.size)
        # positions with fewer choices than the widest: their extra logits never win
        theta = np.where(np.arange(n_ops)[None, None, :] < radix[None, :, None], 0.0, -np.inf) * np.ones(shape)
        return SimpleNamespace(problem=prob, theta=theta, m=np.zeros(shape), v=np.zeros(shape),
                               probs=None, baseline=np.full(ctx.n, np.nan), t=0, n_ops=n_ops, radix=radix,
                               pow=pow_, index_of_code=index_of_code)

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        theta = state.theta
        z = np.exp(theta - theta.max(axis=2, keepdims=True))
        probs = z / z.sum(axis=2, keepdims=True)
        state.probs = probs
        cdf = np.cumsum(probs, axis=2)
        prob = state.problem
        n, n_edges = theta.shape[:2]
        arch = np.full(n, -1, dtype=np.int64)
        for r in range(self.retries):  # an unavailable sample is drawn again
            u = draws.uniform(r, n_edges)
            ops = np.minimum((cdf <= u[..., None]).sum(axis=2), state.radix - 1)
            cand = state.index_of_code[(ops * state.pow).sum(axis=1)]
            arch = np.where((arch < 0) & prob.available[cand], cand, arch)
            if (arch >= 0).all():
                # safe to stop for all: a seed's r-th draw does not depend on the others, so a
                # seed still sampling gets the same numbers whichever seeds run beside it
                break
        return np.where(arch < 0, prob.sample(draws.uniform(self.retries, 1)[:, 0]), arch), None

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        b = state.baseline
        b = np.where(np.isnan(b), scores, self.momentum * b + (1.0 - self.momentum) * scores)
        state.baseline = b
        adv = scores - b
        ops = state.problem.ops[archs].astype(np.int64)
        onehot = np.zeros_like(state.probs)
        np.put_along_axis(onehot, ops[..., None], 1.0, axis=2)
        grad = adv[:, None, None] * (onehot - state.probs)  # gradient of adv * log p(arch)
        state.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        state.m = b1 * state.m + (1 - b1) * grad
        state.v = b2 * state.v + (1 - b2) * grad * grad
        m_hat = state.m / (1 - b1**state.t)
        v_hat = state.v / (1 - b2**state.t)
        state.theta = state.theta + self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)


@dataclasses.dataclass(frozen=True)
class ProxyRanking(Algorithm):
    """Training-free search: draw ``n_samples`` architectures, rank them by the proxies (one, or
    the mean rank of several), and query them best first (NASWOT-style, Mellor et al., ICML 2021).
    The first query is the training-free pick; later ones spend the budget down the ranking,
    then on random architectures once it is exhausted."""

    n_samples: int = 1000

    def uses_proxies(self) -> bool:
        return True

    def start(self, ctx: Context) -> Any:
        return SimpleNamespace(problem=ctx.problem, ranked=ctx.proxy_ranked_sample(self.n_samples,
                                                                                    ctx.start_draws(), 0), t=0)

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        if state.t < state.ranked.shape[1]:
            return state.ranked[:, state.t], None
        return state.problem.sample(draws.uniform(0, 1)[:, 0]), None

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        state.t += 1
