"""The new spaces through every command the search-space issue lists, on the real released files."""

from __future__ import annotations

import json

import pytest

from .conftest import require_shared, run_cli

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def macro_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("macro") / "m.db"
    path = require_shared("nas-bench-macro", "nas-bench-macro_cifar10.json")
    r = run_cli(db, "import", "nas-bench-macro", str(path))
    assert r.exit_code == 0, r.output
    return db


def _json(db, *args):
    r = run_cli(db, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_macro_through_the_command_line(macro_db, tmp_path):
    info = _json(macro_db, "info")
    assert any(b["space"] == "macro" for b in info["benchmarks"])
    top = _json(macro_db, "top", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc", "-k", "1")
    assert top[0]["arch"] in ("22212202", "22212220")
    cost = _json(macro_db, "cost", "--space", "macro", "--dataset", "cifar10", top[0]["arch"])
    q = _json(macro_db, "query", "--space", "macro", "--dataset", "cifar10", "--metric", "params", top[0]["arch"])
    assert cost[0]["params"] == pytest.approx(q[0]["value"], abs=1e-12)
    # proxies: data-free ones on a sample, evaluated against the table
    r = run_cli(macro_db, "proxies", "compute", "--space", "macro", "--dataset", "cifar10", "--proxies",
                "params,synflow", "--sample", "12", "--quiet")
    assert r.exit_code == 0, r.output
    ev = _json(macro_db, "proxies", "eval", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc")
    assert {row["proxy"] for row in ev} >= {"params", "synflow"} and all(row["n"] == 12 for row in ev
                                                                        if row["proxy"] in ("params", "synflow"))
    # a surrogate on the one-hot encoding, and a search
    out = str(tmp_path / "m.zcs")
    fit = _json(macro_db, "surrogate", "fit", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc",
                "--features", "onehot", "--n-train", "200", "--out", out)
    assert fit["test"]["spearman"] > 0.8
    run = _json(macro_db, "search", "run", "--algo", "rea", "--space", "macro", "--dataset", "cifar10",
                "--search-metric", "test_acc", "--budget-queries", "50", "--seeds", "0-3")
    assert run["computed"] == run["n"] == 4 and 85 < run["mean"] <= 93.13
    r = run_cli(macro_db, "search", "run", "--algo", "reinforce", "--space", "macro", "--dataset", "cifar10",
                "--search-metric", "test_acc", "--budget-queries", "20", "--seeds", "0")
    assert r.exit_code == 0, r.output  # macro is a product space: REINFORCE applies


def test_macro_python_api(macro_db):
    import zcdb

    with zcdb.open(macro_db) as s:
        b = s.benchmark("macro", "cifar10")
        assert b.query("02012100", "test_acc") == pytest.approx(89.1967, abs=1e-3)
        assert b.best("test_acc")[2] == pytest.approx(93.1267, abs=1e-3)
        assert b.values("test_acc").shape == (6561,)


def test_nats_sss_through_import_query_cost_and_proxies(tmp_path):
    root = require_shared("nats-bench", "NATS-sss-v1_0-50262-simple")
    db = tmp_path / "s.db"
    r = run_cli(db, "import", "nats-sss", str(root))
    assert r.exit_code == 0, r.output
    q = _json(db, "query", "--space", "nats-sss", "--dataset", "cifar100", "--metric", "flops", "8:8:40:32:40")
    c = _json(db, "cost", "--space", "nats-sss", "--dataset", "cifar100", "8:8:40:32:40")
    assert q[0]["index"] == c[0]["index"] == 284 and c[0]["flops"] == pytest.approx(q[0]["value"], rel=1e-12)
    r = run_cli(db, "proxies", "compute", "--space", "nats-sss", "--dataset", "cifar10", "--proxies",
                "params,flops,synflow", "--archs-file", str(_archs(tmp_path, ["8:8:8:8:8", "8:8:40:32:40"])), "--quiet")
    assert r.exit_code == 0, r.output
    r = run_cli(db, "proxies", "export", "--space", "nats-sss", "--dataset", "cifar10", "--format", "json")
    rows = json.loads(r.output)
    assert r.exit_code == 0 and len(rows) == 6 and {x["arch"] for x in rows} == {"8:8:8:8:8", "8:8:40:32:40"}
    params = {x["arch"]: x["score"] for x in rows if x["proxy"] == "params"}
    c10 = _json(db, "cost", "--space", "nats-sss", "--dataset", "cifar10", "8:8:40:32:40")
    assert params["8:8:40:32:40"] == pytest.approx(c10[0]["params"], rel=1e-12)  # the proxy counts what cost counts


def _archs(tmp_path, archs):
    p = tmp_path / "archs.txt"
    p.write_text("\n".join(archs) + "\n")
    return p


def test_a_mistyped_macro_code_is_one_line_and_stores_nothing(macro_db, tmp_path):
    import sqlite3
    from contextlib import closing

    def count():
        with closing(sqlite3.connect(macro_db)) as conn:
            return conn.execute("SELECT COUNT(*) FROM proxy_scores").fetchone()[0]

    before = count()
    for args in (["query", "--space", "macro", "--dataset", "cifar10", "--metric", "test_acc", "0000001"],
                 ["cost", "--space", "macro", "--dataset", "cifar10", "000000012"]):
        r = run_cli(macro_db, *args)
        assert r.exit_code != 0 and "leading zero" in r.output and "Traceback" not in r.output, r.output
    archs = tmp_path / "archs.txt"
    archs.write_text("02012100\n0000001\n")
    r = run_cli(macro_db, "proxies", "compute", "--space", "macro", "--dataset", "cifar10", "--proxies", "params",
                "--archs-file", str(archs), "--quiet")
    assert r.exit_code != 0 and "'0000001'" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert count() == before


def test_macro_proxy_aware_search_on_the_shipped_table(macro_db, tmp_path):
    """rea-proxy with zcdb's own swap scores: its proxy-ranked samples come from the table's scored
    members (one per class, so each function once)."""
    import sqlite3
    from contextlib import closing

    import numpy as np

    import zcdb
    from zcdb.search import problem_from_benchmark

    db = tmp_path / "m.db"
    with closing(sqlite3.connect(macro_db)) as src, closing(sqlite3.connect(db)) as dst:
        src.backup(dst)  # the fixture's store stays as it is for the other tests
    r = run_cli(db, "import", "builtin", "macro-cifar10-proxies")
    assert r.exit_code == 0, r.output
    with zcdb.open(db) as s:
        b = s.benchmark("macro", "cifar10")
        problem = problem_from_benchmark(b, "test_acc", "test_acc", proxies=["swap"])
        rep = b.search_space.representatives()
    pool = problem.proxy_available_index
    assert 0 < pool.size == np.unique(rep[pool]).size  # one member per class
    run = _json(db, "search", "run", "--algo", "rea-proxy", "--space", "macro", "--dataset", "cifar10",
                "--search-metric", "test_acc", "--proxies", "swap", "--budget-queries", "30", "--seeds", "0-3")
    assert run["computed"] == 4 and 90 < run["mean"] <= 93.13
