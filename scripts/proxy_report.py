"""Figures of the proxy runs (issue 3), from a store holding zcdb's scores, Suite-Zero's and the NB201 table.

    python scripts/proxy_report.py out/proxies.db [--suite out/suite_zero_725.txt]
    python scripts/proxy_report.py out/macro.db --space macro

Prints Markdown tables: (1) on the 725 NAS-Bench-Suite-Zero architectures, per proxy, the
Spearman between zcdb's score and the released one, and each one's Spearman with cifar10
test accuracy; (2) on the 1,000 architectures sampled with seed 0, every proxy's
Spearman, Kendall and top-10% precision with cifar10 test accuracy, beside published values;
(3) the same over all 15,625 architectures, each answered by the scored member of its isomorphism
class (``zcdb proxies eval --by-class``), beside the published whole-space values.
``--space macro`` (a store with ``zcdb import nas-bench-macro`` and ``macro-cifar10-proxies``): one
table over the 6,561 codes, each answered by its class's scored member, against the mean test
accuracy of the three trainings, with each proxy's Spearman against every single seed beside the
seed-to-seed agreement over the same codes (the noise ceiling).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

import zcdb
from zcdb.proxies.registry import orientation
from zcdb.proxies.stored import data_label, rank_metrics, scores
from zcdb.spaces import get_space, nb201

#: Spearman with NB201 test accuracy as published (cifar10 unless noted).
PUBLISHED = {"synflow": "0.74", "nwot": "0.77", "jacov": "0.73", "zico": "0.80", "meco": "0.89",
             "swap": "0.90 (cifar100)", "tenas": "0.70"}
#: Spearman with cifar10 test accuracy over the whole space as published: Abdelfattah et al. (ICLR 2021)
#: and NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022), the range where the two differ.
PUBLISHED_WHOLE = {"synflow": "0.74-0.76", "jacov": "0.73", "snip": "0.58-0.64", "grad_norm": "0.58-0.64",
                   "grasp": "0.51-0.55", "fisher": "0.36-0.50"}


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3f}"


def _rank_table(own: dict[str, np.ndarray], truth: np.ndarray, published: dict[str, str], head: str) -> None:
    """Markdown: each proxy's (and TE-NAS's rank sum's) Spearman, Kendall, top-10% against ``truth``, best first."""
    print(f"| proxy | Spearman | Kendall | top-10% | n | NaN | {head} |")
    print("|---|---|---|---|---|---|---|")
    rows = [(p, rank_metrics(orientation(p) * s, truth), int(np.isnan(s).sum())) for p, s in own.items()]
    if "tenas_ntk" in own and "tenas_lr" in own:
        ntk, lr = own["tenas_ntk"], own["tenas_lr"]
        ok = np.isfinite(ntk) & np.isfinite(lr)
        comb = np.full(ntk.size, np.nan)
        comb[ok] = stats.rankdata(-ntk[ok]) + stats.rankdata(lr[ok])
        rows.append(("tenas", rank_metrics(comb, truth), int((~ok).sum())))
    rows.sort(key=lambda r: -(r[1]["spearman"] if math.isfinite(r[1]["spearman"]) else -9))
    for p, m, nan in rows:
        print(f"| {p} | {_fmt(m['spearman'])} | {_fmt(m['kendall'])} | {_fmt(m['top10'])} | {m['n']} | {nan} | "
              f"{published.get(p, '')} |")


