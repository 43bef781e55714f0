"""What a search sees: one benchmark's search metric (per epoch), its report metric, its costs and proxies.

A :class:`SearchProblem` is built once from a :class:`zcdb.Benchmark` and holds dense
numpy arrays only, so the runner's inner loop is array indexing. Scores are *oriented*:
larger is better whatever the metric (a loss is negated), so algorithms always maximize.
An architecture is *available* when the search metric is known at every epoch and the
report metric at the last; algorithms only propose available architectures (sampling and
mutation skip the others, which is the same as drawing again until one is available).

Constraints (``latency_edgegpu<5``, :mod:`zcdb.constraints`) make some available
architectures *infeasible*. Their feasibility is revealed by the query, as a black-box
constraint: algorithms may propose them, the query is paid, but they never become the
incumbent, and the algorithm is told a *penalty* score instead of theirs (below, "death
penalty"). A :class:`MultiObjectiveProblem` has two or more objectives instead of one
search metric (see its docstring).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np

from ..constraints import Feasibility, feasible, parse_all
from ..errors import UnknownMetric, ZcdbError
from ..spaces import get_space

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Benchmark, Store

#: Metric whose value at an epoch is the cumulative training time to that epoch (seconds).
TIME_METRIC = "train_time"


@dataclass(frozen=True)
class ProxySet:
    """One stored set of proxy scores: the key of ``proxy_scores`` rows."""

    proxy: str
    seed: int
    batch_size: int
    data: str

    def label(self) -> str:
        """``proxy/seed/batch_size/data``: the form ``--proxies`` accepts to pick this set."""
        return f"{self.proxy}/{self.seed}/{self.batch_size}/{self.data}"


@dataclass
class SearchProblem:
    """Dense arrays of one benchmark, oriented for maximization (see the module docstring)."""

    space: str
    dataset: str
    protocol: str
    search_metric: str
    report_metric: str
    #: Epochs at which the search metric is stored (the fidelities), ascending.
    epochs: np.ndarray
    #: ``(E, N)`` oriented search scores by epoch index and architecture (NaN: unknown).
    search: np.ndarray
    #: ``(N,)`` report metric at its last epoch, as stored (not oriented).
    report: np.ndarray
    #: ``(E, N)`` cumulative training time to each epoch, or None when the table has none.
    cost: Optional[np.ndarray] = None
    #: Proxy sets, their oriented scores ``(P, N)`` and compute times ``(P, N)`` in seconds.
    proxy_sets: tuple[ProxySet, ...] = ()
    proxy_scores: Optional[np.ndarray] = None
    proxy_times: Optional[np.ndarray] = None
    search_sign: float = 1.0
    report_sign: float = 1.0
    #: Canonical constraint texts (sorted, ``latency_edgegpu<5``) and which architectures meet them.
    constraints: tuple[str, ...] = ()
    feasibility: Optional[Feasibility] = None
    available: np.ndarray = field(init=False)
    available_index: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        sp = get_space(self.space)
        self.search_space = sp
        self.num_archs = sp.require_size("a tabular search problem")
        # neighbour rows are asked for by the architectures at hand (-1 padded where lists are
        # ragged): a space of 423,624 cells cannot build its whole table for every search
        self.neighbour_width = sp.neighbour_width
        self.ops = sp.ops_matrix()
        self.available = np.isfinite(self.search).all(axis=0) & np.isfinite(self.report)
        self.available_index = np.flatnonzero(self.available)
        if self.available_index.size == 0:
            raise ZcdbError(
                f"{self.space}/{self.dataset} has no architecture with both {self.search_metric} and "
                f"{self.report_metric}: import them first (see `zcdb info`)"
            )
        self.proxy_available = self.available.copy()
        if self.proxy_scores is not None:
            self.proxy_available &= np.isfinite(self.proxy_scores).all(axis=0)
        self.proxy_available_index = np.flatnonzero(self.proxy_available)
        #: ``(N,)`` whether each architecture meets every constraint (all True without constraints).
        self.feasible = np.ones(self.num_archs, dtype=bool) if self.feasibility is None \
            else np.asarray(self.feasibility.mask, dtype=bool)
        if not (self.available & self.feasible).any():
            raise ZcdbError(
                f"no architecture of {self.space}/{self.dataset} can be searched under "
                f"{' and '.join(self.constraints)} ({self.feasibility.summary() if self.feasibility else ''}): "
                "loosen the constraints"
            )
        self.penalty = _penalty(self.search, self.available)

    # ------------------------------------------------------------------ facts
    @property
    def queryable(self) -> np.ndarray:
        """``(N,)`` architectures a search can end with: available and feasible."""
        return self.available & self.feasible

    @property
    def num_objectives(self) -> int:
        """1 here; two or more for a :class:`MultiObjectiveProblem`."""
        return 1

    @property
    def last(self) -> int:
        """Index of the last (full-fidelity) epoch."""
        return len(self.epochs) - 1

    def ceiling(self) -> tuple[int, float]:
        """The architecture with the best search score (last epoch) and its report value:
        what a search that selects by the search metric can at best report."""
        s = np.where(self.queryable, self.search[self.last], -np.inf)
        i = int(np.argmax(s))
        return i, float(self.report[i])

    def best_report(self) -> tuple[int, float]:
        """The available (and feasible) architecture with the best report value (for regret)."""
        r = np.where(self.queryable, self.report * self.report_sign, -np.inf)
        i = int(np.argmax(r))
        return i, float(self.report[i])

    def fingerprint(self, proxies: bool = True) -> str:
        """SHA-256 prefix of every number a search reads: epochs, search and report values,
        costs, orientations and (with ``proxies``, for the algorithms that read them) the proxy
        scores and times. Stored runs are keyed by it, so a table re-imported with other
        values, or proxies recomputed, never reuse runs made on the old numbers. Computed
        once per problem: its arrays are not to be changed in place afterwards."""
        cache = self.__dict__.setdefault("_fingerprints", {})
        fp = cache.get(proxies)
        if fp is None:
            h = hashlib.sha256()
            arrays = [self.epochs, self.search, self.report, self.cost, np.array([self.search_sign, self.report_sign])]
            if proxies:
                arrays += [self.proxy_scores, self.proxy_times]
            # only where there is something to add, so that the fingerprints of plain problems stay as they were
            arrays += self._extra_arrays()
            for a in arrays:
                if a is None:
                    h.update(b"none")
                else:
                    a = np.ascontiguousarray(a)
                    h.update(f"{a.dtype.str}{a.shape}".encode())
                    h.update(a.tobytes())
            fp = cache[proxies] = h.hexdigest()[:16]
        return fp

    def _extra_arrays(self) -> list[np.ndarray]:
        return [self.feasible] if self.constraints else []

    def identity(self) -> dict:
        """What a stored run's configuration records about the problem beyond its key columns
        (empty without constraints, so that unconstrained runs keep their hashes)."""
        return {"constraints": list(self.constraints)} if self.constraints else {}

    def describe(self) -> dict:
        """The problem's identity (what a stored run is keyed by, besides the algorithm)."""
        return dict(space=self.space, dataset=self.dataset, protocol=self.protocol,
                    search_metric=self.search_metric, report_metric=self.report_metric,
                    proxy_sets=[p.label() for p in self.proxy_sets], **self.identity())

    # ------------------------------------------------------------------ what the runner asks
    # The runner and the algorithms read the problem through these, so that a problem answered
    # by a model on demand (:class:`~zcdb.search.served.ServedProblem`) serves them too.
    @property
    def has_cost(self) -> bool:
        """Whether queries have a simulated training time (time budgets need one)."""
        return self.cost is not None

    def search_at(self, epoch_index: np.ndarray, archs: np.ndarray) -> np.ndarray:
        """Oriented search scores of ``archs`` at the epochs ``self.epochs[epoch_index]`` (same shape)."""
        return self.search[epoch_index, archs]

    def cost_at(self, epoch_index: np.ndarray, archs: np.ndarray) -> np.ndarray:
        """Cumulative training time of ``archs`` up to the epochs ``self.epochs[epoch_index]``."""
        return self.cost[epoch_index, archs]

    def report_at(self, archs: np.ndarray) -> np.ndarray:
        """Report values of ``archs`` (as stored, not oriented)."""
        return self.report[archs]

    def feasible_at(self, archs: np.ndarray) -> np.ndarray:
        """Whether each of ``archs`` meets every constraint."""
        return self.feasible[archs]

    def available_at(self, archs: np.ndarray) -> np.ndarray:
        """Whether each of ``archs`` (-1: padding, never available) can be proposed."""
        a = np.asarray(archs, dtype=np.int64)
        return (a >= 0) & self.available[np.maximum(a, 0)]

    def report_pool(self) -> np.ndarray:
        """The report values a comparison's target quantile is taken over: every queryable architecture."""
        return self.report[self.queryable]

    def check_algorithm(self, algorithm: object, name: str) -> None:
        """A one-line error when ``algorithm`` cannot run on this problem (tables run every one)."""

    def comparison_notes(self) -> list[str]:
        """Lines a comparison on this problem adds to its notes: for a table holding only a sparse
        sample of its space (NAS-Bench-101's 1k sample), that mutations seldom find a stored
        neighbour and so mostly fall back to uniform draws."""
        share = self.neighbour_coverage()
        if share >= 0.5:
            return []
        return [f"{self.space}/{self.dataset} holds {self.available_index.size:,} architectures with values"
                f"{f' of {self.search_space.size:,}' if self.search_space.size else ''}: only {100 * share:.0f}% "
                "of them have a neighbour with values, so algorithms that mutate or move to neighbours (rea, "
                "local, ...) mostly draw uniformly instead; compare them on a complete table"]

    def neighbour_coverage(self, sample: int = 2000) -> float:
        """The share of available architectures (a seeded sample of at most ``sample``) with at least one
        available neighbour: 1.0 on a complete table, near 0 on a sparse sample of a large space."""
        idx = self.available_index
        if idx.size > sample:
            idx = np.sort(np.random.default_rng(0).choice(idx, sample, replace=False))
        return float(self.available_at(self.neighbours_of(idx)).any(axis=-1).mean())

    # ------------------------------------------------------------------ moves
    def sample(self, u: np.ndarray) -> np.ndarray:
        """Available architectures drawn uniformly: one per uniform number in ``u`` (any shape)."""
        idx = self.available_index
        return idx[np.minimum((u * idx.size).astype(np.int64), idx.size - 1)]

    def neighbours_of(self, archs: np.ndarray) -> np.ndarray:
        """Neighbour rows of ``archs`` (any shape): ``archs.shape + (neighbour_width,)``, -1 padded."""
        a = np.asarray(archs, dtype=np.int64)
        return self.search_space.neighbour_rows(a.reshape(-1)).reshape(a.shape + (self.neighbour_width,))

    def mutate(self, archs: np.ndarray, u: np.ndarray, u_fallback: np.ndarray) -> np.ndarray:
        """One random one-edge mutation of each arch, uniform over its available neighbours.

        An architecture with no available neighbour gets a uniform sample (from ``u_fallback``).
        """
        nb = self.neighbours_of(archs)  # (..., max degree), -1 padded
        ok = self.available_at(nb)
        count = ok.sum(axis=-1)
        k = np.minimum((u * count).astype(np.int64), np.maximum(count - 1, 0))
        pick = np.argmax(np.cumsum(ok, axis=-1) > k[..., None], axis=-1)
        out = np.take_along_axis(nb, pick[..., None], axis=-1)[..., 0]
        return np.where(count > 0, out, self.sample(u_fallback))

    def onehot(self, archs: np.ndarray) -> np.ndarray:
        """Binary features of architectures: one-hot choice per position, shape ``archs.shape + (sum of choices,)``."""
        ops = self.ops[archs].astype(np.int64)
        widths = np.array([len(c) for c in self.search_space.choices], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(widths)[:-1]])
        out = np.zeros(archs.shape + (int(widths.sum()),), dtype=bool)
        np.put_along_axis(out, ops + offsets, True, axis=-1)
        return out


