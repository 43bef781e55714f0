"""`import_nats_sss`: NATS-Bench size fast-mode archives, on the real records and on fixtures made with nats_bench's classes."""

from __future__ import annotations

import json
import math

import nats_bench
import numpy as np
import pytest
from click.testing import CliRunner
from nats_bench import pickle_load, pickle_save

import zcdb
from zcdb.cli import main
from zcdb.errors import CorruptFile, ImportConflict
from zcdb.spaces import get_space
from zcdb.tabular.fixtures import SSS_SCHEDULES, write_nats_sss, write_nats_tss
from zcdb.tabular.nats_sss import FORMAT, import_nats_sss

from .conftest import dump, require_shared
from .nb201_api_rows import api_rows, assert_rows_equal, more_info_rows, store_rows

SPACE = get_space("nats-sss")
PROTOCOLS = {"01": "01ep", "12": "12ep", "90": "90ep"}
LAST_EPOCH = {"01ep": 1, "12ep": 12, "90ep": 90}
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
REAL_INDICES = [0, 11, 284]  # the records of the shared sample
#: get_more_info's keys -> the metrics a seed-mean query answers (cifar10's val_* come from cifar10-valid)
MEAN_KEYS = {"train-loss": "train_loss", "train-accuracy": "train_acc", "train-all-time": "train_time",
             "valid-loss": "val_loss", "valid-accuracy": "val_acc", "test-loss": "test_loss",
             "test-accuracy": "test_acc"}

INDICES = [0, 9, 284, 20000, 32767]
TABLE = {
    "cifar10-valid": {"val_acc": [61.9, 80.4, 75.0, 70.5, 90.25]},
    "cifar10": {"test_acc": [65.86, 83.66, 78.1, 75.0, 93.2]},
    "cifar100": {"test_acc": [32.9, 50.3, 41.0, 44.4, 70.1], "val_acc": [33.7, 50.2, 40.5, 45.0, 69.8]},
    "ImageNet16-120": {"test_acc": [16.6, 24.0, 23.3, 20.0, 45.5], "val_acc": [15.8, 24.0, 23.0, 21.0, 44.9]},
}


def _edit(root, index, change):
    """Load an architecture file, let ``change`` edit it, write it back as nats_bench does."""
    path = root / f"{index:06d}.pickle.pbz2"
    data = pickle_load(str(path))
    change(data)
    pickle_save(data, str(path)[: -len(".pbz2")])


@pytest.fixture(scope="module")
def real():
    root = require_shared("nats-bench", "NATS-sss-v1_0-50262-simple")
    s = zcdb.open(":memory:")
    batch = import_nats_sss(s, root)
    yield root, s, batch
    s.close()


@pytest.fixture(scope="module")
def real_api(real):
    return nats_bench.create(str(real[0]), "sss", fast_mode=True, verbose=False)


# --------------------------------------------------------------------------- the real records
@pytest.mark.shared
def test_real_records_equal_the_official_api_value_for_value(real, real_api):
    """Every value nats_bench answers for records 0, 11, 284, per hp (01, 12, 90), dataset,
    seed and epoch, and the costs (seed -1), through its public queries (get_more_info,
    get_cost_info) and its per-trial objects: the same keys, every value exactly equal."""
    _, store, batch = real
    got = store_rows(store)
    want = more_info_rows(real_api, REAL_INDICES, PROTOCOLS)
    assert len(want) == batch.rows == batch.changed == 16110
    assert_rows_equal(got, want, rel=0)
    assert_rows_equal(got, api_rows(real_api, REAL_INDICES, PROTOCOLS), rel=0)
    seeds = {(k[1], k[4]) for k in got}
    assert seeds == {("01ep", 777), ("12ep", 777), ("12ep", 888), ("12ep", 999), ("90ep", 777),
                     ("01ep", -1), ("12ep", -1), ("90ep", -1)}
    assert {k[3] for k in got if k[1] == "90ep" and k[4] != -1} == set(range(1, 91))


