"""NAS-Bench-101 importers: the official TFRecord format (a format-true fixture written here: real
TFRecord framing with masked CRC-32C, real protocol-buffer wire format), the nasbench-vis samples
(real files, and small synthetic ones), NAS-Bench-Suite-Zero's zc_nasbench101.json."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest

from zcdb.errors import CorruptFile, UnknownArch
from zcdb.spaces import get_space, nb101
from zcdb.spaces.nb101_cost import count_cost
from zcdb.store import MEAN_SEED
from zcdb.tabular.nasbench import import_nasbench_tfrecord, import_nasbench_vis

from .conftest import dump, require_shared, run_cli

SP = get_space("nb101")
ARCHS = [0, 1, 17, 5000, 423_623]


# --------------------------------------------------------------------------- a format-true writer
# Written from the format's definitions, apart from zcdb's reader: CRC-32C bit by bit (no table),
# protocol buffers field by field.
def _crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = _crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _record(payload: bytes) -> bytes:
    n = struct.pack("<Q", len(payload))
    return n + struct.pack("<I", _masked(n)) + payload + struct.pack("<I", _masked(payload))


def _varint(x: int) -> bytes:
    x &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, x = x & 0x7F, x >> 7
        out.append(b | (0x80 if x else 0))
        if not x:
            return bytes(out)


def _double(field: int, v: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", v)


def _message(field: int, body: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(body)) + body


def _evaluation(epoch: float, time: float, train: float, val: float, test: float) -> bytes:
    return (_double(1, epoch) + _double(2, time) + _double(3, train) + _double(4, val) + _double(5, test)
            + _message(6, b"/tmp/model.ckpt-1234"))


def _metrics(params: int, final: tuple[float, ...], epochs: int) -> bytes:
    evals = [_evaluation(0, 0, 0.1, 0.1, 0.1), _evaluation(epochs / 2, final[0] / 2, *[a * 0.9 for a in final[1:]]),
             _evaluation(epochs, *final)]
    return b"".join(_message(1, e) for e in evals) + _varint(2 << 3) + _varint(params) + _double(3, 999.0)


def _fake(i: int, epochs: int, repeat: int) -> tuple[float, float, float, float]:
    """(training time, train, val, test accuracy) of a made-up training."""
    base = 0.5 + 0.4 * ((i * 7919) % 1000) / 1000 * epochs / 108
    return 10.0 * epochs + i % 97 + repeat, min(base + 0.05, 1.0), base + 0.001 * repeat, base - 0.002 * repeat


def write_tfrecord(path, archs=ARCHS, budgets=(4, 108), repeats=3, spec=None) -> None:
    with open(path, "wb") as fh:
        for epochs in budgets:
            for i in archs:
                for r in range(repeats):
                    m, ops = spec(i) if spec else nb101.spec_of(i)
                    row = [SP.string_of(i), epochs, "".join(str(x) for row in m for x in row), ",".join(ops),
                           base64.b64encode(_metrics(count_cost(i)[0], _fake(i, epochs, r), epochs)).decode()]
                    fh.write(_record(json.dumps(row).encode()))


# --------------------------------------------------------------------------- the TFRecord importer
def test_tfrecord_rows(tmp_path, store):
    p = tmp_path / "nasbench_mini.tfrecord"
    write_tfrecord(p)
    batch = import_nasbench_tfrecord(store, p)
    assert batch.rows == len(ARCHS) * (2 * 3 * 4 + 1)
    b = store.benchmark("nb101", "cifar10")
    assert b.protocol == "nasbench" and b.metrics() == ["params", "test_acc", "train_acc", "train_time", "val_acc"]
    assert b.epochs("val_acc") == [4, 108] and b.seeds("val_acc") == [0, 1, 2]
    for i in ARCHS:
        for epochs in (4, 108):
            for r in range(3):
                t, train, val, test = _fake(i, epochs, r)
                assert b.query(i, "val_acc", epoch=epochs, seed=r) == pytest.approx(100 * val, abs=1e-12)
                assert b.query(i, "test_acc", epoch=epochs, seed=r) == pytest.approx(100 * test, abs=1e-12)
                assert b.query(i, "train_time", epoch=epochs, seed=r) == t
        assert b.query(SP.string_of(i), "params") == count_cost(i)[0] / 1e6
    assert b.seeds("params") == [MEAN_SEED]
    before = dump(store)
    assert import_nasbench_tfrecord(store, p).changed == 0 and dump(store) == before  # idempotent


def test_tfrecord_cells_may_be_written_as_isomorphs(tmp_path, store):
    """A record's cell is the class's, in any vertex order (hashed when it is not zcdb's representative)."""
    i = SP.index_of(([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0] * 4],
                     ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]))
    swapped = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0] * 4], ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])
    p = tmp_path / "iso.tfrecord"
    write_tfrecord(p, archs=[i], budgets=(108,), repeats=1, spec=lambda _: swapped)
    import_nasbench_tfrecord(store, p)
    assert store.benchmark("nb101", "cifar10").stored_archs("val_acc", 108, 0) == {i}


