"""The runner: drives an algorithm for many seeds in lockstep and keeps the budget and the clock.

Budgets are in queries, or in simulated seconds: each query costs the table's
``train_time`` up to the queried epoch, minus what this seed already trained of that
architecture (a query repeated at the same epoch costs nothing); proxy lookups cost their
stored compute time. With a time budget a seed stops before the first query that would
end past the budget. The algorithm sees oriented search scores only; the runner records,
per query, the observed search value, the simulated time, and the incumbent (best search
score so far; ties keep the earlier) with its report value.

Under constraints an infeasible query is paid and recorded with its true value, but it
never becomes the incumbent (a run that found no feasible architecture has none: -1 and
NaN), and the algorithm is told the problem's penalty score instead. On a
:class:`~zcdb.search.problem.MultiObjectiveProblem` the algorithm is told ``(S, K)``
oriented objective scores; the runner records every query's objective values
(``objectives``), ``value`` is the first objective, the incumbent is the feasible query
best in the first objective, and ``incumbent_report`` is the hypervolume of the feasible
queries so far (the attained front) against the problem's reference point.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional, Sequence

import numpy as np

from ..errors import ZcdbError
from ..pareto import hypervolume_trajectory
from .base import Algorithm, Context
from .problem import MultiObjectiveProblem, SearchProblem
from .rng import Draws, seed_keys

#: Safety cap on the number of queries of a time-budgeted run.
MAX_QUERIES = 100_000


@dataclasses.dataclass(frozen=True)
class Budget:
    """Stop after ``queries`` queries, or before exceeding ``seconds`` of simulated time (one of them)."""

    queries: Optional[int] = None
    seconds: Optional[float] = None

    def __post_init__(self) -> None:
        if (self.queries is None) == (self.seconds is None):
            raise ZcdbError("give exactly one budget: --budget-queries N or --budget-seconds S")
        if self.queries is not None and self.queries < 1:
            raise ZcdbError("--budget-queries must be at least 1")
        if self.seconds is not None and not self.seconds > 0:
            raise ZcdbError("--budget-seconds must be positive")

    @property
    def kind(self) -> str:
        """``queries`` or ``seconds``."""
        return "queries" if self.queries is not None else "seconds"

    @property
    def amount(self) -> float:
        """The budget in its unit."""
        return float(self.queries if self.queries is not None else self.seconds)


@dataclasses.dataclass
class Trajectories:
    """Per-seed query records, shape ``(S, T)``; entries past ``length[k]`` are padding (-1 / NaN)."""

    seeds: np.ndarray
    arch: np.ndarray
    epoch: np.ndarray
    value: np.ndarray
    time: np.ndarray
    incumbent: np.ndarray
    incumbent_report: np.ndarray
    length: np.ndarray
    #: CPU seconds the simulation of these seeds took (shared equally by the seeds of one lockstep run).
    cpu_seconds: float = 0.0
    #: ``(S, T, K)`` objective values of every query (multi-objective runs; NaN padding), else None.
    objectives: Optional[np.ndarray] = None

    def final_report(self) -> np.ndarray:
        """The incumbent's report value at the end of each seed's run."""
        if self.arch.shape[1] == 0:
            return np.full(len(self.seeds), np.nan)
        rows = np.arange(len(self.seeds))
        return np.where(self.length > 0, self.incumbent_report[rows, np.maximum(self.length - 1, 0)], np.nan)

    def final_arch(self) -> np.ndarray:
        """The incumbent architecture at the end of each seed's run (-1 when there was no query)."""
        if self.arch.shape[1] == 0:
            return np.full(len(self.seeds), -1, dtype=np.int64)
        rows = np.arange(len(self.seeds))
        return np.where(self.length > 0, self.incumbent[rows, np.maximum(self.length - 1, 0)], -1)

    def select(self, seeds: Sequence[int]) -> "Trajectories":
        """The trajectories of ``seeds`` (in that order)."""
        pos = {int(s): k for k, s in enumerate(self.seeds.tolist())}
        idx = np.array([pos[int(s)] for s in seeds], dtype=np.int64)
        return Trajectories(self.seeds[idx], *(getattr(self, f)[idx] for f in _ARRAYS), self.length[idx],
                            self.cpu_seconds * len(idx) / max(len(self.seeds), 1),
                            None if self.objectives is None else self.objectives[idx])

    @staticmethod
    def concat(parts: Sequence["Trajectories"]) -> "Trajectories":
        """Join trajectories of disjoint seed sets (padding to the longest)."""
        parts = [p for p in parts if len(p.seeds)]
        if not parts:
            return empty_trajectories()
        T = max(p.arch.shape[1] for p in parts)

        def pad(a: np.ndarray, fill: float) -> np.ndarray:
            width = ((0, 0), (0, T - a.shape[1])) + ((0, 0),) * (a.ndim - 2)
            return np.pad(a, width, constant_values=fill) if a.shape[1] < T else a

        fills = dict(arch=-1, epoch=-1, value=np.nan, time=np.nan, incumbent=-1, incumbent_report=np.nan)
        K = max((p.objectives.shape[2] for p in parts if p.objectives is not None), default=0)
        # a stored multi-objective run without queries has no objective rows: NaN
        objectives = None if not K else np.concatenate([
            pad(p.objectives if p.objectives is not None else np.full(p.arch.shape + (K,), np.nan), np.nan)
            for p in parts])
        return Trajectories(np.concatenate([p.seeds for p in parts]),
                            *(np.concatenate([pad(getattr(p, f), fills[f]) for p in parts]) for f in _ARRAYS),
                            np.concatenate([p.length for p in parts]), sum(p.cpu_seconds for p in parts), objectives)


