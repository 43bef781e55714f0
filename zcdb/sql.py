"""Plain SQL over a store, for any SQLite tool (the ``sqlite3`` shell, DB Browser, datasette, pandas).

The store's two views join the integer keys back into names: ``evaluations_view`` (space, dataset,
protocol, arch_index, arch, metric, epoch, seed, value) and ``proxy_scores_view`` (space, dataset,
arch_index, arch, proxy, seed, batch_size, data, value, time, reason). A benchmark's wide table,
one row per architecture and one column per metric, is one ``GROUP BY`` over the first:
:func:`wide_sql` writes that SELECT for a benchmark (each metric at the epoch
:meth:`zcdb.Benchmark.frame` reads it at, the source's mean where it reported one, else the
mean over seeds), and :func:`create_wide_view` keeps it in the store as a view.

It also holds :data:`CANNED`, the parameterized queries ``zcdb serve`` offers in datasette. This
module only writes SQL text for other tools; the store runs it (:meth:`zcdb.Store.create_view`).

Two differences from :meth:`~zcdb.Benchmark.frame`: the SELECT lists only architectures with
rows (``frame`` lists the whole space, NaN where missing), and an architecture answered by a
member of its isomorphism class (``zcdb tabulate --archs unique``; the ``aliases`` table) has no
row of its own, so it is absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from .bench import metric_epoch
from .errors import ZcdbError

if TYPE_CHECKING:  # pragma: no cover
    from .store import Benchmark, Store

__all__ = ["CANNED", "quote_literal", "quote_name", "wide_sql", "wide_view_name", "create_wide_view"]

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
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in f"wide_{space}_{dataset}_{protocol}")


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
        if _MEAN_SEED not in seeds:
            seed = ""
        elif seeds == [_MEAN_SEED]:
            seed = f" AND seed = {_MEAN_SEED}"
        else:  # an architecture's reported mean where it has one (NULL: reported missing), else its seeds
            seed = (f" AND (seed = {_MEAN_SEED} OR NOT EXISTS (SELECT 1 FROM evaluations_view r WHERE "
                    f"r.space = e.space AND r.dataset = e.dataset AND r.protocol = e.protocol AND "
                    f"r.metric = e.metric AND r.epoch = e.epoch AND r.seed = {_MEAN_SEED} AND "
                    "r.arch_index = e.arch_index))")
        parts.append(f"  SELECT arch_index, arch, metric, value FROM evaluations_view e\n"
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
    sql = wide_sql(bench, metrics, epoch)
    store.create_view(view, sql)
    return dict(name=view, sql=sql)


# Final values of :metric on the benchmarks of (:space, :dataset, :protocol): the last epoch of each
# (benchmark, metric) series, an architecture's reported mean (seed -1) where it has one, else AVG over
# its seeds.
_FINAL = """b AS (SELECT id, space, protocol FROM benchmarks
       WHERE space = :space AND dataset = :dataset AND (:protocol = '' OR protocol = :protocol)),
{name}_last AS (SELECT s.benchmark_id, s.metric_id, MAX(s.epoch) AS epoch FROM series s
       JOIN b ON b.id = s.benchmark_id WHERE s.metric_id = (SELECT id FROM metrics WHERE name = :{param})
       GROUP BY s.benchmark_id, s.metric_id),
{name} AS (SELECT e.benchmark_id, e.arch_index, AVG(e.value) AS value, COUNT(e.value) AS seeds,
       CASE WHEN (SELECT higher_is_better FROM metrics WHERE id = l.metric_id) = 0 THEN -1 ELSE 1 END AS sign
       FROM evaluations e JOIN {name}_last l ON l.benchmark_id = e.benchmark_id AND l.metric_id = e.metric_id
       AND l.epoch = e.epoch
       WHERE e.seed = -1 OR NOT EXISTS (SELECT 1 FROM evaluations r WHERE r.benchmark_id = e.benchmark_id
             AND r.metric_id = e.metric_id AND r.epoch = e.epoch AND r.seed = -1 AND r.arch_index = e.arch_index)
       GROUP BY e.benchmark_id, e.arch_index)"""

_ARCH = "(SELECT arch_index FROM archs WHERE space = :space AND (arch = :arch OR CAST(arch_index AS TEXT) = :arch))"

#: Canned queries (datasette's ``zcdb serve`` shows them; named parameters, all text; blank
#: ``protocol``: any): name -> (title, description, SQL). The fixed canned queries: name -> (title, description, SQL).
CANNED: dict[str, tuple[str, str, str]] = {
    "top_k": (
        "Top k of a benchmark metric",
        "The k best architectures of one metric (its last epoch; mean over seeds), best first, in the metric's "
        "direction; ties by index. protocol: blank for any.",
        "WITH " + _FINAL.format(name="v", param="metric") + """
SELECT b.protocol, v.arch_index, a.arch, v.value, v.seeds FROM v JOIN b ON b.id = v.benchmark_id
LEFT JOIN archs a ON a.space = b.space AND a.arch_index = v.arch_index
WHERE v.value IS NOT NULL
ORDER BY b.protocol, -v.sign * v.value, v.arch_index
LIMIT CAST(:k AS INTEGER)""",
    ),
    "arch": (
        "One architecture's rows",
        "Every benchmark row of one architecture (official string or index) at each metric's last epoch.",
        f"""SELECT b.dataset, b.protocol, m.name AS metric, e.epoch, e.seed, e.value
FROM evaluations e JOIN benchmarks b ON b.id = e.benchmark_id JOIN metrics m ON m.id = e.metric_id
WHERE b.space = :space AND e.arch_index = {_ARCH}
AND e.epoch = (SELECT MAX(s.epoch) FROM series s WHERE s.benchmark_id = e.benchmark_id AND s.metric_id = e.metric_id)
ORDER BY b.dataset, b.protocol, m.name, e.seed""",
    ),
    "arch_proxies": (
        "One architecture's proxy scores",
        "Every stored proxy score of one architecture (official string or index) with its set key and time (s).",
        f"""SELECT dataset, proxy, seed, batch_size, data, value, time, reason FROM proxy_scores
WHERE space = :space AND arch_index = {_ARCH}
ORDER BY dataset, proxy, seed, batch_size, data""",
    ),
    "pareto": (
        "Pareto front of two metrics",
        "The architectures no other beats in both metrics x and y of a benchmark (each in its own direction, at "
        "its last epoch, mean over seeds), by x from best. protocol: blank for any (then give one benchmark).",
        "WITH " + _FINAL.format(name="x", param="x") + ",\n"
        + _FINAL.format(name="y", param="y").split("),\n", 1)[1] + """,
xy AS (SELECT x.arch_index, x.value AS x, y.value AS y, x.sign * x.value AS gx, y.sign * y.value AS gy
       FROM x JOIN y ON y.benchmark_id = x.benchmark_id AND y.arch_index = x.arch_index
       WHERE x.value IS NOT NULL AND y.value IS NOT NULL),
ranked AS (SELECT *, MAX(gy) OVER (PARTITION BY gx) AS best_here,
       MAX(gy) OVER (ORDER BY gx DESC GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best_better_x
       FROM xy)
SELECT r.arch_index, a.arch, r.x, r.y FROM ranked r LEFT JOIN archs a ON a.space = :space AND a.arch_index = r.arch_index
WHERE r.gy = r.best_here AND (r.best_better_x IS NULL OR r.gy > r.best_better_x)
ORDER BY r.gx DESC, r.arch_index""",
    ),
}