@pytest.mark.shared
def test_real_seed_means_equal_get_more_info(real, real_api):
    """A query without a seed (the mean over the stored seeds) answers what get_more_info
    answers with is_random=False, for every metric, epoch, hp and dataset it lists."""
    _, store, _ = real
    n = 0
    for hp, protocol in PROTOCOLS.items():
        for dataset in DATASETS:
            bench = store.benchmark("nats-sss", dataset, protocol)
            source = "cifar10-valid" if dataset == "cifar10" else dataset
            for e in range(LAST_EPOCH[protocol]):
                for i in REAL_INDICES:
                    info = real_api.get_more_info(i, dataset, iepoch=e, hp=hp, is_random=False)
                    if dataset == "cifar10":  # its val_* are cifar10-valid's x-valid
                        valid = real_api.get_more_info(i, source, iepoch=e, hp=hp, is_random=False)
                        info.update({k: valid[k] for k in ("valid-loss", "valid-accuracy")})
                    for key, metric in MEAN_KEYS.items():
                        assert bench.query(i, metric, epoch=e + 1) == pytest.approx(info[key], rel=1e-12, abs=1e-12)
                        n += 1
    assert n == 3 * 4 * 7 * (1 + 12 + 90)


@pytest.mark.shared
def test_real_costs_are_the_spaces_exact_formula(real, real_api):
    """params/FLOPs of every run in the records equal get_space("nats-sss").cost exactly, and
    so do the stored rows, combined over seeds as nats_bench combines them: for the one-seed
    schedules (01, 90) the formula itself; for hp 12 the mean of three equal values, which
    the API computes as sum / 3 (6.843619999999999 for 6.84362: the store keeps the API's value)."""
    _, store, _ = real
    n_runs = n_exact = 0
    for hp, protocol in PROTOCOLS.items():
        for dataset in DATASETS:
            bench = store.benchmark("nats-sss", dataset, protocol)
            for i in REAL_INDICES:
                params, flops = SPACE.cost(i, dataset)
                meta = real_api.query_meta_info_by_index(i, hp)
                seeds = meta.get_dataset_seeds(dataset)
                for seed in seeds:
                    run = meta.query(dataset, seed)
                    assert (run.params, run.flop) == (params, flops)
                    n_runs += 1
                stored = (bench.query(i, "params", epoch=0), bench.query(i, "flops", epoch=0))
                assert stored == (sum([params] * len(seeds)) / len(seeds), sum([flops] * len(seeds)) / len(seeds))
                if len(seeds) == 1:
                    assert stored == (params, flops)
                n_exact += (stored[0] == params) + (stored[1] == flops)
    assert n_runs == 3 * 4 * (1 + 3 + 1)
    assert n_exact == 72 - 1  # the one that differs is hp 12 cifar100 11's FLOPs, by its last bit


@pytest.mark.shared
def test_real_reimport_changes_nothing(real):
    root, store, _ = real
    before = dump(store)
    again = import_nats_sss(store, root)
    assert again.changed == 0 and again.rows == 16110
    assert dump(store) == before
    prov = store.conn.execute("SELECT importer, rows FROM provenance").fetchall()
    assert prov == [("nats-sss", 16110)]


@pytest.mark.shared
def test_real_final_only_keeps_last_epochs_and_costs(real, tmp_path):
    root, store, _ = real
    full = store_rows(store)
    with zcdb.open(":memory:") as s:
        import_nats_sss(s, root, final_only=True)
        final = store_rows(s)
    assert final == {k: v for k, v in full.items() if k[3] in (0, LAST_EPOCH[k[1]])}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = write_nats_sss(tmp_path_factory.mktemp("sss") / "NATS-sss-v1_0-50262-simple", TABLE, indices=INDICES)

    def legacy(data):  # hp 12's seeds disagree on params/FLOPs: nats_bench trusts seed 888
        run = data["12"]["all_results"][("cifar100", 999)]
        run["params"] += 0.5
        run["flop"] += 10.0

    def partial(data):  # no latency for one seed, no ImageNet16-120 in the 90-epoch run
        data["12"]["all_results"][("cifar10", 888)]["latency"] = None
        full = data["90"]
        full["dataset_seed"].pop("ImageNet16-120")
        full["all_results"].pop(("ImageNet16-120", 777))

    _edit(root, 0, legacy)
    _edit(root, 20000, partial)
    return root


@pytest.fixture(scope="module")
def api(archive):
    return nats_bench.create(str(archive), "sss", fast_mode=True, verbose=False)


@pytest.fixture(scope="module")
def imported(archive):
    s = zcdb.open(":memory:")
    batch = import_nats_sss(s, archive)
    yield s, batch
    s.close()


def test_fixture_rows_equal_what_nats_bench_answers(imported, api):
    store, batch = imported
    got = store_rows(store)
    assert batch.rows == len(got) and batch.changed == len(got)
    assert_rows_equal(got, more_info_rows(api, INDICES, PROTOCOLS), rel=0)
    assert_rows_equal(got, api_rows(api, INDICES, PROTOCOLS), rel=0)
    c100 = store.benchmark("nats-sss", "cifar100", "12ep")
    assert c100.query(0, "params", epoch=0) == api.get_cost_info(0, "cifar100", hp="12")["params"]
    assert c100.query(0, "params", epoch=0) == SPACE.cost(0, "cifar100")[0]  # seed 888's, not the mean
    assert math.isnan(store.benchmark("nats-sss", "ImageNet16-120", "90ep").query(20000, "val_acc"))


