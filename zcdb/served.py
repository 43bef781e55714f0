"""Benchmarks answered by a model on demand: :class:`ServedBenchmark`.

A space too large to tabulate (NAS-Bench-301's ~10^18 DARTS genotypes) is answered by a
surrogate model at query time instead of from a table. A :class:`ServedBenchmark` reads
like :class:`zcdb.Benchmark` where that makes sense: ``query``, ``values`` of a given list
of architectures, ``best``/``top`` over a candidate set, ``metrics``, ``metric_spec``; it
never enumerates the space. Predictions are batched (one model call per batch, repeats
within a batch predicted once) and kept in an LRU cache per epoch.

A *served model* is any object with ``space``, ``dataset``, ``protocol``, ``epochs`` (the
epochs it answers), ``metric_specs`` (name -> :class:`~zcdb.metrics.MetricSpec`, in column
order), ``fingerprint`` (a digest of the model's files) and ``predict(ids, epoch)`` returning
``(n, len(metric_specs))`` floats. :data:`MODELS` names the loaders zcdb has, by space.

Nothing here imports onnxruntime: a loader does, when a model is opened.
"""

from __future__ import annotations

import importlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .bench import BaseBenchmark, rank_top
from .errors import MissingCapability, UnknownMetric, ZcdbError
from .spaces import get_space

__all__ = ["ServedBenchmark", "open_served", "MODELS", "SURROGATE_ENV"]

#: Environment variable naming the model file when ``--surrogate`` is not given.
SURROGATE_ENV = "ZCDB_SURROGATE"

#: Space -> (module:function loading its served model from a path, what the model is). Filled here, explicitly.
MODELS: dict[str, tuple[str, str]] = {
    "nb301": ("zcdb.spaces.nb301_yahpo:open_model", "YAHPO Gym's NAS-Bench-301 surrogate (model_v2.onnx)"),
}

#: Predictions kept per epoch by default (each a few floats).
DEFAULT_CACHE = 1 << 20


def _loader(space: str) -> Callable[..., Any]:
    entry = MODELS.get(space)
    if entry is None:
        have = ", ".join(f"{s} ({what})" for s, (_, what) in MODELS.items())
        raise MissingCapability(f"space {space} has no served model: zcdb serves {have}")
    module, _, attr = entry[0].partition(":")
    return getattr(importlib.import_module(module), attr)


def open_served(space: str, path: Union[str, "os.PathLike[str]", None] = None, *, threads: Optional[int] = None,
                cache_size: int = DEFAULT_CACHE, **options: Any) -> "ServedBenchmark":
    """The :class:`ServedBenchmark` of ``space`` answered by the model file at ``path``
    (default ``$ZCDB_SURROGATE``). The path is always the user's: nothing is downloaded.
    ``threads`` and ``options`` (nb301: ``sessions``, ``chunk``) go to the model's loader."""
    get_space(space)
    if path is None:
        path = os.environ.get(SURROGATE_ENV) or None
    if path is None:
        raise ZcdbError(f"serving {space} needs its model file: give --surrogate PATH (or set {SURROGATE_ENV}); "
                        f"it is {MODELS.get(space, ('', 'a surrogate'))[1]}")
    return ServedBenchmark(_loader(space)(Path(path), threads=threads, **options), cache_size=cache_size)


