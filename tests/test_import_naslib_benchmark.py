"""`zcdb import naslib-zc` on NAS-Bench-Suite-Zero's per-proxy layout: zips and folders of
``PROXY/benchmark--SPACE--TASK--START.json`` lists (TransNAS-Bench-101's files)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zcdb.errors import CorruptFile, UnknownArch, UnknownDataset, UnknownSpace, ZcdbError
from zcdb.spaces import SPACES, get_space
from zcdb.tabular import naslib_zc
from zcdb.tabular.naslib_zc import import_naslib_zc

from .conftest import dump, require_shared, run_cli

MICRO, MACRO = get_space("tnb101-micro"), get_space("tnb101-macro")


def _micro_records(indices, proxy="zen", val=lambda i: 40.0 + i % 7, start=0):
    return [{"idx": str(start + k), "arch": str(MICRO.ops_of(i)), proxy: {"score": 10.0 + i, "time": 0.5 + k},
             **({"val_accuracy": val(i)} if val is not None else {})} for k, i in enumerate(indices)]


def _macro_records(indices, proxy="zen", val=lambda i: 0.5 + i / 10000):
    # the released files write the module codes without NASLib's zero padding
    out = []
    for k, i in enumerate(indices):
        codes = [c for c in get_space("tnb101-macro").ops_of(i) if c != 4]
        out.append({"idx": str(k), "arch": str(tuple(c + 1 for c in codes)), proxy: {"score": -float(i), "time": 1.0},
                    "val_accuracy": val(i)})
    return out


def _zip(path: Path, members: dict[str, object], raw: dict[str, bytes] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted({n.split("/")[0] + "/" for n in members}):
            zf.writestr(name, b"")
        for name, content in members.items():
            zf.writestr(name, json.dumps(content))
        for name, content in dict(raw).items():
            zf.writestr(name, content)
    return path


def _good(tmp_path: Path) -> Path:
    return _zip(tmp_path / "good.zip", {
        "zen/benchmark--transbench101_micro--class_scene--0.json": _micro_records([0, 5, 4095]),
        "zen/benchmark--transbench101_micro--class_scene--3.json": _micro_records([77, 1000], start=3),
        "zen/benchmark--transbench101_micro--room_layout--0.json": _micro_records([5, 6], val=lambda i: -0.6 - i / 100),
        "zen/benchmark--transbench101_macro--normal--0.json": _macro_records([0, 3255]),
        "zen/benchmark--transbench101_macro--segmentsemantic--0.json": _macro_records([7], val=lambda i: 94.1),
    })


def test_format_true_zip(store, tmp_path):
    b = import_naslib_zc(store, _good(tmp_path))
    assert b.changed == b.rows == 2 * (5 + 2 + 2 + 1)
    rows = dict(store.conn.execute("SELECT arch_index, value FROM proxy_scores WHERE space='tnb101-micro' "
                                   "AND dataset='class_scene' AND proxy='zen'").fetchall())
    assert rows == {0: 10.0, 5: 15.0, 4095: 4105.0, 77: 87.0, 1000: 1010.0}
    assert store.conn.execute("SELECT time FROM proxy_scores WHERE arch_index=4095 AND dataset='class_scene'"
                              ).fetchone() == (2.5,)
    cs = store.benchmark("tnb101-micro", "class_scene")
    assert cs.protocol == "tnb101" and cs.epochs("val_acc") == [25] and cs.query(MICRO.string_of(77), "val_acc") == 40.0
    rl = store.benchmark("tnb101-micro", "room_layout")
    assert rl.metrics() == ["val_neg_loss"] and rl.query(6, "val_neg_loss") == pytest.approx(-0.66)
    nm = store.benchmark("tnb101-macro", "normal")
    assert nm.metrics() == ["val_ssim"] and nm.epochs("val_ssim") == [30]
    assert nm.query("64-444311-basic", "val_ssim") == pytest.approx(0.5 + 3255 / 10000)
    assert store.benchmark("tnb101-macro", "segmentsemantic").query(7, "val_pixel_acc") == 94.1
    assert import_naslib_zc(store, _good(tmp_path)).changed == 0


def test_unpacked_folder_gives_the_same_rows(store, tmp_path):
    zpath = _good(tmp_path)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(folder)
    import_naslib_zc(store, folder)
    assert import_naslib_zc(store, zpath).changed == 0
    # a folder that is itself the proxy folder works too
    assert import_naslib_zc(store, folder / "zen").changed == 0


def test_space_and_dataset_filters(store, tmp_path):
    b = import_naslib_zc(store, _good(tmp_path), space="tnb101-macro", dataset="normal")
    assert b.rows == 4 and [r["space"] + "/" + r["dataset"] for r in store.benchmark_rows()] == ["tnb101-macro/normal"]
    with pytest.raises(CorruptFile, match="has no files for space nb201: it has spaces tnb101-macro, tnb101-micro"):
        import_naslib_zc(store, _good(tmp_path), space="nb201")


def test_sentinel_scores_are_nan_with_their_reason(store, tmp_path):
    recs = _micro_records([1, 2])
    recs[0]["zen"]["score"] = -1e8
    import_naslib_zc(store, _zip(tmp_path / "s.zip", {"zen/benchmark--transbench101_micro--jigsaw--0.json": recs}))
    got = store.conn.execute("SELECT arch_index, value, reason FROM proxy_scores ORDER BY arch_index").fetchall()
    assert got == [(1, None, naslib_zc.SENTINEL_REASON), (2, 12.0, None)]


def test_records_without_val_accuracy(store, tmp_path):
    p = _zip(tmp_path / "f.zip", {"fisher/benchmark--transbench101_micro--class_object--0.json":
                                  _micro_records([3, 4], proxy="fisher", val=None)})
    b = import_naslib_zc(store, p)
    assert b.rows == 2 and store.benchmark_rows() == [] and len(store.proxy_runs()) == 1


def _truncated(tmp_path):
    data = _good(tmp_path).read_bytes()
    p = tmp_path / "cut.zip"
    p.write_bytes(data[: len(data) // 2])
    return p


def _flipped(tmp_path):
    """A zip whose central directory is intact but one member's compressed bytes are damaged."""
    p = _good(tmp_path)
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("zen/benchmark--transbench101_micro--class_scene--0.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 5, start + 25):
        data[k] ^= 0xFF
    q = tmp_path / "flipped.zip"
    q.write_bytes(bytes(data))
    return q


def _bad(tmp_path, content, name="zen/benchmark--transbench101_micro--class_scene--0.json"):
    if isinstance(content, bytes):
        return _zip(tmp_path / "bad.zip", {}, {name: content})
    return _zip(tmp_path / "bad.zip", {name: content})


@pytest.mark.parametrize("make,exc,match", [
    (_truncated, CorruptFile, "not a readable zip file.*re-download it"),
    (_flipped, CorruptFile, "cannot be read .*damaged or truncated"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0)", "zen": {"score": 1.0}}]), UnknownArch,
     "record 0: a NASLib tnb101-micro tuple must be 6 integers"),
    (lambda t: _bad(t, [{"arch": "(2, 3, 1)", "zen": {"score": 1.0}}],
                    "zen/benchmark--transbench101_macro--jigsaw--0.json"), UnknownArch, "4 to 6 module codes"),
    (lambda t: _bad(t, [{"arch": "(1, 1, 1, 1)", "zen": {"score": 1.0}}],
                    "zen/benchmark--transbench101_macro--jigsaw--0.json"), UnknownArch, "0 downsampling modules"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": "high", "time": 1}}]), CorruptFile,
     "the score of 'zen': expected a number, got 'high'"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": 1.0}, "val_accuracy": [1]}]), CorruptFile,
     "'val_accuracy': expected a number"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": 1.0}, "val_accuracy": 130.0}]), CorruptFile,
     "outside 0..100"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": 1.0}, "val_accuracy": 0.6}],
                    "zen/benchmark--transbench101_micro--room_layout--0.json"), CorruptFile,
     "val_neg_loss .* outside -inf..0: a negated loss is never positive"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": 1.0}, "val_accuracy": 1.7}],
                    "zen/benchmark--transbench101_micro--normal--0.json"), CorruptFile, "SSIM lies in -1..1"),
    (lambda t: _bad(t, [{"arch": "(0, 1, 2, 3, 0, 1)", "fisher": {"score": 1.0}}]), CorruptFile,
     "has no 'zen' entry, though its folder is zen/"),
    (lambda t: _bad(t, _micro_records([1, 2, 1])), CorruptFile, "appears twice for proxy zen"),
    (lambda t: _bad(t, b'[{"arch": "(0, 1, 2, 3, 0, 1)", "zen": {"score": 1'), CorruptFile,
     "is not valid JSON .*perhaps truncated"),
    (lambda t: _bad(t, {"arch": "(0, 1, 2, 3, 0, 1)"}), CorruptFile, "expected a JSON list"),
    (lambda t: _bad(t, [7]), CorruptFile, "expected an object with 'arch'"),
    (lambda t: _bad(t, [], "zen/../../etc/benchmark--transbench101_micro--jigsaw--0.json"), CorruptFile,
     "unsafe path"),
    (lambda t: _bad(t, [], "/abs/zen/benchmark--transbench101_micro--jigsaw--0.json"), CorruptFile, "unsafe path"),
    (lambda t: _bad(t, [], "zen/notes.txt"), CorruptFile, "is not a NAS-Bench-Suite-Zero benchmark file"),
    (lambda t: _bad(t, [], "benchmark--transbench101_micro--jigsaw--0.json"), CorruptFile,
     "is not a NAS-Bench-Suite-Zero benchmark file"),
    (lambda t: _bad(t, [], "zen/benchmark--darts_space--cifar10--0.json"), UnknownSpace,
     "'darts_space' has no zcdb counterpart"),
    (lambda t: _bad(t, [], "zen/benchmark--transbench101_micro--cifar10--0.json"), UnknownDataset,
     "TransNAS-Bench-101 has no task 'cifar10'"),
    (lambda t: _zip(t / "empty.zip", {}), CorruptFile, "holds no benchmark files"),
])
def test_bad_archives_are_one_line_errors_and_change_nothing(store, tmp_path, make, exc, match):
    import_naslib_zc(store, _zip(tmp_path / "first.zip", {
        "zen/benchmark--transbench101_micro--class_scene--0.json": _micro_records([9, 10])}))
    before = dump(store)
    with pytest.raises(exc, match=match) as e:
        import_naslib_zc(store, make(tmp_path))
    assert "\n" not in str(e.value) and isinstance(e.value, ZcdbError)
    assert dump(store) == before


