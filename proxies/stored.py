"""Proxy scores in the store: compute (resumable, in worker processes), evaluate, export.

Each stored score is keyed by what it depended on: space, dataset, proxy, seed (network
initialization and batch draw), batch size and ``data``: ``none`` for data-free proxies,
``random`` for proxies that only use the batch's shape, ``<dataset>:<split>`` for proxies
that read the images. Computation writes one transaction per architecture, so killing
it loses at most the architectures in flight, and a rerun skips what is stored.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from zcdb.errors import ZcdbError
from zcdb.jsonio import dumps
from zcdb.parallel import connect_scheduler, dask_unordered, run_unordered
from zcdb.progress import Progress
from zcdb.spaces import get_space
from zcdb.store import Store

#: Name of the combined TE-NAS score computed at evaluation time from tenas_ntk and tenas_lr.
TENAS_COMBINED = "tenas"


def data_label(proxy: str, dataset: str, split: str, extra: Sequence[Any] = ()) -> str:
    """The ``data`` key of a stored score of ``proxy`` (a built-in or one of the user proxies ``extra``)."""
    from .registry import get_proxy
    from .user import check_user_specs

    users = check_user_specs(extra)
    kind = users[proxy].data if proxy in users else get_proxy(proxy).data
    return {"none": "none", "random": "random"}.get(kind, f"{dataset}:{split}")


def resolve_proxies(names: str | Sequence[str], space: Optional[str] = None, extra: Sequence[Any] = ()) -> list[str]:
    """``all`` or a comma-separated list (or a sequence) of registry names, validated.

    With ``space``, ``all`` means the proxies that apply to it (whose network it builds).
    The names of the user proxies ``extra`` may be listed, and are added at the end if not."""
    from .registry import REGISTRY, get_proxy
    from .user import check_user_specs

    users = check_user_specs(extra)

    if isinstance(names, str):
        if names.strip() == "all":
            sp = get_space(space) if space is not None else None
            names = [n for n, spec in REGISTRY.items() if sp is None or spec.applies_to(sp)]
        else:
            names = [n.strip() for n in names.split(",") if n.strip()]
    out = [n if n in users else get_proxy(n).name for n in names] + list(users)
    if not out:
        raise ZcdbError("no proxy named: use --proxies all or a comma-separated list (see `zcdb proxies list`)")
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------- compute
@dataclass
class ComputeReport:
    """What :func:`compute_and_store` did."""

    archs: int
    skipped: int
    computed: int
    seconds: float
    nan_scores: int = 0
    proxies: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=2)
def _batch(dataset: str, root: Optional[str], batch_size: int, seed: int, split: str) -> Any:
    from zcdb.datasets import sample_batch

    return sample_batch(dataset, root, batch_size, seed, split=split)


#: Intra-op torch threads for every stored score. The thread count changes the reduction
#: order of convolutions and matrix products, and with it the scores (measured between 1
#: and 2 threads: zico up to 1e-2 relative, tenas_ntk 7.5e-3, grasp 1.8e-5). Fixed, so a
#: stored score is the same whatever ``workers`` or the machine's core count; parallelism
#: comes from worker processes.
SCORE_THREADS = 1


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _score_arch(args: tuple) -> tuple[int, list[tuple[str, float, float, Optional[str]]]]:
    space, arch, proxies, dataset, root, batch_size, seed, split, needs_data, device, extra = args
    import torch

    from .engine import compute_proxies

    batch = _batch(dataset, root, batch_size, seed, split) if needs_data else None
    before = torch.get_num_threads()
    torch.set_num_threads(SCORE_THREADS)  # also in the caller's process (workers=1)
    try:
        users = [spec for spec in extra if spec.name in proxies]
        scores = compute_proxies([arch], [p for p in proxies if p not in {u.name for u in users}], dataset=dataset,
                                 batch=batch, seed=seed, space=space, device=device, extra=users)
    finally:
        torch.set_num_threads(before)
    return arch, [(s.proxy, s.score, s.seconds, s.reason) for s in scores]


def stored_pairs(store: Store, space: str, dataset: str, seed: int, batch_size: int,
                 labels: dict[str, str]) -> set[tuple[str, int]]:
    """(proxy, arch) pairs already stored for this configuration."""
    out: set[tuple[str, int]] = set()
    for proxy, label in labels.items():
        idx, _, _ = store.proxy_scores(space, dataset, proxy, seed, batch_size, label)
        out.update((proxy, int(i)) for i in idx)
    return out


def compute_and_store(
    store: Store, space: str, dataset: str, proxies: str | Sequence[str], archs: Sequence[int], seed: int = 0,
    batch_size: int = 64, root: Optional[str] = None, split: str = "train", workers: int = 1,
    progress: bool = True, recompute: bool = False, device: str = "cpu", scheduler: Optional[str] = None,
    extra: Sequence[Any] = (),
) -> ComputeReport:
    """Compute ``proxies`` for ``archs`` (official indices) and store every score as it is done.

    ``extra``: user proxies (:class:`~zcdb.proxies.ProxySpec` objects, see
    :func:`~zcdb.proxies.user_proxy`), computed too and stored under their names with the same
    configuration (seed, batch size, data label) as the built-ins, skipped alike when stored.
    With workers or a scheduler, their functions must be importable there (module-level functions).

    Scores already stored for the same configuration are skipped, unless ``recompute``:
    then they are computed again and overwritten (e.g. after an upgrade changed a proxy's
    numerics); an interrupted recompute cannot tell new scores from old and starts over.

    ``device`` (``cpu``, ``cuda``, ``auto``): where the networks and the batch live (see
    :func:`~zcdb.proxies.engine.compute_proxies`); a score computed off the CPU records the
    device in its import's options. ``scheduler`` (``tcp://HOST:PORT``): the architectures are
    scored on that Dask cluster's workers (which then need the device, and the data under
    ``root`` at the same path), and this process alone writes the store, as with local workers.
    """
    from .engine import check_device_name, resolve_device

    dev = str(resolve_device(device)) if scheduler is None else check_device_name(device)
    mod = get_space(space)
    extra = list(extra)
    names = resolve_proxies(proxies, space, extra)
    from .registry import get_proxy
    from .user import check_user_specs

    users = check_user_specs(extra)
    from zcdb.datasets import check_split

    check_split(dataset, split)  # a data-free proxy set still records the split: a misspelt one is refused
    labels = {p: data_label(p, dataset, split, extra) for p in names}
    needs_data = any((users[p] if p in users else get_proxy(p)).data != "none" for p in names)
    if needs_data:
        _batch(dataset, root, batch_size, seed, split)  # fail on missing data before any work
    idx = [mod.index_of(a) for a in archs]
    done = set() if recompute else stored_pairs(store, space, dataset, seed, batch_size, labels)
    todo, skipped = [], 0
    for a in dict.fromkeys(idx):
        missing = [p for p in names if (p, a) not in done]
        if missing:
            todo.append((space, a, missing, dataset, root, batch_size, seed, split, needs_data, dev, extra))
        else:
            skipped += 1
    options: dict[str, Any] = {"dataset": dataset, "seed": seed, "batch_size": batch_size,
                               "torch_threads": SCORE_THREADS}
    if dev != "cpu":  # CPU scores keep the options they always had
        options["device"] = dev
    if users:  # provenance: where each user proxy's function came from
        options["user_proxies"] = {n: f"{getattr(s.fn, '__module__', '?')}:{getattr(s.fn, '__qualname__', '?')}"
                                   for n, s in users.items()}
    client = connect_scheduler(scheduler) if scheduler else None
    bar = Progress(len(todo), f"proxies {dataset}", enabled=progress)
    start = time.perf_counter()
    n_nan = 0
    computed = 0
    try:
        results = (dask_unordered(_score_arch, todo, client, f"zcdb-proxies-{space}-{dataset}") if client is not None
                   else run_unordered(_score_arch, todo, workers, _worker_init, (SCORE_THREADS,)))
        for arch, rows in results:
            with store.importing(f"zcdb proxies compute {dataset}:{split}", "proxies", options,
                                 replace=recompute) as imp:
                for proxy, score, secs, reason in rows:
                    imp.add_proxy_scores(space, dataset, proxy, seed, batch_size, labels[proxy], [arch], [score],
                                         [secs], [reason])
                    n_nan += not math.isfinite(score)
            computed += 1
            bar.update()
    finally:
        bar.close()
        if client is not None:
            client.close()
    return ComputeReport(len(todo) + skipped, skipped, computed, time.perf_counter() - start, n_nan, names)


# --------------------------------------------------------------------------- read
def score_sets(store: Store, space: str, dataset: str) -> list[dict[str, Any]]:
    """The stored score sets (proxy, seed, batch_size, data, n) of a space and dataset."""
    return store.proxy_runs(space, dataset)


def scores(store: Store, space: str, dataset: str, proxy: str, seed: int, batch_size: int, data: str,
           axis: Optional[Any] = None, by_class: bool = False) -> np.ndarray:
    """One score set as a dense array by official index (NaN where missing or undefined).

    ``axis``: the space the array is indexed by (default :meth:`Store.sample_space`: the space itself,
    or for a space too large to enumerate its architectures with rows on ``dataset``, whose benchmark
    arrays these then align with; scores of architectures outside it are left out).
    ``by_class``: an architecture without a row is answered by a scored member of its isomorphism
    class (:func:`answer_by_class`), as a class-representative table (``--archs-file unique``) means."""
    from zcdb.spaces.sampled import dense_positions

    sp = axis if axis is not None else store.sample_space(space, dataset)
    arr = np.full(sp.require_size("a dense score array"), np.nan)
    idx, values, _ = store.proxy_scores(space, dataset, proxy, seed, batch_size, data)
    pos, stored = dense_positions(sp, idx)
    if stored is None:
        arr[idx] = values
        rows = idx
    else:
        arr[pos[stored]] = values[stored]
        rows = pos[stored]
    return answer_by_class(sp, arr, rows) if by_class else arr


def answer_by_class(space: Any, arr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``arr`` (dense by index, with rows at ``rows``) where every architecture without a row takes the score
    of its isomorphism class's smallest index with one (the representative, when scored). A row that is
    NaN (a proxy undefined there) stays NaN and answers its class with NaN; a class without any row stays
    NaN. Networks of one class compute the same function, but their proxy scores differ a little (the
    initialization follows the modules' order), so this answers a member as the digits table's aliases
    answer it with its representative's training."""
    source = space.class_sources(rows)
    out = arr.copy()
    fill = source >= 0
    out[fill] = arr[source[fill]]
    return out


