"""Multi-objective and constrained search on NAS-Bench-201 cifar10 (the README's figures).

    .venv/bin/python scripts/mo_search.py [--data ../shared/data] [--db out/mo.db] [--out out/mo]
        [--seeds 0-99] [--queries 300] [--docs docs]

Builds (once) a store from the shared CSVs: NAS-Bench-201 test and validation accuracy
(200 epochs) and HW-NAS-Bench's cifar10 latencies on the Pixel 3 and the edge GPU. Then:

1. the multi-objective comparison: random search, ``mo-rea`` and ``parego`` on ``test_acc``
   vs ``latency_pixel3`` and vs ``latency_edgegpu`` (hypervolume against the default
   reference point: the worst value of each objective), computed in a fresh copy of the
   store so that nothing is reused, timed in CPU seconds (this process), with each
   algorithm's cost as a multiple of random search's;
2. REA (search ``val_acc``, report ``test_acc``) under ``latency_edgegpu<5`` beside the
   unconstrained REA, with random search under the constraint for scale.

Writes each comparison's tables and plots under ``--out`` and copies the plots to ``--docs``.
"""

from __future__ import annotations

from _shared import import_nb201_tables  # noqa: E402  (scripts/ is on sys.path)

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
LATENCIES = ("latency_pixel3", "latency_edgegpu")
MO_ALGOS = ("random", "mo-rea", "parego")
CONSTRAINT = "latency_edgegpu<5"


def build(db: Path, data: Path) -> None:
    """Import the NB201 accuracy tables and the HW-NAS-Bench cifar10 latencies into ``db`` (idempotent)."""
    import zcdb
    from zcdb.tabular.csv_table import import_csv

    store = zcdb.open(db)
    import_nb201_tables(store, data)
    import_csv(store, data / "hw-nas-bench" / "hw_nas_bench_cifar10.csv", "nb201", "arch",
               {"edgegpu_latency": ("cifar10", "latency_edgegpu"), "pixel3_latency": ("cifar10", "latency_pixel3")})
    store.close()


def multiobjective(db: Path, out: Path, docs: Path, seeds: list[int], queries: int) -> None:
    import zcdb
    from zcdb.search import compare_multiobjective

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.db"
        shutil.copy(db, fresh)  # no stored runs to reuse: the timing is the computation's
        store = zcdb.open(fresh)
        cpu0 = time.process_time()
        comparisons = [compare_multiobjective(store, "nb201", "cifar10", f"test_acc,{lat}", list(MO_ALGOS), seeds,
                                              budget_queries=queries) for lat in LATENCIES]
        cpu = time.process_time() - cpu0
        store.close()
    cost = {a: 0.0 for a in MO_ALGOS}
    for lat, cmp in zip(LATENCIES, comparisons):
        files = cmp.write(out / lat)
        print(cmp.to_markdown())
        rows = {r["algorithm"]: r for r in cmp.rows}
        a, b = rows["mo-rea"], rows["random"]
        print(f"mo-rea vs random: {a['mean'] - b['mean']:+.2f}; 95% intervals "
              f"{'do not overlap' if a['ci_low'] > b['ci_high'] else 'overlap'}")
        for r in cmp.rows:
            cost[r["algorithm"]] += r["cpu_seconds"]
        for f in files:
            if f.suffix == ".png":
                shutil.copy(f, docs / f"mo-nb201-cifar10-{lat.removeprefix('latency_')}-{f.name}")
        print("wrote", ", ".join(str(f) for f in files), "\n", flush=True)
    base = cost["random"]
    print(f"whole multi-objective comparison ({len(LATENCIES)} problems x {len(MO_ALGOS)} algorithms x "
          f"{len(seeds)} seeds x {queries} queries): {cpu:.1f} CPU-s in this process ({cpu / 60:.2f} CPU-min), "
          f"{cpu / base:.0f}x random search's {base:.2f} CPU-s")
    for name, c in cost.items():
        print(f"  {name}: {c:.2f} CPU-s in its runs ({c / base:.1f}x random search)")


def constrained(db: Path, out: Path, docs: Path, seeds: list[int], queries: int) -> None:
    import zcdb
    from zcdb.search import compare_algorithms

    store = zcdb.open(db)
    free = compare_algorithms(store, "nb201", "cifar10", ["random", "rea"], seeds, budget_queries=queries)
    cons = compare_algorithms(store, "nb201", "cifar10", ["random", "rea"], seeds, budget_queries=queries,
                              constraints=[CONSTRAINT])
    for cmp, name in ((free, "unconstrained"), (cons, "edgegpu-5ms")):
        files = cmp.write(out / name)
        print(cmp.to_markdown())
        print("wrote", ", ".join(str(f) for f in files), "\n")
    shutil.copy(out / "edgegpu-5ms" / "anytime.png", docs / "search-nb201-cifar10-edgegpu-5ms.png")
    lat = store.benchmark("nb201", "cifar10").values("latency_edgegpu")
    print(f"| search | final test_acc | final latency_edgegpu | final architecture meets {CONSTRAINT} | "
          "infeasible queries |")
    print("|---|---|---|---|---|")
    for cmp, algo, label in ((free, "rea", "REA"), (cons, "rea", f"REA, --where '{CONSTRAINT}'"),
                             (cons, "random", f"random, --where '{CONSTRAINT}'")):
        tr = cmp.results[algo].trajectories
        row = next(r for r in cmp.rows if r["algorithm"] == algo)
        arch = tr.final_arch()
        ok = arch >= 0
        meets = int((lat[arch[ok]] < 5).sum())
        infeasible = f"{100 * row['infeasible_queries']:.0f}%" if cmp is cons else ""
        print(f"| {label} | {row['mean']:.2f} ± {row['std']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}] | "
              f"{lat[arch[ok]].mean():.2f} ms | {meets} of {len(arch)} seeds | {infeasible} |")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--db", default=str(REPO / "out" / "mo.db"))
    ap.add_argument("--out", default=str(REPO / "out" / "mo"))
    ap.add_argument("--docs", default=str(REPO / "docs"))
    ap.add_argument("--seeds", default="0-99")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()

    from zcdb.cli import _parse_seeds

    build(Path(args.db), Path(args.data))
    seeds = _parse_seeds(args.seeds)
    out, docs = Path(args.out), Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    multiobjective(Path(args.db), out, docs, seeds, args.queries)
    constrained(Path(args.db), out, docs, seeds, args.queries)


if __name__ == "__main__":
    main()
