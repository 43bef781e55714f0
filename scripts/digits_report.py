"""Sanity figures of a digits benchmark store (the README's "The shipped benchmark" section).

Usage::

    python scripts/digits_report.py STORE [--data ../shared/data]

``STORE`` holds nb201/digits (``zcdb import builtin nb201-digits``, or the store of a
``zcdb tabulate`` run). Prints: coverage, the accuracy range over the trained
architectures, the best architecture, the Spearman correlation between each epoch's
accuracy and the last epoch's, validation vs test, agreement between seeds where an
architecture was trained with two, the total training time, and (when the shared
NAS-Bench-201 table is found under ``--data``) the Spearman correlation with cifar10 test
accuracy over all 15,625 architectures and over the trained representatives.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

REPO = Path(__file__).resolve().parent.parent


def rho(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok])[0]), int(ok.sum())


def reaches_output(arch: str) -> bool:
    """Whether some path of non-``none`` edges joins the cell's input node to its output node."""
    ops = [p.split("~")[0] for p in arch.replace("+", "").split("|") if p]
    edge = {(1, 0): ops[0], (2, 0): ops[1], (2, 1): ops[2], (3, 0): ops[3], (3, 1): ops[4], (3, 2): ops[5]}
    reached = {0}
    for j in (1, 2, 3):
        if any(edge[(j, k)] != "none" and k in reached for k in range(j)):
            reached.add(j)
    return 3 in reached


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    args = ap.parse_args(argv)

    import zcdb
    from zcdb.spaces import nb201

    store = zcdb.open(args.store)
    bench = store.benchmark("nb201", "digits")
    alias, rep = bench.aliases()
    last = bench.epochs("test_acc")[-1]
    test = bench.values("test_acc", seed=0)
    val = bench.values("val_acc", seed=0)
    is_alias = np.zeros(nb201.NUM_ARCHS, bool)
    is_alias[alias] = True
    trained = np.flatnonzero(np.isfinite(test) & ~is_alias)
    answered = int(np.isfinite(test).sum())
    print(f"coverage: {trained.size} trained architectures (seed 0), {answered} of {nb201.NUM_ARCHS} answered "
          f"({answered - trained.size} by their isomorphism class); epochs 1..{last}")

    t, v = test[trained], val[trained]
    q = np.percentile(t, [0, 5, 25, 50, 75, 95, 100])
    print("test_acc at epoch {}: min {:.2f}, 5% {:.2f}, 25% {:.2f}, median {:.2f}, 75% {:.2f}, 95% {:.2f}, "
          "max {:.2f}".format(last, *q))
    cut = np.array([not reaches_output(nb201.string_of(int(i))) for i in trained])
    low = t <= 20
    print(f"  {int(low.sum())} architectures at <= 20%: {int((low & cut).sum())} of the {int(cut.sum())} whose cell "
          f"output is cut off by none edges (constant prediction), {int((low & ~cut).sum())} connected ones "
          f"whose training did not take off")
    vi = trained[np.argmax(v)]
    ti = trained[np.argmax(t)]
    print(f"best by val_acc: {nb201.string_of(int(vi))} (index {vi}): val {val[vi]:.2f}, test {test[vi]:.2f}")
    print(f"best by test_acc: {nb201.string_of(int(ti))} (index {ti}): test {test[ti]:.2f}")
    r, n = rho(v, t)
    print(f"val_acc vs test_acc (epoch {last}): Spearman {r:.3f}, Kendall {float(kendalltau(v, t)[0]):.3f} (n={n})")

    print(f"Spearman of epoch k with epoch {last} (trained architectures, seed 0):")
    for metric in ("val_acc", "test_acc"):
        final = bench.values(metric, seed=0)[trained]
        parts = []
        for k in bench.epochs(metric)[:-1]:
            parts.append(f"{k}: {rho(bench.values(metric, epoch=k, seed=0)[trained], final)[0]:.3f}")
        print(f"  {metric}  " + ", ".join(parts))

    seeds = bench.seeds("test_acc")
    if len([s for s in seeds if s >= 0]) > 1:
        other = [s for s in seeds if s > 0]
        for s in other:
            for metric in ("test_acc", "val_acc"):
                a0 = bench.values(metric, seed=0)[trained]
                a1 = bench.values(metric, seed=s)[trained]
                ok = np.isfinite(a0) & np.isfinite(a1)
                r, n = rho(a0, a1)
                print(f"seed 0 vs seed {s}, {metric}: Spearman {r:.3f}, Kendall "
                      f"{float(kendalltau(a0[ok], a1[ok])[0]):.3f}, mean |difference| "
                      f"{float(np.mean(np.abs(a0[ok] - a1[ok]))):.2f} points (n={n})")
    else:
        print("seeds: only seed 0 stored")

    secs = np.nansum(bench.values("train_time", seed=0)[trained]) if "train_time" in bench.metrics() else np.nan
    print(f"training time (sum over trained architectures, all epochs): {secs / 3600:.2f} CPU-process hours")

    csv = Path(args.data) / "nb201" / "nats_tss_test_accuracy_200ep.csv"
    if csv.is_file():
        ref = zcdb.open(":memory:")
        from zcdb.tabular.csv_table import import_csv

        import_csv(ref, csv, "nb201", "ArchitectureString",
                   {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc")}, epoch=200)
        c10 = ref.benchmark("nb201", "cifar10").values("test_acc")
        r_all, n_all = rho(test, c10)
        r_rep, n_rep = rho(test[trained], c10[trained])
        top = trained[np.argsort(-c10[trained])[: max(1, trained.size // 10)]]
        r_top, n_top = rho(test[top], c10[top])
        print(f"Spearman with NAS-Bench-201 cifar10 test_acc (200 epochs): {r_all:.3f} over {n_all} architectures, "
              f"{r_rep:.3f} over the {n_rep} trained representatives, {r_top:.3f} within cifar10's top 10% of "
              f"them (n={n_top})")
    else:
        print(f"(no {csv}: skipped the comparison with cifar10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