def _penalty(scores: np.ndarray, available: np.ndarray) -> np.ndarray:
    """What an algorithm is told for an infeasible query, per row of ``scores`` (epochs or
    objectives): one table range (at least 1) below the worst available score, so worse than
    every feasible architecture, yet finite, so that surrogates and gradients stay finite."""
    lo = np.array([row[available].min() for row in scores])
    hi = np.array([row[available].max() for row in scores])
    return lo - np.maximum(hi - lo, 1.0)


def _feasibility(bench: "Benchmark", constraints: Sequence[str]) -> tuple[tuple[str, ...], Optional[Feasibility]]:
    """Canonical texts of ``constraints`` (parsed, sorted, without repeats) and their feasibility."""
    if not constraints:
        return (), None
    texts = tuple(sorted({str(c) for c in parse_all(constraints)}))
    return texts, feasible(bench, texts, size=bench.search_space.require_size("constraints"))


# --------------------------------------------------------------------------- building
def parse_proxy_sets(store: "Store", space: str, dataset: str, names: Sequence[str]) -> tuple[ProxySet, ...]:
    """Resolve proxy names (``nwot``, or ``nwot/SEED/BATCH/DATA`` to pick a set) to stored sets."""
    stored = [ProxySet(r["proxy"], r["seed"], r["batch_size"], r["data"]) for r in store.proxy_runs(space, dataset)]
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        proxy, slash, rest = name.partition("/")
        cands = [p for p in stored if p.proxy == proxy]
        if slash:
            cands = [p for p in cands if p.label() == name]
        if not cands:
            have = sorted({p.proxy for p in stored})
            raise ZcdbError(
                f"no stored {name} scores for {space}/{dataset}: compute them with `zcdb proxies compute --space "
                f"{space} --dataset {dataset} --proxies {proxy} ...` or pick one of: {', '.join(have) or 'none'}"
            )
        if len(cands) > 1:
            raise ZcdbError(
                f"{len(cands)} stored {proxy} score sets for {space}/{dataset}: name one as "
                + " or ".join(p.label() for p in cands)
            )
        out.append(cands[0])
    return tuple(out)


