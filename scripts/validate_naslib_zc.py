"""Spearman between zcdb's proxy scores and NAS-Bench-Suite-Zero's released ones (NB201, cifar10).

Usage::

    python scripts/validate_naslib_zc.py [--n 100] [--batch-size 64] [--out scores.jsonl] [--threads 2]

Reads ``zc_nasbench201_cifar10.json`` (NASLib's format, from ``$ZCDB_SHARED_DATA/naslib-zc``),
draws ``--n`` of its architectures (seeded), computes the same proxies with
:func:`zcdb.proxies.compute_proxies` on one batch of the CIFAR-10 test set, appending
each architecture's scores to ``--out`` as it goes (a rerun resumes from that file), and
prints per proxy the Spearman correlation with the file's scores over the architectures
where both are finite (NASLib's ``-1e8`` sentinel counts as missing), and n.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from zcdb.datasets import sample_batch
from zcdb.proxies import compute_proxies
from zcdb.spaces import nb201

PROXIES = ["flops", "params", "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas",
           "jacov", "snip"]


def main(argv: list[str] | None = None) -> int:
    shared = Path(os.environ.get("ZCDB_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0, help="seed of the batch and of the initialization")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the choice of architectures")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--zc", type=Path, default=shared / "naslib-zc" / "zc_nasbench201_cifar10.json")
    ap.add_argument("--data", type=Path, default=shared / "cifar10")
    ap.add_argument("--out", type=Path, default=Path("validate_naslib_zc.jsonl"))
    ap.add_argument("--report-only", action="store_true", help="only print the correlations of --out")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = [p for p in args.proxies.split(",") if p]

    with open(args.zc) as f:
        ref = json.load(f)["cifar10"]
    keys = sorted(ref)
    rng = np.random.default_rng(args.sample_seed)
    chosen = [keys[i] for i in rng.permutation(len(keys))[: args.n]]
    arch_of = {k: nb201.format_arch(nb201.from_naslib(json.loads(k.replace("(", "[").replace(")", "]"))))
               for k in chosen}

    done: dict[str, dict[str, float]] = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done[row["key"]] = row["scores"]
    todo = [k for k in chosen if k not in done]
    if todo and not args.report_only:
        x, y = sample_batch("cifar10", args.data, args.batch_size, args.seed, split="test")
        by_arch = {arch_of[k]: k for k in todo}
        with open(args.out, "a") as out:
            def save(arch: str, scores: list) -> None:
                key = by_arch[arch]
                row = {"key": key, "arch": arch,
                       "scores": {s.proxy: (None if math.isnan(s.score) else s.score) for s in scores},
                       "seconds": {s.proxy: s.seconds for s in scores},
                       "reasons": {s.proxy: s.reason for s in scores if s.reason}}
                done[key] = row["scores"]
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(f"{len(done)}/{len(chosen)} {arch}", flush=True)

            compute_proxies([arch_of[k] for k in todo], names, "cifar10", (x, y), args.seed, on_arch=save)

    print(f"\nbatch {args.batch_size}, seed {args.seed}: Spearman with the released scores")
    print(f"{'proxy':10s} {'spearman':>9s} {'n':>5s}")
    for p in names:
        ours, theirs = [], []
        for k in chosen:
            if k not in done or p not in ref[k]:
                continue
            a, b = done[k].get(p), ref[k][p]["score"]
            if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or b == -1e8:
                continue
            ours.append(a)
            theirs.append(b)
        rho = spearmanr(ours, theirs)[0] if len(ours) > 2 else float("nan")
        print(f"{p:10s} {rho:9.3f} {len(ours):5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