class _Cache:
    """An LRU map of architecture id -> row of predictions, backed by one array."""

    def __init__(self, capacity: int, width: int) -> None:
        self.capacity = max(int(capacity), 0)
        self.slots: OrderedDict[int, int] = OrderedDict()
        self.values = np.empty((min(self.capacity, 1 << 16), width))
        self.free: list[int] = []
        self.hits = self.misses = 0

    def lookup(self, ids: list[int]) -> np.ndarray:
        """Slot of each id (-1: not cached); a hit becomes the most recently used."""
        slots, move = self.slots, self.slots.move_to_end
        out = np.full(len(ids), -1, dtype=np.int64)
        for k, i in enumerate(ids):
            s = slots.get(i)
            if s is not None:
                out[k] = s
                move(i)
        hit = int((out >= 0).sum())
        self.hits += hit
        self.misses += len(ids) - hit
        return out

    def insert(self, ids: list[int], rows: np.ndarray) -> None:
        """Cache ``rows`` (one per id; ids not cached yet), evicting the least recently used."""
        if not self.capacity:
            return
        if len(ids) > self.capacity:
            ids, rows = ids[-self.capacity:], rows[-self.capacity:]
        for _ in range(max(len(self.slots) + len(ids) - self.capacity, 0)):
            self.free.append(self.slots.popitem(last=False)[1])
        allocated = len(self.slots) + len(self.free)  # slots handed out so far: 0..allocated-1
        reuse = min(len(self.free), len(ids))
        slots = [self.free.pop() for _ in range(reuse)] + list(range(allocated, allocated + len(ids) - reuse))
        end = allocated + len(ids) - reuse
        if end > len(self.values):
            grown = np.empty((min(self.capacity, max(2 * len(self.values), end)), self.values.shape[1]))
            grown[:len(self.values)] = self.values
            self.values = grown
        self.values[slots] = rows
        self.slots.update(zip(ids, slots))


