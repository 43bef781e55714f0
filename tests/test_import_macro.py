"""`import_nas_bench_macro`: the released nas-bench-macro_cifar10.json and format-true fixtures.

The fixture is the file's format for all 6,561 codes, generated here from the space:
synthetic accuracies (float32 values, as the authors' file holds), their numpy mean and
population std, and params/FLOPs from the exact formula (which equals the real file's).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

import zcdb
from zcdb.errors import CorruptFile, ImportConflict, UnknownArch
from zcdb.spaces import get_space
from zcdb.spaces.macro_network import cost_table
from zcdb.store import MEAN_SEED
from zcdb.tabular import importers
from zcdb.tabular.nas_bench_macro import import_nas_bench_macro

from .conftest import dump, require_shared, run_cli
from .test_import_errors import assert_clean_error

SPACE = get_space("macro")
N = 6561
ROWS = N * 6  # test_acc seeds 0, 1, 2 and mean; params; flops


def macro_records(seed: int = 0) -> dict:
    """All 6,561 codes in the released format, in a shuffled order (the real file is unsorted)."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(40.0, 95.0, (N, 3)).astype(np.float32).astype(np.float64)
    params, flops = cost_table("cifar10")
    strings = SPACE.all_strings()
    return {strings[i]: {"test_acc": acc[i].tolist(), "mean_acc": float(np.mean(acc[i])),
                         "std": float(np.std(acc[i])), "params": int(params[i]), "flops": int(flops[i])}
            for i in rng.permutation(N).tolist()}


def last_code(records: dict) -> str:
    return next(reversed(records))


def write(path, obj) -> str:
    path.write_bytes(obj if isinstance(obj, bytes) else obj.encode() if isinstance(obj, str) else
                     json.dumps(obj).encode())
    return str(path)


RECORDS = macro_records()


@pytest.fixture(scope="module")
def records():
    return RECORDS


@pytest.fixture(scope="module")
def good(records, tmp_path_factory):
    return write(tmp_path_factory.mktemp("macro") / "nas-bench-macro_cifar10.json", records)


def edited(records: dict, code: str, **fields) -> dict:
    out = dict(records)
    out[code] = {**records[code], **fields}
    return out


# ---------------------------------------------------------------- fixture: rows
def test_rows_and_values(store, records, good):
    batch = import_nas_bench_macro(store, good)
    assert batch.rows == ROWS and batch.changed == ROWS and batch.missing == 0
    bench = store.benchmark("macro", "cifar10")
    assert bench.protocol == "50ep" and bench.metrics() == ["flops", "params", "test_acc"]
    assert bench.epochs("test_acc") == [50] and bench.seeds("test_acc") == [MEAN_SEED, 0, 1, 2]
    assert bench.epochs("params") == [0] and bench.seeds("params") == [MEAN_SEED]
    for code in ("00000000", "02012100", "22222222", last_code(records)):
        rec = records[code]
        for seed in (0, 1, 2):
            assert bench.query(code, "test_acc", seed=seed) == rec["test_acc"][seed]
        assert bench.query(code, "test_acc") == rec["mean_acc"]
        assert bench.query(code, "params") == rec["params"] / 1e6 == SPACE.cost(code)[0]
        assert bench.query(code, "flops") == rec["flops"] / 1e6 == SPACE.cost(code)[1]
    (prov,) = store.provenance()
    assert prov["importer"] == "nas-bench-macro" and prov["rows"] == ROWS and prov["options"] == {}
    assert importers()["nas-bench-macro"] is import_nas_bench_macro


def test_reimport_changes_nothing(file_store, good):
    import_nas_bench_macro(file_store, good)
    before = dump(file_store)
    again = import_nas_bench_macro(file_store, good)
    assert again.changed == 0 and again.rows == ROWS
    assert dump(file_store) == before  # provenance included


def test_bad_record_at_the_end_leaves_the_store_as_it_was(file_store, records, good, tmp_path):
    import_nas_bench_macro(file_store, good)
    before = dump(file_store)
    code = last_code(records)
    p = write(tmp_path / "bad.json", edited(records, code, test_acc=[50.0, 60.0, 150.0], mean_acc=260.0 / 3))
    with pytest.raises(CorruptFile, match=f"{code}: cifar10:test_acc .*seed 2.* is 150.0, outside 0..100"):
        import_nas_bench_macro(file_store, p)
    assert dump(file_store) == before
    empty = zcdb.open(":memory:")
    with pytest.raises(CorruptFile):
        import_nas_bench_macro(empty, p)
    assert all(not rows for _, rows in dump(empty))


