"""zcdb's proxies on NAS-Bench-Suite-Zero's architectures of a space, against the released scores
(issue 15: nb301's 500; issue 14: nb101's 500 keys, 292 architectures, and the 1k sample).

    python scripts/suite_zero_proxies_report.py SCORES [--space nb301|nb101] [--zc FILE]
    python scripts/suite_zero_proxies_report.py --space nb101 --print-ids > nb101_ids.txt   # for --archs-file
    python scripts/suite_zero_proxies_report.py --space nb101 --print-ids --with-sample    # and the 1k sample's

SCORES is a store holding zcdb's cifar10 scores of the space (``zcdb proxies compute --space S``),
a partial table saved by ``scripts/wip_proxies.py save`` (``.npz``), or a background job's raw
lines (``.jsonl``: one ``{"key", "proxy", "score", "seconds", "cpu_seconds"}`` per line).

The released file is ``zc_nasbench301.json`` or ``zc_nasbench101.json`` (``{"nasbench301":
{"cifar10": {key: record}}}``); NB101's keys are NASLib's unpruned cells, several per
architecture: the first of each is kept, as ``zcdb import naslib-zc`` keeps it.

Prints Markdown: (1) per proxy, on the architectures zcdb has scored, the Spearman between
zcdb's score and the released one, each one's Spearman with the released ``val_accuracy``
(the benchmark's real trainings), the released proxy's Spearman on all of them, zcdb's score
against itself with another seed (initialization and batch, where stored: a noise ceiling),
and zcdb's mean time per architecture; (2) for nb101 with ``--sample`` (default: the shared
``nasbench-vis_data-1k.json``), zcdb's scores against the sample's 108-epoch validation
accuracy; (3) learned predictors on Suite-Zero's protocol (100 training architectures, the
rest to test, 10 seeded splits): zcdb's default surrogate (gradient-boosted trees on
quantile-normal targets) on the onehot encoding, on the released proxies, on both, and on
zcdb's proxies that cover all of them (params and flops by formula where the job has not
stored them: the same values); mean Spearman and Kendall (standard deviation over the
splits), beside the best single released proxy.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

import zcdb
from zcdb.proxies.registry import orientation
from zcdb.proxies.stored import data_label
from zcdb.spaces import get_space
from zcdb.surrogates.evaluation import _trial_seed
from zcdb.surrogates.fitting import _seeded, _with_target, default_model
from zcdb.surrogates.metrics import score
from zcdb.surrogates.splits import split

#: Where each space's released file is under the shared data, and the benchmark name heading it.
FILES = {"nb301": ("nb301/zc_nasbench301.json", "nasbench301"), "nb101": ("nb101/zc_nasbench101.json", "nasbench101")}
#: The proxies NAS-Bench-Suite-Zero released for nb301 and nb101 (for nb301 params and flops are
#: exact costs, see nb301_cost; for nb101 they are NASLib's unpruned networks').
RELEASED = ("params", "flops", "l2_norm", "synflow", "jacov", "epe_nas", "snip", "grad_norm", "plain", "fisher",
            "grasp")
#: Proxies whose zcdb score is a function of the architecture and the seeded initialization only (no data).
DATA_FREE = ("params", "flops", "l2_norm", "synflow")


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3f}"


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return math.nan, int(ok.sum())
    return float(stats.spearmanr(a[ok], b[ok])[0]), int(ok.sum())


def _index_of_key(space: str, key: str) -> int:
    sp = get_space(space)
    return int(sp.index_of(sp.from_naslib(ast.literal_eval(key))))


def released_table(path: Path, space: str) -> tuple[list[str], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Keys, ids, released scores per proxy and val_accuracy, in the file's order (the first key
    of each architecture where several name one)."""
    data = json.loads(path.read_text())[FILES[space][1]]["cifar10"]
    first: dict[int, str] = {}
    for k in data:
        first.setdefault(_index_of_key(space, k), k)
    keys = list(first.values())
    ids = np.array(list(first), dtype=np.int64)
    rel = {p: np.array([_released(data[k].get(p, math.nan)) for k in keys], dtype=np.float64) for p in RELEASED}
    acc = np.array([data[k]["val_accuracy"] for k in keys], dtype=np.float64)
    return keys, ids, rel, acc


def _released(v: Any) -> float:
    """A released score: a number, or NASLib's ``{"score": x, "time": t}``."""
    return float(v["score"] if isinstance(v, dict) else v)


def sample_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Ids and 108-epoch validation accuracy (%) of ``nasbench-vis_data-1k.json``'s architectures."""
    d = json.loads(path.read_text())
    sp = get_space("nb101")
    ids = np.array([sp.index_of(h) for h in d["key"]], dtype=np.int64)
    return ids, 100 * np.asarray(d["108_final_validation_accuracy"], dtype=np.float64)


