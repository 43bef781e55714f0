"""The zcdb store: one SQLite file (through sqlite-utils) holding benchmark rows with provenance.

Layout (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`):

``archs``         space, arch_index, arch (official string), canonical (isomorphism class form) of
                  every architecture that has rows
``benchmarks``    id, space, dataset, protocol (the training recipe the rows come from)
``metrics``       id, name, higher_is_better, unit, description (the declaration of an open metric)
``evaluations``   benchmark_id, metric_id, epoch, seed, arch_index, value, source_id (WITHOUT ROWID,
                  keyed in that order: the query path reads one (metric, epoch, seed) series at a time)
``series``        catalog of the (benchmark, metric, epoch, seed) series and their row counts
``series_blobs``  every series of at least :data:`DENSE_SERIES_MIN` rows once more, as two blobs
                  (arch indices int32, values float64, NaN for NULL), rewritten with its rows: reading
                  423,624 rows one by one through sqlite3 takes 0.3 s, a blob a few milliseconds
``proxy_scores``  space, dataset, proxy, seed, batch_size, data, arch_index, value, time, reason, source_id
``provenance``    id, source, sha256, importer, options, zcdb_version, time, rows
``protocols``     name, description (JSON): the recipe of generated benchmarks
``aliases``       benchmark_id, arch_index, representative: an architecture answered by the
                  result of another member of its isomorphism class (``zcdb tabulate --archs unique``)
``search_runs``   one stored search run: algorithm, config (JSON) and its hash, benchmark, metrics,
                  budget, seed, zcdb version, final incumbent (see :mod:`zcdb.search.runs`)
``search_trajectories``  run_id, query, arch_index, epoch, value, sim_time, incumbent, incumbent_report
``search_objectives``    run_id, query, objective, value: each query's objective values (multi-objective runs)

``evaluations_view`` and ``proxy_scores_view`` join the integer keys back into names (and arch
strings) for ad-hoc SQL in any SQLite tool.

Writers in several processes take turns: each waits for the write transaction in progress
(up to ``ZCDB_LOCK_TIMEOUT`` seconds), and the one holding it keeps its pid and command in
``<store>-writer`` so that the others can say whom they wait for.

Conventions: ``epoch`` is the fidelity (``0`` for properties that do not depend on
training: params, FLOPs, latency); ``seed`` ``-1`` (:data:`MEAN_SEED`) marks a value the
source reports already averaged over its seeds. A missing or NaN value is stored as NULL
and read back as NaN.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Union

import numpy as np

from . import __version__
from .errors import (
    CorruptFile, EmptyStore, ImportConflict, StoreLocked, UnknownArch, UnknownDataset, UnknownMetric, ZcdbError,
)
from .bench import BaseBenchmark, rank_top  # noqa: F401  (rank_top: part of this module's API)
from . import metrics as _metrics
from .metrics import MetricSpec
from .spaces import get_space

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import sqlite_utils

    from .search.loops import SearchLoop

SCHEMA_VERSION = 7
#: Series with at least this many rows are also kept as blobs (``series_blobs``) for fast reading;
#: below it (NAS-Bench-201's 15,625) the rows themselves read in milliseconds.
DENSE_SERIES_MIN = 50_000
#: Seed value of rows that a source reports as a mean over its seeds.
MEAN_SEED = -1
#: Default protocol of each space when a benchmark is opened without naming one.

#: Seconds a write waits for another process's write transaction (``ZCDB_LOCK_TIMEOUT``). The
#: longest zcdb makes is a full NAS-Bench-201 v1_1 import (~230 M rows, minutes); a holder that
#: is still there after an hour is more likely stuck (a paused process, an open ``sqlite3`` shell).
DEFAULT_LOCK_TIMEOUT = 3600.0
#: Seconds of waiting after which ``on_wait`` is told who holds the store.
_WAIT_NOTICE = 3.0

#: Metrics in percent: a value outside 0..100 is a unit or parsing error in the source.
PERCENT_METRICS = _metrics.PERCENT_METRICS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS archs (
    space TEXT NOT NULL, arch_index INTEGER NOT NULL, arch TEXT NOT NULL, canonical TEXT NOT NULL,
    PRIMARY KEY (space, arch_index)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS benchmarks (
    id INTEGER PRIMARY KEY, space TEXT NOT NULL, dataset TEXT NOT NULL, protocol TEXT NOT NULL,
    UNIQUE (space, dataset, protocol));
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, higher_is_better INTEGER, unit TEXT, description TEXT);
CREATE TABLE IF NOT EXISTS provenance (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL, importer TEXT NOT NULL,
    options TEXT NOT NULL, zcdb_version TEXT NOT NULL, time TEXT NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    benchmark_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, epoch INTEGER NOT NULL,
    seed INTEGER NOT NULL, arch_index INTEGER NOT NULL, value REAL, source_id INTEGER NOT NULL,
    PRIMARY KEY (benchmark_id, metric_id, epoch, seed, arch_index)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS evaluations_by_arch ON evaluations (benchmark_id, arch_index);
CREATE TABLE IF NOT EXISTS series (
    benchmark_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, epoch INTEGER NOT NULL,
    seed INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (benchmark_id, metric_id, epoch, seed)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series_blobs (
    benchmark_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, epoch INTEGER NOT NULL,
    seed INTEGER NOT NULL, arch BLOB NOT NULL, value BLOB NOT NULL,
    UNIQUE (benchmark_id, metric_id, epoch, seed));
CREATE TABLE IF NOT EXISTS proxy_scores (
    space TEXT NOT NULL, dataset TEXT NOT NULL, proxy TEXT NOT NULL, seed INTEGER NOT NULL,
    batch_size INTEGER NOT NULL, data TEXT NOT NULL, arch_index INTEGER NOT NULL,
    value REAL, time REAL, reason TEXT, source_id INTEGER NOT NULL,
    PRIMARY KEY (space, dataset, proxy, seed, batch_size, data, arch_index)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS protocols (name TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (
    benchmark_id INTEGER NOT NULL, arch_index INTEGER NOT NULL, representative INTEGER NOT NULL,
    PRIMARY KEY (benchmark_id, arch_index)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_runs (
    id INTEGER PRIMARY KEY, algorithm TEXT NOT NULL, config TEXT NOT NULL, config_hash TEXT NOT NULL,
    space TEXT NOT NULL, dataset TEXT NOT NULL, protocol TEXT NOT NULL, search_metric TEXT NOT NULL,
    report_metric TEXT NOT NULL, budget_kind TEXT NOT NULL, budget REAL NOT NULL, seed INTEGER NOT NULL,
    zcdb_version TEXT NOT NULL, time TEXT NOT NULL, cpu_seconds REAL, queries INTEGER NOT NULL,
    final_arch INTEGER, final_report REAL,
    UNIQUE (config_hash, space, dataset, protocol, search_metric, report_metric, budget_kind, budget, seed));
CREATE TABLE IF NOT EXISTS search_trajectories (
    run_id INTEGER NOT NULL, query INTEGER NOT NULL, arch_index INTEGER NOT NULL, epoch INTEGER NOT NULL,
    value REAL, sim_time REAL, incumbent INTEGER NOT NULL, incumbent_report REAL,
    PRIMARY KEY (run_id, query)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_objectives (
    run_id INTEGER NOT NULL, query INTEGER NOT NULL, objective INTEGER NOT NULL, value REAL,
    PRIMARY KEY (run_id, query, objective)) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS proxy_scores_view AS
    SELECT p.space, p.dataset, p.arch_index, a.arch, p.proxy, p.seed, p.batch_size, p.data, p.value, p.time,
           p.reason, p.source_id
    FROM proxy_scores p LEFT JOIN archs a ON a.space = p.space AND a.arch_index = p.arch_index;
CREATE VIEW IF NOT EXISTS evaluations_view AS
    SELECT b.space, b.dataset, b.protocol, e.arch_index, a.arch, m.name AS metric,
           e.epoch, e.seed, e.value, e.source_id
    FROM evaluations e JOIN benchmarks b ON b.id = e.benchmark_id
    JOIN metrics m ON m.id = e.metric_id
    LEFT JOIN archs a ON a.space = b.space AND a.arch_index = e.arch_index;
"""


def check_metric_name(metric: str) -> str:
    """Validate the syntax of a metric name (see :mod:`zcdb.metrics`); return it."""
    return _metrics.check_name(metric)


def higher_is_better(metric: str) -> bool:
    """Whether larger values of a built-in ``metric`` are better (accuracies) or worse (losses, costs).

    For a declared metric ask the store (:meth:`Store.metric`)."""
    spec = _metrics.builtin(metric)
    if spec is None:
        raise _metrics.unknown(metric)
    return spec.higher_is_better


