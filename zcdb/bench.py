"""The reading protocol every benchmark implements, table-backed or model-served.

:class:`BaseBenchmark` declares what a benchmark answers (``metrics``, ``epochs``,
``seeds``, ``values``, ``aliases``) and implements once what follows from it: ``index``,
``query``, ``top`` and ``best``. :class:`zcdb.store.Benchmark` (a stored table) and
:class:`zcdb.surrogates.SurrogateBenchmark` (fitted models) subclass it, so search and
evaluation code runs unchanged on either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from .errors import EmptyStore, ZcdbError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .constraints import Constraint, Feasibility
    from .fronts import ParetoFront

__all__ = ["BaseBenchmark", "rank_top", "metric_epoch"]

#: Constraints as the reading methods take them: ``["latency_edgegpu<5", "params<=1.0"]`` (or parsed).
Where = Optional[Sequence[Union[str, "Constraint"]]]


def metric_epoch(bench: Any, metric: str, epoch: Optional[int]) -> Optional[int]:
    """The epoch to read ``metric`` at when a query names ``epoch`` (``None``: the last stored).

    A metric stored at epoch 0 only is a property of the network (params, FLOPs, latency) and is
    read there whatever the query's epoch; any other metric is read at ``epoch`` itself (an
    epoch it lacks is the benchmark's one-line :class:`~zcdb.errors.UnknownMetric`).
    """
    if epoch is None:
        return None
    eps = bench.epochs(metric)
    return 0 if epoch not in eps and list(eps) == [0] else epoch


def rank_top(values: np.ndarray, k: int, maximize: bool) -> np.ndarray:
    """Indices of the ``k`` best finite values, best first; ties broken by the smaller index."""
    finite = np.flatnonzero(~np.isnan(values))
    key = -values[finite] if maximize else values[finite]
    return finite[np.lexsort((finite, key))][:k]


class BaseBenchmark:
    """A benchmark of one space and dataset: subclasses set ``space``, ``dataset``, ``protocol``,
    ``search_space`` and implement the catalog and :meth:`values`."""

    space: str
    dataset: str
    protocol: str
    search_space: Any

    # ------------------------------------------------------------------ what a benchmark answers
    def metrics(self) -> list[str]:
        """Metric names it answers."""
        raise NotImplementedError

    def epochs(self, metric: str) -> list[int]:
        """Epochs at which it answers ``metric``."""
        raise NotImplementedError

    def seeds(self, metric: str, epoch: Optional[int] = None) -> list[int]:
        """Seeds it answers ``metric`` for (``-1``: the mean over seeds)."""
        raise NotImplementedError

    def values(self, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> np.ndarray:
        """``metric`` of every architecture by index (NaN where unknown); read-only."""
        raise NotImplementedError

    def aliases(self) -> tuple[np.ndarray, np.ndarray]:
        """Architectures answered by another member of their class: ``(arch_index, representative)``."""
        raise NotImplementedError

    def metric_spec(self, metric: str) -> Any:
        """The declaration of ``metric`` (a :class:`zcdb.metrics.MetricSpec`): direction and unit.

        Built-in names by default; a store-backed benchmark also knows the declared ones."""
        from . import metrics as _metrics

        spec = _metrics.builtin(metric)
        if spec is None:
            raise _metrics.unknown(metric)
        return spec

    def higher_is_better(self, metric: str) -> bool:
        """Whether larger values of ``metric`` are better."""
        return bool(self.metric_spec(metric).higher_is_better)

    # ------------------------------------------------------------------ what follows from it
    def index(self, arch: Any) -> int:
        """Index of ``arch`` (official string, index or the space's tuple form)."""
        if type(arch) is str:
            i = self.search_space.index_map().get(arch)
            if i is not None:
                return i
        return self.search_space.index_of(arch)

    def query(self, arch: Any, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> float:
        """``metric`` of one architecture (NaN if unknown)."""
        return float(self.values(metric, epoch, seed)[self.index(arch)])

    def read(self, metric: str, epoch: Optional[int] = None) -> np.ndarray:
        """``metric`` of every architecture at ``epoch`` (see :func:`metric_epoch`: costs at their epoch 0)."""
        return self.values(metric, metric_epoch(self, metric, epoch))

    def feasible(self, where: Where, epoch: Optional[int] = None) -> "Feasibility":
        """Which architectures satisfy every constraint of ``where`` (see :mod:`zcdb.constraints`); an
        architecture lacking a constrained metric is infeasible and counted in the result."""
        from .constraints import feasible

        return feasible(self, list(where or ()), epoch=epoch, size=self.search_space.require_size("constraints"))

    def top(self, metric: str, k: int = 5, epoch: Optional[int] = None, maximize: Optional[bool] = None,
            where: Where = None) -> list[tuple[int, str, float]]:
        """The ``k`` best architectures by ``metric``: (index, arch string, value), best first; ties by index.

        ``where``: constraints such as ``["latency_edgegpu<5"]``; only architectures satisfying all
        of them rank (:meth:`feasible` says how many, and how many lack a constrained metric)."""
        v = self.read(metric, epoch)
        feas = None
        if where:
            feas = self.feasible(where, epoch)
            v = np.where(feas.mask, v, np.nan)
        order = rank_top(v, k, self.higher_is_better(metric) if maximize is None else maximize)
        if order.size == 0:
            if feas is not None:
                raise ZcdbError(f"no architecture of {self.space}/{self.dataset} with a {metric} value satisfies the "
                                f"constraints ({feas.summary()}): relax them")
            raise EmptyStore(f"{self.space}/{self.dataset} has no values of {metric}: import them first "
                             "(see `zcdb info`)")
        return [(int(i), self.search_space.string_of(int(i)), float(v[i])) for i in order]

    def best(self, metric: str, epoch: Optional[int] = None, maximize: Optional[bool] = None,
             where: Where = None) -> tuple[int, str, float]:
        """The best architecture by ``metric`` (among those satisfying ``where``): (index, arch string, value)."""
        return self.top(metric, 1, epoch, maximize, where=where)[0]

    def pareto(self, objectives: Sequence[str], where: Where = None,
               reference: Optional[Sequence[float]] = None, epoch: Optional[int] = None) -> "ParetoFront":
        """The non-dominated architectures for two or more ``objectives``, each read in its own direction
        (:meth:`higher_is_better`), and their hypervolume against ``reference`` (default: the worst
        value of each objective over the candidates, moved 1% of its range further). See
        :func:`zcdb.fronts.pareto_front`."""
        from .fronts import pareto_front

        return pareto_front(self, objectives, where=where, reference=reference, epoch=epoch)

    def frame(self, metrics: Optional[Sequence[str]] = None, epoch: Optional[int] = None,
              where: Where = None) -> "pd.DataFrame":
        """A wide pandas DataFrame: one row per architecture (``arch_index``, ``arch``), one column per metric
        (default: all), NaN where missing; ``where`` keeps the architectures satisfying the constraints.
        See :func:`zcdb.frames.frame` (pandas is imported on call)."""
        from .frames import frame

        return frame(self, metrics, epoch=epoch, where=where)
