"""A search written as a plain Python loop, one seed at a time, stored and compared like the built-in algorithms.

For people who write their search as a loop (as with NATS-Bench's ``simulate_train_eval``)
rather than as an :class:`~zcdb.search.Algorithm`::

    with zcdb.search.loop(store, space, dataset, seed=0, budget_queries=300, name="my-random") as run:
        while not run.done:
            run.query(run.sample())
    run.result.summary()

:class:`SearchLoop` proposes (``sample``, ``mutate``, ``neighbours``), draws numbers
(``uniform``, ``integers``), answers queries (``query``: the search metric, paying the
simulated training time as the runner does) and records every query; leaving the ``with``
block (or :meth:`SearchLoop.finish`) stores the run in ``search_runs`` /
``search_trajectories`` under the algorithm name ``loop:NAME``, keyed like the runner's
runs (same benchmark, metrics, budget and seed columns; a configuration hash of the name,
``version``, ``settings`` and the data fingerprint), so ``zcdb search compare --loops NAME``
and ``zcdb study search --loops NAME`` put it beside the built-in algorithms.

Its draws are the runner's counter-based ones (:mod:`zcdb.search.rng`) of the loop's
seed: at step ``t`` (after ``t`` queries), the first ``sample()`` is the number that the
built-in ``random`` search draws at step ``t``; ``mutate`` uses the streams REA mutates
with, ``integers``/``uniform`` the stream REA picks parents with. So a loop that calls
them as those algorithms do reproduces their trajectories exactly, and any loop whose
decisions depend only on these draws and on the answers is deterministic from the seed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from .. import __version__, search_store
from ..errors import ZcdbError
from .problem import MultiObjectiveProblem, SearchProblem
from .rng import Draws, seed_keys
from .runner import MAX_QUERIES, Budget, Trajectories

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store
    from .runs import SearchResult

#: Prefix of a loop's algorithm name in ``search_runs`` (``loop:my-random``).
PREFIX = "loop:"
# Streams of a step's draws: those of the built-in algorithms that do the same thing.
_SAMPLE, _NUMBERS, _MUTATE, _MUTATE_FALLBACK = 0, 1, 2, 3


class BudgetExhausted(ZcdbError):
    """A query past a :class:`SearchLoop`'s budget. Leaving the loop's ``with`` block on it stores the run."""

    def __init__(self, message: str, loop: "SearchLoop") -> None:
        super().__init__(message)
        self.loop = loop


def _check_name(name: str) -> str:
    ok = isinstance(name, str) and name and all(c.isalnum() or c in "-_." for c in name)
    if not ok:
        raise ZcdbError(f"bad loop name {name!r}: use letters, digits, '-', '_' or '.', e.g. my-random")
    return name


def loop_config(name: str, version: int, settings: Mapping[str, Any], problem: SearchProblem) -> tuple[str, str]:
    """The canonical JSON of a loop's identity and its SHA-256 prefix (the ``config_hash`` of its runs):
    the name, version and settings, the data fingerprint and what the problem adds (constraints)."""
    doc: dict[str, Any] = dict(algorithm=PREFIX + name, version=int(version), config=dict(settings), proxies=[],
                               data=problem.fingerprint(proxies=False))
    ident = problem.identity()
    if ident:
        doc["problem"] = ident
    try:
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    except TypeError:
        raise ZcdbError("a loop's settings must be JSON values (numbers, strings, lists, dicts)") from None
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


class SearchLoop:
    """One seed's search, driven by the caller's own loop: see the module docstring.

    Architectures are official indices (``query`` and ``mutate`` also take official strings);
    ``query`` returns the search metric in its units (e.g. ``val_acc`` in %). The report
    metric is never shown to the loop; the stored run reports it for the incumbent.
    """

    def __init__(self, store: "Store", problem: SearchProblem, seed: int, budget: Budget, name: str = "loop",
                 version: int = 1, settings: Optional[Mapping[str, Any]] = None) -> None:
        if isinstance(problem, MultiObjectiveProblem):
            raise ZcdbError("a search loop searches one metric: use --search-metric, not --objectives")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ZcdbError(f"a loop's seed must be a non-negative integer, not {seed!r}")
        if budget.seconds is not None and problem.cost is None:
            raise ZcdbError(f"{problem.space}/{problem.dataset} has no train_time at the epochs of "
                            f"{problem.search_metric}: give the budget in queries (budget_queries=N)")
        self.store = store
        self.problem = problem
        self.seed = int(seed)
        self.budget = budget
        self.name = _check_name(name)
        self.version = int(version)
        self.settings = dict(settings or {})
        self.config_text, self.config_hash = loop_config(self.name, self.version, self.settings, problem)
        self._keys = seed_keys(np.array([self.seed], dtype=np.int64))
        self._space = problem.search_space
        self._step = -1
        self._draws: Draws = Draws(self._keys, 0)
        self._pos = {_SAMPLE: 0, _NUMBERS: 0, _MUTATE: 0}
        self._trained: dict[int, int] = {}
        self._clock = 0.0
        self._exhausted = False
        self._inc_arch = -1
        self._inc_score = -np.inf
        self._rec: dict[str, list] = {f: [] for f in ("arch", "epoch", "value", "time", "incumbent",
                                                      "incumbent_report")}
        self._t_cpu = time.process_time()
        self._result: Optional["SearchResult"] = None

    def __repr__(self) -> str:
        p = self.problem
        return (f"<zcdb.search.SearchLoop {PREFIX}{self.name} seed {self.seed} on {p.space}/{p.dataset}: "
                f"{self.queries} queries, {self._clock:.1f} s>")

    # ------------------------------------------------------------------ state
    @property
    def queries(self) -> int:
        """Queries made (and recorded) so far."""
        return len(self._rec["arch"])

    @property
    def used_time(self) -> float:
        """Simulated seconds spent so far (training time, as the runner charges it)."""
        return self._clock

    @property
    def done(self) -> bool:
        """Whether the budget is spent: all queries made, or a query did not fit the time budget."""
        if self.budget.queries is not None:
            return self.queries >= self.budget.queries
        return self._exhausted

    @property
    def incumbent(self) -> tuple[int, float]:
        """The best query so far by the search metric (its index and value; ``(-1, nan)`` before the first)."""
        if self._inc_arch < 0:
            return -1, float("nan")
        return self._inc_arch, float(self._inc_score * self.problem.search_sign)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every query: ``arch``, ``epoch``, ``value`` (search metric), ``time`` (simulated clock after it)."""
        r = self._rec
        return [dict(arch=a, epoch=e, value=v, time=t) for a, e, v, t in zip(r["arch"], r["epoch"], r["value"],
                                                                            r["time"])]

    @property
    def result(self) -> "SearchResult":
        """The stored run (after :meth:`finish` or the ``with`` block)."""
        if self._result is None:
            raise ZcdbError("the loop is not finished: call finish() or leave its with block")
        return self._result

    # ------------------------------------------------------------------ draws
    def _at_step(self) -> Draws:
        if self._result is not None:
            raise ZcdbError(f"loop {self.name} seed {self.seed} is finished and stored: start a new one")
        t = self.queries
        if t != self._step:
            self._step = t
            self._draws = Draws(self._keys, t)
            self._pos = {_SAMPLE: 0, _NUMBERS: 0, _MUTATE: 0}
        return self._draws

    def _take(self, stream: int, n: int) -> np.ndarray:
        """The next ``n`` numbers of ``stream`` at this step (positions after those already taken)."""
        draws = self._at_step()
        pos = self._pos[stream]
        self._pos[stream] = pos + n
        return draws.uniform(stream, pos + n)[0, pos:]

    def sample(self) -> int:
        """An available architecture drawn uniformly (the built-in random search's draw at this step)."""
        return int(self.problem.sample(self._take(_SAMPLE, 1))[0])

    def mutate(self, arch: Union[int, str]) -> int:
        """A uniformly drawn available one-edge (one-position) neighbour of ``arch`` (REA's mutation);
        a uniform sample when it has none."""
        a = self.index(arch)
        draws = self._at_step()
        pos = self._pos[_MUTATE]
        self._pos[_MUTATE] = pos + 1
        # the fallback number sits at the same position of its own stream, as in REA
        u = draws.uniform(_MUTATE, pos + 1)[0, pos:]
        u_fallback = draws.uniform(_MUTATE_FALLBACK, pos + 1)[0, pos:]
        return int(self.problem.mutate(np.array([a], dtype=np.int64), u, u_fallback)[0])

    def neighbours(self, arch: Union[int, str]) -> list[int]:
        """The available neighbours of ``arch`` (one position changed), in the space's order."""
        nb = self.problem.neighbours_of(np.array([self.index(arch)], dtype=np.int64))[0]
        return [int(i) for i in nb if i >= 0 and self.problem.available[i]]

    def uniform(self, n: Optional[int] = None) -> Union[float, np.ndarray]:
        """The next uniform number in [0, 1) of this step (or an array of ``n``), from the loop's seed."""
        out = self._take(_NUMBERS, 1 if n is None else int(n))
        return float(out[0]) if n is None else out

    def integers(self, high: int, n: Optional[int] = None) -> Union[int, np.ndarray]:
        """The next integer in ``0 .. high - 1`` (or an array of ``n``): REA draws its tournament this way."""
        if int(high) < 1:
            raise ZcdbError(f"integers(high) needs high >= 1, not {high}")
        u = self._take(_NUMBERS, 1 if n is None else int(n))
        out = np.minimum((u * int(high)).astype(np.int64), int(high) - 1)
        return int(out[0]) if n is None else out

    # ------------------------------------------------------------------ architectures
    def index(self, arch: Union[int, str]) -> int:
        """The official index of ``arch`` (an index or the space's official string)."""
        return int(self._space.index_of(arch))

    def arch_string(self, arch: Union[int, str]) -> str:
        """The official string of ``arch``."""
        return self._space.string_of(self.index(arch))

    # ------------------------------------------------------------------ queries
    def query(self, arch: Union[int, str], epoch: Optional[int] = None) -> float:
        """The search metric of ``arch`` after ``epoch`` (default: the last), paying its training time.

        The time charged is the table's ``train_time`` to ``epoch`` minus what this loop already
        trained of ``arch`` (a repeated query costs nothing), as the runner charges it. Past the
        budget (the query budget spent, or a query that would end past the time budget) raises
        :class:`BudgetExhausted`, which the ``with`` block treats as the end of the search."""
        p = self.problem
        self._at_step()
        a = self.index(arch)
        if epoch is None:
            e = p.last
        else:
            where = np.flatnonzero(p.epochs == int(epoch))
            if where.size == 0:
                raise ZcdbError(f"{p.space}/{p.dataset} has {p.search_metric} after epochs "
                                f"{', '.join(map(str, p.epochs.tolist()))}, not {epoch}: query one of them")
            e = int(where[0])
        if not p.available[a]:
            raise ZcdbError(f"architecture {a} has no {p.search_metric} (or {p.report_metric}) in "
                            f"{p.space}/{p.dataset}: query architectures from sample(), mutate() or neighbours()")
        if self.done:
            raise BudgetExhausted(self._spent(), self)
        if self.queries >= MAX_QUERIES:
            raise ZcdbError(f"the time budget allowed more than {MAX_QUERIES} queries: give a smaller budget_seconds")
        spent = 0.0
        before = self._trained.get(a, 0)
        if p.cost is not None:
            done = p.cost[before - 1, a] if before > 0 else 0.0
            if e + 1 > before:
                spent += p.cost[e, a] - done
        clock = self._clock + spent
        if self.budget.seconds is not None and not clock <= self.budget.seconds:
            self._exhausted = True
            raise BudgetExhausted(self._spent(), self)
        if p.cost is not None:
            self._trained[a] = max(before, e + 1)
        self._clock = clock
        score = float(p.search[e, a])
        if p.feasible[a] and score > self._inc_score:
            self._inc_score, self._inc_arch = score, a
        r = self._rec
        r["arch"].append(a)
        r["epoch"].append(int(p.epochs[e]))
        value = score * p.search_sign
        r["value"].append(value)
        r["time"].append(clock)
        r["incumbent"].append(self._inc_arch)
        r["incumbent_report"].append(float(p.report[self._inc_arch]) if self._inc_arch >= 0 else float("nan"))
        return float(value)

    def feasible(self, arch: Union[int, str]) -> bool:
        """Whether ``arch`` meets the loop's constraints (infeasible queries never become the incumbent)."""
        return bool(self.problem.feasible[self.index(arch)])

    def _spent(self) -> str:
        b = self.budget
        what = f"{b.queries} queries" if b.queries is not None else f"{b.seconds:g} simulated seconds"
        return (f"loop {self.name} seed {self.seed}: the budget of {what} is spent: stop querying "
                "(leave the with block, or call finish())")

    # ------------------------------------------------------------------ storing
    def trajectories(self) -> Trajectories:
        """This seed's queries as :class:`~zcdb.search.Trajectories` (one row)."""
        r = self._rec
        T = len(r["arch"])

        def row(f: str, dtype: Any) -> np.ndarray:
            return np.array(r[f], dtype=dtype).reshape(1, T)

        return Trajectories(np.array([self.seed], dtype=np.int64), row("arch", np.int64), row("epoch", np.int64),
                            row("value", np.float64), row("time", np.float64), row("incumbent", np.int64),
                            row("incumbent_report", np.float64), np.array([T], dtype=np.int64),
                            time.process_time() - self._t_cpu)

    def key(self) -> tuple:
        """The run's key columns (as the runner's): config hash, benchmark, metrics, budget."""
        p, b = self.problem, self.budget
        return (self.config_hash, p.space, p.dataset, p.protocol, p.search_metric, p.report_metric, b.kind, b.amount)

    def finish(self) -> "SearchResult":
        """Store the run (once; a second call returns the same result) and return it.

        An identical run already stored (the same loop rerun) is reused; a different one under
        the same name, version, settings and seed is refused: the loop changed, or it is not
        deterministic from its seed (bump ``version`` or change ``name``)."""
        if self._result is not None:
            return self._result
        from .runs import SearchResult, load_trajectories

        t0 = time.perf_counter()
        traj = self.trajectories()
        key = self.key()
        algo = PREFIX + self.name
        stored = search_store.stored_run_ids(self.store, key, [self.seed])
        reused = 0
        if self.seed in stored:
            old = load_trajectories(self.store, [stored[self.seed]])
            if not _same(old, traj):
                raise ZcdbError(
                    f"{algo} seed {self.seed} is stored with another trajectory (config {self.config_hash}): the loop "
                    "changed or does not depend on its seed alone: pass version=N+1 (or another name) to store it")
            traj.cpu_seconds = old.cpu_seconds
            reused = 1
        else:
            self._save(algo, key, traj)
        self._result = SearchResult(algo, dict(self.settings), self.config_hash, self.problem, self.budget, traj,
                                    reused=reused, computed=1 - reused, seconds=time.perf_counter() - t0)
        return self._result

    def _save(self, algo: str, key: tuple, traj: Trajectories) -> None:
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        final_arch = int(traj.final_arch()[0])
        final_report = float(traj.final_report()[0])

        def run_row(k: int) -> tuple:
            return (algo, self.config_text, *key, self.seed, __version__, now, traj.cpu_seconds, int(traj.length[0]),
                    final_arch if final_arch >= 0 else None, final_report)

        def trajectory_rows(ids: dict[int, int]) -> Any:
            rid = ids.get(self.seed)
            if rid is None:
                return []
            r = self._rec
            return [(rid, q, r["arch"][q], r["epoch"][q], r["value"][q], r["time"][q], r["incumbent"][q],
                     r["incumbent_report"][q]) for q in range(len(r["arch"]))]

        search_store.insert_runs(self.store, key, [self.seed], run_row, trajectory_rows)

    def __enter__(self) -> "SearchLoop":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None or (isinstance(exc, BudgetExhausted) and exc.loop is self):
            self.finish()
            return exc_type is not None  # the budget's end is the search's end: not an error
        return False  # any other error: nothing is stored


