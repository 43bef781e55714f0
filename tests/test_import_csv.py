"""`zcdb import csv`: generic tables, strictness, atomicity, and the real NB201/HW-NAS-Bench CSVs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from zcdb.errors import CorruptFile, UnknownArch, UnknownMetric, ZcdbError
from zcdb.spaces import nb201
from zcdb.tabular.csv_table import import_csv, parse_column_spec

from .conftest import dump, require_shared


def _write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_import_small_table(store, tmp_path):
    rows = [(nb201.string_of(i), 90 + i / 10, 50 + i) for i in range(20)]
    p = _write(tmp_path / "t.csv", ["arch", "acc", "lat"], rows)
    b = import_csv(store, p, "nb201", "arch", {"acc": ("cifar10", "test_acc"), "lat": ("cifar10", "latency_pixel3")},
                   epoch=200)
    assert b.rows == 40 and b.changed == 40
    bench = store.benchmark("nb201", "cifar10")
    assert bench.query(7, "test_acc") == pytest.approx(90.7)
    assert bench.epochs("latency_pixel3") == [0]
    assert bench.query(7, "latency_pixel3") == 57
    prov = store.provenance()[0]
    assert prov["importer"] == "csv" and len(prov["sha256"]) == 64 and prov["rows"] == 40


def test_index_column(store, tmp_path):
    p = _write(tmp_path / "t.csv", ["index", "v"], [(3, 1.5), (4, 2.5)])
    import_csv(store, p, "nb201", "index", {"v": ("cifar10", "val_acc")}, epoch=12)
    assert store.benchmark("nb201", "cifar10").query(4, "val_acc", epoch=12) == 2.5


def test_training_metric_needs_epoch(store, tmp_path):
    p = _write(tmp_path / "t.csv", ["arch", "v"], [(nb201.string_of(0), 1)])
    with pytest.raises(ZcdbError, match="--epoch"):
        import_csv(store, p, "nb201", "arch", {"v": ("cifar10", "test_acc")})


@pytest.mark.parametrize("rows,match,exc", [
    ([("|bogus|", 1.0)], r"t\.csv:2: malformed nb201", UnknownArch),
    ([(nb201.string_of(0), 1.0), (nb201.string_of(1), "abc")], r"t\.csv:3: column 'v' holds 'abc'", CorruptFile),
    ([(nb201.string_of(0), 1.0), (nb201.string_of(1), "")], r"t\.csv:3: .*--allow-missing", CorruptFile),
    ([(nb201.string_of(0), 1.0), (nb201.string_of(0), 2.0)], "appears twice", CorruptFile),
])
def test_bad_rows_fail_whole_import(store, tmp_path, rows, match, exc):
    good = _write(tmp_path / "good.csv", ["arch", "v"], [(nb201.string_of(9), 3.0)])
    import_csv(store, good, "nb201", "arch", {"v": ("cifar10", "test_acc")}, epoch=200)
    before = dump(store)
    p = _write(tmp_path / "t.csv", ["arch", "v"], rows)
    with pytest.raises(exc, match=match) as e:
        import_csv(store, p, "nb201", "arch", {"v": ("cifar10", "test_acc")}, epoch=200)
    assert "\n" not in str(e.value)
    assert dump(store) == before


def test_allow_missing_stores_nan(store, tmp_path):
    p = _write(tmp_path / "t.csv", ["arch", "v"], [(nb201.string_of(0), ""), (nb201.string_of(1), 2.0)])
    import_csv(store, p, "nb201", "arch", {"v": ("cifar10", "test_acc")}, epoch=200, allow_missing=True)
    assert np.isnan(store.benchmark("nb201", "cifar10").query(0, "test_acc"))


def test_truncated_and_wrong_files(store, tmp_path):
    full = _write(tmp_path / "t.csv", ["arch", "a", "b"], [(nb201.string_of(i), i, i) for i in range(5)])
    cut = tmp_path / "cut.csv"
    cut.write_text(full.read_text()[:-8])
    with pytest.raises(CorruptFile, match="truncated"):
        import_csv(store, cut, "nb201", "arch", {"a": ("cifar10", "test_acc")}, epoch=200)
    with pytest.raises(CorruptFile, match="no column 'x'"):
        import_csv(store, full, "nb201", "x", {"a": ("cifar10", "test_acc")}, epoch=200)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x80\x81\xff\x00" * 10)
    with pytest.raises(CorruptFile):
        import_csv(store, binary, "nb201", "arch", {"a": ("cifar10", "test_acc")}, epoch=200)
    with pytest.raises(CorruptFile, match="no such file"):
        import_csv(store, tmp_path / "missing.csv", "nb201", "arch", {"a": ("cifar10", "test_acc")}, epoch=200)
    assert store.info()["benchmarks"] == []


@pytest.mark.parametrize("spec,parsed", [("a=cifar10:test_acc", ("a", "cifar10", "test_acc")),
                                         ("x=y=ImageNet16-120:val_acc", ("x=y", "ImageNet16-120", "val_acc"))])
def test_column_spec(spec, parsed):
    assert parse_column_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["a", "a=cifar10", "=cifar10:test_acc", "a=:test_acc"])
def test_bad_column_spec(spec):
    with pytest.raises(ZcdbError, match="COL=DATASET:METRIC"):
        parse_column_spec(spec)


def test_bad_metric_in_spec():
    with pytest.raises(UnknownMetric, match="invalid metric name"):
        parse_column_spec("a=cifar10:Accuracy")


def test_undeclared_metric_fails_before_reading_and_declared_one_imports(tmp_path):
    import zcdb
    from zcdb.metrics import parse_declaration

    store = zcdb.open(tmp_path / "s.db")
    p = _write(tmp_path / "t.csv", ["arch", "fgsm"], [[nb201.string_of(0), "41.5"], [nb201.string_of(7), "12.0"]])
    with pytest.raises(UnknownMetric, match="'robust_fgsm' is not declared.*--metric robust_fgsm:max"):
        import_csv(store, p, "nb201", "arch", {"fgsm": ("cifar10", "robust_fgsm")}, epoch=200)
    assert store.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == 0
    decl = parse_declaration("robust_fgsm:max:%:accuracy under FGSM")
    import_csv(store, p, "nb201", "arch", {"fgsm": ("cifar10", "robust_fgsm")}, epoch=200, declare=[decl])
    bench = store.benchmark("nb201", "cifar10")
    assert bench.best("robust_fgsm") == (0, nb201.string_of(0), 41.5)
    assert store.metric("robust_fgsm").unit == "%"
    with pytest.raises(UnknownMetric, match="write NAME:max or NAME:min"):
        parse_declaration("robust_fgsm:up")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.dictionaries(st.integers(0, nb201.NUM_ARCHS - 1),
                       st.floats(0, 100, width=32), min_size=1, max_size=30))
def test_csv_round_trip(tmp_path_factory, table):
    import zcdb

    store = zcdb.open(":memory:")
    p = _write(tmp_path_factory.mktemp("rt") / "t.csv", ["arch", "v"],
               [(nb201.string_of(i), repr(v)) for i, v in table.items()])
    import_csv(store, p, "nb201", "arch", {"v": ("cifar10", "val_acc")}, epoch=1)
    got = store.benchmark("nb201", "cifar10").values("val_acc")
    for i, v in table.items():
        assert got[i] == v
    assert np.isnan(got).sum() == nb201.NUM_ARCHS - len(table)


# ---------------------------------------------------------------- real files
@pytest.mark.shared
def test_shared_nb201_csvs(store):
    test_csv = require_shared("nb201", "nats_tss_test_accuracy_200ep.csv")
    val_csv = require_shared("nb201", "naslib_val_accuracy_200ep.csv")
    import_csv(store, test_csv, "nb201", "ArchitectureString",
               {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc"),
                "CIFAR100TestAccuracy200Epochs": ("cifar100", "test_acc"),
                "ImageNetTestAccuracy200Epochs": ("ImageNet16-120", "test_acc")}, epoch=200)
    import_csv(store, val_csv, "nb201", "arch",
               {"cifar10": ("cifar10", "val_acc"), "cifar100": ("cifar100", "val_acc"),
                "ImageNet16-120": ("ImageNet16-120", "val_acc")}, epoch=200)
    c10 = store.benchmark("nb201", "cifar10")
    idx, arch, value = c10.best("test_acc")
    assert round(value, 2) == 94.37
    assert round(store.benchmark("nb201", "cifar100").best("test_acc")[2], 2) == 73.51
    assert round(store.benchmark("nb201", "ImageNet16-120").best("test_acc")[2], 2) == 47.31
    assert round(c10.best("val_acc")[2], 2) == 91.57
    # The ceiling of a search selecting by validation accuracy (data README): 94.30 / 73.48 / 46.44.
    for ds, ceiling in [("cifar10", 94.30), ("cifar100", 73.48), ("ImageNet16-120", 46.44)]:
        b = store.benchmark("nb201", ds)
        assert round(b.query(b.best("val_acc")[0], "test_acc"), 2) == ceiling
    before = dump(store)
    again = import_csv(store, test_csv, "nb201", "ArchitectureString",
                       {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc"),
                        "CIFAR100TestAccuracy200Epochs": ("cifar100", "test_acc"),
                        "ImageNetTestAccuracy200Epochs": ("ImageNet16-120", "test_acc")}, epoch=200)
    assert again.changed == 0 and dump(store) == before


@pytest.mark.shared
@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
def test_shared_hw_nas_bench_csv(store, dataset):
    import csv as _csv

    path = require_shared("hw-nas-bench", f"hw_nas_bench_{dataset}.csv")
    with open(path) as fh:
        header = next(_csv.reader(fh))
    cols = {}
    for c in header[2:]:
        device, _, kind = c.rpartition("_")
        if kind in ("latency", "energy"):
            cols[c] = (dataset, f"{kind}_{device}")
    assert len(cols) == 9
    b = import_csv(store, path, "nb201", "arch", cols)
    assert b.rows == 9 * nb201.NUM_ARCHS
    bench = store.benchmark("nb201", dataset)
    with open(path) as fh:
        first = next(_csv.DictReader(fh))
    i = int(first["index"])
    assert nb201.index_of(first["arch"]) == i
    assert bench.query(i, "latency_edgegpu") == float(first["edgegpu_latency"])
    assert bench.query(i, "energy_fpga") == float(first["fpga_energy"])