def export_rows(store: Store, space: str, dataset: str) -> list[dict[str, Any]]:
    """Every stored score of a space and dataset with its arch string, proxy, seed, batch size, data, time, reason."""
    mod = get_space(space)
    return [dict(arch_index=r[0], arch=mod.string_of(r[0]), proxy=r[1], seed=r[2], batch_size=r[3], data=r[4],
                 score=r[5], seconds=r[6], reason=r[7]) for r in store.proxy_score_records(space, dataset)]


def export_text(rows: list[dict[str, Any]], fmt: str) -> str:
    """Rows as CSV or JSON text (NaN as empty / null)."""
    if fmt == "json":
        return dumps(rows, indent=1)
    if fmt != "csv":
        raise ZcdbError(f"unknown export format {fmt!r}: use csv or json")
    buf = io.StringIO()
    cols = ["arch_index", "arch", "proxy", "seed", "batch_size", "data", "score", "seconds", "reason"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else r[k]) for k in cols})
    return buf.getvalue()


# --------------------------------------------------------------------------- evaluate
def rank_metrics(score: np.ndarray, truth: np.ndarray, top: float = 0.1, bootstrap: int = 0,
                 resamples: Optional[np.ndarray] = None) -> dict[str, Any]:
    """Spearman, Kendall and top-``top`` precision of ``score`` against ``truth`` (finite pairs only).

    With ``bootstrap`` > 0, also percentile 95% intervals of Spearman and Kendall over that many
    resamples of the pairs (``resamples``: a ``(bootstrap, n)`` array of positions into the
    finite pairs, so that several score sets can share the draws; default: seeded by 0).
    """
    from scipy import stats

    ok = np.isfinite(score) & np.isfinite(truth)
    s, t = score[ok], truth[ok]
    n = int(ok.sum())
    out: dict[str, Any] = dict(n=n, spearman=math.nan, kendall=math.nan, top10=math.nan)
    if bootstrap:
        out.update(spearman_ci=[math.nan, math.nan], kendall_ci=[math.nan, math.nan])
    if n < 3:
        return out
    k = max(1, int(round(top * n)))
    top_s = set(np.argsort(-s, kind="stable")[:k].tolist())
    top_t = set(np.argsort(-t, kind="stable")[:k].tolist())
    out.update(spearman=float(stats.spearmanr(s, t)[0]), kendall=float(stats.kendalltau(s, t)[0]),
               top10=len(top_s & top_t) / k)
    if bootstrap:
        draws = resamples if resamples is not None else bootstrap_draws(n, bootstrap)
        if draws.shape[1] != n:
            raise ZcdbError(f"bootstrap draws cover {draws.shape[1]} pairs, not {n}")
        sp = np.empty(draws.shape[0])
        kt = np.empty(draws.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            import warnings

            with warnings.catch_warnings():  # a resample of constant scores has no correlation: NaN, ignored
                warnings.simplefilter("ignore")
                for b, i in enumerate(draws):
                    sp[b] = stats.spearmanr(s[i], t[i])[0]
                    kt[b] = stats.kendalltau(s[i], t[i])[0]
        out["spearman_ci"] = _interval(sp)
        out["kendall_ci"] = _interval(kt)
    return out


def bootstrap_draws(n: int, bootstrap: int, seed: int = 0) -> np.ndarray:
    """``(bootstrap, n)`` positions drawn with replacement (seeded): the resamples of :func:`rank_metrics`."""
    return np.random.default_rng(seed).integers(0, n, size=(bootstrap, n))


def _interval(values: np.ndarray) -> list[float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return [math.nan, math.nan]
    lo, hi = np.percentile(v, [2.5, 97.5])
    return [float(lo), float(hi)]


def default_eval_metric(bench: Any) -> str:
    """The metric ``zcdb proxies eval`` correlates with when none is named: ``test_acc`` where the benchmark
    has it, else the one :func:`zcdb.study.main_metric` picks (the space's NAS-Bench-Suite-Zero metric, ...)."""
    from zcdb.study import main_metric

    return "test_acc" if "test_acc" in bench.metrics() else main_metric(bench)[0]


def evaluate(store: Store, space: str, dataset: str, metric: str, epoch: Optional[int] = None,
             protocol: Optional[str] = None, metric_dataset: Optional[str] = None,
             proxies: Optional[Sequence[str]] = None, common: bool = True,
             bootstrap: int = 0, seed: int = 0, where: Sequence[str] = (), by_class: bool = False,
             ) -> list[dict[str, Any]]:
    """Rank correlation of every stored score set with ``metric`` of the benchmark.

    Scores are oriented so that higher predicts better (TE-NAS's NTK condition number is
    negated), and so is the metric (a lower-is-better one, a loss or a latency, is negated);
    ``tenas`` (the sum of the ranks of ``-tenas_ntk`` and ``tenas_lr``, as TE-NAS
    combines them) is added where both components exist for one configuration.

    ``common`` (the default) evaluates every score set on the same architectures: those with
    a finite metric and a finite score in every set compared, so that a set scored on a few
    easy architectures cannot rank above complete ones; ``common=False`` takes each set's
    own finite pairs. ``n`` is always reported (0, with NaN correlations, for a set that scores
    none of the architectures with a finite metric; it is left out of the common set). ``bootstrap`` > 0 adds percentile 95%
    intervals (``spearman_ci``, ``kendall_ci``) from that many resamples, shared by all sets
    (seeded by ``seed``). ``where`` (constraints such as ``"latency_edgegpu<5"``, see
    :mod:`zcdb.constraints`) evaluates on the architectures that satisfy them only. ``by_class``:
    every architecture without a score is answered by a scored member of its isomorphism class
    (:func:`answer_by_class`), so a table of one member per class is evaluated on the whole space.
    """
    from scipy import stats

    from .registry import orientation

    bench = store.benchmark(space, metric_dataset or dataset, protocol)
    # Oriented so that larger is better: a positive correlation means the proxy finds good architectures.
    truth = bench.values(metric, epoch) * (1.0 if bench.higher_is_better(metric) else -1.0)
    if where:
        truth = np.where(bench.feasible(where, epoch).mask, truth, np.nan)
    sets = score_sets(store, space, dataset)
    if not sets:
        raise ZcdbError(f"no proxy scores for {space}/{dataset}: run `zcdb proxies compute` or import some first")
    comps: dict[tuple, dict[str, np.ndarray]] = {}
    chosen: list[tuple[dict[str, Any], np.ndarray]] = []
    for st in sets:
        if proxies is not None and st["proxy"] not in proxies and not (
                TENAS_COMBINED in proxies and st["proxy"] in ("tenas_ntk", "tenas_lr")):
            continue
        sc = scores(store, space, dataset, st["proxy"], st["seed"], st["batch_size"], st["data"],
                    axis=bench.search_space, by_class=by_class)
        key = (st["seed"], st["batch_size"])
        if st["proxy"] in ("tenas_ntk", "tenas_lr"):
            comps.setdefault(key, {})[st["proxy"]] = sc
        if proxies is None or st["proxy"] in proxies:
            chosen.append((dict(proxy=st["proxy"], seed=st["seed"], batch_size=st["batch_size"], data=st["data"]),
                           orientation(st["proxy"]) * sc))
    for (seed_, bs), c in comps.items():
        if len(c) == 2 and (proxies is None or TENAS_COMBINED in proxies):
            ok = np.isfinite(c["tenas_ntk"]) & np.isfinite(c["tenas_lr"])
            comb = np.full_like(c["tenas_ntk"], np.nan)
            comb[ok] = stats.rankdata(-c["tenas_ntk"][ok]) + stats.rankdata(c["tenas_lr"][ok])
            chosen.append((dict(proxy=TENAS_COMBINED, seed=seed_, batch_size=bs, data="(ntk+lr ranks)"), comb))
    if not chosen:
        raise ZcdbError(f"none of the proxies asked for has scores for {space}/{dataset}: see `zcdb info`")
    mask = np.isfinite(truth)
    # a set that scores none of the architectures with a metric (nb301's zen: other architectures
    # than the trained ones) is reported with n = 0 and does not empty the common set
    blind = [not (np.isfinite(sc) & mask).any() for _, sc in chosen]
    if common:
        for (_, sc), b in zip(chosen, blind):
            if not b:
                mask &= np.isfinite(sc)
        if mask.sum() < 3:
            smallest = min(chosen, key=lambda c: int(np.isfinite(c[1]).sum()))
            raise ZcdbError(
                f"the score sets of {space}/{dataset} have {int(mask.sum())} architectures in common (the smallest, "
                f"{smallest[0]['proxy']} [{smallest[0]['data']}], has {int(np.isfinite(smallest[1]).sum())}): "
                "pass --proxies to compare fewer, or --all-available to evaluate each on what it covers"
            )
    draws = bootstrap_draws(int(mask.sum()), bootstrap, seed) if (bootstrap and common) else None
    rows = []
    for (row, sc), b in zip(chosen, blind):
        if b:
            r = rank_metrics(sc, truth, bootstrap=bootstrap)
        elif common:
            r = rank_metrics(sc[mask], truth[mask], bootstrap=bootstrap, resamples=draws)
        else:
            n_own = int((np.isfinite(sc) & np.isfinite(truth)).sum())
            r = rank_metrics(sc, truth, bootstrap=bootstrap,
                             resamples=bootstrap_draws(n_own, bootstrap, seed) if bootstrap else None)
        rows.append(dict(row, **r))
    rows.sort(key=lambda r: (-(r["spearman"] if r["spearman"] == r["spearman"] else -9), r["proxy"]))
    return rows


def plot_evaluation(rows: list[dict[str, Any]], path: str, title: str) -> None:
    """Bar chart of Spearman and Kendall per score set, written to ``path`` (PNG, SVG, PDF)."""
    from zcdb.paths import PLOT_SUFFIXES, output_file
    from zcdb.plots import pyplot, save_figure

    output_file(path, "plot path", PLOT_SUFFIXES)  # a bad suffix fails before anything is drawn
    plt = pyplot()

    labels = [f"{r['proxy']}" + ("" if r["data"] in ("none", "random") else f" [{r['data']}]") + f" (n={r['n']})"
              for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.2))

    def err(key: str, value: str) -> Optional[np.ndarray]:
        if not all(key in r for r in rows):
            return None
        lo = np.array([r[value] - r[key][0] for r in rows])
        hi = np.array([r[key][1] - r[value] for r in rows])
        return np.nan_to_num(np.vstack([lo, hi]))

    ax.barh(y - 0.2, [r["spearman"] for r in rows], height=0.4, label="Spearman", xerr=err("spearman_ci", "spearman"),
            error_kw=dict(lw=0.8, capsize=2))
    ax.barh(y + 0.2, [r["kendall"] for r in rows], height=0.4, label="Kendall", xerr=err("kendall_ci", "kendall"),
            error_kw=dict(lw=0.8, capsize=2))
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("rank correlation with the benchmark metric" +
                  (" (bars: 95% bootstrap interval)" if all("spearman_ci" in r for r in rows) else ""))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, path, dpi=120)