def problem_from_benchmark(
    bench: "Benchmark", search_metric: str = "val_acc", report_metric: str = "test_acc",
    proxies: Sequence[str] = (), constraints: Sequence[str] = (),
) -> SearchProblem:
    """Load a :class:`SearchProblem` from a benchmark: every epoch of ``search_metric``, the last of
    ``report_metric``, ``train_time`` at the same epochs when stored, the named proxy sets, and
    which architectures meet ``constraints`` (``latency_edgegpu<5``, :mod:`zcdb.constraints`)."""
    metrics = bench.metrics()
    for m in (search_metric, report_metric):
        if m not in metrics:
            raise UnknownMetric(
                f"{bench.space}/{bench.dataset} has no {m}: stored metrics are {', '.join(metrics)}"
            )
    epochs = np.array([e for e in bench.epochs(search_metric) if e > 0] or bench.epochs(search_metric), dtype=np.int64)
    s_sign = 1.0 if bench.higher_is_better(search_metric) else -1.0
    search = np.stack([np.asarray(bench.values(search_metric, int(e)), dtype=np.float64) * s_sign for e in epochs])
    report = np.array(bench.values(report_metric), dtype=np.float64)
    cost = None
    if TIME_METRIC in metrics and set(epochs.tolist()) <= set(bench.epochs(TIME_METRIC)):
        cost = np.stack([np.asarray(bench.values(TIME_METRIC, int(e)), dtype=np.float64) for e in epochs])
    texts, feas = _feasibility(bench, constraints)
    sets = parse_proxy_sets(bench.store, bench.space, bench.dataset, proxies) if proxies else ()
    p_scores = p_times = None
    if sets:
        from ..proxies.registry import orientation  # imports torch: only when a search uses proxies

        n = bench.search_space.require_size("proxy scores as a table")
        p_scores = np.full((len(sets), n), np.nan)
        p_times = np.zeros((len(sets), n))
        for k, ps in enumerate(sets):
            i, value, secs = bench.store.proxy_scores(bench.space, bench.dataset, ps.proxy, ps.seed, ps.batch_size,
                                                      ps.data)
            p_scores[k, i] = value * orientation(ps.proxy)
            p_times[k, i] = np.nan_to_num(secs, nan=0.0)
    return SearchProblem(
        space=bench.space, dataset=bench.dataset, protocol=bench.protocol, search_metric=search_metric,
        report_metric=report_metric, epochs=epochs, search=search, report=report, cost=cost,
        proxy_sets=sets, proxy_scores=p_scores, proxy_times=p_times, search_sign=s_sign,
        report_sign=1.0 if bench.higher_is_better(report_metric) else -1.0, constraints=texts,
        feasibility=feas,
    )


