"""The reading protocol every benchmark implements, table-backed or model-served.

:class:`BaseBenchmark` declares what a benchmark answers (``metrics``, ``epochs``,
``seeds``, ``values``, ``aliases``) and implements once what follows from it: ``index``,
``query``, ``top`` and ``best``. :class:`zcdb.store.Benchmark` (a stored table) and
:class:`zcdb.surrogates.SurrogateBenchmark` (fitted models) subclass it, so search and
evaluation code runs unchanged on either.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .errors import EmptyStore

__all__ = ["BaseBenchmark", "rank_top"]


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

    def top(self, metric: str, k: int = 5, epoch: Optional[int] = None,
            maximize: Optional[bool] = None) -> list[tuple[int, str, float]]:
        """The ``k`` best architectures by ``metric``: (index, arch string, value), best first; ties by index."""
        v = self.values(metric, epoch)
        order = rank_top(v, k, self.higher_is_better(metric) if maximize is None else maximize)
        if order.size == 0:
            raise EmptyStore(f"{self.space}/{self.dataset} has no values of {metric}: import them first "
                             "(see `zcdb info`)")
        return [(int(i), self.search_space.string_of(int(i)), float(v[i])) for i in order]

    def best(self, metric: str, epoch: Optional[int] = None, maximize: Optional[bool] = None) -> tuple[int, str, float]:
        """The best architecture by ``metric``: (index, arch string, value)."""
        return self.top(metric, 1, epoch, maximize)[0]