def test_a_space_zcdb_lacks_is_named(store, tmp_path, monkeypatch):
    # every space NAS-Bench-Suite-Zero names is registered now: a zcdb without nb301 stands in
    monkeypatch.delitem(SPACES, "nb301")
    p = _zip(tmp_path / "n.zip", {"zen/benchmark--nasbench301--cifar10--0.json": []})
    with pytest.raises(UnknownSpace, match="'nasbench301' is zcdb space nb301, which this zcdb does not have"):
        import_naslib_zc(store, p)


def test_zip_bombs_are_bounded(store, tmp_path, monkeypatch):
    big = json.dumps(_micro_records(range(200))).encode() + b" " * 3_000_000  # compresses to a few kB
    p = _bad(tmp_path, big)
    assert p.stat().st_size < 100_000
    monkeypatch.setattr(naslib_zc, "MAX_MEMBER_BYTES", 1_000_000)
    with pytest.raises(CorruptFile, match="would unpack to .* bytes, more than 1000000"):
        import_naslib_zc(store, p)
    # and so is the sum over members, counted while reading
    monkeypatch.setattr(naslib_zc, "MAX_MEMBER_BYTES", 10_000_000)
    monkeypatch.setattr(naslib_zc, "MAX_TOTAL_BYTES", 1_000_000)
    with pytest.raises(CorruptFile, match="unpacks to more than"):
        import_naslib_zc(store, p)
    assert store.proxy_runs() == []


