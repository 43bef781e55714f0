"""Study speed: a proxy study over every benchmark with scores, and a search study over every benchmark.

    .venv/bin/python scripts/bench_study.py --db /tmp/study.db [--algos random,rea,local] [--seeds 0-99]
                                           [--queries 300] [--bootstrap 200]

The store is copied to a temporary file first, so that the given store is left as it was; search runs
already stored in it for the same algorithm, budget and seeds are reused, so give it a store without
them for first-run numbers. Prints wall and CPU seconds of each study.
Target (issue 18): the proxy study over everything in under 30 s; the full search study (8 algorithms x
100 seeds x 300 queries over every tabular benchmark) in under 10 CPU-minutes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import zcdb
from zcdb.study import proxy_study, search_study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="A store with benchmarks and proxy scores (see the README).")
    ap.add_argument("--algos", default="random,rea,local")
    ap.add_argument("--benchmarks", default="all")
    ap.add_argument("--seeds", default="0-99")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "study.db"
        shutil.copy(args.db, db)
        store = zcdb.open(db)
        for name, fn in (("proxy study", lambda: proxy_study(store, bootstrap=args.bootstrap)),
                         ("search study", lambda: search_study(store, args.algos, args.benchmarks, args.seeds,
                                                               args.queries))):
            w, c = time.perf_counter(), time.process_time()
            st = fn()
            print(f"{name}: {len(st.benchmarks)} benchmarks, {time.perf_counter() - w:.1f} s wall, "
                  f"{time.process_time() - c:.1f} s CPU")
            print("  " + st.summary_text().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
