"""Real processes for the contention and fault tests (and ``scripts/faults.py``).

``zcdb(db, *args)`` is the command line of a separate ``zcdb`` process; ``content(db)`` is a
store's rows with everything that depends on the order or time of the writes (row ids,
timestamps, compute times) replaced by what it stands for, so that a store written by
concurrent processes can be compared with one written by the same commands in sequence.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent


def zcdb(db: Any, *args: str) -> list[str]:
    """argv of ``zcdb --db DB ARGS...`` in a new process (the installed script, else ``python -c``)."""
    script = Path(sys.executable).with_name("zcdb")
    head = [str(script)] if script.exists() else [sys.executable, "-c", "from zcdb.cli import main; main()"]
    return [*head, "--db", str(db), *args]


def env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, with ``extra`` set."""
    out = dict(os.environ)
    out.update(extra)
    return out


def _tables(c: sqlite3.Connection, measured: Sequence[str] = ()) -> Iterator[tuple[str, Iterator[tuple]]]:
    """Each zcdb table's rows in an order that does not depend on the order of the writes, with
    ids resolved and times left out (and the values of the ``measured`` metrics, e.g. the wall
    ``train_time`` that ``zcdb tabulate`` records); big tables are read in key order, per id."""
    bench = {r[0]: r[1:] for r in c.execute("SELECT id, space, dataset, protocol FROM benchmarks")}
    metric = {r[0]: r[1] for r in c.execute("SELECT id, name FROM metrics")}
    source = {r[0]: r[1:] for r in c.execute("SELECT id, source, sha256, importer, options, rows FROM provenance")}
    runs = {r[0]: r[1:] for r in c.execute(
        "SELECT id, config_hash, space, dataset, protocol, search_metric, report_metric, budget_kind, budget, seed "
        "FROM search_runs")}
    yield "archs", c.execute("SELECT * FROM archs ORDER BY 1, 2")
    yield "benchmarks", iter(sorted(bench.values()))
    yield "metrics", iter(sorted(metric.values()))
    yield "provenance", iter(sorted(source.values(), key=repr))

    def evaluations() -> Iterator[tuple]:
        pairs = c.execute("SELECT DISTINCT benchmark_id, metric_id FROM evaluations").fetchall()
        for b, m in sorted(pairs, key=lambda p: (bench[p[0]], metric[p[1]])):
            for e, sd, a, v, src in c.execute(
                    "SELECT epoch, seed, arch_index, value, source_id FROM evaluations WHERE benchmark_id = ? AND "
                    "metric_id = ? ORDER BY epoch, seed, arch_index", (b, m)):
                yield (*bench[b], metric[m], e, sd, a, None if metric[m] in measured else v, *source[src])

    yield "evaluations", evaluations()
    yield "series", iter(sorted(((*bench[b], metric[m], e, sd, n) for b, m, e, sd, n in
                                 c.execute("SELECT * FROM series")), key=repr))
    yield "proxy_scores", ((*r[:8], r[9], *source[r[10]]) for r in c.execute("SELECT * FROM proxy_scores ORDER BY "
                                                                              "1, 2, 3, 4, 5, 6, 7"))
    yield "protocols", c.execute("SELECT * FROM protocols ORDER BY 1")
    yield "aliases", iter(sorted(((*bench[b], a, r) for b, a, r in c.execute("SELECT * FROM aliases")), key=repr))
    yield "search_runs", iter(sorted(c.execute(
        "SELECT algorithm, config, config_hash, space, dataset, protocol, search_metric, report_metric, budget_kind, "
        "budget, seed, zcdb_version, queries, final_arch, final_report FROM search_runs"), key=repr))
    yield "search_trajectories", iter(sorted(((*runs[r], *rest) for r, *rest in
                                              c.execute("SELECT * FROM search_trajectories")), key=repr))


def content(db: Any, measured: Sequence[str] = ()) -> dict[str, list[tuple]]:
    """Every zcdb table of the store at ``db`` (see :func:`_tables`), as lists to compare."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {table: list(rows) for table, rows in _tables(c, measured)}
    finally:
        c.close()


# --------------------------------------------------------------------------- process trees
def copy_store(src: Any, dst: Any) -> None:
    """Copy the store at ``src`` to ``dst`` with SQLite's backup (what is still in its WAL included)."""
    a, b = sqlite3.connect(str(src)), sqlite3.connect(str(dst))
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def descendants(pid: int) -> list[int]:
    """Pids of every live descendant of ``pid`` (Linux: read from /proc)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                parent[int(d.name)] = int(fields[1])
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to exit; return those still alive."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL each of ``pids`` that is still alive (cleanup after a failed check)."""
    import signal

    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def eof_within(stream: Any, timeout: float) -> bool:
    """Whether ``stream`` (a pipe) reaches end-of-file within ``timeout`` seconds (it is read to the end)."""
    import threading

    done = threading.Event()

    def drain() -> None:
        while stream.read(65536):
            pass
        done.set()

    threading.Thread(target=drain, daemon=True).start()
    return done.wait(timeout)


def wait_until(cond: Any, timeout: float, step: float = 0.1) -> Optional[Any]:
    """Poll ``cond()`` until it returns something truthy (returned) or ``timeout`` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None
