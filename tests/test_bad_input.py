"""Odd input gives one line and exit status 2, never a traceback (issue 11, item 7).

Unicode digits that ``str.isdigit`` accepts and ``int`` does not, integers too large for a
float, JSON nested past Python's recursion limit, a damaged shipped table, output paths
that are folders or lie under a file, and ops tuples of anything but integers.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zcdb.errors import UnknownArch, ZcdbError
from zcdb.spaces import nb201

from .conftest import dump, run_cli

HUGE = 10**400            # a JSON or pickle integer no float holds
DIGITS_401 = int("7" * 401)


def _fails_cleanly(result, match=None):
    """Exit status 2, one line on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    if match:
        assert match in lines[0], lines[0]
    return lines[0]


def _csv(path, rows, header="arch,acc"):
    path.write_text("\n".join([header] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


@pytest.fixture
def db(tmp_path):
    """A store holding cifar10 test_acc of ten architectures, and NASLib scores for them."""
    d = tmp_path / "s.db"
    p = _csv(tmp_path / "t.csv", [(nb201.string_of(i), 50 + i) for i in range(10)])
    r = run_cli(d, "import", "csv", str(p), "--space", "nb201", "--arch-column", "arch",
                "--column", "acc=cifar10:test_acc", "--epoch", "200")
    assert r.exit_code == 0, r.output
    z = tmp_path / "zc.json"
    z.write_text(json.dumps({"cifar10": {str(nb201.to_naslib(i)): {"synflow": {"score": float(i), "time": 0.1}}
                                         for i in range(10)}}))
    assert run_cli(d, "import", "naslib-zc", str(z)).exit_code == 0
    return d


def _dump(path):
    import zcdb

    with zcdb.open(path) as s:
        return dump(s)


# ---------------------------------------------------------------- digits that int() refuses
@pytest.mark.parametrize("cell", ["²", "١٢", "1" * 5000], ids=["superscript", "arabic-indic", "5000 digits"])
def test_csv_index_cell_of_odd_digits(db, tmp_path, cell):
    before = _dump(db)
    p = _csv(tmp_path / "odd.csv", [(cell, 50.0)], header="index,acc")
    _fails_cleanly(run_cli(db, "import", "csv", str(p), "--space", "nb201", "--arch-column", "index",
                           "--column", "acc=cifar10:val_acc", "--epoch", "200"), "odd.csv:2")
    assert _dump(db) == before


@pytest.mark.parametrize("arch", ["²", "1" * 5000], ids=["superscript", "5000 digits"])
def test_query_and_cost_of_odd_digits(db, arch):
    _fails_cleanly(run_cli(db, "query", "--dataset", "cifar10", "--metric", "test_acc", arch))
    _fails_cleanly(run_cli(db, "cost", "--dataset", "cifar10", arch))


def test_archs_file_and_tabulate_archs_of_odd_digits(db, tmp_path):
    f = tmp_path / "archs.txt"
    f.write_text("3\n²\n")
    _fails_cleanly(run_cli(db, "proxies", "compute", "--dataset", "digits", "--archs-file", str(f),
                           "--proxies", "params", "--quiet"), "archs.txt:2")
    _fails_cleanly(run_cli(db, "tabulate", "--dataset", "digits", "--protocol", "digits-v1", "--archs", "²",
                           "--quiet"))
    _fails_cleanly(run_cli(db, "tabulate", "--dataset", "digits", "--protocol", "digits-v1", "--archs", str(f),
                           "--quiet"), "archs.txt:2")


# ---------------------------------------------------------------- numbers no float holds
@pytest.mark.parametrize("value", [DIGITS_401, HUGE, -HUGE], ids=["401 digits", "10**400", "-10**400"])
@pytest.mark.parametrize("where", ["score", "time", "flat", "val_accuracy"])
def test_naslib_zc_huge_integer(db, tmp_path, value, where):
    key = str(nb201.to_naslib(3))
    rec = {"score": {"synflow": {"score": value, "time": 0.1}}, "time": {"synflow": {"score": 1.0, "time": value}},
           "flat": {"synflow": value}, "val_accuracy": {"val_accuracy": value}}[where]
    data = {key: rec} if where == "flat" else {"cifar10": {key: rec}}
    p = tmp_path / "zc_huge.json"
    p.write_text(json.dumps(data))
    before = _dump(db)
    line = _fails_cleanly(run_cli(db, "import", "naslib-zc", str(p)), "zc_huge.json")
    assert key in line
    assert _dump(db) == before


def test_naslib_zc_deeply_nested_json(db, tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    _fails_cleanly(run_cli(db, "import", "naslib-zc", str(p)), "deep.json")
    p.write_text('{"cifar10": {"(0, 0, 0, 0, 0, 0)": {"synflow": ' + "[" * 100_000 + "]" * 100_000 + "}}}")
    _fails_cleanly(run_cli(db, "import", "naslib-zc", str(p)), "deep.json")


def _small_pth(path):
    import torch

    from zcdb.tabular.fixtures import write_nb201_pth

    write_nb201_pth(path, {"cifar10": {"test_acc": [90.0, 80.0]}}, indices=[0, 1], epochs=3, less_epochs=2)
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("edit", ["acc", "loss", "params", "latency", "curve"])
@pytest.mark.parametrize("value", [DIGITS_401, HUGE], ids=["401 digits", "10**400"])
def test_nb201_pth_and_nats_tss_huge_integer(db, tmp_path, edit, value):
    import torch
    from nats_bench import pickle_save

    raw = _small_pth(tmp_path / "small.pth")
    run = raw["arch2infos"][1]["full"]["all_results"][("cifar10", 777)]
    if edit == "acc":
        run["eval_acc1es"]["ori-test@2"] = value
    elif edit == "loss":
        run["eval_losses"]["ori-test@1"] = value
    elif edit == "params":
        run["params"] = value
    elif edit == "latency":
        run["latency"] = [value]
    else:
        run["train_acc1es"] = {2: value}  # a sparse curve
    torch.save(raw, tmp_path / "huge.pth")
    before = _dump(db)
    _fails_cleanly(run_cli(db, "import", "nb201-pth", str(tmp_path / "huge.pth")), "architecture 1")
    root = tmp_path / "nats"
    root.mkdir()
    pickle_save({"meta_archs": list(nb201.all_strings()), "total_archs": nb201.NUM_ARCHS, "arch2infos": None,
                 "evaluated_indexes": set()}, str(root / "meta.pickle"))
    for index, entry in raw["arch2infos"].items():
        pickle_save({"12": entry["less"], "200": entry["full"]}, str(root / f"{index:06d}.pickle"))
    _fails_cleanly(run_cli(db, "import", "nats-tss", str(root)), "architecture 1")
    assert _dump(db) == before


@pytest.mark.parametrize("edit", ["acc", "loss", "params", "latency", "curve", "seed"])
@pytest.mark.parametrize("value", [DIGITS_401, HUGE], ids=["401 digits", "10**400"])
def test_nats_sss_huge_integer(db, tmp_path, edit, value):
    from nats_bench import pickle_load, pickle_save

    from zcdb.tabular.fixtures import write_nats_sss

    root = write_nats_sss(tmp_path / "sss", {"cifar100": {"test_acc": [40.0, 41.0]}}, indices=[0, 1],
                          schedules={"01": (1, (777,), 0.5), "12": (2, (777, 888), 0.9), "90": (3, (777,), 1.0)})
    path = root / "000001.pickle.pbz2"
    data = pickle_load(str(path))
    state = data["12"]
    run = state["all_results"][("cifar100", 888)]
    if edit == "acc":
        run["eval_acc1es"]["x-test@1"] = value
    elif edit == "loss":
        run["eval_losses"]["x-valid@0"] = value
    elif edit == "params":
        run["params"] = value
    elif edit == "latency":
        run["latency"] = [value]
    elif edit == "curve":
        run["train_acc1es"] = {1: value}  # a sparse curve
    else:
        state["dataset_seed"]["cifar100"] = [777, value]
        state["all_results"][("cifar100", value)] = state["all_results"].pop(("cifar100", 888))
    pickle_save(data, str(path)[: -len(".pbz2")])
    before = _dump(db)
    _fails_cleanly(run_cli(db, "import", "nats-sss", str(root)), "architecture 1")
    assert _dump(db) == before


@pytest.mark.parametrize("value", [DIGITS_401, HUGE], ids=["401 digits", "10**400"])
@pytest.mark.parametrize("as_list", [True, False])
def test_hw_nas_bench_huge_integer(db, tmp_path, value, as_list):
    from .test_import_hw import hw_data

    data = hw_data()
    col = data["nasbench201"]["cifar100"]["fpga_energy"]
    col = col.tolist() if as_list else col.astype(object)
    col[42] = value
    data["nasbench201"]["cifar100"]["fpga_energy"] = col
    p = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    with open(p, "wb") as fh:
        pickle.dump(data, fh, protocol=3)
    before = _dump(db)
    _fails_cleanly(run_cli(db, "import", "hw-nas-bench", str(p)), "architecture 42")
    assert _dump(db) == before


# ---------------------------------------------------------------- a damaged shipped table
def _damaged(kind, tmp_path):
    meta = dict(space="nb201", dataset="digits", protocol="p", protocol_description=None,
                metrics={"test_acc": dict(epochs=[1], seeds=[0])})
    arrays = {"arch_index": np.arange(3, dtype=np.int16), "test_acc": np.full((3, 1, 1), 50.0, dtype=np.float32)}
    if kind == "missing array":
        del arrays["test_acc"]
    elif kind == "wrong shape":
        arrays["test_acc"] = np.full((3,), 50.0, dtype=np.float32)
    elif kind == "meta not an object":
        meta = [1, 2]
    elif kind == "meta lacks keys":
        meta = dict(space="nb201")
    elif kind == "deep meta":
        meta = None
    elif kind == "proxies without sets":
        meta = dict(kind="proxies", space="nb201", dataset="digits")
    text = "[" * 100_000 + "]" * 100_000 if kind == "deep meta" else json.dumps(meta)
    arrays["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "nb201-digits.npz", **arrays)
    if kind == "truncated":
        p = tmp_path / "nb201-digits.npz"
        p.write_bytes(p.read_bytes()[:100])


@pytest.mark.parametrize("kind", ["missing array", "wrong shape", "meta not an object", "meta lacks keys",
                                  "deep meta", "proxies without sets", "truncated"])
def test_damaged_builtin(db, tmp_path, monkeypatch, kind):
    from zcdb.tabular import builtin

    data = tmp_path / "data"
    data.mkdir()
    _damaged(kind, data)
    monkeypatch.setattr(builtin, "data_dir", lambda: data)
    before = _dump(db)
    _fails_cleanly(run_cli(db, "import", "builtin", "nb201-digits"), "reinstall zcdb")
    assert _dump(db) == before


# ---------------------------------------------------------------- output paths
def test_proxies_export_to_a_folder(db, tmp_path):
    _fails_cleanly(run_cli(db, "proxies", "export", "--dataset", "cifar10", "--out", str(tmp_path)), "directory")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _fails_cleanly(run_cli(db, "proxies", "export", "--dataset", "cifar10", "--out", str(blocker / "x.csv")))


def test_surrogate_fit_under_a_file(db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _fails_cleanly(run_cli(db, "surrogate", "fit", "--dataset", "cifar10", "--metric", "test_acc", "--n-train", "5",
                           "--out", str(blocker / "x.zcs")), "file")
    assert blocker.read_text() == "x"


def test_proxies_eval_plot_paths(db, tmp_path):
    args = ("proxies", "eval", "--dataset", "cifar10", "--metric", "test_acc", "--plot")
    _fails_cleanly(run_cli(db, *args, str(tmp_path / "x.unknownext")), ".png")
    _fails_cleanly(run_cli(db, *args, str(tmp_path)), "directory")
    assert not (tmp_path.parent / (tmp_path.name + ".png")).exists()
    r = run_cli(db, *args, str(tmp_path / "out" / "eval.svg"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "eval.svg").stat().st_size > 0


# ---------------------------------------------------------------- the Python API
@pytest.mark.parametrize("ops", [
    (0, 0, 0, 0, 0, float("inf")), (0, 0, 0, 0, 0, float("nan")), [1.9] * 6, (1.0,) * 6, (True,) * 6,
    ("1",) * 6, "111111", b"\x01" * 6, (1, 1, 1, 1, 1, 10**400), (np.float64(1),) * 6, (np.bool_(True),) * 6,
    {1: 1, 2: 2, 3: 3, 4: 4, 0: 0, 5: 0}, None, 1.5, float("inf"), np.array([1.0] * 6), (1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1, 1, 1), ((1,),) * 6, True,
])
def test_index_of_takes_only_integer_ops(ops):
    with pytest.raises(UnknownArch):
        nb201.index_of(ops)
    with pytest.raises(UnknownArch):
        nb201.ops_of(ops)


@pytest.mark.parametrize("ops", [(1,) * 6, [1] * 6, np.array([1] * 6), np.array([1] * 6, dtype=np.int8),
                                 tuple(np.int64(1) for _ in range(6))])
def test_index_of_integer_ops(ops):
    assert nb201.index_of(ops) == 1835 == nb201.index_of(nb201.string_of(1835))


def test_from_naslib_takes_only_integers():
    for bad in ([1.9] * 6, (True,) * 6, ("1",) * 6, (0, 0, 0, 0, 0, float("inf"))):
        with pytest.raises(UnknownArch):
            nb201.from_naslib(bad)


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40) | st.binary(max_size=8)
    | st.integers(0, 4),
    lambda inner: st.lists(inner, max_size=7) | st.tuples(inner, inner, inner, inner, inner, inner),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_ANY)
def test_index_of_anything_is_an_index_or_unknown_arch(x):
    try:
        i = nb201.index_of(x)
    except UnknownArch:
        return
    assert type(i) is int and 0 <= i < nb201.NUM_ARCHS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arch_text_is_an_index_or_unknown_arch(text):
    from zcdb.spaces import parse_arch_text

    try:
        i = nb201.index_of(parse_arch_text(text))
    except UnknownArch:
        return
    assert 0 <= i < nb201.NUM_ARCHS


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s and '"' not in s and "," not in s))
def test_csv_cells_of_any_text_never_give_a_traceback(tmp_path_factory, text):
    import zcdb
    from zcdb.tabular.csv_table import import_csv

    p = tmp_path_factory.mktemp("fuzz") / "t.csv"
    p.write_text(f"arch,acc\n{text},{text}\n{nb201.string_of(1)},{text}\n", encoding="utf-8")
    with zcdb.open(":memory:") as s:
        try:
            import_csv(s, p, "nb201", "arch", {"acc": ("cifar10", "test_acc")}, epoch=200)
        except ZcdbError:
            pass


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=4) | st.tuples(kids, kids)
                    | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=20))
def test_json_output_is_strict_json_with_non_finite_as_null(obj):
    """What --json, reports and surrogate files write parses as strict JSON; every finite number
    comes back equal and every NaN or infinity as null (the oracle: Python's own non-strict JSON,
    its NaN/Infinity tokens read back as null)."""
    import json as _json

    from zcdb.jsonio import dumps

    def strict(c):
        raise ValueError(f"non-strict JSON constant {c}")

    expected = _json.loads(_json.dumps(obj), parse_constant=lambda c: None)
    assert _json.loads(dumps(obj), parse_constant=strict) == expected


def test_json_output_writes_numpy_scalars_as_numbers():
    from zcdb.jsonio import dumps

    assert dumps({"a": np.float64("nan"), "b": np.int64(3), "c": (np.float32(0.5), -np.inf)}) == \
        '{"a": null, "b": 3, "c": [0.5, null]}'
