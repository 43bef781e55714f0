"""Run 1 of issue 6: every search algorithm on NAS-Bench-201 (cifar10, cifar100, ImageNet16-120).

    .venv/bin/python scripts/search_nb201.py [--data ../shared/data] [--db out/search.db] [--out out/search]
        [--seeds 0-499] [--queries 300] [--algos all] [--workers 1]

Builds (once) a store from the shared CSVs: test accuracy (200 epochs) and NASLib's
validation accuracy, plus, as the proxies of the proxy-aware algorithms, ``params`` and
``flops`` of all 15,625 architectures from :func:`zcdb.spaces.nb201_cost.count_cost` (exact closed
forms, stored with their real compute time, a few microseconds each; set ``data=count_cost``).
Then compares the algorithms on each dataset: search on ``val_acc``, report ``test_acc``,
writing ``compare.md``, ``compare.csv`` and ``anytime.png`` per dataset, and prints the
CPU time of the whole comparison. Runs already stored are reused (rerunning is cheap).
"""

from __future__ import annotations

from _shared import import_nb201_tables  # noqa: E402  (scripts/ is on sys.path)

import argparse
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
PROXIES = ("params", "flops")


def build(db: Path, data: Path) -> None:
    """Import the NB201 tables and the count_cost proxies into ``db`` (idempotent)."""
    import zcdb
    from zcdb.spaces.nb201_cost import count_cost
    from zcdb.spaces import nb201

    store = zcdb.open(db)
    import_nb201_tables(store, data)
    have = {(r["dataset"], r["proxy"]) for r in store.proxy_runs("nb201")}
    for dataset in DATASETS:
        if all((dataset, p) in have for p in PROXIES):
            continue
        idx = np.arange(nb201.NUM_ARCHS)
        t = time.perf_counter()
        cost = np.array([count_cost(int(i), dataset) for i in idx])
        per_arch = (time.perf_counter() - t) / idx.size
        with store.importing(f"count_cost:{dataset}", "count_cost", {"dataset": dataset}) as imp:
            for k, proxy in enumerate(PROXIES):
                imp.add_proxy_scores("nb201", dataset, proxy, -1, -1, "count_cost", idx, cost[:, k],
                                     np.full(idx.size, per_arch))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--db", default=str(REPO / "out" / "search.db"))
    ap.add_argument("--out", default=str(REPO / "out" / "search"))
    ap.add_argument("--seeds", default="0-499")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--algos", default="all")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    import zcdb
    from zcdb.cli import _parse_seeds
    from zcdb.search import compare_algorithms

    build(Path(args.db), Path(args.data))
    seeds = _parse_seeds(args.seeds)
    store = zcdb.open(args.db)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_cpu = 0.0
    for dataset in DATASETS:
        cmp = compare_algorithms(store, "nb201", dataset, args.algos.split(","), seeds, budget_queries=args.queries,
                                 proxies=PROXIES, workers=args.workers)
        run_cpu += sum(r["cpu_seconds"] for r in cmp.rows)
        files = cmp.write(Path(args.out) / dataset)
        print(cmp.to_markdown())
        print("wrote", ", ".join(str(f) for f in files), "\n", flush=True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"whole comparison: the runs took {run_cpu / 60:.2f} CPU-minutes (when they were computed); this "
          f"process {cpu / 60:.2f} CPU-minutes now ({wall / 60:.2f} min wall; workers not included)")


if __name__ == "__main__":
    main()
