"""Generic CSV tables: one row per architecture, chosen columns as (dataset, metric) series."""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, ZcdbError, short_repr as _shown
from zcdb.metrics import MetricSpec
from zcdb.spaces import get_space, parse_arch_text
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
    declare: Sequence[MetricSpec] = (),
    new_dataset: bool = False,
) -> ImportBatch:
    """Import ``columns`` (column name -> (dataset, metric)) of a CSV table keyed by ``arch_column``.

    A metric that is neither built in nor already in the store needs its direction and unit
    in ``declare`` (the CLI's ``--metric NAME:max|min[:UNIT]``).

    ``arch_column`` holds official architecture strings or official indices.
    ``epoch`` is the fidelity of the values; metrics that do not depend on training
    (params, flops, latency_*, energy_*) always go to epoch 0 and need no ``epoch``.
    ``seed`` defaults to -1: values the source reports averaged over its seeds.
    Cells must be plain decimal numbers (``94.1``, ``-3``, ``1e-05``). An empty cell,
    ``nan``, ``inf`` or a number too large for a float fails the import (naming file and
    line) unless ``allow_missing``, which stores them as missing and counts them in
    ``batch.missing``. Accuracies outside 0..100 always fail. A last line without a newline
    whose last value has fewer digits than the column's others adds a warning to
    ``batch.warnings`` (the file may have been cut). A dataset the space does not know
    (``cifar-10``) is refused unless ``new_dataset``; so is an epoch past the protocol's last.
    """
    mod = get_space(space)
    protocol = protocol or default_protocol(space)
    if not columns:
        raise ZcdbError("nothing to import: give at least one --column COL=DATASET:METRIC")
    declared = {d.name: d for d in declare}
    for col, (dataset, metric) in columns.items():
        check_metric_name(metric)
        if metric not in declared:
            store.metric(metric)  # built in or stored, else: declare it (one line, before reading the file)
        if epoch is None and not _epochless(metric):
            raise ZcdbError(f"{metric} depends on training: give the epoch of column {col!r} with --epoch E")
    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path")
    idx: list[int] = []
    lines: list[int] = []
    vals: dict[str, list[float]] = {c: [] for c in columns}
    last_digits: list[int] = []  # significant digits of each row's last field
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if not header:
                raise CorruptFile(f"{p} is empty: expected a CSV header with column {arch_column!r}: "
                                  "check the path, or re-export the table with its header")
            missing = [c for c in [arch_column, *columns] if c not in header]
            if missing:
                raise CorruptFile(
                    f"{p} has no column {missing[0]!r}: its columns are {_shown(', '.join(header), 300)}; "
                    "name one of them in --arch-column / --column"
                )
            a = header.index(arch_column)
            pos = {c: header.index(c) for c in columns}
            for line, row in data_rows(reader, header, p, "check the file for a missing or extra separator, "
                                                          "or a truncated line"):
                try:
                    idx.append(mod.index_of(parse_arch_text(row[a], mod)))
                except UnknownArch as exc:
                    raise UnknownArch(f"{p}:{line}: {exc}") from None
                lines.append(line)
                last_digits.append(_significant_digits(row[-1]))
                for c, k in pos.items():
                    vals[c].append(_number(row[k], p, line, c, allow_missing))
    except UnicodeDecodeError:
        raise CorruptFile(f"{p} is not a UTF-8 CSV file: save it as UTF-8 text") from None
    except csv.Error as exc:
        raise CorruptFile(f"{p}: malformed CSV ({exc}): check its quoting; is the file complete?") from None
    if not idx:
        raise CorruptFile(f"{p} has a header but no rows: export the table with one row per architecture")
    options = dict(space=space, arch_column=arch_column, columns={c: list(dm) for c, dm in columns.items()},
                   epoch=epoch, seed=seed, protocol=protocol, allow_missing=allow_missing)
    arch_index = np.asarray(idx, dtype=np.int64)

    def where(k: int) -> str:
        return f"{p}:{lines[k]}"

    if declared:
        options["declare"] = {n: [d.direction, d.unit, d.description] for n, d in sorted(declared.items())}
    with store.importing(p, "csv", options, replace=replace, allow_missing=allow_missing,
                       new_dataset=new_dataset) as batch:
        for d in declared.values():
            batch.declare_metric(d.name, d.higher_is_better, d.unit, d.description)
        for c, (dataset, metric) in columns.items():
            ep = 0 if _epochless(metric) else int(epoch)  # type: ignore[arg-type]
            batch.add_evaluations(space, dataset, protocol, metric, ep, seed, arch_index, np.asarray(vals[c]),
                                  where=where)
        if _looks_cut(p, last_digits):
            batch.warnings.append(
                f"{p}: the last line has no newline and its last value is shorter than the column's others: "
                "the file may be truncated; check its end"
            )
    return batch


# Plain decimal numbers only: float() also takes "9_4.1" (as 94.1) and other scripts' digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def data_rows(reader: "csv._reader", header: Sequence[str], p: Path, hint: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-empty row after the header; :class:`CorruptFile`
    (``hint`` says what to do) for a row whose field count is not the header's."""
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise CorruptFile(f"{p}:{reader.line_num}: {len(row)} fields where the header has {len(header)}: {hint}")
        yield reader.line_num, row


def _number(text: str, p: Path, line: int, column: str, allow_missing: bool) -> float:
    """The value of one cell; NaN or inf (checked by the store) for empty and non-finite cells."""
    v = text.strip()
    if _NUMBER.fullmatch(v):
        x = float(v)
        if math.isinf(x) and not allow_missing:
            raise CorruptFile(f"{p}:{line}: column {column!r} holds {_shown(v)}, too large for a float: "
                              "fix the value, or pass --allow-missing to store it as missing")
        return x
    if _NON_FINITE.fullmatch(v):
        return float(v)  # the store refuses it unless allow_missing
    if v == "" and allow_missing:
        return math.nan
    if v == "":
        raise CorruptFile(f"{p}:{line}: column {column!r} is empty: fill it in, "
                          "or pass --allow-missing to store empty cells as missing")
    raise CorruptFile(f"{p}:{line}: column {column!r} holds {_shown(v)}, not a number: "
                      "write plain decimal numbers such as 94.1 or 1e-05")


_CELL = r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*"
_ROW = re.compile(f"{_CELL}(?:,{_CELL})*")


def _numbers(cells: Sequence[str], p: Path, line: int, columns: Sequence[str], allow_missing: bool) -> list[float]:
    """The values of a row's cells, as :func:`_number` reads each (one regex for the whole row when all
    are plain finite numbers, the common case; cell by cell otherwise, for the error message)."""
    if _ROW.fullmatch(",".join(cells)):
        values = [float(c) for c in cells]
        if not any(math.isinf(v) for v in values):
            return values
    return [_number(c, p, line, col, allow_missing) for c, col in zip(cells, columns)]


def _significant_digits(text: str) -> int:
    v = text.strip()
    if not _NUMBER.fullmatch(v):
        return len(v)
    mantissa = re.split("[eE]", v.lstrip("+-"))[0]
    return len(mantissa.replace(".", "").lstrip("0"))


def _looks_cut(p: Path, last_digits: list[int]) -> bool:
    """Whether the file ends without a newline inside a value shorter than its column's usual."""
    if len(last_digits) < 3:
        return False
    with open(p, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) in (b"\n", b"\r"):
            return False
    return last_digits[-1] < float(np.median(last_digits[:-1]))