def macro_report(store: zcdb.Store, seed: int, batch_size: int) -> None:
    """The NAS-Bench-Macro table: every proxy over the codes answered by class, against the mean of the
    three trainings and each of them, beside the seed-to-seed agreement over the same codes."""
    bench = store.benchmark("macro", "cifar10")
    mean = bench.values("test_acc", seed=-1)
    per_seed = [bench.values("test_acc", seed=s) for s in (0, 1, 2)]
    ours = sorted({r["proxy"] for r in store.proxy_runs("macro", "cifar10") if r["seed"] == seed
                   and r["batch_size"] == batch_size and not r["proxy"].startswith("ens:")})
    own = {p: scores(store, "macro", "cifar10", p, seed, batch_size, data_label(p, "cifar10", "test"), by_class=True)
           for p in ours}
    answered = np.any([np.isfinite(v) for v in own.values()], axis=0)
    rep = get_space("macro").representatives()
    print(f"## NAS-Bench-Macro: {int(answered.sum()):,} of {mean.size:,} codes answered by class "
          f"({np.unique(rep[answered]).size:,} of {np.unique(rep).size:,} classes), against the mean test accuracy\n")
    print("| proxy | Spearman | Kendall | top-10% | n | NaN | Spearman with seed 0 / 1 / 2 |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for p, v in own.items():
        v = np.where(answered, orientation(p) * v, np.nan)
        m = rank_metrics(v, mean)
        each = " / ".join(_fmt(rank_metrics(v, t)["spearman"]) for t in per_seed)
        rows.append((m["spearman"] if math.isfinite(m["spearman"]) else -9, p, m, int((answered & np.isnan(v)).sum()),
                     each))
    for _, p, m, nan, each in sorted(rows, reverse=True):
        print(f"| {p} | {_fmt(m['spearman'])} | {_fmt(m['kendall'])} | {_fmt(m['top10'])} | {m['n']} | {nan} | {each} |")
    pairs = [(0, 1), (0, 2), (1, 2)]
    rho = [stats.spearmanr(per_seed[a][answered], per_seed[b][answered])[0] for a, b in pairs]
    tau = [stats.kendalltau(per_seed[a][answered], per_seed[b][answered])[0] for a, b in pairs]
    print(f"\nseed-to-seed agreement over the same {int(answered.sum()):,} codes (the noise ceiling; seeds 0-1 / 0-2 / "
          f"1-2): Spearman {' / '.join(f'{r:.3f}' for r in rho)}, Kendall {' / '.join(f'{t:.3f}' for t in tau)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--space", default="nb201", choices=["nb201", "macro"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sample", type=int, default=1000)
    args = ap.parse_args()
    store = zcdb.open(args.db)
    if args.space == "macro":
        macro_report(store, args.seed, args.batch_size)
        return
    truth = store.benchmark("nb201", "cifar10").values("test_acc")
    ours = sorted({r["proxy"] for r in store.proxy_runs("nb201", "cifar10") if r["seed"] == args.seed
                   and r["batch_size"] == args.batch_size})
    released = {r["proxy"] for r in store.proxy_runs("nb201", "cifar10") if r["data"] == "naslib-zc"}

    def mine(p: str, by_class: bool = False) -> np.ndarray:
        return scores(store, "nb201", "cifar10", p, args.seed, args.batch_size, data_label(p, "cifar10", "test"),
                      by_class=by_class)

    suite = np.flatnonzero(~np.isnan(scores(store, "nb201", "cifar10", "params", -1, -1, "naslib-zc")))
    print("## 725 NAS-Bench-Suite-Zero architectures (n with both scores)\n")
    print("| proxy | Spearman ours vs released | n | ours vs test_acc | released vs test_acc |")
    print("|---|---|---|---|---|")
    for p in ours:
        if p not in released:
            continue
        a = mine(p)[suite]
        b = scores(store, "nb201", "cifar10", p, -1, -1, "naslib-zc")[suite]
        ok = np.isfinite(a) & np.isfinite(b)
        rho = stats.spearmanr(a[ok], b[ok])[0] if ok.sum() > 2 else math.nan
        ra = rank_metrics(orientation(p) * a, truth[suite])["spearman"]
        rb = rank_metrics(b, truth[suite])["spearman"]
        print(f"| {p} | {_fmt(rho)} | {int(ok.sum())} | {_fmt(ra)} | {_fmt(rb)} |")

    sample = nb201.sample(args.sample, seed=0)
    print(f"\n## {args.sample} architectures sampled with seed 0, against cifar10 test accuracy\n")
    _rank_table({p: mine(p)[sample] for p in ours}, truth[sample], PUBLISHED, "published")
    rep = nb201.canonical_representatives()
    classes = np.unique(rep).size
    whole = {p: mine(p, by_class=True) for p in ours}
    scored = {p: np.unique(rep[np.isfinite(mine(p))]).size for p in ours}  # classes with a finite score
    print(f"\n## all {nb201.NUM_ARCHS:,} architectures, each answered by the scored member of its class, "
          "against cifar10 test accuracy\n")
    print(f"classes with a finite score: {min(scored.values()):,}-{max(scored.values()):,} of {classes:,} "
          "(by proxy)\n")
    _rank_table(whole, truth, PUBLISHED_WHOLE, "published (whole space)")
    times = store.conn.execute(
        "SELECT proxy, AVG(time) FROM proxy_scores WHERE space='nb201' AND dataset='cifar10' AND seed=? AND "
        "batch_size=? GROUP BY proxy", (args.seed, args.batch_size)).fetchall()
    total = sum(t for _, t in times if t)
    print(f"\nmean stored compute time per architecture, all proxies in the shared pass: {total:.2f} s "
          f"(2 worker processes, 1 thread each)")


if __name__ == "__main__":
    main()
