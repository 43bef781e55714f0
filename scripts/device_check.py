"""Scores computed on a device against the shipped CPU scores, and the time per architecture there.

    python scripts/device_check.py [--device cuda] [--archs 20] [--data DIR] [--space nb201]

Takes the first ``--archs`` architectures of the shipped table (``nb201-cifar10-proxies`` or
``macro-cifar10-proxies``: CIFAR-10 test batch of 64, seed 0, scored on CPUs), recomputes every
proxy of the table on ``--device`` with the same batch and seed, and prints per proxy: the
largest and the median relative difference from the shipped score, the Spearman of the two over
the architectures, and the seconds per architecture on the device (one warm-up architecture
first, not timed); then the projected time of the space's whole table (one member per
isomorphism class). On ``--device cpu`` it measures how far this machine's CPU is from the ones
the table was scored on (the cross-CPU bounds of the README).

Issue 13's GPU figures: in a session with a device, run this and ``scripts/bench_proxies.py
--device cuda`` in one prepared command (see scripts/wip/README.md, "On a device").
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

import zcdb
from zcdb.datasets import sample_batch
from zcdb.errors import ZcdbError
from zcdb.proxies import compute_proxies
from zcdb.proxies.engine import resolve_device
from zcdb.proxies.stored import SCORE_THREADS, data_label
from zcdb.spaces import get_space
from zcdb.tabular.builtin import import_builtin

#: The shipped table of each space this checks, and its batch size.
TABLES = {"nb201": ("nb201-cifar10-proxies", 64), "macro": ("macro-cifar10-proxies", 64)}


def shipped_scores(store: zcdb.Store, space: str, batch_size: int) -> dict[str, dict[int, float]]:
    """Every seed-0 CIFAR-10 score set of the space's shipped table: proxy -> {arch_index: score}."""
    out: dict[str, dict[int, float]] = {}
    for r in store.proxy_runs(space, "cifar10"):
        if r["seed"] != 0 or r["batch_size"] != batch_size or r["data"] != data_label(r["proxy"], "cifar10", "test"):
            continue
        ids, values, _ = store.proxy_scores(space, "cifar10", r["proxy"], 0, batch_size, r["data"])
        out[r["proxy"]] = {int(a): float(v) for a, v in zip(ids, values)}
    return out


def rel_diff(a: float, b: float) -> float:
    """|a - b| / |b| (0 when both are NaN or equal; inf when only one is finite)."""
    if math.isnan(a) and math.isnan(b) or a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(b), 1e-300)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201", choices=sorted(TABLES))
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda", "auto"])
    ap.add_argument("--archs", type=int, default=20)
    default_data = Path(os.environ.get("ZCDB_SHARED_DATA", "../shared/data")) / "cifar10"
    ap.add_argument("--data", type=Path, default=default_data, help="the folder holding cifar-10-batches-py")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    name, batch_size = TABLES[args.space]
    torch.set_num_threads(SCORE_THREADS)  # as the table was scored
    with zcdb.open(":memory:") as store:
        import_builtin(store, name)
        shipped = shipped_scores(store, args.space, batch_size)
    proxies = sorted(shipped)
    common = sorted(set.intersection(*(set(v) for v in shipped.values())))
    archs = common[:args.archs + 1]  # the first is the untimed warm-up
    batch = sample_batch("cifar10", args.data, batch_size, 0, split="test")
    times: dict[str, list[float]] = {p: [] for p in proxies}
    got: dict[str, dict[int, float]] = {p: {} for p in proxies}
    wall = 0.0
    for k, arch in enumerate(archs):
        t0 = time.perf_counter()
        res = compute_proxies([arch], proxies, "cifar10", batch, 0, space=args.space, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k == 0:
            continue
        wall += time.perf_counter() - t0
        for d in res:
            got[d.proxy][arch] = d.score
            times[d.proxy].append(d.seconds)
    timed = archs[1:]
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{args.space}: {len(timed)} architectures of {name} (after 1 warm-up), {len(proxies)} proxies, "
          f"device {device} ({gpu}), torch {torch.__version__}\n")
    print("| proxy | max relative difference | median | Spearman device vs shipped | s per arch |")
    print("|---|---|---|---|---|")
    for p in proxies:
        diffs = [rel_diff(got[p][a], shipped[p][a]) for a in timed]
        a = np.array([got[p][x] for x in timed])
        b = np.array([shipped[p][x] for x in timed])
        ok = np.isfinite(a) & np.isfinite(b)
        rho = stats.spearmanr(a[ok], b[ok])[0] if ok.sum() > 2 else math.nan
        print(f"| {p} | {max(diffs):.2e} | {np.median(diffs):.2e} | {rho:.4f} | {np.nanmean(times[p]):.3f} |")
    per_arch = wall / max(len(timed), 1)
    classes = len(np.unique(get_space(args.space).representatives()))
    print(f"\nall {len(proxies)} proxies: {per_arch:.2f} s per architecture (wall, in the engine's shared passes); "
          f"the whole table ({classes:,} classes) {classes * per_arch / 3600:.2f} h on this device")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ZcdbError as e:
        raise SystemExit(f"error: {e}")
