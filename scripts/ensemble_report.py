"""Training-free ensembles on every space zcdb holds its own proxies for (issue 13), beside the best single proxy.

    python scripts/ensemble_report.py [--db out/ensembles.db] [--sample 100] [--seeds 10] [--by-class]

Builds (or reuses) a store with the shipped proxy tables (``nb201-cifar10-proxies``,
``macro-cifar10-proxies``, ``nb301-cifar10-proxies``, ``nb101-cifar10-proxies``), the shipped
``nb201-digits`` benchmark and its proxies, and the real labels from ../shared/data
(``$ZCDB_SHARED_DATA``): NB201 test accuracy, NAS-Bench-Macro, and Suite-Zero's nb301 and nb101
files for their ``val_acc``. Then, per space, on the architectures scored so far, Markdown with:
the best single proxy *chosen on all the labels* (the usual, optimistic, baseline) and its
Spearman; the ``log-rank`` ensemble whose members (at most 3) were chosen on another benchmark
(``--select-on``, named in the row); and the one chosen on ``--sample`` labelled architectures
of the target (``--select-sample``, mean and standard deviation over ``--seeds`` draws, each
scored on the held-out rest, beside the same best single proxy on that rest). Each selection
twice: greedy forward selection and the exhaustive search over every subset
(``--select-search``). Then a second table: the held-out Spearman against the labelled-sample
size (``--budgets``), per search. ``--by-class``: NB201 and Macro evaluated on their whole space,
every architecture answered by a scored member of its isomorphism class (what the complete
tables of one member per class are for; ``zcdb proxies eval --by-class``). ``--ceiling``: a third
table, the best ensemble of at most 3 and at most 4 members chosen on *all* the target's labels (not a
protocol: the bound no honest selection can pass), per combination method.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

import zcdb
from scipy import stats

from zcdb.proxies.combine import METHODS
from zcdb.proxies.ensemble import SEARCHES, combine_and_store
from zcdb.proxies.registry import orientation
from zcdb.proxies.stored import scores

from _shared import import_nb201_tables

#: Spaces whose isomorphism classes ``--by-class`` answers (the others' tables hold every architecture
#: they are evaluated on).
BY_CLASS = {"nb201", "macro"}
#: Per space: dataset, label metric, the other benchmarks its members are chosen on (one row each).
SPACES = {
    "nb201": ("cifar10", "test_acc", ("nb201/digits/test_acc", "macro/cifar10/test_acc")),
    "macro": ("cifar10", "test_acc", ("nb201/cifar10/test_acc", "nb201/digits/test_acc")),
    "nb301": ("cifar10", "val_acc", ("nb201/cifar10/test_acc", "macro/cifar10/test_acc")),
    "nb101": ("cifar10", "val_acc", ("nb201/cifar10/test_acc", "macro/cifar10/test_acc")),
}


def build(path: Path, data: Path) -> None:
    from zcdb.tabular.builtin import import_builtin
    from zcdb.tabular.nas_bench_macro import import_nas_bench_macro
    from zcdb.tabular.naslib_zc import import_naslib_zc

    with zcdb.open(path) as store:
        import_nb201_tables(store, data)
        for name in ("nb201-digits", "nb201-digits-proxies", "nb201-cifar10-proxies", "macro-cifar10-proxies",
                     "nb301-cifar10-proxies", "nb101-cifar10-proxies"):
            import_builtin(store, name)
        import_nas_bench_macro(store, data / "nas-bench-macro" / "nas-bench-macro_cifar10.json")
        # Suite-Zero's files give nb301's and nb101's val_acc; their released proxy scores stay out
        # (an ensemble reads, per member, its largest score set, and the released ones tie with zcdb's).
        with zcdb.open(":memory:") as labels:
            for space, file in (("nb301", "zc_nasbench301.json"), ("nb101", "zc_nasbench101.json")):
                import_naslib_zc(labels, data / space / file)
                bench = labels.benchmark(space, "cifar10")
                (epoch,), (seed,) = bench.epochs("val_acc"), bench.seeds("val_acc")
                acc = bench.values("val_acc", epoch=epoch, seed=seed)  # by position in the stored sample
                pos = np.flatnonzero(np.isfinite(acc))
                axis = labels.sample_space(space, "cifar10")  # nb301's stored sample; nb101 is its own axis
                ids = axis.global_ids(pos) if hasattr(axis, "global_ids") else pos
                with store.importing(data / space / file, "ensemble-report-labels", {"val_acc_only": True}) as imp:
                    imp.add_evaluations(space, "cifar10", bench.protocol, "val_acc", epoch, seed, ids, acc[pos])


def own_sets(store: zcdb.Store, space: str, dataset: str) -> dict[str, dict]:
    """zcdb's own score set of each proxy of the space (seed 0, its largest; not the released
    ones, seed -1, nor ensembles), by proxy; without the sets still being computed (under half the
    largest: nb101's four expensive proxies), whose few architectures would be all the rows compare."""
    out: dict[str, dict] = {}
    for r in store.proxy_runs(space, dataset):
        if r["seed"] == 0 and not r["proxy"].startswith("ens:") and r["n"] > out.get(r["proxy"], {"n": 0})["n"]:
            out[r["proxy"]] = r
    most = max((r["n"] for r in out.values()), default=0)
    return {p: r for p, r in out.items() if 2 * r["n"] >= most}


def spearman(store: zcdb.Store, space: str, dataset: str, metric: str, sets: dict[str, dict],
             keep: np.ndarray | None = None, by_class: bool = False) -> tuple[dict[str, float], int]:
    """Spearman (oriented: higher predicts better) of each set with ``metric`` on the architectures
    every set covers (and ``keep``, if given); and how many those are. ``by_class``: every architecture
    is answered by a scored member of its isomorphism class (``proxies eval --by-class``)."""
    truth = store.benchmark(space, dataset).values(metric)
    arrs = {p: orientation(p) * scores(store, space, dataset, p, r["seed"], r["batch_size"], r["data"],
                                       by_class=by_class)
            for p, r in sets.items()}
    ok = np.isfinite(truth) & np.all([np.isfinite(a) for a in arrs.values()], axis=0)
    if keep is not None:
        ok &= keep
    return {p: float(stats.spearmanr(a[ok], truth[ok])[0]) for p, a in arrs.items()}, int(ok.sum())


def ceiling(store: zcdb.Store, space: str, dataset: str, metric: str, sets: dict[str, dict], method: str,
            max_members: int, by_class: bool = False) -> tuple[list[str], float, int]:
    """The subset of at most ``max_members`` of ``sets`` whose ``method`` ensemble has the highest
    Spearman with ``metric`` over the architectures every set covers, chosen on all those labels (the
    exhaustive search of ``--select-search exhaustive``); its Spearman, and how many architectures."""
    truth = store.benchmark(space, dataset).values(metric)
    src = {p: scores(store, space, dataset, p, r["seed"], r["batch_size"], r["data"], by_class=by_class)
           for p, r in sets.items()}
    ok = np.isfinite(truth) & np.all([np.isfinite(a) for a in src.values()], axis=0)
    members, steps = SEARCHES["exhaustive"](sorted(src), {p: a[ok] for p, a in src.items()}, truth[ok], method,
                                            max_members)
    return members, max((s["spearman"] for s in steps), default=float("nan")), int(ok.sum())


def ensemble_set(store: zcdb.Store, space: str, dataset: str, rep: Any) -> dict[str, dict]:
    """The score set :func:`combine_and_store` just stored (its name may hold earlier recipes too)."""
    return {rep.proxy: next(r for r in store.proxy_runs(space, dataset)
                            if r["proxy"] == rep.proxy and r["data"] == rep.data)}


def sample_rows(store: zcdb.Store, space: str, dataset: str, metric: str, own: dict[str, dict], best: str,
                n: int, seeds: int, search: str, by_class: bool = False) -> tuple[list[float], list[float], list[str]]:
    """Per draw: the held-out Spearman of the log-rank ensemble chosen on ``n`` labelled architectures,
    the best single proxy's on the same rest, and the members."""
    held, base, members = [], [], []
    for seed in range(seeds):
        r = combine_and_store(store, space, dataset, method="log-rank", select_sample=n, select_seed=seed,
                              select_metric=metric, select_search=search, name="ens:sample")
        ens = ensemble_set(store, space, dataset, r)
        held_out = np.isfinite(scores(store, space, dataset, r.proxy, **_key(ens[r.proxy]), by_class=by_class))
        rho, _ = spearman(store, space, dataset, metric, {**ens, best: own[best]}, keep=held_out, by_class=by_class)
        held.append(rho[r.proxy])
        base.append(rho[best])
        members.append("+".join(m["proxy"] for m in r.members))
    return held, base, members


def _mean_sd(v: list[float]) -> str:
    return f"{np.mean(v):.3f} ± {np.std(v):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("out/ensembles.db"))
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="25,50,100,200",
                    help="Labelled-sample sizes of the second table (comma-separated; empty: none).")
    ap.add_argument("--by-class", action="store_true",
                    help=f"On {', '.join(sorted(BY_CLASS))}: answer every architecture by a scored member of its "
                         "isomorphism class, so that the correlations are over the whole space.")
    ap.add_argument("--ceiling", action="store_true",
                    help="Also the best ensembles chosen on all the target's labels (the bound of any selection).")
    args = ap.parse_args()
    data = Path(os.environ.get("ZCDB_SHARED_DATA", "../shared/data"))
    if not args.db.exists():
        args.db.parent.mkdir(parents=True, exist_ok=True)
        build(args.db, data)
    searches = ("greedy", "exhaustive")
    print(f"| space | archs | best single proxy (chosen on all labels) | members chosen on another benchmark "
          f"(greedy; exhaustive) | their log-rank | log-rank, members chosen on {args.sample} labelled, on the rest "
          f"({args.seeds} draws), greedy | the same, exhaustive | the best single on the same rest |")
    print("|---|---|---|---|---|---|---|---|")
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    curve: dict[str, dict[tuple[str, int], str]] = {}
    with zcdb.open(args.db) as store:
        for space, (dataset, metric, others) in SPACES.items():
            own = own_sets(store, space, dataset)
            by_class = args.by_class and space in BY_CLASS
            single, n = spearman(store, space, dataset, metric, own, by_class=by_class)
            best = max(single, key=lambda p: single[p])
            cells = []
            for search in searches:
                held, base, _ = sample_rows(store, space, dataset, metric, own, best, args.sample, args.seeds, search,
                                            by_class)
                cells.append(_mean_sd(held))
            cells.append(f"{np.mean(base):.3f}")
            for i, other in enumerate(others):
                found = []
                for search in searches:
                    rep = combine_and_store(store, space, dataset, method="log-rank", select_on=other,
                                            select_search=search, name="ens:other")
                    rho, _ = spearman(store, space, dataset, metric,
                                      {**own, **ensemble_set(store, space, dataset, rep)}, by_class=by_class)
                    found.append(("+".join(m["proxy"] for m in rep.members), rho[rep.proxy]))
                print(f"| {space} | {n} | {best} {single[best]:.3f} | {other}: {found[0][0]}; {found[1][0]} | "
                      f"{found[0][1]:.3f}; {found[1][1]:.3f} | " + " | ".join(cells if i == 0 else ["same"] * 3) + " |")
            curve[space] = {}
            for b in budgets:
                if b >= n:
                    continue
                for search in searches:
                    held, _, members = sample_rows(store, space, dataset, metric, own, best, b, args.seeds, search,
                                                   by_class)
                    common = max(set(members), key=members.count)
                    curve[space][search, b] = (f"{_mean_sd(held)}, median {np.median(held):.3f}, min {min(held):.3f} "
                                               f"({common} {members.count(common)}/{args.seeds})")
    if budgets:
        print(f"\nLabelled-sample size against the held-out Spearman of the log-rank ensemble ({args.seeds} draws; in "
              "brackets the members chosen most often, and how often):\n")
        print("| space | search | " + " | ".join(f"{b} labelled" for b in budgets) + " |")
        print("|---|---|" + "---|" * len(budgets))
        for space, row in curve.items():
            for search in searches:
                print(f"| {space} | {search} | " + " | ".join(row.get((search, b), "-") for b in budgets) + " |")
    if args.ceiling:
        print("\nCeiling: the best ensemble chosen on *all* the target's labels (exhaustive; not a protocol, the "
              "bound any selection can reach), beside the best single proxy:\n")
        print("| space | archs | method | at most 3 members | at most 4 members |")
        print("|---|---|---|---|---|")
        with zcdb.open(args.db) as store:
            for space, (dataset, metric, _) in SPACES.items():
                own = own_sets(store, space, dataset)
                by_class = args.by_class and space in BY_CLASS
                for method in METHODS:
                    cells = []
                    for k in (3, 4):
                        members, rho, n = ceiling(store, space, dataset, metric, own, method, k, by_class)
                        cells.append(f"{rho:.3f} ({'+'.join(members)})")
                    print(f"| {space} | {n} | {method} | " + " | ".join(cells) + " |")


def _key(r: dict) -> dict:
    return dict(seed=r["seed"], batch_size=r["batch_size"], data=r["data"])

if __name__ == "__main__":
    main()
