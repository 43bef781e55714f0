"""Seconds per architecture of the zero-cost proxies: all in the engine's shared passes vs each alone.

Usage::

    python scripts/bench_proxies.py [--archs 10] [--batch-size 64] [--workers 1] [--threads N] [--data DIR]
                                    [--device cpu|cuda|auto]

For each of ``--archs`` random NAS-Bench-201 architectures (cifar10 network, C=16, N=5)
it times :func:`zcdb.proxies.compute_proxies` with every requested proxy at once, then
each proxy alone (build the seeded network, call the proxy's function), alternating so
that both see the same machine load. With ``--workers K`` (K processes, cores/K threads
each), the architectures are spread over the processes in two rounds of a shared phase
and an alone phase, and the seconds per architecture of the machine are reported beside
the per-process figures, twice: phase wall time / architectures (a phase waits for its
slowest process, an idle tail that weighs with few architectures) and the steady state a
long run approaches (per-process seconds per architecture, measured under the same load,
divided by K). It prints per-proxy mean seconds side by side, the
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

from zcdb.spaces.nb201_network import build_nb201
from zcdb.proxies import REGISTRY, build_seeded, compute_proxies
from zcdb.proxies.engine import deterministic, resolve_device
from zcdb.spaces import nb201


def load_batch(data: Path, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    from zcdb.datasets import sample_batch

    if (data / "cifar-10-batches-py").exists() or (data / "test_batch").exists():
        x, y = sample_batch("cifar10", data, batch_size, seed, split="test")
        return x, y, f"cifar10 test set ({data})"
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, 32, 32, generator=g), torch.randint(0, 10, (batch_size,), generator=g), "random"


_STATE: dict = {}


def _init(threads: int, data: str, batch_size: int, seed: int, device: str = "cpu") -> str:
    """Set up a process (the main one or a worker): threads, the batch (on ``device``); returns the batch's source."""
    torch.set_num_threads(threads)
    dev = resolve_device(device)
    x, y, source = load_batch(Path(data), batch_size, seed)
    _STATE.update(x=x.to(dev), y=y.to(dev), seed=seed, device=dev)
    return source


def time_arch(task: tuple[str, str, list[str]]) -> dict:
    """Time one architecture: ``shared`` (one engine call) or ``alone`` (each proxy on its own build)."""
    arch, mode, names = task
    x, y, seed, dev = _STATE["x"], _STATE["y"], _STATE["seed"], _STATE["device"]
    threads = torch.get_num_threads()
    per, cpu, scores = {}, {}, {}
    w0, c0 = time.perf_counter(), time.process_time()
    if mode == "shared":
        for r in compute_proxies([arch], names, "cifar10", (x, y), seed, device=dev):
            per[r.proxy], cpu[r.proxy], scores[r.proxy] = r.seconds, r.cpu_seconds / threads, r.score
    else:
        for n in names:
            spec = REGISTRY[n]
            t, c = time.perf_counter(), time.process_time()
            model = build_seeded(build_nb201, arch, "cifar10", seed, **spec.build).to(dev)
            with deterministic(dev):
                scores[n] = spec.fn(model, (x, y), seed)
            per[n], cpu[n] = time.perf_counter() - t, (time.process_time() - c) / threads
    return dict(arch=arch, mode=mode, wall=time.perf_counter() - w0, cpu=(time.process_time() - c0) / threads,
                per=per, cpu_per=cpu, scores=scores)


