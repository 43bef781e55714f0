"""The store's tables of search runs (``search_runs``, ``search_trajectories``, and for
multi-objective runs ``search_objectives``): every SQL statement about them, so that
:mod:`zcdb.search` holds none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

#: A run's identity besides its seed: config hash, space, dataset, protocol, search and report
#: metrics, budget kind and budget.
RunKey = tuple


def stored_run_ids(store: "Store", key: RunKey, seeds: Sequence[int]) -> dict[int, int]:
    """Seed -> run id of the stored runs of ``key`` among ``seeds``."""
    wanted = {int(s) for s in seeds}
    out: dict[int, int] = {}
    for seed, run_id in store.conn.execute(
        "SELECT seed, id FROM search_runs WHERE config_hash=? AND space=? AND dataset=? AND protocol=? AND "
        "search_metric=? AND report_metric=? AND budget_kind=? AND budget=?", key,
    ):
        if seed in wanted:
            out[int(seed)] = int(run_id)
    return out


def insert_runs(store: "Store", key: RunKey, seeds: Sequence[int],
                run_row: Callable[[int], tuple], trajectory_rows: Callable[[dict[int, int]], Any],
                objective_rows: Optional[Callable[[dict[int, int]], Any]] = None) -> list[int]:
    """In one write transaction, store the runs of ``seeds`` that are not stored yet; return their seeds.

    ``run_row(k)`` gives the ``search_runs`` values (after the id) of ``seeds[k]``;
    ``trajectory_rows({seed: run_id})`` the ``search_trajectories`` rows of the new runs, and
    ``objective_rows`` (multi-objective runs) their ``search_objectives`` rows.
    Checked inside the transaction: an identical run in another process may have stored
    some of the same seeds since this one looked.
    """
    conn = store.conn
    with store._transaction():
        already = stored_run_ids(store, key, seeds)
        ids: dict[int, int] = {}
        for k, seed in enumerate(seeds):
            if int(seed) in already:
                continue
            cur = conn.execute(
                "INSERT INTO search_runs (algorithm, config, config_hash, space, dataset, protocol, search_metric, "
                "report_metric, budget_kind, budget, seed, zcdb_version, time, cpu_seconds, queries, final_arch, "
                "final_report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_row(k))
            ids[int(seed)] = int(cur.lastrowid)
        conn.executemany("INSERT INTO search_trajectories VALUES (?, ?, ?, ?, ?, ?, ?, ?)", trajectory_rows(ids))
        if objective_rows is not None:
            conn.executemany("INSERT INTO search_objectives VALUES (?, ?, ?, ?)", objective_rows(ids))
    return list(ids)


def run_rows(store: "Store", run_ids: Sequence[int]) -> tuple[dict[int, tuple], list[tuple], list[tuple]]:
    """``({run_id: (seed, queries, cpu_seconds)}, trajectory rows, objective rows)`` of ``run_ids``;
    trajectory rows are (run_id, query, arch_index, epoch, value, sim_time, incumbent,
    incumbent_report), objective rows (run_id, query, objective, value)."""
    conn = store.conn
    meta: dict[int, tuple] = {}
    data: list[tuple] = []
    objectives: list[tuple] = []
    ids = [int(i) for i in run_ids]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for rid, seed, queries, cpu in conn.execute(
                f"SELECT id, seed, queries, cpu_seconds FROM search_runs WHERE id IN ({marks})", chunk):
            meta[rid] = (seed, queries, cpu or 0.0)
        data.extend(conn.execute(
            "SELECT run_id, query, arch_index, epoch, value, sim_time, incumbent, incumbent_report "
            f"FROM search_trajectories WHERE run_id IN ({marks})", chunk).fetchall())
        objectives.extend(conn.execute(
            f"SELECT run_id, query, objective, value FROM search_objectives WHERE run_id IN ({marks})",
            chunk).fetchall())
    return meta, data, objectives


def run_groups(store: "Store", space: Optional[str] = None, dataset: Optional[str] = None) -> list[dict[str, Any]]:
    """Stored run groups: algorithm, config hash, benchmark, metrics, budget, number of seeds, mean final report."""
    cur = store.conn.execute(
        "SELECT algorithm, config_hash, space, dataset, protocol, search_metric, report_metric, budget_kind, budget, "
        "COUNT(*) AS seeds, AVG(final_report) AS mean_final FROM search_runs "
        "WHERE (?1 IS NULL OR space = ?1) AND (?2 IS NULL OR dataset = ?2) "
        "GROUP BY config_hash, space, dataset, protocol, search_metric, report_metric, budget_kind, budget "
        "ORDER BY space, dataset, algorithm", (space, dataset))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur]


#: Columns of :func:`run_records`, as in ``search_runs``.
RUN_COLUMNS = ("id", "algorithm", "config", "config_hash", "space", "dataset", "protocol", "search_metric",
               "report_metric", "budget_kind", "budget", "seed", "zcdb_version", "time", "cpu_seconds", "queries",
               "final_arch", "final_report")


def run_records(store: "Store", space: Optional[str] = None, dataset: Optional[str] = None) -> list[tuple]:
    """Every stored run (of ``space`` and ``dataset`` where given) as :data:`RUN_COLUMNS` tuples, by id."""
    return store.conn.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM search_runs WHERE (?1 IS NULL OR space = ?1) AND "
        "(?2 IS NULL OR dataset = ?2) ORDER BY id", (space, dataset)).fetchall()


def trajectory_records(store: "Store", space: Optional[str] = None, dataset: Optional[str] = None) -> list[tuple]:
    """Every query of the stored runs (of ``space`` and ``dataset`` where given), by run then query:
    (run_id, algorithm, config_hash, space, seed, query, arch_index, epoch, value, sim_time, incumbent,
    incumbent_report)."""
    return store.conn.execute(
        "SELECT t.run_id, r.algorithm, r.config_hash, r.space, r.seed, t.query, t.arch_index, t.epoch, t.value, "
        "t.sim_time, t.incumbent, t.incumbent_report FROM search_trajectories t JOIN search_runs r ON r.id = t.run_id "
        "WHERE (?1 IS NULL OR r.space = ?1) AND (?2 IS NULL OR r.dataset = ?2) ORDER BY t.run_id, t.query",
        (space, dataset)).fetchall()
