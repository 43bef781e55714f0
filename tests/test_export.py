"""``zcdb export`` of proxy scores and stored search runs (csv, json, jsonl, parquet) read back against the
store, ``Benchmark.to_frame`` wide and long, and NAS-Bench-Suite-Zero's layouts round-tripping through
``zcdb import naslib-zc`` (hypothesis on synthetic sets, and the shipped NB201 CIFAR-10 scores)."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zcdb
from zcdb.errors import ZcdbError
from zcdb.search import run_search
from zcdb.spaces import get_space, nb201

from .conftest import run_cli

N = nb201.NUM_ARCHS
FORMATS = ("csv", "json", "jsonl", "parquet")


def _nan_eq(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) == (b is None or (isinstance(b, float)
                                                                                          and math.isnan(b)))
    return a == b


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A store with a small nb201 benchmark (two seeds of val_acc/test_acc at epochs 12 and 200, params at 0),
    two proxies in two sets (one with NaN scores and missing times) and rea/random runs."""
    path = tmp_path_factory.mktemp("export") / "s.db"
    rng = np.random.default_rng(3)
    idx = np.arange(N)
    with zcdb.open(path) as s:
        with s.importing("synthetic", "test") as imp:
            for seed in (0, 1):
                for ep in (12, 200):
                    val = 60 + 30 * rng.random(N) * ep / 200
                    imp.add_evaluations("nb201", "cifar10", "200ep", "val_acc", ep, seed, idx, val)
                    imp.add_evaluations("nb201", "cifar10", "200ep", "test_acc", ep, seed, idx, val + rng.normal(size=N))
            imp.add_evaluations("nb201", "cifar10", "200ep", "params", 0, -1, idx, rng.random(N))
            some = rng.choice(N, 300, replace=False)
            sc = rng.normal(size=300)
            sc[:7] = np.nan
            times = rng.random(300)
            times[3:9] = np.nan
            imp.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "cifar10:train", some, sc, times,
                                 [("exploded" if k < 7 else None) for k in range(300)])
            imp.add_proxy_scores("nb201", "cifar10", "synflow", 1, 64, "cifar10:train", some[:50], rng.normal(size=50),
                                 rng.random(50))
            imp.add_proxy_scores("nb201", "cifar10", "nwot", 0, 64, "cifar10:train", some[100:], rng.normal(size=200),
                                 rng.random(200))
        run_search(s, "rea", "nb201", "cifar10", range(3), budget_queries=15)
        run_search(s, "random", "nb201", "cifar10", range(2), budget_queries=10)
    return path


def _read(path_or_text, fmt: str) -> list[dict]:
    """Rows of an exported table, parsed by a reader that is not zcdb's (csv: strings, '' for missing)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path_or_text).to_pylist()
    text = path_or_text.read_text() if hasattr(path_or_text, "read_text") else path_or_text
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    if fmt == "json":
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines()]


def _typed(v, like):
    """A csv field as the type of the store's value ``like``."""
    if v == "":
        return None
    if isinstance(like, bool) or like is None:
        return v if not isinstance(like, (int, float)) else float(v)
    if isinstance(like, int):
        return int(v)
    if isinstance(like, float):
        return float(v)
    return v


