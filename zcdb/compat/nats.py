"""NATS-Bench's API (``nats_bench`` 1.8) answered from a zcdb store.

Scripts written for NATS-Bench run unchanged once the constructor line changes::

    api = nats_bench.create("NATS-tss-v1_0-3ffb9-simple", "tss", fast_mode=True)   # before
    api = zcdb.compat.nats.create("zcdb.db", "tss", fast_mode=True)                # after

after ``zcdb --db zcdb.db import nats-tss NATS-tss-v1_0-3ffb9-simple`` (``nats-sss`` and
``"sss"`` for the size space; for the topology space a NAS-Bench-201 ``.pth`` imported
with ``zcdb import nb201-pth`` serves as well). The answers are the official API's, key
for key and value for value (tested against ``nats_bench`` on format-true fixtures and on
the real archives' sample): ``len``, ``api[i]``, ``arch``, ``query_index_by_arch``,
``get_more_info``, ``get_cost_info``, ``get_latency``, ``simulate_train_eval`` with
``used_time``/``reset_time``, ``find_best``, ``get_net_config``, ``random``,
``avaliable_hps``, ``search_space_name``, ``full_train_epochs``. The schedules ``hp`` are
the stored protocols: topology ``"12"``, ``"200"`` -> ``12ep``, ``200ep``; size ``"01"``,
``"12"``, ``"90"`` -> ``01ep``, ``12ep``, ``90ep``.

Where they differ, on purpose:

* ``is_random=True`` draws the seed with Python's ``random`` module, as the official API
  does, so seeding ``random`` gives the same draws; ``comment`` is zcdb's own sentence.
* Data the store lacks but the official file had is never answered by a guess. A key whose
  metric the benchmark does not hold at all (a table imported from CSV, a store imported
  before zcdb kept evaluation times and ``valtest``) is absent from the answer, and reading
  it (``info["valid-all-time"]``) raises :class:`MissingData` naming the metric and the
  import that brings it; an epoch the store does not hold (a ``--final-only`` import) or an
  architecture it lacks raises :class:`MissingData` at the call.
* The size API divides by ``None`` (``TypeError``) for a record without times; zcdb answers
  ``None``, as the topology API does. ``find_best`` ranks the architectures the store holds
  (``enforce_all`` is accepted and ignored); ``get_net_config`` answers for any index.
* Not offered: trained weights (``get_net_param`` raises :class:`MissingData`: zcdb keeps
  none), and the methods that return or print nats_bench's own objects
  (``query_meta_info_by_index``, ``query_by_index``, ``show``, ...: :class:`Unsupported`).
"""

from __future__ import annotations

import operator
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import EmptyStore, UnknownDataset, ZcdbError
from ..spaces import get_space
from ..store import MEAN_SEED, Benchmark, Store

__all__ = ["create", "NatsBenchAPI", "MoreInfo", "MissingData", "InvalidQuery", "Unsupported"]


class MissingData(ZcdbError):
    """The store lacks what the official archive has for this query (the message names the import)."""


class InvalidQuery(ZcdbError, ValueError):
    """A query the official API refuses too (there a ``ValueError`` or ``KeyError``)."""


class Unsupported(ZcdbError, AttributeError):
    """A method of the official API that this one does not offer (the message says what to use)."""


@dataclass(frozen=True)
class _Space:
    """One of NATS-Bench's two search spaces, as zcdb stores it."""

    name: str               # nats_bench's search_space_name
    space: str              # the zcdb space
    hps: tuple[str, ...]    # the schedules; each is stored as protocol f"{hp}ep"
    full_train_epochs: int
    importer: str
    archive: str


