"""Plain SQL over a store, for any SQLite tool (the ``sqlite3`` shell, DB Browser, datasette, pandas).

The store's two views join the integer keys back into names: ``evaluations_view`` (space, dataset,
protocol, arch_index, arch, metric, epoch, seed, value) and ``proxy_scores_view`` (space, dataset,
arch_index, arch, proxy, seed, batch_size, data, value, time, reason). A benchmark's wide table,
one row per architecture and one column per metric, is one ``GROUP BY`` over the first:
:func:`wide_sql` writes that SELECT for a benchmark (each metric at the epoch
:meth:`zcdb.Benchmark.frame` reads it at, the source's mean where it reported one, else the
mean over seeds), and :func:`create_wide_view` keeps it in the store as a view.

Two differences from :meth:`~zcdb.Benchmark.frame`: the SELECT lists only architectures with
rows (``frame`` lists the whole space, NaN where missing), and an architecture answered by a
member of its isomorphism class (``zcdb tabulate --archs unique``; the ``aliases`` table) has no
row of its own, so it is absent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional, Sequence

from .bench import metric_epoch
from .errors import ZcdbError

if TYPE_CHECKING:  # pragma: no cover
    from .store import Benchmark, Store

__all__ = ["quote_literal", "quote_name", "wide_sql", "wide_view_name", "create_wide_view"]

#: Seed of a value its source reported as a mean over seeds (:data:`zcdb.store.MEAN_SEED`).
_MEAN_SEED = -1


def quote_literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def quote_name(name: str) -> str:
    """``name`` as an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def wide_view_name(space: str, dataset: str, protocol: str) -> str:
    """``wide_<space>_<dataset>_<protocol>``, with every character but letters, digits and _ as _."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"wide_{space}_{dataset}_{protocol}")


def wide_sql(bench: "Benchmark", metrics: Optional[Sequence[str]] = None, epoch: Optional[int] = None) -> str:
    """A SELECT over ``evaluations_view`` giving ``bench`` wide: ``arch_index``, ``arch``, one column per
    metric (default: all), read at ``epoch`` (costs at their epoch 0; default: each one's last)."""
    names = list(metrics) if metrics is not None else list(bench.metrics())
    if not names:
        raise ZcdbError(f"{bench.space}/{bench.dataset} has no metrics: import some first (see `zcdb info`)")
    if len(set(names)) != len(names):
        raise ZcdbError("a metric is listed twice: list each once")
    where = (f"space = {quote_literal(bench.space)} AND dataset = {quote_literal(bench.dataset)} "
             f"AND protocol = {quote_literal(bench.protocol)}")
    parts = []
    for m in names:
        ep = metric_epoch(bench, m, epoch)
        ep = bench.epochs(m)[-1] if ep is None else ep
        seeds = bench.seeds(m, ep)
        seed = f" AND seed = {_MEAN_SEED}" if _MEAN_SEED in seeds else ""
        parts.append(f"  SELECT arch_index, arch, metric, value FROM evaluations_view\n"
                     f"  WHERE {where} AND metric = {quote_literal(m)} AND epoch = {int(ep)}{seed}")
    cols = ",\n".join(f"       AVG(CASE WHEN metric = {quote_literal(m)} THEN value END) AS {quote_name(m)}"
                      for m in names)
    union = "\n  UNION ALL\n".join(parts)
    return (f"-- {bench.space}/{bench.dataset} ({bench.protocol}): one row per architecture with rows\n"
            f"SELECT arch_index, MAX(arch) AS arch,\n{cols}\nFROM (\n{union}\n)\n"
            "GROUP BY arch_index ORDER BY arch_index")


def create_wide_view(store: "Store", space: str, dataset: str, protocol: Optional[str] = None,
                     metrics: Optional[Sequence[str]] = None, epoch: Optional[int] = None,
                     name: Optional[str] = None) -> dict[str, Any]:
    """Keep :func:`wide_sql` of a benchmark in the store as a view (replacing one of that name; default
    :func:`wide_view_name`); return its ``name`` and ``sql``. The view fixes the metrics and epochs
    of now: create it again after importing more."""
    bench = store.benchmark(space, dataset, protocol)
    view = name or wide_view_name(bench.space, bench.dataset, bench.protocol)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", view):
        raise ZcdbError(f"view name {view!r}: use letters, digits and _ (not first a digit)")
    existing = store.conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (view,)).fetchone()
    if existing is not None and existing[0] != "view":
        raise ZcdbError(f"{view} is a {existing[0]} of the store, not a view: give another --name")
    sql = wide_sql(bench, metrics, epoch)
    with store._transaction() as conn:
        conn.execute(f"DROP VIEW IF EXISTS {quote_name(view)}")
        conn.execute(f"CREATE VIEW {quote_name(view)} AS\n{sql}")
    return dict(name=view, sql=sql)