# --------------------------------------------------------------------------- multi-objective
#: The report metric of a multi-objective problem: runs report the hypervolume of their front.
HYPERVOLUME = "hypervolume"


@dataclass
class MultiObjectiveProblem(SearchProblem):
    """Two or more objectives, each in its own direction (the store's declarations), at their last epoch.

    An algorithm is told every query's oriented objective scores ``(S, K)``; a run reports
    the hypervolume of its attained front (the non-dominated feasible queries) against
    ``reference``, in the objectives' units. Its key columns are the objectives
    (``search_metric``: ``test_acc,latency_pixel3``) and ``hypervolume`` (``report_metric``).
    The single-objective fields describe the first objective (``search``: its oriented
    scores, ``report``: its values): the incumbent of a multi-objective run is the
    feasible query best in the first objective so far, a member of the attained front.
    Default ``reference``: the worst value of each objective over the architectures a
    search can end with (available and feasible).
    """

    objectives: tuple[str, ...] = ()
    #: ``(K, N)`` objective values as stored (NaN: unknown), one row per objective.
    objective_values: Optional[np.ndarray] = None
    #: ``(K,)`` +1 where larger is better, -1 where smaller is.
    objective_signs: Optional[np.ndarray] = None
    objective_units: tuple[str, ...] = ()
    reference: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        K = len(self.objectives)
        #: ``(K, N)`` oriented objective scores (larger is better), what algorithms are told.
        self.objective_scores = self.objective_values * self.objective_signs[:, None]
        self.objective_penalty = _penalty(self.objective_scores, self.available)
        ok = self.queryable
        if self.reference is None:
            self.reference = self.worst()
            self.default_reference = True
        else:
            ref = np.asarray(self.reference, dtype=np.float64).reshape(-1)
            if ref.size != K or not np.isfinite(ref).all():
                raise ZcdbError(f"the reference point needs {K} finite numbers, one per objective "
                                f"({', '.join(self.objectives)}), e.g. --reference {self._reference_text()}")
            self.reference = ref
            self.default_reference = False
            better = (self.objective_scores[:, ok] > (ref * self.objective_signs)[:, None]).all(axis=0)
            if not better.any():
                raise ZcdbError(
                    f"the reference point {_fmt(ref)} bounds no architecture ({', '.join(self.objectives)}): "
                    f"none is better than it in every objective, so every hypervolume would be 0; give a worse one, "
                    f"e.g. the default {self._reference_text()}")

    def worst(self) -> np.ndarray:
        """``(K,)`` the worst value of each objective over the architectures a search can end with
        (the default reference point)."""
        ok = self.queryable
        return np.array([(row[ok].min() if s > 0 else row[ok].max())
                         for row, s in zip(self.objective_values, self.objective_signs)])

    def _reference_text(self) -> str:
        return _fmt(self.worst())

    @property
    def num_objectives(self) -> int:
        return len(self.objectives)

    @property
    def maximize(self) -> tuple[bool, ...]:
        """Per objective, whether larger is better."""
        return tuple(bool(s > 0) for s in self.objective_signs)

    def table_front(self) -> np.ndarray:
        """Indices of the non-dominated architectures among those a search can end with."""
        from ..pareto import non_dominated

        cache = self.__dict__.setdefault("_front", [])
        if not cache:
            idx = np.flatnonzero(self.queryable)
            cache.append(idx[non_dominated(self.objective_values[:, idx].T, self.maximize)])
        return cache[0]

    def table_hypervolume(self) -> float:
        """Hypervolume of the whole table's front: what a search that queried everything attains."""
        from ..pareto import hypervolume

        return hypervolume(self.objective_values[:, self.table_front()].T, self.reference, self.maximize)

    def _extra_arrays(self) -> list[np.ndarray]:
        return super()._extra_arrays() + [self.objective_values, self.objective_signs]

    def identity(self) -> dict:
        return dict(super().identity(), objectives=list(self.objectives), reference=[float(r) for r in self.reference])


