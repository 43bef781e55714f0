"""Tables that zcdb computed itself and ships as package data: ``zcdb import builtin NAME``.

Each entry of :data:`BUILTINS` names a compact ``.npz`` file in ``zcdb/tabular/data``
and the command that regenerates it. Generated benchmarks are stored dense
(architecture x seed x epoch per metric); accuracies as integer counts of correct
predictions with the split size, so they load back bit for bit, other curves as float32.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from zcdb.errors import CorruptFile, ZcdbError
from zcdb.spaces import get_space
from zcdb.store import ImportBatch, Store

from ._safe_pickle import one_line

_ACC = ("train_acc", "val_acc", "test_acc")


@dataclass(frozen=True)
class Builtin:
    """One shipped table."""

    name: str
    file: str
    kind: str  # "benchmark" or "proxies"
    description: str
    regenerate: str


BUILTINS: dict[str, Builtin] = {
    "nb201-digits": Builtin(
        name="nb201-digits",
        file="nb201-digits.npz",
        kind="benchmark",
        description="NAS-Bench-201 cells trained on scikit-learn's digits (protocol digits-v1), "
                    "one member per isomorphism class answering for the class (seed 0; 300 also seed 1)",
        regenerate="zcdb --db digits.db tabulate --space nb201 --dataset digits --protocol digits-v1 "
                   "--archs unique --seeds 0 --workers 2 && zcdb --db digits.db tabulate --space nb201 "
                   "--dataset digits --protocol digits-v1 --archs scripts/digits_seed1_archs.txt --seeds 1 "
                   "--workers 2 && python scripts/export_builtin.py digits.db",
    ),
    "nb201-cifar10-proxies": Builtin(
        name="nb201-cifar10-proxies",
        file="nb201-cifar10-proxies.npz",
        kind="proxies",
        description="all zcdb proxies on CIFAR-10 (test-set batch of 64, seed 0) for the 725 NAS-Bench-Suite-Zero "
                    "architectures, 1,000 sampled with seed 0 and a representative of every other isomorphism class "
                    "(7,463 architectures, all 6,466 classes: every one of the 15,625 answered by class)",
        regenerate="zcdb --db p.db proxies compute --dataset cifar10 --data cifar-10-batches-py --split test "
                   "--proxies all --archs-file suite_zero_725.txt --seed 0 --workers 2; the same with --sample 1000, "
                   "then with --archs-file unique; then python scripts/wip_proxies.py save p.db nb201 cifar10 "
                   "tabular/data/nb201-cifar10-proxies.npz",
    ),
    "nb201-digits-proxies": Builtin(
        name="nb201-digits-proxies",
        file="nb201-digits-proxies.npz",
        kind="proxies",
        description="all zcdb proxies on digits (train-split batch of 64, seed 0, the NAS-Bench-201 skeleton) "
                    "for the 6,466 trained digits architectures",
        regenerate="zcdb --db digits.db proxies compute --dataset digits --split train --proxies all "
                   "--archs-file unique --seed 0 --workers 2 (the trained architectures of nb201-digits: one "
                   "representative per isomorphism class); then python scripts/export_builtin.py --proxies "
                   "digits.db digits",
    ),
    "macro-cifar10-proxies": Builtin(
        name="macro-cifar10-proxies",
        file="macro-cifar10-proxies.npz",
        kind="proxies",
        description="all zcdb proxies that apply on CIFAR-10 (test-set batch of 64, seed 0) for one member of each "
                    "of NAS-Bench-Macro's 3,969 isomorphism classes (complete: every one of the 6,561 codes answered "
                    "by class)",
        regenerate="zcdb --db macro.db proxies compute --space macro --dataset cifar10 --data cifar-10-batches-py "
                   "--split test --proxies all --archs-file unique --seed 0 --workers 2; then python "
                   "scripts/wip_proxies.py save macro.db macro cifar10 tabular/data/macro-cifar10-proxies.npz",
    ),
    "nb101-cifar10-proxies": Builtin(
        name="nb101-cifar10-proxies",
        file="nb101-cifar10-proxies.npz",
        kind="proxies",
        description="zcdb proxies on CIFAR-10 (test-set batch of 32, seed 0; the data group also with seed 1 on 25) "
                    "for NAS-Bench-Suite-Zero's 292 nb101 architectures and the 1k sample's 999 others (1,291), "
                    "complete: all 18 that apply on each of the 1,291 (grasp also with seed 1 on 25 of the 292)",
        regenerate="python scripts/suite_zero_proxies_report.py --space nb101 --print-ids --with-sample > "
                   "nb101_ids.txt; zcdb --db nb101.db proxies compute --space nb101 --dataset cifar10 --data "
                   "cifar-10-batches-py --split test --proxies all --archs-file nb101_ids.txt --seed 0 "
                   "--batch-size 32 --workers 2; then python scripts/wip_proxies.py save nb101.db nb101 cifar10 "
                   "tabular/data/nb101-cifar10-proxies.npz",
    ),
    "nb301-cifar10-proxies": Builtin(
        name="nb301-cifar10-proxies",
        file="nb301-cifar10-proxies.npz",
        kind="proxies",
        description="zcdb proxies on CIFAR-10 (test-set batch of 32, seed 0; the data group also with seed 1 on 25) "
                    "for NAS-Bench-Suite-Zero's 500 nb301 architectures, on the DARTS network it scored: "
                    "all 18 proxies that apply",
        regenerate="python scripts/suite_zero_proxies_report.py --space nb301 --print-ids > nb301_ids.txt; "
                   "zcdb --db nb301.db proxies compute --space nb301 --dataset cifar10 --data cifar-10-batches-py "
                   "--split test --proxies all --archs-file nb301_ids.txt --seed 0 --batch-size 32 --workers 2; "
                   "then python scripts/wip_proxies.py save nb301.db nb301 cifar10 "
                   "tabular/data/nb301-cifar10-proxies.npz",
    ),
}


def data_dir() -> Path:
    """The folder of the shipped tables."""
    return Path(str(resources.files("zcdb.tabular").joinpath("data")))


def builtin_path(name: str) -> Path:
    """The package file of builtin table ``name``."""
    try:
        b = BUILTINS[name]
    except KeyError:
        raise ZcdbError(f"unknown builtin table {name!r}: `zcdb import builtin --list` shows them") from None
    p = data_dir() / b.file
    if not p.is_file():
        raise CorruptFile(f"builtin table {name} is not in this installation ({p} missing): reinstall zcdb")
    return p


def available() -> list[dict[str, Any]]:
    """The builtin tables with their description, size and whether this installation has them."""
    out = []
    for b in BUILTINS.values():
        p = data_dir() / b.file
        out.append(dict(name=b.name, kind=b.kind, present=p.is_file(), bytes=p.stat().st_size if p.is_file() else 0,
                        description=b.description, regenerate=b.regenerate))
    return out


# --------------------------------------------------------------------------- benchmarks
def export_benchmark(store: Store, space: str, dataset: str, protocol: str, path: Union[str, Path]) -> dict[str, Any]:
    """Write a generated benchmark (all its stored series, aliases and protocol) as a compact ``.npz``."""
    bench = store.benchmark(space, dataset, protocol)
    archs = bench.arch_indices()
    dtype = bench.search_space.index_dtype  # sized by the space: no index wraps
    pos = np.full(bench.search_space.size, -1, dtype=np.int64)
    pos[archs] = np.arange(archs.size)
    arrays: dict[str, np.ndarray] = {"arch_index": archs.astype(dtype)}
    desc = bench.protocol_description()
    meta: dict[str, Any] = dict(space=space, dataset=dataset, protocol=protocol, protocol_description=desc,
                                metrics={})
    from zcdb import datasets

    sizes = {s: len(datasets.load(dataset, None, s)[1]) for s in ("train", "val", "test")} \
        if datasets.dataset_info(dataset).bundled else {}
    for metric in bench.metrics():
        epochs = bench.epochs(metric)
        seeds = sorted({s for e in epochs for s in bench.seeds(metric, e)})
        cube = np.full((archs.size, len(seeds), len(epochs)), np.nan)
        data = bench.records(metric)
        si = np.searchsorted(seeds, data[:, 1].astype(np.int64))
        ei = np.searchsorted(epochs, data[:, 2].astype(np.int64))
        cube[pos[data[:, 0].astype(np.int64)], si, ei] = data[:, 3]
        m = dict(epochs=epochs, seeds=seeds)
        split = metric.split("_")[0]
        if metric in _ACC and split in sizes:
            n = sizes[split]
            counts = np.round(cube * n / 100)
            if not np.allclose(counts / n * 100, cube, equal_nan=True, rtol=0, atol=1e-9):
                raise ZcdbError(f"{metric} values are not counts over {n} images: cannot store them compactly")
            arrays[metric] = np.where(np.isnan(counts), 65535, counts).astype(np.uint16)
            m["count_of"] = n
        elif metric in ("params", "flops"):
            arrays[metric] = cube  # exact: a few kB
        else:
            arrays[metric] = cube.astype(np.float32)
        meta["metrics"][metric] = m
    alias, rep = bench.aliases()
    if alias.size:
        arrays["alias_index"] = alias.astype(dtype)
        arrays["alias_rep"] = rep.astype(dtype)
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    path = _write_npz(path, arrays)
    return dict(path=str(path), archs=int(archs.size), bytes=path.stat().st_size, metrics=list(meta["metrics"]))


def _write_npz(path: Union[str, Path], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` compressed to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except Exception as exc:  # zipfile, json and numpy errors alike mean a damaged file
        raise CorruptFile(f"{path} is damaged ({type(exc).__name__}: {one_line(exc)}): reinstall zcdb") from None
    if not isinstance(meta, dict):
        raise CorruptFile(f"{path} is damaged (its meta is a {type(meta).__name__}, not an object): reinstall zcdb")
    return arrays, meta


# --------------------------------------------------------------------------- proxy scores
def export_proxies(store: Store, space: str, dataset: str, path: Union[str, Path],
                   data_labels: Optional[set[str]] = None) -> dict[str, Any]:
    """Write the stored proxy scores of a space and dataset (zcdb's own: seed >= 0) as a compact ``.npz``."""
    rows = [(r[1], r[2], r[3], r[4], r[0], r[5], r[6], r[7])
            for r in store.proxy_score_records(space, dataset, computed_only=True)]
    if data_labels is not None:
        rows = [r for r in rows if r[3] in data_labels]
    if not rows:
        raise ZcdbError(f"no zcdb-computed proxy scores for {space}/{dataset} to export")
    sets: dict[tuple, list] = {}
    for r in rows:
        sets.setdefault(r[:4], []).append(r[4:])
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = dict(kind="proxies", space=space, dataset=dataset, sets=[])
    for k, (key, vals) in enumerate(sets.items()):
        a = np.array([v[0] for v in vals], dtype=np.int64)
        arrays[f"s{k}_arch"] = a.astype(get_space(space).index_dtype)  # sized by the space: no index wraps
        arrays[f"s{k}_value"] = np.array([np.nan if v[1] is None else v[1] for v in vals], dtype=np.float64)
        arrays[f"s{k}_time"] = np.array([np.nan if v[2] is None else v[2] for v in vals], dtype=np.float32)
        reasons = {int(v[0]): v[3] for v in vals if v[3]}
        meta["sets"].append(dict(proxy=key[0], seed=key[1], batch_size=key[2], data=key[3], reasons=reasons))
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    path = _write_npz(path, arrays)
    return dict(path=str(path), sets=len(sets), rows=len(rows), bytes=path.stat().st_size)


def import_builtin(store: Store, name: str, replace: bool = False) -> ImportBatch:
    """Load the shipped table ``name`` into ``store`` (idempotent, one transaction)."""
    path = builtin_path(name)
    arrays, meta = _load_npz(path)
    try:
        return _import_arrays(store, path, name, arrays, meta, replace)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # the file read, but its arrays and meta do not fit together
        raise CorruptFile(f"{path} is damaged ({type(exc).__name__}: {one_line(exc)}): reinstall zcdb") from None


def _import_arrays(store: Store, path: Path, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                   replace: bool) -> ImportBatch:
    if meta.get("kind") == "proxies":
        with store.importing(path, "builtin", {"name": name}, replace=replace) as batch:
            for k, st in enumerate(meta["sets"]):
                archs = arrays[f"s{k}_arch"].astype(np.int64)
                reasons = [st["reasons"].get(str(a)) for a in archs.tolist()]
                batch.add_proxy_scores(meta["space"], meta["dataset"], st["proxy"], st["seed"], st["batch_size"],
                                       st["data"], archs, arrays[f"s{k}_value"],
                                       arrays[f"s{k}_time"].astype(np.float64), reasons)
        return batch
    space, dataset, protocol = meta["space"], meta["dataset"], meta["protocol"]
    archs = arrays["arch_index"].astype(np.int64)
    with store.importing(path, "builtin", {"name": name}, replace=replace) as batch:
        if meta.get("protocol_description"):
            batch.add_protocol(protocol, json.dumps(meta["protocol_description"], sort_keys=True))
        for metric, m in meta["metrics"].items():
            cube = arrays[metric]
            if "count_of" in m:
                cube = np.where(cube == 65535, np.nan, cube.astype(np.float64) / m["count_of"] * 100)
            else:
                cube = cube.astype(np.float64)
            for s, seed in enumerate(m["seeds"]):
                for e, epoch in enumerate(m["epochs"]):
                    col = cube[:, s, e]
                    keep = ~np.isnan(col)
                    if np.isinf(col).any():
                        raise CorruptFile(f"{path} is damaged (an infinite {metric}): reinstall zcdb")
                    if keep.any():
                        batch.add_evaluations(space, dataset, protocol, metric, epoch, seed, archs[keep], col[keep])
        if "alias_index" in arrays:
            batch.add_aliases(space, dataset, protocol, arrays["alias_index"].astype(np.int64),
                              arrays["alias_rep"].astype(np.int64))
    return batch