def test_fixture_defaults_follow_the_real_layout(archive):
    data = pickle_load(str(archive / "000284.pickle.pbz2"))
    assert list(data) == ["01", "12", "90"] and {FORMAT.schedules[k] for k in data} == set(SPACE.official_protocols)
    for hp, (epochs, seeds, _) in SSS_SCHEDULES.items():
        assert data[hp]["dataset_seed"] == {d: list(seeds) for d in TABLE}
        run = data[hp]["all_results"][("cifar100", seeds[0])]
        assert run["epochs"] == epochs and run["seed"] == f"{seeds[0]:04d}"
        assert run["arch_config"]["name"] == "infer.shape.tiny" and run["arch_config"]["channels"] == "8:8:40:32:40"
        assert (run["params"], run["flop"]) == SPACE.cost(284, "cifar100")
        assert len(run["eval_acc1es"]) == 3 * epochs


def test_default_protocol_is_the_full_schedule(imported):
    store = imported[0]
    assert store.benchmark("nats-sss", "cifar10").protocol == "90ep"


def test_fixture_reimport_changes_nothing(imported, archive):
    store = imported[0]
    before = dump(store)
    again = import_nats_sss(store, archive)
    assert again.changed == 0 and again.rows > 0
    assert dump(store) == before


def test_final_only_equals_the_full_import_there(imported, archive, tmp_path):
    full = store_rows(imported[0])
    db = tmp_path / "final.db"
    r = CliRunner().invoke(main, ["--db", str(db), "import", "nats-sss", str(archive), "--final-only", "--json"])
    assert r.exit_code == 0, r.output
    want = {k: v for k, v in full.items() if k[3] in (0, LAST_EPOCH[k[1]])}
    with zcdb.open(db) as s:
        assert store_rows(s) == want and len(want) < len(full) / 10
        assert s.conn.execute("SELECT importer, options FROM provenance").fetchall() == [
            ("nats-sss", json.dumps({"final_only": True}))]
    assert json.loads(r.output)["rows"] == len(want)


@pytest.fixture
def mini(tmp_path):
    """A small archive (3 archs, short schedules) for the error tests; each test may damage its copy."""
    return write_nats_sss(tmp_path / "mini", {"cifar100": {"test_acc": [40.0, 41.0, 42.0]}}, indices=[5, 9, 13],
                          schedules={"01": (1, (777,), 0.5), "12": (3, (777, 888), 0.9), "90": (4, (777,), 1.0)})


def _truncate(root):
    p = root / "000013.pickle.pbz2"
    p.write_bytes(p.read_bytes()[:-200])


def _topology_string(root):
    _edit(root, 13, lambda d: d["90"].update(arch_str="|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"))


def _topology_schedule(root):
    _edit(root, 13, lambda d: d.update({"200": d.pop("90")}))


def _unpadded_schedule(root):
    _edit(root, 13, lambda d: d.update({"1": d.pop("01")}))


def _out_of_range_file(root):
    (root / "000013.pickle.pbz2").rename(root / "032768.pickle.pbz2")


def _topology_meta(root):
    write_nats_tss(root / "tss", {"cifar10": {"test_acc": [90.0]}}, indices=[0], epochs=2, less_epochs=1)
    (root / "tss" / "meta.pickle.pbz2").replace(root / "meta.pickle.pbz2")


def _accuracy_fraction_scale(root):
    _edit(root, 13, lambda d: d["12"]["all_results"][("cifar100", 888)]["eval_acc1es"].update({"x-test@1": 4100.0}))


def _infinite_loss(root):
    _edit(root, 13, lambda d: d["90"]["all_results"][("cifar100", 777)]["train_losses"].update({3: math.inf}))


def _missing_seed_run(root):
    _edit(root, 13, lambda d: d["12"]["all_results"].pop(("cifar100", 888)))


def _missing_schedule(root):
    _edit(root, 13, lambda d: d.pop("90"))


def _no_schedule(root):
    _edit(root, 13, lambda d: d.clear())


