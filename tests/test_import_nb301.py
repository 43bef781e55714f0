"""NAS-Bench-301 in the store: rows keyed by global int64 ids, the benchmark of the stored sample
(:class:`zcdb.spaces.sampled.SampledSpace`), and ``zcdb import naslib-zc`` of NAS-Bench-Suite-Zero's
``zc_nasbench301.json`` and ``nb301_zen.zip``."""

from __future__ import annotations

import ast
import json
import math
import pickle
import shutil
import zipfile

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile, UnknownArch, ZcdbError
from zcdb.spaces import get_space, nb301
from zcdb.spaces.sampled import SampledSpace
from zcdb.tabular.naslib_zc import import_naslib_zc

from .conftest import dump, require_shared, run_cli

SP = get_space("nb301")
NASLIB_OPS = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5"]
PROXIES = ["epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "params", "plain", "snip",
           "synflow"]


def genotype_text(key: str) -> str:
    """The DARTS genotype of a NASLib key, written here from the key (not by zcdb)."""
    cells = ast.literal_eval(key)
    body = [", ".join(f"('{NASLIB_OPS[op]}', {inp})" for inp, op in cell) for cell in cells]
    return f"Genotype(normal=[{body[0]}], normal_concat=[2, 3, 4, 5], reduce=[{body[1]}], reduce_concat=[2, 3, 4, 5])"


def suite_zero_file(path, ids, values=None, key_of=None):
    """A file in zc_nasbench301.json's layout for the genotypes ``ids``."""
    recs = {}
    for k, i in enumerate(ids):
        key = key_of(i) if key_of else str([list(cell) for cell in SP.to_naslib(int(i))])
        v = values[k] if values is not None else 90.0 + k / 10
        recs[key] = dict(flops=100.0 + k, params=1.0 + k / 100, synflow=float(k % 7), snip=float(-k),
                         val_accuracy=v)
    path.write_text(json.dumps({"nasbench301": {"cifar10": recs}}))
    return path


# --------------------------------------------------------------------------- synthetic, format-true
@pytest.fixture
def sample(store, tmp_path):
    # ids near both ends of the range: neighbours 2**63-ish apart from 0, and two that a float64 would merge
    ids = np.concatenate([SP.sample(40, seed=11), [0, 1, nb301.NUM_GENOTYPES - 2, nb301.NUM_GENOTYPES - 1]])
    vals = 90.0 + np.arange(ids.size) / 10
    import_naslib_zc(store, suite_zero_file(tmp_path / "zc.json", ids, vals), space="nb301")
    return ids, vals


def test_rows_keep_global_ids_exactly(store, sample):
    ids, vals = sample
    stored = sorted(r[0] for r in store.conn.execute("SELECT arch_index FROM archs WHERE space='nb301'"))
    assert stored == sorted(ids.tolist())
    bench = store.benchmark("nb301", "cifar10")
    sp = bench.search_space
    assert isinstance(sp, SampledSpace) and sp.size == ids.size and sp.base is SP
    assert sp.members.tolist() == sorted(ids.tolist()) and sp.index_dtype == np.int16
    v = bench.values("val_acc")
    assert v.shape == (ids.size,) and bench.epochs("val_acc") == [100]
    for i, x in zip(ids.tolist(), vals.tolist()):
        pos = sp.index_of(SP.string_of(i))
        assert v[pos] == x and bench.query(SP.string_of(i), "val_acc") == x and sp.string_of(pos) == SP.string_of(i)
        assert bench.query(SP.to_naslib(i), "val_acc") == x and bench.has_rows(pos)
        assert bench.arch_values(pos, 100, ["val_acc"], [-1]) == {("val_acc", -1): x}
    # the two ids a float64 would merge stay two architectures with their own values
    a, b = (sp.index_of(SP.string_of(nb301.NUM_GENOTYPES - k)) for k in (2, 1))
    assert b == a + 1 == ids.size - 1 and v[a] != v[b]
    assert bench.arch_indices().tolist() == list(range(ids.size))
    assert sorted(bench.records("val_acc")[:, 0].tolist()) == list(range(ids.size))
    assert bench.stored_archs("val_acc", 100, -1) == set(range(ids.size))