# --------------------------------------------------------------------------- cross-benchmark studies
def oriented_scores(store: Store, space: str, dataset: str, score_set: dict[str, Any]) -> np.ndarray:
    """One score set (a row of :meth:`Store.proxy_runs`) as a dense array by index, oriented so that
    higher predicts better (see :func:`evaluate`)."""
    from .registry import orientation

    return orientation(score_set["proxy"]) * scores(store, space, dataset, score_set["proxy"], score_set["seed"],
                                                    score_set["batch_size"], score_set["data"])


def _resampled_ranks(x: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Average ranks of ``x[draws[b]]`` within each resample ``b``, without sorting each: a value's rank in
    a resample is the count of drawn values below it plus half the drawn values tied with it, plus 1/2."""
    _, inv = np.unique(x, return_inverse=True)
    B, m = draws.shape[0], int(inv.max()) + 1
    d = inv[draws]
    counts = np.bincount((np.arange(B)[:, None] * m + d).ravel(), minlength=B * m).reshape(B, m).astype(np.float64)
    ranks = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.take_along_axis(ranks, d, axis=1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant resample has no correlation: NaN
        return (a * b).sum(axis=1) / np.sqrt((a ** 2).sum(axis=1) * (b ** 2).sum(axis=1))


def rank_metrics_with_draws(score_sets: Sequence[np.ndarray], truth: np.ndarray, bootstrap: int,
                            seed: int = 0) -> list[dict[str, Any]]:
    """Spearman and Kendall (tau-b) of each score array against ``truth`` (all of one length, finite),
    with percentile 95% intervals over ``bootstrap`` resamples shared by every set (seeded by ``seed``):
    the same numbers as :func:`rank_metrics` on the same draws, Spearman's resamples vectorized."""
    import warnings

    from scipy import stats

    # the undecorated function: scipy's argument checking is 40% of the time of a resample
    kendall = getattr(stats.kendalltau, "__wrapped__", stats.kendalltau)
    n = truth.size
    draws = bootstrap_draws(n, bootstrap, seed) if bootstrap else None
    truth_ranks = _resampled_ranks(truth, draws) if draws is not None else None
    out = []
    for s in score_sets:
        with warnings.catch_warnings():  # constant scores have no correlation: NaN
            warnings.simplefilter("ignore")
            r: dict[str, Any] = dict(n=n, spearman=float(stats.spearmanr(s, truth)[0]),
                                     kendall=float(stats.kendalltau(s, truth)[0]))
            if draws is not None:
                kt = np.empty(bootstrap)
                for b, i in enumerate(draws):
                    kt[b] = kendall(s[i], truth[i])[0]
                r["spearman_ci"] = _interval(_pearson_rows(_resampled_ranks(s, draws), truth_ranks))
                r["kendall_ci"] = _interval(kt)
        out.append(r)
    return out