def _same(a: Trajectories, b: Trajectories) -> bool:
    if a.arch.shape != b.arch.shape or not np.array_equal(a.length, b.length):
        return False
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=(f in ("value", "time", "incumbent_report")))
               for f in ("arch", "epoch", "value", "time", "incumbent", "incumbent_report"))


def loop(store: "Store", space: str, dataset: str, seed: int = 0, *, budget_queries: Optional[int] = None,
         budget_seconds: Optional[float] = None, search_metric: str = "val_acc", report_metric: str = "test_acc",
         protocol: Optional[str] = None, constraints: Sequence[str] = (), name: str = "loop", version: int = 1,
         settings: Optional[Mapping[str, Any]] = None, problem: Optional[SearchProblem] = None) -> SearchLoop:
    """A :class:`SearchLoop` for ``seed`` on a stored benchmark (see the module docstring).

    Give one budget (``budget_queries`` or ``budget_seconds`` of simulated training);
    ``name`` (stored as ``loop:NAME``), ``version`` and ``settings`` (a JSON-able dict of the
    loop's own parameters) identify the run; ``constraints`` (``latency_edgegpu<5``) apply as
    in :func:`~zcdb.search.run_search`. ``problem`` (from :func:`~zcdb.search.load_problem`)
    saves reloading the benchmark for every seed."""
    from .runs import load_problem

    budget = Budget(budget_queries if budget_queries is not None or budget_seconds is not None else 300,
                    budget_seconds)
    if problem is None:
        problem = load_problem(store, space, dataset, search_metric, report_metric, protocol, (), constraints)
    elif (problem.space, problem.dataset) != (space, dataset):
        raise ZcdbError(f"the problem is {problem.space}/{problem.dataset}, not {space}/{dataset}")
    return SearchLoop(store, problem, seed, budget, name, version, settings)


