"""Successive halving and Hyperband over the epochs of a benchmark with learning curves.

Successive halving (Jamieson & Talwalkar, AISTATS 2016) evaluates ``n`` random architectures
at a low epoch, keeps the best ``1/eta`` for ``eta`` times more epochs, and so on up to the
last epoch. Hyperband (Li et al., JMLR 2018) runs brackets of it that trade the number of
architectures against their starting epoch. Both repeat until the budget is spent. Every
seed follows the same schedule (only its architectures differ), so the whole schedule is
computed once. The runner charges each query the training time from the epoch this seed
last trained that architecture to (checkpoints are kept), not from scratch.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from ..errors import ZcdbError
from .base import Algorithm, Context
from .rng import Draws


def _nearest_epoch(epochs: np.ndarray, r: float) -> int:
    # nearest stored epoch in log scale, ties to the larger
    d = np.abs(np.log(epochs.astype(np.float64)) - math.log(r))
    return int(len(d) - 1 - np.argmin(d[::-1]))


def schedule(epochs: np.ndarray, eta: int, min_epoch: Optional[int], hyperband: bool) -> np.ndarray:
    """One cycle of the schedule: rows (rung, slot, epoch index, rung size, next rung size)."""
    R = float(epochs[-1])
    r_min = float(min_epoch if min_epoch is not None else epochs[0])
    if not 0 < r_min <= R:
        raise ZcdbError(f"min_epoch must lie in 1..{int(R)}, got {min_epoch}")
    s_max = int(math.floor(math.log(R / r_min) / math.log(eta) + 1e-9))
    rows = []
    for s in (range(s_max, -1, -1) if hyperband else [s_max]):
        n0 = int(math.ceil((s_max + 1) / (s + 1) * eta**s)) if hyperband else eta**s_max
        sizes = [max(int(n0 * eta ** (-i) + 1e-9), 1) for i in range(s + 1)]
        for i, n in enumerate(sizes):
            e = _nearest_epoch(epochs, R * eta ** (i - s))
            nxt = sizes[i + 1] if i < s else 0
            rows.extend((i, slot, e, n, nxt) for slot in range(n))
    return np.array(rows, dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class Hyperband(Algorithm):
    """Hyperband with halving rate ``eta`` from ``min_epoch`` (default: the first stored) to the last."""

    multi_fidelity = True

    eta: int = 3
    min_epoch: Optional[int] = None

    def _hyperband(self) -> bool:
        return True

    def start(self, ctx: Context) -> Any:
        prob = ctx.problem
        if len(prob.epochs) < 2:
            raise ZcdbError(
                f"{type(self).__name__} needs learning curves, but {prob.space}/{prob.dataset} has "
                f"{prob.search_metric} at epoch {int(prob.epochs[-1])} only: use a benchmark with curves "
                "(e.g. `zcdb import builtin nb201-digits`) or a single-fidelity algorithm"
            )
        if self.eta < 2:
            raise ZcdbError("eta must be at least 2")
        plan = schedule(prob.epochs, self.eta, self.min_epoch, self._hyperband())
        width = int(plan[:, 3].max())
        return SimpleNamespace(problem=prob, plan=plan, t=0, arch=np.zeros((ctx.n, width), dtype=np.int64),
                               score=np.zeros((ctx.n, width)), promoted=np.zeros((ctx.n, width), dtype=np.int64))

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
        rung, slot, e, _, _ = state.plan[state.t % len(state.plan)]
        n = state.arch.shape[0]
        archs = state.problem.sample(draws.uniform(0, 1)[:, 0]) if rung == 0 else state.promoted[:, slot]
        return archs, np.full(n, e, dtype=np.int64)

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        _, slot, _, size, nxt = state.plan[state.t % len(state.plan)]
        state.arch[:, slot] = archs
        state.score[:, slot] = scores
        if slot == size - 1 and nxt > 0:
            best = np.argsort(-state.score[:, :size], axis=1, kind="stable")[:, :nxt]
            state.promoted[:, :nxt] = np.take_along_axis(state.arch[:, :size], best, axis=1)
        state.t += 1


@dataclasses.dataclass(frozen=True)
class SuccessiveHalving(Hyperband):
    """Successive halving: Hyperband's most aggressive bracket only, repeated."""

    def _hyperband(self) -> bool:
        return False
