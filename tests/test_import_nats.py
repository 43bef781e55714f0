"""`import_nats_tss`: NATS-Bench topology fast-mode archives, on fixtures made with nats_bench's classes."""

from __future__ import annotations

import bz2
import datetime
import json
import pickle
import shutil

import nats_bench
import numpy as np
import pytest
from click.testing import CliRunner
from nats_bench import pickle_load, pickle_save

import zcdb
from zcdb.cli import main
from zcdb.errors import CorruptFile
from zcdb.tabular.fixtures import write_nats_tss
from zcdb.tabular.nats_tss import import_nats_tss

from .conftest import dump, require_shared
from .nb201_api_rows import api_rows, assert_rows_equal, more_info_rows, store_rows

INDICES = [0, 3, 11, 4242, 15624]
TABLE = {
    "cifar10-valid": {"val_acc": [81.9, 90.39, 85.0, 70.5, 60.25]},
    "cifar10": {"test_acc": [85.86, 93.66, 88.1, 75.0, 63.2]},
    "cifar100": {"test_acc": [52.9, 70.3, 61.0, 44.4, 30.1], "val_acc": [53.7, 70.2, 60.5, 45.0, 29.8]},
    "ImageNet16-120": {"test_acc": [26.6, 44.0, 33.3, 20.0, 15.5], "val_acc": [25.8, 44.0, 33.0, 21.0, 14.9]},
}


def _edit(root, index, change):
    """Load an architecture file, let ``change`` edit it, write it back as nats_bench does."""
    path = root / f"{index:06d}.pickle.pbz2"
    data = pickle_load(str(path))
    change(data)
    pickle_save(data, str(path)[: -len(".pbz2")])