def test_folder_links_are_refused(store, tmp_path):
    folder = tmp_path / "zen"
    folder.mkdir()
    (tmp_path / "elsewhere.json").write_text("[]")
    (folder / "benchmark--transbench101_micro--jigsaw--0.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(CorruptFile, match="is a symbolic link"):
        import_naslib_zc(store, folder)


def test_cli(tmp_path):
    db = tmp_path / "c.db"
    r = run_cli(db, "import", "naslib-zc", str(_good(tmp_path)), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 20
    r = run_cli(db, "info", "--json")
    assert len(json.loads(r.output)["benchmarks"]) == 4
    r = run_cli(db, "import", "naslib-zc", str(_truncated(tmp_path)))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "not a readable zip" in r.output


def test_proxies_eval_respects_the_metric_direction(store):
    """A proxy that ranks low losses high correlates positively with a loss."""
    from zcdb.proxies.stored import evaluate

    with store.importing("synthetic", "test") as imp:
        idx = np.arange(50)
        loss = np.linspace(2.0, 1.0, 50)
        imp.add_evaluations("nb201", "cifar10", "200ep", "val_loss", 200, -1, idx, loss)
        imp.add_evaluations("nb201", "cifar10", "200ep", "val_acc", 200, -1, idx, 100 - 10 * loss)
        imp.add_proxy_scores("nb201", "cifar10", "synflow", -1, -1, "naslib-zc", idx, -loss, np.zeros(50))
    assert evaluate(store, "nb201", "cifar10", "val_loss")[0]["spearman"] == pytest.approx(1.0)
    assert evaluate(store, "nb201", "cifar10", "val_acc")[0]["spearman"] == pytest.approx(1.0)


# ---------------------------------------------------------------- the real files
ZIPS = ["tnb101_classification_epe_nas.zip", "tnb101_classification_synflow.zip", "tnb101_macro_class_object_fisher.zip",
        "tnb101_macro_jigsaw_fisher.zip", "tnb101_macro_zen.zip", "tnb101_micro_class_object_fisher.zip",
        "tnb101_micro_fisher_jisgaw_all.zip", "tnb101_micro_zen.zip"]


@pytest.fixture(scope="module")
def tnb_store():
    import zcdb

    paths = [require_shared("transnas-bench-101", z) for z in ZIPS]
    s = zcdb.open(":memory:")
    batches = [import_naslib_zc(s, p) for p in paths]
    yield s, paths, batches
    s.close()


@pytest.mark.shared
def test_shared_all_eight_zips(tnb_store):
    store, paths, batches = tnb_store
    benches = store.info()["benchmarks"]
    assert len(benches) == 14
    got = {(b["space"], b["dataset"]): (list(b["metrics"]), b["metrics"][next(iter(b["metrics"]))]["archs"])
           for b in benches}
    for task, metric in [("class_scene", "val_acc"), ("room_layout", "val_neg_loss"), ("normal", "val_ssim"),
                         ("segmentsemantic", "val_pixel_acc"), ("autoencoder", "val_ssim")]:
        assert got[("tnb101-micro", task)] == ([metric], 4096) and got[("tnb101-macro", task)] == ([metric], 3256)
    runs = {(r["space"], r["dataset"], r["proxy"]): r["n"] for r in store.proxy_runs()}
    assert len(runs) == 7 * 2 + 4 * 2 * 2 + 4 and set(runs.values()) == {4096, 3256}
    # NASLib's -1e8 (zen and epe_nas on the 169 cells whose output ignores the input, and more) is NaN
    assert [b.nonfinite_scores for b in batches] == [615, 0, 0, 0, 0, 0, 0, 1183]
    nan_zen = {r[0] for r in store.conn.execute(
        "SELECT arch_index FROM proxy_scores WHERE proxy='zen' AND space='tnb101-micro' AND dataset='class_scene' "
        "AND value IS NULL")}
    from zcdb.spaces import tnb101_micro

    assert len(nan_zen) == 169 and all(not tnb101_micro.output_reachable(i) for i in nan_zen)
    # the string mapping: the cells whose output ignores the input are exactly the constant predictors
    v = store.benchmark("tnb101-micro", "class_scene").values("val_acc")
    constant = set(np.flatnonzero(v == v.min()).tolist())
    assert constant == nan_zen and len(constant) == 169
    # ... which NASLib's graph reading (op 1 = Zero on edges (1,2), (1,3), (1,4), (2,3), (2,4), (3,4)) misses
    edges = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))

    def blind_as_graph(ops):
        reach = {1: True, 2: False, 3: False, 4: False}
        for k in sorted(range(6), key=lambda k: edges[k][1]):
            reach[edges[k][1]] |= ops[k] != 1 and reach[edges[k][0]]
        return not reach[4]

    graph_blind = {i for i in range(MICRO.size) if blind_as_graph(MICRO.ops_of(i))}
    assert len(graph_blind) == 169 and len(graph_blind & constant) == 2
    assert import_naslib_zc(store, paths[4]).changed == 0


@pytest.mark.shared
def test_shared_proxies_eval(tnb_store):
    from zcdb.proxies.stored import evaluate

    store = tnb_store[0]
    rows = {r["proxy"]: r for r in evaluate(store, "tnb101-micro", "class_scene", "val_acc")}
    assert set(rows) == {"zen", "synflow", "epe_nas"} and rows["zen"]["n"] == 4096 - 169
    assert 0.6 < rows["synflow"]["spearman"] < 0.8


@pytest.mark.shared
def test_shared_search_applies_to_both_spaces(tnb_store):
    from zcdb.search.runs import load_problem
    from zcdb.search.report import default_algorithms

    store = tnb_store[0]
    macro = load_problem(store, "tnb101-macro", "room_layout", "val_neg_loss", "val_neg_loss")
    micro = load_problem(store, "tnb101-micro", "room_layout", "val_neg_loss", "val_neg_loss")
    assert macro.ceiling()[1] == pytest.approx(-0.5822, abs=1e-4)  # the least negative loss is the best
    assert "reinforce" not in default_algorithms(macro) and "reinforce" in default_algorithms(micro)
    assert {"random", "rea", "local", "bananas"} <= set(default_algorithms(macro))