_SPACES = {
    "topology": _Space("topology", "nb201", ("12", "200"), 200, "nats-tss", "NATS-tss-v1_0-3ffb9-simple"),
    "size": _Space("size", "nats-sss", ("01", "12", "90"), 90, "nats-sss", "NATS-sss-v1_0-50262-simple"),
}
_SPACE_NAMES = {"tss": "topology", "topology": "topology", "sss": "size", "size": "size"}
NUM_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120, "digits": 10}
#: Benchmarks zcdb made itself that the topology API answers beside NATS-Bench's: dataset -> (the one
#: ``hp`` it was trained with, its protocol, the network skeleton ``(C, N)``). The shipped digits
#: table (``zcdb import builtin nb201-digits``): 12 epochs of protocol digits-v1, C=8, N=1; it has
#: no measured latency (``latency`` None) and no cifar10-style ``comment``.
OWN_BENCHMARKS = {"digits": ("12", "digits-v1", (8, 1))}
#: The evaluation sets of each dataset's runs -> the prefix of the zcdb metrics holding them
#: (``tabular/_arch_results.py``); cifar10's val_* (cifar10-valid's x-valid) are not its own set.
EVAL_SETS = {
    "cifar10-valid": {"x-valid": "val", "ori-test": "test"},
    "cifar10": {"ori-test": "test"},
    "cifar100": {"x-valid": "val", "x-test": "test", "ori-test": "valtest"},
    "ImageNet16-120": {"x-valid": "val", "x-test": "test", "ori-test": "valtest"},
    "digits": {"x-valid": "val", "x-test": "test"},
}
#: get_more_info's key groups after the training one, per dataset: (key prefix, set), in the
#: official order. cifar10-valid's validation group is required there (the others may be absent).
_GROUPS = {
    "cifar10-valid": (("valid", "x-valid"), ("test", "ori-test")),
    "cifar10": (("test", "ori-test"),),
    "cifar100": (("valid", "x-valid"), ("test", "x-test"), ("valtest", "ori-test")),
    "ImageNet16-120": (("valid", "x-valid"), ("test", "x-test"), ("valtest", "ori-test")),
    "digits": (("valid", "x-valid"), ("test", "x-test")),
}
_ACCURACIES = ("train_acc", "val_acc", "test_acc", "valtest_acc")
#: Metrics that imports made before zcdb kept them lack (re-importing the archive adds them).
_NEWER = ("val_time", "test_time", "valtest_acc", "valtest_loss", "valtest_time")
#: The topology space's networks: NAS-Bench-201's skeleton, 16 channels, 5 cells per stage.
_TOPOLOGY_C, _TOPOLOGY_N = 16, 5
#: The cell of every size-space network (``zcdb.spaces.nats_sss_network.TOPOLOGY``, kept here
#: so that this module does not import torch).
SIZE_SPACE_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
_COMMENT = {
    "cifar10-valid": "train-*: the CIFAR-10 training set; valid-*: its held-out validation set; test-*: the "
                     "CIFAR-10 test set; after {hp} epochs of training on the training set. *-per-time: "
                     "seconds per epoch; *-all-time: seconds up to this epoch.",
    "cifar10": "train-*: the CIFAR-10 training and validation sets together; test-*: the CIFAR-10 test set; "
               "after {hp} epochs of training on both. *-per-time: seconds per epoch; *-all-time: seconds "
               "up to this epoch.",
}
#: Official methods not offered here -> what to use instead.
_UNSUPPORTED = {
    "query_meta_info_by_index": "it returns nats_bench's ArchResults objects: use get_more_info / get_cost_info, "
                                "or the store's own API (store.benchmark(space, dataset, protocol))",
    "query_by_index": "it returns nats_bench's ArchResults objects: use get_more_info / get_cost_info",
    "query_info_str_by_arch": "use get_more_info and get_cost_info, or `zcdb query`",
    "query_by_arch": "use get_more_info and get_cost_info, or `zcdb query`",
    "show": "use get_more_info and get_cost_info, or `zcdb query`",
    "statistics": "use `zcdb info` (architectures and seeds per benchmark)",
    "reload": "the store is the data: add an archive with `zcdb import nats-tss DIR` (or nats-sss)",
    "get_unique_str": "zcdb's isomorphism classes are get_space(space).canonical(index), in zcdb's own notation",
    "str2lists": "use nats_bench's static method (NATStopology.str2lists) or zcdb.spaces.nb201.ops_of",
    "str2matrix": "use nats_bench's static method (NATStopology.str2matrix)",
    "evaluated_indexes": "the stored architectures are store.benchmark(space, dataset, protocol).arch_indices()",
    "arch2infos_dict": "zcdb holds rows, not nats_bench's objects: use get_more_info / get_cost_info",
    "archive_dir": "the data is the zcdb store (api.store)",
}


