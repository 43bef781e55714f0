"""Seconds per architecture of the zero-cost proxies: all in the engine's shared passes vs each alone.

Usage::

    python scripts/bench_proxies.py [--archs 10] [--batch-size 64] [--threads 2] [--data DIR]

For each of ``--archs`` random NAS-Bench-201 architectures (cifar10 network, C=16, N=5)
it times :func:`zcdb.proxies.compute_proxies` with every requested proxy at once, then
each proxy alone (build the seeded network, call the proxy's function), alternating so
that both see the same machine load. It prints per-proxy mean seconds side by side, the
totals per architecture, their ratio (wall clock and process CPU time: on a shared
machine the CPU time is the steadier figure), the load average, and the largest
relative difference between the shared and the alone scores.

On a machine shared with other busy processes, OpenMP's default active waiting makes
multi-threaded torch pathologically slow (threads spin while their partner is
descheduled); run with ``OMP_WAIT_POLICY=PASSIVE`` there. The policy in effect is printed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from zcdb.models import build_nb201
from zcdb.proxies import REGISTRY, build_seeded, compute_proxies
from zcdb.spaces import nb201


def load_batch(data: Path, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    from zcdb.datasets import sample_batch

    if (data / "cifar-10-batches-py").exists() or (data / "test_batch").exists():
        x, y = sample_batch("cifar10", data, batch_size, seed, split="test")
        return x, y, f"cifar10 test set ({data})"
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, 32, 32, generator=g), torch.randint(0, 10, (batch_size,), generator=g), "random"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proxies", default=",".join(REGISTRY), help="comma-separated registry names")
    default_data = Path(os.environ.get("ZCDB_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--data", type=Path, default=default_data / "cifar10")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]
    x, y, source = load_batch(args.data, args.batch_size, args.seed)
    archs = [nb201.string_of(int(i)) for i in nb201.sample(args.archs, args.seed)]
    print(f"{len(archs)} archs, {len(names)} proxies, batch {tuple(x.shape)} from {source}, "
          f"{torch.get_num_threads()} threads (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}), "
          f"load average {os.getloadavg()[0]:.2f}")

    # Warm-up (first-call allocations and kernel selection), not timed.
    compute_proxies(archs[:1], names, "cifar10", (x, y), args.seed)

    shared_wall, shared_cpu, alone_wall, alone_cpu = [], [], [], []
    per_shared = {n: [] for n in names}
    per_alone = {n: [] for n in names}
    cpu_shared = {n: [] for n in names}
    cpu_alone = {n: [] for n in names}
    worst = (0.0, "")
    for k, arch in enumerate(archs):
        w0, c0 = time.perf_counter(), time.process_time()
        res = compute_proxies([arch], names, "cifar10", (x, y), args.seed)
        shared_wall.append(time.perf_counter() - w0)
        shared_cpu.append(time.process_time() - c0)
        for r in res:
            per_shared[r.proxy].append(r.seconds)
            cpu_shared[r.proxy].append(r.cpu_seconds / args.threads)
        w0, c0 = time.perf_counter(), time.process_time()
        for r in res:
            spec = REGISTRY[r.proxy]
            t, c = time.perf_counter(), time.process_time()
            model = build_seeded(build_nb201, arch, "cifar10", args.seed, **spec.build)
            value = spec.fn(model, (x, y), args.seed)
            per_alone[r.proxy].append(time.perf_counter() - t)
            cpu_alone[r.proxy].append((time.process_time() - c) / args.threads)
            if math.isfinite(value) and math.isfinite(r.score):
                rel = abs(value - r.score) / max(abs(value), 1e-12)
                if rel > worst[0]:
                    worst = (rel, r.proxy)
            elif math.isfinite(value) != math.isfinite(r.score):
                worst = (math.inf, r.proxy)
        alone_wall.append(time.perf_counter() - w0)
        alone_cpu.append(time.process_time() - c0)
        print(f"  arch {k + 1}/{len(archs)}: shared {shared_wall[-1]:.2f} s, alone {alone_wall[-1]:.2f} s "
              f"(load {os.getloadavg()[0]:.2f})", flush=True)

    print()
    print("seconds per architecture; wall clock, and process CPU time / threads (steadier when the machine is busy)")
    print(f"{'proxy':12s} {'shared':>8s} {'alone':>8s} {'ratio':>6s}   {'cpu shared':>10s} {'cpu alone':>10s} {'ratio':>6s}")
    for n in names:
        s, a = float(np.mean(per_shared[n])), float(np.mean(per_alone[n]))
        cs, ca = float(np.mean(cpu_shared[n])), float(np.mean(cpu_alone[n]))
        print(f"{n:12s} {s:8.3f} {a:8.3f} {a / s if s else math.inf:6.2f}   {cs:10.3f} {ca:10.3f} "
              f"{ca / cs if cs else math.inf:6.2f}")
    sw, aw = float(np.mean(shared_wall)), float(np.mean(alone_wall))
    sc, ac = float(np.mean(shared_cpu)) / args.threads, float(np.mean(alone_cpu)) / args.threads
    print(f"{'all':12s} {sw:8.3f} {aw:8.3f} {aw / sw:6.2f}   {sc:10.3f} {ac:10.3f} {ac / sc:6.2f}")
    print(f"largest relative difference shared vs alone: {worst[0]:.2e} ({worst[1] or '-'}); "
          f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
