"""Wide tables of a benchmark for pandas users, and their export (CSV, JSON, JSON lines, Parquet).

:func:`frame` is one row per architecture (``arch_index``, ``arch``, then one column per
metric); :func:`write_frame` writes it. pandas is imported on call, never at import.
:func:`write_table` writes any table given as columns (proxy scores, search runs) without pandas.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from .bench import metric_epoch
from .errors import ZcdbError
from .jsonio import dumps

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["frame", "write_frame", "write_table", "FORMATS", "format_of"]

#: What :func:`write_frame` and :func:`write_table` write (jsonl: one JSON object per line; parquet
#: needs pyarrow, the ``parquet`` extra).
FORMATS = ("csv", "json", "jsonl", "parquet")
_SUFFIXES = {"csv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet", "pq": "parquet"}


def frame(bench: Any, metrics: Optional[Sequence[str]] = None, epoch: Optional[int] = None,
          where: Optional[Sequence[Any]] = None) -> "pd.DataFrame":
    """``bench`` as a wide DataFrame: ``arch_index``, ``arch`` (official string), then ``metrics``
    (default: all the benchmark's), one row per architecture of the space, NaN where a value is
    missing. Each metric is read at ``epoch`` (costs at their epoch 0, see
    :func:`zcdb.bench.metric_epoch`; default: its last). ``where``: keep only the architectures
    that satisfy these constraints (:meth:`zcdb.bench.BaseBenchmark.feasible`).
    """
    import pandas as pd

    return pd.DataFrame(frame_columns(bench, metrics, epoch=epoch, where=where))


def frame_columns(bench: Any, metrics: Optional[Sequence[str]] = None, epoch: Optional[int] = None,
                  where: Optional[Sequence[Any]] = None) -> dict[str, np.ndarray]:
    """The columns of :func:`frame` as ``{name: array}``, without pandas (what ``zcdb export`` writes)."""
    names = list(metrics) if metrics is not None else list(bench.metrics())
    if not names:
        raise ZcdbError(f"{bench.space}/{bench.dataset} has no metrics to export: import some first (see `zcdb info`)")
    for m in names:
        if names.count(m) > 1:
            raise ZcdbError(f"metric {m} is listed twice: list each once")
        if m in ("arch_index", "arch"):
            raise ZcdbError(f"a metric named {m!r} would clash with the frame's own {m} column")
    cols = {m: np.asarray(bench.values(m, metric_epoch(bench, m, epoch)), dtype=np.float64) for m in names}
    n = bench.search_space.require_size("a wide frame")
    rows = np.flatnonzero(bench.feasible(where, epoch).mask) if where else np.arange(n)
    strings = np.asarray(bench.search_space.all_strings(), dtype=object)
    data: dict[str, Any] = {"arch_index": rows.astype(np.int64), "arch": strings[rows]}
    data.update({m: cols[m][rows] for m in names})
    return data


def format_of(fmt: Optional[str], out: Optional[Union[str, os.PathLike]]) -> str:
    """The format to write: ``fmt``, else the suffix of ``out`` (.csv, .json, .jsonl, .parquet), else csv."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ZcdbError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(out).suffix.lower().lstrip(".") if out is not None else ""
    return _SUFFIXES.get(suffix, "csv")


def _plain(v: Any) -> Any:
    """A JSON-ready scalar: numpy numbers as Python ones, NaN and infinities as None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain_column(values: Sequence[Any]) -> list[Any]:
    """:func:`_plain` of every value; a numpy array in one ``tolist`` (the export of a whole space)."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        out = values.tolist()
        if values.dtype.kind == "f":
            for i in np.flatnonzero(~np.isfinite(values)).tolist():
                out[i] = None
        return out
    return [_plain(x) for x in values]


def _require_pyarrow() -> None:
    if importlib.util.find_spec("pyarrow") is None:
        raise ZcdbError("--format parquet needs pyarrow: pip install 'zcdb[parquet]' (or pyarrow), "
                        "or use --format csv or jsonl")


def _write_text(text: str, out: Union[str, os.PathLike]) -> None:
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        p.write_text(text)
    except OSError as exc:
        raise ZcdbError(f"cannot write --out {p} ({exc.strerror}): give a path you can write") from None


def write_table(columns: dict[str, Sequence[Any]], fmt: str,
                out: Optional[Union[str, os.PathLike]] = None) -> Optional[str]:
    """Write a table given as ``{column: values}`` (equal lengths) as ``fmt`` to ``out``; with no ``out``,
    return the text (csv, json and jsonl only). pandas is not needed.

    csv: a header line, floats as Python writes them (exact), a missing or NaN value as an empty field;
    json: a list of records, jsonl: one record per line, NaN as null in both; parquet (pyarrow): typed
    columns, NaN as null.
    """
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    if any(len(v) != n for v in columns.values()):
        raise ValueError("write_table: columns of unequal lengths")
    if fmt == "parquet":
        if out is None:
            raise ZcdbError("parquet is binary: give --out FILE.parquet")
        _require_pyarrow()
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: pa.array(_plain_column(v)) for k, v in columns.items()}) if names else pa.table({})
        p = Path(out)
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            pq.write_table(table, p)
        except OSError as exc:
            raise ZcdbError(f"cannot write --out {p} ({exc}): give a path you can write") from None
        return None
    cols = [_plain_column(columns[k]) for k in names]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        w.writerows(zip(*cols))  # csv writes None as an empty field
        text = buf.getvalue()
    elif fmt in ("json", "jsonl"):
        records = (dict(zip(names, row)) for row in zip(*cols))
        if fmt == "json":
            text = json.dumps(list(records)) + "\n"
        else:
            text = "".join(json.dumps(r) + "\n" for r in records)
    else:
        raise ZcdbError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if out is None:
        return text
    _write_text(text, out)
    return None


def write_frame(df: "pd.DataFrame", fmt: str, out: Optional[Union[str, os.PathLike]] = None) -> Optional[str]:
    """Write ``df`` as ``fmt`` to ``out``; with no ``out``, return the text (csv and json only).

    JSON is a list of records (NaN as null). Parquet needs pyarrow or fastparquet; without
    them it is a one-line :class:`ZcdbError` naming the fix."""
    if fmt == "parquet":
        if out is None:
            raise ZcdbError("parquet is binary: give --out FILE.parquet")
        if not any(importlib.util.find_spec(m) is not None for m in ("pyarrow", "fastparquet")):
            raise ZcdbError("--format parquet needs pyarrow (pip install pyarrow), or use --format csv or json")
    text: Optional[str] = None
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":  # Python's json writes floats exactly (pandas' to_json rounds to 15 digits)
        text = dumps(df.to_dict(orient="records")) + "\n"
    elif fmt == "jsonl":
        text = "".join(dumps(r) + "\n" for r in df.to_dict(orient="records"))
    elif fmt != "parquet":
        raise ZcdbError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if out is None:
        return text
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            p.write_text(text or "")
    except OSError as exc:
        raise ZcdbError(f"cannot write --out {p} ({exc.strerror}): give a path you can write") from None
    return None