def create(store_or_path: Union[Store, str, "os.PathLike[str]", None], search_space: str,
           fast_mode: bool = True, verbose: bool = False) -> "NatsBenchAPI":
    """NATS-Bench's API for ``search_space`` (``"tss"``/``"topology"`` or ``"sss"``/``"size"``) on a store.

    ``store_or_path`` is an open :class:`~zcdb.store.Store` (left open when the API is
    closed) or the path of one (``None``: ``$ZCDB_DB``, else the platform default, as
    :func:`zcdb.open`); a path that holds no store, or a NATS-Bench archive directory,
    raises :class:`MissingData` naming the import. ``fast_mode`` and ``verbose`` are
    accepted so that the official call keeps its arguments: zcdb always reads on demand
    and prints nothing.
    """
    del fast_mode, verbose
    name = _SPACE_NAMES.get(search_space) if isinstance(search_space, str) else None
    if name is None:
        raise InvalidQuery(f"invalid search space {search_space!r}: use 'tss' (topology) or 'sss' (size)")
    nats = _SPACES[name]
    if isinstance(store_or_path, Store):
        return NatsBenchAPI(store_or_path, nats)
    from ..store import resolve_path

    path = resolve_path(store_or_path)
    if Path(path).is_dir():
        raise MissingData(f"{path} is a directory (a NATS-Bench archive?), not a zcdb store: import it first "
                          f"(`zcdb --db zcdb.db import {nats.importer} {path}`), then create('zcdb.db', "
                          f"{search_space!r})")
    if path != ":memory:" and not Path(path).exists():
        raise MissingData(f"no zcdb store at {path}: import NATS-Bench's archive first "
                          f"(`zcdb --db {path} import {nats.importer} {nats.archive}`), or check the path")
    store = Store(path)
    try:
        return NatsBenchAPI(store, nats, owns_store=True)
    except BaseException:
        store.close()
        raise


class MoreInfo(dict):
    """An answer of :meth:`NatsBenchAPI.get_more_info` or :meth:`~NatsBenchAPI.get_cost_info`: a plain
    dict of the official keys; a key the official API answers but the store cannot is absent, and
    reading it with ``[]`` raises :class:`MissingData` saying what to import (``.missing`` lists them)."""

    def __init__(self, missing: Optional[dict[str, str]] = None) -> None:
        super().__init__()
        #: Official keys the store cannot answer -> why (the message :class:`MissingData` carries).
        self.missing: dict[str, str] = dict(missing or {})

    def __missing__(self, key: Any) -> Any:
        if key in self.missing:
            raise MissingData(self.missing[key])
        raise KeyError(key)


@dataclass(frozen=True)
class _Layout:
    """What one benchmark holds: its metrics, and the epochs with an accuracy (a run's last is ``last``)."""

    metrics: frozenset[str]
    epochs: frozenset[int]
    last: int


