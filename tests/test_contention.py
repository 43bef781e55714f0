"""Concurrent writers: separate ``zcdb`` processes on one store wait for each other, identical
work done twice at once is stored once, and a writer that waits too long gets one line that
names the process holding the store.

The writers are real processes. A test connection holds the store's write lock for eight
seconds while they start, standing for a large import's transaction (longer than SQLite's
default five-second busy timeout), so that every writer has to wait and the two identical
search runs both compute before either can store its runs.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import zcdb
from zcdb.errors import StoreLocked, ZcdbError
from zcdb.spaces import nb201

from ._procs import content, env, kill_all, wait_until, zcdb as zcdb_argv
from .conftest import run_cli

pytestmark = pytest.mark.slow

N = nb201.NUM_ARCHS


def _csv(path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    val = rng.uniform(50, 90, N)
    test = val + rng.normal(0, 1, N)
    lines = ["index,val,test"] + [f"{i},{val[i]:.4f},{test[i]:.4f}" for i in range(N)]
    path.write_text("\n".join(lines) + "\n")


def _import_args(path, dataset: str) -> list[str]:
    return ["import", "csv", str(path), "--space", "nb201", "--arch-column", "index",
            "--column", f"val={dataset}:val_acc", "--column", f"test={dataset}:test_acc", "--epoch", "200",
            "--new-dataset"]


def _writers(tmp_path) -> list[list[str]]:
    """Four imports of different tables, a proxies compute and two identical search runs."""
    out = []
    for k in range(4):
        f = tmp_path / f"t{k}.csv"
        if not f.exists():
            _csv(f, 10 + k)
        out.append(_import_args(f, f"d{k}"))
    out.append(["proxies", "compute", "--dataset", "digits", "--proxies", "params,synflow", "--sample", "2",
                "--quiet"])
    search = ["search", "run", "--algo", "rea", "--dataset", "synth", "--seeds", "0-3", "--budget-queries", "60",
              "--json"]
    out += [search, search]
    return out


def _base(db, tmp_path) -> None:
    f = tmp_path / "synth.csv"
    if not f.exists():
        _csv(f, 0)
    r = run_cli(db, *_import_args(f, "synth"))
    assert r.exit_code == 0, r.output


def _hold_write_lock(db) -> sqlite3.Connection:
    c = sqlite3.connect(str(db), isolation_level=None)
    c.execute("BEGIN IMMEDIATE")
    return c


def test_concurrent_writers_all_succeed_and_store_what_sequential_runs_store(tmp_path):
    db, ref = tmp_path / "together.db", tmp_path / "in_turn.db"
    _base(db, tmp_path)
    _base(ref, tmp_path)
    commands = _writers(tmp_path)
    holder = _hold_write_lock(db)
    try:
        procs = [subprocess.Popen(zcdb_argv(db, *c), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in commands]
        time.sleep(8)
    finally:
        holder.execute("COMMIT")
        holder.close()
    outs = [p.communicate(timeout=300) for p in procs]
    for c, p, (out, err) in zip(commands, procs, outs):
        assert p.returncode == 0 and "Traceback" not in err, f"{' '.join(c)}: exit {p.returncode}\n{err}"
    first, second = (json.loads(outs[k][0]) for k in (5, 6))
    assert first["mean"] == second["mean"]
    assert first["reused"] + first["computed"] == second["reused"] + second["computed"] == 4
    assert sorted([first["computed"], second["computed"]]) == [0, 4]  # the second stored nothing twice
    for c in commands:  # in turn, in this process: no process start-ups to pay
        r = run_cli(ref, *c)
        assert r.exit_code == 0, r.output
    together, in_turn = content(db), content(ref)
    assert len(together["search_runs"]) == 4
    assert together == in_turn


def _holder_process(db) -> subprocess.Popen:
    """A zcdb process inside a write transaction (as a long import's commit is), for 60 s."""
    code = ("import sys, time, zcdb; s = zcdb.open(sys.argv[1]); t = s._transaction(); t.__enter__(); "
            "print('holding', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "holding"
    return p


def test_a_writer_that_waits_too_long_gets_one_line_naming_the_holder(tmp_path):
    db = tmp_path / "s.db"
    _base(db, tmp_path)
    _csv(tmp_path / "more.csv", 3)
    holder = _holder_process(db)
    try:
        t = time.monotonic()
        r = subprocess.run(zcdb_argv(db, *_import_args(tmp_path / "more.csv", "more")), capture_output=True,
                           text=True, timeout=60, env=env(ZCDB_LOCK_TIMEOUT="1"))
        waited = time.monotonic() - t
    finally:
        kill_all([holder.pid])
        holder.wait()
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"pid {holder.pid}" in lines[0] and "ZCDB_LOCK_TIMEOUT" in lines[0]
    assert waited < 4
    with zcdb.open(db) as s:
        assert s.conn.execute("SELECT COUNT(*) FROM benchmarks WHERE dataset = 'more'").fetchone()[0] == 0


def test_a_lock_held_by_another_program_is_reported_without_a_pid(tmp_path):
    db = tmp_path / "s.db"
    _base(db, tmp_path)
    holder = _hold_write_lock(db)
    try:
        r = subprocess.run(zcdb_argv(db, "search", "run", "--algo", "random", "--dataset", "synth", "--seeds", "0",
                                     "--budget-queries", "5"),
                           capture_output=True, text=True, timeout=60, env=env(ZCDB_LOCK_TIMEOUT="0.5"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "another process" in lines[0] and "ZCDB_LOCK_TIMEOUT" in lines[0], r.stderr


def test_the_store_takes_its_lock_timeout_as_an_argument(tmp_path):
    db = tmp_path / "s.db"
    _base(db, tmp_path)
    holder = _hold_write_lock(db)
    try:
        with zcdb.open(db, lock_timeout=0.2) as s:
            t = time.monotonic()
            with pytest.raises(StoreLocked) as info:
                with s.importing("x", "test", new_dataset=True) as imp:
                    imp.add_evaluations("nb201", "x", "p", "test_acc", 200, -1, [0], [1.0])
            assert time.monotonic() - t < 3
            assert isinstance(info.value, ZcdbError) and "\n" not in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with zcdb.open(db) as s:
        assert wait_until(lambda: s.conn.execute("SELECT COUNT(*) FROM benchmarks WHERE dataset='x'").fetchone()
                          == (0,), 1)


def test_a_waiting_writer_is_told_once_whom_it_waits_for_and_goes_on_when_the_holder_dies(tmp_path):
    db = tmp_path / "s.db"
    _base(db, tmp_path)
    holder = _holder_process(db)
    killer = threading.Timer(4.0, kill_all, ([holder.pid],))
    killer.start()
    told: list[str] = []
    try:
        with zcdb.open(db, lock_timeout=60, on_wait=told.append) as s:
            with s.importing("x", "test", new_dataset=True) as imp:
                imp.add_evaluations("nb201", "x", "p", "test_acc", 200, -1, [0], [1.0])
            assert s.benchmark("nb201", "x").query(0, "test_acc") == 1.0
    finally:
        killer.cancel()
        kill_all([holder.pid])
        holder.wait()
    assert len(told) == 1 and f"pid {holder.pid}" in told[0] and "ZCDB_LOCK_TIMEOUT" in told[0]


@pytest.mark.parametrize("bad", ["soon", "-1", "nan"])
def test_a_bad_lock_timeout_is_refused_with_the_fix(tmp_path, monkeypatch, bad):
    monkeypatch.setenv("ZCDB_LOCK_TIMEOUT", bad)
    with pytest.raises(ZcdbError, match="ZCDB_LOCK_TIMEOUT"):
        zcdb.open(tmp_path / "s.db")
