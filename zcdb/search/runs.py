"""Stored search runs: run an algorithm for many seeds, store every trajectory, reuse stored ones.

A run is keyed by (configuration hash, benchmark, search and report metric, budget, seed):
running the same thing again reads it back instead of recomputing (idempotent). The hash
covers the algorithm's class, version and configuration, the proxy sets it reads, and
what the problem adds (its constraints; for a multi-objective run, its objectives and
reference point), so runs under other constraints or objectives are other runs. A
multi-objective run is stored with ``search_metric`` = its objectives (``test_acc,latency_pixel3``)
and ``report_metric`` = ``hypervolume``; see :class:`~zcdb.search.problem.MultiObjectiveProblem`.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from .. import __version__, search_store
from ..errors import ZcdbError
from ..parallel import process_pool
from .base import Algorithm
from .problem import MultiObjectiveProblem, SearchProblem, multiobjective_problem, problem_from_benchmark
from .registry import ALGORITHMS, config_hash, make_algorithm
from .runner import Budget, Trajectories, check_fits, empty_trajectories, simulate

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store


@dataclass
class SearchResult:
    """The runs of one algorithm on one problem for a set of seeds."""

    algorithm: str
    config: dict[str, Any]
    config_hash: str
    problem: SearchProblem
    budget: Budget
    trajectories: Trajectories
    #: Runs read back from the store / computed now.
    reused: int
    computed: int
    #: Wall seconds of this call (computing, storing, reading back).
    seconds: float

    def summary(self) -> dict[str, Any]:
        """Final incumbent report value (a multi-objective run: the final hypervolume) over seeds:
        mean, std, n; the share of seeds that ended with a feasible incumbent; what was reused."""
        final = self.trajectories.final_report()
        n = int(np.isfinite(final).sum())
        found = self.trajectories.final_arch() >= 0
        return dict(algorithm=self.algorithm, config_hash=self.config_hash, seeds=len(final), n=n,
                    mean=float(np.nanmean(final)) if n else float("nan"),
                    std=float(np.nanstd(final, ddof=1)) if n > 1 else float("nan"),
                    found_feasible=float(found.mean()) if found.size else float("nan"),
                    reused=self.reused, computed=self.computed, seconds=self.seconds)


def load_problem(store: "Store", space: str, dataset: str, search_metric: str = "val_acc",
                 report_metric: str = "test_acc", protocol: Optional[str] = None,
                 proxies: Sequence[str] = (), constraints: Sequence[str] = ()) -> SearchProblem:
    """The :class:`SearchProblem` of a stored benchmark (see :func:`problem_from_benchmark`)."""
    return problem_from_benchmark(store.benchmark(space, dataset, protocol), search_metric, report_metric, proxies,
                                  constraints)


def load_multiobjective_problem(store: "Store", space: str, dataset: str, objectives: Union[str, Sequence[str]],
                                protocol: Optional[str] = None, constraints: Sequence[str] = (),
                                reference: Union[None, str, Sequence[float]] = None) -> MultiObjectiveProblem:
    """The :class:`MultiObjectiveProblem` of a stored benchmark (see :func:`multiobjective_problem`)."""
    return multiobjective_problem(store.benchmark(space, dataset, protocol), objectives, constraints, reference)


def _split(seeds: list[int], parts: int) -> list[list[int]]:
    k = max(1, min(parts, len(seeds)))
    size = -(-len(seeds) // k)
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def simulate_parallel(problem: SearchProblem, algorithm: Algorithm, seeds: Sequence[int], budget: Budget,
                      workers: int = 1) -> Trajectories:
    """:func:`simulate` with the seeds split over ``workers`` processes (same trajectories as one)."""
    seeds = [int(s) for s in seeds]
    if getattr(problem, "in_process", False):  # a served model's session lives in this process
        workers = 1
    if workers <= 1 or len(seeds) < 2:
        return simulate(problem, algorithm, seeds, budget)
    chunks = _split(seeds, workers)
    with process_pool(len(chunks)) as pool:
        parts = list(pool.map(simulate, [problem] * len(chunks), [algorithm] * len(chunks), chunks,
                              [budget] * len(chunks)))
    return Trajectories.concat(parts)


def run_search(
    store: "Store", algorithm: Union[str, Algorithm], space: str, dataset: str, seeds: Sequence[int], *,
    budget_queries: Optional[int] = None, budget_seconds: Optional[float] = None, search_metric: str = "val_acc",
    report_metric: str = "test_acc", protocol: Optional[str] = None, proxies: Sequence[str] = (),
    config: Optional[Mapping[str, Any]] = None, workers: int = 1, problem: Optional[SearchProblem] = None,
    constraints: Sequence[str] = (), objectives: Union[None, str, Sequence[str]] = None,
    reference: Union[None, str, Sequence[float]] = None,
) -> SearchResult:
    """Run ``algorithm`` (a registered name, with ``config`` overrides, or an :class:`Algorithm`) for
    ``seeds`` on a stored benchmark; store each run and its trajectory; reuse runs already stored.

    ``constraints`` (``latency_edgegpu<5``) restrict what may become the incumbent;
    ``objectives`` (two or more metrics) make the problem multi-objective, with the
    hypervolume against ``reference`` (default: the worst value of each objective) as its
    report. ``problem``, when given, replaces all of these and the metrics."""
    t0 = time.perf_counter()
    if isinstance(algorithm, str):
        name, algo = algorithm, make_algorithm(algorithm, config)
    else:
        name, algo = type(algorithm).__name__.lower(), algorithm
    budget = Budget(budget_queries, budget_seconds)
    if problem is not None:
        problem.check_algorithm(algo, name)
    if algo.uses_proxies() and not (proxies or (problem is not None and problem.proxy_sets)):
        raise ZcdbError(f"{name} ranks architectures by proxies: pass --proxies NAME[,NAME...] (stored scores)")
    if problem is None and objectives is not None:
        problem = load_multiobjective_problem(store, space, dataset, objectives, protocol, constraints, reference)
    elif problem is None:
        problem = load_problem(store, space, dataset, search_metric, report_metric, protocol,
                               proxies if algo.uses_proxies() else (), constraints)
    check_fits(algo, problem, name)
    plan = plan_run(store, name, algo, problem, seeds, budget)
    stored, missing = plan.stored, plan.missing
    computed = simulate_parallel(problem, algo, missing, budget, workers) if missing else empty_trajectories()
    if missing:
        saved = store_runs(store, plan, computed)
        if len(saved) < len(missing):  # another process stored some of these runs meanwhile: reuse its rows
            computed = computed.select(saved) if saved else empty_trajectories()
            missing = saved
            stored = _stored_runs(store, plan.key, plan.seeds)
    seed_list, cfg_text, cfg_hash = plan.seeds, plan.cfg_text, plan.cfg_hash
    new = set(missing)
    reused = load_trajectories(store, [stored[s] for s in seed_list if s not in new])
    both = Trajectories.concat([reused, computed])
    traj = both.select(seed_list) if len(both.seeds) else both
    traj.cpu_seconds = both.cpu_seconds  # what computing these runs cost, now or when they were stored
    return SearchResult(name, json.loads(cfg_text)["config"], cfg_hash, problem, budget, traj,
                        reused=len(seed_list) - len(missing), computed=len(missing),
                        seconds=time.perf_counter() - t0)


@dataclass
class RunPlan:
    """What :func:`run_search` would run: the key of an algorithm's runs on a problem, and which seeds
    the store lacks. Lets a caller (a cross-benchmark study) compute many plans' missing seeds in
    parallel, store them with :func:`store_runs`, then read everything back with :func:`run_search`."""

    name: str
    algorithm: Algorithm
    problem: SearchProblem
    budget: Budget
    cfg_text: str
    cfg_hash: str
    key: tuple
    seeds: list[int]
    #: seed -> stored run id, for the seeds already stored.
    stored: dict[int, int]
    missing: list[int]


def plan_run(store: "Store", name: str, algorithm: Algorithm, problem: SearchProblem, seeds: Sequence[int],
             budget: Budget) -> RunPlan:
    """The :class:`RunPlan` of ``algorithm`` (registered as ``name``) on ``problem`` for ``seeds``
    (a one-line error first if the algorithm does not apply to the problem)."""
    problem.check_algorithm(algorithm, name)
    labels = tuple(p.label() for p in problem.proxy_sets)
    cfg_text, cfg_hash = config_hash(algorithm, labels, problem.fingerprint(proxies=algorithm.uses_proxies()),
                                     problem.identity())
    seed_list = [int(s) for s in dict.fromkeys(int(s) for s in seeds)]
    key = (cfg_hash, problem.space, problem.dataset, problem.protocol, problem.search_metric, problem.report_metric,
           budget.kind, budget.amount)
    stored = _stored_runs(store, key, seed_list)
    return RunPlan(name, algorithm, problem, budget, cfg_text, cfg_hash, key, seed_list, stored,
                   [s for s in seed_list if s not in stored])


def store_runs(store: "Store", plan: RunPlan, traj: Trajectories) -> list[int]:
    """Store the computed runs ``traj`` of ``plan`` (those not stored meanwhile by another process);
    return the seeds stored now."""
    return _save(store, plan.name, plan.cfg_text, plan.key, traj)


def _stored_runs(store: "Store", key: tuple, seeds: list[int]) -> dict[int, int]:
    return search_store.stored_run_ids(store, key, seeds)


def _save(store: "Store", name: str, cfg_text: str, key: tuple, traj: Trajectories) -> list[int]:
    """Store the runs of ``traj`` that are not stored yet (another process may have meanwhile); return their seeds."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    cpu = traj.cpu_seconds / max(len(traj.seeds), 1)
    final_arch = traj.final_arch().tolist()
    final_report = traj.final_report().tolist()
    seeds = traj.seeds.tolist()
    S, T = traj.arch.shape
    q = np.broadcast_to(np.arange(T), (S, T))

    def run_row(k: int) -> tuple:
        return (name, cfg_text, *key, seeds[k], __version__, now, cpu, int(traj.length[k]),
                int(final_arch[k]) if final_arch[k] >= 0 else None, final_report[k])

    def trajectory_rows(ids: dict[int, int]) -> Any:
        run = np.array([ids.get(int(s), 0) for s in seeds], dtype=np.int64)[:, None] * np.ones((1, T), np.int64)
        mask = (q < traj.length[:, None]) & (run > 0)
        cols = [run[mask], q[mask], traj.arch[mask], traj.epoch[mask], traj.value[mask], traj.time[mask],
                traj.incumbent[mask], traj.incumbent_report[mask]]
        return zip(*(c.tolist() for c in cols))

    def objective_rows(ids: dict[int, int]) -> Any:
        K = traj.objectives.shape[2]
        run = np.broadcast_to(np.array([ids.get(int(s), 0) for s in seeds], dtype=np.int64)[:, None, None], (S, T, K))
        qk = np.broadcast_to(np.arange(T)[None, :, None], (S, T, K))
        kk = np.broadcast_to(np.arange(K)[None, None, :], (S, T, K))
        mask = (qk < traj.length[:, None, None]) & (run > 0)
        return zip(*(c.tolist() for c in (run[mask], qk[mask], kk[mask], traj.objectives[mask])))

    return search_store.insert_runs(store, key, seeds, run_row, trajectory_rows,
                                    objective_rows if traj.objectives is not None else None)


