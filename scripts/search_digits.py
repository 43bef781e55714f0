"""Run 3 of issue 6: the search comparison on zcdb's own digits benchmark, in simulated time, with Hyperband.

    .venv/bin/python scripts/search_digits.py [--db out/search-digits.db] [--out out/search/digits]
        [--seeds 0-499] [--budget-seconds 2000] [--algos all]

Imports the shipped ``nb201-digits`` table (``zcdb import builtin nb201-digits``: partial
while it is being generated; architectures without values are unavailable to the search)
and, as proxies for the proxy-aware algorithms, ``params`` and ``flops`` of the available
architectures from :func:`zcdb.spaces.nb201_cost.count_cost` (the digits-v1 skeleton: C=8, one cell
per stage; exact, microseconds each; ``data=count_cost``). Then compares every algorithm,
searching on ``val_acc`` and reporting ``test_acc`` at epoch 12, under a budget of
simulated training seconds (the table's ``train_time``; ~2000 s is ~300 full trainings).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PROXIES = ("params", "flops")


def build(db: Path) -> None:
    """Import the digits table and the count_cost proxies of its available architectures (idempotent)."""
    import zcdb
    from zcdb.spaces.nb201_cost import count_cost
    from zcdb.search import load_problem
    from zcdb.tabular.builtin import import_builtin

    store = zcdb.open(db)
    import_builtin(store, "nb201-digits")
    problem = load_problem(store, "nb201", "digits")
    idx = problem.available_index
    have = {(r["proxy"], r["n"]) for r in store.proxy_runs("nb201", "digits") if r["data"] == "count_cost"}
    if not all((p, idx.size) in have for p in PROXIES):
        t = time.perf_counter()
        cost = np.array([count_cost(int(i), "digits", C=8, N=1) for i in idx])
        per_arch = (time.perf_counter() - t) / idx.size
        with store.importing(f"count_cost:digits:{idx.size}", "count_cost", {"dataset": "digits", "C": 8, "N": 1},
                             replace=True) as imp:
            for k, proxy in enumerate(PROXIES):
                imp.add_proxy_scores("nb201", "digits", proxy, -1, -1, "count_cost", idx, cost[:, k],
                                     np.full(idx.size, per_arch))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(REPO / "out" / "search-digits.db"))
    ap.add_argument("--out", default=str(REPO / "out" / "search" / "digits"))
    ap.add_argument("--seeds", default="0-499")
    ap.add_argument("--budget-seconds", type=float, default=2000.0)
    ap.add_argument("--algos", default="all")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    import zcdb
    from zcdb.cli import _parse_seeds
    from zcdb.search import compare_algorithms

    build(Path(args.db))
    store = zcdb.open(args.db)
    cpu0 = time.process_time()
    cmp = compare_algorithms(store, "nb201", "digits", args.algos.split(","), _parse_seeds(args.seeds),
                             budget_seconds=args.budget_seconds, proxies=PROXIES, workers=args.workers)
    files = cmp.write(args.out)
    print(cmp.to_markdown())
    print("wrote", ", ".join(str(f) for f in files))
    print(f"{(time.process_time() - cpu0) / 60:.2f} CPU-minutes in this process; runs' own CPU: "
          f"{sum(r['cpu_seconds'] for r in cmp.rows) / 60:.2f} min")


if __name__ == "__main__":
    main()