def _export(db, tmp_path, fmt: str, *args: str) -> list[dict]:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
        out = tmp_path / "t.parquet"
        r = run_cli(db, "export", "--dataset", "cifar10", *args, "--out", str(out))
        assert r.exit_code == 0, r.output
        return _read(out, fmt)
    r = run_cli(db, "export", "--dataset", "cifar10", *args, "--format", fmt)
    assert r.exit_code == 0, r.output
    return _read(r.stdout, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_proxy_scores_read_back_equal_the_store(db, tmp_path, fmt):
    rows = _export(db, tmp_path, fmt, "--table", "proxies")
    with zcdb.open(db) as s:
        stored = s.conn.execute(
            "SELECT space, dataset, arch_index, proxy, seed, batch_size, data, value, time, reason FROM proxy_scores "
            "ORDER BY proxy, seed, batch_size, data, arch_index").fetchall()
    assert len(rows) == len(stored) == 300 + 50 + 200
    names = ("space", "dataset", "arch_index", "proxy", "seed", "batch_size", "data", "value", "time", "reason")
    for row, want in zip(rows, stored):
        assert list(row) == ["space", "dataset", "arch_index", "arch", "proxy", "seed", "batch_size", "data",
                             "value", "time", "reason"]
        for k, w in zip(names, want):
            got = _typed(row[k], w if w is not None else (0.0 if k in ("value", "time") else "")) \
                if fmt == "csv" else row[k]
            assert _nan_eq(got, w), (k, row[k], w)
        assert row["arch"] == nb201.string_of(want[2])


def test_proxy_filters(db, tmp_path):
    rows = _export(db, tmp_path, "jsonl", "--table", "proxies", "--proxies", "synflow", "--seed", "1")
    assert len(rows) == 50 and {(r["proxy"], r["seed"]) for r in rows} == {("synflow", 1)}
    r = run_cli(db, "export", "--dataset", "cifar10", "--table", "proxies", "--proxies", "zen")
    assert r.exit_code == 2 and "no stored scores of zen" in r.output and len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_runs_and_trajectories_read_back_equal_the_store(db, tmp_path, fmt):
    runs = _export(db, tmp_path, fmt, "--table", "runs")
    traj = _export(db, tmp_path, fmt, "--table", "trajectories")
    with zcdb.open(db) as s:
        cur = s.conn.execute("SELECT * FROM search_runs ORDER BY id")
        cols = [d[0] for d in cur.description]
        stored_runs = [dict(zip(cols, r)) for r in cur]
        stored_traj = s.conn.execute(
            "SELECT t.*, r.algorithm, r.seed FROM search_trajectories t JOIN search_runs r ON r.id = t.run_id "
            "ORDER BY t.run_id, t.query").fetchall()
    assert len(runs) == len(stored_runs) == 5
    for row, want in zip(runs, stored_runs):
        for k, w in want.items():
            assert _nan_eq(_typed(row[k], w) if fmt == "csv" else row[k], w), (k, row[k], w)
        assert row["final_arch_string"] == nb201.string_of(want["final_arch"])
    assert len(traj) == len(stored_traj) == 3 * 15 + 2 * 10
    for row, (run_id, q, a, ep, v, t, inc, inc_rep, algo, seed) in zip(traj, stored_traj):
        got = {k: (_typed(row[k], w) if fmt == "csv" else row[k]) for k, w in
               (("run_id", run_id), ("query", q), ("arch_index", a), ("epoch", ep), ("value", v), ("sim_time", t),
                ("incumbent", inc), ("incumbent_report", inc_rep), ("seed", seed), ("algorithm", algo))}
        assert got == dict(run_id=run_id, query=q, arch_index=a, epoch=ep, value=v, sim_time=t, incumbent=inc,
                           incumbent_report=inc_rep, seed=seed, algorithm=algo)
        assert row["arch"] == nb201.string_of(a)
        assert row["incumbent_arch"] == (nb201.string_of(inc) if inc >= 0 else ("" if fmt == "csv" else None))


@pytest.mark.parametrize("fmt", FORMATS)
def test_benchmark_rows_in_every_format(db, tmp_path, fmt):
    rows = _export(db, tmp_path, fmt, "--metrics", "val_acc,params", "--epoch", "12")
    with zcdb.open(db) as s:
        b = s.benchmark("nb201", "cifar10")
        val = np.nanmean([b.values("val_acc", 12, seed=k) for k in (0, 1)], axis=0)
        params = b.values("params")
    assert len(rows) == N
    got_val = np.array([float(r["val_acc"]) for r in rows])
    np.testing.assert_allclose(got_val, val, rtol=1e-15)
    assert [float(r["params"]) for r in rows] == params.tolist()
    assert [r["arch"] for r in rows[:50]] == [nb201.string_of(i) for i in range(50)]


def test_to_frame_wide_and_long(db):
    with zcdb.open(db) as s:
        b = s.benchmark("nb201", "cifar10")
        wide = b.to_frame(["test_acc", "params"], wide=True)
        assert list(wide.columns) == ["dataset", "arch_index", "arch", "test_acc", "params"] and len(wide) == N
        assert set(wide["dataset"]) == {"cifar10"}
        np.testing.assert_array_equal(wide["test_acc"], b.values("test_acc"))
        early = b.to_frame(["test_acc"], wide=True, epoch=12)
        np.testing.assert_array_equal(early["test_acc"], b.values("test_acc", 12))
        long = b.to_frame(["test_acc"])
        assert len(long) == 2 * 2 * N and list(long.columns[:3]) == ["dataset", "arch_index", "arch"]
        with pytest.raises(ZcdbError, match="wide=True"):
            b.to_frame(["test_acc"], epoch=12)


def test_long_export_equals_to_frame(db, tmp_path):
    rows = _export(db, tmp_path, "jsonl", "--metrics", "test_acc", "--long", "--epoch", "200")
    with zcdb.open(db) as s:
        want = s.benchmark("nb201", "cifar10").to_frame(["test_acc"])
    want = want[want["epoch"] == 200]
    assert len(rows) == len(want) == 2 * N
    assert [r["value"] for r in rows] == want["value"].tolist()
    assert [r["seed"] for r in rows] == want["seed"].tolist()


def test_export_usage_errors(db, tmp_path):
    for args, match in ((["--table", "runs", "--metrics", "x"], "--metrics apply to --table benchmark"),
                        (["--table", "runs", "--seed", "1"], "--seed apply to --table proxies"),
                        (["--table", "runs", "--format", "naslib-zc"], "writes proxy scores"),
                        (["--table", "proxies", "--format", "parquet"], "give --out FILE.parquet"),
                        (["--format", "naslib-zc"], "synflow has 2 score sets"),
                        (["--format", "naslib-zc-benchmarks", "--seed", "0"], "give --out DIR")):
        r = run_cli(db, "export", "--dataset", "cifar10", *args)
        assert r.exit_code == 2 and match in r.output and len(r.output.strip().splitlines()) == 1, (args, r.output)
    r = run_cli(db, "export", "--dataset", "cifar100", "--table", "runs")
    assert r.exit_code == 2 and "no search runs stored for nb201/cifar100" in r.output


# --------------------------------------------------------------------------- NAS-Bench-Suite-Zero round trip
def _scores(path, data: str = None) -> dict:
    with zcdb.open(path) as s:
        return {(p, a): (v, t) for p, a, v, t in s.conn.execute(
            "SELECT proxy, arch_index, value, time FROM proxy_scores WHERE (? IS NULL OR data = ?)", (data, data))}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(all(_nan_eq(x, y) for x, y in zip(a[k], b[k])) for k in a)


def _round_trip(src, tmp_path, space: str, dataset: str, layout: str, *select: str):
    out = tmp_path / ("zc.json" if layout == "naslib-zc" else "bench")
    r = run_cli(src, "export", "--space", space, "--dataset", dataset, "--format", layout, "--out", str(out), *select)
    assert r.exit_code == 0, r.output
    fresh = tmp_path / "fresh.db"
    args = ["import", "naslib-zc", str(out)]
    if layout == "naslib-zc":
        args += ["--space", space] + (["--dataset", dataset] if dataset not in ("cifar10", "cifar100") else [])
    r = run_cli(fresh, *args)
    assert r.exit_code == 0, r.output
    return out, fresh


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), layout=st.sampled_from(["naslib-zc", "naslib-zc-benchmarks"]),
       dataset=st.sampled_from(["cifar10", "digits"]))
