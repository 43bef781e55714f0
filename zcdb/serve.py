"""``zcdb serve``: the store in datasette (the ``serve`` extra), read-only, on loopback, with canned queries.

The store is opened immutable (datasette reads it with SQLite's ``immutable=1``: no writes, no
locks), the server listens on 127.0.0.1 only, and the canned queries are built here, in memory,
as datasette metadata: no metadata, template or plugin file is read. Datasette plugins are
off: the entry points that installed packages declare are not loaded, so no third-party code
runs in the server.

Canned queries (every parameter is text; blank ``protocol`` means any):

``top_k``          the ``k`` best architectures of a benchmark metric (final epoch, the source's
                   mean where it gave one, else the mean over seeds; in the metric's direction)
``arch``           one architecture's rows (final epochs) in every benchmark of its space
``arch_proxies``   one architecture's proxy scores
``pareto``         the Pareto front of two metrics of a benchmark, each in its own direction
``wide_SPACE_DATASET_PROTOCOL``  one per benchmark: its wide table (:func:`zcdb.sql.wide_sql`)

Architectures are given as their official string or their index. As in :mod:`zcdb.sql`, an
architecture answered by a member of its isomorphism class (``aliases``) has no rows of its own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .errors import ZcdbError

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

__all__ = ["HOST", "CANNED", "canned_queries", "metadata", "serve"]

#: Where ``zcdb serve`` listens: loopback only.
HOST = "127.0.0.1"

# Final values of :metric on the benchmarks of (:space, :dataset, :protocol): the last epoch of each
# (benchmark, metric) series, the reported mean (seed -1) where there is one, else AVG over seeds.
_FINAL = """b AS (SELECT id, space, protocol FROM benchmarks
       WHERE space = :space AND dataset = :dataset AND (:protocol = '' OR protocol = :protocol)),
{name}_last AS (SELECT s.benchmark_id, s.metric_id, MAX(s.epoch) AS epoch FROM series s
       JOIN b ON b.id = s.benchmark_id WHERE s.metric_id = (SELECT id FROM metrics WHERE name = :{param})
       GROUP BY s.benchmark_id, s.metric_id),
{name} AS (SELECT e.benchmark_id, e.arch_index, AVG(e.value) AS value, COUNT(e.value) AS seeds,
       CASE WHEN (SELECT higher_is_better FROM metrics WHERE id = l.metric_id) = 0 THEN -1 ELSE 1 END AS sign
       FROM evaluations e JOIN {name}_last l ON l.benchmark_id = e.benchmark_id AND l.metric_id = e.metric_id
       AND l.epoch = e.epoch
       WHERE e.seed = -1 OR NOT EXISTS (SELECT 1 FROM series s WHERE s.benchmark_id = l.benchmark_id
             AND s.metric_id = l.metric_id AND s.epoch = l.epoch AND s.seed = -1)
       GROUP BY e.benchmark_id, e.arch_index)"""

_ARCH = "(SELECT arch_index FROM archs WHERE space = :space AND (arch = :arch OR CAST(arch_index AS TEXT) = :arch))"

#: The fixed canned queries: name -> (title, description, SQL).
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


def canned_queries(store: "Store") -> dict[str, dict[str, Any]]:
    """Datasette canned queries for ``store``: :data:`CANNED`, and a wide table per benchmark."""
    from .sql import wide_sql, wide_view_name

    out: dict[str, dict[str, Any]] = {name: dict(title=t, description=d, sql=sql) for name, (t, d, sql) in
                                      CANNED.items()}
    for b in store.benchmark_rows():
        bench = store.benchmark(b["space"], b["dataset"], b["protocol"])
        name = wide_view_name(b["space"], b["dataset"], b["protocol"])
        if name not in out:
            out[name] = dict(title=f"{b['space']}/{b['dataset']} ({b['protocol']}) wide",
                             description="One row per architecture with rows, one column per metric (last epoch; "
                                         "mean over seeds). The same SELECT as `zcdb sql wide`.",
                             sql=wide_sql(bench))
    return out


def database_name(path: Union[str, Path]) -> str:
    """The name datasette gives the store's file (its stem): the URL path of its pages."""
    return Path(path).stem


def metadata(store: "Store", path: Union[str, Path]) -> dict[str, Any]:
    """The datasette metadata of ``store`` (read from ``path``): title, canned queries, hidden blob table."""
    return {
        "title": f"zcdb store {Path(path).name}",
        "description": "Read-only. Views: evaluations_view and proxy_scores_view join names and arch strings.",
        "databases": {database_name(path): {
            "queries": canned_queries(store),
            "tables": {"series_blobs": {"hidden": True}},
        }},
    }


def _without_plugins() -> None:
    """Keep datasette from loading plugins: the pluggy entry points of installed packages would run their code."""
    if "datasette.plugins" in sys.modules:
        from datasette.plugins import DEFAULT_PLUGINS, pm

        for plugin in list(pm.get_plugins()):
            if getattr(plugin, "__name__", None) not in DEFAULT_PLUGINS:
                pm.unregister(plugin)
        return
    # datasette 0.6x loads entry points at import unless this attribute exists (it is how its own test
    # suite runs without plugins); nothing else in datasette reads it
    sys._called_from_test = True  # type: ignore[attr-defined]


def serve(path: Union[str, Path], port: int = 8001, sql_time_limit_ms: int = 5000) -> None:
    """Serve the store at ``path`` with datasette on 127.0.0.1:``port`` until interrupted (``port`` 0: any
    free one, printed). Needs the ``serve`` extra."""
    from . import open as open_

    if importlib.util.find_spec("datasette") is None:
        raise ZcdbError("zcdb serve needs datasette: pip install 'zcdb[serve]'")
    p = Path(path)
    if not p.is_file():
        raise ZcdbError(f"no store at {p}: import something first (see `zcdb import --help`), or check --db")
    with open_(p) as store:
        meta = metadata(store, p)
    _without_plugins()
    import asyncio

    import uvicorn
    from datasette.app import Datasette

    ds = Datasette([], immutables=[str(p)], metadata=meta,
                   settings={"sql_time_limit_ms": sql_time_limit_ms, "allow_download": False})
    asyncio.run(ds.invoke_startup())
    uvicorn.run(ds.app(), host=HOST, port=int(port), log_level="warning", lifespan="on", workers=1)
