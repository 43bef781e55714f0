"""What ``zcdb export`` writes besides a benchmark's wide table: proxy scores and stored search runs.

Each ``*_table`` function returns ``{column: values}`` for :func:`zcdb.frames.write_table`
(csv, json, jsonl, parquet); architectures appear as their index and their official string.
Nothing here imports pandas or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import search_store
from .errors import ZcdbError
from .spaces import get_space

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

__all__ = ["TABLES", "PROXY_COLUMNS", "TRAJECTORY_COLUMNS", "proxy_table", "runs_table", "trajectories_table"]

#: What ``zcdb export --table`` exports.
TABLES = ("benchmark", "proxies", "runs", "trajectories")

#: Columns of :func:`proxy_table` (the names of ``proxy_scores_view``): the set key is (space, dataset,
#: proxy, seed, batch_size, data); ``time`` is seconds; ``reason`` says why a NULL value is undefined.
PROXY_COLUMNS = ("space", "dataset", "arch_index", "arch", "proxy", "seed", "batch_size", "data", "value", "time",
                 "reason")
#: Columns of :func:`runs_table`: ``search_runs``'s and the final incumbent's string.
RUN_COLUMNS = (*search_store.RUN_COLUMNS, "final_arch_string")
#: Columns of :func:`trajectories_table`.
TRAJECTORY_COLUMNS = ("run_id", "algorithm", "config_hash", "space", "seed", "query", "arch_index", "arch", "epoch",
                      "value", "sim_time", "incumbent", "incumbent_arch", "incumbent_report")


def _strings(space: str, indices: Sequence[int]) -> list[Optional[str]]:
    """Official strings of ``indices`` (None for -1: no architecture), each distinct one built once."""
    mod = get_space(space)
    cache: dict[int, Optional[str]] = {-1: None}
    out = []
    for i in indices:
        s = cache.get(i)
        if s is None and i not in cache:
            s = cache[i] = mod.string_of(int(i))
        out.append(s)
    return out


def _columns(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    return {n: [r[k] for r in rows] for k, n in enumerate(names)}


def proxy_table(store: "Store", space: str, dataset: str, proxies: Optional[Sequence[str]] = None,
                computed_only: bool = False, seed: Optional[int] = None, batch_size: Optional[int] = None,
                data: Optional[str] = None) -> dict[str, list[Any]]:
    """Every stored proxy score of ``space``/``dataset`` as :data:`PROXY_COLUMNS`, ordered by set then
    architecture; only those of ``proxies``, ``seed``, ``batch_size``, ``data`` where given
    (``computed_only``: zcdb's own, seed >= 0)."""
    rows = [r for r in store.proxy_score_records(space, dataset, computed_only=computed_only)
            if (seed is None or r[2] == seed) and (batch_size is None or r[3] == batch_size)
            and (data is None or r[4] == data)]
    if proxies is not None:
        wanted = set(proxies)
        missing = wanted - {r[1] for r in rows}
        if missing:
            have = sorted({r[1] for r in rows})
            raise ZcdbError(f"no stored scores of {', '.join(sorted(missing))} on {space}/{dataset}: "
                            f"it has {', '.join(have) or 'none'} (see `zcdb info`)")
        rows = [r for r in rows if r[1] in wanted]
    if not rows:
        raise ZcdbError(f"no proxy scores stored for {space}/{dataset}"
                        + (" with these --seed/--batch-size/--data" if (seed, batch_size, data) != (None,) * 3 else "")
                        + ": compute some (`zcdb proxies compute`) "
                        "or import them (`zcdb import builtin nb201-cifar10-proxies`)")
    arch = _strings(space, [r[0] for r in rows])
    return dict(space=[space] * len(rows), dataset=[dataset] * len(rows), arch_index=[r[0] for r in rows],
                arch=arch, proxy=[r[1] for r in rows], seed=[r[2] for r in rows], batch_size=[r[3] for r in rows],
                data=[r[4] for r in rows], value=[r[5] for r in rows], time=[r[6] for r in rows],
                reason=[r[7] for r in rows])


def _no_runs(space: str, dataset: str) -> ZcdbError:
    return ZcdbError(f"no search runs stored for {space}/{dataset}: run some first "
                     f"(`zcdb search run --space {space} --dataset {dataset} ...`), see `zcdb search runs`")


def runs_table(store: "Store", space: str, dataset: str) -> dict[str, list[Any]]:
    """Every stored search run of ``space``/``dataset`` (``search_runs``; ``config`` is JSON text) with its
    final incumbent's string, as :data:`RUN_COLUMNS`."""
    rows = search_store.run_records(store, space, dataset)
    if not rows:
        raise _no_runs(space, dataset)
    cols = _columns(search_store.RUN_COLUMNS, rows)
    cols["final_arch_string"] = _strings(space, [-1 if a is None else a for a in cols["final_arch"]])
    return cols


def trajectories_table(store: "Store", space: str, dataset: str) -> dict[str, list[Any]]:
    """Every query of every stored search run of ``space``/``dataset``, as :data:`TRAJECTORY_COLUMNS`:
    the queried architecture, its observed value, the simulated time so far, the incumbent after it
    (-1 and no string while there is none) and the incumbent's report value."""
    rows = search_store.trajectory_records(store, space, dataset)
    if not rows:
        raise _no_runs(space, dataset)
    raw = ("run_id", "algorithm", "config_hash", "space", "seed", "query", "arch_index", "epoch", "value",
           "sim_time", "incumbent", "incumbent_report")
    cols = _columns(raw, rows)
    cols["arch"] = _strings(space, cols["arch_index"])
    cols["incumbent_arch"] = _strings(space, cols["incumbent"])
    return {k: cols[k] for k in TRAJECTORY_COLUMNS}
