"""Throughput of the served NAS-Bench-301 benchmark: architectures per second, batched.

    python scripts/bench_served.py --surrogate yahpo_model_v2.onnx [--n 100000] [--repeat 3]

Times what a cold batch of ``--n`` distinct random nb301 ids costs through
:class:`zcdb.served.ServedBenchmark` with the cache off: id -> genotype (the space), genotype ->
YAHPO's ``x_cat`` (the encoding file), and the onnxruntime run, for several thread layouts
(intra-op threads of one session, or sessions side by side) and chunk sizes. Prints the
median of ``--repeat`` runs per layout, the share spent encoding, the load average, and the
architectures per CPU-second of this process (all its threads): on a shared machine the wall
figure is only as clean as the cores it got, while CPU-seconds count only what it ran, so
``2 x archs/CPU-s`` is what two dedicated cores give when the layout scales.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--surrogate", default=os.environ.get("ZCDB_SURROGATE"), help="YAHPO's nb301 model_v2.onnx")
    ap.add_argument("--n", type=int, default=100_000, help="architectures per batch")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layouts", default="t1,t2,s2", help="t<k>: one session, k intra-op threads; s<k>: k sessions")
    ap.add_argument("--chunks", default="512,1024,2048")
    args = ap.parse_args()
    if not args.surrogate:
        ap.error("give --surrogate PATH (or set ZCDB_SURROGATE)")
    from zcdb.served import open_served
    from zcdb.spaces import get_space
    from zcdb.spaces import nb301

    space = get_space("nb301")
    print(f"{os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    best = 0.0
    for layout in args.layouts.split(","):
        k = int(layout[1:])
        kw = dict(threads=k, sessions=1) if layout[0] == "t" else dict(threads=1, sessions=k)
        for chunk in (int(c) for c in args.chunks.split(",")):
            bench = open_served("nb301", args.surrogate, cache_size=0, chunk=chunk, **kw)
            rates, enc, cpu = [], [], []
            for r in range(args.repeat):
                ids = space.sample(args.n, 1000 + r)
                t0, c0 = time.perf_counter(), time.process_time()
                bench.values("val_acc", archs=ids)
                dt = time.perf_counter() - t0
                cpu.append(args.n / (time.process_time() - c0))
                t1 = time.perf_counter()
                bench.model.encoder.encode(nb301.rows_of_ids(ids).reshape(-1, 2, 8, 2))
                enc.append((time.perf_counter() - t1) / dt)
                rates.append(args.n / dt)
            rate = statistics.median(rates)
            best = max(best, rate)
            per_cpu = statistics.median(cpu)
            print(f"{layout:>3} chunk {chunk:>5}: {rate:>9,.0f} archs/s wall, {per_cpu:>9,.0f} archs per "
                  f"CPU-second (encoding {100 * statistics.median(enc):.0f}% of the wall time)", flush=True)
    print(f"best: {best:,.0f} architectures/s (id -> genotype -> YAHPO encoding -> onnxruntime, cache off, "
          f"batches of {args.n:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
