"""A surrogate benchmark: the query interface of a tabular :class:`~zcdb.store.Benchmark`, answered by models.

Search code calls ``values``, ``query``, ``top``, ``best``, ``metrics``, ``epochs``,
``seeds``, ``index`` and ``aliases`` and runs unchanged on either kind. Predictions of
all architectures are computed once per metric and cached, so ``values`` is an array
lookup and ``query`` a scalar read.

Truth overlay: by default every answer is a prediction (``is_prediction`` all True),
which is what a surrogate benchmark is for (search on a model of the table, compare
with the table afterwards). With ``truth=benchmark``, architectures the table has a
finite value for are answered from the table (``is_prediction`` False, ``std`` 0)
and only the others are predicted: a completed table, e.g. for a partially
tabulated benchmark.

Missing features: an architecture whose features are incomplete (never scored by a ``zc``
proxy, no early ``curve`` value) is answered NaN, not predicted, unless
``missing_features="predict"``: a model that never saw it so predicts from its NaN
branches (a surrogate of the 725 architectures with NAS-Bench-Suite-Zero scores otherwise
ranked all of them above the other 14,900). :meth:`SurrogateBenchmark.missing_features`
says which; ``top``/``best`` skip them, as a table skips what it lacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from zcdb.bench import BaseBenchmark
from zcdb.errors import UnknownMetric, ZcdbError
from zcdb.store import MEAN_SEED

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark

    from .model import Surrogate


class SurrogateBenchmark(BaseBenchmark):
    """Fitted surrogates of one space and dataset (one per metric and epoch), answering like a benchmark."""

    def __init__(self, surrogates: Sequence["Surrogate"], truth: Optional["Benchmark"] = None,
                 missing_features: str = "nan") -> None:
        from zcdb.spaces import get_space

        if missing_features not in ("nan", "predict"):
            raise ZcdbError(f"missing_features is 'nan' (answer NaN where features are missing) or 'predict', "
                            f"not {missing_features!r}")
        self.missing = missing_features
        if not surrogates:
            raise ZcdbError("a surrogate benchmark needs at least one fitted surrogate")
        first = surrogates[0]
        self.space = first.space
        self.dataset = first.dataset
        self.protocol = first.protocol
        self.search_space = get_space(self.space)
        self._surrogates: dict[tuple[str, int], "Surrogate"] = {}
        for s in surrogates:
            if (s.space, s.dataset) != (self.space, self.dataset):
                raise ZcdbError(f"surrogates of {s.space}/{s.dataset} and {self.space}/{self.dataset} cannot form "
                                "one benchmark: make one per dataset")
            key = (s.metric, int(s.epoch))
            if key in self._surrogates:
                raise ZcdbError(f"two surrogates of {s.metric} at epoch {s.epoch}: keep one")
            self._surrogates[key] = s
        if truth is not None and (truth.space, truth.dataset) != (self.space, self.dataset):
            raise ZcdbError(f"truth is {truth.space}/{truth.dataset}, the surrogates are {self.space}/{self.dataset}")
        self.truth = truth
        self._cache: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray]] = {}

    @property
    def store(self) -> Any:
        """The store behind the answers (the truth's, else the one the surrogates read features from), or None."""
        if self.truth is not None:
            return self.truth.store
        src = next((s.source for s in self._surrogates.values() if s.source is not None), None)
        return src.store if src is not None else None

    def metric_spec(self, metric: str) -> Any:
        """The declaration of ``metric``: the store's where there is one (declared metrics), else built in."""
        st = self.store
        return st.metric(metric) if st is not None else super().metric_spec(metric)

    def __repr__(self) -> str:
        keys = ", ".join(f"{m}@{e}" for m, e in sorted(self._surrogates))
        gaps = [f"{m}@{e}: features missing for {int(self._answers(m, e)[3].sum()):,}"
                for m, e in sorted(self._surrogates) if (m, e) in self._cache and self._cache[(m, e)][3].any()]
        return (f"<zcdb.SurrogateBenchmark {self.space}/{self.dataset} [{keys}]{' + truth' if self.truth else ''}"
                + (f" ({'; '.join(gaps)})" if gaps else "") + ">")

    # ------------------------------------------------------------------ catalog
    def metrics(self) -> list[str]:
        """Metric names the surrogates predict."""
        return sorted({m for m, _ in self._surrogates})

    def epochs(self, metric: str) -> list[int]:
        """Epochs at which ``metric`` is predicted."""
        eps = sorted(e for m, e in self._surrogates if m == metric)
        if not eps:
            raise UnknownMetric(f"the surrogate benchmark {self.space}/{self.dataset} predicts no {metric!r}: "
                                f"it predicts {', '.join(self.metrics())}")
        return eps

    def seeds(self, metric: str, epoch: Optional[int] = None) -> list[int]:
        """``[-1]``: a surrogate predicts the mean over seeds."""
        self._key(metric, epoch)
        return [MEAN_SEED]

    def _key(self, metric: str, epoch: Optional[int]) -> tuple[str, int]:
        eps = self.epochs(metric)
        if epoch is None:
            return metric, eps[-1]
        if int(epoch) not in eps:
            raise UnknownMetric(f"the surrogate benchmark predicts {metric} at epochs "
                                f"{', '.join(map(str, eps))}, not at epoch {epoch}")
        return metric, int(epoch)

    def surrogate(self, metric: str, epoch: Optional[int] = None) -> "Surrogate":
        """The surrogate answering ``metric`` at ``epoch`` (default: its last)."""
        return self._surrogates[self._key(metric, epoch)]

    # ------------------------------------------------------------------ answers
    def _answers(self, metric: str, epoch: Optional[int]
                 ) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray]:
        key = self._key(metric, epoch)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        sur = self._surrogates[key]
        mean, std = sur.predict_all()
        gap = ~sur.covered()  # features incomplete: no basis for a prediction
        predicted = np.ones(mean.shape, dtype=bool)
        values = mean
        if self.missing == "nan" and gap.any():
            values = np.where(gap, np.nan, mean)
            predicted = ~gap
            std = None if std is None else np.where(gap, np.nan, std)
        if self.truth is not None:
            try:
                table = self.truth.values(*key)
            except UnknownMetric:
                table = None
            if table is not None:
                known = np.isfinite(table)
                values = np.where(known, table, values)
                predicted = predicted & ~known
                if std is not None:
                    std = np.where(known, 0.0, std)
                gap = gap & ~known
        if self.missing == "predict":
            gap = np.zeros_like(gap)
        for a in (values, predicted, gap) + ((std,) if std is not None else ()):
            a.setflags(write=False)
        self._cache[key] = (values, predicted, std, gap)
        return self._cache[key]

    def missing_features(self, metric: str, epoch: Optional[int] = None) -> np.ndarray:
        """Boolean mask by index: architectures answered NaN because their features are incomplete
        (all False with ``missing_features="predict"``, and where the truth overlay answers)."""
        return self._answers(metric, epoch)[3]

    def values(self, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> np.ndarray:
        """``metric`` of every architecture by official index (predicted; see ``is_prediction``); read-only."""
        if seed is not None and seed != MEAN_SEED:
            raise UnknownMetric(f"a surrogate predicts the mean over seeds: pass seed=None (or {MEAN_SEED}), "
                                f"not {seed}")
        return self._answers(metric, epoch)[0]

    def is_prediction(self, metric: str, epoch: Optional[int] = None) -> np.ndarray:
        """Boolean mask by index: True where ``values`` is a prediction, False where it is the table's value
        (or NaN for missing features, :meth:`missing_features`)."""
        return self._answers(metric, epoch)[1]

    def std(self, metric: str, epoch: Optional[int] = None) -> np.ndarray:
        """Uncertainty (standard deviation) of every answer by index; 0 where the table answered."""
        s = self._answers(metric, epoch)[2]
        if s is None:
            raise ZcdbError(f"the surrogate of {metric} has no uncertainty: fit it with uncertainty='bootstrap' "
                            "or 'quantile' (--uncertainty)")
        return s

    def aliases(self) -> tuple[np.ndarray, np.ndarray]:
        """No aliases: a surrogate answers every architecture itself (empty arrays, as a full table)."""
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