def test_naslib_layouts_round_trip(tmp_path_factory, data, layout, dataset):
    if dataset == "digits" and layout == "naslib-zc-benchmarks":
        dataset = "cifar100"
    tmp = tmp_path_factory.mktemp("rt")
    n = data.draw(st.integers(1, 40))
    archs = data.draw(st.lists(st.integers(0, N - 1), min_size=n, max_size=n, unique=True))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    src = tmp / "src.db"
    with zcdb.open(src) as s, s.importing("synthetic", "test") as imp:
        for proxy in data.draw(st.lists(st.sampled_from(["synflow", "nwot", "zen", "my_proxy"]), min_size=1,
                                        max_size=3, unique=True)):
            k = data.draw(st.integers(1, n))
            vals = data.draw(st.lists(st.one_of(finite, st.just(math.nan)), min_size=k, max_size=k))
            times = data.draw(st.lists(st.one_of(st.floats(0, 1e4), st.just(math.nan)), min_size=k, max_size=k))
            imp.add_proxy_scores("nb201", dataset, proxy, 0, 64, f"{dataset}:train", archs[:k], vals, times)
        acc = data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n))
        imp.add_evaluations("nb201", dataset, "200ep", "val_acc", 200, -1, archs, acc)
    out, fresh = _round_trip(src, tmp, "nb201", dataset, layout)
    assert _same(_scores(src), _scores(fresh))
    with zcdb.open(fresh) as s:
        back = s.benchmark("nb201", dataset).values("val_acc", 200)
        scored = sorted({a for _, a in _scores(src)})
        np.testing.assert_array_equal(back[scored], np.asarray(acc)[[archs.index(a) for a in scored]])