_ARRAYS = ("arch", "epoch", "value", "time", "incumbent", "incumbent_report")


def empty_trajectories() -> Trajectories:
    """Trajectories of no seed."""
    z = np.zeros((0, 0))
    return Trajectories(np.zeros(0, dtype=np.int64), z.astype(np.int64), z.astype(np.int64), z, z,
                        z.astype(np.int64), z, np.zeros(0, dtype=np.int64))


def check_fits(algorithm: Algorithm, problem: SearchProblem, name: Optional[str] = None) -> None:
    """A one-line error when a single-objective algorithm meets a multi-objective problem or vice versa."""
    label = name or type(algorithm).__name__
    if problem.num_objectives > 1 and not algorithm.multi_objective:
        raise ZcdbError(f"{label} is single-objective: with --objectives use a multi-objective algorithm "
                        "(see `zcdb search list`: random, mo-rea, parego)")
    if problem.num_objectives == 1 and not algorithm.single_objective:
        raise ZcdbError(f"{label} is multi-objective: give two or more objectives (--objectives "
                        "test_acc,latency_pixel3)")


def simulate(problem: SearchProblem, algorithm: Algorithm, seeds: Sequence[int], budget: Budget) -> Trajectories:
    """Run ``algorithm`` on ``problem`` for every seed in lockstep; seed ``k``'s trajectory depends
    on ``seeds[k]`` only (the same alone or among others, bit for bit)."""
    t_cpu = time.process_time()
    seeds_arr = np.asarray(list(seeds), dtype=np.int64)
    if seeds_arr.size and seeds_arr.min() < 0:
        raise ZcdbError("seeds must be non-negative integers")
    if budget.seconds is not None and not problem.has_cost:
        raise ZcdbError(
            f"{problem.space}/{problem.dataset} has no train_time at the epochs of {problem.search_metric}: "
            "give the budget in queries (--budget-queries N)"
        )
    problem.check_algorithm(algorithm, type(algorithm).__name__)
    if algorithm.multi_fidelity and len(problem.epochs) < 2:
        algorithm.start(Context(problem, seeds_arr[:0], seed_keys(seeds_arr[:0])))  # raises its own message
    S = seeds_arr.size
    check_fits(algorithm, problem)
    if S == 0:
        return empty_trajectories()
    keys = seed_keys(seeds_arr)
    ctx = Context(problem, seeds_arr, keys)
    state = algorithm.start(ctx)
    rows = np.arange(S)
    last = problem.last
    mo = isinstance(problem, MultiObjectiveProblem)
    constrained = bool(problem.constraints)
    clock = np.zeros(S)
    # epochs each seed trained each architecture to (epoch index + 1), kept only for the
    # architectures it queried: memory grows with the queries, not with the space (a dense
    # seeds x architectures table would be 424 MB for 500 seeds of NAS-Bench-101); keyed by
    # (seed row, architecture), which also holds a served space's 64-bit ids
    trained: Optional[dict[tuple[int, int], int]] = {} if problem.has_cost else None
    inc_score = np.full(S, -np.inf)
    inc_arch = np.full(S, -1, dtype=np.int64)
    active = np.ones(S, dtype=bool)
    length = np.zeros(S, dtype=np.int64)
    limit = budget.queries if budget.queries is not None else MAX_QUERIES
    rec: dict[str, list[np.ndarray]] = {f: [] for f in _ARRAYS}
    rec_objectives: list[np.ndarray] = []
    for step in range(limit):
        draws = Draws(keys, step)
        archs, eidx = algorithm.ask(state, draws)
        archs = np.asarray(archs, dtype=np.int64)
        e = np.full(S, last, dtype=np.int64) if eidx is None else np.asarray(eidx, dtype=np.int64)
        scores = problem.search_at(e, archs)
        spent = ctx.pending.copy()
        ctx.pending[:] = 0.0
        if trained is not None:
            slots = list(zip(rows.tolist(), archs.tolist()))
            get = trained.get
            before = np.array([get(k, 0) for k in slots], dtype=np.int64)  # epochs trained so far, as index + 1
            done = np.where(before > 0, problem.cost_at(np.maximum(before - 1, 0), archs), 0.0)
            spent += np.where(e + 1 > before, problem.cost_at(e, archs) - done, 0.0)
            trained.update(zip(slots, np.maximum(before, e + 1).tolist()))
        clock = clock + spent
        if budget.seconds is not None:
            active &= clock <= budget.seconds
            if not active.any():
                break
        ok = problem.feasible_at(archs)
        told = np.ascontiguousarray(problem.objective_scores[:, archs].T) if mo else scores
        if constrained:
            told = np.where(ok[:, None], told, problem.objective_penalty[None, :]) if mo \
                else np.where(ok, told, problem.penalty[e])
        algorithm.tell(state, archs, eidx, told, draws)
        better = active & ok & (scores > inc_score)
        inc_score = np.where(better, scores, inc_score)
        inc_arch = np.where(better, archs, inc_arch)
        length += active
        rec["arch"].append(np.where(active, archs, -1))
        rec["epoch"].append(np.where(active, problem.epochs[e], -1))
        rec["value"].append(np.where(active, scores * problem.search_sign, np.nan))
        rec["time"].append(np.where(active, clock, np.nan))
        rec["incumbent"].append(np.where(active, inc_arch, -1))
        rec["incumbent_report"].append(np.where(active & (inc_arch >= 0), problem.report_at(np.maximum(inc_arch, 0)),
                                                np.nan))
        if mo:
            rec_objectives.append(np.where(active[:, None], problem.objective_values[:, archs].T, np.nan))
    else:
        if budget.seconds is not None and active.any():
            raise ZcdbError(f"the time budget allowed more than {MAX_QUERIES} queries: give a smaller --budget-seconds")
    out = {f: (np.stack(v, axis=1) if v else np.zeros((S, 0))) for f, v in rec.items()}
    for f in ("arch", "epoch", "incumbent"):
        out[f] = out[f].astype(np.int64)
    objectives = None
    if mo:
        K = problem.num_objectives
        objectives = np.stack(rec_objectives, axis=1) if rec_objectives else np.zeros((S, 0, K))
        out["incumbent_report"] = attained_hypervolume(problem, out["arch"], objectives, length)
    return Trajectories(seeds_arr, out["arch"], out["epoch"], out["value"], out["time"], out["incumbent"],
                        out["incumbent_report"], length, time.process_time() - t_cpu, objectives)


def attained_hypervolume(problem: MultiObjectiveProblem, arch: np.ndarray, objectives: np.ndarray,
                         length: np.ndarray) -> np.ndarray:
    """``(S, T)`` hypervolume of each seed's feasible queries up to each query (NaN past its length)."""
    out = np.full(arch.shape, np.nan)
    for k in range(arch.shape[0]):
        n = int(length[k])
        out[k, :n] = hypervolume_trajectory(objectives[k, :n], problem.reference, problem.maximize,
                                            problem.feasible[arch[k, :n]])
    return out
