"""The surrogate studies of issue 5, on real tables; each part prints a table of mean ± std.

    .venv/bin/python scripts/surrogate_runs.py suite-zero [--trials 100] [--proxies-db out/proxies.db]
    .venv/bin/python scripts/surrogate_runs.py curve [--trials 20] [--proxies-db out/proxies.db]
    .venv/bin/python scripts/surrogate_runs.py digits --digits-db DB [--trials 100]

``suite-zero``: NAS-Bench-Suite-Zero's protocol on nb201 cifar10 test accuracy: train on
100, test on the held-out rest of the scored architectures; encoding only, encoding +
proxies, proxies only, and the best single proxy on the same test sets. With
``--proxies-db`` (a store holding zcdb's own proxies for cifar10) the table is imported
into a copy of it and the study runs on those; otherwise on the 725 Suite-Zero
architectures and their scores.

``curve``: learning curve in the training size for cifar10 test and validation accuracy:
``onehot`` on the whole table (test on 1,000 held-out), and ``onehot``, ``onehot,zc``,
``onehot,zc,cost`` on the architectures that have proxy scores (the 725 Suite-Zero ones,
or with ``--proxies-db`` zcdb's own; test on those not used by the largest size); ``cost`` is
params and FLOPs (the Suite-Zero values, the exact formula elsewhere) and HW-NAS-Bench's
nine latency/energy measures.

``digits``: the same on a digits benchmark store (``zcdb import builtin nb201-digits``, or
the store of a running ``zcdb tabulate``; proxies used if the store has them), plus a
surrogate of the whole table: fit on 20% of the trained architectures, predict the rest.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def table(rows: list[dict]) -> str:
    """Rows of :func:`zcdb.surrogates.study` as text."""
    def pm(r: dict, k: str) -> str:
        m, s = r[f"{k}_mean"], r[f"{k}_std"]
        return "" if m != m else f"{m:.3f}" + ("" if s != s else f" ± {s:.3f}")

    head = f"{'features':28s} {'n_train':>7s} {'n_test':>6s} {'trials':>6s} {'spearman':>15s} {'kendall':>15s} " \
           f"{'r2':>15s} {'top10':>15s}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['features']:28s} {r['n_train']:7d} {r['n_test']:6d} {r['trials']:6d} "
                     f"{pm(r, 'spearman'):>15s} {pm(r, 'kendall'):>15s} {pm(r, 'r2'):>15s} {pm(r, 'top10'):>15s}")
    return "\n".join(lines)


def copy_store(src_path: str, dst_path: Path) -> None:
    """Copy a store (read-only on the source, consistent even while another process writes it)."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
    dst = sqlite3.connect(dst_path)
    src.backup(dst)
    dst.close()
    src.close()


