"""The served benchmark: YAHPO Gym's nb301 surrogate through onnxruntime, checked against
YAHPO's documented procedure written independently (tests/_yahpo.py), on a synthetic ONNX
model made here and on the real model (shared data)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from hypothesis import given, settings, strategies as st  # noqa: E402

from zcdb.errors import CorruptFile, UnknownArch, UnknownMetric, ZcdbError  # noqa: E402
from zcdb.served import ServedBenchmark, open_served  # noqa: E402
from zcdb.spaces import get_space  # noqa: E402

from . import _yahpo  # noqa: E402
from .conftest import REPO, require_shared, run_cli  # noqa: E402

SP = get_space("nb301")
#: DARTS-V2 (Liu et al., ICLR 2019), as DARTS prints it: node 3's edges are not in input order.
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _archs() -> list:
    ids = SP.sample(6, 7).tolist()
    return [DARTS_V2, SP.index_of(DARTS_V2) - 1, 0, int(SP.num_genotypes) - 1] + ids


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return _yahpo.write_files(tmp_path_factory.mktemp("yahpo"))


@pytest.fixture(scope="module")
def bench(synthetic):
    return open_served("nb301", synthetic)


def _expected(raw: np.ndarray) -> dict[str, np.ndarray]:
    return {"val_acc": 100.0 * raw[:, 0].astype(np.float64), "val_loss": raw[:, 1].astype(np.float64),
            "train_time": raw[:, 2].astype(np.float64)}


@pytest.mark.parametrize("epoch", [1, 37, 98, None])
def test_synthetic_serving_matches_yahpo_procedure(bench, epoch):
    archs = _archs()
    configs = [_yahpo.yahpo_config(SP.to_naslib(a)) for a in archs]
    raw = _yahpo.linear_outputs(_yahpo.x_cat(configs, _yahpo.encoding()), 98 if epoch is None else epoch)
    for metric, want in _expected(raw).items():
        got = bench.values(metric, epoch, archs=archs)
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert bench.query(archs[0], "val_acc", epoch) == pytest.approx(_expected(raw)["val_acc"][0], rel=1e-5)


def test_real_model_matches_yahpo_procedure():
    import onnxruntime as ort

    folder = require_shared("nb301")
    model = folder / "yahpo_model_v2.onnx"
    enc = json.loads((folder / "yahpo_encoding_v2.json").read_text())
    # the param set lists the categoricals in YAHPO's cat_names order
    text = (folder / "yahpo_param_set_v2.R").read_text()
    import re

    assert re.findall(r'ParamFct\$new\("([^"]+)"', text) == _yahpo.CAT_NAMES
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    bench = open_served("nb301", model)
    archs = _archs()
    xc = _yahpo.x_cat([_yahpo.yahpo_config(SP.to_naslib(a)) for a in archs], enc)
    for epoch in (1, 50, 98):
        raw = sess.run(None, {"x_cat": xc, "x_cont": np.full((len(archs), 1), epoch, np.float32)})[0]
        for metric, want in _expected(raw).items():
            np.testing.assert_allclose(bench.values(metric, epoch, archs=archs), want, rtol=1e-6)
    acc = bench.values("val_acc", archs=archs)
    assert ((acc > 80) & (acc < 96)).all()  # CIFAR-10 validation accuracies of DARTS cells, in percent
    t = bench.values("train_time", archs=archs)
    assert ((t > 1000) & (t < 20000)).all()  # seconds of training to epoch 98
    # bitwise the same whatever the layout, the chunk size or the batch
    ids = SP.sample(300, 4)
    ref = open_served("nb301", model, cache_size=0, sessions=1).values("val_acc", archs=ids)
    other = open_served("nb301", model, cache_size=0, sessions=2, threads=2, chunk=7).values("val_acc", archs=ids)
    np.testing.assert_array_equal(ref, other)
    np.testing.assert_array_equal(ref[:3], [bench.query(int(i), "val_acc") for i in ids[:3]])


def test_values_take_ids_strings_and_naslib_tuples(bench):
    i = SP.index_of(DARTS_V2)
    a = bench.values("val_acc", archs=np.array([i]))
    b = bench.values("val_acc", archs=[DARTS_V2])
    c = bench.values("val_acc", archs=[SP.to_naslib(i)])
    assert a[0] == b[0] == c[0]


def test_top_and_best_rank_the_candidates(bench):
    cands = SP.sample(500, 3)
    vals = bench.values("val_loss", archs=cands)
    top = bench.top("val_loss", 3, archs=cands)
    assert [t[0] for t in top] == cands[np.argsort(vals, kind="stable")[:3]].tolist()  # a loss: smaller first
    assert bench.best("val_acc", archs=cands)[0] == int(cands[np.argmax(bench.values("val_acc", archs=cands))])
    with pytest.raises(ZcdbError, match="cannot be enumerated"):
        bench.top("val_acc")
    with pytest.raises(ZcdbError, match="cannot be enumerated"):
        bench.values("val_acc")


def test_metrics_specs_and_epochs(bench):
    assert bench.metrics() == ["val_acc", "val_loss", "train_time"]
    assert bench.higher_is_better("val_acc") and not bench.higher_is_better("train_time")
    assert bench.metric_spec("train_time").unit == "s" and bench.metric_spec("val_acc").unit == "%"
    assert bench.epochs("val_acc") == list(range(1, 99))
    with pytest.raises(UnknownMetric, match="predicts val_acc, val_loss, train_time"):
        bench.values("test_acc", archs=[0])
    for bad in (0, 99, 1.5, True):
        with pytest.raises(UnknownMetric, match="epochs 1..98"):
            bench.values("val_acc", bad, archs=[0])


def test_cache_is_lru_and_changes_no_value(synthetic):
    b = open_served("nb301", synthetic, cache_size=3)
    ids = SP.sample(5, 11)
    cold = open_served("nb301", synthetic, cache_size=0).values("val_acc", archs=ids)
    np.testing.assert_array_equal(b.values("val_acc", archs=ids[:3]), cold[:3])
    b.values("val_acc", archs=ids[:1])  # ids[0] most recently used
    np.testing.assert_array_equal(b.values("val_acc", archs=ids[3:4]), cold[3:4])  # evicts ids[1]
    info = b.cache_info()[98]
    assert info == dict(size=3, hits=1, misses=4)
    np.testing.assert_array_equal(b.values("val_acc", archs=ids[[0, 2, 3]]), cold[[0, 2, 3]])
    assert b.cache_info()[98]["hits"] == 4  # all three still cached
    np.testing.assert_array_equal(b.values("val_acc", archs=ids[[1, 1, 4]]), cold[[1, 1, 4]])  # repeats once
    assert b.cache_info()[98]["misses"] == 6
    np.testing.assert_array_equal(b.values("val_acc", archs=ids), cold)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, int(SP.num_genotypes) - 1), min_size=1, max_size=20))
def test_encoding_round_trips_to_the_genotype(bench, ids):
    """Decoding YAHPO's rows by the encoding file gives back each node's inputs and ops."""
    x = bench.model.encoder.encode(np.asarray([SP.to_naslib(i) for i in ids]).reshape(-1, 2, 8, 2)[:, :, :, :])
    inverse = {name: {v: k for k, v in levels.items()} for name, levels in _yahpo.encoding().items()}
    for row, i in zip(x, ids):
        cfg = {name: inverse[name][int(v)] for name, v in zip(_yahpo.CAT_NAMES, row) if v != 0}
        assert cfg == _yahpo.yahpo_config(SP.to_naslib(i))


def test_bad_files_are_one_line_errors(tmp_path, synthetic):
    bad = tmp_path / "a"
    _yahpo.write_files(bad)
    (bad / "yahpo_model_v2.onnx").write_bytes(b"this is not a protobuf at all")
    cases = [(bad / "yahpo_model_v2.onnx", "is not an ONNX model")]
    for name, kw in (("inputs", dict(input_names=("a", "b"))), ("width", dict(cat_width=30)),
                     ("outputs", dict(out_width=3))):
        folder = tmp_path / name
        cases.append((_yahpo.write_files(folder, **kw), "is not YAHPO's nb301 surrogate"))
    nofiles = tmp_path / "alone"
    nofiles.mkdir()
    (nofiles / "yahpo_model_v2.onnx").write_bytes(synthetic.read_bytes())
    cases.append((nofiles / "yahpo_model_v2.onnx", "param set .* is missing"))
    cases.append((tmp_path / "missing" / "model_v2.onnx", "no surrogate model at"))
    cases.append((synthetic.with_name("yahpo_encoding_v2.json"), "not named like YAHPO's surrogate"))
    for path, msg in cases:
        with pytest.raises(CorruptFile, match=msg) as exc:
            open_served("nb301", path)
        assert "\n" not in str(exc.value)


def test_model_path_is_required_and_never_downloaded(monkeypatch):
    monkeypatch.delenv("ZCDB_SURROGATE", raising=False)
    with pytest.raises(ZcdbError, match="--surrogate PATH"):
        open_served("nb301")
    with pytest.raises(ZcdbError, match="has no served model"):
        open_served("nb201", "x.onnx")


def test_genotypes_the_space_rejects_are_one_line_errors(bench):
    own_output = DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)")  # node 5 reading itself
    bad_op = DARTS_V2.replace("'sep_conv_3x3', 0", "'conv_7x7', 0", 1)
    for arch in (own_output, bad_op, int(SP.num_genotypes), -1):
        with pytest.raises(UnknownArch) as exc:
            bench.values("val_acc", archs=[arch])
        assert "\n" not in str(exc.value)
    with pytest.raises(UnknownArch, match="out of range"):
        bench.values("val_acc", archs=np.array([-5], dtype=np.int64))
    g = np.asarray(SP.to_naslib(0)).reshape(1, 2, 8, 2).copy()
    g[0, 0, 3, 0] = g[0, 0, 2, 0]  # node 1 reading one input twice
    with pytest.raises(UnknownArch, match="two different inputs"):
        bench.model.encoder.encode(g)


def test_cli_served_query_and_top(tmp_path, synthetic):
    db = tmp_path / "z.db"
    r = run_cli(db, "served", "query", "--space", "nb301", "--surrogate", str(synthetic), "--metric", "val_acc",
                "--json", DARTS_V2, "12345")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    b = open_served("nb301", synthetic)
    assert [row["index"] for row in rows] == [SP.index_of(DARTS_V2), 12345]
    assert rows[0]["value"] == pytest.approx(b.query(DARTS_V2, "val_acc"))
    r = run_cli(db, "served", "top", "--space", "nb301", "--surrogate", str(synthetic), "--metric", "val_acc",
                "--sample", "300", "-k", "2", "--json")
    assert r.exit_code == 0, r.output
    assert [row["index"] for row in json.loads(r.output)] == [t[0] for t in b.top("val_acc", 2,
                                                                                 archs=SP.sample(300, 0))]
    r = run_cli(db, "served", "query", "--space", "nb301", "--surrogate", str(synthetic.with_name("x_model.onnx")),
                "--metric", "val_acc", "1")
    assert r.exit_code == 2 and "no surrogate model at" in r.output and r.output.count("\n") == 1


def test_nothing_else_imports_onnxruntime():
    code = ("import sys, zcdb, zcdb.served, zcdb.search, zcdb.search.served, zcdb.cli, zcdb.spaces.nb301_yahpo; "
            "assert 'onnxruntime' not in sys.modules and 'onnx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_served_benchmark_is_a_base_benchmark(bench):
    from zcdb.bench import BaseBenchmark

    assert isinstance(bench, ServedBenchmark) and isinstance(bench, BaseBenchmark)
    assert bench.seeds("val_acc") == [-1]
    with pytest.raises(ZcdbError, match="mean over seeds"):
        bench.values("val_acc", seed=3, archs=[0])