def default_path() -> Path:
    """Where the store lives when neither a path nor ``ZCDB_DB`` is given (a platform data dir)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "zcdb" / "zcdb.db"


def default_protocol(space: str) -> str:
    """The protocol rows of ``space`` go to when an importer is not told one (the space's, else ``default``)."""
    return get_space(space).default_protocol or "default"


def resolve_path(path: Union[str, os.PathLike, None] = None) -> str:
    """The store path: the argument, then ``ZCDB_DB``, then :func:`default_path`."""
    if path is not None:
        return str(path)
    env = os.environ.get("ZCDB_DB")
    if env:
        return env
    return str(default_path())


def lock_timeout_from_env() -> float:
    """``$ZCDB_LOCK_TIMEOUT`` in seconds, or :data:`DEFAULT_LOCK_TIMEOUT` when unset."""
    text = os.environ.get("ZCDB_LOCK_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ZcdbError(f"ZCDB_LOCK_TIMEOUT={text!r}: set it to a number of seconds (e.g. 600), or unset it")
    return value


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def sha256_of(path: Union[str, os.PathLike]) -> str:
    """SHA-256 of a file (or, for a directory, of its files' names and contents, sorted)."""
    import hashlib

    h = hashlib.sha256()
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Series:
    """One stored series of a benchmark: a metric at an epoch and seed, with its row count."""

    metric: str
    epoch: int
    seed: int
    n: int


class Store:
    """A zcdb database. Open it with :func:`zcdb.open`."""

    def __init__(self, path: Union[str, os.PathLike, None] = None, *, lock_timeout: Optional[float] = None,
                 on_wait: Optional[Callable[[str], None]] = None) -> None:
        self.path = resolve_path(path)
        #: Seconds a write waits for another process's write transaction before :class:`StoreLocked`.
        self.lock_timeout = lock_timeout_from_env() if lock_timeout is None else float(lock_timeout)
        self.on_wait = on_wait
        memory = self.path == ":memory:"
        # While a zcdb process holds the write lock, this file says who it is (for the others' messages).
        self._writer_file = None if memory else self.path + "-writer"
        if not memory:
            p = Path(self.path)
            if p.is_dir():
                raise CorruptFile(f"{self.path} is a directory: give the path of a zcdb database file")
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self.lock_timeout)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.OperationalError as exc:
            if _is_locked(exc):  # e.g. another process recovering the WAL of a writer that was killed
                raise StoreLocked(self._locked_message()) from None
            raise CorruptFile(
                f"{self.path} is not a zcdb database ({exc}): pass another --db path or move the file away"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise CorruptFile(
                f"{self.path} is not a zcdb database ({exc}): pass another --db path or move the file away"
            ) from None
        if version > SCHEMA_VERSION:
            raise ZcdbError(
                f"{self.path} has schema version {version}, newer than this zcdb ({SCHEMA_VERSION}): upgrade zcdb"
            )
        if version == 0 and tables and "evaluations" not in tables:
            raise CorruptFile(
                f"{self.path} is an SQLite database but not a zcdb store: pass another --db path"
            )
        self.conn = conn
        self._db: Any = None
        if not memory:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as exc:
                conn.close()
                if _is_locked(exc):  # a new store that another process is switching to WAL
                    raise StoreLocked(self._locked_message()) from None
                raise
        if version < SCHEMA_VERSION:
            with self._transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                _migrate_metrics(conn)
                if version:  # an older store: its large series get their blobs now
                    _write_series_blobs(conn, "SELECT benchmark_id, metric_id, epoch, seed FROM series")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._benchmarks: dict[tuple[str, str, str], "Benchmark"] = {}
        self._samples: dict[tuple[str, str], tuple[int, Any]] = {}
        self._generation = 0

    # ------------------------------------------------------------------ basics
    @property
    def db(self) -> "sqlite_utils.Database":
        """The store as a ``sqlite_utils.Database`` on the same connection (tables, rows, SQL).

        Imported on first use: sqlite-utils imports pandas when present, which would
        cost a cold ``zcdb.open`` + query several hundred milliseconds.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<zcdb.Store {self.path}>"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: waits up to :attr:`lock_timeout` for other writers, then :class:`StoreLocked`."""
        self._begin()
        try:
            yield self.conn
        except BaseException:
            self._forget_writer()
            self.conn.execute("ROLLBACK")
            raise
        else:
            # Before COMMIT: once the lock is released the next writer may already have written its own.
            self._forget_writer()
            self.conn.execute("COMMIT")

    def _begin(self) -> None:
        start = time.monotonic()
        told = False
        try:
            while True:
                left = self.lock_timeout - (time.monotonic() - start)
                # SQLite's busy handler waits in slices, so that a long wait can be reported and bounded here.
                self.conn.execute(f"PRAGMA busy_timeout = {int(1000 * max(0.0, min(1.0, left)))}")
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_locked(exc):
                        raise
                waited = time.monotonic() - start
                if waited >= self.lock_timeout:
                    raise StoreLocked(self._locked_message(waited))
                if not told and self.on_wait is not None and waited >= _WAIT_NOTICE:
                    told = True
                    self.on_wait(self._waiting_message())
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(1000 * self.lock_timeout)}")
        self._record_writer()

    def _record_writer(self) -> None:
        if self._writer_file is None:
            return
        argv = list(sys.argv) or ["python"]
        name = os.path.basename(argv[0]) if argv[0] not in ("", "-c") else "python -c"
        record = {"pid": os.getpid(), "command": shlex.join([name, *argv[1:]])[:200], "since": time.time()}
        tmp = f"{self._writer_file}.{os.getpid()}"
        try:
            with open(tmp, "w") as fh:
                json.dump(record, fh)
            os.replace(tmp, self._writer_file)
        except OSError:  # a read-only folder: the messages just cannot name the writer
            pass

    def _forget_writer(self) -> None:
        if self._writer_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._writer_file)

    def _writer(self) -> Optional[dict[str, Any]]:
        """The zcdb process that recorded itself as holding the write lock, if it is still alive."""
        if self._writer_file is None:
            return None
        try:
            with open(self._writer_file) as fh:
                rec = json.load(fh)
            pid = int(rec["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if pid == os.getpid():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:  # it died inside a transaction; SQLite has already released its lock
            return None
        except OSError:  # alive, but another user's
            pass
        return rec

    def _holder(self) -> str:
        rec = self._writer()
        if rec is None:
            return f"another process (not a zcdb command; `fuser {self.path}` lists the processes using it)"
        since = time.time() - float(rec.get("since", time.time()))
        return f"pid {rec['pid']} (`{rec.get('command', '?')}`, writing for {_duration(max(0.0, since))})"

    def _waiting_message(self) -> str:
        return (f"waiting for {self._holder()} to finish writing {self.path} "
                f"(up to {_duration(self.lock_timeout)}, ZCDB_LOCK_TIMEOUT)")

    def _locked_message(self, waited: Optional[float] = None) -> str:
        took = f" within {_duration(waited)}" if waited is not None else ""
        return (f"{self.path} is being written by {self._holder()}, which did not finish{took}: "
                "rerun when it is done, or set ZCDB_LOCK_TIMEOUT to more seconds to wait longer")

    # ------------------------------------------------------------------ catalog
    def metric(self, name: str) -> MetricSpec:
        """The declaration of metric ``name``: built in, or as an import declared it in this store."""
        spec = _metrics.builtin(name)
        if spec is not None:
            return spec
        _metrics.check_name(name)
        r = self.conn.execute("SELECT higher_is_better, unit, description FROM metrics WHERE name = ?",
                              (name,)).fetchone()
        if r is None or r[0] is None:
            raise _metrics.unknown(name)
        return MetricSpec(name, bool(r[0]), r[1] or "", r[2] or "")

    def _direction_unit(self, name: str) -> dict[str, str]:
        try:
            spec = self.metric(name)
        except ZcdbError:  # a metric of a store written before declarations, not built in
            return dict(direction="?", unit="")
        return dict(direction=spec.direction, unit=spec.unit)

    def higher_is_better(self, name: str) -> bool:
        """Whether larger values of metric ``name`` are better (see :meth:`metric`)."""
        return self.metric(name).higher_is_better

    def metric_specs(self) -> list[dict[str, Any]]:
        """Every metric stored, with its direction, unit, description and the benchmarks holding it."""
        rows = self.conn.execute(
            "SELECT m.name, m.higher_is_better, m.unit, m.description, COUNT(DISTINCT s.benchmark_id), "
            "GROUP_CONCAT(DISTINCT b.space || '/' || b.dataset) FROM metrics m "
            "JOIN series s ON s.metric_id = m.id JOIN benchmarks b ON b.id = s.benchmark_id "
            "GROUP BY m.id ORDER BY m.name").fetchall()
        out = []
        for name, hib, unit, desc, nb, where in rows:
            spec = _metrics.builtin(name)
            if hib is None and spec is not None:
                hib, unit, desc = spec.higher_is_better, spec.unit, spec.description
            out.append(dict(metric=name, direction=None if hib is None else ("max" if hib else "min"),
                            unit=unit or "", benchmarks=nb, where=",".join(sorted((where or "").split(","))),
                            description=desc or ""))
        return out

    def benchmark_rows(self) -> list[dict[str, Any]]:
        """Every benchmark with at least one row: space, dataset, protocol, id."""
        return [
            dict(id=r[0], space=r[1], dataset=r[2], protocol=r[3])
            for r in self.conn.execute(
                "SELECT id, space, dataset, protocol FROM benchmarks b "
                "WHERE EXISTS (SELECT 1 FROM series s WHERE s.benchmark_id = b.id) ORDER BY space, dataset, protocol"
            )
        ]

    def series(self, benchmark_id: int) -> list[Series]:
        """The stored series of one benchmark."""
        return [
            Series(*r)
            for r in self.conn.execute(
                "SELECT m.name, s.epoch, s.seed, s.n FROM series s JOIN metrics m ON m.id = s.metric_id "
                "WHERE s.benchmark_id = ? ORDER BY m.name, s.epoch, s.seed",
                (benchmark_id,),
            )
        ]

    def data_fingerprint(self, space: str, dataset: str, protocol: Optional[str] = None) -> str:
        """SHA-256 prefix of what a study reads of one benchmark: its series catalog (metric, epoch,
        seed, count) and the sha256 of every imported file its rows and its proxy scores came from.
        Another import into the benchmark (or of its scores) changes it; imports elsewhere do not."""
        bench = self.benchmark(space, dataset, protocol)
        import hashlib

        h = hashlib.sha256(f"{space}\0{dataset}\0{bench.protocol}\n".encode())
        for s in self.series(bench.id):
            h.update(f"{s.metric}\0{s.epoch}\0{s.seed}\0{s.n}\n".encode())
        for table, where, args in (
                ("evaluations", "benchmark_id = ?", (bench.id,)),
                ("proxy_scores", "space = ? AND dataset = ?", (space, dataset))):
            rows = self.conn.execute(
                f"SELECT p.sha256 FROM provenance p WHERE p.id IN (SELECT DISTINCT source_id FROM {table} "
                f"WHERE {where}) ORDER BY p.sha256", args).fetchall()
            h.update(f"{table}:".encode() + ",".join(r[0] for r in rows).encode() + b"\n")
        return h.hexdigest()[:16]

    def provenance(self) -> list[dict[str, Any]]:
        """Every import recorded in the store, oldest first."""
        out = list(self.db["provenance"].rows_where(order_by="id"))
        for row in out:
            row["options"] = json.loads(row["options"])
        return out

    def proxy_runs(self, space: Optional[str] = None, dataset: Optional[str] = None) -> list[dict[str, Any]]:
        """Stored proxy score sets: space, dataset, proxy, seed, batch_size, data and count n."""
        sql = (
            "SELECT space, dataset, proxy, seed, batch_size, data, COUNT(*) AS n FROM proxy_scores "
            "WHERE (?1 IS NULL OR space = ?1) AND (?2 IS NULL OR dataset = ?2) "
            "GROUP BY space, dataset, proxy, seed, batch_size, data ORDER BY space, dataset, proxy"
        )
        cur = self.conn.execute(sql, (space, dataset))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def proxy_scores(self, space: str, dataset: str, proxy: str, seed: int, batch_size: int,
                     data: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One stored score set: ``(arch_index int64, score, time)`` arrays (NaN where a score or time is undefined)."""
        rows = self.conn.execute(
            "SELECT arch_index, value, time FROM proxy_scores WHERE space=? AND dataset=? AND proxy=? AND seed=? "
            "AND batch_size=? AND data=? ORDER BY arch_index", (space, dataset, proxy, seed, batch_size, data),
        ).fetchall()
        # the indices apart from the values: a global id of a space too large to enumerate (up to
        # 1e18) is not exact as a float64
        idx = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        a = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 2)  # NULL -> nan
        return idx, a[:, 0].copy(), a[:, 1].copy()

    def proxy_scores_of(self, space: str, arch_index: int) -> list[tuple]:
        """Every stored score of one architecture: ``(dataset, proxy, seed, batch_size, data, score, time, reason)``."""
        return self.conn.execute(
            "SELECT dataset, proxy, seed, batch_size, data, value, time, reason FROM proxy_scores "
            "WHERE space=? AND arch_index=? ORDER BY dataset, proxy, seed, batch_size, data",
            (space, int(arch_index))).fetchall()

    def arch(self, arch: Any, space: Optional[str] = None) -> dict[str, Any]:
        """Everything the store knows about one architecture: per benchmark its final metrics with their
        rank, exact costs where no row holds them (marked computed), its proxy scores, its isomorphism
        class (see :mod:`zcdb.archinfo`)."""
        from .archinfo import arch_report
        from .spaces import DEFAULT_SPACE

        return arch_report(self, arch, space or DEFAULT_SPACE)

    def proxy_score_records(self, space: str, dataset: str, computed_only: bool = False) -> list[tuple]:
        """Every stored score of a space and dataset as ``(arch_index, proxy, seed, batch_size, data, score, time,
        reason)``, ordered by set then architecture; ``computed_only``: zcdb's own (seed >= 0), not imported ones."""
        return self.conn.execute(
            "SELECT arch_index, proxy, seed, batch_size, data, value, time, reason FROM proxy_scores "
            "WHERE space=? AND dataset=? AND (? = 0 OR seed >= 0) ORDER BY proxy, seed, batch_size, data, arch_index",
            (space, dataset, int(computed_only))).fetchall()

    def create_view(self, name: str, select_sql: str) -> None:
        """Keep ``select_sql`` in the store as the view ``name`` (replacing a view of that name, never a
        table), for any SQLite tool (see :mod:`zcdb.sql`)."""
        import re

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name):
            raise ZcdbError(f"view name {name!r}: use letters, digits and _ (not first a digit)")
        existing = self.conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        if existing is not None and existing[0] != "view":
            raise ZcdbError(f"{name} is a {existing[0]} of the store, not a view: give another --name")
        with self._transaction() as conn:
            conn.execute(f'DROP VIEW IF EXISTS "{name}"')
            conn.execute(f'CREATE VIEW "{name}" AS\n{select_sql}')

    @property
    def generation(self) -> int:
        """A counter that changes with every import into this store (for caches of what it holds)."""
        return self._generation

    def info(self) -> dict[str, Any]:
        """A summary of the store: path, schema, benchmarks with their metrics, proxies, imports."""
        benches = []
        for b in self.benchmark_rows():
            metrics: dict[str, dict[str, Any]] = {}
            for s in self.series(b["id"]):
                m = metrics.setdefault(s.metric, {"epochs": set(), "seeds": set(), "archs": 0})
                m["epochs"].add(s.epoch)
                m["seeds"].add(s.seed)
                m["archs"] = max(m["archs"], s.n)
            aliased = self.conn.execute(
                "SELECT COUNT(*) FROM aliases a WHERE a.benchmark_id = ? AND EXISTS (SELECT 1 FROM evaluations e "
                "WHERE e.benchmark_id = a.benchmark_id AND e.arch_index = a.representative)", (b["id"],)).fetchone()[0]
            benches.append(
                dict(
                    space=b["space"], dataset=b["dataset"], protocol=b["protocol"],
                    answered_by_class_representative=aliased,
                    metrics={
                        k: dict(epochs=_span(v["epochs"]), seeds=sorted(v["seeds"]), archs=v["archs"],
                                **self._direction_unit(k))
                        for k, v in metrics.items()
                    },
                )
            )
        return dict(
            path=self.path,
            schema_version=SCHEMA_VERSION,
            zcdb_version=__version__,
            benchmarks=benches,
            proxies=self.proxy_runs(),
            imports=self.conn.execute("SELECT COUNT(*) FROM provenance").fetchone()[0],
        )

    # ------------------------------------------------------------------ reading
    def benchmark(self, space: str, dataset: str, protocol: Optional[str] = None) -> "Benchmark":
        """The tabular benchmark of ``space`` on ``dataset`` (and ``protocol``; see below).

        With ``protocol=None``: the only protocol stored for that space and dataset, or
        the space's default (:attr:`SearchSpace.default_protocol`) when several are.
        """
        get_space(space)
        rows = self.conn.execute(
            "SELECT b.id, b.protocol FROM benchmarks b WHERE space = ? AND dataset = ? "
            "AND EXISTS (SELECT 1 FROM series s WHERE s.benchmark_id = b.id) ORDER BY protocol",
            (space, dataset),
        ).fetchall()
        if not rows:
            known = sorted({r["dataset"] for r in self.benchmark_rows() if r["space"] == space})
            if not known:
                how = get_space(space).importers or ("csv",)
                raise EmptyStore(
                    f"the store {self.path} holds no {space} benchmark: import one first, e.g. "
                    f"`zcdb import {how[0]} ...` (its formats: {', '.join(how)}; see `zcdb import --help`)"
                )
            raise UnknownDataset(
                f"no {space} benchmark for dataset {dataset!r} in {self.path}: stored datasets are {', '.join(known)}"
            )
        protocols = {p: i for i, p in rows}
        if protocol is None:
            if len(protocols) == 1:
                protocol = next(iter(protocols))
            elif default_protocol(space) in protocols:
                protocol = default_protocol(space)
            else:
                raise ZcdbError(
                    f"{space}/{dataset} has several protocols ({', '.join(protocols)}): pass one with --protocol"
                )
        if protocol not in protocols:
            raise UnknownDataset(
                f"no {space}/{dataset} rows under protocol {protocol!r}: stored protocols are {', '.join(protocols)}"
            )
        key = (space, dataset, protocol)
        bench = self._benchmarks.get(key)
        if bench is None or bench._generation != self._generation:
            bench = Benchmark(self, protocols[protocol], space, dataset, protocol)
            self._benchmarks[key] = bench
        return bench

    def sample_space(self, space: str, dataset: str) -> Any:
        """The space that dense arrays of ``space`` on ``dataset`` are indexed by: the space itself where it
        is enumerable (index = official index), else the :class:`~zcdb.spaces.sampled.SampledSpace` of the
        architectures with rows in a benchmark of that space and dataset (index = position by global id)."""
        sp = get_space(space)
        if sp.size is not None:
            return sp
        hit = self._samples.get((space, dataset))
        if hit is not None and hit[0] == self._generation:
            return hit[1]
        from .spaces.sampled import SampledSpace

        cur = self.conn.execute(
            "SELECT DISTINCT e.arch_index FROM benchmarks b JOIN evaluations e ON e.benchmark_id = b.id "
            "WHERE b.space = ? AND b.dataset = ? ORDER BY e.arch_index", (space, dataset))
        view = SampledSpace(sp, np.fromiter((r[0] for r in cur), dtype=np.int64), f"{space}/{dataset}")
        self._samples[(space, dataset)] = (self._generation, view)
        return view

    def loop(self, space: str, dataset: str, seed: int = 0, **kwargs: Any) -> "SearchLoop":
        """One seed's search as a plain loop on a stored benchmark, stored like any search run
        (:func:`zcdb.search.loop`: ``budget_queries``/``budget_seconds``, ``name``, metrics...)."""
        from .search.loops import loop

        return loop(self, space, dataset, seed, **kwargs)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def importing(
        self, source: Union[str, os.PathLike], importer: str, options: Optional[dict[str, Any]] = None,
        replace: bool = False, allow_missing: bool = False, new_dataset: bool = False,
    ) -> Iterator["ImportBatch"]:
        """Collect rows from one source and write them in one transaction.

        Nothing reaches the store unless the block finishes without an exception.
        Re-importing the same rows changes nothing; rows that would overwrite a
        different stored value raise :class:`ImportConflict` unless ``replace``.
        Every value passes :meth:`ImportBatch.add_evaluations`' checks: a non-finite
        value fails the import unless ``allow_missing`` (then it is stored as missing
        and counted in ``batch.missing``), an accuracy outside 0..100 always fails.
        Every row's dataset must be one the space knows (:meth:`SearchSpace.known_datasets`) or
        one the store holds for it, unless ``new_dataset`` (the CLI's ``--new-dataset``): a typo
        such as ``cifar-10`` would otherwise make a second benchmark beside ``cifar10``; and an
        epoch must lie in the protocol's range (0..200 for ``200ep``) where the protocol is known.
        """
        batch = ImportBatch(self, str(source), importer, options or {}, allow_missing=allow_missing,
                            new_dataset=new_dataset)
        yield batch
        batch._commit(replace)
        self._generation += 1

    def _ensure_archs(self, space: str, indices: np.ndarray) -> None:
        """The ``archs`` rows (string, canonical form) of ``indices``: those that have rows, not
        the whole space (423,624 strings would cost every first import of NAS-Bench-101 seconds)."""
        sp = get_space(space)
        if sp.size is not None:
            n = self.conn.execute("SELECT COUNT(*) FROM archs WHERE space = ?", (space,)).fetchone()[0]
            if n == sp.size:
                return
        idx = np.unique(np.asarray(indices, dtype=np.int64)).tolist()
        table = _ARCH_ROWS.get((space, id(sp)))
        if table is None and sp.size is not None and sp.size <= 100_000:  # a second store in the same process need not recompute them
            table = _ARCH_ROWS[(space, id(sp))] = (sp.all_strings(), [sp.canonical(i) for i in range(sp.size)])
        if table is not None:
            strings, canon = table
            rows = ((space, i, strings[i], canon[i]) for i in idx)
        else:
            rows = ((space, i, sp.string_of(i), sp.canonical(i)) for i in idx)
        self.conn.executemany("INSERT OR IGNORE INTO archs VALUES (?, ?, ?, ?)", rows)

    def _id(self, table: str, **key: str) -> int:
        cols = list(key)
        where = " AND ".join(f"{c} = ?" for c in cols)
        r = self.conn.execute(f"SELECT id FROM {table} WHERE {where}", tuple(key.values())).fetchone()
        if r:
            return int(r[0])
        cur = self.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", tuple(key.values())
        )
        return int(cur.lastrowid)


#: Official strings and canonical forms of every architecture, by space (name and object), once computed: pure functions of the space.
_ARCH_ROWS: dict[tuple[str, int], tuple[Sequence[str], list[str]]] = {}


def _migrate_metrics(conn: sqlite3.Connection) -> None:
    """Schema 3 -> 4: metrics gain their declaration (direction, unit); the built-in names are filled in."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(metrics)")}
    for col, kind in (("higher_is_better", "INTEGER"), ("unit", "TEXT"), ("description", "TEXT")):
        if col not in cols:
            conn.execute(f"ALTER TABLE metrics ADD COLUMN {col} {kind}")
    for mid, name in conn.execute("SELECT id, name FROM metrics WHERE higher_is_better IS NULL").fetchall():
        spec = _metrics.builtin(name)
        if spec is not None:
            conn.execute("UPDATE metrics SET higher_is_better = ?, unit = ?, description = ? WHERE id = ?",
                         (int(spec.higher_is_better), spec.unit, spec.description, mid))


def _write_series_blobs(conn: sqlite3.Connection, keys_sql: str) -> None:
    """(Re)write the blobs of the series ``keys_sql`` selects that have :data:`DENSE_SERIES_MIN` rows or more."""
    keys = conn.execute(
        f"SELECT k.benchmark_id, k.metric_id, k.epoch, k.seed FROM ({keys_sql}) k JOIN series s USING "
        "(benchmark_id, metric_id, epoch, seed) WHERE s.n >= ?", (DENSE_SERIES_MIN,)).fetchall()
    for key in keys:
        cur = conn.execute("SELECT arch_index, value FROM evaluations WHERE benchmark_id=? AND metric_id=? AND epoch=? "
                           "AND seed=? ORDER BY arch_index", key)
        pairs = cur.fetchall()
        idx = np.array([r[0] for r in pairs], dtype=np.int64)
        if idx.size and idx.max() > np.iinfo(np.int32).max:
            # global ids of a space too large to enumerate do not fit the blob's int32 column: that
            # series is read from its rows (a sample is small), and a stale blob must not answer for it
            conn.execute("DELETE FROM series_blobs WHERE benchmark_id=? AND metric_id=? AND epoch=? AND seed=?", key)
            continue
        rows = np.array(pairs, dtype=np.float64).reshape(-1, 2)  # NULL -> nan
        conn.execute("INSERT OR REPLACE INTO series_blobs VALUES (?, ?, ?, ?, ?, ?)",
                     (*key, rows[:, 0].astype("<i4").tobytes(), rows[:, 1].astype("<f8").tobytes()))


def _read_series_blob(conn: sqlite3.Connection, key: tuple[int, int, int, int]) -> Optional[tuple[np.ndarray, np.ndarray]]:
    r = conn.execute("SELECT arch, value FROM series_blobs WHERE benchmark_id=? AND metric_id=? AND epoch=? AND seed=?",
                     key).fetchone()
    if r is None:
        return None
    return np.frombuffer(r[0], dtype="<i4"), np.frombuffer(r[1], dtype="<f8")


def _check_range(sp: Any, idx: np.ndarray, source: str) -> None:
    """:class:`UnknownArch` unless every index is one of the space's (a global id where it has no size)."""
    if sp.size is None:
        try:
            sp.indices_of(idx)
        except UnknownArch as exc:
            raise UnknownArch(f"{exc} in {source}: fix the file's architecture ids") from None
    elif idx.size and (idx.min() < 0 or idx.max() >= sp.size):
        raise UnknownArch(f"arch index out of range 0..{sp.size - 1} in {source}: "
                          "fix the file's architecture indices")


def _span(values: set[int]) -> str:
    v = sorted(values)
    if len(v) <= 3:
        return ",".join(map(str, v))
    return f"{v[0]}..{v[-1]} ({len(v)})"


class ImportBatch:
    """Rows gathered from one source; written by :meth:`Store.importing` on success."""

    def __init__(self, store: Store, source: str, importer: str, options: dict[str, Any],
                 allow_missing: bool = False, new_dataset: bool = False) -> None:
        self.store = store
        self.source = source
        self.importer = importer
        self.options = options
        self.allow_missing = allow_missing
        #: Whether rows may go to a dataset that neither the space nor the store knows.
        self.new_dataset = bool(new_dataset)
        self._checked: set[tuple[str, str]] = set()
        #: Non-finite values (NaN, inf, empty cells) stored as missing because ``allow_missing``.
        self.missing = 0
        #: Non-finite proxy scores, stored as NaN with their reason (a proxy can diverge).
        self.nonfinite_scores = 0
        #: Values of series added with ``agree_digits`` that differed from the stored ones only past
        #: that many significant digits: the stored values were kept (neither a change nor a conflict).
        self.kept_as_stored = 0
        #: One line each: things the user should look at, though the import succeeded.
        self.warnings: list[str] = []
        self._evals: list[tuple[str, str, str, str, int, int, np.ndarray, np.ndarray, Optional[int]]] = []
        self._proxies: list[tuple] = []
        self._protocols: dict[str, str] = {}
        self._declared: dict[str, MetricSpec] = {}
        self._aliases: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
        self.rows = 0
        #: Rows the commit inserted or changed (0 when re-importing the same data).
        self.changed = 0

    def coverage(self) -> dict[str, int]:
        """Per space, how many distinct architectures the gathered evaluation rows hold."""
        seen: dict[str, list[np.ndarray]] = {}
        for space, _ds, _p, _m, _e, _s, idx, *_ in self._evals:
            seen.setdefault(space, []).append(idx)
        return {sp: int(np.unique(np.concatenate(v)).size) for sp, v in seen.items()}

    def declare_metric(self, name: str, higher_is_better: bool, unit: str = "", description: str = "") -> MetricSpec:
        """Declare an open metric's direction and unit before adding its values (stored with them).

        A built-in name keeps its own declaration: declaring it otherwise is an error, as is
        declaring a metric against what the store already holds for it."""
        spec = MetricSpec(_metrics.check_name(name), bool(higher_is_better), str(unit), str(description))
        known = _metrics.builtin(name)
        if known is not None:
            if known.higher_is_better != spec.higher_is_better:
                raise ImportConflict(f"{name} is a built-in metric with direction {known.direction}: "
                                     "import the values under another name")
            return known
        r = self.store.conn.execute("SELECT higher_is_better, unit FROM metrics WHERE name = ?", (name,)).fetchone()
        if r is not None and r[0] is not None and (bool(r[0]), r[1] or "") != (spec.higher_is_better, spec.unit):
            raise ImportConflict(
                f"{name} is stored with direction {'max' if r[0] else 'min'} and unit {r[1] or '(none)'!r}, "
                f"not {spec.direction} and {spec.unit or '(none)'!r}: import it under another name, or into another --db"
            )
        prev = self._declared.get(name)
        if prev is not None and prev != spec:
            raise ImportConflict(f"{name} is declared twice in one import ({prev.direction} {prev.unit!r} and "
                                 f"{spec.direction} {spec.unit!r}): declare it once")
        self._declared[name] = spec
        return spec

    def metric_spec(self, name: str) -> MetricSpec:
        """The declaration this import will store ``name`` with (declared here, built in, or in the store)."""
        spec = self._declared.get(name)
        return spec if spec is not None else self.store.metric(name)

    def add_evaluations(
        self, space: str, dataset: str, protocol: str, metric: str, epoch: int, seed: int,
        arch_index: Sequence[int], values: Sequence[float], where: Optional[Callable[[int], str]] = None,
        agree_digits: Optional[int] = None,
    ) -> None:
        """Add one series (or part of one): ``values[k]`` of architecture ``arch_index[k]``.

        ``agree_digits=d`` says a value and a stored one that agree to ``d`` significant digits
        (differ by at most half a unit of the ``d``-th) are the same measurement, as when one
        source republishes another's doubles as 8-digit text: the stored value is kept (counted in
        :attr:`kept_as_stored`) instead of being reported as a conflict.

        Every importer's values pass here, so these checks hold for all of them: a
        non-finite value is refused unless the batch allows missing values (then it is
        counted in :attr:`missing`), a percent metric (:data:`PERCENT_METRICS`) outside
        0..100 is refused, and so is one with declared bounds (:class:`zcdb.metrics.MetricSpec`) outside
        them. ``where(k)`` names the place of ``values[k]``, source included
        (e.g. ``"t.csv:7"``), for error messages; by default the source and the architecture.
        """
        sp = get_space(space)
        self.check_dataset(space, dataset)
        self.check_epoch(space, dataset, protocol, metric, epoch)
        self.metric_spec(metric)
        idx = np.asarray(arch_index, dtype=np.int64)
        val = np.asarray(values, dtype=np.float64)
        if idx.shape != val.shape or idx.ndim != 1:
            raise ZcdbError("add_evaluations needs equally long 1-d arch_index and values")
        _check_range(sp, idx, self.source)
        if np.unique(idx).size != idx.size:
            order = np.argsort(idx, kind="stable")
            k = int(order[1:][idx[order[1:]] == idx[order[:-1]]].min())  # first repeat in source order
            at = where(k) if where is not None else self.source
            raise CorruptFile(f"{at}: architecture {int(idx[k])} appears twice for {dataset}:{metric} "
                              f"epoch {epoch}: keep one row per architecture (remove or merge the duplicates)")
        if agree_digits is not None and not (isinstance(agree_digits, int) and 1 <= agree_digits <= 17):
            raise ZcdbError(f"agree_digits {agree_digits!r}: give a number of significant digits, 1..17")
        self._check_values(dataset, metric, epoch, seed, idx, val, where)
        self._evals.append((space, dataset, protocol, metric, int(epoch), int(seed), idx, val, agree_digits))
        self.rows += idx.size

    def _check_values(self, dataset: str, metric: str, epoch: int, seed: int, idx: np.ndarray, val: np.ndarray,
                      where: Optional[Callable[[int], str]]) -> None:
        def place(k: int) -> str:
            at = where(k) if where is not None else f"{self.source}: architecture {int(idx[k])}"
            run = f"epoch {epoch}" + ("" if seed == MEAN_SEED else f", seed {seed}")
            return f"{at}: {dataset}:{metric} ({run}) is {float(val[k])!r}"

        bad = ~np.isfinite(val)
        if bad.any():
            if not self.allow_missing:
                n = int(bad.sum())
                raise CorruptFile(
                    f"{place(int(np.flatnonzero(bad)[0]))}" + (f" ({n} non-finite values in all)" if n > 1 else "")
                    + ": fix the file, or pass --allow-missing to store non-finite values as missing"
                )
            self.missing += int(bad.sum())
        spec = self.metric_spec(metric)
        if spec.bounds is not None:
            low, high, fix = spec.bounds
            out = np.isfinite(val) & ((val < low) | (val > high))
            if out.any():
                raise CorruptFile(f"{place(int(np.flatnonzero(out)[0]))}, outside {low:g}..{high:g}: {fix}")
        if metric in PERCENT_METRICS or spec.unit == "%":
            out = np.isfinite(val) & ((val < 0) | (val > 100))  # non-finite ones were allowed above
            if out.any():
                raise CorruptFile(
                    f"{place(int(np.flatnonzero(out)[0]))}, outside 0..100: correct the file "
                    "(accuracies are percentages: multiply fractions in 0..1 by 100)"
                )

    def check_dataset(self, space: str, dataset: str) -> None:
        """:class:`UnknownDataset` unless ``dataset`` is one the space knows, one the store holds rows or
        scores of for the space, or the batch allows new datasets (``--new-dataset``). Every row an
        importer adds passes here (:meth:`add_evaluations`, :meth:`add_proxy_scores`, :meth:`add_aliases`)."""
        if (space, dataset) in self._checked:
            return
        sp = get_space(space)
        known = list(sp.known_datasets())
        if dataset not in known and not self.new_dataset:
            conn = self.store.conn
            stored = [r[0] for r in conn.execute(
                "SELECT DISTINCT dataset FROM benchmarks WHERE space = ? UNION "
                "SELECT DISTINCT dataset FROM proxy_scores WHERE space = ?", (space, space))]
            if dataset not in stored:
                names = list(dict.fromkeys(known + sorted(stored)))
                lowered = {n.lower(): n for n in names}  # CIFAR100 is cifar100 misspelt, not another dataset
                import difflib

                close = difflib.get_close_matches(dataset.lower(), list(lowered), n=1, cutoff=0.6)
                hint = f" (did you mean {lowered[close[0]]}?)" if close else ""
                raise UnknownDataset(
                    f"space {space} has no dataset {dataset!r}{hint}: known are {', '.join(names)}; "
                    "if it is a new dataset, pass --new-dataset (Python: new_dataset=True)")
        self._checked.add((space, dataset))

    def check_epoch(self, space: str, dataset: str, protocol: str, metric: str, epoch: int) -> None:
        """:class:`ZcdbError` when ``epoch`` is negative, or past the last epoch of ``protocol`` where the
        protocol is known (the space's, e.g. ``200ep``, ``nasbench``; a recipe this import or the store
        describes; a registered one such as ``digits-v1``)."""
        e = int(epoch)
        last = self._protocol_epochs(space, dataset, protocol)
        if e < 0 or (last is not None and e > last):
            span = f"0..{last}" if last is not None else "0 or more"
            raise ZcdbError(f"epoch {e} of {space}/{dataset} {metric} is outside protocol {protocol}'s range {span}: "
                            "give the epoch the values were read at (--epoch), or their protocol (--protocol)")

    def _protocol_epochs(self, space: str, dataset: str, protocol: str) -> Optional[int]:
        last = get_space(space).protocol_epochs(protocol, dataset)
        if last is not None:
            return last
        text = self._protocols.get(protocol)
        if text is None:
            r = self.store.conn.execute("SELECT description FROM protocols WHERE name = ?", (protocol,)).fetchone()
            text = r[0] if r else None
        if text is not None:
            try:
                epochs = json.loads(text).get("epochs")
            except (ValueError, AttributeError):
                epochs = None
            if isinstance(epochs, int) and not isinstance(epochs, bool):
                return epochs
        from .tabular.protocols import PROTOCOLS

        known = PROTOCOLS.get(protocol)
        return known.epochs if known is not None else None

    def add_protocol(self, name: str, description_json: str) -> None:
        """Record the recipe (a JSON description) of protocol ``name`` with the rows."""
        self._protocols[name] = description_json

    def add_aliases(self, space: str, dataset: str, protocol: str, arch_index: Sequence[int],
                    representative: Sequence[int]) -> None:
        """Declare that ``arch_index[k]`` is answered by the rows of ``representative[k]``."""
        self.check_dataset(space, dataset)
        idx = np.asarray(arch_index, dtype=np.int64)
        rep = np.asarray(representative, dtype=np.int64)
        if idx.shape != rep.shape or idx.ndim != 1:
            raise ZcdbError("add_aliases needs equally long 1-d arch_index and representative")
        self._aliases.append((space, dataset, protocol, idx, rep))
        self.rows += idx.size

    def add_proxy_scores(
        self, space: str, dataset: str, proxy: str, seed: int, batch_size: int, data: str,
        arch_index: Sequence[int], values: Sequence[float], times: Sequence[float],
        reasons: Optional[Sequence[Optional[str]]] = None,
    ) -> None:
        """Add proxy scores (NaN allowed, with a reason) and their compute times in seconds."""
        sp = get_space(space)
        self.check_dataset(space, dataset)
        idx = np.asarray(arch_index, dtype=np.int64)
        val = np.asarray(values, dtype=np.float64)
        tim = np.asarray(times, dtype=np.float64)
        if not (idx.shape == val.shape == tim.shape) or idx.ndim != 1:
            raise ZcdbError("add_proxy_scores needs equally long 1-d arch_index, values and times")
        _check_range(sp, idx, self.source)
        if np.isinf(tim).any():
            if not self.allow_missing:
                k = int(np.flatnonzero(np.isinf(tim))[0])
                raise CorruptFile(f"{self.source}: architecture {int(idx[k])}: the time of {proxy} on {dataset} is "
                                  f"{float(tim[k])!r}: fix the file, or pass --allow-missing to store it as missing")
            self.missing += int(np.isinf(tim).sum())
        # A proxy's score can diverge: a non-finite one is a result, stored as NaN with its reason.
        rs = list(reasons) if reasons is not None else [None] * idx.size
        for k in range(idx.size):
            if not np.isfinite(val[k]) and rs[k] is None:
                rs[k] = "non-finite score" if not np.isnan(val[k]) else "score is NaN"
        self.nonfinite_scores += int((~np.isfinite(val)).sum())
        self._proxies.append((space, dataset, proxy, int(seed), int(batch_size), data, idx, val, tim, rs))
        self.rows += idx.size

    # -------------------------------------------------------------- commit
    def _commit(self, replace: bool) -> None:
        s = self.store
        import datetime as _dt

        conn = s.conn
        sha = sha256_of(self.source) if Path(self.source).exists() else ""
        opts = json.dumps(self.options, sort_keys=True)
        with s._transaction():
            prev = conn.execute(
                "SELECT id FROM provenance WHERE sha256 = ? AND importer = ? AND options = ? AND rows = ?",
                (sha, self.importer, opts, self.rows),
            ).fetchone()
            if prev:
                source_id = int(prev[0])
            else:
                source_id = int(
                    conn.execute(
                        "INSERT INTO provenance (source, sha256, importer, options, zcdb_version, time, rows) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            os.path.abspath(self.source) if sha else self.source, sha, self.importer, opts,
                            __version__, _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                            self.rows,
                        ),
                    ).lastrowid
                )
            changed = (self._write_evaluations(source_id, replace) + self._write_proxies(source_id, replace)
                       + self._write_protocols_and_aliases(replace))
            self.changed = changed
            if prev is None and changed == 0 and self.rows:
                # Same rows under another name or file: the store keeps its original provenance.
                conn.execute("DELETE FROM provenance WHERE id = ?", (source_id,))

    def _metric_id(self, metric: str) -> int:
        spec = self.metric_spec(metric)
        conn = self.store.conn
        r = conn.execute("SELECT id, higher_is_better FROM metrics WHERE name = ?", (metric,)).fetchone()
        if r is None:
            cur = conn.execute("INSERT INTO metrics (name, higher_is_better, unit, description) VALUES (?, ?, ?, ?)",
                               (metric, int(spec.higher_is_better), spec.unit, spec.description))
            return int(cur.lastrowid)
        if r[1] is None:
            conn.execute("UPDATE metrics SET higher_is_better = ?, unit = ?, description = ? WHERE id = ?",
                         (int(spec.higher_is_better), spec.unit, spec.description, r[0]))
        return int(r[0])

    def _write_evaluations(self, source_id: int, replace: bool) -> int:
        if not self._evals:
            return 0
        s = self.store
        conn = s.conn
        conn.execute("DROP TABLE IF EXISTS temp.incoming")
        conn.execute(
            "CREATE TEMP TABLE incoming (benchmark_id INTEGER, metric_id INTEGER, epoch INTEGER, seed INTEGER, "
            "arch_index INTEGER, value REAL, PRIMARY KEY (benchmark_id, metric_id, epoch, seed, arch_index)) "
            "WITHOUT ROWID"
        )
        spaces = set()
        bids: dict[tuple[str, str, str], int] = {}
        mids: dict[str, int] = {}
        for space, dataset, protocol, metric, epoch, seed, idx, val, digits in self._evals:
            if space not in spaces:
                s._ensure_archs(space, np.concatenate([e[6] for e in self._evals if e[0] == space]))
                spaces.add(space)
            bid = bids.get((space, dataset, protocol))
            if bid is None:
                bid = bids[(space, dataset, protocol)] = s._id("benchmarks", space=space, dataset=dataset,
                                                               protocol=protocol)
            mid = mids.get(metric)
            if mid is None:
                mid = mids[metric] = self._metric_id(metric)
            vals = [None if not np.isfinite(v) else float(v) for v in val.tolist()] if not np.isfinite(val).all() \
                else val.tolist()
            try:
                conn.executemany(
                    "INSERT INTO temp.incoming VALUES (?, ?, ?, ?, ?, ?)",
                    zip([bid] * idx.size, [mid] * idx.size, [epoch] * idx.size, [seed] * idx.size,
                        idx.tolist(), vals),
                )
            except sqlite3.IntegrityError:
                raise CorruptFile(
                    f"{self.source}: the same ({dataset}, {metric}, epoch {epoch}, seed {seed}) row appears twice: "
                    "keep one row per architecture (remove or merge the duplicates)"
                ) from None
            if digits is not None:
                self._keep_agreeing(bid, mid, epoch, seed, digits)
        key = "i.benchmark_id = e.benchmark_id AND i.metric_id = e.metric_id AND i.epoch = e.epoch " \
              "AND i.seed = e.seed AND i.arch_index = e.arch_index"
        differing = conn.execute(
            f"SELECT COUNT(*) FROM temp.incoming i JOIN evaluations e ON {key} WHERE e.value IS NOT i.value"
        ).fetchone()[0]
        if differing and not replace:
            raise ImportConflict(
                f"{self.source} would change {differing} values already in the store: "
                "pass --replace to overwrite them, or import into another --db"
            )
        before = conn.total_changes
        if differing:
            conn.execute(
                f"UPDATE evaluations AS e SET value = i.value, source_id = ? FROM temp.incoming i "
                f"WHERE {key} AND e.value IS NOT i.value",
                (source_id,),
            )
        conn.execute(
            "INSERT OR IGNORE INTO evaluations SELECT benchmark_id, metric_id, epoch, seed, arch_index, value, ? "
            "FROM temp.incoming",
            (source_id,),
        )
        changed = conn.total_changes - before
        if changed:
            conn.execute(
                "INSERT OR REPLACE INTO series SELECT g.benchmark_id, g.metric_id, g.epoch, g.seed, "
                "(SELECT COUNT(*) FROM evaluations e WHERE e.benchmark_id = g.benchmark_id AND "
                "e.metric_id = g.metric_id AND e.epoch = g.epoch AND e.seed = g.seed) "
                "FROM (SELECT DISTINCT benchmark_id, metric_id, epoch, seed FROM temp.incoming) g"
            )
            _write_series_blobs(conn, "SELECT DISTINCT benchmark_id, metric_id, epoch, seed FROM temp.incoming")
        conn.execute("DROP TABLE temp.incoming")
        return changed

    def _keep_agreeing(self, bid: int, mid: int, epoch: int, seed: int, digits: int) -> None:
        """Put the stored value back into ``temp.incoming`` wherever the two agree to ``digits`` significant digits."""
        conn = self.store.conn
        rows = conn.execute(
            "SELECT i.arch_index, i.value, e.value FROM temp.incoming i JOIN evaluations e ON "
            "e.benchmark_id = i.benchmark_id AND e.metric_id = i.metric_id AND e.epoch = i.epoch AND e.seed = i.seed "
            "AND e.arch_index = i.arch_index WHERE i.benchmark_id = ? AND i.metric_id = ? AND i.epoch = ? "
            "AND i.seed = ? AND i.value IS NOT e.value AND i.value IS NOT NULL AND e.value IS NOT NULL",
            (bid, mid, epoch, seed)).fetchall()
        if not rows:
            return
        a = np.array(rows, dtype=np.float64)
        new, old = a[:, 1], a[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            big = np.maximum(np.abs(old), np.abs(new))
            # half a unit of the last digit kept, with room for the rounding of this very bound
            half_unit = 0.5 * 10.0 ** (np.floor(np.log10(big)) - (digits - 1)) * (1 + 1e-9)
            same = np.isfinite(old) & np.isfinite(new) & (np.abs(old - new) <= half_unit)
        if not same.any():
            return
        self.kept_as_stored += int(same.sum())
        conn.executemany(
            "UPDATE temp.incoming SET value = ? WHERE benchmark_id = ? AND metric_id = ? AND epoch = ? AND seed = ? "
            "AND arch_index = ?",
            [(float(o), bid, mid, epoch, seed, int(i)) for i, o in zip(a[same, 0], old[same])])

    def _write_protocols_and_aliases(self, replace: bool) -> int:
        conn = self.store.conn
        changed = 0
        for name, desc in self._protocols.items():
            old = conn.execute("SELECT description FROM protocols WHERE name = ?", (name,)).fetchone()
            if old is not None and old[0] != desc and not replace:
                raise ImportConflict(
                    f"protocol {name!r} is stored with a different recipe: bump its version, or pass --replace"
                )
            if old is None or old[0] != desc:
                conn.execute("INSERT OR REPLACE INTO protocols VALUES (?, ?)", (name, desc))
                changed += 1
        for space, dataset, protocol, idx, rep in self._aliases:
            self.store._ensure_archs(space, np.concatenate([idx, rep]))
            bid = self.store._id("benchmarks", space=space, dataset=dataset, protocol=protocol)
            pairs = [(bid, i, r) for i, r in zip(idx.tolist(), rep.tolist()) if i != r]
            if not replace:
                for _, i, r in pairs:
                    old = conn.execute("SELECT representative FROM aliases WHERE benchmark_id = ? AND arch_index = ?",
                                       (bid, i)).fetchone()
                    if old is not None and old[0] != r:
                        raise ImportConflict(
                            f"{self.source} answers arch {i} by {r}, the store by {old[0]}: pass --replace"
                        )
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO aliases VALUES (?, ?, ?) ON CONFLICT (benchmark_id, arch_index) DO UPDATE "
                "SET representative = excluded.representative WHERE representative != excluded.representative",
                pairs,
            )
            changed += conn.total_changes - before
        return changed

    def _write_proxies(self, source_id: int, replace: bool) -> int:
        if not self._proxies:
            return 0
        conn = self.store.conn
        changed = 0
        for space in sorted({p[0] for p in self._proxies}):  # arch strings for proxy_scores_view
            self.store._ensure_archs(space, np.concatenate([p[6] for p in self._proxies if p[0] == space]))
        for space, dataset, proxy, seed, bs, data, idx, val, tim, rs in self._proxies:
            set_key = (space, dataset, proxy, seed, bs, data)
            # a large chunk (a whole imported file) reads the stored set once; a few rows (one computed
            # architecture) look their rows up one by one
            stored: Optional[dict[int, tuple]] = None
            if idx.size >= 256:
                stored = {r[0]: r[1:] for r in conn.execute(
                    "SELECT arch_index, value, time, reason FROM proxy_scores WHERE space=? AND dataset=? AND proxy=? "
                    "AND seed=? AND batch_size=? AND data=?", set_key)}
            rows = []
            for k in range(idx.size):
                v = float(val[k]) if np.isfinite(val[k]) else None
                t = float(tim[k]) if np.isfinite(tim[k]) else None
                a = int(idx[k])
                if stored is not None:
                    old = stored.get(a)
                else:
                    old = conn.execute(
                        "SELECT value, time, reason FROM proxy_scores WHERE space=? AND dataset=? AND proxy=? "
                        "AND seed=? AND batch_size=? AND data=? AND arch_index=?", (*set_key, a)).fetchone()
                if old is not None:
                    if old[0] == v and old[2] == rs[k]:
                        continue
                    if not replace:
                        raise ImportConflict(
                            f"{self.source} would change the stored {proxy} score of arch {a}: "
                            "pass --replace to overwrite it"
                        )
                if stored is not None:
                    stored[a] = (v, t, rs[k])
                    rows.append((*set_key, a, v, t, rs[k], source_id))
                else:
                    conn.execute("INSERT OR REPLACE INTO proxy_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (*set_key, a, v, t, rs[k], source_id))
                changed += 1
            if rows:
                conn.executemany("INSERT OR REPLACE INTO proxy_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return changed


class Benchmark(BaseBenchmark):
    """One tabular benchmark: a space, a dataset and a protocol, with its stored metrics.

    Metric series are loaded once into dense numpy arrays indexed by architecture
    index; queries afterwards are array lookups. For a space too large to enumerate the
    index is the position among the stored architectures (:meth:`Store.sample_space`):
    ``search_space`` is then that sample, and rows keyed by global ids are read into positions.
    """

    def __init__(self, store: Store, benchmark_id: int, space: str, dataset: str, protocol: str) -> None:
        self.store = store
        self.id = benchmark_id
        self.space = space
        self.dataset = dataset
        self.protocol = protocol
        #: The :class:`~zcdb.spaces.SearchSpace` of this benchmark (a sample of a non-enumerable space).
        self.search_space = store.sample_space(space, dataset)
        #: Global ids by position where the space is sampled; None where index and stored key agree.
        self._members: Optional[np.ndarray] = getattr(self.search_space, "members", None)
        self._generation = store._generation
        self._cache: dict[tuple[str, Optional[int], Optional[int]], np.ndarray] = {}
        self._lists: dict[tuple[str, Optional[int], Optional[int]], list[float]] = {}
        self._lists_wanted: set[tuple[str, Optional[int], Optional[int]]] = set()
        self._series: Optional[dict[str, dict[int, list[int]]]] = None
        self._aliases: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._index_map = self.search_space.index_map
        self._n = self.search_space.require_size("a tabular benchmark")

    def __repr__(self) -> str:
        return f"<zcdb.Benchmark {self.space}/{self.dataset} protocol={self.protocol}>"

    # ------------------------------------------------------------------ catalog
    def _catalog(self) -> dict[str, dict[int, list[int]]]:
        if self._series is None:
            cat: dict[str, dict[int, list[int]]] = {}
            for s in self.store.series(self.id):
                cat.setdefault(s.metric, {}).setdefault(s.epoch, []).append(s.seed)
            self._series = cat
        return self._series

    def metrics(self) -> list[str]:
        """Metric names stored for this benchmark."""
        return sorted(self._catalog())

    def epochs(self, metric: str) -> list[int]:
        """Epochs at which ``metric`` is stored."""
        return sorted(self._epochs_of(metric))

    def seeds(self, metric: str, epoch: Optional[int] = None) -> list[int]:
        """Seeds stored for ``metric`` at ``epoch`` (default: its last epoch); ``-1`` is a reported mean."""
        return sorted(self._epochs_of(metric)[self._resolve_epoch(metric, epoch)])

    def metric_spec(self, metric: str) -> MetricSpec:
        """The declaration of ``metric`` in this store (built in or declared at import)."""
        return self.store.metric(metric)

    def _epochs_of(self, metric: str) -> dict[int, list[int]]:
        cat = self._catalog()
        if metric not in cat:
            check_metric_name(metric)
            names = sorted(cat)
            import difflib

            close = difflib.get_close_matches(metric, names, n=3)
            shown = ", ".join(names) if len(names) <= 12 else \
                f"{', '.join(names[:12])}, ... ({len(names)} in all: `zcdb metrics` lists them)"
            raise UnknownMetric(
                f"{self.space}/{self.dataset} has no {metric!r}: stored metrics are {shown}"
                + (f"; did you mean {' or '.join(close)}?" if close else "")
            )
        return cat[metric]

    def _resolve_epoch(self, metric: str, epoch: Optional[int]) -> int:
        eps = self._epochs_of(metric)
        if epoch is None:
            return max(eps)
        if epoch not in eps:
            raise UnknownMetric(
                f"{self.space}/{self.dataset} has {metric} at epochs {_span(set(eps))}, not at epoch {epoch}"
            )
        return int(epoch)

    # ------------------------------------------------------------------ stored keys and indices
    def _index_values(self, rows: list) -> tuple[np.ndarray, np.ndarray]:
        """``(index, value)`` arrays of ``(arch_index, value)`` rows (NULL -> NaN)."""
        if self._members is None:
            data = np.array(rows, dtype=np.float64).reshape(-1, 2)  # NULL -> nan
            return data[:, 0].astype(np.int64), data[:, 1]
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return self._positions(ids), np.array([r[1] for r in rows], dtype=np.float64).reshape(-1)

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Indices of stored keys (the identity unless the space is sampled; every key with rows is a member)."""
        if self._members is None:
            return ids
        return self.search_space.positions_of(ids)[0]

    def _key(self, arch_index: int) -> int:
        """The stored key of an index."""
        return int(arch_index) if self._members is None else int(self._members[int(arch_index)])

    # ------------------------------------------------------------------ queries
    def values(self, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> np.ndarray:
        """``metric`` of every architecture, by official index (NaN where missing); read-only.

        ``epoch=None`` is the last stored epoch. ``seed=None`` is, for each architecture, the
        source's reported mean where it has one (NaN where the source reported it missing),
        otherwise the mean over its stored seeds.
        """
        arr = self._cache.get((metric, epoch, seed))
        if arr is not None:
            return arr
        ep = self._resolve_epoch(metric, epoch)
        seeds = self._epochs_of(metric)[ep]
        conn = self.store.conn
        mid = conn.execute("SELECT id FROM metrics WHERE name = ?", (metric,)).fetchone()[0]
        if seed is not None and seed not in seeds:
            raise UnknownMetric(
                f"{self.space}/{self.dataset} has {metric} at epoch {ep} for seeds "
                f"{', '.join(map(str, sorted(seeds)))}, not seed {seed}"
            )
        if seed is not None:
            arr = self._seed_series(mid, ep, [seed])
        else:
            # the source's reported mean where it has a row (a mean reported missing stays missing);
            # the mean over the stored seeds for every architecture without one (two sources in one
            # benchmark: NAS-Bench-101's seeded samples and Suite-Zero's reported means must not
            # hide each other)
            plain = sorted(s for s in seeds if s != MEAN_SEED)
            arr = self._seed_series(mid, ep, [MEAN_SEED]) if MEAN_SEED in seeds else None
            if plain and (arr is None or np.isnan(arr).any()):
                means = self._seed_series(mid, ep, plain)
                if arr is None:
                    arr = means
                else:
                    fill = np.isnan(arr)
                    rows = conn.execute("SELECT arch_index FROM evaluations WHERE benchmark_id=? AND metric_id=? "
                                        "AND epoch=? AND seed=?", (self.id, mid, ep, MEAN_SEED)).fetchall()
                    fill[self._positions(np.array([r[0] for r in rows], dtype=np.int64))] = False
                    arr[fill] = means[fill]
        alias, rep = self.aliases()
        if alias.size:
            fill = np.isnan(arr[alias])
            arr[alias[fill]] = arr[rep[fill]]
        arr.setflags(write=False)
        self._cache[(metric, epoch, seed)] = arr
        self._cache[(metric, ep, seed)] = arr
        return arr

    def _seed_series(self, mid: int, ep: int, seeds: list[int]) -> np.ndarray:
        """The series of one seed, or the mean over several (added in seed order and divided by
        the count of non-NULL values, as SQLite's AVG does), by index: from the blobs
        (``series_blobs``) where every one is kept as a blob, else from the rows."""
        dense = self._dense(mid, ep, seeds)
        if dense is not None:
            return dense
        conn = self.store.conn
        arr = np.full(self._n, np.nan)
        if len(seeds) == 1:
            rows = conn.execute(
                "SELECT arch_index, value FROM evaluations WHERE benchmark_id=? AND metric_id=? AND epoch=? "
                "AND seed=?", (self.id, mid, ep, seeds[0])).fetchall()
            if rows:
                idx, val = self._index_values(rows)
                arr[idx] = val
            return arr
        # The mean over seeds in numpy: a GROUP BY arch_index made SQLite walk the by-arch index
        # over every row of the benchmark (0.5 s for the digits table); the primary key gives
        # the series seed by seed, each architecture's values added in seed order (as AVG did
        # and as the blob path does).
        rows = conn.execute(
            f"SELECT arch_index, value FROM evaluations WHERE benchmark_id=? AND metric_id=? AND epoch=? "
            f"AND seed IN ({', '.join('?' * len(seeds))}) ORDER BY seed, arch_index",
            (self.id, mid, ep, *seeds)).fetchall()
        if rows:
            all_idx, all_val = self._index_values(rows)
            ok = ~np.isnan(all_val)
            idx = all_idx[ok]
            total = np.bincount(idx, weights=all_val[ok], minlength=self._n)
            count = np.bincount(idx, minlength=self._n)
            has = count > 0
            arr[has] = total[has] / count[has]
        return arr

    def _dense(self, mid: int, ep: int, use: list[int]) -> Optional[np.ndarray]:
        """:meth:`_seed_series` from the blobs, or None when one of them is not kept as a blob."""
        total = count = None
        for s in use:
            blob = _read_series_blob(self.store.conn, (self.id, mid, ep, s))
            if blob is None:
                return None
            idx, val = blob
            dense = np.full(self._n, np.nan)
            dense[self._positions(idx.astype(np.int64))] = val
            if len(use) == 1:
                return dense
            ok = ~np.isnan(dense)
            total = np.where(ok, dense, 0.0) if total is None else total + np.where(ok, dense, 0.0)
            count = ok.astype(np.int64) if count is None else count + ok
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def aliases(self) -> tuple[np.ndarray, np.ndarray]:
        """Architectures answered by another member of their isomorphism class: ``(arch_index, representative)``.

        A benchmark generated with ``--archs unique`` trains one member per class; its
        values for the other members are the representative's, and this says which.
        """
        if self._aliases is None:
            rows = self.store.conn.execute(
                "SELECT arch_index, representative FROM aliases WHERE benchmark_id = ?", (self.id,)
            ).fetchall()
            a = np.array(rows, dtype=np.int64).reshape(-1, 2)
            if self._members is not None:  # only members answer and are answered
                pos, stored = self.search_space.positions_of(a.reshape(-1))
                keep = stored.reshape(-1, 2).all(axis=1)
                a = pos.reshape(-1, 2)[keep]
            self._aliases = (a[:, 0].copy(), a[:, 1].copy())
        return self._aliases

    def arch_indices(self) -> np.ndarray:
        """The architectures that have at least one stored value, sorted."""
        return self._positions(np.array([r[0] for r in self.store.conn.execute(
            "SELECT DISTINCT arch_index FROM evaluations WHERE benchmark_id = ? ORDER BY arch_index", (self.id,))],
            dtype=np.int64))

    def records(self, metric: str) -> np.ndarray:
        """Every stored value of ``metric``: an ``(n, 4)`` float array of arch_index, seed, epoch, value."""
        rows = self.store.conn.execute(
            "SELECT e.arch_index, e.seed, e.epoch, e.value FROM evaluations e JOIN metrics m ON m.id = e.metric_id "
            "WHERE e.benchmark_id = ? AND m.name = ?", (self.id, metric)).fetchall()
        if self._members is not None:
            rows = [(int(p), *r[1:]) for p, r in zip(self._positions(np.array([r[0] for r in rows], np.int64)), rows)]
        return np.array(rows, dtype=np.float64).reshape(-1, 4)

    def stored_archs(self, metric: str, epoch: int, seed: int) -> set[int]:
        """Architectures with a stored ``metric`` at ``epoch`` for ``seed`` (no mean, no alias)."""
        rows = self.store.conn.execute(
            "SELECT e.arch_index FROM evaluations e JOIN metrics m ON m.id = e.metric_id "
            "WHERE e.benchmark_id = ? AND m.name = ? AND e.epoch = ? AND e.seed = ?",
            (self.id, metric, int(epoch), int(seed))).fetchall()
        if self._members is not None:
            return set(self._positions(np.array([r[0] for r in rows], dtype=np.int64)).tolist())
        return {r[0] for r in rows}

    def protocol_description(self) -> Optional[dict[str, Any]]:
        """The stored recipe of this benchmark's protocol (for generated benchmarks), or None."""
        r = self.store.conn.execute("SELECT description FROM protocols WHERE name = ?", (self.protocol,)).fetchone()
        return json.loads(r[0]) if r else None

    def query(self, arch: Any, metric: str, epoch: Optional[int] = None, seed: Optional[int] = None) -> float:
        """``metric`` of one architecture (NaN if the table lacks it); :meth:`BaseBenchmark.query` with the
        cached array and the string index read first (the hot path of search loops)."""
        # A Python list of the cached array: indexing it is several times faster than a numpy
        # scalar read, and a benchmark object's values never change (imports make a new one).
        # The first query of a series reads the array: a list of 423,624 floats costs a single
        # query 30 ms; the second makes the list, for the loop that usually follows.
        key = (metric, epoch, seed)
        values = self._lists.get(key)
        arr = None
        if values is None:
            arr = self.values(metric, epoch, seed)
            if key in self._lists_wanted:
                values = self._lists[key] = arr.tolist()
                arr = None
            else:
                self._lists_wanted.add(key)
        if type(arch) is str:
            i = self._index_map().get(arch)
            if i is None:
                i = self.search_space.index_of(arch)
        elif type(arch) is int and 0 <= arch < self._n:
            i = arch
        else:
            i = self.search_space.index_of(arch)
        if arr is not None:
            return float(arr[i])
        return values[i]

    def has_rows(self, arch_index: int) -> bool:
        """Whether any row of this benchmark is about architecture ``arch_index``."""
        return self.store.conn.execute("SELECT 1 FROM evaluations WHERE benchmark_id = ? AND arch_index = ? LIMIT 1",
                                       (self.id, self._key(arch_index))).fetchone() is not None

    def arch_values(self, arch_index: int, epoch: int, metrics: Sequence[str],
                    seeds: Sequence[int]) -> dict[tuple[str, int], float]:
        """``{(metric, seed): value}`` of one architecture at one epoch (a missing or NULL value: absent)."""
        ids = dict(self.store.conn.execute("SELECT name, id FROM metrics"))
        names = {ids[m]: m for m in metrics if m in ids}
        if not names or not seeds:
            return {}
        rows = self.store.conn.execute(
            f"SELECT metric_id, seed, value FROM evaluations WHERE benchmark_id = ? AND metric_id IN "
            f"({', '.join('?' * len(names))}) AND epoch = ? AND seed IN ({', '.join('?' * len(seeds))}) "
            "AND arch_index = ?", (self.id, *names, int(epoch), *[int(x) for x in seeds], self._key(arch_index))).fetchall()
        return {(names[m], s): v for m, s, v in rows if v is not None}

    def to_frame(self, metrics: Optional[Sequence[str]] = None, wide: bool = False,
                 epoch: Optional[int] = None) -> "pd.DataFrame":
        """All rows (or those of ``metrics``) as a long pandas DataFrame:
        dataset, arch_index, arch, metric, epoch, seed, value.

        ``wide=True``: one row per architecture of the space instead, ``dataset``, ``arch_index``,
        ``arch`` then one column per metric read at ``epoch`` (default: each one's last) and
        averaged over seeds where the source gave no mean, NaN where missing (:meth:`frame` with a
        ``dataset`` column)."""
        import pandas as pd

        if wide:
            df = self.frame(metrics, epoch=epoch)
            df.insert(0, "dataset", self.dataset)
            return df
        if epoch is not None:
            raise ZcdbError("to_frame(epoch=...) picks the epoch of the wide form: pass wide=True, or filter "
                            "the long frame's epoch column")
        names = list(metrics) if metrics is not None else self.metrics()
        for m in names:
            self._epochs_of(m)
        q = ",".join("?" * len(names))
        df = pd.read_sql_query(
            "SELECT e.arch_index, m.name AS metric, e.epoch, e.seed, e.value FROM evaluations e "
            f"JOIN metrics m ON m.id = e.metric_id WHERE e.benchmark_id = ? AND m.name IN ({q}) "
            "ORDER BY m.name, e.epoch, e.seed, e.arch_index",
            self.store.conn, params=(self.id, *names),
        )
        if self._members is not None:
            df["arch_index"] = self._positions(df["arch_index"].to_numpy(dtype=np.int64))
        strings = np.array(self.search_space.all_strings(), dtype=object)
        df.insert(1, "arch", strings[df["arch_index"].to_numpy()])
        df.insert(0, "dataset", self.dataset)
        return df
