"""`import_nb201_pth`: the official NAS-Bench-201 .pth file, on fixtures made with nas_201_api's classes."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
import torch
from nas_201_api import NASBench201API

import zcdb
from zcdb.errors import CorruptFile, ImportConflict
from zcdb.spaces import nb201
from zcdb.tabular.fixtures import write_nb201_pth
from zcdb.tabular.nb201_pth import import_nb201_pth

from .conftest import dump, require_shared
from .nb201_api_rows import api_rows, assert_rows_equal, store_rows

INDICES = [0, 1, 11, 301, 15624]
TABLE = {
    "cifar10-valid": {"val_acc": [81.9, 90.39, 85.0, 70.5, 60.25]},
    "cifar10": {"test_acc": [85.86, 93.66, 88.1, 75.0, 63.2]},
    "cifar100": {"test_acc": [52.9, 70.3, 61.0, 44.4, 30.1], "val_acc": [53.7, 70.2, 60.5, 45.0, 29.8]},
    "ImageNet16-120": {"test_acc": [26.6, 44.0, 33.3, 20.0, 15.5], "val_acc": [25.8, 44.0, 33.0, 21.0, 14.9]},
}


def _load_raw(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _cover_corners(raw: dict) -> None:
    """Edit a fixture so that it holds the format's irregular cases, as the real files do."""
    a = raw["arch2infos"]
    full = a[301]["full"]  # no ImageNet16-120 runs
    full["dataset_seed"].pop("ImageNet16-120")
    for seed in (777, 888, 999):
        full["all_results"].pop(("ImageNet16-120", seed))
    a[11]["full"]["all_results"][("cifar10", 999)]["latency"] = None  # one seed unmeasured
    for seed in (777, 888, 999):  # no seed measured: no latency row
        a[1]["less"]["all_results"][("cifar100", seed)]["latency"] = [-1.0]
    less = a[1]["less"]  # one trial only
    less["dataset_seed"]["cifar10-valid"] = [777]
    for seed in (888, 999):
        less["all_results"].pop(("cifar10-valid", seed))
    run = a[0]["full"]["all_results"][("cifar100", 888)]  # seeds disagree: nas_201_api averages
    run["params"] += 0.5
    run["flop"] += 10.0
    for seed in (777, 888, 999):  # v1_0 style: no times, some evaluations at the last epoch only
        run = a[15624]["full"]["all_results"][("cifar10", seed)]
        run["train_times"], run["eval_times"] = None, {}
        if seed == 777:
            last = f"@{run['epochs'] - 1}"
            for key in ("eval_acc1es", "eval_losses"):
                run[key] = {k: v for k, v in run[key].items() if k.endswith(last)}
        run = a[15624]["full"]["all_results"][("cifar100", seed)]
        run["train_times"] = None
        if seed == 999:  # a sparse training curve
            e = run["epochs"] - 1
            run["train_acc1es"], run["train_losses"] = {e: run["train_acc1es"][e]}, {e: run["train_losses"][e]}


