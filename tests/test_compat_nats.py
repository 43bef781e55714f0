"""`zcdb.compat.nats`: code written against nats_bench gives the same answers on a zcdb store.

The scripts below use only the official API (`nats_bench.create(...)`): a README tour, a loop
over indices, epochs, seeds and schedules, a random search with `simulate_train_eval` and
`used_time`, and `find_best`. Each runs once on nats_bench over an archive and once on the
shim over a store holding the same archive, with Python's `random` seeded the same way;
the transcripts must be equal, every float exactly (latency: the store keeps milliseconds,
so seconds come back as ms / 1000, equal to 1 ulp). The `comment` strings are zcdb's own.
"""

from __future__ import annotations

import math
import random
import sqlite3

import nats_bench
import pytest
from nats_bench import pickle_load, pickle_save

import zcdb
import zcdb.compat.nats as compat
from zcdb.tabular import nats_sss, nats_tss
from zcdb.tabular.fixtures import write_nats_sss, write_nats_tss

from .conftest import require_shared

INDICES = [0, 3, 11, 4242, 15624]
TABLE = {
    "cifar10-valid": {"val_acc": [81.9, 90.39, 85.0, 70.5, 60.25]},
    "cifar10": {"test_acc": [85.86, 93.66, 88.1, 75.0, 63.2]},
    "cifar100": {"test_acc": [52.9, 70.3, 61.0, 44.4, 30.1], "val_acc": [53.7, 70.2, 60.5, 45.0, 29.8]},
    "ImageNet16-120": {"test_acc": [26.6, 44.0, 33.3, 20.0, 15.5], "val_acc": [25.8, 44.0, 33.0, 21.0, 14.9]},
}
SSS_INDICES = [0, 9, 284, 32767]
SSS_TABLE = {d: {k: v[:4] for k, v in m.items()} for d, m in TABLE.items()}
#: Short schedules keep the fixtures small; the records are otherwise the real layout.
SSS_SCHEDULES = {"01": (1, (777,), 0.5), "12": (6, (777, 888, 999), 0.9), "90": (15, (777,), 1.0)}
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


def _edit(root, index, change):
    path = root / f"{index:06d}.pickle.pbz2"
    data = pickle_load(str(path))
    change(data)
    pickle_save(data, str(path)[: -len(".pbz2")])


def _as_in_the_real_archive(data):
    """The real 200-epoch records keep cifar100's x-valid and x-test at the last epoch only
    (ori-test, and every evaluation time, at every epoch); cifar10's seeds may differ from
    cifar10-valid's."""
    for dataset in ("cifar100", "ImageNet16-120"):
        for seed in (777, 888, 999):
            run = data["200"]["all_results"][(dataset, seed)]
            last = run["epochs"] - 1
            for key in ("eval_acc1es", "eval_losses"):
                run[key] = {k: v for k, v in run[key].items() if k.startswith("ori-test") or k.endswith(f"@{last}")}
    data["12"]["dataset_seed"]["cifar10"] = [777, 888]
    data["12"]["all_results"].pop(("cifar10", 999))


@pytest.fixture(scope="module")
def tss_archive(tmp_path_factory):
    root = write_nats_tss(tmp_path_factory.mktemp("tss") / "NATS-tss-v1_0-3ffb9-simple", TABLE, indices=INDICES,
                          epochs=20, less_epochs=6)
    _edit(root, 11, _as_in_the_real_archive)
    return root


@pytest.fixture(scope="module")
def sss_archive(tmp_path_factory):
    return write_nats_sss(tmp_path_factory.mktemp("sss") / "NATS-sss-v1_0-50262-simple", SSS_TABLE,
                          indices=SSS_INDICES, schedules=SSS_SCHEDULES)


def _new_store(space):
    """An empty in-memory store (the canonical forms of ``space`` are computed once per process)."""
    return zcdb.open(":memory:")


def _pair(root, space, importer, **import_options):
    """(nats_bench on the archive, the shim on a store holding it)."""
    official = nats_bench.create(str(root), space, fast_mode=True, verbose=False)
    store = _new_store("nb201" if space == "tss" else "nats-sss")
    importer(store, root, **import_options)
    return official, compat.create(store, space, fast_mode=True, verbose=False)


