"""Search on a benchmark answered by a model: :class:`ServedProblem`.

A :class:`~zcdb.search.problem.SearchProblem` holds a table's dense arrays; a space of
~10^18 architectures has none. A :class:`ServedProblem` answers the same questions (the
runner's ``search_at``, ``cost_at``, ``report_at``; the algorithms' ``sample``, ``mutate``,
``neighbours_of``, ``onehot``) by asking a :class:`~zcdb.served.ServedBenchmark` for the
architectures at hand: global ids, drawn and mutated by the space. Every architecture is
available and feasible (the model answers each); scores are oriented as on a table.

Simulated wall-clock time: a query costs the model's ``train_time`` up to the queried
epoch, as NAS-Bench-301 proposes for its runtime surrogate, so ``--budget-seconds`` works
as on a table with training times. What needs the whole space does not apply, and says so
in one line: REINFORCE (a logit per choice of a product space's index table), proxy-aware
algorithms (they rank a table of stored proxy scores), exhaustive ceilings (the report's
ceiling, best value and target come from a uniform reference sample scored by the model).
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import MissingCapability, UnknownMetric, ZcdbError
from .problem import TIME_METRIC, SearchProblem
from .rng import _mix

#: Architectures in the reference sample a comparison's ceiling, best value and target are taken over.
REFERENCE_SIZE = 100_000
REFERENCE_SEED = 0


class ServedProblem:
    """A single-objective search problem answered by ``bench`` (a :class:`~zcdb.served.ServedBenchmark`).

    ``epochs``: the fidelities (default: the model's last epoch only); the search metric is
    read at each, the report metric at the last. ``reference_size``: the uniform sample the
    comparison's reference values are computed over (seeded, the same for every run)."""

    num_objectives = 1
    constraints: tuple[str, ...] = ()
    feasibility = None
    proxy_sets: tuple = ()
    proxy_scores = None
    proxy_times = None
    #: The model's onnxruntime session lives in this process: seeds are not split over workers.
    in_process = True

    def __init__(self, bench: Any, search_metric: str = "val_acc", report_metric: str = "val_acc",
                 epochs: Optional[Sequence[int]] = None, reference_size: int = REFERENCE_SIZE) -> None:
        metrics = bench.metrics()
        for m in (search_metric, report_metric):
            if m not in metrics:
                raise UnknownMetric(f"the {bench.space} surrogate predicts {', '.join(metrics)}, not {m!r}: "
                                    f"e.g. --search-metric {metrics[0]} --report-metric {metrics[0]}")
        self.bench = bench
        self.search_space = bench.search_space
        self.space, self.dataset, self.protocol = bench.space, bench.dataset, bench.protocol
        self.search_metric, self.report_metric = search_metric, report_metric
        eps = [bench._epoch(e) for e in (epochs if epochs is not None else [None])]
        self.epochs = np.array(sorted(set(eps)), dtype=np.int64)
        self.search_sign = 1.0 if bench.higher_is_better(search_metric) else -1.0
        self.report_sign = 1.0 if bench.higher_is_better(report_metric) else -1.0
        self._col = {m: k for k, m in enumerate(metrics)}
        self.has_cost = TIME_METRIC in metrics
        self.neighbour_width = self.search_space.neighbour_width
        self.num_archs = getattr(self.search_space, "num_genotypes", None) or self.search_space.size
        if not self.num_archs:
            raise MissingCapability(f"space {self.space} gives its architectures no ids to search over")
        self.reference_size = int(reference_size)
        self._reference: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    def __repr__(self) -> str:
        return (f"<ServedProblem {self.space}/{self.dataset} ({self.protocol}): search {self.search_metric}, "
                f"report {self.report_metric}, epochs {self.epochs.tolist()}>")

    # ------------------------------------------------------------------ facts
    @property
    def last(self) -> int:
        """Index of the last (full-fidelity) epoch."""
        return len(self.epochs) - 1

    def _metric(self, metric: str, epoch_index: Any, archs: np.ndarray) -> np.ndarray:
        a = np.asarray(archs, dtype=np.int64)
        e = np.broadcast_to(np.asarray(epoch_index, dtype=np.int64), a.shape)
        out = np.empty(a.shape)
        col = self._col[metric]
        for k in np.unique(e).tolist():
            where = e == k
            out[where] = self.bench.predict(a[where], int(self.epochs[k]))[:, col]
        return out

    def search_at(self, epoch_index: Any, archs: np.ndarray) -> np.ndarray:
        """Oriented search scores of ``archs`` at ``self.epochs[epoch_index]``."""
        return self._metric(self.search_metric, epoch_index, archs) * self.search_sign

    def cost_at(self, epoch_index: Any, archs: np.ndarray) -> np.ndarray:
        """Simulated training time to ``self.epochs[epoch_index]``: the model's ``train_time``, made
        non-decreasing over the problem's epochs (a surrogate's time may dip between fidelities, a
        training's cannot)."""
        if not self.has_cost:
            raise ZcdbError(f"the {self.space} surrogate predicts no {TIME_METRIC}: give --budget-queries N")
        e = np.asarray(epoch_index, dtype=np.int64)
        out = self._metric(TIME_METRIC, 0, archs)
        for k in range(1, int(e.max(initial=0)) + 1):
            out = np.where(e >= k, np.maximum(out, self._metric(TIME_METRIC, k, archs)), out)
        return out

    def report_at(self, archs: np.ndarray) -> np.ndarray:
        """Report values of ``archs`` at the last epoch (not oriented)."""
        return self._metric(self.report_metric, self.last, archs)

    def feasible_at(self, archs: np.ndarray) -> np.ndarray:
        """Every architecture is feasible (no constraints on a served problem)."""
        return np.ones(np.shape(archs), dtype=bool)

    def available_at(self, archs: np.ndarray) -> np.ndarray:
        """Every id is available (the model answers each); -1 is padding."""
        return np.asarray(archs) >= 0

    # ------------------------------------------------------------------ the reference sample
    def _reference_sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._reference is None:
            ids = self.search_space.sample(self.reference_size, REFERENCE_SEED)
            self._reference = (ids, self.search_at(self.last, ids), self.report_at(ids))
        return self._reference

    @property
    def queryable(self) -> np.ndarray:
        """The reference sample's architectures (all feasible), as a mask over it."""
        return np.ones(self.reference_size, dtype=bool)

    def ceiling(self) -> tuple[int, float]:
        """The reference sample's best architecture by the search metric and its report value."""
        ids, s, r = self._reference_sample()
        i = int(np.argmax(s))
        return int(ids[i]), float(r[i])

    def best_report(self) -> tuple[int, float]:
        """The reference sample's best report value."""
        ids, _, r = self._reference_sample()
        i = int(np.argmax(r * self.report_sign))
        return int(ids[i]), float(r[i])

    def report_pool(self) -> np.ndarray:
        """The reference sample's report values (a comparison's target quantile is taken over them)."""
        return self._reference_sample()[2]

    def comparison_notes(self) -> list[str]:
        """What a reader of a comparison on a served benchmark must know."""
        return [f"{self.space} cannot be enumerated: the ceiling, best value and target are over a uniform sample "
                f"of {self.reference_size:,} architectures (seed {REFERENCE_SEED}) scored by the surrogate, so a "
                "search can end above them"]

    # ------------------------------------------------------------------ keys
    def fingerprint(self, proxies: bool = True) -> str:
        """SHA-256 prefix of what a search reads: the model's files, metrics, epochs and orientations."""
        h = hashlib.sha256()
        h.update(f"served:{self.bench.fingerprint}:{self.search_metric}:{self.report_metric}:"
                 f"{self.epochs.tolist()}:{self.search_sign}:{self.report_sign}".encode())
        return h.hexdigest()[:16]

    def identity(self) -> dict:
        """What a stored run records about the problem beyond its key columns."""
        return {"served": self.bench.protocol}

    def describe(self) -> dict:
        """The problem's identity (what a stored run is keyed by, besides the algorithm)."""
        return dict(space=self.space, dataset=self.dataset, protocol=self.protocol, search_metric=self.search_metric,
                    report_metric=self.report_metric, proxy_sets=[], **self.identity())

    def check_algorithm(self, algorithm: Any, name: str) -> None:
        """A one-line error for an algorithm that needs the whole space."""
        label = f"{name} does not apply to a served benchmark ({self.space}, answered by a model on demand)"
        if algorithm.uses_proxies():
            raise ZcdbError(f"{label}: it ranks a table of stored proxy scores, which a space that cannot be "
                            "enumerated has none of; use random, rea, local or bananas")
        if type(algorithm).needs_product:
            raise ZcdbError(f"{label}: it needs every combination of choices indexed in one table; use random, "
                            "rea, local or bananas")
        if type(algorithm).multi_fidelity and len(self.epochs) < 2:
            raise ZcdbError(f"{label} at one epoch: it schedules over several fidelities; give them, e.g. "
                            "--fidelities 1,4,11,33,98, or use random, rea, local or bananas")
        if getattr(algorithm, "multi_objective", False) and not algorithm.single_objective:
            raise ZcdbError(f"{label}: multi-objective search is served for tables only")

    # ------------------------------------------------------------------ moves
    def sample(self, u: np.ndarray) -> np.ndarray:
        """Ids drawn uniformly over the space's ``num_archs`` ids, one per uniform number in ``u``.

        ``floor(u * N)`` of a 53-bit ``u`` would reach only every ~120th id of ~2^60, always
        the same residues; instead the 53 bits are hashed to 64 (SplitMix64) and scaled exactly
        (``(w * N) >> 64`` in integers), so no residue class is favoured."""
        u = np.asarray(u, dtype=np.float64)
        k = (u * 9007199254740992.0).astype(np.uint64)  # u * 2**53, exact
        w = _mix(k ^ np.uint64(0x5DEECE66D)).reshape(-1).tolist()
        n = int(self.num_archs)
        return np.array([(x * n) >> 64 for x in w], dtype=np.int64).reshape(u.shape)

    def neighbours_of(self, archs: np.ndarray) -> np.ndarray:
        """Neighbour rows of ``archs`` (any shape) from the space: ``archs.shape + (neighbour_width,)``."""
        a = np.asarray(archs, dtype=np.int64)
        return self.search_space.neighbour_rows(a.reshape(-1)).reshape(a.shape + (self.neighbour_width,))

    mutate = SearchProblem.mutate

    def onehot(self, archs: np.ndarray) -> np.ndarray:
        """The space's one-hot features of ``archs``: ``archs.shape + (columns,)``."""
        a = np.asarray(archs, dtype=np.int64)
        _, x = self.search_space.encode(a.reshape(-1), "onehot")
        return x.reshape(a.shape + (x.shape[1],)) > 0


def served_problem(bench: Any, search_metric: str = "val_acc", report_metric: str = "val_acc",
                   epochs: Optional[Sequence[int]] = None) -> ServedProblem:
    """The :class:`ServedProblem` of a served benchmark."""
    return ServedProblem(bench, search_metric, report_metric, epochs)


def open_served_problem(space: str, dataset: str, path: Any, search_metric: str = "val_acc",
                        report_metric: Optional[str] = None, *, constraints: Sequence[str] = (),
                        objectives: Any = None, epochs: Union[None, str, Sequence[int]] = None,
                        threads: Optional[int] = None) -> ServedProblem:
    """The :class:`ServedProblem` of ``space``'s model at ``path`` (``--surrogate PATH``) on ``dataset``;
    ``report_metric`` defaults to the search metric (a surrogate predicts no test accuracy)."""
    from ..served import open_served

    if constraints:
        raise ZcdbError("constraints (--where) are not served: drop them with --surrogate")
    if objectives:
        raise ZcdbError("multi-objective search (--objectives) is served for tables only: drop --surrogate or "
                        "--objectives")
    if isinstance(epochs, str):
        epochs = parse_fidelities(epochs)
    bench = open_served(space, path, threads=threads)
    if dataset != bench.dataset:
        raise ZcdbError(f"the {space} surrogate answers {bench.dataset}, not {dataset}: give --dataset {bench.dataset}")
    return ServedProblem(bench, search_metric, report_metric or search_metric, epochs)


def parse_fidelities(text: str) -> list[int]:
    """``1,4,11,33,98`` as epochs (``--fidelities``)."""
    try:
        out = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        out = []
    if not out:
        raise ZcdbError(f"bad --fidelities {text!r}: write epochs separated by commas, e.g. 1,4,11,33,98")
    return out
