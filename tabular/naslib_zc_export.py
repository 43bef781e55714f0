"""zcdb's own proxy scores in NAS-Bench-Suite-Zero's JSON layouts, for NASLib users.

The two layouts :mod:`zcdb.tabular.naslib_zc` reads, so that ``zcdb import naslib-zc`` of what
is written here gives the same scores back:

* ``zc`` (one ``zc_<space>.json``): ``{dataset: {arch_key: {PROXY: {"score": s, "time": t}, ...,
  "val_accuracy": v}}}``; for a dataset NAS-Bench-Suite-Zero does not have (``digits``), the older
  flat layout ``{arch_key: {...}}``, imported with ``zcdb import naslib-zc FILE --dataset digits``;
* ``benchmarks`` (a folder): ``PROXY/benchmark--<NASLib space>--<dataset>--0.json``, each a list of
  ``{"idx": k, "arch": arch_key, PROXY: {"score": s, "time": t}, "val_accuracy": v}``.

``arch_key`` is NASLib's op-index tuple as NASLib writes it (``"(0, 2, 3, 2, 3, 1)"``) where the
space has a converter (:meth:`to_naslib`), else the official string. ``val_accuracy`` is the
store's value under the metric and epoch the importer files it under
(:meth:`~zcdb.spaces.SearchSpace.suite_zero_metric`), left out where the store has none. The
layout holds one score set per proxy and no seed, batch size or data: a proxy with several
stored sets must be narrowed with ``seed``/``batch_size``/``data``, and they are lost on the way
back (the importer files them as seed and batch size -1, data ``naslib-zc``). A score that is
undefined is written as JSON's ``NaN`` (Python's ``json``, and so NASLib, read it back as NaN),
never as NASLib's ``-1e8`` stand-in; an unknown time as ``null``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from zcdb.errors import MissingCapability, UnknownMetric, ZcdbError
from zcdb.spaces import SUITE_ZERO_SPACES, get_space
from zcdb.spaces.sampled import dense_positions
from zcdb.store import Store

from .naslib_zc import _KNOWN_DATASETS

__all__ = ["LAYOUTS", "naslib_key", "naslib_zc_document", "write_naslib_zc"]

#: The layouts :func:`write_naslib_zc` writes.
LAYOUTS = ("zc", "benchmarks")
_START = 0


def naslib_key(space: Any, arch_index: int) -> str:
    """The key NAS-Bench-Suite-Zero files use for an architecture of ``space``."""
    to_naslib = getattr(space, "to_naslib", None)
    if to_naslib is None:
        return space.string_of(int(arch_index))
    key = to_naslib(int(arch_index))
    if any(isinstance(x, (tuple, list)) for x in key):  # cells of (input, op) pairs, as zc_nasbench301.json
        return str([[tuple(int(v) for v in pair) for pair in cell] for cell in key])
    return str(tuple(int(x) for x in key))


def _select_sets(store: Store, space: str, dataset: str, proxies: Optional[Sequence[str]], seed: Optional[int],
                 batch_size: Optional[int], data: Optional[str]) -> list[dict[str, Any]]:
    sets = [r for r in store.proxy_runs(space, dataset) if r["seed"] >= 0
            and (seed is None or r["seed"] == seed) and (batch_size is None or r["batch_size"] == batch_size)
            and (data is None or r["data"] == data)]
    if proxies is not None:
        missing = sorted(set(proxies) - {r["proxy"] for r in sets})
        if missing:
            raise ZcdbError(f"no zcdb-computed scores of {', '.join(missing)} on {space}/{dataset} for these "
                            "--seed/--batch-size/--data: see `zcdb info`")
        sets = [r for r in sets if r["proxy"] in set(proxies)]
    if not sets:
        raise ZcdbError(f"no zcdb-computed proxy scores on {space}/{dataset} to export (imported ones are "
                        "NAS-Bench-Suite-Zero's own): compute some with `zcdb proxies compute`, or "
                        "`zcdb import builtin nb201-cifar10-proxies`")
    by_proxy: dict[str, list[dict[str, Any]]] = {}
    for r in sets:
        by_proxy.setdefault(r["proxy"], []).append(r)
    for proxy, rs in by_proxy.items():
        if len(rs) > 1:
            keys = "; ".join(f"seed {r['seed']} batch size {r['batch_size']} data {r['data']}" for r in rs)
            raise ZcdbError(f"{proxy} has {len(rs)} score sets on {space}/{dataset} ({keys}) and the NASLib layout "
                            "holds one: pick one with --seed, --batch-size or --data")
    return [rs[0] for _, rs in sorted(by_proxy.items())]


def _val_accuracy(store: Store, mod: Any, dataset: str) -> Optional[Callable[[int], float]]:
    """The stored ground truth of an architecture by its stored key (NaN where missing), or None."""
    metric, epoch = mod.suite_zero_metric(dataset)
    if not any(b["space"] == mod.name and b["dataset"] == dataset for b in store.benchmark_rows()):
        return None
    try:
        bench = store.benchmark(mod.name, dataset)
        if metric not in bench.metrics() or epoch not in bench.epochs(metric):
            return None
        values = np.asarray(bench.values(metric, epoch))
    except (UnknownMetric, ZcdbError):  # several protocols, none default: no ground truth to attach
        return None
    axis = bench.search_space  # a space too large to enumerate: dense over its stored sample

    def at(key: int) -> float:
        pos, stored = dense_positions(axis, [key])
        return math.nan if stored is not None and not stored[0] else float(values[pos[0]])

    return at


def _entry(score: Optional[float], seconds: Optional[float]) -> dict[str, Any]:
    return {"score": math.nan if score is None else float(score),
            "time": None if seconds is None or not math.isfinite(seconds) else float(seconds)}


def naslib_zc_document(store: Store, space: str, dataset: str, proxies: Optional[Sequence[str]] = None,
                       seed: Optional[int] = None, batch_size: Optional[int] = None,
                       data: Optional[str] = None) -> dict[str, dict[str, dict[str, Any]]]:
    """zcdb's own scores (seed >= 0) of ``space``/``dataset`` as a ``zc_<space>.json`` document:
    ``{dataset: {arch_key: {proxy: {"score", "time"}, ..., "val_accuracy"}}}``, keys in index order."""
    mod = get_space(space)
    chosen = _select_sets(store, space, dataset, proxies, seed, batch_size, data)
    records: dict[int, dict[str, Any]] = {}
    for st in chosen:
        idx, vals, times = store.proxy_scores(space, dataset, st["proxy"], st["seed"], st["batch_size"], st["data"])
        for a, v, t in zip(idx.tolist(), vals.tolist(), times.tolist()):
            records.setdefault(a, {})[st["proxy"]] = _entry(v, t)
    val = _val_accuracy(store, mod, dataset)
    out: dict[str, dict[str, Any]] = {}
    for a in sorted(records):
        rec = records[a]
        v = val(a) if val is not None else math.nan
        if not math.isnan(v):
            rec["val_accuracy"] = v
        out[naslib_key(mod, a)] = rec
    return {dataset: out}


def _naslib_space_name(space: str) -> str:
    for naslib, name in SUITE_ZERO_SPACES.items():
        if name == space:
            return naslib
    raise MissingCapability(f"space {space} has no NAS-Bench-Suite-Zero name, which the per-proxy file names "
                            f"need: use --format naslib-zc (one zc_{space}.json)")


def write_naslib_zc(store: Store, space: str, dataset: str, out: Optional[Union[str, os.PathLike]],
                    layout: str = "zc", **select: Any) -> dict[str, Any]:
    """Write :func:`naslib_zc_document` as ``layout`` (see :data:`LAYOUTS`): ``zc`` to the file ``out``
    (or return it as ``text`` with ``out=None``), ``benchmarks`` into the folder ``out``.

    Returns what was written: ``archs``, ``proxies``, ``files`` (and ``text``)."""
    if layout not in LAYOUTS:
        raise ZcdbError(f"unknown NASLib layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    naslib_space = _naslib_space_name(space) if layout == "benchmarks" else None
    doc = naslib_zc_document(store, space, dataset, **select)
    archs = doc[dataset]
    proxies = sorted({k for rec in archs.values() for k in rec if k != "val_accuracy"})
    if layout == "zc":
        # the importer takes a file of another dataset for the flat layout ({arch_key: record}),
        # with the dataset named on its command line
        text = json.dumps(doc if dataset in _KNOWN_DATASETS else archs) + "\n"
        if out is None:
            return dict(archs=len(archs), proxies=proxies, files=[], text=text)
        p = Path(out)
        _write(p, text)
        return dict(archs=len(archs), proxies=proxies, files=[str(p)])
    if out is None:
        raise ZcdbError("--format naslib-zc-benchmarks writes a folder of files: give --out DIR")
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ZcdbError(f"--out {root} is a file: give a folder (it gets one subfolder per proxy)")
    files = []
    for proxy in proxies:
        rows = []
        for key, rec in archs.items():
            if proxy not in rec:
                continue
            row: dict[str, Any] = {"idx": len(rows), "arch": key, proxy: rec[proxy]}
            if "val_accuracy" in rec:
                row["val_accuracy"] = rec["val_accuracy"]
            rows.append(row)
        p = root / proxy / f"benchmark--{naslib_space}--{dataset}--{_START}.json"
        _write(p, json.dumps(rows) + "\n")
        files.append(str(p))
    return dict(archs=len(archs), proxies=proxies, files=files)


def _write(p: Path, text: str) -> None:
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    except OSError as exc:
        raise ZcdbError(f"cannot write {p} ({exc.strerror}): give a path you can write") from None