def test_the_sample_is_a_space(store, sample):
    ids, _ = sample
    sp = store.benchmark("nb301", "cifar10").search_space
    with pytest.raises(UnknownArch, match=r"^nb301 architecture 5 is not among the 44 stored architectures of "
                                          r"nb301/cifar10: import its rows"):
        sp.index_of(SP.string_of(5))
    with pytest.raises(UnknownArch, match="position 44 out of range 0..43 of the 44 stored architectures"):
        sp.string_of(44)
    assert len(sp.all_strings()) == 44 and sp.index_map()[sp.string_of(7)] == 7
    assert sp.ops_matrix().shape == (44, 32) and sp.ops_of(3) == SP.ops_of(int(sp.members[3]))
    assert sp.canonical(2) == SP.canonical(int(sp.members[2])) and sp.representatives().tolist() == list(range(44))
    cols, X = sp.encode(np.arange(44), "adjacency")
    assert X.shape == (44, 196) and np.array_equal(X, SP.encode(sp.members, "adjacency")[1])
    # neighbours: the space's, kept to stored ones; 0 and 1 differ in one op of the last edge
    p0, p1 = sp.index_of(SP.string_of(0)), sp.index_of(SP.string_of(1))
    assert p1 in sp.neighbours(p0) and set(sp.neighbours(p0)) <= set(range(44)) and p0 not in sp.neighbours(p0)
    rows = sp.neighbour_rows(np.array([p0, 5]))
    assert rows.shape == (2, 120) and rows[0][rows[0] >= 0].tolist() == sp.neighbours(p0)
    assert np.array_equal(pickle.loads(pickle.dumps(sp)).members, sp.members)
    assert sp.sample(5, seed=1).max() < 44
    # networks and costs: the space's, of the stored architecture at that position
    assert sp.network(0).genotype == SP.to_naslib(int(sp.members[0]))
    assert sp.cost(0) == SP.cost(int(sp.members[0]))


def test_reading_commands_on_the_sample(store, sample, tmp_path):
    ids, vals = sample
    bench = store.benchmark("nb301", "cifar10")
    best = int(np.argmax(vals))
    (pos, s, v), = bench.top("val_acc", k=1)
    assert s == SP.string_of(int(ids[best])) and v == vals[best]
    frame = bench.to_frame()
    assert len(frame) == ids.size and set(frame["arch"]) == {SP.string_of(int(i)) for i in ids}
    rep = store.arch(SP.string_of(int(ids[best])), space="nb301")
    assert rep["index"] == int(ids[best])
    ms = {m["metric"]: m for m in rep["benchmarks"][0]["metrics"]}
    m = ms["val_acc"]
    assert m["value"] == vals[best] and m["rank"] == 1 and m["ranked"] == ids.size
    # and the exact costs of its network, from the space's counter (not from the file)
    assert (ms["params"]["value"], ms["flops"]["value"]) == SP.cost(int(ids[best]))
    from zcdb.proxies.stored import evaluate, scores

    sc = scores(store, "nb301", "cifar10", "synflow", -1, -1, "naslib-zc")
    assert sc.shape == (ids.size,) and sc[bench.search_space.index_of(SP.string_of(int(ids[3])))] == 3 % 7
    rows = {r["proxy"]: r for r in evaluate(store, "nb301", "cifar10", "val_acc")}
    assert rows["snip"]["n"] == ids.size and rows["snip"]["spearman"] == pytest.approx(-1.0)