def zcdb_scores(source: Path, space: str, ids: np.ndarray, seed: int, batch_size: int, split_name: str
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """zcdb's scores, wall seconds and (where known) CPU seconds per proxy, aligned with ``ids``."""
    pos = {int(i): n for n, i in enumerate(ids.tolist())}
    vals: dict[str, np.ndarray] = {}
    secs: dict[str, np.ndarray] = {}
    cpus: dict[str, np.ndarray] = {}

    def put(proxy: str, arch: int, value: Any, wall: Any, cpu: Any = None) -> None:
        if arch not in pos:
            return
        for table, v in ((vals, value), (secs, wall), (cpus, cpu)):
            table.setdefault(proxy, np.full(ids.size, np.nan))[pos[arch]] = math.nan if v is None else v

    if source.suffix == ".jsonl":
        for line in source.read_text().splitlines():
            r = json.loads(line)
            arch = int(r["id"]) if "id" in r else _index_of_key(space, r["key"])
            put(r["proxy"], arch, r["score"], r["seconds"], r.get("cpu_seconds"))
        return vals, secs, cpus
    store = zcdb.open(":memory:" if source.suffix == ".npz" else source)
    if source.suffix == ".npz":
        from zcdb.tabular import builtin

        arrays, meta = builtin._load_npz(source)
        builtin._import_arrays(store, source, source.stem, arrays, meta, False)
    for run in store.proxy_runs(space, "cifar10"):
        p = run["proxy"]
        if run["seed"] != seed or run["batch_size"] != batch_size or run["data"] != data_label(p, "cifar10", split_name):
            continue
        idx, values, times = store.proxy_scores(space, "cifar10", p, seed, batch_size, run["data"])
        for a, v, t in zip(np.asarray(idx).tolist(), np.asarray(values).tolist(), np.asarray(times).tolist()):
            put(p, int(a), v, t)
    return vals, secs, cpus


def proxy_section(space: str, vals, secs, cpus, rel, acc, other: dict[str, np.ndarray]) -> None:
    order = [p for p in RELEASED if p in vals] + sorted(p for p in vals if p not in RELEASED)
    scored = np.zeros(acc.size, dtype=bool)
    for p in order:
        scored |= np.isfinite(vals[p])
    print(f"## zcdb's proxies on the {acc.size} NAS-Bench-Suite-Zero {space} architectures "
          f"(cifar10; {int(scored.sum())} have a score, n per proxy below)\n")
    has_cpu = any(np.isfinite(c).any() for c in cpus.values())  # only the job's raw lines record it
    print("| proxy | n | Spearman zcdb vs released | zcdb vs val_accuracy | released vs val_accuracy (same n) "
          f"| released vs val_accuracy ({acc.size}) | zcdb seed 0 vs seed 1 (n) | s/arch wall |" + (" s/arch CPU |" if has_cpu else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if has_cpu else ""))
    for p in order:
        ours = vals[p]
        have = np.isfinite(ours)
        r_ours_rel, n = _spearman(ours, rel[p]) if p in rel else (math.nan, int(have.sum()))
        r_ours_acc, _ = _spearman(orientation(p) * ours, acc)
        r_rel_acc, _ = _spearman(np.where(have, rel[p], np.nan), acc) if p in rel else (math.nan, 0)
        r_rel_all, _ = _spearman(rel[p], acc) if p in rel else (math.nan, 0)
        r_seeds, n_seeds = _spearman(ours, other[p]) if p in other else (math.nan, 0)
        seeds = f"{_fmt(r_seeds)} ({n_seeds})" if n_seeds else ""
        wall = float(np.nanmean(secs[p])) if np.isfinite(secs[p]).any() else math.nan
        cpu = float(np.nanmean(cpus[p])) if p in cpus and np.isfinite(cpus[p]).any() else math.nan
        print(f"| {p} | {int(have.sum())} | {_fmt(r_ours_rel)} | {_fmt(r_ours_acc)} | {_fmt(r_rel_acc)} | "
              f"{_fmt(r_rel_all)} | {seeds} | {wall:.2f} |" + (f" {_fmt(cpu)} |" if has_cpu else ""))
    per_arch_wall = sum(np.nanmean(secs[p]) for p in order if np.isfinite(secs[p]).any())
    print(f"\nmean time per architecture, all {len(order)} proxies listed (shared passes split among them): "
          f"{per_arch_wall:.1f} s wall", end="")
    if has_cpu:
        per_arch_cpu = sum(np.nanmean(c) for c in cpus.values() if np.isfinite(c).any())
        print(f", {per_arch_cpu:.1f} s CPU (one niced thread on a shared machine)")
    else:
        print()


def _fit_predict(X_train, y_train, X_test, seed: int) -> np.ndarray:
    model = _with_target(_seeded(default_model(seed, len(y_train)), seed), "quantile", len(y_train))
    return model.fit(X_train, y_train).predict(X_test)


def sample_section(vals: dict[str, np.ndarray], acc: np.ndarray) -> None:
    """zcdb's scores of the 1k sample's architectures against their 108-epoch validation accuracy."""
    have = {p: v for p, v in vals.items() if np.isfinite(v).any()}
    print(f"\n## zcdb's proxies on the {acc.size} architectures of the NAS-Bench-101 1k sample "
          "(cifar10; Spearman with 108-epoch val accuracy)\n")
    print("| proxy | n | zcdb vs val_acc@108 |")
    print("|---|---|---|")
    for p, v in have.items():
        r, n = _spearman(orientation(p) * v, acc)
        print(f"| {p} | {n} | {_fmt(r)} |")


def predictor_section(space: str, ids, rel, vals, acc, trials: int, n_train: int) -> None:
    sp = get_space(space)
    _, onehot = sp.encode(ids, "onehot")
    released = np.column_stack([rel[p] for p in RELEASED])
    sets = {"onehot": onehot, "released proxies": released, "onehot + released proxies": np.hstack([onehot, released])}
    ours = {p: vals[p] for p in vals if np.isfinite(vals[p]).all()}
    for k, p in enumerate(("params", "flops")):  # zcdb's exact costs: the proxies' values, by formula
        ours.setdefault(p, np.array([sp.cost(int(i))[k] for i in ids]))
    mine = np.column_stack(list(ours.values()))
    label = "+".join(ours)
    sets[f"zcdb proxies ({label})"] = mine
    sets[f"onehot + zcdb proxies ({label})"] = np.hstack([onehot, mine])
    results: dict[str, list[dict[str, float]]] = {k: [] for k in sets}
    single: dict[str, list[float]] = {p: [] for p in RELEASED}
    for t in range(trials):
        seed = _trial_seed(0, n_train, t)
        train, test = split(np.arange(ids.size), n_train, seed=seed)
        for name, X in sets.items():
            results[name].append(score(_fit_predict(X[train], acc[train], X[test], seed), acc[test]))
        for p in RELEASED:
            single[p].append(score(orientation(p) * rel[p][test], acc[test])["spearman"])
    print(f"\n## Learned predictors of val_accuracy, Suite-Zero's protocol ({n_train} train, "
          f"{ids.size - n_train} test, {trials} splits)\n")
    print("| features | Spearman | Kendall |")
    print("|---|---|---|")
    for name, rows in results.items():
        sp_ = np.array([r["spearman"] for r in rows])
        kt = np.array([r["kendall"] for r in rows])
        print(f"| {name} | {sp_.mean():.3f} ± {sp_.std(ddof=1):.3f} | {kt.mean():.3f} ± {kt.std(ddof=1):.3f} |")
    best = max(single, key=lambda p: np.nanmean(single[p]))
    b = np.array(single[best])
    print(f"| best single released proxy ({best}), no training | {b.mean():.3f} ± {b.std(ddof=1):.3f} | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores", type=Path, nargs="?")
    ap.add_argument("--space", choices=sorted(FILES), default="nb301")
    ap.add_argument("--print-ids", action="store_true",
                    help="print the architectures' ids, one a line (for --archs-file), and stop")
    ap.add_argument("--with-sample", action="store_true",
                    help="nb101, with --print-ids: the 1k sample's architectures too (after the Suite-Zero ones)")
    shared = Path(os.environ.get("ZCDB_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--zc", type=Path, default=None, help="the released file (default: the shared one of --space)")
    ap.add_argument("--sample", type=Path, default=shared / "nb101" / "nasbench-vis_data-1k.json",
                    help="nb101: the 1k sample (nasbench-vis_data-1k.json)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--other-seed", type=int, default=1, help="scores of this seed, where stored, give the noise column")
    ap.add_argument("--split", default="test")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=100)
    args = ap.parse_args()
    space = args.space
    _, ids, rel, acc = released_table(args.zc or shared / FILES[space][0], space)
    sample = sample_table(args.sample) if space == "nb101" and args.sample.exists() else None
    if args.print_ids:
        out = ids.tolist()
        if args.with_sample and sample is not None:
            out += [i for i in sample[0].tolist() if i not in set(out)]
        print("\n".join(str(i) for i in out))
        return
    if args.scores is None:
        ap.error("give SCORES (a store, a .npz or a .jsonl), or --print-ids")
    vals, secs, cpus = zcdb_scores(args.scores, space, ids, args.seed, args.batch_size, args.split)
    other = {} if args.scores.suffix == ".jsonl" else \
        zcdb_scores(args.scores, space, ids, args.other_seed, args.batch_size, args.split)[0]
    proxy_section(space, vals, secs, cpus, rel, acc, other)
    if sample is not None:
        sample_section(zcdb_scores(args.scores, space, sample[0], args.seed, args.batch_size, args.split)[0],
                       sample[1])
    predictor_section(space, ids, rel, vals, acc, args.trials, args.n_train)


if __name__ == "__main__":
    main()