def _cover_corners(root) -> None:
    def legacy(data):  # seeds disagree on params/FLOPs: nats_bench trusts seed 888
        run = data["200"]["all_results"][("cifar100", 999)]
        run["params"] += 0.5
        run["flop"] += 10.0

    def partial(data):
        data["200"]["all_results"][("cifar10", 888)]["latency"] = None
        full = data["200"]
        full["dataset_seed"].pop("ImageNet16-120")
        for seed in (777, 888, 999):
            full["all_results"].pop(("ImageNet16-120", seed))

    _edit(root, 0, legacy)
    _edit(root, 4242, partial)
    # nats_bench also finds "<index>.pickle.pbz2" without zero padding
    (root / "000011.pickle.pbz2").rename(root / "11.pickle.pbz2")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = write_nats_tss(tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple", TABLE, indices=INDICES)
    _cover_corners(root)
    return root


@pytest.fixture(scope="module")
def api(archive):
    return nats_bench.create(str(archive), "tss", fast_mode=True, verbose=False)


@pytest.fixture(scope="module")
def imported(archive):
    s = zcdb.open(":memory:")
    batch = import_nats_tss(s, archive)
    yield s, batch
    s.close()


@pytest.fixture
def mini(tmp_path):
    """A small archive (3 archs, short schedules) for the error tests; each test may damage its copy."""
    return write_nats_tss(tmp_path / "mini", {"cifar10": {"test_acc": [90.0, 91.0, 92.0]}},
                          indices=[5, 9, 13], seeds=(777, 888), epochs=10, less_epochs=3)


def test_rows_equal_what_nats_bench_answers(imported, api):
    store, batch = imported
    got = store_rows(store)
    assert batch.rows == len(got) and batch.changed == len(got)
    assert_rows_equal(got, api_rows(api, INDICES))
    c100 = store.benchmark("nb201", "cifar100", "200ep")
    assert c100.query(0, "params", epoch=0) == api.get_cost_info(0, "cifar100", hp="200")["params"]
    assert c100.query(0, "flops", epoch=0) == api.get_cost_info(0, "cifar100", hp="200")["flops"]
    assert np.isnan(store.benchmark("nb201", "ImageNet16-120", "200ep").query(4242, "val_acc"))
    assert store.benchmark("nb201", "cifar10", "200ep").query(11, "test_acc") > 0  # unpadded file name
    # ori-test of cifar100 / ImageNet16-120 (the API's "valtest") is declared by the import
    assert [(store.metric(m).direction, store.metric(m).unit) for m in ("valtest_acc", "valtest_loss",
            "valtest_time", "val_time")] == [("max", "%"), ("min", ""), ("min", "s"), ("min", "s")]


def test_seed_means_equal_get_more_info(imported, api):
    store = imported[0]
    for dataset in ("cifar10-valid", "cifar10", "cifar100"):
        for hp, protocol in (("200", "200ep"), ("12", "12ep")):
            bench = store.benchmark("nb201", dataset, protocol)
            for i in INDICES:
                info = api.get_more_info(i, dataset, hp=hp, is_random=False)
                assert bench.query(i, "test_acc") == pytest.approx(info["test-accuracy"], rel=1e-12)
                assert bench.query(i, "train_time") == pytest.approx(info["train-all-time"], rel=1e-12)
    c10 = store.benchmark("nb201", "cifar10")
    for i in INDICES:
        want = api.get_more_info(i, "cifar10-valid", hp="200", is_random=False)["valid-accuracy"]
        assert c10.query(i, "val_acc") == pytest.approx(want, rel=1e-12)
        assert c10.query(i, "latency_gpu", epoch=0) == pytest.approx(1000 * api.get_latency(i, "cifar10", hp="200"))


def test_reimport_changes_nothing(imported, archive):
    store = imported[0]
    before = dump(store)
    again = import_nats_tss(store, archive)
    assert again.changed == 0 and again.rows > 0
    assert dump(store) == before


def _truncate(root):
    p = root / "000013.pickle.pbz2"
    p.write_bytes(p.read_bytes()[:-200])


def _plain_pickle(root):
    p = root / "000013.pickle.pbz2"
    p.write_bytes(pickle.dumps(pickle_load(str(p))))


def _late_type_error(root):
    _edit(root, 5, lambda d: d["200"]["all_results"][("cifar10", 777)]["train_acc1es"].update({2: 1.0}))
    _edit(root, 13, lambda d: d["12"]["all_results"][("cifar10", 888)].update(eval_acc1es=[1.0, 2.0]))


def _refused_global(root):
    _edit(root, 13, lambda d: d["200"].update(when=datetime.date(2020, 8, 31)))


def _bad_schedule(root):
    _edit(root, 13, lambda d: d.update(twelve=d.pop("12")))


def _duplicate(root):
    shutil.copy(root / "000009.pickle.pbz2", root / "9.pickle.pbz2")


def _no_meta(root):
    (root / "meta.pickle.pbz2").unlink()


def _size_space_meta(root):
    pickle_save({"meta_archs": ["8:16:24:32:40"] * 32768, "total_archs": 32768, "arch2infos": None,
                 "evaluated_indexes": set()}, str(root / "meta.pickle"))


def _no_archs(root):
    for p in root.glob("0*.pickle.pbz2"):
        p.unlink()


@pytest.mark.parametrize("damage,match", [
    (_truncate, r"000013\.pickle\.pbz2 \(architecture 13\) is truncated or damaged"),
    (_plain_pickle, r"\(architecture 13\) is not bz2-compressed"),
    (_late_type_error, r"architecture 13: 12ep cifar10 seed 888: 'eval_acc1es' must be a dict"),
    (_refused_global, r"\(architecture 13\) holds a pickled datetime\.date"),
    (_bad_schedule, r"architecture 13: schedule key 'twelve' is not a number of epochs"),
    (_duplicate, r"architecture 9 has two files"),
    (_no_meta, r"meta\.pickle\.pbz2 is missing"),
    (_size_space_meta, r"'meta_archs' must list 15625 architectures, got 32768"),
    (_no_archs, r"holds no architecture files"),
])
def test_damaged_archive_fails_and_changes_nothing(store, mini, damage, match):
    import_nats_tss(store, mini)
    before = dump(store)
    damage(mini)
    with pytest.raises(CorruptFile, match=match) as err:
        import_nats_tss(store, mini)
    assert "\n" not in str(err.value) and str(mini) in str(err.value)
    assert dump(store) == before


def test_wrong_format_is_one_line_corrupt_file(store, tmp_path):
    csv = tmp_path / "table.csv"
    csv.write_text("index,arch,cifar10\n0,x,1.0\n")
    for path, match in ((csv, "is a file, not a NATS-Bench fast-mode directory"),
                        (tmp_path / "absent", "is missing, not a NATS-Bench")):
        with pytest.raises(CorruptFile, match=match) as err:
            import_nats_tss(store, path)
        assert "\n" not in str(err.value)
    (tmp_path / "meta.pickle.pbz2").write_bytes(bz2.compress(b"index,arch\n"))
    with pytest.raises(CorruptFile, match="is not a valid pickle"):
        import_nats_tss(store, tmp_path)
    assert store_rows(store) == {}


def test_final_only_keeps_the_last_epoch_of_every_curve(imported, archive, tmp_path):
    full = store_rows(imported[0])
    db = tmp_path / "final.db"
    r = CliRunner().invoke(main, ["--db", str(db), "import", "nats-tss", str(archive), "--final-only", "--json"])
    assert r.exit_code == 0, r.output
    last = {"200ep": 200, "12ep": 12}
    want = {k: v for k, v in full.items() if k[3] in (0, last[k[1]])}
    with zcdb.open(db) as s:
        assert store_rows(s) == want and len(want) < len(full) / 20
    assert json.loads(r.output)["rows"] == len(want)


REAL_INDICES = [0, 11, 284]  # the records of the shared sample


@pytest.mark.shared
def test_real_records_equal_the_official_api_value_for_value():
    """The shared sample of the official archive (meta + records 0, 11, 284), read in place.

    Every value nats_bench answers, per hp (12, 200), dataset, seed and epoch, and the
    costs, through its public queries and its per-trial objects: the same keys, every value
    exactly equal (latency: 1000 times the API's mean in seconds).
    """
    root = require_shared("nats-bench", "NATS-tss-v1_0-3ffb9-simple")
    api = nats_bench.create(str(root), "tss", fast_mode=True, verbose=False)
    with zcdb.open(":memory:") as s:
        batch = import_nats_tss(s, root)
        got = store_rows(s)
    protocols = {"12": "12ep", "200": "200ep"}
    want = more_info_rows(api, REAL_INDICES, protocols)
    assert len(want) == batch.rows == 50751
    assert_rows_equal(got, want, rel=0)
    assert_rows_equal(got, api_rows(api, REAL_INDICES, protocols), rel=0)
