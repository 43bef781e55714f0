"""`import_hw_nas_bench`: HW-NAS-Bench-v1_0.pickle, on format-true pickles built here.

HW-NAS-Bench ships no package to build its file with: the fixture reproduces the layout that
``HWNASBenchAPI`` reads (``data["nasbench201"][dataset][metric][index]``, numpy arrays by
official index, per-index network configs, an FBNet part), and :func:`hw_query` its
``query_by_index``.
"""

from __future__ import annotations

import datetime
import os
import pickle

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile
from zcdb.spaces import nb201
from zcdb.tabular.hw_nas_bench import DATASETS, METRICS, import_hw_nas_bench

from .conftest import dump, require_shared
from .nb201_api_rows import store_rows

HW_KEYS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
           "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy")
CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


def hw_data(rows: dict | None = None, seed: int = 0) -> dict:
    """An HW-NAS-Bench dict: synthetic positive costs, with ``rows[dataset][index] = {key: value}`` put in."""
    rng = np.random.default_rng(seed)
    strings = nb201.all_strings()
    space = {}
    for dataset in DATASETS:
        block = {key: rng.uniform(0.1, 60.0, nb201.NUM_ARCHS) for key in HW_KEYS}
        for index, values in (rows or {}).get(dataset, {}).items():
            for key, v in values.items():
                block[key][index] = v
        block["config"] = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": s, "num_classes": CLASSES[dataset]}
                           for s in strings]
        space[dataset] = block
    return {"nasbench201": space, "fbnet": {"edgegpu_latency": {"FC_Cin1504_Cout100": 0.02}}}


def write(path, data) -> None:
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=3)  # what Python 3.6 wrote by default


def hw_query(data: dict, index: int, dataname: str) -> dict:
    """What ``HWNASBenchAPI(...).query_by_index(index, dataname)`` returns for NAS-Bench-201 (plus the
    arithmetic intensity, which the pickle holds and the API leaves out)."""
    return {k: float(data["nasbench201"][dataname][k][index]) for k in HW_KEYS}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    data = hw_data()
    data["nasbench201"]["cifar100"]["fpga_energy"] = data["nasbench201"]["cifar100"]["fpga_energy"].tolist()
    data["nasbench201"]["ImageNet16-120"]["pixel3_latency"][77] = np.nan  # not measured: no row
    path = tmp_path_factory.mktemp("hw") / "HW-NAS-Bench-v1_0.pickle"
    write(path, data)
    return path, data


@pytest.fixture(scope="module")
def imported(fixture):
    """A store holding the fixture, and the import's batch (tests must leave it unchanged)."""
    s = zcdb.open(":memory:")
    batch = import_hw_nas_bench(s, fixture[0])
    yield s, batch
    s.close()


@pytest.fixture(scope="module")
def snapshot(imported):
    return dump(imported[0])


def test_rows_equal_query_by_index(imported, fixture):
    store, batch = imported
    data = fixture[1]
    assert batch.rows == len(store_rows(store)) == 3 * 10 * nb201.NUM_ARCHS - 1
    for dataset in DATASETS:
        bench = store.benchmark("nb201", dataset)
        assert bench.protocol == "200ep"
        assert bench.metrics() == sorted(METRICS.values())
        for key, metric in METRICS.items():
            assert bench.seeds(metric, epoch=0) == [-1]
            want = np.array(data["nasbench201"][dataset][key], dtype=float)
            np.testing.assert_array_equal(bench.values(metric, epoch=0), want)
        for index in (0, 1, 77, 15624):
            api = hw_query(data, index, dataset)
            for key, metric in METRICS.items():
                assert bench.query(index, metric, epoch=0) == pytest.approx(api[key], rel=0, nan_ok=True)
    assert np.isnan(store.benchmark("nb201", "ImageNet16-120").query(77, "latency_pixel3", epoch=0))


def test_reimport_changes_nothing(imported, snapshot, fixture):
    store = imported[0]
    again = import_hw_nas_bench(store, fixture[0])
    assert again.changed == 0 and again.rows == imported[1].rows
    assert dump(store) == snapshot


def _wrong_value(data):
    data["nasbench201"]["cifar10"]["edgegpu_latency"][3] = 1.0  # would change a row
    col = data["nasbench201"]["ImageNet16-120"]["fpga_latency"].tolist()
    col[7] = "fast"
    data["nasbench201"]["ImageNet16-120"]["fpga_latency"] = col


