"""Study speed: a proxy study over every benchmark with scores, and a search study over every benchmark.

    .venv/bin/python scripts/bench_study.py --db out/study-all.db [--algos random,rea,...] [--proxies zen]
        [--allow-missing] [--seeds 0-99] [--queries 300] [--bootstrap 200] [--workers 1] [--only search]
        [--profile out/study.prof]

The store (`scripts/study_store.py` builds it) is copied to a temporary file first (unless
--in-place), so that it is left as it was; search runs already stored in it for the same algorithm, budget and seeds are
reused, so give it a store without them for first-run numbers. Prints wall and CPU seconds of each
study (CPU: this process and its worker processes), each algorithm's share, and the load average
before and after (the machine may be shared). Defaults: the issue's full study, 8 algorithms
(random, rea, local, reinforce, bananas, proxy, rea-proxy, bananas-proxy, the last three reading
zen) x 100 seeds x 300 queries over every benchmark, each algorithm where it applies.
Targets (issue 18): the proxy study over everything in under 30 s; that search study in under
10 CPU-minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import tempfile
import time
from pathlib import Path

import zcdb
from zcdb.study import proxy_study, search_study

EIGHT = "random,rea,local,reinforce,bananas,proxy,rea-proxy,bananas-proxy"


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="A store with benchmarks and proxy scores (scripts/study_store.py).")
    ap.add_argument("--algos", default=EIGHT)
    ap.add_argument("--proxies", default="zen", help="What the proxy-aware algorithms read ('' for none).")
    ap.add_argument("--allow-missing", action="store_true", default=True)
    ap.add_argument("--no-allow-missing", dest="allow_missing", action="store_false")
    ap.add_argument("--benchmarks", default="all")
    ap.add_argument("--seeds", default="0-99")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", choices=("proxies", "search"), default=None)
    ap.add_argument("--profile", default=None, help="Write a cProfile of the search study here, print its top.")
    ap.add_argument("--in-place", action="store_true",
                    help="Run on --db itself (its new runs are kept, e.g. for `zcdb study run docs/study/all.toml`).")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.in_place else Path(tmp) / "study.db"
        if not args.in_place:
            shutil.copy(args.db, db)
        store = zcdb.open(db)
        jobs = []
        if args.only in (None, "proxies"):
            jobs.append(("proxy study", lambda: proxy_study(store, bootstrap=args.bootstrap)))
        if args.only in (None, "search"):
            jobs.append(("search study", lambda: search_study(
                store, args.algos, args.benchmarks, args.seeds, args.queries, workers=args.workers,
                proxies=args.proxies or None, allow_missing=args.allow_missing)))
        for name, fn in jobs:
            prof = cProfile.Profile() if args.profile and name == "search study" else None
            w, c = time.perf_counter(), _cpu()
            if prof:
                prof.enable()
            st = fn()
            if prof:
                prof.disable()
            wall, cpu = time.perf_counter() - w, _cpu() - c
            print(f"{name}: {len(st.benchmarks)} benchmarks, {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / 60:.2f} "
                  f"CPU-minutes)")
            if name == "search study":
                runs = sum(st.cpu_seconds.values())
                print(f"  in the runs' simulations: {runs:.1f} CPU-s; "
                      + ", ".join(f"{a} {s:.1f} s" for a, s in sorted(st.cpu_seconds.items(), key=lambda kv: -kv[1])))
            print("  " + st.summary_text().replace("\n", "\n  "))
            if prof:
                prof.dump_stats(args.profile)
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
