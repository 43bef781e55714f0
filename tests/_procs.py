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
from typing import Any, Iterable, Optional

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


def content(db: Any) -> dict[str, list[tuple]]:
    """Every zcdb table of the store at ``db``, sorted, with ids, times and compute times resolved."""
    c = sqlite3.connect(str(db))
    try:
        bench = {r[0]: r[1:] for r in c.execute("SELECT id, space, dataset, protocol FROM benchmarks")}
        metric = {r[0]: r[1] for r in c.execute("SELECT id, name FROM metrics")}
        source = {r[0]: r[1:] for r in c.execute("SELECT id, source, sha256, importer, options, rows FROM provenance")}
        run = {r[0]: r[1:] for r in c.execute("SELECT id, config_hash, seed FROM search_runs")}
        out = {
            "archs": c.execute("SELECT * FROM archs").fetchall(),
            "benchmarks": list(bench.values()),
            "metrics": list(metric.values()),
            "provenance": list(source.values()),
            "evaluations": [(bench[b], metric[m], e, s, a, v, source[src]) for b, m, e, s, a, v, src in
                            c.execute("SELECT * FROM evaluations")],
            "series": [(bench[b], metric[m], e, s, n) for b, m, e, s, n in c.execute("SELECT * FROM series")],
            "proxy_scores": [(*r[:8], r[9], source[r[10]]) for r in c.execute("SELECT * FROM proxy_scores")],
            "protocols": c.execute("SELECT * FROM protocols").fetchall(),
            "aliases": [(bench[b], a, r) for b, a, r in c.execute("SELECT * FROM aliases")],
            "search_runs": c.execute(
                "SELECT algorithm, config, config_hash, space, dataset, protocol, search_metric, report_metric, "
                "budget_kind, budget, seed, zcdb_version, queries, final_arch, final_report FROM search_runs"
            ).fetchall(),
            "search_trajectories": [(run[r], *rest) for r, *rest in c.execute("SELECT * FROM search_trajectories")],
        }
    finally:
        c.close()
    return {k: sorted(v, key=repr) for k, v in out.items()}


# --------------------------------------------------------------------------- process trees
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


def wait_until(cond: Any, timeout: float, step: float = 0.1) -> Optional[Any]:
    """Poll ``cond()`` until it returns something truthy (returned) or ``timeout`` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None
