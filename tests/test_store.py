"""The store: schema, front door, queries, provenance, atomic and idempotent writes."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile, EmptyStore, ImportConflict, UnknownDataset, UnknownMetric, ZcdbError
from zcdb.spaces import nb201
from zcdb.metrics import builtin
from zcdb.store import MEAN_SEED, SCHEMA_VERSION, check_metric_name, higher_is_better

from .conftest import dump


def _fill(store, values, metric="test_acc", epoch=200, seed=MEAN_SEED, dataset="cifar10", source="unit"):
    # allow_missing: some tests store NaN on purpose, to read it back as missing
    with store.importing(source, "unit", {"metric": metric}, allow_missing=True) as b:
        b.add_evaluations("nb201", dataset, "200ep", metric, epoch, seed, np.arange(len(values)), values)
    return b


def test_front_door_path_resolution(tmp_path, monkeypatch):
    p = tmp_path / "a.db"
    assert zcdb.open(p).path == str(p)
    monkeypatch.setenv("ZCDB_DB", str(tmp_path / "env.db"))
    assert zcdb.open().path == str(tmp_path / "env.db")
    monkeypatch.delenv("ZCDB_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and "darwin" not in os.sys.platform:
        assert zcdb.open().path == str(tmp_path / "xdg" / "zcdb" / "zcdb.db")


def test_schema_wal_and_version(file_store):
    conn = file_store.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")}
    assert {"archs", "benchmarks", "metrics", "evaluations", "series", "proxy_scores", "provenance",
            "evaluations_view"} <= tables


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptFile, match="not a zcdb database"):
        zcdb.open(p)


def test_foreign_sqlite_file_refused(tmp_path):
    p = tmp_path / "other.db"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(CorruptFile, match="not a zcdb store"):
        zcdb.open(p)


def test_newer_schema_refused(tmp_path):
    p = tmp_path / "new.db"
    zcdb.open(p).close()
    c = sqlite3.connect(p)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.commit()
    c.close()
    with pytest.raises(ZcdbError, match="upgrade zcdb"):
        zcdb.open(p)


def test_values_query_top_and_frame(store):
    rng = np.random.default_rng(0)
    v = rng.uniform(10, 95, nb201.NUM_ARCHS)
    v[5] = np.nan
    _fill(store, v)
    bench = store.benchmark("nb201", "cifar10")
    got = bench.values("test_acc")
    assert np.array_equal(got, v, equal_nan=True)
    assert not got.flags.writeable
    best = int(np.nanargmax(v))
    assert bench.best("test_acc")[0] == best
    assert bench.top("test_acc", 3)[0][2] == pytest.approx(v[best])
    s = nb201.string_of(123)
    assert bench.query(s, "test_acc") == v[123] == bench.query(123, "test_acc") == bench.query(nb201.ops_of(123), "test_acc")
    assert np.isnan(bench.query(5, "test_acc"))
    df = bench.to_frame()
    assert len(df) == nb201.NUM_ARCHS
    assert df.loc[df.arch_index == 123, "arch"].item() == s
    assert list(df.columns) == ["dataset", "arch_index", "arch", "metric", "epoch", "seed", "value"]
    assert set(df["dataset"]) == {"cifar10"}


def test_lower_is_better_metrics_rank_ascending(store):
    v = np.arange(nb201.NUM_ARCHS, dtype=float)
    _fill(store, v, metric="latency_pixel3", epoch=0)
    assert store.benchmark("nb201", "cifar10").best("latency_pixel3")[0] == 0
    assert higher_is_better("val_acc") and not higher_is_better("energy_fpga") and not higher_is_better("flops")


def test_seed_mean_and_epochs(store):
    n = nb201.NUM_ARCHS
    _fill(store, np.full(n, 1.0), seed=777, epoch=12)
    _fill(store, np.full(n, 3.0), seed=888, epoch=12)
    _fill(store, np.full(n, 5.0), seed=777, epoch=200)
    bench = store.benchmark("nb201", "cifar10")
    assert bench.epochs("test_acc") == [12, 200]
    assert bench.query(0, "test_acc", epoch=12) == 2.0  # mean over seeds
    assert bench.query(0, "test_acc", epoch=12, seed=888) == 3.0
    assert bench.query(0, "test_acc") == 5.0  # last epoch by default
    with pytest.raises(UnknownMetric, match="not at epoch 50"):
        bench.query(0, "test_acc", epoch=50)
    with pytest.raises(UnknownMetric, match="not seed 1"):
        bench.query(0, "test_acc", epoch=12, seed=1)


def test_reported_mean_preferred_over_seed_average(store):
    n = nb201.NUM_ARCHS
    _fill(store, np.full(n, 1.0), seed=777)
    _fill(store, np.full(n, 9.0), seed=MEAN_SEED)
    assert store.benchmark("nb201", "cifar10").query(0, "test_acc") == 9.0


def test_reported_mean_per_architecture_else_its_seed_mean(store):
    """Two sources in one benchmark (NAS-Bench-101's seeded samples beside Suite-Zero's reported
    means): each architecture reads its reported mean where it has one, else the mean of its seeds."""
    with store.importing("seeded", "unit", {}) as b:
        for seed, vals in ((0, [1.0, 2.0, 4.0]), (1, [3.0, 6.0, 8.0])):
            b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, seed, [0, 1, 2], vals)
    with store.importing("reported", "unit", {}) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, MEAN_SEED, [1, 5], [50.0, 70.0])
    bench = store.benchmark("nb201", "cifar10")
    v = bench.values("test_acc")
    assert v[:3].tolist() == [2.0, 50.0, 6.0] and v[5] == 70.0 and np.isnan(v[3]) and np.isnan(v[4])
    assert bench.values("test_acc", seed=MEAN_SEED)[:3].tolist()[1] == 50.0
    assert np.isnan(bench.values("test_acc", seed=MEAN_SEED)[0])
    assert bench.query(2, "test_acc", seed=1) == 8.0
    assert np.count_nonzero(np.isfinite(v)) == 4


def test_unknown_dataset_metric_and_empty(store):
    with pytest.raises(EmptyStore, match="import one first"):
        store.benchmark("nb201", "cifar10")
    _fill(store, np.ones(10))
    with pytest.raises(UnknownDataset, match="stored datasets are cifar10"):
        store.benchmark("nb201", "mnist")
    bench = store.benchmark("nb201", "cifar10")
    with pytest.raises(UnknownMetric, match="stored metrics are test_acc"):
        bench.values("val_acc")
    with pytest.raises(UnknownMetric, match="has no 'accuracy': stored metrics are test_acc"):
        bench.values("accuracy")
    with pytest.raises(UnknownMetric, match="invalid metric name"):
        bench.values("Top-1 acc")


@pytest.mark.parametrize("name,ok", [("test_acc", True), ("latency_edgegpu", True), ("energy_fpga", True),
                                     ("robust_fgsm_eps1", True), ("latency_a b", False), ("Acc", False),
                                     ("1st", False), ("", False), ("a" * 65, False), ("val-acc", False)])
def test_metric_name_syntax(name, ok):
    if ok:
        assert check_metric_name(name) == name
    else:
        with pytest.raises(UnknownMetric, match="invalid metric name"):
            check_metric_name(name)


def test_builtin_directions_and_families():
    assert builtin("test_acc").higher_is_better and builtin("test_acc").unit == "%"
    assert not builtin("latency_pixel3").higher_is_better and builtin("latency_pixel3").unit == "ms"
    assert builtin("energy_fpga").unit == "mJ" and builtin("latency_") is None and builtin("robust_x") is None
    with pytest.raises(UnknownMetric, match="not declared: give its direction"):
        higher_is_better("robust_x")


def _declared_fill(store, name, hib, unit, values, source="decl"):
    with store.importing(source, "test", {"m": name, "v": float(values[0])}) as b:
        b.declare_metric(name, hib, unit, "a declared metric")
        b.add_evaluations("nb201", "cifar10", "200ep", name, 0, MEAN_SEED, np.arange(len(values)), values)
    return b


def test_declared_metric_direction_is_stored_and_ranks(tmp_path):
    store = zcdb.open(tmp_path / "d.db")
    _declared_fill(store, "eyeriss_arithmetic_intensity", True, "op/B", np.array([1.0, 5.0, 3.0]))
    _declared_fill(store, "robust_pgd", False, "%", np.array([10.0, 2.0, 30.0]), source="decl2")
    bench = store.benchmark("nb201", "cifar10")
    assert bench.best("eyeriss_arithmetic_intensity")[0] == 1
    assert bench.best("robust_pgd")[0] == 1  # declared lower-is-better ranks ascending
    spec = store.metric("eyeriss_arithmetic_intensity")
    assert (spec.higher_is_better, spec.unit, spec.description) == (True, "op/B", "a declared metric")
    rows = {r["metric"]: r for r in store.metric_specs()}
    assert rows["robust_pgd"]["direction"] == "min" and rows["eyeriss_arithmetic_intensity"]["unit"] == "op/B"
    # the declaration lives in the file: a new connection reads it back
    again = zcdb.open(tmp_path / "d.db")
    assert not again.higher_is_better("robust_pgd") and again.benchmark("nb201", "cifar10").best("robust_pgd")[0] == 1


def test_undeclared_or_conflicting_declaration_changes_nothing(store):
    with pytest.raises(UnknownMetric, match="'robust_x' is not declared"):
        with store.importing("u", "test", {}) as b:
            b.add_evaluations("nb201", "cifar10", "200ep", "robust_x", 0, MEAN_SEED, [0], [1.0])
    _declared_fill(store, "robust_x", True, "%", np.array([1.0]))
    before = store.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    with pytest.raises(ImportConflict, match="stored with direction max"):
        _declared_fill(store, "robust_x", False, "%", np.array([2.0]), source="other")
    with pytest.raises(ImportConflict, match="built-in metric with direction max"):
        _declared_fill(store, "test_acc", False, "%", np.array([2.0]), source="other2")
    assert store.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == before


def test_schema3_store_gains_declarations(tmp_path):
    import sqlite3
    from zcdb.store import Store
    path = tmp_path / "old.db"
    with Store(str(path)) as st:
        _fill(st, np.ones(5), metric="val_acc")
    conn = sqlite3.connect(path)  # rewrite it as schema 3 wrote it: metrics(id, name) only
    conn.executescript("ALTER TABLE metrics DROP COLUMN higher_is_better; ALTER TABLE metrics DROP COLUMN unit; "
                       "ALTER TABLE metrics DROP COLUMN description; PRAGMA user_version = 3;")
    conn.close()
    with Store(str(path)) as st:
        assert st.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert st.conn.execute("SELECT higher_is_better, unit FROM metrics WHERE name='val_acc'").fetchone() == (1, "%")
        assert st.benchmark("nb201", "cifar10").query(0, "val_acc") == 1.0


def test_idempotent_import_and_provenance(store):
    v = np.linspace(0, 1, 100)
    b1 = _fill(store, v)
    before = dump(store)
    b2 = _fill(store, v)
    assert b1.changed == 100 and b2.changed == 0
    assert dump(store) == before
    prov = store.provenance()
    assert len(prov) == 1 and prov[0]["importer"] == "unit" and prov[0]["rows"] == 100


def test_conflicting_import_refused_then_replaced(store):
    _fill(store, np.zeros(10))
    before = dump(store)
    with pytest.raises(ImportConflict, match="--replace"):
        _fill(store, np.ones(10), source="other")
    assert dump(store) == before
    with store.importing("other", "unit", {}, replace=True) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, MEAN_SEED, np.arange(10), np.ones(10))
    assert b.changed == 10
    bench = store.benchmark("nb201", "cifar10")
    assert bench.query(3, "test_acc") == 1.0
    src = store.conn.execute("SELECT DISTINCT source_id FROM evaluations").fetchall()
    assert len(src) == 1 and src[0][0] == store.provenance()[-1]["id"]


def test_crash_inside_import_leaves_store_unchanged(file_store):
    _fill(file_store, np.zeros(10))
    before = dump(file_store)
    with pytest.raises(RuntimeError):
        with file_store.importing("x", "unit", {}) as b:
            b.add_evaluations("nb201", "cifar10", "200ep", "val_acc", 200, MEAN_SEED, np.arange(5), np.ones(5))
            raise RuntimeError("simulated crash")
    assert dump(file_store) == before


def test_duplicate_arch_in_one_series_is_corrupt(store):
    with pytest.raises(CorruptFile, match="appears twice"):
        with store.importing("x", "unit", {}) as b:
            b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, MEAN_SEED, [1, 1], [1.0, 2.0])


def test_benchmark_cache_sees_new_imports(store):
    _fill(store, np.zeros(10))
    bench = store.benchmark("nb201", "cifar10")
    assert bench.metrics() == ["test_acc"]
    _fill(store, np.zeros(10), metric="val_acc")
    assert store.benchmark("nb201", "cifar10").metrics() == ["test_acc", "val_acc"]


def test_protocol_selection(store):
    _fill(store, np.zeros(10))
    with store.importing("y", "unit", {}) as b:
        b.add_evaluations("nb201", "cifar10", "12ep", "test_acc", 12, 777, np.arange(10), np.ones(10))
    assert store.benchmark("nb201", "cifar10").protocol == "200ep"
    assert store.benchmark("nb201", "cifar10", "12ep").query(0, "test_acc") == 1.0
    with pytest.raises(UnknownDataset, match="stored protocols are 12ep, 200ep"):
        store.benchmark("nb201", "cifar10", "1ep")


def test_proxy_scores_keep_nan_with_reason(store):
    with store.importing("p", "unit", {}) as b:
        b.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "cifar10:test", [1, 2, 3],
                           [1.5, np.nan, np.inf], [0.1, 0.2, 0.3])
    rows = store.conn.execute("SELECT arch_index, value, reason FROM proxy_scores ORDER BY arch_index").fetchall()
    assert rows == [(1, 1.5, None), (2, None, "score is NaN"), (3, None, "non-finite score")]
    assert store.proxy_runs()[0]["n"] == 3


def test_evaluations_view_has_names(store):
    _fill(store, np.array([50.0]))
    row = store.conn.execute("SELECT space, dataset, protocol, arch, metric, epoch, seed, value FROM evaluations_view").fetchone()
    assert row == ("nb201", "cifar10", "200ep", nb201.string_of(0), "test_acc", 200, -1, 50.0)


def test_import_and_query_stay_light():
    # The query path must not pull torch, pandas or sqlite-utils (which imports pandas):
    # they cost seconds of a cold start.
    import subprocess
    import sys

    code = ("import sys, zcdb, zcdb.cli; s = zcdb.open(':memory:'); s.info(); "
            "print(sorted(m for m in ('torch', 'pandas', 'sqlite_utils', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sql_lives_in_the_store_modules_only():
    """Every SQL statement is in zcdb/store.py or zcdb/search_store.py; other modules ask them. zcdb/sql.py
    holds the SQL text zcdb hands to other tools (`zcdb sql wide`, the canned queries of `zcdb serve`)."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    allowed = {repo / "zcdb" / "store.py", repo / "zcdb" / "search_store.py", repo / "zcdb" / "sql.py"}
    sql = re.compile(r"\.execute(many)?\(|\b(SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b|\._transaction\(|"
                     r"\._generation\b")
    offenders = [f"{f.relative_to(repo)}:{k}" for d in ("zcdb", "proxies", "surrogates", "tabular")
                 for f in sorted((repo / d).rglob("*.py")) if f not in allowed
                 for k, line in enumerate(f.read_text().splitlines(), 1) if sql.search(line.split("#")[0])]
    assert not offenders, offenders


def test_sql_views_name_everything(store):
    """Any SQLite tool can read the store: the views join indices back into names and arch strings."""
    with store.importing("v", "test", {}) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, [3], [91.0])
        b.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "none", [3, 9], [1.5, 2.5], [0.1, 0.2])
    rows = store.conn.execute("SELECT space, dataset, arch, metric, epoch, value FROM evaluations_view").fetchall()
    assert rows == [("nb201", "cifar10", nb201.string_of(3), "test_acc", 200, 91.0)]
    rows = store.conn.execute("SELECT arch_index, arch, proxy, value FROM proxy_scores_view ORDER BY arch_index").fetchall()
    assert rows == [(3, nb201.string_of(3), "synflow", 1.5), (9, nb201.string_of(9), "synflow", 2.5)]