@pytest.fixture(scope="module")
def tss(tss_archive):
    return _pair(tss_archive, "tss", nats_tss.import_nats_tss)


@pytest.fixture(scope="module")
def sss(sss_archive):
    return _pair(sss_archive, "sss", nats_sss.import_nats_sss)


# --------------------------------------------------------------------------- scripts for the official API
def _call(f, *args, **kwargs):
    """What a call answers; ValueError (the official API's refusal) as a transcript entry."""
    try:
        return f(*args, **kwargs)
    except ValueError:
        return "ValueError"


def readme_tour(api, index, hps):
    """The NATS-Bench README's snippets (on an index the archive holds)."""
    out = [len(api), api[index], api.arch(index), api.search_space_name, api.full_train_epochs]
    out.append(api.get_more_info(index, "cifar10"))                 # a random trial, hp 12
    out.append(api.get_cost_info(index, "cifar10"))
    out.append(api.simulate_train_eval(index, dataset="cifar10", hp="12"))
    api.clear_params(index)
    out.append(api.get_net_config(index, "cifar10"))
    for hp in hps:
        out.append(api.get_more_info(index, "cifar100", hp=hp, is_random=False))
    out.append(api.get_cost_info(index, "cifar100", hp=int(hps[-1])))  # hp as a number works too
    return out


def loop_over_indices(api, indices, hps, seeds=(111, 777, 888, 999)):
    """Every index, schedule, dataset: the mean, every seed, a random one, several epochs."""
    out = []
    for i in indices:
        arch = api[i]
        out += [arch, api.query_index_by_arch(arch), api.query_index_by_arch(i), api.query_index_by_arch(_Obj(arch))]
        for hp in hps:
            for dataset in DATASETS:
                out.append(api.get_cost_info(i, dataset, hp=hp))
                out.append(api.get_latency(i, dataset, hp=hp))
                out.append(api.get_net_config(i, dataset))
                for iepoch in (None, 0, 4, 10_000):
                    for is_random in (False, True, *seeds):
                        out.append(_call(api.get_more_info, i, dataset, iepoch=iepoch, hp=hp, is_random=is_random))
    out += [api.query_index_by_arch("not an architecture"), api.query_index_by_arch(_Obj("|x~0|")),
            _call(api.get_more_info, len(api), "cifar10")]
    return out


def random_search(api, candidates, dataset, hp, budget):
    """A random search under a simulated time budget, as NATS-Bench's examples write it."""
    api.reset_time()
    history = []
    while api.used_time < budget:
        arch = random.choice(candidates)
        accuracy, latency, time_cost, total = api.simulate_train_eval(arch, dataset, hp=hp)
        history.append({"arch": arch, "accuracy": accuracy, "latency": latency, "cost": time_cost, "total": total})
    best = max(history, key=lambda h: h["accuracy"])
    again = _call(api.simulate_train_eval, best["arch"], dataset, iepoch=3, hp=hp, account_time=False)
    return history, best["arch"], api.used_time, again


def best_architectures(api, hp, flop_cut, param_cut):
    """find_best over the loaded architectures (enforce_all=False: the archives are partial, and
    nats_bench in fast mode would otherwise load all of the space's files)."""
    out = []
    for dataset in ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120"):
        for setname in ("train", "valid", "test", "x-valid", "x-test", "ori-test"):
            for flop_max, param_max in ((None, None), (flop_cut, None), (None, param_cut), (0.0, None)):
                out.append(_call(api.find_best, dataset, setname, flop_max=flop_max, param_max=param_max, hp=hp,
                                 enforce_all=False))
    return out


class _Obj:
    """An architecture object with ``tostr()``, as xautodl's CellStructure."""

    def __init__(self, text):
        self.text = text

    def tostr(self):
        return self.text


