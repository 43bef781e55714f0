"""Shipped tables: export of a generated benchmark to compact package data and `zcdb import builtin`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

import zcdb
from zcdb.cli import main
from zcdb.errors import CorruptFile, ZcdbError
from zcdb.tabular import builtin
from zcdb.tabular.protocols import PROTOCOLS
from zcdb.tabular.tabulate import tabulate

from .conftest import dump

TINY = dataclasses.replace(PROTOCOLS["digits-v1"], name="digits-tiny-test",
                           network=(("C", 4), ("N", 1)), epochs=2)


@pytest.fixture
def tiny_builtin(tmp_path, monkeypatch):
    """A two-class 'unique' benchmark exported as the nb201-digits builtin of a temporary data dir."""
    src = zcdb.open(tmp_path / "src.db")
    tabulate(src, "nb201", "digits", TINY, archs="unique", seeds=[0], limit=2, progress=False)
    monkeypatch.setattr(builtin, "data_dir", lambda: tmp_path / "data")
    out = builtin.export_benchmark(src, "nb201", "digits", TINY.name, tmp_path / "data" / "nb201-digits.npz")
    return src, out


def test_round_trip_is_exact(tiny_builtin, store):
    src, out = tiny_builtin
    assert out["archs"] == 2
    b = builtin.import_builtin(store, "nb201-digits")
    assert b.changed > 0
    a, c = src.benchmark("nb201", "digits"), store.benchmark("nb201", "digits")
    for metric in ("test_acc", "val_acc", "train_acc", "params", "flops"):
        for epoch in a.epochs(metric):
            assert np.array_equal(a.values(metric, epoch), c.values(metric, epoch), equal_nan=True), metric
    for metric in ("train_loss", "test_loss", "train_time"):
        np.testing.assert_allclose(a.values(metric, 2), c.values(metric, 2), rtol=1e-6)
    assert c.protocol_description() == a.protocol_description()
    assert np.array_equal(c.aliases()[0], a.aliases()[0])
    before = dump(store)
    assert builtin.import_builtin(store, "nb201-digits").changed == 0
    assert dump(store) == before


def test_cli_list_and_import(tiny_builtin, tmp_path):
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "c.db"), "import", "builtin", "--list", "--json"])
    assert r.exit_code == 0
    assert any(row["name"] == "nb201-digits" and row["present"] for row in __import__("json").loads(r.output))
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "c.db"), "import", "builtin", "nb201-digits"])
    assert r.exit_code == 0, r.output


def test_unknown_and_damaged(tiny_builtin, store, tmp_path):
    with pytest.raises(ZcdbError, match="--list"):
        builtin.import_builtin(store, "nope")
    p = tmp_path / "data" / "nb201-digits.npz"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(CorruptFile, match="damaged"):
        builtin.import_builtin(store, "nb201-digits")
    assert store.info()["benchmarks"] == []


def test_shipped_digits_table_is_complete(store):
    """The committed benchmark answers every architecture, one trained member per class."""
    builtin.import_builtin(store, "nb201-digits")
    bench = store.benchmark("nb201", "digits")
    assert bench.protocol == "digits-v1"
    v = bench.values("test_acc", seed=0)
    assert np.isfinite(v).all() and v.max() <= 100 and v.min() >= 0
    alias, rep = bench.aliases()
    trained = np.setdiff1d(np.arange(v.size), alias)
    canon = bench.search_space.representatives()
    assert trained.size == np.unique(canon).size == 6466
    assert np.array_equal(np.unique(canon[trained]), np.unique(canon))  # one per class
    assert np.all(canon[alias] == canon[rep]) and np.all(v[alias] == v[rep])
    assert bench.epochs("val_acc") == list(range(1, 13))
    # a second seed for a subset, never for an alias
    v1 = bench.values("test_acc", seed=1)
    twice = np.setdiff1d(np.flatnonzero(np.isfinite(v1)), alias)
    assert twice.size == 300


def test_shipped_digits_proxies_cover_the_trained_architectures(store):
    builtin.import_builtin(store, "nb201-digits")
    builtin.import_builtin(store, "nb201-digits-proxies")
    from zcdb.proxies import REGISTRY
    from zcdb.proxies.stored import evaluate

    sets = store.proxy_runs("nb201", "digits")
    assert {s["proxy"] for s in sets} == set(REGISTRY)
    assert all(s["n"] == 6466 and s["seed"] == 0 and s["batch_size"] == 64 for s in sets)
    rows = {r["proxy"]: r for r in evaluate(store, "nb201", "digits", "test_acc")}
    assert rows["tenas"]["n"] > 6400  # the combined TE-NAS score is formed from the two stored parts
    assert all(rows[p]["n"] >= 6450 for p in REGISTRY)


def test_proxy_scores_round_trip(store, tmp_path, monkeypatch):
    src = zcdb.open(":memory:")
    with src.importing("p", "unit", {}) as b:
        b.add_proxy_scores("nb201", "cifar10", "nwot", 0, 64, "cifar10:test", [1, 5, 9], [700.5, np.nan, 650.25],
                           [0.1, 0.2, 0.3], [None, "singular kernel", None])
        b.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "none", [1, 5], [40.0, 41.5], [0.4, 0.5])
        b.add_proxy_scores("nb201", "cifar10", "jacov", -1, -1, "naslib-zc", [1], [-50.0], [1.0])  # imported
    monkeypatch.setattr(builtin, "data_dir", lambda: tmp_path)
    out = builtin.export_proxies(src, "nb201", "cifar10", tmp_path / "nb201-cifar10-proxies.npz")
    assert out["sets"] == 2 and out["rows"] == 5  # imported scores are not zcdb's own
    builtin.import_builtin(store, "nb201-cifar10-proxies")
    q = "SELECT proxy, arch_index, value, reason FROM proxy_scores ORDER BY proxy, arch_index"
    assert store.conn.execute(q).fetchall() == [r for r in src.conn.execute(q).fetchall() if r[0] != "jacov"]
    assert builtin.import_builtin(store, "nb201-cifar10-proxies").changed == 0
