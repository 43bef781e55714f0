"""The documented SQL (``zcdb sql wide``, its view, the canned queries) run by plain ``sqlite3`` against
what the Python API says, and ``zcdb serve`` started on a free port, a page and canned queries fetched."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

import zcdb
from zcdb.datasette_app import canned_queries, metadata
from zcdb.sql import CANNED
from zcdb.spaces import nb201

from .conftest import run_cli

N = nb201.NUM_ARCHS


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """nb201/cifar10 (200ep): val_acc and test_acc for seeds 0, 1 at epochs 12 and 200 on 80% of the space,
    params reported as a mean (few distinct values: ties on the Pareto front), a latency; nb201/digits
    (digits-v1) with aliases; proxy scores."""
    path = tmp_path_factory.mktemp("sql") / "store.db"
    rng = np.random.default_rng(5)
    some = np.sort(rng.choice(N, int(0.8 * N), replace=False))
    with zcdb.open(path) as s, s.importing("synthetic", "test") as imp:
        for seed in (0, 1):
            for ep in (12, 200):
                acc = 50 + 45 * rng.random(some.size) * ep / 200
                imp.add_evaluations("nb201", "cifar10", "200ep", "val_acc", ep, seed, some, acc)
                imp.add_evaluations("nb201", "cifar10", "200ep", "test_acc", ep, seed, some, np.round(acc, 1))
        # two sources of one metric: seeds 0, 1 on `some`, a reported mean (seed -1) on every third
        # architecture: each reads its mean where it has one, else the mean of its seeds
        for seed in (0, 1):
            imp.add_evaluations("nb201", "cifar10", "200ep", "train_acc", 200, seed, some, 60 + 30 * rng.random(some.size))
        imp.add_evaluations("nb201", "cifar10", "200ep", "train_acc", 200, -1, np.arange(0, N, 3),
                            99 + rng.random(len(range(0, N, 3))))
        imp.add_evaluations("nb201", "cifar10", "200ep", "params", 0, -1, np.arange(N),
                            np.round(rng.random(N), 2))
        imp.add_evaluations("nb201", "cifar10", "200ep", "latency_dev", 0, -1, some, 1 + rng.random(some.size))
        trained = np.arange(0, 2000, 2)
        imp.add_evaluations("nb201", "digits", "digits-v1", "test_acc", 12, 0, trained, 90 + rng.random(trained.size))
        imp.add_aliases("nb201", "digits", "digits-v1", trained + 1, trained)
        imp.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "cifar10:train", some[:500],
                             rng.normal(size=500), rng.random(500))
    return path


def _sql(path, sql: str, params=None) -> list[dict]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params or {})]
    finally:
        con.close()


# --------------------------------------------------------------------------- the wide SELECT and its view
@pytest.mark.parametrize("args", [[], ["--metrics", "test_acc,params", "--epoch", "12"]])
def test_documented_wide_sql_equals_frame(db, args):
    r = run_cli(db, "sql", "wide", "--dataset", "cifar10", *args)
    assert r.exit_code == 0, r.output
    rows = _sql(db, r.stdout)  # plain sqlite3, as any SQLite tool would run it
    with zcdb.open(db) as s:
        df = s.benchmark("nb201", "cifar10").frame(["test_acc", "params"] if args else None,
                                                  epoch=12 if args else None)
    assert [k for k in rows[0]] == list(df.columns)
    idx = [r["arch_index"] for r in rows]
    assert idx == list(range(N))  # params covers every architecture
    for col in df.columns[2:]:
        got = np.array([np.nan if r[col] is None else r[col] for r in rows])
        np.testing.assert_allclose(got, df[col].to_numpy(), rtol=1e-14, equal_nan=True)
    if not args:  # the mixed metric: means where reported (>= 99), seed means (< 90) elsewhere
        train = df["train_acc"].to_numpy()
        assert (train[::3] >= 99).all() and np.isfinite(train).sum() > len(range(0, N, 3))
        assert (train[np.isfinite(train) & (np.arange(N) % 3 != 0)] < 90).all()
    assert [r["arch"] for r in rows[:20]] == df["arch"].tolist()[:20]


def test_wide_sql_leaves_out_aliased_architectures(db):
    r = run_cli(db, "sql", "wide", "--dataset", "digits")
    rows = _sql(db, r.stdout)
    with zcdb.open(db) as s:
        full = s.benchmark("nb201", "digits").values("test_acc")
    assert [x["arch_index"] for x in rows] == list(range(0, 2000, 2))
    assert [x["test_acc"] for x in rows] == full[0:2000:2].tolist()
    assert np.isfinite(full[1:2000:2]).all()  # the API answers the aliases; the SELECT lists stored rows


def test_create_view_reads_in_sqlite(tmp_path, db):
    copy = tmp_path / "c.db"
    copy.write_bytes(db.read_bytes())
    r = run_cli(copy, "sql", "wide", "--dataset", "cifar10", "--metrics", "val_acc", "--create-view")
    assert r.exit_code == 0 and r.output == "created view wide_nb201_cifar10_200ep (read it in any SQLite tool)\n"
    rows = _sql(copy, "SELECT * FROM wide_nb201_cifar10_200ep WHERE val_acc > 90 ORDER BY arch_index")
    with zcdb.open(copy) as s:
        v = s.benchmark("nb201", "cifar10").values("val_acc")
    assert [x["arch_index"] for x in rows] == np.flatnonzero(v > 90).tolist()
    r = run_cli(copy, "sql", "wide", "--dataset", "cifar10", "--create-view", "--name", "evaluations")
    assert r.exit_code == 2 and "is a table of the store" in r.output
    r = run_cli(copy, "sql", "wide", "--dataset", "cifar10", "--name", "w")
    assert r.exit_code == 2 and "add --create-view" in r.output


# --------------------------------------------------------------------------- canned queries in plain sqlite3
def test_canned_top_k_equals_benchmark_top(db):
    with zcdb.open(db) as s:
        b = s.benchmark("nb201", "cifar10")
        for metric in ("val_acc", "latency_dev", "params"):
            rows = _sql(db, CANNED["top_k"][2], dict(space="nb201", dataset="cifar10", protocol="", metric=metric,
                                                      k="25"))
            want = b.top(metric, 25)
            assert [(r["arch_index"], r["arch"]) for r in rows] == [(i, a) for i, a, _ in want]
            np.testing.assert_allclose([r["value"] for r in rows], [v for _, _, v in want], rtol=1e-14)
        # the mixed metric over the whole ranking: reported means first, then the seed means
        rows = _sql(db, CANNED["top_k"][2], dict(space="nb201", dataset="cifar10", protocol="", metric="train_acc",
                                                  k=str(N)))
        want = b.top("train_acc", N)
        assert len(rows) == len(want) > len(range(0, N, 3))
        assert [r["arch_index"] for r in rows] == [i for i, _, _ in want]
        np.testing.assert_allclose([r["value"] for r in rows], [v for _, _, v in want], rtol=1e-14)


@pytest.mark.parametrize("x,y", [("test_acc", "params"), ("params", "latency_dev"), ("val_acc", "test_acc")])
def test_canned_pareto_equals_benchmark_pareto(db, x, y):
    rows = _sql(db, CANNED["pareto"][2], dict(space="nb201", dataset="cifar10", protocol="", x=x, y=y))
    with zcdb.open(db) as s:
        front = s.benchmark("nb201", "cifar10").pareto([x, y])
    assert sorted(r["arch_index"] for r in rows) == sorted(i for i, _, _ in front.front)
    assert len(rows) >= 1


def test_canned_arch_queries(db):
    arch = nb201.string_of(int(_sql(db, "SELECT arch_index FROM proxy_scores LIMIT 1")[0]["arch_index"]))
    i = nb201.index_of(arch)
    for key in (arch, str(i)):
        rows = _sql(db, CANNED["arch"][2], dict(space="nb201", arch=key))
        with zcdb.open(db) as s:
            b = s.benchmark("nb201", "cifar10")
            assert {(r["metric"], r["seed"]): r["value"] for r in rows if r["dataset"] == "cifar10"} == {
                (m, sd): b.query(i, m, seed=sd) for m in b.metrics() for sd in b.seeds(m)}
        proxies = _sql(db, CANNED["arch_proxies"][2], dict(space="nb201", arch=key))
        with zcdb.open(db) as s:
            want = s.proxy_scores_of("nb201", i)
        assert [tuple(r.values()) for r in proxies] == [tuple(w) for w in want]


def test_metadata_is_plain_data(db):
    with zcdb.open(db) as s:
        meta = metadata(s, db)
        queries = canned_queries(s)
    assert json.loads(json.dumps(meta)) == meta  # nothing but JSON: no code, no file to read
    assert set(queries) == {"top_k", "arch", "arch_proxies", "pareto", "wide_nb201_cifar10_200ep",
                            "wide_nb201_digits_digits_v1"}
    assert meta["databases"]["store"]["queries"] == queries


# --------------------------------------------------------------------------- the server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_serve_answers_pages_and_canned_queries(db):
    pytest.importorskip("datasette")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from zcdb.cli import main; main()", "--db", str(db), "serve",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = _get(base + "/store")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read().decode()[-2000:]) from None
                time.sleep(0.3)
        assert status == 200 and b"top_k" in page and b"pareto" in page and b"wide_nb201_cifar10_200ep" in page
        status, page = _get(base + "/")
        assert status == 200 and b"zcdb store store.db" in page
        q = urllib.parse.urlencode(dict(space="nb201", dataset="cifar10", protocol="", metric="test_acc", k="5",
                                        _shape="array"))
        status, body = _get(f"{base}/store/top_k.json?{q}")
        rows = json.loads(body)
        with zcdb.open(db) as s:
            want = s.benchmark("nb201", "cifar10").top("test_acc", 5)
        assert [r["arch_index"] for r in rows] == [i for i, _, _ in want]
        status, body = _get(f"{base}/-/plugins.json")
        assert json.loads(body) == []  # no third-party plugin loaded
        # immutable: a write through the SQL page is refused
        q = urllib.parse.urlencode(dict(sql="DELETE FROM proxy_scores", _shape="array"))
        try:
            status, body = _get(f"{base}/store.json?{q}")
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status >= 400
        with zcdb.open(db) as s:
            assert s.conn.execute("SELECT COUNT(*) FROM proxy_scores").fetchone()[0] == 500
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_without_datasette_says_what_to_install(db, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasette" else real(name, *a))
    r = run_cli(db, "serve", "--port", "0")
    assert r.exit_code == 2 and r.output.strip() == "Error: zcdb serve needs datasette: pip install 'zcdb[serve]'"


def test_serve_refuses_a_missing_store(tmp_path):
    r = run_cli(tmp_path / "nope.db", "serve")
    assert r.exit_code == 2 and "no store at" in r.output and not (tmp_path / "nope.db").exists()