# --------------------------------------------------------------------------- comparing transcripts
def _plain(x):
    if isinstance(x, tuple) and len(x) == 4 and all(isinstance(v, (float, type(None))) for v in x[1:]):
        return {"accuracy": x[0], "latency": x[1], "cost": x[2], "total": x[3]}  # simulate_train_eval
    if isinstance(x, dict):
        return {k: ("<comment>" if k == "comment" else _plain(v)) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def assert_same(official, shim, path="", in_latency=False):
    official, shim = _plain(official), _plain(shim)
    if isinstance(official, dict):
        assert isinstance(shim, dict) and official.keys() == shim.keys(), \
            f"{path}: keys {sorted(official)} vs {sorted(shim) if isinstance(shim, dict) else shim}"
        for k in official:
            assert_same(official[k], shim[k], f"{path}.{k}", in_latency or "latency" in str(k))
    elif isinstance(official, list):
        assert isinstance(shim, list) and len(official) == len(shim), f"{path}: {official} vs {shim}"
        for k, (a, b) in enumerate(zip(official, shim)):
            assert_same(a, b, f"{path}[{k}]", in_latency)
    elif isinstance(official, float) and in_latency:  # 1 ulp: ms / 1000
        assert isinstance(shim, float) and math.isclose(official, shim, rel_tol=2.5e-16), \
            f"{path}: {official} vs {shim}"
    elif isinstance(official, float):  # nats_bench answers some values as numpy floats
        assert isinstance(shim, float) and official == shim, f"{path}: {official!r} vs {shim!r}"
    else:
        assert type(official) is type(shim) and official == shim, f"{path}: {official!r} vs {shim!r}"


def run_both(official, shim, script, *args, seed=0):
    random.seed(seed)
    want = script(official, *args)
    random.seed(seed)
    got = script(shim, *args)
    assert_same(want, got)
    return got


# --------------------------------------------------------------------------- the fixtures
def test_topology_scripts_answer_as_nats_bench(tss):
    official, shim = tss
    run_both(official, shim, readme_tour, 3, ("12", "200"))
    got = run_both(official, shim, loop_over_indices, INDICES, ("12", "200"))
    answers = [x for x in got if isinstance(x, dict) and "train-loss" in x]
    # archs x hps x datasets x epochs (None, 0, 4) x (mean, random, 777, 888, 999), but 11's cifar10 hp 12 has no 999
    assert len(answers) == 5 * 2 * 4 * 3 * 5 - 3
    assert sum("valtest-accuracy" in x and "valid-accuracy" not in x for x in answers) == 2 * 2 * 5  # 11, 200, not last
    history, *_ = run_both(official, shim, random_search, INDICES, "cifar100", "200", 3000.0, seed=1)
    assert len(history) > 5
    run_both(official, shim, random_search, INDICES, "cifar10", "12", 500.0, seed=2)
    # 11's 200-epoch cifar100 keeps x-valid at the last epoch only: earlier, valtest and the last epoch's time
    run_both(official, shim, lambda api: [api.simulate_train_eval(11, dataset, iepoch=e, hp="200")
                                          for dataset in ("cifar100", "ImageNet16-120") for e in (0, 7, None)])
    flops = sorted(official.get_cost_info(i, "cifar10", hp="200")["flops"] for i in INDICES)
    params = sorted(official.get_cost_info(i, "cifar100", hp="200")["params"] for i in INDICES)
    for hp in ("12", "200"):
        run_both(official, shim, best_architectures, hp, flops[2], params[1])
    assert shim.find_best("cifar10", "test", hp="200") == official.find_best("cifar10", "test", hp="200",
                                                                             enforce_all=False) != (-1, None)
    assert shim.avaliable_hps == ["12", "200"] and sorted(official.avaliable_hps) == ["12", "200"]


def test_size_scripts_answer_as_nats_bench(sss):
    official, shim = sss
    run_both(official, shim, readme_tour, 284, ("01", "12", "90"))
    run_both(official, shim, loop_over_indices, SSS_INDICES, ("01", "12", "90"))
    run_both(official, shim, random_search, SSS_INDICES, "ImageNet16-120", "90", 2000.0, seed=3)
    for hp in ("01", "12", "90"):
        run_both(official, shim, best_architectures, hp, 1.0, 0.1)
    assert (shim.search_space_name, shim.full_train_epochs, shim.is_size, len(shim)) == ("size", 90, True, 32768)
    assert shim.get_net_config(9, "cifar100") == official.get_net_config(9, "cifar100")
    assert shim.get_net_config(9, "cifar100")["genotype"] == compat.SIZE_SPACE_CELL


def test_the_schedules_are_the_importers_protocols():
    for space, fmt in (("tss", nats_tss.FORMAT), ("sss", nats_sss.FORMAT)):
        spec = compat._SPACES[compat._SPACE_NAMES[space]]
        assert {hp: f"{hp}ep" for hp in spec.hps} == fmt.schedules and spec.space == fmt.space


def test_final_only_store_answers_the_last_epoch_and_names_the_rest(tss_archive):
    official, shim = _pair(tss_archive, "tss", nats_tss.import_nats_tss, final_only=True)
    for i in INDICES:
        for dataset in DATASETS:
            assert_same(official.get_cost_info(i, dataset, hp="200"), shim.get_cost_info(i, dataset, hp="200"))
            for is_random in (False, 777):
                assert_same(official.get_more_info(i, dataset, hp="200", is_random=is_random),
                            shim.get_more_info(i, dataset, hp="200", is_random=is_random))
    run_both(official, shim, lambda api: [api.simulate_train_eval(i, "cifar10", hp="12") for i in INDICES])
    flops = official.get_cost_info(3, "cifar100", hp="200")["flops"]
    run_both(official, shim, best_architectures, "200", flops, 1.0)
    with pytest.raises(compat.MissingData, match=r"nb201/cifar10/200ep holds results after epoch\(s\) 20 only, "
                                                 r"not after 4 \(iepoch=3\): a --final-only import") as err:
        shim.get_more_info(0, "cifar10", iepoch=3, hp="200")
    assert "zcdb --db :memory: import nats-tss NATS-tss-v1_0-3ffb9-simple" in str(err.value)


def test_a_store_without_the_newer_metrics_names_them(tss, tmp_path):
    """A store imported before zcdb kept evaluation times and valtest: what it has is answered, the
    rest raises MissingData when read, naming the re-import."""
    official, current = tss
    db = tmp_path / "old.db"
    copy = sqlite3.connect(db)
    current.store.conn.backup(copy)
    newer = "SELECT id FROM metrics WHERE name IN ('val_time', 'test_time', 'valtest_acc', 'valtest_loss', " \
            "'valtest_time')"
    copy.execute(f"DELETE FROM evaluations WHERE metric_id IN ({newer})")
    copy.execute(f"DELETE FROM series WHERE metric_id IN ({newer})")
    copy.commit()
    copy.close()
    with compat.create(db, "tss") as shim:
        want = official.get_more_info(3, "cifar100", hp="12", is_random=False)
        info = shim.get_more_info(3, "cifar100", hp="12", is_random=False)
        assert set(info) | set(info.missing) == set(want) and set(info.missing) == {
            "valid-per-time", "valid-all-time", "test-per-time", "test-all-time", "valtest-loss", "valtest-accuracy",
            "valtest-per-time", "valtest-all-time"}
        assert {k: v for k, v in want.items() if k in info} == dict(info)
        with pytest.raises(compat.MissingData, match=r"valid-all-time: .* holds no val_time for nb201/cifar100/12ep: "
                                                     r"stores imported before zcdb kept evaluation times") as err:
            info["valid-all-time"]
        assert "\n" not in str(err.value) and "import nats-tss NATS-tss-v1_0-3ffb9-simple" in str(err.value)
        with pytest.raises(compat.MissingData, match="holds no val_time"):
            shim.simulate_train_eval(3, "cifar100", hp="12")
        costs = shim.get_cost_info(3, "cifar100", hp="12")
        assert costs["flops"] == official.get_cost_info(3, "cifar100", hp="12")["flops"]
        with pytest.raises(compat.MissingData, match="holds no valtest_time"):
            costs["T-ori-test@total"]
        assert info.get("valid-all-time") is None and "train-all-time" in info


def test_a_table_of_final_accuracies_answers_what_it_holds():
    store = _new_store("nb201")
    with store.importing("final.csv", "test") as batch:
        batch.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, [5, 9], [93.5, 91.0])
    shim = compat.create(store, "tss")
    assert shim.avaliable_hps == ["200"]
    info = shim.get_more_info(5, "cifar10", hp="200", is_random=False)
    assert info["test-accuracy"] == 93.5 and "comment" in info
    with pytest.raises(compat.MissingData, match="train-loss: .* holds no train_loss for nb201/cifar10/200ep: import"):
        info["train-loss"]
    with pytest.raises(compat.MissingData, match="holds means over seeds only"):
        shim.get_more_info(5, "cifar10", hp="200")
    with pytest.raises(compat.MissingData, match="architecture 6 has no rows in nb201/cifar10/200ep"):
        shim.get_more_info(6, "cifar10", hp="200")
    with pytest.raises(compat.MissingData, match="no nb201/cifar10-valid rows under protocol 200ep"):
        shim.simulate_train_eval(5, "cifar10", hp="200")
    with pytest.raises(compat.MissingData, match="no nb201/cifar10 rows under protocol 12ep"):
        shim.get_more_info(5, "cifar10")
    assert shim.find_best("cifar10", "test", hp="200") == (5, 93.5)
    with pytest.raises(compat.MissingData, match="holds no flops"):
        shim.find_best("cifar10", "test", flop_max=100, hp="200")


