"""HW-NAS-Bench (``HW-NAS-Bench-v1_0.pickle``): measured and estimated hardware costs of NAS-Bench-201.

The file is a pickle of ``{"nasbench201": {dataset: {metric: 15,625 values by official
index, "config": [network config per index]}}, "fbnet": {...}}``; the official
``HWNASBenchAPI.query_by_index(index, dataset)`` returns
``float(data["nasbench201"][dataset][metric][index])`` for each metric. Latencies are in
milliseconds and energies in millijoules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

import numpy as np

from zcdb.errors import CorruptFile, short_repr as _shown
from zcdb.spaces import nb201
from zcdb.store import MEAN_SEED, ImportBatch, Store

from . import _safe_pickle
from ._safe_pickle import RefusedGlobal, gc_paused, one_line

IMPORTER = "hw-nas-bench"
PROTOCOL = "200ep"
#: HW-NAS-Bench's dataset names (the official NAS-Bench-201 ones).
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
#: HW-NAS-Bench metric -> zcdb metric. ``eyeriss_arithmetic_intensity`` (operations per byte
#: of memory traffic) is neither a latency nor an energy and is not imported.
METRICS = {
    "edgegpu_latency": "latency_edgegpu",
    "edgegpu_energy": "energy_edgegpu",
    "raspi4_latency": "latency_raspi4",
    "edgetpu_latency": "latency_edgetpu",
    "pixel3_latency": "latency_pixel3",
    "eyeriss_latency": "latency_eyeriss",
    "eyeriss_energy": "energy_eyeriss",
    "fpga_latency": "latency_fpga",
    "fpga_energy": "energy_fpga",
}
_HINT = "pass the official HW-NAS-Bench-v1_0.pickle (re-download it if truncated)"
_NUMBER_TYPES = frozenset([float, int, np.float64, np.float32, np.int64, np.int32])


def import_hw_nas_bench(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                        allow_missing: bool = False) -> ImportBatch:
    """Import HW-NAS-Bench's NAS-Bench-201 part (``HW-NAS-Bench-v1_0.pickle``) into ``store``.

    For datasets cifar10, cifar100 and ImageNet16-120 (protocol ``200ep``, epoch 0, seed -1:
    properties of the network, not of a training run): ``latency_<device>`` in ms for
    edgegpu, raspi4, edgetpu, pixel3, eyeriss and fpga, and ``energy_<device>`` in mJ for
    edgegpu, eyeriss and fpga, exactly as ``HWNASBenchAPI.query_by_index`` returns them.
    ``eyeriss_arithmetic_intensity`` is not a cost metric and is skipped; the FBNet part is
    ignored. A NaN value (not measured) is not written; an infinite one fails the import
    unless ``allow_missing``, which stores it as missing and counts it in ``batch.missing``.

    Values that differ from rows already stored raise :class:`~zcdb.errors.ImportConflict`
    unless ``replace``.

    Trust: the file is a pickle; zcdb unpickles it restricted to plain data types (dicts,
    lists, numbers, numpy arrays), so a file naming anything else fails with
    :class:`~zcdb.errors.CorruptFile` and nothing from it runs.

    Raises :class:`~zcdb.errors.CorruptFile` (naming the file, dataset, metric and, for a
    bad value, the architecture index) for a missing, truncated or malformed file; the
    store is then unchanged.
    """
    p = Path(path)
    with gc_paused():
        columns = _read(p)
    index = np.arange(nb201.NUM_ARCHS)
    with store.importing(p, IMPORTER, {"allow_missing": True} if allow_missing else {}, replace=replace,
                         allow_missing=allow_missing) as batch:
        for (dataset, metric), values in columns.items():
            ok = ~np.isnan(values)
            batch.add_evaluations("nb201", dataset, PROTOCOL, metric, 0, MEAN_SEED, index[ok], values[ok])
    return batch


def _read(p: Path) -> dict[tuple[str, str], np.ndarray]:
    data = _load(p)
    space = data.get("nasbench201") if isinstance(data, dict) else None
    if not isinstance(space, dict):
        raise CorruptFile(f"{p} has no 'nasbench201' dict: not an HW-NAS-Bench file: {_HINT}")
    columns = {}
    for dataset in DATASETS:
        block = space.get(dataset)
        if not isinstance(block, dict):
            raise CorruptFile(f"{p}: 'nasbench201' has no {dataset!r} dict: {_HINT}")
        if "config" in block:
            _check_configs(p, dataset, block["config"])
        for key, metric in METRICS.items():
            if key not in block:
                raise CorruptFile(f"{p}: {dataset} has no {key!r}: {_HINT}")
            columns[(dataset, metric)] = _column(p, f"{dataset} {key}", block[key])
    return columns


def _load(p: Path) -> Any:
    if p.is_dir():
        raise CorruptFile(f"{p} is a directory: {_HINT}")
    try:
        with open(p, "rb") as fh:
            if fh.read(1) != b"\x80":  # protocol >= 2 pickles start with PROTO
                raise CorruptFile(f"{p} is not a pickle file: {_HINT}")
            fh.seek(0)
            return _safe_pickle.load(fh)
    except FileNotFoundError:
        raise CorruptFile(f"no such file: {p}: {_HINT}") from None
    except RefusedGlobal as exc:
        raise CorruptFile(
            f"{p} holds a pickled {exc.qualname}, which is not benchmark data; zcdb does not run code "
            f"from files: {_HINT}"
        ) from None
    except (CorruptFile, MemoryError):
        raise
    except Exception as exc:  # pickle reports damage with many exception types
        raise CorruptFile(f"{p} is truncated or not an HW-NAS-Bench file ({one_line(exc)}): {_HINT}") from None


def _column(p: Path, what: str, col: Any) -> np.ndarray:
    if isinstance(col, np.ndarray):
        if col.shape != (nb201.NUM_ARCHS,):
            raise CorruptFile(f"{p}: {what} has shape {col.shape}, not ({nb201.NUM_ARCHS},): {_HINT}")
        if col.dtype.kind in "fiu":
            return col.astype(np.float64)
        col = col.tolist()
    if not isinstance(col, (list, tuple)) or len(col) != nb201.NUM_ARCHS:
        n = len(col) if isinstance(col, (list, tuple)) else type(col).__name__
        raise CorruptFile(f"{p}: {what} must hold {nb201.NUM_ARCHS} values by architecture index, got {n}: {_HINT}")
    if set(map(type, col)) <= _NUMBER_TYPES:
        try:
            return np.array(col, dtype=np.float64)
        except OverflowError:  # an int no float holds: found and named below
            pass
    out = np.empty(nb201.NUM_ARCHS)
    for i, v in enumerate(col):
        if v is None or isinstance(v, (str, bytes, bool)):
            raise CorruptFile(f"{p}: {what} of architecture {i} must be a number, got {_shown(v)}: {_HINT}")
        try:
            out[i] = float(v)
        except OverflowError:
            raise CorruptFile(f"{p}: {what} of architecture {i} is {_shown(v)}, too large for a float: "
                              f"{_HINT}") from None
        except (TypeError, ValueError):
            raise CorruptFile(
                f"{p}: {what} of architecture {i} must be a number, got {type(v).__name__}: {_HINT}"
            ) from None
    return out


def _check_configs(p: Path, dataset: str, configs: Any) -> None:
    # The configs name each index's architecture: they prove the file uses the official order.
    if not isinstance(configs, (list, tuple)) or len(configs) != nb201.NUM_ARCHS:
        raise CorruptFile(f"{p}: {dataset} 'config' must list {nb201.NUM_ARCHS} network configs: {_HINT}")
    official = nb201.all_strings()
    for i, cfg in enumerate(configs):
        arch = cfg.get("arch_str") if isinstance(cfg, dict) else None
        if arch != official[i]:
            raise CorruptFile(
                f"{p}: {dataset} architecture {i} is {arch!r}, not the official {official[i]!r}: {_HINT}"
            )