class NatsBenchAPI:
    """NATS-Bench's API (one search space) on a zcdb store; make one with :func:`create`."""

    def __init__(self, store: Store, nats: _Space, owns_store: bool = False) -> None:
        self.store = store
        self._nats = nats
        self._owns_store = owns_store
        self._space = get_space(nats.space)
        self._strings = self._space.all_strings()
        self._used_time = 0.0
        self._layouts: dict[tuple[int, int], _Layout] = {}
        if not self.avaliable_hps:
            raise MissingData(f"the store {store.path} holds no {nats.space} benchmark under NATS-Bench's schedules "
                              f"({', '.join(self._protocol(hp) for hp in nats.hps)}): {self._hint()}")

    # ------------------------------------------------------------------ the object
    def __repr__(self) -> str:
        return f"NatsBenchAPI({self._nats.name}, space {self._nats.space}, store {self.store.path})"

    def close(self) -> None:
        """Close the store if :func:`create` opened it."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> "NatsBenchAPI":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name in _UNSUPPORTED:
            raise Unsupported(f"zcdb.compat.nats does not offer {name}: {_UNSUPPORTED[name]}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def search_space_name(self) -> str:
        """``"topology"`` or ``"size"``."""
        return self._nats.name

    @property
    def full_train_epochs(self) -> int:
        """Epochs of the longest schedule (200 for the topology space, 90 for the size space)."""
        return self._nats.full_train_epochs

    @property
    def full_epochs_in_paper(self) -> int:
        """The same as :attr:`full_train_epochs`."""
        return self._nats.full_train_epochs

    @property
    def is_topology(self) -> bool:
        return self._nats.name == "topology"

    @property
    def is_size(self) -> bool:
        return self._nats.name == "size"

    @property
    def avaliable_hps(self) -> list[str]:
        """The schedules (``hp``) the store holds for this space, shortest first (the official spelling)."""
        rows = [r for r in self.store.benchmark_rows() if r["space"] == self._nats.space]
        stored = {r["protocol"] for r in rows}
        if self.is_topology:  # zcdb's own benchmarks answer under the schedule they were trained with
            stored |= {f"{OWN_BENCHMARKS[r['dataset']][0]}ep" for r in rows
                       if r["dataset"] in OWN_BENCHMARKS and r["protocol"] == OWN_BENCHMARKS[r["dataset"]][1]}
        return [hp for hp in self._nats.hps if self._protocol(hp) in stored]

    @property
    def used_time(self) -> float:
        """Simulated seconds that :meth:`simulate_train_eval` has accounted since :meth:`reset_time`."""
        return self._used_time

    def reset_time(self) -> None:
        """Set :attr:`used_time` back to 0."""
        self._used_time = 0.0

    def clear_params(self, index: int, hp: Optional[str] = None) -> None:
        """Nothing to do: zcdb holds no trained weights (accepted so that scripts calling it run)."""

    # ------------------------------------------------------------------ architectures
    def __len__(self) -> int:
        return len(self._strings)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self._strings[index])
        return self._strings[index]

    @property
    def meta_archs(self) -> tuple[str, ...]:
        """Every official string, by index."""
        return self._strings

    def arch(self, index: int) -> str:
        """The official string of architecture ``index``."""
        if not 0 <= index < len(self._strings):
            raise InvalidQuery(f"invalid index {index}: use 0..{len(self._strings) - 1}")
        return self._strings[index]

    def query_index_by_arch(self, arch: Any) -> int:
        """The index of ``arch`` (an index, an official string, or an object with ``tostr()``); ``-1``
        for a string or object that is not in the space. An index out of range is an error."""
        if isinstance(arch, int):
            if 0 <= arch < len(self._strings):
                return arch
            raise InvalidQuery(f"invalid architecture index {arch}: use 0..{len(self._strings) - 1}")
        if isinstance(arch, str):
            return self._space.index_map().get(arch, -1)
        if hasattr(arch, "tostr"):
            return self._space.index_map().get(arch.tostr(), -1)
        return -1

    def random(self) -> int:
        """A uniformly random index, drawn with Python's ``random`` module."""
        return random.randint(0, len(self._strings) - 1)

    # ------------------------------------------------------------------ queries
    def get_more_info(self, index: Any, dataset: str, iepoch: Optional[int] = None, hp: Any = "12",
                      is_random: Union[bool, int] = True) -> MoreInfo:
        """Loss, accuracy and time of architecture ``index`` trained on ``dataset`` with schedule ``hp``,
        after epoch ``iepoch`` (0-based; ``None``: the last).

        ``is_random``: ``True``, one of the run's seeds drawn with ``random.choice``; ``False``,
        the mean over its seeds; an int, that seed. Keys: ``train-loss``, ``train-accuracy``,
        ``train-per-time``, ``train-all-time``; then per evaluation set, ``valid-*`` (x-valid),
        ``test-*`` (ori-test for cifar10-valid and cifar10, x-test otherwise) and ``valtest-*``
        (ori-test of cifar100 and ImageNet16-120), each absent where the official API has none
        (cifar10 has no validation set); ``comment`` for the two cifar10 settings. Accuracies in
        percent, times in seconds (``*-all-time`` up to the epoch, ``*-per-time`` per epoch).
        """
        index = self._index(index)
        bench, layout = self._bench(dataset, hp)
        index = self._require_arch(bench, index)  # a class member answered by its representative: that one's rows
        seeds = self._pick_seeds(bench, layout, index, is_random)  # drawn first, as the official API does
        epoch = self._epoch(bench, layout, iepoch, hp)
        prefixes = ["train"] + [EVAL_SETS[dataset][s] for _, s in _GROUPS[dataset]]
        wanted = [f"{p}_{kind}" for p in prefixes for kind in ("acc", "loss", "time")]
        values = self._rows(bench, index, epoch, wanted, seeds)
        info = MoreInfo()
        where = f"{self._where(bench)} architecture {index} epoch {epoch}"
        self._group(info, "train", "train", values, seeds, epoch, layout, bench, where, required=True)
        if dataset in _COMMENT:
            info["comment"] = _COMMENT[dataset].format(hp=hp)
        for key, set_name in _GROUPS[dataset]:
            self._group(info, key, EVAL_SETS[dataset][set_name], values, seeds, epoch, layout, bench, where,
                        required=dataset == "cifar10-valid" and key == "valid")
        return info

    def get_cost_info(self, index: Any, dataset: str, hp: Any = "12") -> MoreInfo:
        """``flops`` (MFLOPs), ``params`` (millions), ``latency`` (seconds, ``None`` where not measured)
        and the mean times per run, ``T-train@epoch``/``T-train@total`` and ``T-<set>@epoch``/
        ``T-<set>@total`` for each of the dataset's evaluation sets (seconds, means over the seeds)."""
        index = self._index(index)
        bench, layout = self._bench(dataset, hp)
        index = self._require_arch(bench, index)  # a class member answered by its representative: that one's rows
        where = f"{self._where(bench)} architecture {index}"
        info = MoreInfo()
        costs = self._rows(bench, index, 0, ["flops", "params", "latency_gpu"], [MEAN_SEED])
        for key in ("flops", "params"):
            if key not in layout.metrics:
                info.missing[key] = self._lacks(key, key, bench)
            elif (key, MEAN_SEED) not in costs:
                raise MissingData(f"{where} has no {key}: {self._hint()}")
            else:
                info[key] = costs[(key, MEAN_SEED)]
        if "latency_gpu" not in layout.metrics:
            info.missing["latency"] = self._lacks("latency", "latency_gpu", bench)
        else:
            ms = costs.get(("latency_gpu", MEAN_SEED))
            info["latency"] = None if ms is None else ms / 1000.0  # stored in ms, answered in seconds
        seeds = self._seeds(bench, layout, index)
        epochs = layout.last
        sets = [("train", "train")] + list(EVAL_SETS[dataset].items())
        totals = self._rows(bench, index, epochs, [f"{p}_time" for _, p in sets], seeds)
        for set_name, prefix in sets:
            metric = f"{prefix}_time"
            keys = (f"T-{set_name}@epoch", f"T-{set_name}@total")
            if metric not in layout.metrics:
                for key in keys:
                    info.missing[key] = self._lacks(key, metric, bench)
                continue
            per_seed = [totals.get((metric, s)) for s in seeds]
            known = bool(per_seed) and None not in per_seed
            # a run's mean epoch time is its total over its epochs
            info[keys[0]] = _mean([t / epochs for t in per_seed]) if known else None
            info[keys[1]] = _mean(per_seed) if known else None
        return info

    def get_latency(self, index: Any, dataset: str, hp: Any = "12") -> Optional[float]:
        """The latency of architecture ``index`` on ``dataset`` in seconds (``None`` where not measured)."""
        return self.get_cost_info(index, dataset, hp=hp)["latency"]

    def simulate_train_eval(self, arch: Any, dataset: str, iepoch: Optional[int] = None, hp: Any = "12",
                            account_time: bool = True) -> tuple[float, Optional[float], float, float]:
        """Pretend to train ``arch`` on ``dataset`` (cifar10, cifar100 or ImageNet16-120) and validate it:
        ``(validation accuracy, latency, time cost, used_time)``, one random seed as ``get_more_info``.

        cifar10 is validated on cifar10-valid's x-valid. The time cost is the training time up
        to ``iepoch`` plus one epoch's evaluation on the validation set; where the set has no
        accuracy at ``iepoch`` (cifar100 and ImageNet16-120 after 200 epochs keep x-valid at the
        last epoch only), the accuracy is valtest's and the evaluation time that of the last
        epoch, as the official API does. ``account_time`` adds the cost to :attr:`used_time`.
        """
        index = self.query_index_by_arch(arch)
        if dataset not in ("cifar10", "cifar100", "ImageNet16-120") and not self._own(dataset):
            raise InvalidQuery(f"invalid dataset {dataset!r} for simulate_train_eval: use cifar10, cifar100 or "
                               "ImageNet16-120")
        info = self.get_more_info(index, "cifar10-valid" if dataset == "cifar10" else dataset, iepoch=iepoch, hp=hp,
                                  is_random=True)
        if "valid-accuracy" in info.missing:
            raise MissingData(info.missing["valid-accuracy"])
        if "valid-accuracy" in info and self._own(dataset) and "valid-per-time" in info.missing:
            accuracy, evaluation = info["valid-accuracy"], 0.0  # zcdb's digits table times training only
        elif "valid-accuracy" in info:
            accuracy, evaluation = info["valid-accuracy"], info["valid-per-time"]
        else:
            accuracy = info["valtest-accuracy"]
            evaluation = self.get_more_info(index, dataset, iepoch=None, hp=hp, is_random=True)["valid-per-time"]
        if info["train-all-time"] is None or evaluation is None:
            raise MissingData(f"{self._nats.space}/{dataset} architecture {index} has no training or evaluation "
                              f"time (hp {hp}), which simulate_train_eval adds up: {self._hint()}")
        cost = info["train-all-time"] + evaluation
        latency = None if self._own(dataset) else self.get_latency(index, dataset, hp=hp)  # digits: none measured
        if account_time:
            self._used_time += cost
        return accuracy, latency, cost, self._used_time

    def find_best(self, dataset: str, metric_on_set: str, flop_max: Optional[float] = None,
                  param_max: Optional[float] = None, hp: Any = "12",
                  enforce_all: Optional[bool] = None) -> tuple[int, Optional[float]]:
        """``(index, accuracy)`` of the stored architecture with the highest seed-mean final accuracy on
        ``metric_on_set`` among those within ``flop_max`` MFLOPs and ``param_max`` M params;
        ``(-1, None)`` when none is. Ties go to the smaller index.

        ``metric_on_set``: ``train``, ``x-valid``/``valid``, ``x-test``, ``ori-test``, or for
        cifar10 ``valid`` (cifar10-valid's x-valid, whose costs then count) and ``test``, for
        cifar100 / ImageNet16-120 ``valid`` and ``test`` (x-valid, x-test), as the official
        API maps them. ``enforce_all`` is accepted and ignored: every stored architecture counts.
        """
        del enforce_all
        dataset, set_name = _official_set(dataset, metric_on_set)
        bench, layout = self._bench(dataset, hp)
        keep = np.zeros(len(self._strings), dtype=bool)
        keep[bench.arch_indices()] = True
        keep[bench.aliases()[0]] = True  # answered by their class representatives (values() fills them in)
        for limit, metric_of_limit in ((flop_max, "flops"), (param_max, "params")):
            if limit is not None:
                if metric_of_limit not in layout.metrics:
                    raise MissingData(self._lacks("find_best", metric_of_limit, bench))
                keep &= ~(bench.values(metric_of_limit, epoch=0) > limit)  # NaN costs pass, as in the official loop
        if not keep.any():  # the official loop reads no accuracy then, so a wrong set name passes too
            return -1, None
        if set_name == "train":
            metric = "train_acc"
        elif set_name in EVAL_SETS[dataset]:
            metric = f"{EVAL_SETS[dataset][set_name]}_acc"
        else:
            sets = ", ".join(["train", *EVAL_SETS[dataset]])
            raise InvalidQuery(f"{dataset} has no evaluation set {metric_on_set!r}: use one of {sets}")
        if metric not in layout.metrics:
            raise MissingData(self._lacks("find_best", metric, bench))
        accuracy = self._seed_mean(bench, metric, bench.epochs(metric)[-1])
        keep &= ~np.isnan(accuracy)
        if not keep.any():
            return -1, None
        best = int(np.argmax(np.where(keep, accuracy, -np.inf)))
        return best, float(accuracy[best])

    def get_net_config(self, index: Any, dataset: str) -> dict[str, Any]:
        """The official network description of ``index`` for ``dataset`` (what xautodl's
        ``get_cell_based_tiny_net`` builds): topology ``{"name": "infer.tiny", "C": 16, "N": 5,
        "arch_str", "num_classes"}``, size ``{"name": "infer.shape.tiny", "channels", "genotype",
        "num_classes"}``. A fact of the space: answered for every index, stored or not."""
        arch = self._strings[self._index(index)]
        if dataset not in NUM_CLASSES or (dataset in OWN_BENCHMARKS and not self.is_topology):
            raise InvalidQuery(f"invalid dataset {dataset!r}: use one of {', '.join(NUM_CLASSES)}")
        if self.is_topology:
            c, n = OWN_BENCHMARKS[dataset][2] if self._own(dataset) else (_TOPOLOGY_C, _TOPOLOGY_N)
            return {"name": "infer.tiny", "C": c, "N": n, "arch_str": arch, "num_classes": NUM_CLASSES[dataset]}
        return {"name": "infer.shape.tiny", "channels": arch, "genotype": SIZE_SPACE_CELL,
                "num_classes": NUM_CLASSES[dataset]}

    def get_net_param(self, index: Any, dataset: str, seed: Optional[int], hp: Any = "12") -> Any:
        """Not available: zcdb stores results, not trained weights (:class:`MissingData`)."""
        raise MissingData("zcdb stores no trained weights: load them with nats_bench from NATS-Bench's -full "
                          "archive (get_net_param), or train the network of get_net_config")

    # ------------------------------------------------------------------ reading the store
    def _index(self, arch: Any) -> int:
        index = self.query_index_by_arch(arch)
        if index < 0:
            raise InvalidQuery(f"{arch!r} is not an architecture of NATS-Bench's {self._nats.name} space "
                               f"(zcdb space {self._nats.space}): give an index or an official string")
        return index

    def _own(self, dataset: str) -> bool:
        return self.is_topology and dataset in OWN_BENCHMARKS

    def _protocol(self, hp: Any, dataset: Optional[str] = None) -> str:
        key = str(hp)
        if key not in self._nats.hps:
            raise InvalidQuery(f"hp {hp!r} is not a schedule of NATS-Bench's {self._nats.name} space: use one of "
                               f"{', '.join(repr(h) for h in self._nats.hps)}")
        if dataset is not None and self._own(dataset):
            own_hp, protocol, _ = OWN_BENCHMARKS[dataset]
            if key != own_hp:
                raise InvalidQuery(f"{dataset} is zcdb's own benchmark, trained {int(own_hp)} epochs (protocol "
                                   f"{protocol}): use hp={own_hp!r}")
            return protocol
        return f"{key}ep"

    def _hint(self) -> str:
        return f"import NATS-Bench's archive (`zcdb --db {self.store.path} import {self._nats.importer} " \
               f"{self._nats.archive}`)"

    def _where(self, bench: Benchmark) -> str:
        return f"{bench.space}/{bench.dataset}/{bench.protocol}"

    def _lacks(self, key: str, metric: str, bench: Benchmark) -> str:
        if metric in _NEWER:
            fix = (f"stores imported before zcdb kept evaluation times and valtest lack it: import the archive "
                   f"again (`zcdb --db {self.store.path} import {self._nats.importer} {self._nats.archive}`; the "
                   "rows already stored stay)")
        else:
            fix = self._hint()
        return f"{key}: {self.store.path} holds no {metric} for {self._where(bench)}: {fix}"

    def _bench(self, dataset: str, hp: Any) -> tuple[Benchmark, _Layout]:
        if dataset in OWN_BENCHMARKS and not self.is_topology:
            raise InvalidQuery(f"invalid dataset {dataset!r} for the size space: use one of "
                               f"{', '.join(d for d in NUM_CLASSES if d not in OWN_BENCHMARKS)}")
        protocol = self._protocol(hp, dataset)
        if dataset not in NUM_CLASSES:
            raise InvalidQuery(f"invalid dataset {dataset!r}: use one of {', '.join(NUM_CLASSES)}")
        try:
            bench = self.store.benchmark(self._nats.space, dataset, protocol)
        except (UnknownDataset, EmptyStore):
            raise MissingData(f"the store {self.store.path} holds no {self._nats.space}/{dataset} rows under "
                              f"protocol {protocol} (hp {hp!r}): {self._hint()}") from None
        key = (bench.id, self.store.generation)
        layout = self._layouts.get(key)
        if layout is None:
            metrics = frozenset(bench.metrics())
            epochs = frozenset(e for m in _ACCURACIES if m in metrics for e in bench.epochs(m) if e > 0)
            layout = self._layouts[key] = _Layout(metrics, epochs, max(epochs, default=0))
        return bench, layout

    def _require_arch(self, bench: Benchmark, index: int) -> int:
        """The architecture whose rows answer for ``index``: itself, or the representative of its isomorphism
        class in a table that trained one member per class (``zcdb tabulate --archs unique``, the digits table)."""
        if bench.has_rows(index):
            return index
        alias, rep = bench.aliases()
        hit = np.flatnonzero(alias == index)
        if hit.size:
            return int(rep[hit[0]])
        raise MissingData(f"architecture {index} has no rows in {self._where(bench)}: {self._hint()}")

    def _epoch(self, bench: Benchmark, layout: _Layout, iepoch: Any, hp: Any) -> int:
        """The stored epoch (1-based) of the official 0-based ``iepoch``."""
        if not layout.epochs:
            raise MissingData(f"{self._where(bench)} holds no accuracies: {self._hint()}")
        if iepoch is None:
            return layout.last
        try:
            i = operator.index(iepoch)
        except TypeError:
            raise InvalidQuery(f"invalid iepoch {iepoch!r}: give an epoch index or None") from None
        if not 0 <= i < layout.last:
            raise InvalidQuery(f"invalid iepoch {iepoch}: hp {hp} trains {layout.last} epochs (0..{layout.last - 1})")
        if i + 1 not in layout.epochs:
            stored = sorted(layout.epochs)
            shown = ", ".join(map(str, stored[:3])) + (", ..." if len(stored) > 3 else "")
            raise MissingData(f"{self._where(bench)} holds results after epoch(s) {shown} only, not after {i + 1} "
                              f"(iepoch={i}): a --final-only import or a table without curves: {self._hint()}")
        return i + 1

    def _rows(self, bench: Benchmark, index: int, epoch: int, metrics: Sequence[str],
              seeds: Sequence[int]) -> dict[tuple[str, int], float]:
        """``{(metric, seed): value}`` of one architecture at one epoch (absent: no value)."""
        return bench.arch_values(index, epoch, metrics, seeds)

    def _seeds(self, bench: Benchmark, layout: _Layout, index: int) -> list[int]:
        """The seeds of the architecture's runs (the official ``dataset_seed``), ascending: those with an
        accuracy at the last epoch (``train_acc`` in the official formats); ``[-1]`` for stored means only."""
        for metric in _ACCURACIES:
            if metric in layout.metrics and layout.last in bench.epochs(metric):
                found = sorted(s for _, s in self._rows(bench, index, layout.last, [metric],
                                                        bench.seeds(metric, layout.last)))
                runs = [s for s in found if s != MEAN_SEED]
                return runs or found
        return []

    def _pick_seeds(self, bench: Benchmark, layout: _Layout, index: int, is_random: Any) -> list[int]:
        """The seeds whose values a query averages: one drawn, all, or the one asked for."""
        seeds = self._seeds(bench, layout, index)
        if not seeds:
            raise MissingData(f"architecture {index} has no runs in {self._where(bench)}: {self._hint()}")
        if isinstance(is_random, bool):
            if not is_random:
                return seeds
            if seeds == [MEAN_SEED]:
                raise MissingData(f"{self._where(bench)} holds means over seeds only, not the runs that is_random=True "
                                  f"draws from: pass is_random=False, or {self._hint()}")
            return [random.choice(seeds)]  # Python's random module, as the official API draws
        if isinstance(is_random, int):
            if is_random not in seeds or is_random == MEAN_SEED:
                raise InvalidQuery(f"architecture {index} has no run with seed {is_random} in {self._where(bench)}: "
                                   f"its seeds are {', '.join(map(str, seeds))}")
            return [is_random]
        raise InvalidQuery(f"invalid is_random {is_random!r}: give True (a random seed), False (the mean) or a seed")

    def _group(self, info: MoreInfo, key: str, prefix: str, values: dict[tuple[str, int], float], seeds: list[int],
               epoch: int, layout: _Layout, bench: Benchmark, where: str, required: bool) -> None:
        """Add one set's ``<key>-loss``, ``-accuracy``, ``-per-time``, ``-all-time`` to ``info``; nothing
        where the architecture has no loss or accuracy for it (the official API answers nothing there)."""
        got: dict[str, Optional[float]] = {}
        missing: dict[str, str] = {}
        for field, metric in (("loss", f"{prefix}_loss"), ("accuracy", f"{prefix}_acc")):
            if metric not in layout.metrics:
                missing[f"{key}-{field}"] = self._lacks(f"{key}-{field}", metric, bench)
                continue
            per_seed = [values.get((metric, s)) for s in seeds]
            if None in per_seed:
                if required:
                    raise MissingData(f"{where} has no {metric} for seed(s) "
                                      f"{', '.join(str(s) for s, v in zip(seeds, per_seed) if v is None)}: "
                                      f"{self._hint()}")
                return
            got[f"{key}-{field}"] = _mean(per_seed)
        metric = f"{prefix}_time"
        if metric not in layout.metrics:
            for field in ("per-time", "all-time"):
                missing[f"{key}-{field}"] = self._lacks(f"{key}-{field}", metric, bench)
        else:
            per_seed = [values.get((metric, s)) for s in seeds]
            total = None if None in per_seed else _mean(per_seed)
            got[f"{key}-per-time"] = None if total is None else total / epoch
            got[f"{key}-all-time"] = total
        info.update(got)
        info.missing.update(missing)

    def _seed_mean(self, bench: Benchmark, metric: str, epoch: int) -> np.ndarray:
        """Each architecture's mean over its seeds at ``epoch``, summed in seed order as the official API
        does (so the value is its value to the last bit); NaN where it has none."""
        seeds = [s for s in bench.seeds(metric, epoch) if s != MEAN_SEED] or [MEAN_SEED]
        total = np.zeros(len(self._strings))
        count = np.zeros(len(self._strings))
        for seed in seeds:
            v = bench.values(metric, epoch=epoch, seed=seed)
            has = ~np.isnan(v)
            total[has] += v[has]
            count[has] += 1
        with np.errstate(invalid="ignore"):
            return total / count


def _mean(values: Sequence[float]) -> float:
    # the official API's mean: a left-to-right sum over the seeds, divided by their number
    return sum(values) / len(values)


def _official_set(dataset: str, metric_on_set: str) -> tuple[str, str]:
    """The (dataset, evaluation set) that find_best reads for a user's (dataset, set), as the official API
    maps them: cifar10's ``valid`` is cifar10-valid's x-valid, its ``test`` ori-test; cifar100's and
    ImageNet16-120's ``valid`` and ``test`` are x-valid and x-test; ``valid`` elsewhere is x-valid."""
    if dataset == "cifar10" and metric_on_set == "valid":
        return "cifar10-valid", "x-valid"
    if dataset == "cifar10" and metric_on_set == "test":
        return "cifar10", "ori-test"
    if dataset in ("cifar100", "ImageNet16-120", *OWN_BENCHMARKS) and metric_on_set in ("valid", "test"):
        return dataset, "x-valid" if metric_on_set == "valid" else "x-test"
    return dataset, "x-valid" if metric_on_set == "valid" else metric_on_set