def stored_loop(store: "Store", name: str, problem: SearchProblem, budget: Budget,
                seeds: Sequence[int]) -> "SearchResult":
    """The stored runs of loop ``name`` (``NAME`` or ``NAME@CONFIG_HASH``) on ``problem`` with ``budget``,
    for every one of ``seeds``, as a :class:`~zcdb.search.runs.SearchResult` (read back, never rerun).

    Only runs made on the problem's current numbers count (their data fingerprint and
    constraints match); several configurations of one name (versions, settings) must be told
    apart as ``NAME@HASH``."""
    from .runs import SearchResult, load_trajectories

    t0 = time.perf_counter()
    base, _, want_hash = str(name).partition("@")
    base = _check_name(base[len(PREFIX):] if base.startswith(PREFIX) else base)
    p = problem
    what = (f"{p.space}/{p.dataset} ({p.protocol}), search {p.search_metric}, report {p.report_metric}, "
            f"{budget.amount:g} {'queries' if budget.kind == 'queries' else 'simulated s'}")
    rows = search_store.runs_named(store, PREFIX + base, (p.space, p.dataset, p.protocol, p.search_metric,
                                                          p.report_metric, budget.kind, budget.amount))
    if not rows:
        raise ZcdbError(f"no stored runs of {PREFIX}{base} on {what}: run the loop first "
                        f"(zcdb.search.loop(store, {p.space!r}, {p.dataset!r}, seed=..., name={base!r}, ...)), "
                        "with the same metrics and budget")
    data = p.fingerprint(proxies=False)
    ident = p.identity()
    groups: dict[str, dict[str, Any]] = {}
    stale = 0
    for h, cfg, seed, rid in rows:
        doc = json.loads(cfg)
        if doc.get("data") != data or doc.get("problem", {}) != ident:
            stale += 1
            continue
        g = groups.setdefault(h, dict(config=doc.get("config", {}), runs={}))
        g["runs"][seed] = rid
    if want_hash:
        groups = {h: g for h, g in groups.items() if h == want_hash}
    if not groups:
        why = (f"{stale} stored run(s) were made on other numbers or constraints (the table was re-imported "
               "since, or --where differs): rerun the loop" if stale else "no configuration " + want_hash)
        raise ZcdbError(f"no usable runs of {PREFIX}{base} on {what}: {why}")
    if len(groups) > 1:
        raise ZcdbError(f"{PREFIX}{base} has {len(groups)} stored configurations on {what}: name one as "
                        + " or ".join(f"{base}@{h}" for h in sorted(groups)))
    h, g = next(iter(groups.items()))
    seed_list = [int(s) for s in dict.fromkeys(int(s) for s in seeds)]
    missing = [s for s in seed_list if s not in g["runs"]]
    if missing:
        have = sorted(g["runs"])
        raise ZcdbError(f"{PREFIX}{base} has no stored run for seed(s) {_seeds_text(missing)} (it has "
                        f"{_seeds_text(have)}): run the loop for them, or compare on --seeds {_seeds_text(have)}")
    traj = load_trajectories(store, [g["runs"][s] for s in seed_list])
    return SearchResult(PREFIX + base, g["config"], h, problem, budget, traj, reused=len(seed_list), computed=0,
                        seconds=time.perf_counter() - t0)


def _seeds_text(seeds: Sequence[int]) -> str:
    """``0-9,12`` for a sorted seed list."""
    out, run = [], []
    for s in sorted(seeds):
        if run and s == run[-1] + 1:
            run.append(s)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [s]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)