def test_what_is_not_offered_says_so(tss):
    official, shim = tss
    with pytest.raises(compat.MissingData, match="zcdb stores no trained weights"):
        shim.get_net_param(3, "cifar10", None)
    with pytest.raises(compat.Unsupported, match="does not offer query_meta_info_by_index: it returns nats_bench"):
        shim.query_meta_info_by_index(3, "12")
    assert not hasattr(shim, "show") and not hasattr(shim, "no_such_method")
    for call, match in ((lambda: shim.get_more_info(3, "cifar10", hp="13"), "hp '13' is not a schedule"),
                        (lambda: shim.get_more_info(3, "cifar-10"), "invalid dataset 'cifar-10'"),
                        (lambda: shim.get_more_info(3, "cifar10", is_random=None), "invalid is_random None"),
                        (lambda: shim.get_more_info("|x~0|", "cifar10"), "is not an architecture"),
                        (lambda: shim.simulate_train_eval(3, "cifar10-valid"), "use cifar10, cifar100"),
                        (lambda: shim.arch(-1), "invalid index -1")):
        with pytest.raises(compat.InvalidQuery, match=match) as err:
            call()
        assert isinstance(err.value, ValueError) and isinstance(err.value, zcdb.ZcdbError)
    with pytest.raises(compat.MissingData, match="architecture 7 has no rows in nb201/cifar10/12ep"):
        shim.get_cost_info(7, "cifar10")
    assert shim[-1] == official[-1] and shim[1:3] == official[1:3]