def nb201_store(data: Path, proxies_db: str | None = None):
    """A temporary store with the cifar10 tables (and the Suite-Zero scores, or a copy of ``proxies_db``)."""
    import zcdb
    from zcdb.tabular.csv_table import import_csv
    from zcdb.tabular.naslib_zc import import_naslib_zc

    path = Path(tempfile.mkdtemp(prefix="zcdb-surrogate-")) / "nb201.db"
    if proxies_db:
        copy_store(proxies_db, path)
    store = zcdb.open(path)
    import_csv(store, data / "nb201" / "nats_tss_test_accuracy_200ep.csv", "nb201", "ArchitectureString",
               {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc")}, epoch=200, replace=True)
    import_csv(store, data / "nb201" / "naslib_val_accuracy_200ep.csv", "nb201", "arch",
               {"cifar10": ("cifar10", "val_acc")}, epoch=200, replace=True)
    if not proxies_db:
        import_naslib_zc(store, data / "naslib-zc" / "zc_nasbench201_cifar10.json")
    hw = {f"{d}_{k}": ("cifar10", f"{k}_{d}") for d, k in
          [("edgegpu", "latency"), ("edgegpu", "energy"), ("raspi4", "latency"), ("edgetpu", "latency"),
           ("pixel3", "latency"), ("eyeriss", "latency"), ("eyeriss", "energy"), ("fpga", "latency"),
           ("fpga", "energy")]}
    import_csv(store, data / "hw-nas-bench" / "hw_nas_bench_cifar10.csv", "nb201", "arch", hw)
    return store


TARGET = "quantile"


def run(title: str, **kwargs) -> list[dict]:
    """Run one study, print its table with the wall time, return its rows."""
    from zcdb.surrogates import study

    t = time.perf_counter()
    rows = study(target=TARGET, **kwargs)
    print(f"\n## {title} (target transform: {TARGET})  [{time.perf_counter() - t:.0f} s]\n{table(rows)}", flush=True)
    return rows


def suite_zero(args: argparse.Namespace) -> None:
    store = nb201_store(Path(args.data), args.proxies_db)
    bench = store.benchmark("nb201", "cifar10")
    from zcdb.surrogates import feature_matrix

    # the default choice of score set per proxy (most architectures, then lowest seed): data-free
    # proxies are stored with data 'none'/'random', the others with 'cifar10:test'
    fm = feature_matrix(bench, "zc")
    print("proxy score sets: " + "; ".join(f"{p} (seed {c['seed']}, batch {c['batch_size']}, {c['data']}, "
                                           f"{c['n']} archs)" for p, c in fm.zc_configs.items()))
    where = "zcdb's own proxies" if args.proxies_db else "the 725 NAS-Bench-Suite-Zero architectures and scores"
    run(f"NAS-Bench-Suite-Zero protocol, nb201 cifar10 test_acc, {where}", benchmark=bench, metric="test_acc",
        feature_sets=["onehot", "onehot,zc", "zc"], n_train=[100], trials=args.trials, n_test=None, seed=0)


def curve(args: argparse.Namespace) -> None:
    store = nb201_store(Path(args.data), args.proxies_db)
    bench = store.benchmark("nb201", "cifar10")
    from zcdb.surrogates import pool_of

    pool = pool_of(bench, "test_acc", "zc").size
    sizes = [n for n in (25, 50, 100, 200, 400, 1000) if n < pool]
    n_test = pool - max(sizes)
    where = "zcdb's own proxies" if args.proxies_db else "the Suite-Zero architectures and scores"
    for metric in args.metrics.split(","):
        run(f"learning curve, nb201 cifar10 {metric}, onehot, whole table (test: 1,000 held out)",
            benchmark=bench, metric=metric, feature_sets=["onehot"], n_train=[25, 50, 100, 200, 400, 1000],
            trials=args.trials, n_test=1000, seed=0)
        run(f"learning curve, nb201 cifar10 {metric}, the {pool} architectures with {where} "
            f"(test: {n_test} held out)",
            benchmark=bench, metric=metric, feature_sets=["onehot", "onehot,zc", "onehot,zc,cost"],
            n_train=sizes, trials=args.trials, n_test=n_test, seed=0)


def digits(args: argparse.Namespace) -> None:
    import zcdb
    from zcdb.surrogates import SurrogateBenchmark, fit, pool_of, split

    path = Path(tempfile.mkdtemp(prefix="zcdb-surrogate-")) / "digits.db"
    copy_store(args.digits_db, path)
    store = zcdb.open(path)
    bench = store.benchmark("nb201", "digits")
    metric = "test_acc"
    trained = pool_of(bench, metric)
    alias = bench.aliases()[0]
    print(f"digits: {trained.size} trained architectures with {metric} (+{alias.size} answered by their "
          f"isomorphism class), epochs {bench.epochs(metric)[0]}..{bench.epochs(metric)[-1]}")
    has_zc = bool(store.proxy_runs("nb201", "digits"))
    sets = ["onehot", "onehot,cost", "onehot,curve"] + (["onehot,zc", "zc"] if has_zc else [])
    if has_zc:
        zc_pool = pool_of(bench, metric, "zc")
        run(f"digits {metric}: protocol (1), train 100, test on the rest of the {zc_pool.size} scored",
            benchmark=bench, metric=metric, feature_sets=["onehot", "onehot,zc", "zc"], n_train=[100],
            trials=args.trials, seed=0)
    n_test = min(1000, trained.size // 4)
    sizes = [n for n in (25, 50, 100, 200, 400, 1000) if n + n_test <= trained.size]
    curve_sets = sets + (["onehot,zc,cost"] if has_zc else [])
    curve_sets = [c for c in curve_sets if c != "zc"]
    run(f"digits {metric}: learning curve (test: {n_test} held out of {trained.size} trained)", benchmark=bench,
        metric=metric, feature_sets=curve_sets, n_train=sizes, trials=args.curve_trials or args.trials,
        n_test=n_test, seed=0)
    # a surrogate of the whole table: fit on 20% of the trained architectures, predict the other 80%
    n20 = int(round(0.2 * trained.size))
    run(f"digits {metric}: whole-table surrogate, fit on 20% ({n20}) of the {trained.size} trained, predict the rest",
        benchmark=bench, metric=metric, feature_sets=["onehot", "onehot,cost", "onehot,curve"]
        + (["onehot,zc", "onehot,zc,curve"] if has_zc else []), n_train=[n20], trials=args.trials, seed=0,
        baseline=False)
    # ... served as a benchmark: every answer a prediction; where does its best land in the table?
    truth = bench.values(metric)
    train, _ = split(trained, n20, seed=0)
    sb = SurrogateBenchmark([fit(bench, metric, "onehot", train, target=TARGET)])
    i, arch, predicted = sb.best(metric)
    better = float(np.mean(truth[trained] > truth[i]))
    print(f"SurrogateBenchmark (onehot, 20% fit, seed 0; all {int(sb.is_prediction(metric).sum())} answers "
          f"predicted): best {arch} (index {i}), predicted {predicted:.2f}, table {truth[i]:.2f}, "
          f"{100 * better:.1f}% of the trained architectures are better in the table; "
          f"{'one of' if bench.search_space.canonical(i) in {bench.search_space.canonical(int(t)) for t in train} else 'not among'} "
          f"the {n20} it was fitted on")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["suite-zero", "curve", "digits"])
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--trials", type=int, default=None, help="Default: 100 (suite-zero, digits), 20 (curve).")
    ap.add_argument("--proxies-db", default=None, help="A store with zcdb's cifar10 proxies (suite-zero, curve).")
    ap.add_argument("--digits-db", default=None, help="A store with the digits benchmark (digits only).")
    ap.add_argument("--curve-trials", type=int, default=None, help="Trials of the digits learning curve "
                    "(default: --trials).")
    ap.add_argument("--metrics", default="test_acc,val_acc", help="Targets of the curve part.")
    ap.add_argument("--target", choices=["quantile", "raw"], default="quantile", help="Target transform of the fits.")
    args = ap.parse_args()
    global TARGET
    TARGET = args.target
    if args.trials is None:
        args.trials = 20 if args.part == "curve" else 100
    if args.part == "digits" and not args.digits_db:
        ap.error("digits needs --digits-db (e.g. a store after `zcdb import builtin nb201-digits`)")
    if args.proxies_db and not Path(args.proxies_db).is_file():
        ap.error(f"no such store: {args.proxies_db}")
    {"suite-zero": suite_zero, "curve": curve, "digits": digits}[args.part](args)


if __name__ == "__main__":
    main()