def _damage(data: bytes, where: int) -> bytes:
    b = bytearray(data)
    b[where] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("how,match", [
    ("crc", "record 0: the CRC of its data does not match"),
    ("length-crc", "record 0: the CRC of its length field"),
    ("truncated", "record 14 is truncated"),
    ("truncated-header", "truncated in its header"),
    ("empty", "holds no records"),
])
def test_damaged_tfrecord_is_one_line_and_changes_nothing(tmp_path, file_store, how, match):
    good = tmp_path / "good.tfrecord"
    write_tfrecord(good, archs=ARCHS[:1], budgets=(108,), repeats=1)
    import_nasbench_tfrecord(file_store, good)
    before = dump(file_store)
    p = tmp_path / "bad.tfrecord"
    write_tfrecord(p, archs=ARCHS, budgets=(108,))
    data = p.read_bytes()
    data = {"crc": _damage(data, 12 + 5), "length-crc": _damage(data, 9), "truncated": data[:-7],
            "truncated-header": data + b"\x01\x02", "empty": b""}[how]
    p.write_bytes(data)
    with pytest.raises(CorruptFile, match=match) as e:
        import_nasbench_tfrecord(file_store, p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    assert dump(file_store) == before


def _tfrecord_with(tmp_path, row):
    p = tmp_path / "one.tfrecord"
    p.write_bytes(_record(json.dumps(row).encode()))
    return p


def _good_row(i=5000):
    m, ops = nb101.spec_of(i)
    return [SP.string_of(i), 108, "".join(str(x) for r in m for x in r), ",".join(ops),
            base64.b64encode(_metrics(count_cost(i)[0], _fake(i, 108, 0), 108)).decode()]


@pytest.mark.parametrize("change,error,match", [
    (lambda r: r.__setitem__(0, "0" * 32), UnknownArch, "not the module hash"),
    (lambda r: r.__setitem__(4, base64.b64encode(_metrics(123, _fake(0, 108, 0), 108)).decode()), CorruptFile,
     "trainable_parameters is 123"),
    (lambda r: r.__setitem__(4, base64.b64encode(b"\x0a\xff").decode()), CorruptFile, "not a ModelMetrics"),
    (lambda r: r.__setitem__(4, "!!not base64"), CorruptFile, "not a ModelMetrics"),
    (lambda r: r.__setitem__(2, r[2][::-1]), CorruptFile, "its cell"),
    (lambda r: r.pop(), CorruptFile, "expected \\[hash, epochs"),
])
def test_bad_records_are_one_line_errors(tmp_path, store, change, error, match):
    row = _good_row()
    change(row)
    with pytest.raises(error, match=match) as e:
        import_nasbench_tfrecord(store, _tfrecord_with(tmp_path, row))
    assert "\n" not in str(e.value)
    assert store.benchmark_rows() == []


def test_cli_imports_a_tfrecord(tmp_path):
    p = tmp_path / "n.tfrecord"
    write_tfrecord(p, archs=ARCHS[:2], budgets=(108,), repeats=2)
    r = run_cli(tmp_path / "s.db", "import", "nasbench-tfrecord", str(p), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 2 * (2 * 4 + 1)
    p.write_bytes(p.read_bytes()[:-3])
    r = run_cli(tmp_path / "s.db", "import", "nasbench-tfrecord", str(p))
    assert r.exit_code == 2 and "truncated" in r.output and len(r.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------- nasbench-vis
def _vis(archs, with_cells=True):
    d = {"key": [SP.string_of(i) for i in archs]}
    for e in (4, 12, 36, 108):
        d[f"{e}_final_validation_accuracy"] = [0.1 + 0.8 * e / 108 - 0.001 * k for k, _ in enumerate(archs)]
    d["final_training_time"] = [1000.0 + k for k, _ in enumerate(archs)]
    d["trainable_parameters"] = [count_cost(i)[0] for i in archs]
    if with_cells:
        d["operations"], d["adjacency"] = [], []
        for i in archs:
            m, ops = nb101.spec_of(i)
            V = len(ops)
            labels = [-1] + [nb101.OPS.index(o) for o in ops[1:-1]] + [-2]
            d["operations"].append(labels + [-3] * (7 - V))
            d["adjacency"].append([[float(x) for x in row] + [0.0] * (7 - V) for row in m] + [[0.0] * 7] * (7 - V))
    return d


def test_vis_rows(tmp_path, store):
    p = tmp_path / "vis.json"
    p.write_text(json.dumps(_vis(ARCHS)))
    batch = import_nasbench_vis(store, p)
    assert batch.rows == len(ARCHS) * 6
    b = store.benchmark("nb101", "cifar10")
    assert b.epochs("val_acc") == [4, 12, 36, 108] and b.seeds("val_acc", 108) == [0]
    assert b.query(ARCHS[1], "val_acc", epoch=108) == pytest.approx(100 * (0.9 - 0.001))
    assert b.query(ARCHS[2], "train_time") == 1002.0
    q = tmp_path / "vis-keys.json"  # the 20k layout: keys only
    q.write_text(json.dumps(_vis(ARCHS, with_cells=False)))
    assert import_nasbench_vis(store, q).changed == 0


@pytest.mark.parametrize("change,error,match", [
    (lambda d: d["key"].__setitem__(1, "f" * 32), UnknownArch, "row 1: key"),
    (lambda d: d["trainable_parameters"].__setitem__(2, 5), CorruptFile, "trainable_parameters is 5"),
    (lambda d: d["108_final_validation_accuracy"].__setitem__(0, 93.1), CorruptFile, "not a fraction"),
    (lambda d: d["operations"].__setitem__(3, [-1, 0, -2, -3, -3, -3, -3]), CorruptFile, "do not hash|not one of"),
    (lambda d: d.pop("final_training_time"), CorruptFile, "expected an object of columns"),
    (lambda d: d["key"].append(d["key"][0]), CorruptFile, "as long as 'key'"),
    (lambda d: d["operations"].__setitem__(0, [-1, 7, -2]), CorruptFile, "op codes 0..2"),
])
def test_bad_vis_files_are_one_line_errors(tmp_path, store, change, error, match):
    d = _vis(ARCHS)
    change(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(error, match=match) as e:
        import_nasbench_vis(store, p)
    assert "\n" not in str(e.value)
    assert store.benchmark_rows() == []
    p.write_text(json.dumps(_vis(ARCHS))[:-20])
    with pytest.raises(CorruptFile, match="not valid UTF-8 JSON"):
        import_nasbench_vis(store, p)


@pytest.mark.shared
def test_real_vis_samples(file_store):
    """The 20k sample (keys only) through zcdb's enumeration, then the 1k, which is part of it."""
    big = import_nasbench_vis(file_store, require_shared("nb101", "nasbench-vis_data-20k.json"))
    assert big.rows == 20_001 * 6
    small = import_nasbench_vis(file_store, require_shared("nb101", "nasbench-vis_data-1k.json"))
    assert small.rows == 6_000 and small.changed == 0
    b = file_store.benchmark("nb101", "cifar10")
    v = b.values("val_acc", 108)
    assert np.isfinite(v).sum() == 20_001 and 0 < np.nanmin(v) and np.nanmax(v) <= 100
    with open(require_shared("nb101", "nasbench-vis_data-1k.json")) as fh:
        d = json.load(fh)
    assert b.query(d["key"][0], "val_acc", epoch=108) == pytest.approx(100 * d["108_final_validation_accuracy"][0])


@pytest.mark.shared
def test_real_suite_zero_file(store):
    from zcdb.tabular.naslib_zc import import_naslib_zc

    batch = import_naslib_zc(store, require_shared("nb101", "zc_nasbench101.json"), space="nb101")
    assert any("208 of 500 keys" in w for w in batch.warnings)
    b = store.benchmark("nb101", "cifar10")
    assert b.metrics() == ["val_acc"] and b.epochs("val_acc") == [108]  # NASLib's params are not the official ones
    runs = {r["proxy"]: r["n"] for r in store.proxy_runs("nb101", "cifar10")}
    assert runs["synflow"] == runs["params"] == 292 and len(runs) == 11


def test_suite_zero_file_names_its_space(store, tmp_path):
    """``{"nasbench101": {"cifar10": ...}}`` is nb101 without --space; another --space is refused."""
    from zcdb.errors import ZcdbError
    from zcdb.tabular.naslib_zc import import_naslib_zc

    sp = get_space("nb101")
    keys = [str(sp.to_naslib(i)) for i in (0, 7, 4242)]
    rec = {"val_accuracy": 91.5, "params": 1.0, "flops": 2.0, "synflow": {"score": 3.0, "time": 0.1}}
    p = tmp_path / "zc_nasbench101.json"
    p.write_text(json.dumps({"nasbench101": {"cifar10": {k: rec for k in keys}}}))
    with pytest.raises(ZcdbError, match="holds nasbench101 architectures \\(zcdb space nb101\\), not nb201: "
                                        "drop --space, or pass --space nb101"):
        import_naslib_zc(store, p, space="nb201")
    assert store.benchmark_rows() == []
    import_naslib_zc(store, p)
    b = store.benchmark("nb101", "cifar10")
    assert np.flatnonzero(np.isfinite(b.values("val_acc"))).tolist() == [0, 7, 4242]


@pytest.mark.shared
def test_samples_and_suite_zero_means_in_one_benchmark(store):
    """The 1k sample's seeded val_acc and Suite-Zero's reported means side by side: every
    architecture of either reads a value (the reported mean where there is one), none hides the other."""
    from zcdb.tabular.naslib_zc import import_naslib_zc

    import_nasbench_vis(store, require_shared("nb101", "nasbench-vis_data-1k.json"))
    import_naslib_zc(store, require_shared("nb101", "zc_nasbench101.json"))  # no --space: the file says nb101
    sp = get_space("nb101")
    with open(require_shared("nb101", "zc_nasbench101.json")) as fh:
        zc = json.load(fh)["nasbench101"]["cifar10"]
    first: dict[int, float] = {}
    for k, rec in zc.items():  # the importer keeps the first of several keys of one architecture
        first.setdefault(sp.index_of(sp.from_naslib(json.loads(k.replace("(", "[").replace(")", "]")))),
                         rec["val_accuracy"])
    with open(require_shared("nb101", "nasbench-vis_data-1k.json")) as fh:
        sample = {sp.index_of(h) for h in json.load(fh)["key"]}
    b = store.benchmark("nb101", "cifar10")
    v = b.values("val_acc", epoch=108)
    assert set(np.flatnonzero(np.isfinite(v)).tolist()) == sample | set(first)
    only_sample = sorted(sample - set(first))[:5]
    assert [v[i] for i in only_sample] == [b.query(i, "val_acc", epoch=108, seed=0) for i in only_sample]
    assert all(v[i] == pytest.approx(first[i]) for i in list(first)[:20])
