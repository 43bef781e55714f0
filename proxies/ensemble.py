"""Ensembles in the store: combine stored score sets into a score set of their own, with its recipe.

The ensemble is rows in ``proxy_scores`` like any proxy's, so ``zcdb proxies eval``,
the surrogates' ``zc:NAME`` features and ``search --proxies NAME`` read it unchanged.
Its proxy name is ``ens:METHOD:A.B.C`` (or the name given; never a registry name, whose
orientation would be wrong): ensembles are higher-is-better, which is what
``zcdb.proxies.registry.orientation`` answers for a name outside the registry. The recipe (method, each member's score set,
how the members were chosen) is the import's provenance options.

Honest member selection (``select_on``): the members are chosen on another benchmark
(a space/dataset with its own labels), among the proxies stored for both, maximising the
ensemble's Spearman correlation with that benchmark's metric; then frozen and applied to
the target. The target's labels are never read. Two searches (``select_search``):
``greedy`` forward selection (add the member that most raises Spearman, stop when none
does), and ``exhaustive``, every subset of at most ``max_members`` candidates (1,159 for 19
proxies and 3 members). Greedy is myopic: on the 2,973 NB201 CIFAR-10 architectures
scored in session 9, no proxy added to meco (the best single, 0.916) raises its Spearman,
so greedy stops at meco, while grad_sign + jacov reaches 0.933 and grad_sign + jacov +
meco 0.939 (figures measured on all the labels, to show the search, not for selection).

Or with a stated small labelled sample of the target (``select_sample=N``): the same
selection on N architectures of the target drawn with a seed, the only labels read; those N,
and every other scored member of their isomorphism classes (the same function, so nearly the
same label), are stored as NaN with a "held out" reason, so whatever evaluates the stored set
(``zcdb proxies eval``, also ``--by-class``) sees only the architectures the selection did not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from zcdb.errors import ZcdbError
from zcdb.spaces import get_space
from zcdb.spaces.sampled import dense_ids, dense_positions
from zcdb.store import Store

from .combine import METHODS, combine
from .registry import orientation
from .stored import scores

#: Prefix of the default ensemble proxy names.
ENSEMBLE_PREFIX = "ens:"
#: The reason stored with an architecture of a ``select_sample`` (a NaN score).
_HELD_OUT = "held out: its label chose the ensemble's members (--select-sample)"
#: The reason stored with a scored isomorphic copy of a held-out architecture (a NaN score too).
_CLASS_MATE = "held out: isomorphic to an architecture whose label chose the ensemble's members (--select-sample)"


@dataclass
class CombineReport:
    """What :func:`combine_and_store` stored."""

    proxy: str
    method: str
    members: list[dict[str, Any]]
    data: str
    #: Architectures stored (scored by every member) and skipped (scored by some members only).
    archs: int
    incomplete: int
    select_on: Optional[str] = None
    selection: list[dict[str, Any]] = field(default_factory=list)
    #: Architectures of the target whose labels chose the members (``select_sample``): stored as NaN.
    held_out: int = 0
    #: Other scored members of their isomorphism classes, stored as NaN too (they compute the same function).
    class_mates: int = 0


def _score_set(store: Store, space: str, dataset: str, proxy: str) -> dict[str, Any]:
    """The score set of ``proxy`` an ensemble reads: the one with most architectures, then lowest seed."""
    sets = [r for r in store.proxy_runs(space, dataset) if r["proxy"] == proxy]
    if not sets:
        stored = sorted({r["proxy"] for r in store.proxy_runs(space, dataset)})
        raise ZcdbError(f"proxy {proxy!r} has no scores for {space}/{dataset}: stored proxies are "
                        f"{', '.join(stored) or 'none'} (run `zcdb proxies compute` first)")
    best = min(sets, key=lambda c: (-c["n"], c["seed"], c["batch_size"], c["data"]))
    return dict(proxy=proxy, seed=best["seed"], batch_size=best["batch_size"], data=best["data"])


def _member_scores(store: Store, space: str, dataset: str, sets: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {s["proxy"]: scores(store, space, dataset, s["proxy"], s["seed"], s["batch_size"], s["data"])
            for s in sets}


def _parse_benchmark(text: str) -> tuple[str, str, str]:
    parts = [p for p in text.split("/") if p]
    if len(parts) not in (2, 3):
        raise ZcdbError(f"bad --select-on {text!r}: write SPACE/DATASET or SPACE/DATASET/METRIC, e.g. nb201/digits")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else "test_acc"


def _greedy(candidates: Sequence[str], src: dict[str, np.ndarray], truth: np.ndarray, method: str,
            max_members: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Greedy forward selection of members maximising the ensemble's Spearman with ``truth``."""
    orient = {p: orientation(p) for p in candidates}
    chosen: list[str] = []
    steps: list[dict[str, Any]] = []
    best = -math.inf
    while len(chosen) < max_members:
        trial = []
        for p in candidates:
            if p in chosen:
                continue
            members = chosen + [p]
            rho = _spearman(combine({m: src[m] for m in members}, method, orient), truth)
            if math.isfinite(rho):
                trial.append((-rho, p))
        if not trial:
            break
        neg, p = min(trial)
        if -neg <= best:
            break
        best = -neg
        chosen.append(p)
        steps.append(dict(members=list(chosen), spearman=best))
    return chosen, steps


