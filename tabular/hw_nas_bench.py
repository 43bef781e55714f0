"""HW-NAS-Bench: measured and estimated hardware costs of NAS-Bench-201, from the official pickle or CSV.

Two forms are read:

* the official ``HW-NAS-Bench-v1_0.pickle``: ``{"nasbench201": {dataset: {metric: 15,625 values by
  official index, "config": [network config per index]}}, "fbnet": {...}}``; the official
  ``HWNASBenchAPI.query_by_index(index, dataset)`` returns
  ``float(data["nasbench201"][dataset][metric][index])`` for each metric;
* per-dataset CSV tables ``hw_nas_bench_{cifar10,cifar100,ImageNet16-120}.csv`` (one file, or a
  folder holding them): columns ``index``, ``arch`` (official string) and the same ten metrics.
  Their values are the pickle's rounded to 8 significant digits (``5.8074185`` for the API's
  ``5.807418537139893``).

Latencies are in milliseconds, energies in millijoules. ``eyeriss_arithmetic_intensity`` is the
Eyeriss accelerator's arithmetic intensity: operations per byte of memory traffic, stored as
``arithmetic_intensity_eyeriss`` and declared "higher is better" (more data reuse per byte
moved, so less memory-bound). It is a diagnostic of how well a network maps onto the
accelerator, not a cost: rank or constrain by latency or energy for cost.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any, Union

import numpy as np

from zcdb.errors import CorruptFile, short_repr as _shown
from zcdb.metrics import MetricSpec
from zcdb.spaces import nb201
from zcdb.store import MEAN_SEED, ImportBatch, Store

from . import _safe_pickle
from ._safe_pickle import RefusedGlobal, gc_paused, one_line
from .csv_table import _looks_cut, _numbers, _significant_digits, data_rows

IMPORTER = "hw-nas-bench"
PROTOCOL = "200ep"
#: HW-NAS-Bench's dataset names (the official NAS-Bench-201 ones).
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
#: HW-NAS-Bench metric (pickle key and CSV column) -> zcdb metric.
METRICS = {
    "edgegpu_latency": "latency_edgegpu",
    "edgegpu_energy": "energy_edgegpu",
    "raspi4_latency": "latency_raspi4",
    "edgetpu_latency": "latency_edgetpu",
    "pixel3_latency": "latency_pixel3",
    "eyeriss_latency": "latency_eyeriss",
    "eyeriss_energy": "energy_eyeriss",
    "eyeriss_arithmetic_intensity": "arithmetic_intensity_eyeriss",
    "fpga_latency": "latency_fpga",
    "fpga_energy": "energy_fpga",
}
#: The metrics that no built-in family covers, declared with every import (see the module docstring).
DECLARED = (
    MetricSpec("arithmetic_intensity_eyeriss", True, "ops/byte",
               "HW-NAS-Bench's Eyeriss arithmetic intensity: operations per byte of memory traffic "
               "(higher: more data reuse, less memory-bound; a diagnostic, not a cost)"),
)
#: The CSV tables print 8 significant digits: a stored value (from the pickle, or HELP's copy of it)
#: that agrees to as many is the same measurement, kept as stored, not a conflict.
AGREE_DIGITS = 8
_HINT = ("pass the official HW-NAS-Bench-v1_0.pickle, or the hw_nas_bench_<dataset>.csv tables "
         "(a file or their folder); re-download it if truncated")
_CSV_NAME = re.compile(r"hw_nas_bench_(.+)\.csv")
_NUMBER_TYPES = frozenset([float, int, np.float64, np.float32, np.int64, np.int32])


def import_hw_nas_bench(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                        allow_missing: bool = False) -> ImportBatch:
    """Import HW-NAS-Bench's NAS-Bench-201 part into ``store``, from the pickle or the CSV tables.

    ``path`` is ``HW-NAS-Bench-v1_0.pickle``, one ``hw_nas_bench_<dataset>.csv`` or a folder
    holding one or more of them (all written in one transaction). For datasets cifar10,
    cifar100 and ImageNet16-120 (protocol ``200ep``, epoch 0, seed -1: properties of the
    network, not of a training run): ``latency_<device>`` in ms for edgegpu, raspi4, edgetpu,
    pixel3, eyeriss and fpga, ``energy_<device>`` in mJ for edgegpu, eyeriss and fpga, and
    ``arithmetic_intensity_eyeriss`` (ops/byte, higher is better), exactly as
    ``HWNASBenchAPI.query_by_index`` returns them (the CSVs: to 8 significant digits). The FBNet
    part is ignored.

    In the pickle a NaN value (not measured) is not written; an infinite one fails the
    import unless ``allow_missing``, which stores it as missing and counts it in
    ``batch.missing``. A CSV must list every architecture once, with ``arch`` the official
    string of ``index``; its cells must be plain decimal numbers (an empty or non-finite cell
    fails unless ``allow_missing``). Values that agree with stored ones to
    :data:`AGREE_DIGITS` significant digits (the CSVs against the pickle, or HELP's copies of
    the same measurements) are kept as stored and counted in ``batch.kept_as_stored``; other
    differences raise :class:`~zcdb.errors.ImportConflict`
    unless ``replace``.

    Trust: the pickle is unpickled restricted to plain data types (dicts, lists, numbers,
    numpy arrays), so a file naming anything else fails with
    :class:`~zcdb.errors.CorruptFile` and nothing from it runs.

    Raises :class:`~zcdb.errors.CorruptFile` (naming the file, dataset, metric and, for a
    bad value, the architecture index or line) for a missing, truncated or malformed file;
    the store is then unchanged.
    """
    p = Path(path)
    warnings: list[str] = []
    if p.is_dir() or p.suffix.lower() == ".csv":
        columns, where, warnings = _read_csvs(p, allow_missing)
        form = "csv"
    else:
        with gc_paused():
            columns = _read(p)
        where, form = {}, "pickle"
    index = np.arange(nb201.NUM_ARCHS)
    options: dict[str, Any] = {"form": form} if form == "csv" else {}
    if allow_missing:
        options["allow_missing"] = True
    with store.importing(p, IMPORTER, options, replace=replace, allow_missing=allow_missing) as batch:
        for spec in DECLARED:
            batch.declare_metric(spec.name, spec.higher_is_better, spec.unit, spec.description)
        for (dataset, metric), values in columns.items():
            # The pickle marks a value it lacks with NaN; a CSV cell must be a number (see above).
            ok = ~np.isnan(values) if form == "pickle" else np.ones(values.size, dtype=bool)
            batch.add_evaluations("nb201", dataset, PROTOCOL, metric, 0, MEAN_SEED, index[ok], values[ok],
                                  where=where.get(dataset), agree_digits=AGREE_DIGITS)
        batch.warnings.extend(warnings)
    return batch


def _read_csvs(p: Path, allow_missing: bool) -> tuple[dict[tuple[str, str], np.ndarray], dict, list[str]]:
    """Columns of every CSV table at ``p`` (a file or a folder), with their line finders and warnings."""
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if _CSV_NAME.fullmatch(f.name))
        if not files:
            raise CorruptFile(f"{p} is a directory without hw_nas_bench_<dataset>.csv tables: {_HINT}")
    elif not p.is_file():
        raise CorruptFile(f"no such file: {p}: {_HINT}")
    else:
        files = [p]
    columns: dict[tuple[str, str], np.ndarray] = {}
    where: dict[str, Any] = {}
    warnings: list[str] = []
    for f in files:
        m = _CSV_NAME.fullmatch(f.name)
        dataset = m.group(1) if m else None
        if dataset not in DATASETS:
            raise CorruptFile(f"{f}: cannot tell the dataset from the file name: name it hw_nas_bench_<dataset>.csv "
                              f"with dataset one of {', '.join(DATASETS)}")
        cols, lines, cut = _read_csv(f, allow_missing)
        for key, metric in METRICS.items():
            columns[(dataset, metric)] = cols[key]
        where[dataset] = lambda k, f=f, lines=lines: f"{f}:{lines[k]}"
        if cut:
            warnings.append(f"{f}: the last line has no newline and its last value is shorter than the column's "
                            "others: the file may be truncated; check its end")
    return columns, where, warnings


def _read_csv(p: Path, allow_missing: bool) -> tuple[dict[str, np.ndarray], list[int], bool]:
    """One CSV table: its ten columns by official index, the line of each index, whether it looks cut."""
    n = nb201.NUM_ARCHS
    official = nb201.all_strings()
    lines = [0] * n
    seen = np.zeros(n, dtype=bool)
    table = np.full((n, len(METRICS)), np.nan)
    last: list[str] = []
    reader = None
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if not header:
                raise CorruptFile(f"{p} is empty: expected the header index,arch,{','.join(METRICS)}: {_HINT}")
            expected = {"index", "arch", *METRICS}
            missing = [c for c in ("index", "arch", *METRICS) if c not in header]
            if missing:
                raise CorruptFile(f"{p} has no column {missing[0]!r}: its columns are "
                                  f"{_shown(', '.join(header), 300)}: {_HINT}")
            extra = [c for c in header if c not in expected]
            if extra or len(header) != len(expected):
                raise CorruptFile(f"{p}: unexpected column {(extra or header)[0]!r}: an HW-NAS-Bench table has "
                                  f"exactly index, arch, {', '.join(METRICS)}: {_HINT}")
            ia, aa = header.index("index"), header.index("arch")
            pos = [header.index(k) for k in METRICS]
            keys = list(METRICS)
            for line, row in data_rows(reader, header, p, f"the line is cut or has an extra separator: {_HINT}"):
                text = row[ia].strip()
                i = int(text) if text.isascii() and text.isdigit() else -1
                if not 0 <= i < n:
                    raise CorruptFile(f"{p}:{line}: index {_shown(row[ia])} is not an architecture index "
                                      f"0..{n - 1}: {_HINT}")
                if row[aa] != official[i]:
                    raise CorruptFile(f"{p}:{line}: architecture {i} is {_shown(row[aa], 120)}, not the official "
                                      f"{official[i]!r}: {_HINT}")
                if seen[i]:
                    raise CorruptFile(f"{p}:{line}: architecture {i} appears twice (first on line {lines[i]}): "
                                      "keep one row per architecture")
                seen[i] = True
                lines[i] = line
                cells = [row[k] for k in pos]
                # One match for the whole row; a row that fails it gets the cell-by-cell check and its message.
                table[i] = _numbers(cells, p, line, keys, allow_missing)
                last.append(row[-1])
    except UnicodeDecodeError:
        raise CorruptFile(f"{p} is not a UTF-8 CSV file: {_HINT}") from None
    except csv.Error as exc:
        at = f"{p}:{reader.line_num}" if reader is not None else str(p)
        raise CorruptFile(f"{at}: malformed CSV ({exc}; a line cut inside a quoted field?): {_HINT}") from None
    if not seen.all():
        first = int(np.flatnonzero(~seen)[0])
        raise CorruptFile(f"{p} has {int(seen.sum())} of the {n} architectures (architecture {first} is missing): "
                          f"the file is truncated or incomplete: {_HINT}")
    cols = {k: table[:, j].copy() for j, k in enumerate(METRICS)}
    return cols, lines, _ends_cut(p, last)


def _ends_cut(p: Path, last: list[str]) -> bool:
    with open(p, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) in (b"\n", b"\r"):
            return False
    return _looks_cut(p, [_significant_digits(v) for v in last])


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