def worst_difference(results: list[dict]) -> tuple[float, str]:
    shared = {r["arch"]: r["scores"] for r in results if r["mode"] == "shared"}
    worst = (0.0, "")
    for r in results:
        if r["mode"] != "alone":
            continue
        for n, value in r["scores"].items():
            other = shared[r["arch"]][n]
            if math.isfinite(value) and math.isfinite(other):
                rel = abs(value - other) / max(abs(value), 1e-12)
                if rel > worst[0]:
                    worst = (rel, n)
            elif math.isfinite(value) != math.isfinite(other):
                worst = (math.inf, n)
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch threads per process (default: cores / workers)")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes; with more than one, seconds per architecture are throughput figures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                    help="where networks and batch live (auto: cuda if available)")
    ap.add_argument("--proxies", default=",".join(REGISTRY), help="comma-separated registry names")
    default_data = Path(os.environ.get("ZCDB_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--data", type=Path, default=default_data / "cifar10")
    args = ap.parse_args(argv)

    cores = os.cpu_count() or 1
    threads = args.threads or max(1, cores // args.workers)
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]
    initargs = (threads, str(args.data), args.batch_size, args.seed, args.device)
    source = _init(*initargs)  # the workers of --workers K set themselves up the same way
    archs = [nb201.string_of(int(i)) for i in nb201.sample(args.archs, args.seed)]
    print(f"{len(archs)} archs, {len(names)} proxies, batch {args.batch_size} from {source}, {args.workers} "
          f"process(es) x {threads} thread(s) on {cores} cores, device {_STATE['device']} (OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'default')}), load average {os.getloadavg()[0]:.2f}")

    results: list[dict] = []
    phase_wall = {"shared": 0.0, "alone": 0.0}
    if args.workers == 1:
        time_arch((archs[0], "shared", names))  # warm-up (first-call allocations, kernel selection), not timed
        for k, arch in enumerate(archs):
            for mode in ("shared", "alone"):  # alternating: both see the same machine load
                r = time_arch((arch, mode, names))
                results.append(r)
                phase_wall[mode] += r["wall"]
            print(f"  arch {k + 1}/{len(archs)}: shared {results[-2]['wall']:.2f} s, alone {results[-1]['wall']:.2f} s "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ctx.Pool(args.workers, initializer=_init, initargs=initargs) as pool:
            pool.map(time_arch, [(a, "shared", names) for a in archs[: args.workers]])  # warm-up, not timed
            # two rounds of (shared, alone) phases, each phase all architectures over all processes
            for rnd in range(2):
                for mode in ("shared", "alone"):
                    half = archs[rnd::2]
                    t = time.perf_counter()
                    results += pool.map(time_arch, [(a, mode, names) for a in half], chunksize=1)
                    phase_wall[mode] += time.perf_counter() - t
                    print(f"  round {rnd + 1} {mode}: {len(half)} archs in {time.perf_counter() - t:.1f} s "
                          f"(load {os.getloadavg()[0]:.2f})", flush=True)

    def mean(mode: str, key: str, n: str | None = None) -> float:
        vals = [r[key][n] if n else r[key] for r in results if r["mode"] == mode]
        return float(np.mean(vals))

    print()
    print("seconds per architecture in one process; wall clock, and process CPU time / threads")
    print(f"{'proxy':12s} {'shared':>8s} {'alone':>8s} {'ratio':>6s}   {'cpu shared':>10s} {'cpu alone':>10s} {'ratio':>6s}")
    for n in names:
        s_, a_ = mean("shared", "per", n), mean("alone", "per", n)
        cs, ca = mean("shared", "cpu_per", n), mean("alone", "cpu_per", n)
        print(f"{n:12s} {s_:8.3f} {a_:8.3f} {a_ / s_ if s_ else math.inf:6.2f}   {cs:10.3f} {ca:10.3f} "
              f"{ca / cs if cs else math.inf:6.2f}")
    sw, aw = mean("shared", "wall"), mean("alone", "wall")
    sc, ac = mean("shared", "cpu"), mean("alone", "cpu")
    print(f"{'all':12s} {sw:8.3f} {aw:8.3f} {aw / sw:6.2f}   {sc:10.3f} {ac:10.3f} {ac / sc:6.2f}")
    n_arch = len(archs)
    ts, ta = phase_wall["shared"] / n_arch, phase_wall["alone"] / n_arch
    if args.workers > 1:
        # A phase ends when its slowest process does: with few architectures per process the
        # idle tail weighs; the steady-state figure (one process's seconds per architecture,
        # measured while the others were busy too, over K) is what a long run approaches.
        print(f"machine throughput ({args.workers} processes x {threads} thread(s)), phase wall / architectures "
              f"(includes the idle tail of each phase): shared {ts:.3f} s per architecture, alone {ta:.3f} s, "
              f"ratio {ta / ts:.2f}")
        ss, sa = sw / args.workers, aw / args.workers
        print(f"machine throughput, steady state (one process's seconds per architecture / {args.workers}): "
              f"shared {ss:.3f} s per architecture, alone {sa:.3f} s, ratio {sa / ss:.2f}")
    else:
        print(f"one process x {threads} thread(s): shared {ts:.3f} s per architecture, alone {ta:.3f} s, "
              f"ratio {ta / ts:.2f}")
    worst = worst_difference(results)
    print(f"largest relative difference shared vs alone: {worst[0]:.2e} ({worst[1] or '-'}); "
          f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
