"""Generic CSV tables: one row per architecture, chosen columns as (dataset, metric) series."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Mapping, Optional, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, ZcdbError
from zcdb.spaces import get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store, check_metric_name, default_protocol

#: Metrics that are properties of the network, not of training: stored at epoch 0 by default.
_EPOCHLESS = ("params", "flops")


def _epochless(metric: str) -> bool:
    return metric in _EPOCHLESS or metric.startswith(("latency_", "energy_"))


def parse_column_spec(spec: str) -> tuple[str, str, str]:
    """Parse ``COL=DATASET:METRIC`` into ``(column, dataset, metric)``."""
    col, eq, rest = spec.rpartition("=")
    dataset, colon, metric = rest.partition(":")
    if not eq or not col or not colon or not dataset or not metric:
        raise ZcdbError(f"bad column spec {spec!r}: write COL=DATASET:METRIC, e.g. cifar10=cifar10:val_acc")
    check_metric_name(metric)
    return col, dataset, metric


def import_csv(
    store: Store,
    path: Union[str, os.PathLike],
    space: str,
    arch_column: str,
    columns: Mapping[str, tuple[str, str]],
    epoch: Optional[int] = None,
    seed: int = MEAN_SEED,
    protocol: Optional[str] = None,
    allow_missing: bool = False,
    replace: bool = False,
) -> ImportBatch:
    """Import ``columns`` (column name -> (dataset, metric)) of a CSV table keyed by ``arch_column``.

    ``arch_column`` holds official architecture strings or official indices.
    ``epoch`` is the fidelity of the values; metrics that do not depend on training
    (params, flops, latency_*, energy_*) always go to epoch 0 and need no ``epoch``.
    ``seed`` defaults to -1: values the source reports averaged over its seeds.
    An empty or non-numeric cell fails the import (naming file and line) unless
    ``allow_missing``, which stores NaN for empty cells.
    """
    mod = get_space(space)
    protocol = protocol or default_protocol(space)
    if not columns:
        raise ZcdbError("nothing to import: give at least one --column COL=DATASET:METRIC")
    for col, (dataset, metric) in columns.items():
        check_metric_name(metric)
        if epoch is None and not _epochless(metric):
            raise ZcdbError(f"{metric} depends on training: give the epoch of column {col!r} with --epoch E")
    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path")
    idx: list[int] = []
    vals: dict[str, list[float]] = {c: [] for c in columns}
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if not header:
                raise CorruptFile(f"{p} is empty: expected a CSV header with column {arch_column!r}")
            missing = [c for c in [arch_column, *columns] if c not in header]
            if missing:
                raise CorruptFile(
                    f"{p} has no column {missing[0]!r}: its columns are {', '.join(header)}"
                )
            a = header.index(arch_column)
            pos = {c: header.index(c) for c in columns}
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    raise CorruptFile(f"{p}:{line}: {len(row)} fields where the header has {len(header)} (truncated?)")
                cell = row[a].strip()
                try:
                    idx.append(mod.index_of(int(cell)) if cell.isdigit() else mod.index_of(cell))
                except UnknownArch as exc:
                    raise UnknownArch(f"{p}:{line}: {exc}") from None
                for c, k in pos.items():
                    v = row[k].strip()
                    if v == "" and allow_missing:
                        vals[c].append(math.nan)
                        continue
                    try:
                        vals[c].append(float(v))
                    except ValueError:
                        raise CorruptFile(
                            f"{p}:{line}: column {c!r} holds {v!r}, not a number"
                            + ("" if allow_missing else " (pass --allow-missing to store empty cells as NaN)")
                        ) from None
    except UnicodeDecodeError:
        raise CorruptFile(f"{p} is not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise CorruptFile(f"{p}: malformed CSV ({exc})") from None
    if not idx:
        raise CorruptFile(f"{p} has a header but no rows")
    options = dict(space=space, arch_column=arch_column, columns={c: list(dm) for c, dm in columns.items()},
                   epoch=epoch, seed=seed, protocol=protocol, allow_missing=allow_missing)
    arch_index = np.asarray(idx, dtype=np.int64)
    with store.importing(p, "csv", options, replace=replace) as batch:
        for c, (dataset, metric) in columns.items():
            ep = 0 if _epochless(metric) else int(epoch)  # type: ignore[arg-type]
            batch.add_evaluations(space, dataset, protocol, metric, ep, seed, arch_index, np.asarray(vals[c]))
    return batch