class ServedBenchmark(BaseBenchmark):
    """A benchmark whose values a model predicts on demand (see the module docstring).

    ``values(metric, epoch, archs=...)`` and ``top(..., archs=...)`` take the architectures
    explicitly (ids, official strings or the space's tuples); nothing enumerates the space."""

    def __init__(self, model: Any, cache_size: int = DEFAULT_CACHE) -> None:
        self.model = model
        self.space = model.space
        self.dataset = model.dataset
        self.protocol = model.protocol
        self.search_space = get_space(model.space)
        self._metrics = list(model.metric_specs)
        self._col = {m: k for k, m in enumerate(self._metrics)}
        self._cache_size = cache_size
        self._caches: dict[int, _Cache] = {}

    def __repr__(self) -> str:
        return f"<zcdb.ServedBenchmark {self.space}/{self.dataset} protocol={self.protocol} model={self.model!r}>"

    @property
    def fingerprint(self) -> str:
        """Digest of the model and its files (what stored runs on it are keyed by)."""
        return str(self.model.fingerprint)

    # ------------------------------------------------------------------ catalog
    def metrics(self) -> list[str]:
        """Metric names the model predicts."""
        return list(self._metrics)

    def epochs(self, metric: str) -> list[int]:
        """Epochs the model answers ``metric`` at."""
        self._check_metric(metric)
        return list(self.model.epochs)

    def seeds(self, metric: str, epoch: Optional[int] = None) -> list[int]:
        """``[-1]``: a surrogate predicts the mean over training seeds."""
        self._check_metric(metric)
        return [-1]

    def metric_spec(self, metric: str) -> Any:
        """The declaration of ``metric`` (direction, unit, what the model predicts)."""
        self._check_metric(metric)
        return self.model.metric_specs[metric]

    def aliases(self) -> tuple[np.ndarray, np.ndarray]:
        """No architecture is answered by another: the model predicts each."""
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)

    def _check_metric(self, metric: str) -> None:
        if metric not in self._col:
            raise UnknownMetric(f"the {self.space} surrogate predicts {', '.join(self._metrics)}, not {metric!r}")

    def _epoch(self, epoch: Optional[int]) -> int:
        eps = self.model.epochs
        if epoch is None:
            return int(eps[-1])
        if type(epoch) is bool or not isinstance(epoch, (int, np.integer)) or int(epoch) not in eps:
            raise UnknownMetric(f"the {self.space} surrogate answers epochs {eps[0]}..{eps[-1]}, not {epoch!r}")
        return int(epoch)

    # ------------------------------------------------------------------ predictions
    def ids(self, archs: Any) -> np.ndarray:
        """int64 ids of ``archs``: an integer array (range-checked at once) or a sequence of
        ids, official strings and tuples."""
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            return self.search_space.indices_of(archs)
        if isinstance(archs, (str, bytes)) or not hasattr(archs, "__iter__"):
            raise ZcdbError(f"give a list of architectures, not one {type(archs).__name__}: archs=[...]")
        return np.array([self.index(a) for a in archs], dtype=np.int64)

    def index(self, arch: Any) -> int:
        """The id of one architecture (official string, id or the space's tuple form)."""
        return int(self.search_space.index_of(arch))

    def predict(self, ids: np.ndarray, epoch: Optional[int] = None) -> np.ndarray:
        """``(n, len(metrics()))`` predictions for int64 ``ids`` (valid ids: see :meth:`ids`), cached."""
        ep = self._epoch(epoch)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size == 0:
            return np.zeros((0, len(self._metrics)))
        cache = self._caches.get(ep)
        if cache is None:
            cache = self._caches[ep] = _Cache(self._cache_size, len(self._metrics))
        uniq, inverse = np.unique(ids, return_inverse=True)
        keys = uniq.tolist()
        slots = cache.lookup(keys)
        rows = np.empty((uniq.size, len(self._metrics)))
        hit = slots >= 0
        rows[hit] = cache.values[slots[hit]]
        if not hit.all():
            miss = np.flatnonzero(~hit)
            rows[miss] = np.asarray(self.model.predict(uniq[miss], ep), dtype=np.float64)
            cache.insert([keys[k] for k in miss.tolist()], rows[miss])
        return rows[inverse.reshape(-1)]

    def cache_info(self) -> dict[int, dict[str, int]]:
        """Per epoch: cached predictions, hits and misses so far."""
        return {ep: dict(size=len(c.slots), hits=c.hits, misses=c.misses) for ep, c in self._caches.items()}

    def values(self, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None, *,
               archs: Any = None) -> np.ndarray:
        """``metric`` of the architectures ``archs`` at ``epoch`` (default: the last), in their order."""
        self._check_metric(metric)
        if seed not in (None, -1):
            raise ZcdbError(f"the {self.space} surrogate predicts the mean over seeds only: drop seed={seed!r}")
        if archs is None:
            n = self.search_space.size
            if n is None:
                self.search_space.require_size(f"values of every {self.space} architecture")
            archs = np.arange(n, dtype=np.int64)
        return self.predict(self.ids(archs), epoch)[:, self._col[metric]]

    def query(self, arch: Any, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> float:
        """``metric`` of one architecture (official string, id or tuple) at ``epoch`` (default: the last)."""
        return float(self.values(metric, epoch, seed, archs=[arch])[0])

    def top(self, metric: str, k: int = 5, epoch: Optional[int] = None, maximize: Optional[bool] = None,
            where: Any = None, *, archs: Any = None) -> list[tuple[int, str, float]]:
        """The ``k`` best of the candidates ``archs`` by ``metric``: (id, arch string, value), best first."""
        if where:
            raise ZcdbError("constraints (where=) are not served: filter the candidates first, then rank them")
        if archs is None:
            raise MissingCapability(f"space {self.space} cannot be enumerated: give the candidates, e.g. "
                                    f"archs=space.sample(1000, seed=0)")
        ids = self.ids(archs)
        v = self.predict(ids, epoch)[:, self._col[metric]]
        order = rank_top(v, k, self.higher_is_better(metric) if maximize is None else maximize)
        return [(int(ids[i]), self.search_space.string_of(int(ids[i])), float(v[i])) for i in order]

    def best(self, metric: str, epoch: Optional[int] = None, maximize: Optional[bool] = None,
             where: Any = None, *, archs: Any = None) -> tuple[int, str, float]:
        """The best of the candidates ``archs`` by ``metric``: (id, arch string, value)."""
        return self.top(metric, 1, epoch, maximize, where, archs=archs)[0]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` distinct architecture ids drawn uniformly by the space (a candidate set for :meth:`top`)."""
        return self.search_space.sample(n, seed)


def parse_arch_list(texts: Sequence[str], space: Any) -> list[Any]:
    """Architectures written on a command line: ids stay ints (validated by the space), the rest strings."""
    from .spaces import parse_arch_text

    return [parse_arch_text(t, space) for t in texts]
