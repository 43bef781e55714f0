"""`zcdb arch` / Store.arch: one architecture, everything the store knows."""

from __future__ import annotations

import json

import numpy as np

import zcdb
import zcdb.spaces
from zcdb.spaces import nb201

from .conftest import run_cli


def test_arch_report_ranks_costs_and_proxies(tmp_path):
    db = tmp_path / "a.db"
    s = zcdb.open(db)
    n = 50
    acc = np.linspace(50, 99, n)  # index 49 best
    with s.importing("t", "test", {}) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, np.arange(n), acc)
        b.add_evaluations("nb201", "cifar10", "200ep", "latency_pixel3", 0, -1, np.arange(n), np.arange(n, dtype=float))
        b.add_proxy_scores("nb201", "cifar10", "synflow", 0, 64, "none", [7], [3.5], [0.1])
    s.close()
    rep = zcdb.open(db).arch(7)
    assert rep["index"] == 7 and rep["arch"] == nb201.string_of(7)
    assert rep["class_representative"] == int(nb201.canonical_representatives()[7])
    c10 = next(b for b in rep["benchmarks"] if b["dataset"] == "cifar10")
    m = {r["metric"]: r for r in c10["metrics"]}
    assert m["test_acc"]["value"] == acc[7] and m["test_acc"]["rank"] == n - 7 and m["test_acc"]["ranked"] == n
    assert m["latency_pixel3"]["rank"] == 8 and m["latency_pixel3"]["best"] == "min"  # lower first
    want = zcdb.spaces.get_space("nb201").cost(7, "cifar10")
    assert m["params"]["computed"] and m["params"]["value"] == want[0] and m["flops"]["value"] == want[1]
    assert rep["proxies"] == [dict(dataset="cifar10", proxy="synflow", seed=0, batch_size=64, data="none",
                                   score=3.5, seconds=0.1, reason=None)]
    r = run_cli(db, "arch", nb201.string_of(7), "--json")
    assert r.exit_code == 0 and json.loads(r.output)["index"] == 7
    r = run_cli(db, "arch", "7")
    assert r.exit_code == 0 and "computed" in r.output and f"{n - 7} of {n}" in r.output, r.output
    r = run_cli(db, "arch", "|bad|")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1


def test_query_params_is_the_exact_count_where_no_row_holds_it(tmp_path):
    db = tmp_path / "q.db"
    s = zcdb.open(db)
    with s.importing("t", "test", {}) as b:
        b.add_evaluations("nb201", "cifar10", "200ep", "test_acc", 200, -1, [3, 4], [90.0, 91.0])
    s.close()
    r = run_cli(db, "query", "--dataset", "cifar10", "--metric", "params", "3", "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.output)[0]
    assert row["computed"] and row["value"] == zcdb.spaces.get_space("nb201").cost(3, "cifar10")[0]
    r = run_cli(db, "query", "--dataset", "cifar10", "--metric", "test_acc", "3", "--json")
    assert json.loads(r.output)[0] == dict(index=3, arch=nb201.string_of(3), metric="test_acc", value=90.0,
                                           computed=False)