def load_trajectories(store: "Store", run_ids: Sequence[int]) -> Trajectories:
    """Stored trajectories of ``run_ids`` (in that order)."""
    if not run_ids:
        return empty_trajectories()
    ids = [int(i) for i in run_ids]
    meta, data, objective_data = search_store.run_rows(store, ids)
    S = len(ids)
    T = max((meta[r][1] for r in ids), default=0)
    row_of = {r: k for k, r in enumerate(ids)}
    a = np.array(data, dtype=np.float64).reshape(-1, 8)
    # architecture columns as integers: a served space's 64-bit ids do not survive a float64
    ints = np.array([(r[2], r[3], r[6]) for r in data], dtype=np.int64).reshape(-1, 3)
    k = np.array([row_of[int(r)] for r in a[:, 0]], dtype=np.int64) if len(a) else np.zeros(0, dtype=np.int64)
    j = a[:, 1].astype(np.int64)

    def grid(col: int, fill: float, dtype: Any) -> np.ndarray:
        if col in (2, 3, 6):
            g_int = np.full((S, T), int(fill), dtype=np.int64)
            g_int[k, j] = ints[:, (2, 3, 6).index(col)]
            return g_int.astype(dtype)
        g = np.full((S, T), fill, dtype=np.float64)
        g[k, j] = a[:, col]
        return g.astype(dtype)

    objectives = None
    if objective_data:
        o = np.array(objective_data, dtype=np.float64)
        K = int(o[:, 2].max()) + 1
        objectives = np.full((S, T, K), np.nan)
        objectives[np.array([row_of[int(r)] for r in o[:, 0]], dtype=np.int64), o[:, 1].astype(np.int64),
                   o[:, 2].astype(np.int64)] = o[:, 3]
    return Trajectories(
        np.array([meta[r][0] for r in ids], dtype=np.int64), grid(2, -1, np.int64), grid(3, -1, np.int64),
        grid(4, np.nan, np.float64), grid(5, np.nan, np.float64), grid(6, -1, np.int64),
        grid(7, np.nan, np.float64), np.array([meta[r][1] for r in ids], dtype=np.int64),
        float(sum(meta[r][2] for r in ids)), objectives)


def stored_runs(store: "Store", space: Optional[str] = None, dataset: Optional[str] = None) -> list[dict[str, Any]]:
    """Stored run groups: algorithm, config hash, benchmark, metrics, budget, number of seeds, mean final report."""
    return search_store.run_groups(store, space, dataset)


def algorithm_table() -> list[dict[str, Any]]:
    """Every registered algorithm with its summary and full default configuration."""
    rows = []
    for name, entry in ALGORITHMS.items():
        algo = make_algorithm(name)
        rows.append(dict(name=name, summary=entry.summary, curves=type(algo).multi_fidelity,
                         proxies=algo.uses_proxies(), objectives="/".join(
                             k for k, ok in (("single", algo.single_objective), ("multi", algo.multi_objective)) if ok),
                         config=algo.config()))
    return rows
