"""``zcdb serve``: the store in datasette (the ``serve`` extra), read-only, on loopback, with canned queries.

(Named for datasette, apart from :mod:`zcdb.served`, the benchmarks a model answers on demand.)

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

Their SQL is :data:`zcdb.sql.CANNED`, runnable in any SQLite tool with the same named parameters.

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

__all__ = ["HOST", "canned_queries", "database_name", "metadata", "serve"]

#: Where ``zcdb serve`` listens: loopback only.
HOST = "127.0.0.1"

def canned_queries(store: "Store") -> dict[str, dict[str, Any]]:
    """Datasette canned queries for ``store``: :data:`zcdb.sql.CANNED`, and a wide table per benchmark."""
    from .sql import CANNED, wide_sql, wide_view_name

    out: dict[str, dict[str, Any]] = {name: dict(title=t, description=d, sql=sql) for name, (t, d, sql) in
                                      CANNED.items()}
    for b in store.benchmark_rows():
        bench = store.benchmark(b["space"], b["dataset"], b["protocol"])
        name = wide_view_name(b["space"], b["dataset"], b["protocol"])
        if name not in out:
            out[name] = dict(title=f"{b['space']}/{b['dataset']} ({b['protocol']}) wide",
                             description="One row per architecture with rows, one column per metric (last epoch; "
                                         "mean over seeds). The same query as `zcdb sql wide`.",
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
    # port 0: uvicorn's info line is what says which port it took
    uvicorn.run(ds.app(), host=HOST, port=int(port), log_level="info" if not port else "warning", lifespan="on",
                workers=1)