def _spearman(score: np.ndarray, truth: np.ndarray) -> float:
    """Spearman of the finite pairs (NaN under 3 pairs or when either side is constant)."""
    from scipy.stats import rankdata

    ok = np.isfinite(score) & np.isfinite(truth)
    if ok.sum() < 3:
        return math.nan
    a, b = rankdata(score[ok]), rankdata(truth[ok])
    a -= a.mean()
    b -= b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / den if den > 0 else math.nan


def _exhaustive(candidates: Sequence[str], src: dict[str, np.ndarray], truth: np.ndarray, method: str,
                max_members: int) -> tuple[list[str], list[dict[str, Any]]]:
    """The subset of at most ``max_members`` candidates whose ensemble has the highest Spearman with
    ``truth`` (ties: fewer members, then the alphabetically first). Steps: the best subset of each size."""
    orient = {p: orientation(p) for p in candidates}
    names = sorted(candidates)
    count = sum(math.comb(len(names), k) for k in range(1, min(max_members, len(names)) + 1))
    if count > MAX_SUBSETS:
        raise ZcdbError(f"--select-search exhaustive would try {count:,} subsets of {len(names)} proxies (at most "
                        f"{MAX_SUBSETS:,}): lower --max-members or use --select-search greedy")
    best_of_size: dict[int, tuple[float, tuple[str, ...]]] = {}
    for k in range(1, min(max_members, len(names)) + 1):
        for combo in itertools.combinations(names, k):
            rho = _spearman(combine({m: src[m] for m in combo}, method, orient), truth)
            if math.isfinite(rho) and (k not in best_of_size or rho > best_of_size[k][0]):
                best_of_size[k] = (rho, combo)
    if not best_of_size:
        return [], []
    steps = [dict(members=list(c), spearman=r) for _, (r, c) in sorted(best_of_size.items())]
    _, combo = max(best_of_size.values(), key=lambda rc: (rc[0], -len(rc[1])))
    return list(combo), steps


#: Most subsets the exhaustive search tries (19 proxies: 6 members are 43,795 subsets, 7 are 94,183).
MAX_SUBSETS = 50_000
#: Member searches by name (``select_search``).
SEARCHES = {"greedy": _greedy, "exhaustive": _exhaustive}


def _searcher(name: str):
    if name not in SEARCHES:
        raise ZcdbError(f"unknown --select-search {name!r}: use one of {', '.join(SEARCHES)}")
    return SEARCHES[name]


def select_members(store: Store, space: str, dataset: str, select_on: str, method: str,
                   max_members: int = 3, search: str = "greedy") -> tuple[list[str], list[dict[str, Any]]]:
    """Members for an ensemble on ``space``/``dataset``, chosen on the benchmark ``select_on`` only.

    ``select_on`` is ``SPACE/DATASET[/METRIC]`` (metric default ``test_acc``). ``search``
    ``greedy``: forward selection; start empty, add the proxy (stored for both benchmarks) that
    most raises the ensemble's Spearman with the metric on ``select_on``, stop when none raises
    it or at ``max_members``; ties go to the alphabetically first name. ``exhaustive``: the best
    of every subset of at most ``max_members`` (ties: fewer members, then alphabetical). Stored
    ensembles (``ens:`` names) are not candidates. Returns (members, the steps: members and
    Spearman after each greedy step, or the best subset of each size). Reads no label of the
    target.
    """
    searcher = _searcher(search)
    src_space, src_dataset, metric = _parse_benchmark(select_on)
    if (src_space, src_dataset) == (space, dataset):
        raise ZcdbError(f"--select-on {select_on} is the target benchmark itself: choose the members on another "
                        "space or dataset, or on a labelled sample of it (--select-sample N)")
    if max_members < 1:
        raise ZcdbError("max_members must be at least 1")
    truth = store.benchmark(src_space, src_dataset).values(metric)
    target = {r["proxy"] for r in store.proxy_runs(space, dataset) if not r["proxy"].startswith(ENSEMBLE_PREFIX)}
    common = sorted(target & {r["proxy"] for r in store.proxy_runs(src_space, src_dataset)})  # no ensembles
    if not common:
        raise ZcdbError(f"no proxy is stored for both {space}/{dataset} and {src_space}/{src_dataset}: compute the "
                        "same proxies on both first")
    src = _member_scores(store, src_space, src_dataset, [_score_set(store, src_space, src_dataset, p) for p in common])
    chosen, steps = searcher(common, src, truth, method, max_members)
    if not chosen:
        raise ZcdbError(f"no stored proxy correlates with {metric} on {src_space}/{src_dataset} (too few scored "
                        "architectures with labels): score more of them first")
    return chosen, steps