@pytest.mark.parametrize("damage,match", [
    (_missing_schedule, r"architecture 13: 000013\.pickle\.pbz2 holds no schedule '90' \(every architecture of this "
                        r"benchmark has '01', '12', '90'; --allow-missing imports it without\)"),
    (_no_schedule, r"architecture 13: 000013\.pickle\.pbz2 holds no schedule '01', '12', '90'"),
    (_truncate, r"000013\.pickle\.pbz2 \(architecture 13\) is truncated or damaged"),
    (_topology_string, r"architecture 13: its results are for '\|nor_conv_3x3~0\|.*', not the official '8:8:8:16:48'"),
    (_topology_schedule, r"architecture 13: schedule key '200' is not a number of epochs of this benchmark "
                         r"\('01', '12', '90'\)"),
    (_unpadded_schedule, r"architecture 13: schedule key '1' is not a number of epochs"),
    (_out_of_range_file, r"no architecture 32768 in this space \(0\.\.32767\)"),
    (_topology_meta, r"'meta_archs' must list 32768 architectures, got 15625"),
    (_accuracy_fraction_scale, r"architecture 13: cifar100:test_acc \(epoch 2, seed 888\) is 4100\.0, outside 0\.\.100"),
    (_infinite_loss, r"architecture 13: cifar100:train_loss \(epoch 4, seed 777\) is inf"),
    (_missing_seed_run, r"architecture 13: no 12ep run for \('cifar100', 888\)"),
])
def test_damaged_archive_fails_and_changes_nothing(store, mini, damage, match):
    import_nats_sss(store, mini)
    before = dump(store)
    damage(mini)
    with pytest.raises(CorruptFile, match=match) as err:
        import_nats_sss(store, mini)
    message = str(err.value)
    assert "\n" not in message and str(mini) in message
    assert "NATS-sss-v1_0-50262-simple" in message or "--allow-missing" in message or "outside 0..100" in message
    assert dump(store) == before


def test_allow_missing_stores_infinite_values_as_missing(store, mini):
    _infinite_loss(mini)
    batch = import_nats_sss(store, mini, allow_missing=True)
    assert batch.missing == 1
    assert math.isnan(store.benchmark("nats-sss", "cifar100", "90ep").query(13, "train_loss", epoch=4, seed=777))


def test_allow_missing_imports_an_architecture_without_a_schedule(store, mini):
    with zcdb.open(":memory:") as whole:
        import_nats_sss(whole, mini)
        want = [whole.benchmark("nats-sss", "cifar100", p).query(13, "test_acc", epoch=e, seed=s)
                for p, e, s in (("12ep", 3, 888), ("01ep", 1, 777), ("90ep", 4, 777))]
    _missing_schedule(mini)
    import_nats_sss(store, mini, allow_missing=True)
    assert store.benchmark("nats-sss", "cifar100", "12ep").query(13, "test_acc", epoch=3, seed=888) == want[0]
    assert store.benchmark("nats-sss", "cifar100", "01ep").query(13, "test_acc", epoch=1, seed=777) == want[1]
    assert math.isnan(store.benchmark("nats-sss", "cifar100", "90ep").query(13, "test_acc", epoch=4, seed=777))
    assert not math.isnan(want[2])


def test_changed_values_need_replace(store, mini):
    import_nats_sss(store, mini)
    _edit(mini, 9, lambda d: d["90"]["all_results"][("cifar100", 777)]["eval_acc1es"].update({"x-test@3": 12.5}))
    before = dump(store)
    with pytest.raises(ImportConflict):
        import_nats_sss(store, mini)
    assert dump(store) == before
    batch = import_nats_sss(store, mini, replace=True)
    assert batch.changed == 1
    assert store.benchmark("nats-sss", "cifar100", "90ep").query(9, "test_acc", epoch=4, seed=777) == 12.5


def test_cli_imports_and_reports(tmp_path, mini):
    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["--db", str(db), "import", "nats-sss", str(mini), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["importer"] == "nats-sss" and out["rows"] == out["changed"] > 0
    assert out["architectures"] == {"nats-sss": 3}  # the archive's coverage of the space
    r = CliRunner().invoke(main, ["--db", str(db), "import", "nats-sss", str(mini)])
    assert r.exit_code == 0 and "(0 new or changed; 3 of the 32,768 nats-sss architectures)" in r.output, r.output
    with zcdb.open(db) as s:
        bench = s.benchmark("nats-sss", "cifar100")
        assert bench.protocol == "90ep"
        assert bench.query("8:8:8:16:48", "test_acc", epoch=4) == pytest.approx(42.0)
        assert np.isfinite(bench.query(13, "latency_gpu", epoch=0))
