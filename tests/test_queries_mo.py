"""Constraints on reading commands, Pareto fronts of a benchmark, wide frames and export.

One synthetic nb201/cifar10 benchmark (module fixture): test_acc at epoch 200 for every
architecture, ``latency_dev`` (ms) for all but 100, ``params`` for all, and a declared
``robust_x`` (max, %). Every answer is checked against a brute-force numpy computation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import zcdb
from zcdb.errors import UnknownMetric, ZcdbError
from zcdb.fronts import REFERENCE_MARGIN, default_reference
from zcdb.pareto import hypervolume
from zcdb.spaces import nb201

from .conftest import run_cli

N = nb201.NUM_ARCHS
LACKING = np.arange(0, 1000, 10)  # architectures without a latency


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    acc = np.round(rng.uniform(10, 94, N), 2)
    lat = np.round(rng.uniform(1, 30, N), 3)
    lat[LACKING] = np.nan
    params = np.round(rng.uniform(0.1, 1.5, N), 4)
    robust = np.round(rng.uniform(0, 60, N), 1)
    return dict(test_acc=acc, latency_dev=lat, params=params, robust_x=robust)


@pytest.fixture(scope="module")
def db(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("mo") / "mo.db"
    idx = np.arange(N)
    with zcdb.open(path) as s:
        with s.importing("synthetic", "test", {}) as b:
            b.declare_metric("robust_x", True, "%", "a robust accuracy")
            b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, idx, data["test_acc"])
            ok = ~np.isnan(data["latency_dev"])
            b.add_evaluations("nb201", "cifar10", "200ep", "latency_dev", 0, -1, idx[ok], data["latency_dev"][ok])
            b.add_evaluations("nb201", "cifar10", "200ep", "params", 0, -1, idx, data["params"])
            b.add_evaluations("nb201", "cifar10", "200ep", "robust_x", 200, -1, idx, data["robust_x"])
    return path


@pytest.fixture(scope="module")
def bench(db):
    s = zcdb.open(db)
    yield s.benchmark("nb201", "cifar10")
    s.close()


def _ranked(values, mask, k, maximize):
    idx = np.flatnonzero(mask & ~np.isnan(values))
    key = -values[idx] if maximize else values[idx]
    return idx[np.lexsort((idx, key))][:k].tolist()


# --------------------------------------------------------------------------- constraints
def test_top_and_best_under_constraints(bench, data):
    mask = (data["latency_dev"] < 5) & (data["params"] <= 1.0)
    got = bench.top("test_acc", 7, where=["latency_dev<5", "params <= 1.0"])
    assert [i for i, _, _ in got] == _ranked(data["test_acc"], mask, 7, True)
    assert bench.best("latency_dev", where=["test_acc>=90"])[0] == \
        _ranked(data["latency_dev"], data["test_acc"] >= 90, 1, False)[0]
    f = bench.feasible(["latency_dev<5", "params<=1"], epoch=200)  # costs read at epoch 0 all the same
    assert f.n_feasible == int(mask.sum()) and f.missing == {"latency_dev<5": LACKING.size, "params<=1": 0}
    assert f"excluded: {LACKING.size} lack the metric of latency_dev<5" in f.summary()
    with pytest.raises(ZcdbError, match="no architecture of nb201/cifar10 with a test_acc value satisfies"):
        bench.top("test_acc", where=["latency_dev<0"])


def test_cli_top_and_query_with_where(db, data):
    r = run_cli(db, "top", "--dataset", "cifar10", "--metric", "test_acc", "-k", "3", "--where", "latency_dev<5",
                "--where", "params<=1.0", "--json")
    assert r.exit_code == 0, r.output
    mask = (data["latency_dev"] < 5) & (data["params"] <= 1.0)
    assert [row["index"] for row in json.loads(r.stdout)] == _ranked(data["test_acc"], mask, 3, True)
    assert r.stderr.startswith(f"constraints: {int(mask.sum())} of {N} architectures satisfy latency_dev<5 and "
                               f"params<=1 (excluded: {LACKING.size} lack the metric of latency_dev<5)")
    keep = int(np.flatnonzero(data["latency_dev"] < 5)[0])
    r = run_cli(db, "query", "--dataset", "cifar10", "--metric", "test_acc", "--where", "latency_dev<5", "0", "10",
                str(keep), "--json")
    assert r.exit_code == 0, r.output
    assert [row["index"] for row in json.loads(r.stdout)] == [keep]  # 0 and 10 lack a latency
    assert "1 of 3 queried architectures satisfy the constraints" in r.stderr


@pytest.mark.parametrize("where,match", [
    ("latency_gpu<5", "has no 'latency_gpu': stored metrics are latency_dev, params, robust_x, test_acc"),
    ("latency_dev<<5", "malformed constraint 'latency_dev<<5'"),
    ("5>params", "malformed constraint '5>params'"),
    ("Latency<5", "invalid metric name 'Latency'"),
])
def test_bad_where_is_one_line(db, where, match):
    for cmd in (["top", "--metric", "test_acc"], ["pareto", "--objectives", "test_acc,latency_dev"],
                ["export", "--metrics", "test_acc"]):
        r = run_cli(db, *cmd, "--dataset", "cifar10", "--where", where)
        assert r.exit_code == 2 and match in r.output and len(r.output.strip().splitlines()) == 1, r.output


# --------------------------------------------------------------------------- Pareto fronts
def _sweep_front(acc, lat):
    """Non-dominated points for max acc, min lat, by a sweep over accuracy levels (best first): a point
    is on the front when it has its level's lowest latency and beats every higher level's."""
    keep, best = [], np.inf
    for a in np.unique(acc)[::-1]:
        level = np.flatnonzero(acc == a)
        m = lat[level].min()
        if m < best:
            keep += level[lat[level] == m].tolist()
            best = m
    return sorted(keep)


def test_pareto_front_is_exact_with_directions_and_constraints(bench, data):
    where = ["params<=0.6"]
    res = bench.pareto(["test_acc", "latency_dev"], where=where)
    cand = np.flatnonzero((data["params"] <= 0.6) & ~np.isnan(data["latency_dev"]))
    pts = np.column_stack([data["test_acc"][cand], data["latency_dev"][cand]])
    want = sorted(cand[_sweep_front(pts[:, 0], pts[:, 1])].tolist())
    assert sorted(i for i, _, _ in res.front) == want
    assert res.maximize == [True, False] and res.units == ["%", "ms"] and res.hypervolume_unit == "%·ms"
    assert res.candidates == cand.size and res.lacking == {"test_acc": 0, "latency_dev": int(
        ((data["params"] <= 0.6) & np.isnan(data["latency_dev"])).sum())}
    # best accuracy first; each next point is cheaper
    accs = [v[0] for _, _, v in res.front]
    lats = [v[1] for _, _, v in res.front]
    assert accs == sorted(accs, reverse=True) and lats == sorted(lats, reverse=True)
    ref = default_reference(pts, [True, False])
    assert ref[0] == pytest.approx(pts[:, 0].min() - REFERENCE_MARGIN * np.ptp(pts[:, 0]))
    assert ref[1] == pytest.approx(pts[:, 1].max() + REFERENCE_MARGIN * np.ptp(pts[:, 1]))
    assert res.reference == tuple(ref) and res.reference_rule.startswith("default: the worst value")
    assert res.hypervolume == pytest.approx(hypervolume(pts, ref, [True, False]))
    i, s, v = res.front[0]
    assert s == nb201.string_of(i) and v == (data["test_acc"][i], data["latency_dev"][i])


def test_pareto_given_reference_three_objectives_and_declared_direction(bench, data):
    res = bench.pareto(["test_acc", "latency_dev"], reference=[0.0, 40.0])
    ok = ~np.isnan(data["latency_dev"])
    pts = np.column_stack([data["test_acc"][ok], data["latency_dev"][ok]])
    assert res.reference_rule == "given"
    assert res.hypervolume == pytest.approx(hypervolume(pts, [0.0, 40.0], [True, False]))
    three = bench.pareto("test_acc,latency_dev,robust_x", where=["test_acc>=80"])  # robust_x: declared max
    assert three.maximize == [True, False, True]
    assert {i for i, _, _ in res.front if data["test_acc"][i] >= 80} <= {i for i, _, _ in three.front}


@pytest.mark.parametrize("objectives,reference,match", [
    (["test_acc"], None, "a Pareto front needs two or more objectives, got test_acc"),
    (["test_acc", "test_acc"], None, "objective test_acc is given twice"),
    (["test_acc", "latency_gpu"], None, "has no 'latency_gpu'"),
    (["test_acc", "latency_dev"], [95.0, 0.5], r"the reference point \(95, 0.5\) dominates nothing"),
    (["test_acc", "latency_dev"], [1.0], r"the reference point needs 2 finite values"),
])
def test_pareto_bad_input_is_one_line(bench, objectives, reference, match):
    with pytest.raises(ZcdbError, match=match) as err:
        bench.pareto(objectives, reference=reference)
    assert "\n" not in str(err.value)


def test_cli_pareto_json_plot_and_errors(db, tmp_path, bench):
    plot = tmp_path / "front.png"
    r = run_cli(db, "pareto", "--dataset", "cifar10", "--objectives", "test_acc,latency_dev", "--where",
                "params<=0.6", "--reference", "0,40", "--plot", str(plot), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    api = bench.pareto(["test_acc", "latency_dev"], where=["params<=0.6"], reference=[0, 40])
    assert out["hypervolume"] == pytest.approx(api.hypervolume) and len(out["front"]) == len(api.front)
    assert out["directions"] == ["max", "min"] and out["reference"] == [0, 40] and out["reference_rule"] == "given"
    assert out["front"][0]["index"] == api.front[0][0] and "constraints: " in r.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_cli(db, "pareto", "--dataset", "cifar10", "--objectives", "test_acc,latency_dev")
    assert r.exit_code == 0 and "non-dominated of 15525 architectures; hypervolume" in r.stdout
    assert "default: the worst value of each objective" in r.stdout
    for args, match in ((["--objectives", "test_acc"], "two or more objectives"),
                        (["--objectives", "test_acc,latency_dev", "--reference", "a,b"], "bad --reference"),
                        (["--objectives", "test_acc,latency_dev", "--plot", str(tmp_path / "f.txt")], "cannot write")):
        r = run_cli(db, "pareto", "--dataset", "cifar10", *args)
        assert r.exit_code == 2 and match in r.output and len(r.output.strip().splitlines()) == 1, r.output


# --------------------------------------------------------------------------- frames and export
def test_frame(bench, data):
    df = bench.frame(["test_acc", "latency_dev"])
    assert list(df.columns) == ["arch_index", "arch", "test_acc", "latency_dev"] and len(df) == N
    assert df["arch"].iloc[6111] == nb201.string_of(6111)
    np.testing.assert_array_equal(df["latency_dev"].to_numpy(), data["latency_dev"])
    sub = bench.frame(["test_acc", "params"], epoch=200, where=["latency_dev<5"])  # params at its epoch 0
    assert sub["arch_index"].tolist() == np.flatnonzero(data["latency_dev"] < 5).tolist()
    assert list(bench.frame().columns) == ["arch_index", "arch", "latency_dev", "params", "robust_x", "test_acc"]
    with pytest.raises(UnknownMetric):
        bench.frame(["test_acc", "nope"])
    with pytest.raises(ZcdbError, match="listed twice"):
        bench.frame(["test_acc", "test_acc"])


def test_export_csv_json_parquet(db, tmp_path, data):
    import pandas as pd

    out = tmp_path / "t.csv"
    r = run_cli(db, "export", "--dataset", "cifar10", "--metrics", "test_acc,latency_dev", "--out", str(out))
    assert r.exit_code == 0 and f"wrote {N} rows x 4 columns (csv)" in r.stderr, r.output
    back = pd.read_csv(out)
    np.testing.assert_array_equal(back["latency_dev"].to_numpy(), data["latency_dev"])
    r = run_cli(db, "export", "--dataset", "cifar10", "--metrics", "latency_dev", "--format", "json",
                "--where", "test_acc>93")
    rows = json.loads(r.stdout)
    assert [x["arch_index"] for x in rows] == np.flatnonzero(data["test_acc"] > 93).tolist()
    assert all(x["latency_dev"] is None or x["latency_dev"] == data["latency_dev"][x["arch_index"]] for x in rows)
    r = run_cli(db, "export", "--dataset", "cifar10", "--metrics", "test_acc", "--out", str(tmp_path / "t.parquet"))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert r.exit_code == 2 and "needs pyarrow (pip install pyarrow)" in r.output
    else:
        assert r.exit_code == 0
        np.testing.assert_array_equal(pd.read_parquet(tmp_path / "t.parquet")["test_acc"], data["test_acc"])
