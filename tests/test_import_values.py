"""Values an import refuses or reports (issue 11, item 8).

One check in :meth:`ImportBatch.add_evaluations` covers every importer: accuracies outside
0..100 fail; non-finite values fail unless the user allows missing values, and are then
counted in the report. The CSV reader accepts plain decimal numbers only and warns about a
file that looks cut inside its last value.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile
from zcdb.spaces import nb201
from zcdb.tabular.csv_table import import_csv

from .conftest import dump, run_cli


def _csv(path, cells, header="arch,acc", newline=True):
    rows = [header] + [f"{nb201.string_of(i)},{c}" for i, c in enumerate(cells)]
    path.write_text("\n".join(rows) + ("\n" if newline else ""))
    return path


def _import(store, p, allow_missing=False, metric="test_acc"):
    return import_csv(store, p, "nb201", "arch", {"acc": ("cifar10", metric)}, epoch=200,
                      allow_missing=allow_missing)


# ---------------------------------------------------------------- the shared check
@pytest.mark.parametrize("metric", ["test_acc", "val_acc", "train_acc"])
@pytest.mark.parametrize("value", [-5.0, 150.0, 100.0001, -1e-9])
def test_batch_refuses_accuracies_outside_0_100(store, metric, value):
    with pytest.raises(CorruptFile, match=rf"{metric}.*outside 0\.\.100: correct"):
        with store.importing("unit", "unit", {}) as b:
            b.add_evaluations("nb201", "cifar10", "200ep", metric, 200, -1, [0, 1], [50.0, value])
    assert store.info()["benchmarks"] == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_batch_refuses_non_finite_unless_missing_allowed(store, value):
    with pytest.raises(CorruptFile, match="--allow-missing"):
        with store.importing("unit", "unit", {}) as b:
            b.add_evaluations("nb201", "cifar10", "200ep", "train_loss", 200, -1, [0, 1], [0.5, value])
    assert store.info()["benchmarks"] == []
    with store.importing("unit", "unit", {}, allow_missing=True) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "train_loss", 200, -1, [0, 1], [0.5, value])
    assert b.missing == 1
    assert np.isnan(store.benchmark("nb201", "cifar10").query(1, "train_loss"))


def test_edges_of_the_range_and_other_metrics_are_kept(store):
    with store.importing("unit", "unit", {}) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, [0, 1], [0.0, 100.0])
        b.add_evaluations("nb201", "cifar10", "200ep", "train_loss", 200, -1, [0, 1], [150.0, 0.0])
        b.add_evaluations("nb201", "cifar10", "200ep", "latency_gpu", 0, -1, [0, 1], [1e6, 0.1])
    assert b.missing == 0 and b.rows == 6


# ---------------------------------------------------------------- every importer
@pytest.mark.parametrize("value", ["-5", "150"])
def test_csv_accuracy_out_of_range(store, tmp_path, value):
    p = _csv(tmp_path / "t.csv", ["50", value, "60"])
    with pytest.raises(CorruptFile, match=rf"t\.csv:3: cifar10:test_acc \(epoch 200\) is {float(value)!r}"):
        _import(store, p)
    assert store.info()["benchmarks"] == []


@pytest.mark.parametrize("value", [-5, 150])
def test_naslib_val_accuracy_out_of_range(store, tmp_path, value):
    key = str(nb201.to_naslib(7))
    p = tmp_path / "zc.json"
    p.write_text(json.dumps({"cifar10": {key: {"synflow": {"score": 1.0, "time": 0.1}, "val_accuracy": value}}}))
    from zcdb.tabular.naslib_zc import import_naslib_zc

    with pytest.raises(CorruptFile, match=r"cifar10 / \(.*\): cifar10:val_acc .* outside 0\.\.100"):
        import_naslib_zc(store, p)
    assert dump(store) == dump(zcdb.open(":memory:"))


def _pth_with(tmp_path, value, key="ori-test@2"):
    import torch

    from zcdb.tabular.fixtures import write_nb201_pth

    path = tmp_path / "small.pth"
    write_nb201_pth(path, {"cifar10": {"test_acc": [90.0, 80.0]}}, indices=[0, 1], epochs=3, less_epochs=2)
    raw = torch.load(path, weights_only=True)
    raw["arch2infos"][1]["full"]["all_results"][("cifar10", 777)]["eval_acc1es"][key] = value
    torch.save(raw, path)
    return path, raw


def _nats_from(tmp_path, raw):
    from nats_bench import pickle_save

    root = tmp_path / "nats"
    root.mkdir(exist_ok=True)
    pickle_save({"meta_archs": list(nb201.all_strings()), "total_archs": nb201.NUM_ARCHS, "arch2infos": None,
                 "evaluated_indexes": set()}, str(root / "meta.pickle"))
    for index, entry in raw["arch2infos"].items():
        pickle_save({"12": entry["less"], "200": entry["full"]}, str(root / f"{index:06d}.pickle"))
    return root


@pytest.mark.parametrize("value", [-5.0, 150.0])
def test_nb201_pth_and_nats_accuracy_out_of_range(store, tmp_path, value):
    from zcdb.tabular.nats_tss import import_nats_tss
    from zcdb.tabular.nb201_pth import import_nb201_pth

    path, raw = _pth_with(tmp_path, value)
    with pytest.raises(CorruptFile, match=r"architecture 1: cifar10:test_acc \(epoch 3, seed 777\).*outside"):
        import_nb201_pth(store, path)
    with pytest.raises(CorruptFile, match=r"architecture 1: cifar10:test_acc \(epoch 3, seed 777\).*outside"):
        import_nats_tss(store, _nats_from(tmp_path, raw))
    assert store.info()["benchmarks"] == []


def test_builtin_accuracy_out_of_range(store, tmp_path, monkeypatch):
    from zcdb.tabular import builtin

    meta = dict(space="nb201", dataset="digits", protocol="p", protocol_description=None,
                metrics={"test_acc": dict(epochs=[1], seeds=[0])})
    arrays = {"arch_index": np.arange(3, dtype=np.int16),
              "test_acc": np.array([50.0, 150.0, 60.0], dtype=np.float32).reshape(3, 1, 1),
              "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    np.savez_compressed(tmp_path / "nb201-digits.npz", **arrays)
    monkeypatch.setattr(builtin, "data_dir", lambda: tmp_path)
    with pytest.raises(CorruptFile, match="outside 0..100"):
        builtin.import_builtin(store, "nb201-digits")
    assert store.info()["benchmarks"] == []


# ---------------------------------------------------------------- non-finite values
@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"])
def test_csv_non_finite_refused_unless_allow_missing(store, tmp_path, cell):
    p = _csv(tmp_path / "t.csv", ["50", cell, "60"])
    with pytest.raises(CorruptFile, match=r"t\.csv.*3.*--allow-missing"):
        _import(store, p)
    assert store.info()["benchmarks"] == []
    b = _import(store, p, allow_missing=True)
    assert b.missing == 1 and b.rows == 3
    v = store.benchmark("nb201", "cifar10").values("test_acc")
    assert v[0] == 50 and np.isnan(v[1]) and v[2] == 60


def test_csv_report_counts_the_missing(tmp_path):
    p = _csv(tmp_path / "t.csv", ["50", "", "nan", "inf", "60"])
    db = tmp_path / "s.db"
    args = ("import", "csv", str(p), "--space", "nb201", "--arch-column", "arch", "--column", "acc=cifar10:test_acc",
            "--epoch", "200")
    r = run_cli(db, *args)
    assert r.exit_code == 2 and "--allow-missing" in r.stderr
    r = run_cli(db, *args, "--allow-missing")
    assert r.exit_code == 0, r.output
    assert "3 empty or non-finite values stored as missing" in r.stdout
    r = run_cli(db, *args, "--allow-missing", "--json", "--replace")
    assert json.loads(r.stdout)["missing"] == 3


def test_naslib_non_finite(store, tmp_path):
    from zcdb.tabular.naslib_zc import import_naslib_zc

    k1, k2 = str(nb201.to_naslib(1)), str(nb201.to_naslib(2))
    p = tmp_path / "zc.json"
    p.write_text('{"cifar10": {"%s": {"nwot": {"score": -Infinity, "time": 0.1}, "val_accuracy": 80},'
                 ' "%s": {"nwot": {"score": 3.0, "time": 0.1}, "val_accuracy": NaN}}}' % (k1, k2))
    with pytest.raises(CorruptFile, match=r"cifar10 / \(.*\): cifar10:val_acc \(epoch 200\) is nan.*--allow-missing"):
        import_naslib_zc(store, p)
    assert store.info()["benchmarks"] == [] and store.proxy_runs() == []
    b = import_naslib_zc(store, p, allow_missing=True)
    assert b.missing == 1 and b.nonfinite_scores == 1
    rows = dict(store.conn.execute("SELECT arch_index, reason FROM proxy_scores").fetchall())
    assert rows == {1: "non-finite score", 2: None}


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_nb201_pth_and_nats_non_finite(store, tmp_path, value):
    from zcdb.tabular.nats_tss import import_nats_tss
    from zcdb.tabular.nb201_pth import import_nb201_pth

    path, raw = _pth_with(tmp_path, value, key="ori-test@1")
    for importer, src in ((import_nb201_pth, path), (import_nats_tss, _nats_from(tmp_path, raw))):
        s = zcdb.open(":memory:")
        with pytest.raises(CorruptFile, match=r"architecture 1: cifar10:test_acc \(epoch 2, seed 777\).*--allow"):
            importer(s, src)
        assert s.info()["benchmarks"] == []
        b = importer(s, src, allow_missing=True)
        assert b.missing == 1
        assert np.isnan(s.benchmark("nb201", "cifar10").query(1, "test_acc", epoch=2, seed=777))


def test_hw_nas_bench_non_finite(store, tmp_path):
    from zcdb.tabular.hw_nas_bench import import_hw_nas_bench

    from .test_import_hw import hw_data

    data = hw_data()
    data["nasbench201"]["cifar10"]["edgegpu_latency"][9] = np.inf
    p = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    with open(p, "wb") as fh:
        pickle.dump(data, fh, protocol=3)
    with pytest.raises(CorruptFile, match="architecture 9: cifar10:latency_edgegpu .* is inf.*--allow-missing"):
        import_hw_nas_bench(store, p)
    assert store.info()["benchmarks"] == []
    assert import_hw_nas_bench(store, p, allow_missing=True).missing == 1


# ---------------------------------------------------------------- what a number is
@pytest.mark.parametrize("cell", ["9_4.1", "94,1", "٩٤.١", "９４.１", "0x5e", "94.1.2", "1e", "--3", "9 4", "nan%"])
def test_csv_cells_that_are_not_plain_numbers(store, tmp_path, cell):
    p = tmp_path / "t.csv"
    p.write_text(f'arch,acc\n{nb201.string_of(0)},50\n{nb201.string_of(1)},"{cell}"\n')
    with pytest.raises(CorruptFile, match=r"t\.csv:3: column 'acc' holds .*not a number: write plain decimal"):
        _import(store, p, allow_missing=True)
    assert store.info()["benchmarks"] == []


@pytest.mark.parametrize("cell,value", [("94.1", 94.1), ("+94.1", 94.1), (" 94.1 ", 94.1), ("1e1", 10.0),
                                        ("5.", 5.0), (".5", 0.5), ("0.5E+1", 5.0), ("  7", 7.0)])
def test_csv_plain_numbers(store, tmp_path, cell, value):
    p = _csv(tmp_path / "t.csv", [cell])
    _import(store, p)
    assert store.benchmark("nb201", "cifar10").query(0, "test_acc") == value


# ---------------------------------------------------------------- a file cut inside its last value
def _cut(tmp_path, last, newline=False):
    cells = ["38.4667", "91.2833", "55.5512", "70.0001", last]
    return _csv(tmp_path / "t.csv", cells, newline=newline)


def test_csv_cut_inside_its_last_value_is_reported(store, tmp_path):
    b = _import(store, _cut(tmp_path, "38.4"))
    assert len(b.warnings) == 1 and "may be truncated" in b.warnings[0] and "t.csv" in b.warnings[0]
    r = run_cli(tmp_path / "s.db", "import", "csv", str(tmp_path / "t.csv"), "--space", "nb201", "--arch-column",
                "arch", "--column", "acc=cifar10:test_acc", "--epoch", "200")
    assert r.exit_code == 0 and r.stderr.startswith("warning: ") and "truncated" in r.stderr


@pytest.mark.parametrize("last,newline", [("38.4", True), ("38.4667", False), ("38.46671", False)])
def test_csv_complete_last_value_is_not_reported(store, tmp_path, last, newline):
    assert _import(store, _cut(tmp_path, last, newline)).warnings == []
