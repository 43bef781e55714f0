"""`zcdb import naslib-zc`: NAS-Bench-Suite-Zero JSON in the released and the flat layout."""

from __future__ import annotations

import json

import pytest

from zcdb.errors import CorruptFile, UnknownArch
from zcdb.spaces import nb201
from zcdb.tabular.naslib_zc import import_naslib_zc

from .conftest import dump, require_shared


def _key(i):
    return str(nb201.to_naslib(i))


def _released(archs):
    return {"cifar10": {_key(i): {"idx": str(k), "arch": _key(i),
                                  "synflow": {"score": 10.0 + i, "time": 0.5},
                                  "params": {"score": 0.1 * k, "time": 0.01},
                                  "val_accuracy": 80.0 + k} for k, i in enumerate(archs)}}


def test_released_layout(store, tmp_path):
    p = tmp_path / "zc.json"
    p.write_text(json.dumps(_released([3, 77, 900])))
    b = import_naslib_zc(store, p)
    assert b.changed > 0
    rows = dict(store.conn.execute(
        "SELECT arch_index, value FROM proxy_scores WHERE proxy='synflow'").fetchall())
    assert rows == {3: 13.0, 77: 87.0, 900: 910.0}
    t = store.conn.execute("SELECT time FROM proxy_scores WHERE proxy='synflow' AND arch_index=3").fetchone()[0]
    assert t == 0.5
    bench = store.benchmark("nb201", "cifar10")
    assert bench.query(77, "val_acc") == 81.0 and bench.epochs("val_acc") == [200]
    assert bench.query(900, "params", epoch=0) == pytest.approx(0.2)
    assert import_naslib_zc(store, p).changed == 0


def test_flat_layout_with_plain_scores(store, tmp_path):
    flat = {nb201.string_of(5): {"nwot": 700.5, "val_accuracy": 88.0},
            _key(6): {"nwot": 650.0, "val_accuracy": 70.0}}
    p = tmp_path / "flat.json"
    p.write_text(json.dumps(flat))
    import_naslib_zc(store, p, dataset="cifar100")
    rows = store.conn.execute("SELECT dataset, arch_index, value, time FROM proxy_scores ORDER BY arch_index").fetchall()
    assert rows == [("cifar100", 5, 700.5, None), ("cifar100", 6, 650.0, None)]


@pytest.mark.parametrize("content,exc,match", [
    ('{"cifar10": {"(0, 1, 2)": {"nwot": {"score": 1}}}}', UnknownArch, "NASLib nb201 tuple"),
    ('{"cifar10": {"(0, 1, 2, 3, 4, 0)": {"nwot": {"time": 1}}}}', CorruptFile, "has no 'score'"),
    ('{"cifar10": {"(0, 1, 2, 3, 4, 0)": {"nwot": {"score": "high"}}}}', CorruptFile, "expected a number"),
    ('{"cifar10": {"(0, 1, 2, 3, 4, 0)": {"nwot": {"score": 1', CorruptFile, "not valid JSON"),
    ('[1, 2]', CorruptFile, "expected a JSON object"),
])
def test_bad_files_change_nothing(store, tmp_path, content, exc, match):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_released([1])))
    import_naslib_zc(store, good)
    before = dump(store)
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(exc, match=match):
        import_naslib_zc(store, p)
    assert dump(store) == before


@pytest.mark.shared
def test_shared_suite_zero_file(store):
    path = require_shared("naslib-zc", "zc_nasbench201_cifar10.json")
    import_naslib_zc(store, path)
    runs = {r["proxy"]: r["n"] for r in store.proxy_runs("nb201", "cifar10")}
    assert len(runs) == 12 and runs["synflow"] == 724 and runs["nwot"] == 725
    raw = json.loads(path.read_text())["cifar10"]
    key, rec = next(iter(raw.items()))
    i = nb201.index_of(nb201.from_naslib([int(x) for x in key.strip("()").split(",")]))
    got = store.conn.execute("SELECT value, time FROM proxy_scores WHERE proxy='jacov' AND arch_index=?", (i,)).fetchone()
    assert got == (rec["jacov"]["score"], rec["jacov"]["time"])
    assert store.benchmark("nb201", "cifar10").query(i, "val_acc") == rec["val_accuracy"]
    assert import_naslib_zc(store, path).changed == 0