def test_enumerating_commands_say_what_they_lack(tmp_path):
    db = tmp_path / "s.db"
    ids = SP.sample(30, seed=2)
    assert run_cli(db, "import", "naslib-zc", str(suite_zero_file(tmp_path / "zc.json", ids)),
                   "--space", "nb301").exit_code == 0
    for args in (["proxies", "compute", "--space", "nb301", "--dataset", "cifar10", "--archs-file", "all"],
                 ["study", "search", "--benchmarks", "nb301/cifar10", "--seeds", "1", "--budget-queries", "5"]):
        r = run_cli(db, *args)
        assert r.exit_code != 0 and r.output.startswith("Error: ") and len(r.output.strip().splitlines()) == 1, \
            (args, r.output)
    for args in (["top", "--space", "nb301", "--dataset", "cifar10", "--metric", "val_acc"],
                 ["proxies", "eval", "--space", "nb301", "--dataset", "cifar10", "--bootstrap", "0"],
                 ["study", "proxies", "--bootstrap", "0"], ["export", "--space", "nb301", "--dataset", "cifar10"],
                 ["query", "--space", "nb301", "--dataset", "cifar10", "--metric", "val_acc", "0", "29"],
                 ["arch", "--space", "nb301", SP.string_of(int(ids[0]))], ["info"], ["spaces"],
                 ["cost", "--space", "nb301", "--dataset", "cifar10", "0"]):  # exact, by formula
        r = run_cli(db, *args)
        assert r.exit_code == 0, (args, r.output)


def _key_with(**edges: tuple[int, int]) -> str:
    """NASLib's key of one genotype with normal-cell edges replaced (``e7=(3, 7)``)."""
    cells = [list(cell) for cell in SP.to_naslib(123456789)]
    for name, edge in edges.items():
        cells[0][int(name[1:])] = edge
    return str([list(c) for c in cells])


@pytest.mark.parametrize("key,match", [
    (_key_with(e7=(3, 7)), "op code 7, not one of the 7 ops"),
    (_key_with(e2=(3, 1)), "node 3 .*reads state 3, its own or a later node's output"),
    (_key_with(e0=(0, 0), e1=(0, 1)), "reads state 0 on both its edges"),
    ("[[(0, 1)], [(0, 1)]]", "must have 8"),
])
def test_a_bad_key_is_one_line_and_changes_nothing(store, tmp_path, key, match):
    ids = SP.sample(3, seed=4)
    import_naslib_zc(store, suite_zero_file(tmp_path / "ok.json", ids), space="nb301")
    before = dump(store)
    keys = [str([list(c) for c in SP.to_naslib(int(i))]) for i in SP.sample(3, seed=5)] + [key]
    p = suite_zero_file(tmp_path / "bad.json", range(4), key_of=lambda k: keys[k])
    with pytest.raises(UnknownArch, match=match) as e:
        import_naslib_zc(store, p, space="nb301")
    assert "\n" not in str(e.value) and "bad.json" in str(e.value)
    assert dump(store) == before


# --------------------------------------------------------------------------- the released files
@pytest.fixture(scope="module")
def released(tmp_path_factory):
    zc = require_shared("nb301", "zc_nasbench301.json")
    zen = require_shared("nb301", "nb301_zen.zip")
    path = tmp_path_factory.mktemp("nb301") / "zcdb.db"
    s = zcdb.open(path)
    first = import_naslib_zc(s, zc, space="nb301")
    second = import_naslib_zc(s, zen)
    yield s, zc, zen, first, second
    s.close()


@pytest.mark.shared
def test_zc_nasbench301_json(released):
    s, zc, _, first, _ = released
    with open(zc) as fh:
        data = json.load(fh)["nasbench301"]["cifar10"]
    assert len(data) == 500 and first.rows == 500 * 12
    bench = s.benchmark("nb301", "cifar10")
    assert bench.metrics() == ["val_acc"] and bench.epochs("val_acc") == [100] and bench.search_space.size == 500
    v = bench.values("val_acc")
    assert np.isfinite(v).all()
    runs = {r["proxy"]: r["n"] for r in s.proxy_runs("nb301", "cifar10")}
    assert {p: runs[p] for p in PROXIES} == {p: 500 for p in PROXIES}
    keys = list(data)
    for key in (keys[0], keys[137], keys[-1]):
        rec = data[key]
        text = genotype_text(key)
        assert bench.query(text, "val_acc") == rec["val_accuracy"]
        gid = SP.index_of(text)
        got = {r[1]: (r[5], r[6]) for r in s.proxy_scores_of("nb301", gid)}
        for p in PROXIES:
            assert got[p][0] == rec[p] and got[p][1] is None  # the file gives no times for nb301
    # params and flops are NASLib's network's: proxy scores, not benchmark metrics (suite_zero_costs)
    assert "params" not in bench.metrics()
    again = import_naslib_zc(s, zc, space="nb301")
    assert again.changed == 0