def test_changed_value_needs_replace(file_store, records, good, tmp_path):
    import_nas_bench_macro(file_store, good)
    before = dump(file_store)
    code = last_code(records)
    accs = [55.5, *records[code]["test_acc"][1:]]
    p = write(tmp_path / "changed.json", edited(records, code, test_acc=accs, mean_acc=float(np.mean(accs))))
    with pytest.raises(ImportConflict, match="would change 2 values.*pass --replace"):
        import_nas_bench_macro(file_store, p)
    assert dump(file_store) == before
    batch = import_nas_bench_macro(file_store, p, replace=True)
    assert batch.changed == 2
    bench = file_store.benchmark("macro", "cifar10")
    assert bench.query(code, "test_acc", seed=0) == 55.5 and bench.query(code, "test_acc") == np.mean(accs)


@pytest.mark.parametrize("value", [math.nan, math.inf, 10**400], ids=["NaN", "Infinity", "10**400"])
def test_non_finite_stored_as_missing_only_when_allowed(store, records, tmp_path, value):
    code = "02012100"
    p = tmp_path / "nonfinite.json"
    rec = records[code]
    p.write_text(json.dumps(edited(records, code, test_acc=[rec["test_acc"][0], value, rec["test_acc"][2]],
                                   mean_acc=value, params=value)))
    with pytest.raises(CorruptFile, match=f"{code}: .*pass --allow-missing"):
        import_nas_bench_macro(store, p)
    assert all(not rows for _, rows in dump(store))
    batch = import_nas_bench_macro(store, p, allow_missing=True)
    assert batch.missing == 3 and batch.rows == ROWS
    bench = store.benchmark("macro", "cifar10")
    assert math.isnan(bench.query(code, "test_acc", seed=1)) and math.isnan(bench.query(code, "test_acc"))
    assert math.isnan(bench.query(code, "params")) and bench.query(code, "test_acc", seed=0) == rec["test_acc"][0]
    assert store.provenance()[0]["options"] == {"allow_missing": True}


def test_missing_codes_are_counted(store, records, tmp_path):
    short = dict(list(records.items())[:-10])
    first = min(set(records) - set(short))
    with pytest.raises(CorruptFile, match=f"lacks 10 of the 6,561 codes \\(first {first}\\)"):
        import_nas_bench_macro(store, write(tmp_path / "short.json", short))


def test_foreign_costs_name_the_code(store, records, tmp_path):
    code = "11111221"
    p = write(tmp_path / "millions.json", edited(records, code, params=records[code]["params"] / 1e6))
    with pytest.raises(CorruptFile, match=f"{code}: params is 2.181386, but the network of {code} has 2181386"):
        import_nas_bench_macro(store, p)


def test_bad_key_is_unknown_arch(store, records, tmp_path):
    bad = dict(records)
    bad["0201210"] = bad.pop("02012100")
    with pytest.raises(UnknownArch, match="key '0201210': malformed macro architecture"):
        import_nas_bench_macro(store, write(tmp_path / "key.json", bad))


# ---------------------------------------------------------------- fixture: every error through the CLI
def _text_with_duplicate(records: dict) -> str:
    return '{"00000000": ' + json.dumps(records["00000000"]) + ", " + json.dumps(records)[1:]


def _without(records: dict, field: str) -> dict:
    out = dict(records)
    out["02012100"] = {k: v for k, v in records["02012100"].items() if k != field}
    return out


def _renamed(records: dict, new: str) -> dict:
    out = dict(records)
    out[new] = out.pop("02012100")
    return out