@pytest.fixture(scope="module")
def pth(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-fixture.pth"
    write_nb201_pth(path, TABLE, indices=INDICES)
    raw = _load_raw(path)
    _cover_corners(raw)
    torch.save(raw, path)
    return path


@pytest.fixture(scope="module")
def api(pth):
    return NASBench201API(str(pth), verbose=False)


@pytest.fixture(scope="module")
def imported(pth):
    """A store holding the fixture, and the import's batch (tests only read it)."""
    s = zcdb.open(":memory:")
    batch = import_nb201_pth(s, pth)
    yield s, batch
    s.close()


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """A small fixture (2 archs, short schedules) for the error tests."""
    path = tmp_path_factory.mktemp("mini") / "mini.pth"
    write_nb201_pth(path, {"cifar10": {"test_acc": [90.0, 91.0]}, "cifar100": {"test_acc": [60.0, 61.0]}},
                    indices=[5, 9], seeds=(777, 888), epochs=20, less_epochs=4)
    return path


def test_rows_equal_what_nas_201_api_answers(imported, api):
    store, batch = imported
    got = store_rows(store)
    assert batch.rows == len(got) and batch.changed == len(got)
    assert_rows_equal(got, api_rows(api, INDICES))
    # the corners are there: seeds, epochs 1..200, absent rows
    bench = store.benchmark("nb201", "cifar10", "200ep")
    assert bench.epochs("test_acc") == list(range(1, 201)) and bench.seeds("test_acc") == [777, 888, 999]
    assert store.benchmark("nb201", "cifar10", "12ep").epochs("train_acc")[-1] == 12
    assert bench.seeds("test_acc", epoch=100) == [777, 888, 999]
    assert np.isnan(bench.query(15624, "test_acc", epoch=100, seed=777))
    assert np.isnan(store.benchmark("nb201", "ImageNet16-120", "200ep").query(301, "test_acc"))
    assert np.isnan(store.benchmark("nb201", "cifar100", "12ep").query(1, "latency_gpu", epoch=0))
    assert store.benchmark("nb201", "cifar10-valid", "12ep").seeds("val_acc") == [777, 888, 999]


def test_seed_means_equal_get_more_info(imported, api):
    store = imported[0]
    for dataset in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"):
        bench = store.benchmark("nb201", dataset)
        for i in INDICES:
            if dataset == "ImageNet16-120" and i == 301:
                continue
            info = api.get_more_info(i, dataset, hp="200", is_random=False)
            assert bench.query(i, "test_acc") == pytest.approx(info["test-accuracy"], rel=1e-12)
            assert bench.query(nb201.string_of(i), "train_loss") == pytest.approx(info["train-loss"], rel=1e-12)
            cost = api.get_cost_info(i, dataset, hp="200")
            assert bench.query(i, "params", epoch=0) == pytest.approx(cost["params"], rel=1e-12)
    c10 = store.benchmark("nb201", "cifar10")
    for i in INDICES:  # cifar10's validation accuracy is cifar10-valid's, as in NASLib
        want = api.get_more_info(i, "cifar10-valid", hp="200", is_random=False)["valid-accuracy"]
        assert c10.query(i, "val_acc") == pytest.approx(want, rel=1e-12)
    assert c10.query(11, "latency_gpu", epoch=0) == pytest.approx(1000 * api.get_latency(11, "cifar10", hp="200"))


def test_reimport_changes_nothing(imported, pth):
    store = imported[0]
    before = dump(store)
    again = import_nb201_pth(store, pth)
    assert again.changed == 0 and again.rows > 0
    assert dump(store) == before


def test_changed_values_conflict_unless_replace(store, mini, tmp_path):
    import_nb201_pth(store, mini)
    raw = _load_raw(mini)
    raw["arch2infos"][9]["full"]["all_results"][("cifar100", 888)]["train_acc1es"][4] = 12.5
    changed = tmp_path / "changed.pth"
    torch.save(raw, changed)
    before = dump(store)
    with pytest.raises(ImportConflict, match="would change 1 values"):
        import_nb201_pth(store, changed)
    assert dump(store) == before
    assert import_nb201_pth(store, changed, replace=True).changed == 1
    assert store.benchmark("nb201", "cifar100").query(9, "train_acc", epoch=5, seed=888) == 12.5


def test_reads_old_torch_format_numpy_numbers_and_weights(mini, tmp_path):
    """Files written by torch < 1.6 (no zip), with numpy numbers and trained weights, import alike."""
    raw = _load_raw(mini)
    run = raw["arch2infos"][9]["full"]["all_results"][("cifar100", 888)]
    run["params"], run["flop"] = np.float64(run["params"]), np.float32(run["flop"])
    run["train_acc1es"] = {e: np.float64(v) for e, v in run["train_acc1es"].items()}
    run["net_state_dict"] = {"stem.0.weight": torch.ones(16, 3, 3, 3)}
    old = tmp_path / "old.pth"
    torch.save(raw, old, _use_new_zipfile_serialization=False)
    assert old.read_bytes()[:2] == b"\x80\x02"
    with zcdb.open(":memory:") as a, zcdb.open(":memory:") as b:
        import_nb201_pth(a, old)
        import_nb201_pth(b, mini)
        got, want = store_rows(a), store_rows(b)
        flop = ("cifar100", "200ep", "flops", 0, -1, 9)
        assert got.pop(flop) == pytest.approx(want.pop(flop), rel=1e-6)  # float32 in the old file
        assert got == want


def _late_type_error(raw):
    raw["arch2infos"][5]["full"]["all_results"][("cifar10", 777)]["train_acc1es"][3] = 50.0  # would change a row
    raw["arch2infos"][9]["full"]["all_results"][("cifar100", 888)]["train_losses"] = "oops"


def _missing_key(raw):
    del raw["arch2infos"][9]["less"]["all_results"][("cifar10", 888)]["eval_losses"]


def _wrong_order(raw):
    raw["meta_archs"][0], raw["meta_archs"][1] = raw["meta_archs"][1], raw["meta_archs"][0]


def _no_evaluated_indexes(raw):
    del raw["evaluated_indexes"]


def _refused_global(raw):
    raw["arch2infos"][9]["full"]["all_results"][("cifar10", 777)]["arch_config"]["when"] = datetime.date(2020, 3, 16)


def _unknown_dataset(raw):
    raw["arch2infos"][9]["full"]["dataset_seed"]["svhn"] = [777]


def _bad_seed_list(raw):
    raw["arch2infos"][9]["full"]["dataset_seed"]["cifar10"] = [777, 888, 999]


@pytest.mark.parametrize("edit,match", [
    (_late_type_error, r"architecture 9: 200ep cifar100 seed 888: 'train_losses' must be a dict"),
    (_missing_key, r"architecture 9: 12ep cifar10 seed 888: missing 'eval_losses'"),
    (_wrong_order, r"architecture 0 is '\|nor_conv_3x3"),
    (_no_evaluated_indexes, r"lacks 'evaluated_indexes'"),
    (_refused_global, r"holds a pickled datetime\.date"),
    (_unknown_dataset, r"architecture 9: unknown dataset 'svhn'"),
    (_bad_seed_list, r"architecture 9: no 200ep run for \('cifar10', 999\)"),
])
def test_malformed_file_fails_and_changes_nothing(store, mini, tmp_path, edit, match):
    import_nb201_pth(store, mini)
    before = dump(store)
    raw = _load_raw(mini)
    edit(raw)
    bad = tmp_path / "bad.pth"
    torch.save(raw, bad)
    with pytest.raises(CorruptFile, match=match) as err:
        import_nb201_pth(store, bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
    assert dump(store) == before


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_file_fails_and_changes_nothing(store, mini, tmp_path, cut):
    import_nb201_pth(store, mini)
    before = dump(store)
    data = mini.read_bytes()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CorruptFile, match="truncated or not a NAS-Bench-201 file") as err:
        import_nb201_pth(store, bad)
    assert "\n" not in str(err.value)
    assert dump(store) == before


@pytest.mark.parametrize("name,content,match", [
    ("table.csv", b"index,arch,cifar10\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.0\n", "not a torch file"),
    ("empty.pth", b"", "not a torch file"),
    ("list.pth", None, "holds a list, not the NAS-Bench-201 dict"),
])
def test_wrong_format_is_one_line_corrupt_file(store, tmp_path, name, content, match):
    p = tmp_path / name
    if content is None:
        torch.save([1, 2, 3], p)
    else:
        p.write_bytes(content)
    with pytest.raises(CorruptFile, match=match) as err:
        import_nb201_pth(store, p)
    assert "\n" not in str(err.value)
    assert store_rows(store) == {}


def test_missing_path_and_directory(store, tmp_path):
    with pytest.raises(CorruptFile, match="no such file"):
        import_nb201_pth(store, tmp_path / "absent.pth")
    with pytest.raises(CorruptFile, match="is a directory"):
        import_nb201_pth(store, tmp_path)


@pytest.mark.shared
def test_fixture_from_shared_tables_agrees_with_them(store, tmp_path):
    """A file made from the shared test/val accuracy tables answers with the tables' values."""
    import pandas as pd

    test = pd.read_csv(require_shared("nb201", "nats_tss_test_accuracy_200ep.csv")).iloc[:60]
    val = pd.read_csv(require_shared("nb201", "naslib_val_accuracy_200ep.csv")).iloc[:60]
    assert (test["ArchitectureString"] == val["arch"]).all()
    table = {
        "cifar10-valid": {"val_acc": val["cifar10"]},
        "cifar10": {"test_acc": test["CIFAR10TestAccuracy200Epochs"]},
        "cifar100": {"test_acc": test["CIFAR100TestAccuracy200Epochs"], "val_acc": val["cifar100"]},
        "ImageNet16-120": {"test_acc": test["ImageNetTestAccuracy200Epochs"], "val_acc": val["ImageNet16-120"]},
    }
    path = write_nb201_pth(tmp_path / "shared.pth", table, indices=val["index"], curves=False)
    import_nb201_pth(store, path)
    api = NASBench201API(str(path), verbose=False)
    c10 = store.benchmark("nb201", "cifar10")
    np.testing.assert_allclose(c10.values("test_acc")[:60], test["CIFAR10TestAccuracy200Epochs"], rtol=1e-12)
    np.testing.assert_allclose(c10.values("val_acc")[:60], val["cifar10"], rtol=1e-12)
    in16 = store.benchmark("nb201", "ImageNet16-120")
    np.testing.assert_allclose(in16.values("val_acc")[:60], val["ImageNet16-120"], rtol=1e-12)
    for i in (0, 7, 59):
        info = api.get_more_info(i, "cifar100", hp="200", is_random=False)
        assert store.benchmark("nb201", "cifar100").query(i, "test_acc") == pytest.approx(info["test-accuracy"])
        assert info["test-accuracy"] == pytest.approx(test["CIFAR100TestAccuracy200Epochs"][i], rel=1e-12)


def test_final_only_keeps_the_last_epoch_of_every_curve(imported, pth):
    full = store_rows(imported[0])
    s = zcdb.open(":memory:")
    batch = import_nb201_pth(s, pth, final_only=True)
    got = store_rows(s)
    # exactly the full import's rows at the schedules' last epochs, and the costs
    last = {"200ep": 200, "12ep": 12}
    want = {k: v for k, v in full.items() if k[3] in (0, last[k[1]])}
    assert got == want and batch.rows == len(got) < len(full) / 20
    assert s.benchmark("nb201", "cifar10", "200ep").epochs("test_acc") == [200]
    # the sparse corners: a v1_0-style run evaluated at its last epoch only still has it
    assert s.benchmark("nb201", "cifar10", "200ep").query(15624, "test_acc", seed=777) == pytest.approx(
        imported[0].benchmark("nb201", "cifar10", "200ep").query(15624, "test_acc", seed=777))
    opts = s.conn.execute("SELECT options FROM provenance").fetchone()[0]
    assert '"final_only": true' in opts
    s.close()


def test_final_only_takes_each_runs_own_last_epoch(mini, tmp_path):
    """A run whose curve lacks its last epoch gives no final row; a shorter run gives its own last epoch."""
    raw = _load_raw(mini)
    runs = raw["arch2infos"][5]["full"]["all_results"]
    gap = runs[("cifar10", 777)]  # training curve without its last epoch (20)
    gap["train_acc1es"] = {e: v for e, v in gap["train_acc1es"].items() if e != gap["epochs"] - 1}
    short = runs[("cifar10", 888)]  # a run of 15 epochs among runs of 20
    short["epochs"] = 15
    for key in ("train_acc1es", "train_losses", "train_times"):
        short[key] = {e: v for e, v in short[key].items() if e < 15}
    for key in ("eval_acc1es", "eval_losses", "eval_times"):
        short[key] = {k: v for k, v in short[key].items() if int(k.split("@")[1]) < 15}
    path = tmp_path / "corners.pth"
    torch.save(raw, path)
    full, final = zcdb.open(":memory:"), zcdb.open(":memory:")
    import_nb201_pth(full, path)
    import_nb201_pth(final, path, final_only=True)
    rows = store_rows(final)
    assert ("cifar10", "200ep", "train_acc", 20, 777, 5) not in rows  # its last epoch has no value
    assert ("cifar10", "200ep", "train_acc", 20, 888, 9) in rows  # the other architecture's is there
    want = {}
    for k, v in store_rows(full).items():
        dataset, protocol, metric, epoch, seed, arch = k
        last = 15 if (dataset, arch, protocol, seed) == ("cifar10", 5, "200ep", 888) else None
        if epoch == 0 or epoch == (last or {"200ep": 20, "12ep": 4}[protocol]):
            want[k] = v
    assert rows == want
    assert ("cifar10", "200ep", "test_acc", 15, 888, 5) in rows
