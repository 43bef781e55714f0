"""Worker processes die with their parent: after ``kill -9`` of a process that runs a pool
(``zcdb.parallel``), its spawned workers and multiprocessing's resource tracker are gone
within seconds, and a pipe reading the parent's output reaches end-of-file (no worker keeps
the parent's stdout or stderr open).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ._procs import descendants, eof_within, kill_all, wait_gone, wait_until, zcdb as zcdb_argv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")

GRACE = 5.0  # seconds the workers get to notice that their parent died


def _kill_and_check(parent: subprocess.Popen, workers: list[int]) -> None:
    everyone = [parent.pid, *workers]
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert eof_within(parent.stdout, GRACE), "a worker keeps the parent's stdout open"
        assert eof_within(parent.stderr, GRACE), "a worker keeps the parent's stderr open"
        left = wait_gone(workers, GRACE)
        assert not left, f"{len(left)} of {len(workers)} children outlived their parent by {GRACE} s"
    finally:
        kill_all(everyone)


# The pool runs in the main thread (Linux's death signal) or in another one (then the
# workers only have their poll of the parent's pid, as on other platforms).
DRIVER = """
import sys, threading, time
from zcdb.parallel import run_unordered
def work():
    for r in run_unordered(time.sleep, [60.0] * 6, 2):
        print(r, flush=True)
print("parent", flush=True)
if sys.argv[1] == "main":
    work()
else:
    t = threading.Thread(target=work)
    t.start()
    t.join()
"""


@pytest.mark.parametrize("thread", ["main", "other"])
def test_pool_workers_die_when_their_parent_is_killed(thread):
    parent = subprocess.Popen([sys.executable, "-c", DRIVER, thread], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        assert parent.stdout.readline().strip() == b"parent"
        assert wait_until(lambda: _workers(parent.pid) >= 2, 30), "the pool did not start"
        time.sleep(1.0)  # let them take their first tasks
    except BaseException:
        kill_all([parent.pid, *descendants(parent.pid)])
        raise
    _kill_and_check(parent, descendants(parent.pid))


def _workers(pid: int) -> int:
    """Live pool workers among the descendants of ``pid``."""
    n = 0
    for c in descendants(pid):
        try:
            n += "spawn_main" in open(f"/proc/{c}/cmdline").read()
        except OSError:
            pass
    return n


@pytest.mark.slow
def test_proxies_compute_workers_die_with_the_command(tmp_path):
    db = tmp_path / "p.db"
    parent = subprocess.Popen(zcdb_argv(db, "proxies", "compute", "--dataset", "digits", "--proxies", "all",
                                        "--sample", "60", "--workers", "2"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def scored() -> bool:
        try:
            with sqlite3.connect(db) as c:
                return c.execute("SELECT COUNT(*) FROM proxy_scores").fetchone()[0] > 0
        except sqlite3.Error:
            return False

    try:
        assert wait_until(scored, 120, step=0.2), "no score was stored"
    except BaseException:
        kill_all([parent.pid, *descendants(parent.pid)])
        raise
    workers = descendants(parent.pid)
    assert len(workers) >= 2
    _kill_and_check(parent, workers)