def select_members_on_sample(store: Store, space: str, dataset: str, n: int, method: str, max_members: int = 3,
                             metric: str = "test_acc", seed: int = 0, search: str = "greedy",
                             ) -> tuple[list[str], list[dict[str, Any]], np.ndarray]:
    """Members chosen on a labelled sample of the target itself: ``n`` architectures drawn with ``seed``.

    The sample is drawn (``numpy.random.default_rng(seed)``, without replacement) from the
    architectures that some proxy stored for the target has scored (non-ensemble proxies:
    names outside ``ens:``), then the selection of :func:`select_members` (``search``) runs on their
    ``metric`` values, the only labels read (each candidate ensemble on the sampled
    architectures all its members scored). Returns (members, steps, the sample's
    positions in the dense score arrays, sorted: the official indices of an enumerable space,
    positions in the stored sample of one that is not); :func:`combine_and_store` stores the
    sample's ensemble scores as NaN and records its ids.
    """
    searcher = _searcher(search)
    if not isinstance(n, int) or isinstance(n, bool) or n < 3:
        raise ZcdbError(f"--select-sample {n!r}: give a number of labelled architectures, at least 3")
    if max_members < 1:
        raise ZcdbError("max_members must be at least 1")
    candidates = sorted({r["proxy"] for r in store.proxy_runs(space, dataset)
                         if not r["proxy"].startswith(ENSEMBLE_PREFIX)})
    if not candidates:
        raise ZcdbError(f"no proxy is stored for {space}/{dataset}: run `zcdb proxies compute` first")
    own = _member_scores(store, space, dataset, [_score_set(store, space, dataset, p) for p in candidates])
    pool = np.flatnonzero(np.any([np.isfinite(v) for v in own.values()], axis=0))
    if pool.size < n:
        raise ZcdbError(f"--select-sample {n}: only {pool.size} architectures of {space}/{dataset} have proxy "
                        "scores: ask for fewer")
    sample = np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))
    labels = store.benchmark(space, dataset).values(metric)[sample]  # the only labels read
    chosen, steps = searcher(candidates, {p: v[sample] for p, v in own.items()}, labels, method, max_members)
    if not chosen:
        raise ZcdbError(f"no stored proxy correlates with {metric} on the {n} sampled architectures of "
                        f"{space}/{dataset} (labels missing?): import {metric} or sample more")
    return chosen, steps, sample


def ensemble_name(method: str, members: Sequence[str]) -> str:
    """The default proxy name of an ensemble, e.g. ``ens:log-rank:nwot.synflow.zico``.

    Members are joined by ``.``, not ``+`` or ``,``, which separate names in ``--features
    zc:A+B`` and ``--proxies A,B``."""
    return f"{ENSEMBLE_PREFIX}{method}:{'.'.join(members)}"