def _fmt(values: Sequence[float]) -> str:
    return ",".join(f"{float(v):.6g}" for v in values)


def parse_objectives(objectives: Union[str, Sequence[str]]) -> tuple[str, ...]:
    """``test_acc,latency_pixel3`` (or a sequence of names) as a tuple of two or more distinct names."""
    names = [o.strip() for o in (objectives.split(",") if isinstance(objectives, str) else objectives)]
    names = [n for n in names if n]
    if len(names) < 2:
        raise ZcdbError(
            f"multi-objective search needs two or more objectives, got {', '.join(names) or 'none'}: "
            "e.g. --objectives test_acc,latency_pixel3 (for one, use --search-metric)"
        )
    if len(set(names)) < len(names):
        raise ZcdbError(f"an objective is named twice in {','.join(names)}: name each once")
    return tuple(names)


def parse_reference(text: Union[None, str, Sequence[float]]) -> Optional[np.ndarray]:
    """``10,36.8`` (or numbers) as a reference point; ``None`` stays the default."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        return np.array([float(v) for v in items], dtype=np.float64)
    except (TypeError, ValueError):
        raise ZcdbError(f"bad reference point {text!r}: write one number per objective, e.g. --reference 10,36.8") \
            from None


def multiobjective_problem(
    bench: "Benchmark", objectives: Union[str, Sequence[str]], constraints: Sequence[str] = (),
    reference: Union[None, str, Sequence[float]] = None,
) -> MultiObjectiveProblem:
    """Load a :class:`MultiObjectiveProblem`: each objective at its last stored epoch, the
    feasibility of ``constraints``, and ``train_time`` at the first objective's epoch when stored."""
    names = parse_objectives(objectives)
    metrics = bench.metrics()
    for m in names:
        if m not in metrics:
            raise UnknownMetric(f"{bench.space}/{bench.dataset} has no {m}: stored metrics are {', '.join(metrics)}")
    values = np.stack([np.asarray(bench.values(m), dtype=np.float64) for m in names])
    signs = np.array([1.0 if bench.higher_is_better(m) else -1.0 for m in names])
    epoch = int(max(bench.epochs(names[0])))
    known = np.isfinite(values).all(axis=0)
    first = np.where(known, values[0], np.nan)
    cost = None
    if TIME_METRIC in metrics and epoch in bench.epochs(TIME_METRIC):
        cost = np.asarray(bench.values(TIME_METRIC, epoch), dtype=np.float64)[None, :]
    texts, feas = _feasibility(bench, constraints)
    return MultiObjectiveProblem(
        space=bench.space, dataset=bench.dataset, protocol=bench.protocol, search_metric=",".join(names),
        report_metric=HYPERVOLUME, epochs=np.array([epoch], dtype=np.int64), search=(first * signs[0])[None, :],
        report=first, cost=cost, search_sign=float(signs[0]), report_sign=1.0, constraints=texts,
        feasibility=feas, objectives=names, objective_values=values, objective_signs=signs,
        objective_units=tuple(bench.metric_spec(m).unit for m in names), reference=parse_reference(reference),
    )
