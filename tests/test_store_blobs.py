"""Large series are also kept as blobs (``series_blobs``): reading them gives what the rows give."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

import zcdb
from zcdb import store as store_module

N = 15_625


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(store_module, "DENSE_SERIES_MIN", 1000)


def _import(s, values: dict[int, np.ndarray], replace: bool = False, metric: str = "val_acc") -> None:
    with s.importing("synthetic", "test", replace=replace, allow_missing=True) as batch:
        for seed, v in values.items():
            idx = np.flatnonzero(~np.isinf(v))  # inf marks "no row"; NaN a row with NULL
            batch.add_evaluations("nb201", "cifar10", "200ep", metric, 200, seed, idx, v[idx])


def _from_rows(s, metric="val_acc", seed=None) -> np.ndarray:
    """The series read from its rows: the blobs deleted, a fresh benchmark object (no cache)."""
    s.conn.execute("DELETE FROM series_blobs")
    bid = s.benchmark("nb201", "cifar10").id
    return store_module.Benchmark(s, bid, "nb201", "cifar10", "200ep").values(metric, seed=seed)


def test_blob_values_equal_row_values(tmp_path):
    rng = np.random.default_rng(0)
    seeds = {k: rng.uniform(0, 100, N) for k in range(3)}
    seeds[1][rng.choice(N, 500, replace=False)] = np.nan  # NULL rows, which AVG skips
    seeds[2][rng.choice(N, 700, replace=False)] = np.inf  # no row at all
    s = zcdb.open(tmp_path / "a.db")
    _import(s, seeds)
    assert s.conn.execute("SELECT COUNT(*) FROM series_blobs").fetchone()[0] == 3
    b = s.benchmark("nb201", "cifar10")
    fast = {seed: b.values("val_acc", seed=seed).copy() for seed in (None, 0, 1, 2)}
    slow = {seed: _from_rows(s, seed=seed) for seed in (None, 0, 1, 2)}
    for seed in fast:
        np.testing.assert_array_equal(fast[seed], slow[seed])  # bit for bit, NaN where no value


def test_blobs_follow_replaced_values_and_stay_out_below_the_threshold(tmp_path, monkeypatch):
    s = zcdb.open(tmp_path / "b.db")
    v = np.linspace(0, 100, N)
    _import(s, {0: v})
    _import(s, {0: v[::-1].copy()}, replace=True)
    assert np.array_equal(s.benchmark("nb201", "cifar10").values("val_acc", seed=0), v[::-1])
    monkeypatch.setattr(store_module, "DENSE_SERIES_MIN", N + 1)
    _import(s, {0: v}, metric="train_acc")
    assert s.conn.execute("SELECT COUNT(*) FROM series_blobs").fetchone()[0] == 1  # val_acc's only


def test_an_older_store_gets_its_blobs_when_opened(tmp_path):
    p = tmp_path / "old.db"
    s = zcdb.open(p)
    v = np.linspace(0, 100, N)
    _import(s, {0: v})
    s.conn.execute("DROP TABLE series_blobs")
    s.conn.execute("PRAGMA user_version = 3")
    s.close()
    s = zcdb.open(p)
    assert s.conn.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    assert s.conn.execute("SELECT COUNT(*) FROM series_blobs").fetchone()[0] == 1
    assert np.array_equal(s.benchmark("nb201", "cifar10").values("val_acc"), v)
    with sqlite3.connect(p) as c:  # the blob holds what the rows hold
        arch, value = c.execute("SELECT arch, value FROM series_blobs").fetchone()
    assert np.array_equal(np.frombuffer(value, "<f8"), v) and np.array_equal(np.frombuffer(arch, "<i4"), np.arange(N))