def _short_column(data):
    data["nasbench201"]["cifar100"]["raspi4_latency"] = data["nasbench201"]["cifar100"]["raspi4_latency"][:100]


def _missing_metric(data):
    del data["nasbench201"]["ImageNet16-120"]["eyeriss_energy"]


def _missing_dataset(data):
    del data["nasbench201"]["cifar100"]


def _wrong_order(data):
    cfg = data["nasbench201"]["cifar10"]["config"]
    cfg[0], cfg[1] = cfg[1], cfg[0]


def _refused_global(data):
    data["fbnet"]["measured"] = datetime.date(2021, 1, 1)


@pytest.mark.parametrize("edit,match", [
    (_wrong_value, r"ImageNet16-120 fpga_latency of architecture 7 must be a number, got 'fast'"),
    (_short_column, r"cifar100 raspi4_latency has shape \(100,\), not \(15625,\)"),
    (_missing_metric, r"ImageNet16-120 has no 'eyeriss_energy'"),
    (_missing_dataset, r"'nasbench201' has no 'cifar100' dict"),
    (_wrong_order, r"cifar10 architecture 0 is '\|nor_conv_3x3"),
    (_refused_global, r"holds a pickled datetime\.date"),
])
def test_malformed_file_fails_and_changes_nothing(imported, snapshot, tmp_path, edit, match):
    store = imported[0]
    data = hw_data()
    edit(data)
    bad = tmp_path / "bad.pickle"
    write(bad, data)
    with pytest.raises(CorruptFile, match=match) as err:
        import_hw_nas_bench(store, bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
    assert dump(store) == snapshot


def test_truncated_file_fails_and_changes_nothing(imported, snapshot, fixture, tmp_path):
    store = imported[0]
    bad = tmp_path / "truncated.pickle"
    bad.write_bytes(fixture[0].read_bytes()[:-1000])
    with pytest.raises(CorruptFile, match="truncated or not an HW-NAS-Bench file") as err:
        import_hw_nas_bench(store, bad)
    assert "\n" not in str(err.value)
    assert dump(store) == snapshot


def test_code_in_a_pickle_is_refused_not_run(store, tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    data = hw_data()
    data["fbnet"]["payload"] = Payload()
    bad = tmp_path / "evil.pickle"
    write(bad, data)
    with pytest.raises(CorruptFile, match=r"holds a pickled \w+\.system, which is not benchmark data"):
        import_hw_nas_bench(store, bad)
    assert not marker.exists()


def test_wrong_format_is_one_line_corrupt_file(store, tmp_path):
    text = tmp_path / "HW-NAS-Bench-v1_0.pickle.txt"
    text.write_text("index,arch,edgegpu_latency\n0,x,5.8\n")
    plain = tmp_path / "list.pickle"
    write(plain, [1, 2, 3])
    for path, match in ((text, "is not a pickle file"), (plain, "has no 'nasbench201' dict"),
                        (tmp_path / "absent.pickle", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(CorruptFile, match=match) as err:
            import_hw_nas_bench(store, path)
        assert "\n" not in str(err.value)
    assert store_rows(store) == {}


@pytest.mark.shared
def test_pickle_from_shared_rows_imports_the_csv_values(tmp_path):
    """A pickle holding a few real rows of the shared per-dataset CSVs imports exactly those values."""
    import pandas as pd

    picked = [0, 1, 2, 1234, 15624]
    rows, csv_rows = {}, {}
    for dataset in DATASETS:
        frame = pd.read_csv(require_shared("hw-nas-bench", f"hw_nas_bench_{dataset}.csv"), nrows=None)
        frame = frame[frame["index"].isin(picked)].set_index("index")
        assert list(frame.index) == picked
        assert all(frame.loc[i, "arch"] == nb201.string_of(i) for i in picked)
        csv_rows[dataset] = frame
        rows[dataset] = {i: {k: float(frame.loc[i, k]) for k in HW_KEYS} for i in picked}
    data = hw_data(rows)
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    write(path, data)
    with zcdb.open(":memory:") as store:
        import_hw_nas_bench(store, path)
        for dataset in DATASETS:
            bench = store.benchmark("nb201", dataset)
            for i in picked:
                api = hw_query(data, i, dataset)
                for key, metric in METRICS.items():
                    assert bench.query(i, metric, epoch=0) == csv_rows[dataset].loc[i, key] == api[key]
