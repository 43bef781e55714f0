"""Named, composable feature sets of architectures, computed from the store.

A feature *spec* is a comma-separated list of set names, each optionally followed by
``:`` and ``+``-separated arguments::

    onehot                      choice per position (nb201: operation per edge, 30 columns)
    adjacency                   the pruned cell: op per *live* edge (nb201: 24 columns)
    path                        input-to-output paths with their operations (nb201: 100 columns)
    zc                          every stored proxy of the benchmark's space and dataset
    zc:nwot+synflow             the named proxies only
    cost                        params, FLOPs, latency/energy stored at epoch 0
    curve                       train/val accuracy and loss at 1/16, 1/8, 1/4 of the schedule
    curve:3                     ... at every stored epoch 1..3
    curve:val_acc@3+val_acc@6   exactly these (metric, epoch) columns

Encodings are asked of the space (:meth:`zcdb.spaces.SearchSpace.encode`); a space
without one raises :class:`~zcdb.errors.MissingCapability`.
:func:`feature_matrix` computes all architectures of the space at once (numpy) and
caches the result per store; a :class:`FeatureMatrix` records its exact column names
and where each value came from, so a fitted surrogate can refuse inputs that differ.
Values the store lacks (a proxy not computed for an architecture, a NaN score) are NaN:
scikit-learn's ``HistGradientBoostingRegressor`` routes them natively; other regressors
need an imputer.

Choosing a proxy's score set: a proxy may be stored under several configurations
(seed, batch size, data). The ``zc_seed``/``zc_batch_size``/``zc_data`` filters narrow
the candidates; among those left, the set with the most architectures wins, then the
lowest seed, then the smallest batch size, then the data label in alphabetical order.
A fitted surrogate pins the configurations it used (``zc_configs``).
``zc_by_class`` answers an architecture without a score by a scored member of its isomorphism
class (:func:`feature_matrix`).

Coverage: a surrogate fitted on proxy features that most architectures lack predicts
those from its NaN branches, which says nothing about them. So a plain ``zc`` takes only
the proxies that cover the *pool* (:func:`zc_selection`: the architectures measured and
scored by the widest proxy; every proxy scored on all of them), ``zc:NAME+...`` must cover
the training architectures (:func:`check_coverage`, else :class:`FeatureMismatch`), and a
:class:`~zcdb.surrogates.SurrogateBenchmark` answers NaN where an architecture's features
are missing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from zcdb.errors import UnknownMetric, ZcdbError
from zcdb.spaces import get_space

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark, Store


class FeatureMismatch(ZcdbError):
    """Features that differ from those a surrogate was fitted on."""


#: Metrics of the default ``curve`` set (those the benchmark stores at several epochs).
CURVE_METRICS: tuple[str, ...] = ("train_acc", "train_loss", "val_acc", "val_loss")
#: The keyword arguments that choose what ``zc`` columns read (:func:`feature_matrix`).
ZC_KEYS: tuple[str, ...] = ("zc_seed", "zc_batch_size", "zc_data", "zc_configs", "zc_by_class")
#: Fractions of the last stored epoch that the default ``curve`` set reads.
CURVE_FRACTIONS: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4)


@dataclass(frozen=True)
class FeatureMatrix:
    """Features of every architecture of a space: ``X[i]`` is the row of official index ``i``."""

    #: Canonical spec (e.g. ``"onehot,zc:nwot+synflow"``).
    spec: str
    space: str
    #: Exact column names, in order.
    columns: tuple[str, ...]
    #: ``(NUM_ARCHS, len(columns))`` float64, read-only; NaN where the store lacks a value.
    X: np.ndarray = field(repr=False)
    #: Proxy name -> the score set used: seed, batch_size, data, n.
    zc_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Free-form notes on where values came from (e.g. costs filled by formula).
    notes: tuple[str, ...] = ()
    #: ``(NUM_ARCHS, len(columns))`` whether each value exists: finite, or a proxy score stored as NaN with
    #: its reason (a diverged score is a result); None: wherever ``X`` is finite.
    present: Optional[np.ndarray] = field(default=None, repr=False)
    #: ``(NUM_ARCHS,)`` architectures with some ``zc`` value copied from a scored member of their isomorphism
    #: class (``zc_by_class``): present for prediction, left out of training pools; None: none.
    answered: Optional[np.ndarray] = field(default=None, repr=False)

    def rows(self, archs: Sequence[int]) -> np.ndarray:
        """Feature rows of official indices ``archs``."""
        return self.X[np.asarray(archs, dtype=np.int64)]

    def known(self) -> np.ndarray:
        """:attr:`present`, or where ``X`` is finite."""
        return self.present if self.present is not None else np.isfinite(self.X)

    def coverage(self) -> np.ndarray:
        """Boolean mask by index: architectures that have every feature (a proxy never computed for an
        architecture, a cost or curve value the table lacks, leave it out; a stored NaN score does not)."""
        return self.known().all(axis=1)

    def own(self) -> np.ndarray:
        """Boolean mask by index: architectures none of whose values was answered by class (:attr:`answered`)."""
        return ~self.answered if self.answered is not None else np.ones(self.X.shape[0], dtype=bool)


@dataclass(frozen=True)
class FeatureSetSpec:
    """One named feature set: its builder and whether it needs a benchmark (not only a space)."""

    name: str
    build: Callable[["_Context", tuple[str, ...]], tuple[list[str], np.ndarray]]
    needs_benchmark: bool
    description: str


@dataclass
class _Context:
    space: str
    benchmark: Optional["Benchmark"]
    zc_filters: dict[str, Any]
    zc_configs: Optional[Mapping[str, Mapping[str, Any]]]
    #: Answer architectures without a stored score by a scored member of their class (unless pinned).
    by_class: bool = False
    used_zc: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Architectures some zc column answered by class.
    answered: Optional[np.ndarray] = None
    #: zc column -> architectures with a stored score row (finite or NaN with its reason).
    scored: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def require_benchmark(self, name: str) -> "Benchmark":
        if self.benchmark is None:
            raise ZcdbError(f"feature set {name!r} reads the store: pass a benchmark "
                            "(store.benchmark(space, dataset)), not a space name")
        return self.benchmark


# --------------------------------------------------------------------------- encodings (asked of the space)
def _no_args(name: str, args: tuple[str, ...]) -> None:
    if args:
        raise ZcdbError(f"feature set {name!r} takes no arguments, got {':'.join(args)!r}: write {name}")


def _encoding(kind: str) -> Any:
    def build(ctx: _Context, args: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
        _no_args(kind, args)
        # a benchmark's own space: for a space too large to enumerate, its stored sample
        sp = ctx.benchmark.search_space if ctx.benchmark is not None else get_space(ctx.space)
        cols, X = sp.encode(np.arange(sp.require_size(f"the {kind} encoding of every architecture")), kind)
        return list(cols), np.asarray(X, dtype=np.float64)

    return build


# --------------------------------------------------------------------------- store-backed sets
def proxy_candidates(store: "Store", space: str, dataset: str) -> dict[str, list[dict[str, Any]]]:
    """Stored score sets by proxy name: ``{proxy: [{seed, batch_size, data, n}, ...]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in store.proxy_runs(space, dataset):
        out.setdefault(r["proxy"], []).append(dict(seed=r["seed"], batch_size=r["batch_size"], data=r["data"],
                                                   n=r["n"]))
    return out


def choose_score_set(candidates: Sequence[Mapping[str, Any]], seed: Optional[int] = None,
                     batch_size: Optional[int] = None, data: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The score set a proxy's ``zc`` column reads (see the module docstring), or None if none passes the filters."""
    ok = [c for c in candidates
          if (seed is None or c["seed"] == seed) and (batch_size is None or c["batch_size"] == batch_size)
          and (data is None or c["data"] == data)]
    if not ok:
        return None
    return dict(min(ok, key=lambda c: (-c["n"], c["seed"], c["batch_size"], c["data"])))


def _read_scores(store: "Store", space: str, dataset: str, proxy: str, cfg: Mapping[str, Any],
                 axis: Any, by_class: bool = False) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """One score set dense over the benchmark's space ``axis`` (a stored sample: its positions; others left
    out), where it has a stored row (a finite score, or NaN with its reason), and (``by_class``) the
    architectures without a row answered by the row of a member of their isomorphism class
    (:meth:`~zcdb.spaces.SearchSpace.class_sources`), or None."""
    from zcdb.spaces.sampled import dense_positions

    n = axis.require_size("proxy features")
    arr = np.full(n, np.nan)
    has = np.zeros(n, dtype=bool)
    idx, values, _ = store.proxy_scores(space, dataset, proxy, cfg["seed"], cfg["batch_size"], cfg["data"])
    pos, stored = dense_positions(axis, idx)
    if stored is None:
        arr[idx] = values
        has[idx] = True
    else:
        arr[pos[stored]] = values[stored]
        has[pos[stored]] = True
    if not by_class:
        return arr, has, None
    source = axis.class_sources(np.flatnonzero(has), "zc_by_class (--zc-by-class)")
    answered = (source >= 0) & ~has
    arr[answered] = arr[source[answered]]
    return arr, has | answered, answered


def _zc(ctx: _Context, args: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    bench = ctx.require_benchmark("zc")
    cands = proxy_candidates(bench.store, bench.space, bench.dataset)
    if ctx.zc_configs is not None and not args:
        names = list(ctx.zc_configs)
    else:
        names = list(dict.fromkeys(args)) if args else sorted(cands)
    if not names:
        raise ZcdbError(f"no proxy scores stored for {bench.space}/{bench.dataset}: run `zcdb proxies compute` "
                        "or `zcdb import naslib-zc FILE` first, or drop zc from the features")
    cols, blocks = [], []
    bench.search_space.require_size("proxy features")
    for proxy in names:
        if proxy not in cands:
            raise FeatureMismatch(f"proxy {proxy!r} has no scores for {bench.space}/{bench.dataset}: stored proxies "
                                  f"are {', '.join(sorted(cands)) or 'none'}")
        if ctx.zc_configs is not None:
            want = ctx.zc_configs.get(proxy)
            if want is None:
                raise FeatureMismatch(f"zc:{proxy} is not among the pinned proxies {', '.join(ctx.zc_configs)}")
            cfg = choose_score_set(cands[proxy], want["seed"], want["batch_size"], want["data"])
            if cfg is None:
                raise FeatureMismatch(
                    f"the store has no {proxy} scores with seed {want['seed']}, batch size {want['batch_size']}, "
                    f"data {want['data']!r} (the surrogate was fitted on those): compute or import them")
        else:
            cfg = choose_score_set(cands[proxy], **ctx.zc_filters)
            if cfg is None:
                raise FeatureMismatch(f"no {proxy} scores match {_describe_filters(ctx.zc_filters)}: stored sets are "
                                      + "; ".join(_describe_cfg(c) for c in cands[proxy]))
        by_class = bool(want.get("by_class", False)) if ctx.zc_configs is not None else ctx.by_class
        block, has, answered = _read_scores(bench.store, bench.space, bench.dataset, proxy, cfg,
                                            bench.search_space, by_class)
        if not has.any():
            # scores of other architectures than the benchmark's (nb301's zen): no feature at all
            if args or ctx.zc_configs is not None:
                raise FeatureMismatch(f"the {proxy} scores of {bench.space}/{bench.dataset} cover none of its "
                                      f"{block.size} architectures with rows: drop zc:{proxy}")
            ctx.notes.append(f"zc:{proxy} left out: its scores cover none of the benchmark's architectures")
            continue
        ctx.used_zc[proxy] = dict(cfg, by_class=True) if by_class else cfg
        if answered is not None:
            ctx.answered = answered if ctx.answered is None else ctx.answered | answered
        cols.append(f"zc:{proxy}")
        blocks.append(block)
        ctx.scored[f"zc:{proxy}"] = has
    if not blocks:
        raise FeatureMismatch(f"no stored proxy scores of {bench.space}/{bench.dataset} cover its architectures: "
                              "compute or import some for them, or drop zc from the features")
    return cols, np.stack(blocks, axis=1)


def _describe_filters(f: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in f.items() if v is not None) or "(no filter)"


def _describe_cfg(c: Mapping[str, Any]) -> str:
    return f"seed {c['seed']}, batch size {c['batch_size']}, data {c['data']} ({c['n']} archs)"


def _cost_metrics(bench: "Benchmark") -> list[str]:
    out = []
    for m in bench.metrics():
        if (m in ("params", "flops") or m.startswith(("latency_", "energy_"))) and 0 in bench.epochs(m):
            out.append(m)
    return out


def _formula_costs(ctx: _Context, bench: "Benchmark") -> Optional[dict[str, dict[str, np.ndarray]]]:
    """Params and FLOPs of every architecture by the space's exact counter, per convention (None if not applicable:
    the space has no counter, or the benchmark's protocol trains other networks than the space's own)."""
    sp = bench.search_space
    if bench.protocol not in sp.official_protocols or bench.dataset not in sp.datasets:
        return None
    out: dict[str, dict[str, np.ndarray]] = {}
    for conv in sp.cost_conventions or (None,):
        params, flops = sp.cost_table(bench.dataset, conv)
        out[conv or "exact"] = {"params": params, "flops": flops}
    return out


def _cost(ctx: _Context, args: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    bench = ctx.require_benchmark("cost")
    stored = _cost_metrics(bench)
    names = list(dict.fromkeys(args)) if args else sorted(set(stored) | {"params", "flops"})
    n = bench.search_space.require_size("cost features")
    formula: Any = False
    cols, blocks = [], []
    for m in names:
        v = np.array(bench.values(m, 0), dtype=np.float64) if m in stored else np.full(n, np.nan)
        if m in ("params", "flops") and np.isnan(v).any():
            if formula is False:
                formula = _formula_costs(ctx, bench)
            if formula is not None:
                have = np.isfinite(v)
                conv = next((c for c in formula
                             if np.allclose(formula[c][m][have], v[have], rtol=1e-6, atol=1e-9)), None)
                if conv is not None:
                    missing = int((~have).sum())
                    v[~have] = formula[conv][m][~have]
                    ctx.notes.append(f"cost:{m}: {missing} values by the exact formula ({conv} convention)")
        if np.isnan(v).all():
            if args:
                raise ZcdbError(f"{bench.space}/{bench.dataset} has no {m} at epoch 0: import costs "
                                "(e.g. `zcdb import csv ...` of HW-NAS-Bench) or drop it from cost:...")
            continue
        cols.append(f"cost:{m}")
        blocks.append(v)
    if not cols:
        raise ZcdbError(f"{bench.space}/{bench.dataset} has no cost metrics (params, flops, latency_*): "
                        "import some first, or drop cost from the features")
    return cols, np.stack(blocks, axis=1)


def _curve(ctx: _Context, args: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    bench = ctx.require_benchmark("curve")
    avail = [m for m in CURVE_METRICS if m in bench.metrics() and len(bench.epochs(m)) > 1]
    pairs: list[tuple[str, int]] = []
    if not args or (len(args) == 1 and args[0].isdigit()):
        if not avail:
            raise ZcdbError(f"{bench.space}/{bench.dataset} stores no learning curves ({', '.join(CURVE_METRICS)} "
                            "at several epochs): import per-epoch results or drop curve from the features")
        for m in avail:
            eps = bench.epochs(m)
            if args:
                want = [e for e in eps if 1 <= e <= int(args[0])]
            else:
                last = max(eps)
                want = sorted({e for e in eps for f in CURVE_FRACTIONS if e == max(1, int(round(f * last)))})
            pairs += [(m, e) for e in want]
        if not pairs:
            raise ZcdbError(f"{bench.space}/{bench.dataset} stores no curve epochs "
                            f"{'<= ' + args[0] if args else 'at 1/16, 1/8, 1/4 of the schedule'}: "
                            "name them, e.g. curve:val_acc@12")
    else:
        for a in args:
            m, at, e = a.partition("@")
            if m not in bench.metrics():
                raise UnknownMetric(f"curve:{a}: {bench.space}/{bench.dataset} has no {m!r}; "
                                    f"stored metrics are {', '.join(bench.metrics())}")
            eps = bench.epochs(m)
            if not at:
                last = max(eps)
                pairs += [(m, e) for e in sorted({max(1, int(round(f * last))) for f in CURVE_FRACTIONS}) if e in eps]
            elif e.isdigit() and int(e) in eps:
                pairs.append((m, int(e)))
            else:
                raise UnknownMetric(f"curve:{a}: {m} is stored at epochs {', '.join(map(str, eps))}: "
                                    f"write curve:{m}@EPOCH with one of them")
    pairs = list(dict.fromkeys(pairs))
    return [f"curve:{m}@{e}" for m, e in pairs], np.stack([bench.values(m, e) for m, e in pairs], axis=1)


#: Feature set name -> definition: the registry (filled here, nowhere else).
FEATURE_SETS: dict[str, FeatureSetSpec] = {
    s.name: s for s in (
        FeatureSetSpec("onehot", _encoding("onehot"), False, "choice per position, one-hot (nb201: 6 edges x 5 ops)"),
        FeatureSetSpec("adjacency", _encoding("adjacency"), False,
                       "the pruned cell, where the space has one: one-hot op per live edge (nb201: 6 x 4)"),
        FeatureSetSpec("path", _encoding("path"), False,
                       "BANANAS path encoding, where the space has one: each input-to-output route's ops (nb201: 100)"),
        FeatureSetSpec("zc", _zc, True, "stored zero-cost proxy scores, all or zc:NAME+NAME"),
        FeatureSetSpec("cost", _cost, True, "params, flops, latency_*/energy_* at epoch 0 (params/flops filled by "
                                            "the space's exact counter where the table lacks them)"),
        FeatureSetSpec("curve", _curve, True, "early learning-curve values: curve, curve:E, curve:METRIC@EPOCH"),
    )
}


# --------------------------------------------------------------------------- specs
def parse_spec(spec: Union[str, Sequence[str]]) -> list[tuple[str, tuple[str, ...]]]:
    """Parse a feature spec (``"onehot,zc:nwot+synflow"`` or a list of items) into (set name, arguments)."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    items = [s for s in items if s]
    if not items:
        raise ZcdbError(f"empty feature spec: use some of {', '.join(FEATURE_SETS)}, e.g. onehot,zc")
    out = []
    for item in items:
        name, _, rest = item.partition(":")
        if name not in FEATURE_SETS:
            raise ZcdbError(f"unknown feature set {name!r}: use {', '.join(FEATURE_SETS)} (comma-separated)")
        args = tuple(a.strip() for a in rest.split("+") if a.strip()) if rest else ()
        out.append((name, args))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ZcdbError(f"feature spec {spec!r} names a set twice: merge the arguments, e.g. zc:a+b")
    return out


def canonical_spec(spec: Union[str, Sequence[str]]) -> str:
    """The spec as one normalized string."""
    return ",".join(n + (":" + "+".join(a) if a else "") for n, a in parse_spec(spec))


def needs_benchmark(spec: Union[str, Sequence[str]]) -> bool:
    """Whether any set of ``spec`` reads the store (zc, cost, curve) rather than only the space."""
    return any(FEATURE_SETS[n].needs_benchmark for n, _ in parse_spec(spec))


# --------------------------------------------------------------------------- building, cached
_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple, FeatureMatrix]]" = weakref.WeakKeyDictionary()
_SPACE_CACHE: dict[tuple, FeatureMatrix] = {}


def feature_matrix(
    source: Union["Benchmark", str], spec: Union[str, Sequence[str]] = "onehot", *,
    zc_seed: Optional[int] = None, zc_batch_size: Optional[int] = None, zc_data: Optional[str] = None,
    zc_configs: Optional[Mapping[str, Mapping[str, Any]]] = None, zc_by_class: bool = False,
) -> FeatureMatrix:
    """Features of every architecture for ``spec``, from a benchmark (or, for encodings only, a space name).

    ``zc_seed``/``zc_batch_size``/``zc_data`` restrict which stored score set a ``zc``
    column reads; ``zc_configs`` (proxy -> seed, batch_size, data, and ``by_class`` when true) pins them
    exactly, as a fitted surrogate does. ``zc_by_class``: an architecture without a stored score takes
    that of a scored member of its isomorphism class (the smallest index), as ``zcdb proxies eval
    --by-class`` answers it, so that a table of one member per class (``--archs-file unique``) gives
    every architecture its features; those architectures are marked :attr:`FeatureMatrix.answered`
    (predicted, never trained or tested on: :func:`~zcdb.surrogates.pool_of` leaves them out).
    Results are cached per store (and invalidated by imports).
    """
    parsed = parse_spec(spec)
    canon = ",".join(n + (":" + "+".join(a) if a else "") for n, a in parsed)
    filters = dict(seed=zc_seed, batch_size=zc_batch_size, data=zc_data)
    pinned = tuple(sorted((k, tuple(sorted(v.items()))) for k, v in zc_configs.items())) if zc_configs else None
    if isinstance(source, str):
        bench = None
        space = source
        get_space(space)
        key: tuple = (space, canon)
        cache = _SPACE_CACHE
    else:
        bench = source
        space = bench.space
        key = (bench.store.generation, bench.space, bench.dataset, bench.protocol, canon,
               tuple(filters.values()), pinned, bool(zc_by_class))
        cache = _CACHE.setdefault(bench.store, {})
    hit = cache.get(key)
    if hit is not None:
        return hit
    ctx = _Context(space, bench, filters, zc_configs, bool(zc_by_class))
    cols: list[str] = []
    blocks = []
    for name, args in parsed:
        fs = FEATURE_SETS[name]
        if fs.needs_benchmark and bench is None:
            ctx.require_benchmark(name)
        c, x = fs.build(ctx, args)
        cols += c
        blocks.append(np.asarray(x, dtype=np.float64))
    X = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    X.setflags(write=False)
    present = np.isfinite(X)
    for k, c in enumerate(cols):
        if c in ctx.scored:
            present[:, k] = ctx.scored[c]
    present.setflags(write=False)
    if ctx.answered is not None:
        ctx.answered.setflags(write=False)
    fm = FeatureMatrix(canon, space, tuple(cols), X, dict(ctx.used_zc), tuple(ctx.notes), present, ctx.answered)
    if bench is not None:
        # an import bumps the store's generation: drop entries computed before it
        for k in [k for k in cache if k[0] != bench.store.generation]:
            del cache[k]
    cache[key] = fm
    return fm


def zc_items(spec: Union[str, Sequence[str]]) -> list[tuple[str, ...]]:
    """The argument tuples of the ``zc`` items of ``spec`` (``()`` for a plain ``zc``)."""
    return [a for n, a in parse_spec(spec) if n == "zc"]


def zc_selection(benchmark: "Benchmark", metric: str, epoch: Optional[int] = None,
                 **zc: Any) -> tuple[list[str], np.ndarray]:
    """What a plain ``zc`` stands for on ``benchmark``: ``(proxies, pool)``.

    ``pool``: the architectures with a measured ``metric`` that the widest stored proxy
    (most scores among them; ties by name) scored; ``proxies``: every proxy with a stored
    score for each of them, in name order (a score stored as NaN with its reason counts). A
    proxy scored on fewer architectures (NAS-Bench-Suite-Zero's 725 beside zcdb's 1,675) is
    left out instead of leaving most rows NaN. Architectures answered by class (``zc_by_class``) are not in
    the pool. ``zc`` takes ``zc_seed``/``zc_batch_size``/``zc_data``/``zc_configs``/``zc_by_class``."""
    fm = feature_matrix(benchmark, "zc", **_zc_kwargs(zc))
    measured = np.isfinite(benchmark.values(metric, epoch))
    finite = fm.known() & (measured & fm.own())[:, None]
    counts = finite.sum(axis=0)
    if counts.max(initial=0) == 0:
        raise ZcdbError(f"no stored proxy scored an architecture with a measured {metric} in "
                        f"{benchmark.space}/{benchmark.dataset}: compute scores (`zcdb proxies compute`) or drop zc")
    widest = int(np.argmax(counts))  # columns are in name order: ties go to the first name
    pool = finite[:, widest]
    keep = [c.split(":", 1)[1] for k, c in enumerate(fm.columns) if finite[pool, k].all()]
    return keep, np.flatnonzero(pool)


def _zc_kwargs(zc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: zc[k] for k in ZC_KEYS if zc.get(k) is not None}


def covering_features(benchmark: "Benchmark", spec: Union[str, Sequence[str]], fm: FeatureMatrix,
                      archs: np.ndarray) -> FeatureMatrix:
    """``fm`` (the features of ``spec``) with a plain ``zc`` narrowed to the proxy sets that have a stored
    score for every one of ``archs`` (the training architectures), pinned in ``zc_configs``.

    :class:`FeatureMismatch` when none does; named proxies (``zc:a+b``) are left to
    :func:`check_coverage`."""
    if not any(n == "zc" and not a for n, a in parse_spec(spec)):
        return fm
    archs = np.asarray(archs, dtype=np.int64)
    zc_cols = [k for k, c in enumerate(fm.columns) if c.startswith("zc:")]
    known = fm.known()
    keep = [fm.columns[k].split(":", 1)[1] for k in zc_cols if known[archs, k].all()]
    if len(keep) == len(zc_cols):
        return fm
    if not keep:
        best = max(zc_cols, key=lambda k: int(known[archs, k].sum()))
        raise FeatureMismatch(
            f"no stored proxy scored all {archs.size} training architectures (the closest, "
            f"{fm.columns[best]}, scored {int(known[archs, best].sum())}): draw them from "
            "zcdb.surrogates.pool_of(benchmark, metric, features) (the architectures the proxies scored), "
            "or compute scores for them")
    return feature_matrix(benchmark, spec, zc_configs={p: fm.zc_configs[p] for p in keep})


def check_coverage(fm: FeatureMatrix, archs: np.ndarray, what: str = "training architectures") -> None:
    """:class:`FeatureMismatch` naming the first ``zc`` column without a stored score for one of ``archs``."""
    archs = np.asarray(archs, dtype=np.int64)
    known = fm.known()
    for k, col in enumerate(fm.columns):
        if not col.startswith("zc:"):
            continue
        bad = archs[~known[archs, k]]
        if bad.size:
            proxy = col.split(":", 1)[1]
            raise FeatureMismatch(
                f"{col} has no score for {bad.size} of the {archs.size} {what} (e.g. index {int(bad[0])}): train on "
                f"architectures it scored (zcdb.surrogates.pool_of with zc:{proxy}), compute its scores for them, "
                f"or drop {proxy} from the features")


def describe() -> list[dict[str, Any]]:
    """The feature sets: name, whether they read the store, description."""
    return [dict(name=s.name, reads_store=s.needs_benchmark, description=s.description)
            for s in FEATURE_SETS.values()]


def check_columns(expected: Sequence[str], got: Sequence[str], what: str = "the features") -> None:
    """Raise :class:`FeatureMismatch` naming the first difference unless the column lists are equal."""
    expected, got = list(expected), list(got)
    if expected == got:
        return
    missing = [c for c in expected if c not in got]
    extra = [c for c in got if c not in expected]
    if missing or extra:
        detail = (f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}" if missing else "") + \
                 ("; " if missing and extra else "") + \
                 (f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}" if extra else "")
    else:
        k = next(k for k, (a, b) in enumerate(zip(expected, got)) if a != b)
        detail = f"column {k} is {got[k]!r}, not {expected[k]!r} (same columns, other order)"
    raise FeatureMismatch(f"{what} differ from those the surrogate was fitted on ({detail}): "
                          f"use the features it was saved with ({len(expected)} columns)")