@pytest.mark.shared
def test_nb301_zen_zip(released):
    s, _, zen, _, second = released
    records = []
    with zipfile.ZipFile(zen) as z:
        for name in z.namelist():
            if name.endswith(".json"):
                records += json.loads(z.read(name))
    assert len(records) == 11221 == second.rows
    idx, values, times = s.proxy_scores("nb301", "cifar10", "zen", -1, -1, "naslib-zc")
    assert idx.size == 11221 and len(set(idx.tolist())) == 11221
    by_id = dict(zip(idx.tolist(), zip(values.tolist(), times.tolist())))
    for rec in (records[0], records[5000], records[-1]):
        c = ast.literal_eval(rec["arch"])
        text = genotype_text(str([list(cell) for cell in c]))
        assert by_id[SP.index_of(text)] == (rec["zen"]["score"], rec["zen"]["time"])
    # none of them is among the 500 trained ones: zen is reported with n = 0, the others unchanged
    from zcdb.proxies.stored import evaluate

    rows = {r["proxy"]: r for r in evaluate(s, "nb301", "cifar10", "val_acc")}
    assert rows["zen"]["n"] == 0 and math.isnan(rows["zen"]["spearman"]) and rows["synflow"]["n"] == 500


@pytest.mark.shared
def test_a_truncated_zip_is_one_line_and_changes_nothing(store, tmp_path):
    src = require_shared("nb301", "nb301_zen.zip")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    before = dump(store)
    with pytest.raises(CorruptFile) as e:
        import_naslib_zc(store, cut)
    assert "\n" not in str(e.value) and isinstance(e.value, ZcdbError)
    assert dump(store) == before
    whole = tmp_path / "whole.zip"
    shutil.copy(src, whole)
    with zipfile.ZipFile(whole, "a") as z:  # an op code outside the 7 in one record of a real member
        recs = json.loads(zipfile.ZipFile(src).read("zen/benchmark--nasbench301--cifar10--0.json"))
        recs[0]["arch"] = recs[0]["arch"].replace("(0, 6)", "(0, 9)", 1)
        assert "(0, 9)" in recs[0]["arch"]
        z.writestr("zen/benchmark--nasbench301--cifar10--99999.json", json.dumps(recs[:3]))
    with pytest.raises(UnknownArch, match="not one of the 7 ops") as e:
        import_naslib_zc(store, whole)
    assert "\n" not in str(e.value) and dump(store) == before


def test_own_scores_export_in_naslibs_layout_and_read_back(store, sample, tmp_path):
    from zcdb.tabular.naslib_zc_export import naslib_zc_document

    ids, vals = sample
    with store.importing("own scores", "test", {}) as imp:
        imp.add_proxy_scores("nb301", "cifar10", "mine", 0, 64, "random", ids, np.arange(ids.size, dtype=float),
                             np.full(ids.size, 0.5))
    doc = naslib_zc_document(store, "nb301", "cifar10")["cifar10"]
    assert len(doc) == ids.size
    truth = dict(zip(ids.tolist(), vals.tolist()))
    for key, rec in doc.items():
        i = SP.index_of(key)  # the key reads back as NASLib's tuple of the same genotype
        assert SP.to_naslib(i) == tuple(tuple(map(tuple, cell)) for cell in ast.literal_eval(key))
        assert rec["val_accuracy"] == truth[i] and rec["mine"]["time"] == 0.5
    p = tmp_path / "back.json"
    p.write_text(json.dumps({"nasbench301": {"cifar10": doc}}))
    other = zcdb.open(":memory:")
    import_naslib_zc(other, p, space="nb301", dataset="cifar10")
    assert np.array_equal(np.sort(other.proxy_scores("nb301", "cifar10", "mine", -1, -1, "naslib-zc")[0]),
                          np.sort(ids))