def _cases(records: dict) -> dict:
    code = "02012100"
    rec = records[code]
    accs = rec["test_acc"]
    text = json.dumps(records)
    return {
        "truncated": text[: len(text) // 2],
        "cut in a number": text[:-3],
        "not JSON": "not json",
        "not UTF-8": b'{"\xff": 1}',
        "a list": [1, 2],
        "a number": 7,
        "null": None,
        "empty object": {},
        "deep nesting": "[" * 100_000 + "]" * 100_000,
        "deep inside a record": '{"00000000": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "missing codes": dict(list(records.items())[:-100]),
        "7-digit key": _renamed(records, "0201210"),
        "digit 3 in key": _renamed(records, "02012130"),
        "key with space": _renamed(records, " 02012100"),
        "key with superscript": _renamed(records, "0201210²"),
        "duplicate key": _text_with_duplicate(records),
        "duplicate field": text.replace('{"test_acc"', '{"std": 1.0, "std": 2.0, "test_acc"', 1),
        "record a list": edited_raw(records, code, [1, 2]),
        **{f"no {f}": _without(records, f) for f in ("test_acc", "mean_acc", "std", "params", "flops")},
        "two accuracies": edited(records, code, test_acc=accs[:2]),
        "four accuracies": edited(records, code, test_acc=[*accs, 50.0]),
        "test_acc a number": edited(records, code, test_acc=89.2),
        "accuracy a string": edited(records, code, test_acc=["89.47", *accs[1:]]),
        "accuracy a bool": edited(records, code, test_acc=[True, *accs[1:]]),
        "accuracy null": edited(records, code, test_acc=[None, *accs[1:]]),
        "accuracy 150": edited(records, code, test_acc=[150.0, 50.0, 40.0], mean_acc=80.0),
        "accuracy -5": edited(records, code, test_acc=[-5.0, 50.0, 45.0], mean_acc=30.0),
        "fraction mean": edited(records, code, mean_acc=rec["mean_acc"] / 100),
        "mean off": edited(records, code, mean_acc=rec["mean_acc"] + 1e-6),
        "mean a string": edited(records, code, mean_acc="89.2"),
        "accuracy NaN": text.replace(json.dumps(accs[1]), "NaN", 1),
        "accuracy Infinity": edited(records, code, test_acc=[math.inf, *accs[1:]], mean_acc=math.inf),
        "accuracy 10**400": edited(records, code, test_acc=[10**400, *accs[1:]]),
        "accuracy 1e400": text.replace(json.dumps(accs[0]), "1e400", 1),
        "std a string": edited(records, code, std="0.2"),
        "params 10**400": edited(records, code, params=10**400),
        "params off by one": edited(records, code, params=rec["params"] + 1),
        "params in millions": edited(records, code, params=rec["params"] / 1e6),
        "flops off by one": edited(records, code, flops=rec["flops"] - 1),
        "flops a string": edited(records, code, flops=str(rec["flops"])),
        "flops Infinity": edited(records, code, flops=math.inf),
        "bad record at the end": edited(records, last_code(records), test_acc=[101.0, 90.0, 92.0],
                                         mean_acc=float(np.mean([101.0, 90.0, 92.0]))),
        "changed value": edited(records, code, test_acc=[80.0, 80.0, 80.0], mean_acc=80.0),
    }


def edited_raw(records: dict, code: str, value) -> dict:
    out = dict(records)
    out[code] = value
    return out


CASES = _cases(RECORDS)


@pytest.fixture(scope="module")
def db(good, tmp_path_factory):
    """A store holding the fixture's import; every case below must leave it as it is."""
    d = tmp_path_factory.mktemp("db") / "s.db"
    r = run_cli(d, "import", "nas-bench-macro", good)
    assert r.exit_code == 0, r.output
    return d


def _snapshot(db):
    with zcdb.open(db) as s:
        return dump(s)


@pytest.mark.parametrize("case", CASES)
def test_cli_errors_are_one_line_naming_the_fix(db, tmp_path, case):
    p = write(tmp_path / "nas-bench-macro_cifar10.json", CASES[case])
    before = _snapshot(db)
    result = run_cli(db, "import", "nas-bench-macro", p)
    assert_clean_error(result, before, db)
    assert p in result.stderr
    if case in ("mean off", "params off by one", "flops off by one", "accuracy 150", "record a list", "no std"):
        assert "02012100" in result.stderr
    if case == "bad record at the end":
        assert f"{last_code(RECORDS)}: cifar10:test_acc (epoch 50, seed 0) is 101.0, outside 0..100" in result.stderr


def test_cli_missing_file_and_folder(db, tmp_path):
    before = _snapshot(db)
    for path in (tmp_path / "missing.json", tmp_path):
        assert_clean_error(run_cli(db, "import", "nas-bench-macro", str(path)), before, db)


def test_cli_allow_missing_reports_the_count(tmp_path, records):
    code = "02012100"
    p = write(tmp_path / "nan.json", edited(records, code, flops=math.inf))
    r = run_cli(tmp_path / "s.db", "import", "nas-bench-macro", p, "--allow-missing", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["missing"] == 1


# ---------------------------------------------------------------- the released file
@pytest.fixture(scope="module")
def released():
    path = require_shared("nas-bench-macro", "nas-bench-macro_cifar10.json")
    with open(path) as fh:
        return path, json.load(fh)


@pytest.fixture(scope="module")
def real_store(released):
    s = zcdb.open(":memory:")
    batch = import_nas_bench_macro(s, released[0])
    assert batch.rows == batch.changed == ROWS and batch.missing == 0
    yield s
    s.close()


@pytest.mark.shared
def test_real_file_rows_and_values(real_store, released):
    _, data = released
    assert len(data) == N
    info = real_store.info()
    (b,) = [b for b in info["benchmarks"] if b["space"] == "macro"]
    assert (b["dataset"], b["protocol"]) == ("cifar10", "50ep")
    assert b["metrics"]["test_acc"]["archs"] == N and b["metrics"]["test_acc"]["seeds"] == [MEAN_SEED, 0, 1, 2]
    assert b["metrics"]["params"]["archs"] == b["metrics"]["flops"]["archs"] == N
    assert b["answered_by_class_representative"] == 0  # every code is a row: no aliases
    bench = real_store.benchmark("macro", "cifar10")
    rng = np.random.default_rng(0)
    codes = ["02012100", "00000000", "22222222", *(SPACE.string_of(int(i)) for i in rng.choice(N, 20))]
    for code in codes:
        rec = data[code]
        assert [bench.query(code, "test_acc", seed=s) for s in (0, 1, 2)] == rec["test_acc"]
        assert bench.query(code, "test_acc") == rec["mean_acc"] == float(np.mean(rec["test_acc"]))
        assert bench.query(code, "params") == rec["params"] / 1e6 == SPACE.cost(code)[0]
        assert bench.query(code, "flops") == rec["flops"] / 1e6 == SPACE.cost(code)[1]
    assert bench.query("02012100", "test_acc") == pytest.approx(89.19666544596355, abs=0)
    mean = bench.values("test_acc")
    assert mean.min() == pytest.approx(45.3633, abs=1e-4) and mean.max() == pytest.approx(93.1267, abs=1e-4)


@pytest.mark.shared
def test_real_file_reimport_changes_nothing(released, tmp_path):
    with zcdb.open(tmp_path / "s.db") as s:
        import_nas_bench_macro(s, released[0])
        before, prov = dump(s), s.provenance()
        again = import_nas_bench_macro(s, released[0])
        assert again.changed == 0 and again.rows == ROWS
        assert dump(s) == before and s.provenance() == prov


@pytest.mark.shared
def test_real_file_seeds_agree(real_store):
    bench = real_store.benchmark("macro", "cifar10")
    s0, s1 = bench.values("test_acc", seed=0), bench.values("test_acc", seed=1)
    assert spearmanr(s0, s1)[0] == pytest.approx(0.9796, abs=1e-3)  # the data README's 0.98
    assert kendalltau(s0, s1)[0] == pytest.approx(0.8820, abs=1e-3)


@pytest.mark.shared
def test_real_file_best_architecture(real_store, released):
    bench = real_store.benchmark("macro", "cifar10")
    index, code, value = bench.best("test_acc")
    assert (index, code) == (6473, "22212202") and value == released[1][code]["mean_acc"]
    assert value == pytest.approx(93.1267, abs=1e-4)
    # its class-mate, the code the authors trained (canonical), carries the same record
    assert SPACE.canonical(code) == "22212220" and bench.query("22212220", "test_acc") == value


@pytest.mark.shared
def test_real_file_copies_each_class_record(released, real_store):
    """Why no aliases are needed: every code's record equals its class representative's."""
    _, data = released
    strings = SPACE.all_strings()
    rep = SPACE.representatives()
    assert all(data[strings[i]] == data[strings[rep[i]]] for i in range(N))
    distinct = {json.dumps(data[strings[r]], sort_keys=True) for r in np.unique(rep)}
    assert len(np.unique(rep)) == len(distinct) == 3969
    bench = real_store.benchmark("macro", "cifar10")
    for seed in (0, 1, 2, None):
        v = bench.values("test_acc", seed=seed)
        assert np.array_equal(v, v[rep])


@pytest.mark.shared
def test_real_file_through_the_cli(released, tmp_path):
    db = tmp_path / "s.db"
    r = run_cli(db, "import", "nas-bench-macro", str(released[0]))
    assert r.exit_code == 0 and f"imported {ROWS} rows" in r.output, r.output
    r = run_cli(db, "import", "nas-bench-macro", str(released[0]), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["changed"] == 0
    r = run_cli(db, "info")
    assert r.exit_code == 0 and "macro  cifar10  50ep      test_acc  max   %       50      -1,0,1,2  6561" in r.output, r.output
    r = run_cli(db, "query", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc", "02012100",
                "00000012", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["index"], x["arch"]) for x in rows] == [(1602, "02012100"), (5, "00000012")]
    assert rows[0]["value"] == released[1]["02012100"]["mean_acc"]
    r = run_cli(db, "query", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc", "--seed", "2",
                "02012100", "--json")
    assert json.loads(r.stdout)[0]["value"] == released[1]["02012100"]["test_acc"][2]
    r = run_cli(db, "top", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc", "-k", "2", "--json")
    assert r.exit_code == 0, r.output
    assert [x["arch"] for x in json.loads(r.stdout)] == ["22212202", "22212220"]
    r = run_cli(db, "top", "--space", "macro", "--dataset", "cifar10", "--metric", "params", "-k", "1")
    assert r.exit_code == 0 and "00000000" in r.output
    r = run_cli(db, "cost", "--space", "macro", "--dataset", "cifar10", "00000012", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["index"] == 5
