"""One architecture, everything the store knows about it (``zcdb arch``, :meth:`zcdb.Store.arch`).

For every benchmark of the architecture's space: the final value of every metric (last
stored epoch, mean over seeds), the architecture's rank by it (1 = best, in the metric's
declared direction, among the architectures with a value) and how many were ranked; the
costs the space's exact counter gives where no row holds them (marked ``computed``); every
stored proxy score; and its isomorphism class (canonical form and the class's
representative). No SQL here: it asks the store and the benchmarks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .errors import MissingCapability, UnknownArch, ZcdbError
from .spaces import get_space, parse_arch_text

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

#: Metrics a space's exact counter computes (``SearchSpace.cost``), in its order.
COST_METRICS = ("params", "flops")


def arch_report(store: "Store", arch: Any, space: str) -> dict[str, Any]:
    """Everything about ``arch`` (official string, index or tuple) in ``space`` (see the module docstring)."""
    sp = get_space(space)
    index = sp.index_of(parse_arch_text(arch, sp) if isinstance(arch, str) else arch)
    string = sp.string_of(index)
    try:
        rep = int(sp.representatives()[index])
    except MissingCapability:
        rep = index
    out: dict[str, Any] = dict(space=space, index=int(index), arch=string, canonical=sp.canonical(index),
                               class_representative=rep, benchmarks=[], proxies=[])
    seen_datasets = set()
    for b in store.benchmark_rows():
        if b["space"] != space:
            continue
        bench = store.benchmark(space, b["dataset"], b["protocol"])
        seen_datasets.add(b["dataset"])
        # a benchmark of a space too large to enumerate indexes its stored sample by position
        at = index if bench.search_space is sp else _position_in(bench.search_space, string)
        metrics = []
        for m in bench.metrics():
            v = bench.values(m)
            value = float(v[at]) if at is not None else math.nan
            finite = v[np.isfinite(v)]
            rank = None
            if math.isfinite(value):
                hib = bench.higher_is_better(m)
                rank = int(np.sum(finite > value) if hib else np.sum(finite < value)) + 1
            spec = bench.metric_spec(m)
            metrics.append(dict(metric=m, epoch=bench.epochs(m)[-1], value=value, unit=spec.unit,
                                best=spec.direction, rank=rank, ranked=int(finite.size), computed=False))
        have = {r["metric"] for r in metrics if math.isfinite(r["value"])}
        metrics += _computed_costs(sp, index, b["dataset"], have)
        out["benchmarks"].append(dict(dataset=b["dataset"], protocol=b["protocol"], metrics=metrics))
    for dataset in getattr(sp, "datasets", ()):
        if dataset not in seen_datasets:
            costs = _computed_costs(sp, index, dataset, set())
            if costs:
                out["benchmarks"].append(dict(dataset=dataset, protocol=None, metrics=costs))
    for r in store.proxy_scores_of(space, index):
        out["proxies"].append(dict(zip(("dataset", "proxy", "seed", "batch_size", "data", "score", "seconds",
                                        "reason"), r)))
    return out


def _position_in(sample: Any, string: str) -> Optional[int]:
    try:
        return int(sample.index_of(string))
    except UnknownArch:
        return None


def _computed_costs(sp: Any, index: int, dataset: str, have: set[str]) -> list[dict[str, Any]]:
    if all(m in have for m in COST_METRICS):
        return []
    try:
        params, flops = sp.cost(index, dataset)
    except (MissingCapability, ZcdbError):
        return []
    units = {"params": "M", "flops": "MFLOPs"}
    return [dict(metric=m, epoch=0, value=float(v), unit=units[m], best="min", rank=None, ranked=0, computed=True)
            for m, v in zip(COST_METRICS, (params, flops)) if m not in have]


def exact_cost(sp: Any, index: int, dataset: str, metric: str) -> Optional[float]:
    """``metric`` (params or flops) of one architecture from the space's exact counter, or ``None``."""
    if metric not in COST_METRICS:
        return None
    try:
        return float(sp.cost(index, dataset)[COST_METRICS.index(metric)])
    except (MissingCapability, ZcdbError):
        return None