def test_naslib_zc_keys_and_records_are_naslibs(db, tmp_path):
    out = tmp_path / "zc.json"
    r = run_cli(db, "export", "--dataset", "cifar10", "--format", "naslib-zc", "--seed", "0", "--out", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert list(doc) == ["cifar10"]
    with zcdb.open(db) as s:
        val = s.benchmark("nb201", "cifar10").values("val_acc", 200)
        rows = s.conn.execute("SELECT arch_index, proxy, value, time FROM proxy_scores WHERE seed = 0").fetchall()
    for a, proxy, v, t in rows:
        rec = doc["cifar10"][str(nb201.to_naslib(a))]
        assert _nan_eq(rec[proxy]["score"], v) and rec[proxy]["time"] == t
        assert rec["val_accuracy"] == val[a]


@pytest.mark.slow
def test_shipped_nb201_scores_round_trip_through_both_layouts(tmp_path):
    src = tmp_path / "src.db"
    r = run_cli(src, "import", "builtin", "nb201-cifar10-proxies")
    assert r.exit_code == 0, r.output
    want = _scores(src)
    assert len(want) > 30_000 and any(v is None for v, _ in want.values())  # NaN scores are NULL
    for layout in ("naslib-zc", "naslib-zc-benchmarks"):
        sub = tmp_path / layout
        sub.mkdir()
        _, fresh = _round_trip(src, sub, "nb201", "cifar10", layout)
        assert _same(want, _scores(fresh, "naslib-zc")), layout


def test_naslib_benchmarks_need_a_suite_zero_space(tmp_path):
    src = tmp_path / "m.db"
    sp = get_space("macro")
    with zcdb.open(src) as s, s.importing("synthetic", "test") as imp:
        imp.add_proxy_scores("macro", "cifar10", "synflow", 0, 64, "cifar10:train", [0, 1], [1.0, 2.0], [0.1, 0.1])
    r = run_cli(src, "export", "--space", "macro", "--dataset", "cifar10", "--format", "naslib-zc-benchmarks",
                "--out", str(tmp_path / "b"))
    assert r.exit_code == 2 and "use --format naslib-zc" in r.output
    _, fresh = _round_trip(src, tmp_path, "macro", "cifar10", "naslib-zc")
    assert _same(_scores(src), _scores(fresh))
    assert sp.string_of(1) in json.loads((tmp_path / "zc.json").read_text())["cifar10"]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_frame_json_writes_nan_and_infinity_as_null(fmt):
    import json

    import pandas as pd

    from zcdb.frames import write_frame

    df = pd.DataFrame({"arch_index": [0, 1, 2], "test_acc": [91.5, float("nan"), float("inf")]})
    text = write_frame(df, fmt)

    def strict(c):
        raise ValueError(c)

    rows = json.loads(text, parse_constant=strict) if fmt == "json" else \
        [json.loads(line, parse_constant=strict) for line in text.splitlines()]
    assert rows == [{"arch_index": 0, "test_acc": 91.5}, {"arch_index": 1, "test_acc": None},
                    {"arch_index": 2, "test_acc": None}]