def test_create_names_the_import(tmp_path, tss_archive):
    with pytest.raises(compat.MissingData, match=r"no zcdb store at .*absent\.db: import NATS-Bench's archive first"):
        compat.create(tmp_path / "absent.db", "tss")
    with pytest.raises(compat.MissingData, match=r"is a directory \(a NATS-Bench archive\?\), not a zcdb store: "
                                                 r"import it first \(`zcdb --db zcdb.db import nats-tss "):
        compat.create(tss_archive, "tss")
    with pytest.raises(compat.MissingData, match="holds no nats-sss benchmark under NATS-Bench's schedules"):
        compat.create(zcdb.open(":memory:"), "sss")
    with pytest.raises(compat.InvalidQuery, match="invalid search space 'nb201'"):
        compat.create(":memory:", "nb201")


# --------------------------------------------------------------------------- the real archives' sample
REAL_INDICES = [0, 11, 284]


@pytest.mark.shared
@pytest.mark.parametrize("space,importer,folder,hps", [
    ("tss", nats_tss.import_nats_tss, "NATS-tss-v1_0-3ffb9-simple", ("12", "200")),
    ("sss", nats_sss.import_nats_sss, "NATS-sss-v1_0-50262-simple", ("01", "12", "90")),
])
def test_real_archives_answer_as_nats_bench(space, importer, folder, hps):
    official, shim = _pair(require_shared("nats-bench", folder), space, importer)
    run_both(official, shim, readme_tour, 11, hps)
    run_both(official, shim, loop_over_indices, REAL_INDICES, hps)
    for k, (dataset, hp) in enumerate([("cifar10", hps[0]), ("cifar100", hps[-1]), ("ImageNet16-120", "12")]):
        run_both(official, shim, random_search, REAL_INDICES, dataset, hp, 2000.0, seed=k)
    for hp in hps:
        run_both(official, shim, best_architectures, hp, 50.0, 0.5)