def combine_and_store(
    store: Store, space: str, dataset: str, members: Optional[Sequence[str]] = None, method: str = "log-rank",
    name: Optional[str] = None, select_on: Optional[str] = None, max_members: int = 3,
    select_sample: Optional[int] = None, select_metric: str = "test_acc", select_seed: int = 0,
    select_search: str = "greedy",
) -> CombineReport:
    """Combine stored score sets of ``members`` (or members chosen on ``select_on``) and store the result.

    Each member reads its score set with the most architectures (then lowest seed, batch
    size, data label). The ensemble is stored under ``name`` (default :func:`ensemble_name`)
    with seed and batch size the members' when they share them (else -1 and 0), data label
    ``ens(PROXY@SEED/BATCH/DATA+...)``, time the sum of the members' times, and the recipe
    in the provenance options. Storing it again replaces the previous rows of that name.

    Members: ``members``, or chosen on another benchmark (``select_on``, see
    :func:`select_members`), or on ``select_sample`` labelled architectures of the target
    (``select_metric``, drawn with ``select_seed``; :func:`select_members_on_sample`), which
    are stored as NaN with a reason (the recipe lists them). ``select_search``: ``greedy`` or
    ``exhaustive`` (:func:`select_members`).
    """
    from .registry import REGISTRY

    get_space(space)
    if method not in METHODS:
        raise ZcdbError(f"unknown ensemble method {method!r}: use one of {', '.join(METHODS)}")
    if sum(x is not None for x in (members, select_on, select_sample)) != 1:
        raise ZcdbError("give either the members (--proxies a,b,c), a benchmark to choose them on (--select-on) "
                        "or a labelled sample of the target to choose them on (--select-sample N)")
    steps: list[dict[str, Any]] = []
    held_out = np.zeros(0, dtype=np.int64)
    if select_on is not None:
        members, steps = select_members(store, space, dataset, select_on, method, max_members, select_search)
    elif select_sample is not None:
        members, steps, held_out = select_members_on_sample(store, space, dataset, select_sample, method,
                                                            max_members, select_metric, select_seed, select_search)
        select_on = f"{select_sample} labelled {space}/{dataset} architectures ({select_metric}, seed {select_seed})"
    members = list(dict.fromkeys(m.strip() for m in members if m.strip()))
    if not members:
        raise ZcdbError("no member proxies named: give --proxies a,b,c")
    sets = [_score_set(store, space, dataset, p) for p in members]
    proxy = name or ensemble_name(method, members)
    if any(c in proxy for c in "+, "):
        raise ZcdbError(f"--name {proxy!r}: a proxy name cannot hold '+', ',' or spaces (they separate names in "
                        "--features zc:A+B and --proxies A,B)")
    if proxy in REGISTRY:
        raise ZcdbError(f"--name {proxy!r} is a registry proxy: give the ensemble a name of its own")
    if proxy in members:
        raise ZcdbError(f"--name {proxy!r} is one of the members: give the ensemble a name of its own")
    member_scores = _member_scores(store, space, dataset, sets)
    values = combine(member_scores, method, {p: orientation(p) for p in members})
    idx = np.flatnonzero(np.isfinite(values))  # rows: every architecture all members scored
    # dense arrays are over the store's axis of the space: a non-enumerable space's stored sample
    # (positions, not ids), so rows are read and written through dense_positions / dense_ids
    axis = store.sample_space(space, dataset)
    held = np.isin(idx, held_out)
    mates = _class_mates(axis, idx, held_out) & ~held
    if idx.size == held.sum() + mates.sum():
        raise ZcdbError(f"members {', '.join(members)} have no architecture scored by all of them on "
                        f"{space}/{dataset}: compute them on the same architectures")
    times = np.zeros(idx.size)
    for s in sets:
        arr = np.full(values.size, np.nan)
        i, _, t = store.proxy_scores(space, dataset, s["proxy"], s["seed"], s["batch_size"], s["data"])
        pos, stored = dense_positions(axis, i)
        if stored is None:
            arr[pos] = t
        else:
            arr[pos[stored]] = t[stored]
        times += np.nan_to_num(arr[idx])
    seeds = {s["seed"] for s in sets}
    sizes = {s["batch_size"] for s in sets}
    seed = seeds.pop() if len(seeds) == 1 else -1
    batch_size = sizes.pop() if len(sizes) == 1 else 0
    data = "ens(" + "+".join(f"{s['proxy']}@{s['seed']}/{s['batch_size']}/{s['data']}" for s in sets) + ")"
    recipe = dict(ensemble=proxy, method=method, members=sets, select_on=select_on, selection=steps)
    if select_on is not None:
        recipe["select_search"] = select_search
    if select_sample is not None:
        recipe["select_sample"] = dict(n=select_sample, metric=select_metric, seed=select_seed,
                                       archs=dense_ids(axis, held_out).tolist(),
                                       class_mates=dense_ids(axis, idx[mates]).tolist())
    with store.importing(f"zcdb proxies combine {proxy}", "proxies-combine", recipe, replace=True) as imp:
        # the selection's labelled sample is stored as NaN with its reason (never evaluated as if unseen,
        # and storing the ensemble again with another sample overwrites every row of the last one)
        reasons = [_HELD_OUT if h else _CLASS_MATE if m else None for h, m in zip(held.tolist(), mates.tolist())]
        imp.add_proxy_scores(space, dataset, proxy, seed, batch_size, data, dense_ids(axis, idx),
                             np.where(held | mates, np.nan, values[idx]), times, reasons)
    some = np.any([np.isfinite(v) for v in member_scores.values()], axis=0)
    return CombineReport(proxy, method, sets, data, int(idx.size - held.sum() - mates.sum()),
                         int(some.sum()) - int(idx.size), select_on, steps, int(held.sum()), int(mates.sum()))


def _class_mates(axis: Any, idx: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """Which of ``idx`` share an isomorphism class with an architecture of ``held_out`` (positions on
    ``axis``); all False where the axis has no classes (a stored sample, a space without a canonical form)."""
    from zcdb.spaces.sampled import SampledSpace

    if not held_out.size or isinstance(axis, SampledSpace) or axis.size is None:
        return np.zeros(idx.size, dtype=bool)
    try:
        rep = np.asarray(axis.representatives(), dtype=np.int64)
    except NotImplementedError:
        return np.zeros(idx.size, dtype=bool)
    return np.isin(rep[idx], rep[held_out])
