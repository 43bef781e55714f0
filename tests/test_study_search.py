"""Search studies (zcdb.study.search_study): budgets as fractions, checkpoints, multi-objective studies,
proxy sets, missing cells, workers, a Dask scheduler, resuming, and bad input."""

import json
import math

import numpy as np
import pytest

import zcdb
from zcdb.errors import ZcdbError
from zcdb.search.runs import run_search, stored_runs
from zcdb.study import load_spec, run_spec, search_study

from .conftest import assert_bad_spec, run_cli

SIZES = {"digits": 40, "cifar10": 100, "cifar100": 7}


def _fill(store, seed=0):
    """Three NB201 benchmarks of known sizes (val_acc = test_acc), a proxy on two of them, and a latency."""
    rng = np.random.default_rng(seed)
    with store.importing("sizes", "test", {}) as b:
        for k, (ds, n) in enumerate(SIZES.items()):
            idx = np.arange(n) * 13 + k
            acc = rng.permutation(n) * 0.5 + 10
            b.add_evaluations("nb201", ds, "200ep", "val_acc", 200, -1, idx, acc)
            b.add_evaluations("nb201", ds, "200ep", "latency_edgegpu", 0, -1, idx, acc / 10 + rng.random(n))
            if ds != "cifar100":
                b.add_proxy_scores("nb201", ds, "good", -1, -1, "x", idx, acc + rng.normal(size=n), np.zeros(n))


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    s = zcdb.open(tmp_path_factory.mktemp("sized") / "s.db")
    _fill(s)
    yield s
    s.close()


def _regret_by_hand(store, ds, seeds, T, q):
    """Mean over seeds of (best - incumbent after q queries) / (best - median), from the stored runs."""
    res = run_search(store, "random", "nb201", ds, seeds, budget_queries=T, search_metric="val_acc",
                     report_metric="val_acc")
    n = SIZES[ds]
    values = np.arange(n) * 0.5 + 10
    best, median = values.max(), np.median(values)
    inc = res.trajectories.incumbent_report[:, q - 1]
    return float(np.mean((best - inc) / (best - median)))


def test_budget_fraction_and_checkpoints(sized, tmp_path):
    st = search_study(sized, "random,rea", "all", "0-5", budget_fraction=0.1, at="0.05,0.1")
    # ceil(0.1 n) queries per benchmark, ceil(0.05 n) at the first checkpoint
    assert {b["benchmark"]: (b["searchable"], b["queries"]) for b in st.benchmarks} == {
        "nb201/cifar10": (100, 10), "nb201/cifar100": (7, 1), "nb201/digits": (40, 4)}
    assert [c["at"] for c in st.checkpoints] == [0.05, 0.1]
    at = {(r["benchmark"], r["algorithm"], r["at"]): r for r in st.rows}
    assert at[("nb201/cifar10", "random", 0.05)]["queries"] == 5 and at[("nb201/digits", "rea", 0.05)]["queries"] == 2
    for ds in SIZES:
        for c in (0.05, 0.1):
            r = at[(f"nb201/{ds}", "random", c)]
            assert r["value"] == pytest.approx(_regret_by_hand(sized, ds, list(range(6)), math.ceil(0.1 * SIZES[ds]),
                                                               r["queries"]))
    assert all(c["friedman"] is not None and c["friedman"].n == 3 for c in st.checkpoints)
    files = {f.name for f in st.write(tmp_path / "f")}
    assert {"cd-0.05.png", "cd.png", "anytime.png", "report.md"} <= files
    md = (tmp_path / "f" / "report.md").read_text()
    assert "(best - value) / (best - median)" in md and "at 0.05 of each benchmark" in md
    x, mean, half = st.anytime["random"]
    assert x[-1] == pytest.approx(0.1) and x.size == mean.size == half.size


def test_checkpoints_in_queries_match_shorter_studies(sized):
    """Random search's first q queries do not depend on the budget: the regret at a checkpoint of a
    20-query study is that of a q-query study."""
    long = search_study(sized, "random,rea", "nb201/cifar10,nb201/digits", "0-7", 20, at=[5, 10])
    assert [c["at"] for c in long.checkpoints] == [5, 10, 20]
    short = search_study(sized, "random,rea", "nb201/cifar10,nb201/digits", "0-7", 5)
    for b in ("nb201/cifar10", "nb201/digits"):
        assert long.cell(b, "random", 5)["value"] == pytest.approx(short.cell(b, "random")["value"])
    assert long.spec["at"] == [5, 10, 20] and "budget_fraction" not in long.spec


def test_multiobjective_study_on_a_known_front(tmp_path):
    s = zcdb.open(tmp_path / "mo.db")
    acc = np.array([10.0, 20, 30, 25, 5, 15])
    lat = np.array([1.0, 2, 3, 5, 0.5, 4])
    with s.importing("front", "test", {}) as b:
        for ds in ("digits", "cifar10"):
            b.add_evaluations("nb201", ds, "200ep", "val_acc", 200, -1, np.arange(6) * 3, acc)
            b.add_evaluations("nb201", ds, "200ep", "latency_edgegpu", 0, -1, np.arange(6) * 3, lat)
        # a benchmark without the latency: `all` leaves it out
        b.add_evaluations("nb201", "cifar100", "200ep", "val_acc", 200, -1, np.arange(6), acc)
    st = search_study(s, "random,mo-rea", "all", "0-9", 60, objectives="val_acc,latency_edgegpu", at=[1, 60])
    assert [b["benchmark"] for b in st.benchmarks] == ["nb201/cifar10", "nb201/digits"]
    # reference = the worst of each (acc 5, latency 5); the front (10,1), (20,2), (30,3) dominates
    # 5*4 + 10*3 + 10*2 = 70 by hand
    assert all(b["table_hypervolume"] == pytest.approx(70) and b["reference"] == [5, 5] for b in st.benchmarks)
    assert all(r["value"] == pytest.approx(1) for r in st.rows if r["at"] == 60)  # 60 queries find all six
    res = run_search(s, "random", "nb201", "cifar10", list(range(10)), budget_queries=60,
                     objectives="val_acc,latency_edgegpu")
    first = res.trajectories.arch[:, 0] // 3
    by_hand = np.maximum(acc[first] - 5, 0) * np.maximum(5 - lat[first], 0) / 70
    assert st.cell("nb201/cifar10", "random", 1)["value"] == pytest.approx(by_hand.mean())
    assert st.measure == "normalized_hypervolume" and st.spec["objectives"] == ["val_acc", "latency_edgegpu"]
    assert "normalized hypervolume" in st.summary_text()
    st.write(tmp_path / "out")
    assert "divided by that of the whole table's front" in (tmp_path / "out" / "report.md").read_text()
    # `all` takes the multi-objective algorithms
    assert search_study(s, "all", "all", "0-1", 5, objectives="val_acc,latency_edgegpu").algorithms == \
        ["random", "mo-rea", "parego"]
    with pytest.raises(ZcdbError, match="rea is single-objective") as info:
        search_study(s, "rea", "all", "0-1", 5, objectives="val_acc,latency_edgegpu")
    assert "\n" not in str(info.value)
    with pytest.raises(ZcdbError, match="cifar100 has no latency_edgegpu"):
        search_study(s, "random", "nb201/cifar100", "0-1", 5, objectives="val_acc,latency_edgegpu")
    with pytest.raises(ZcdbError, match="mo-rea is multi-objective"):
        search_study(s, "mo-rea", "all", "0-1", 5)


def test_proxies_and_missing_cells(sized):
    with pytest.raises(ZcdbError, match="proxy reads proxy scores: name them with --proxies"):
        search_study(sized, "random,proxy", "all", "0-2", 10)
    with pytest.raises(ZcdbError, match="cifar100 has none of this study's --proxies.*--allow-missing") as info:
        search_study(sized, "random,proxy", "all", "0-2", 10, proxies="good")
    assert "\n" not in str(info.value)
    st = search_study(sized, "random,rea,proxy", "all", "0-2", 10, proxies="good", allow_missing=True)
    assert st.cell("nb201/cifar100", "proxy") is None and st.cell("nb201/cifar10", "proxy") is not None
    assert any("proxy does not run on nb201/cifar100" in n for n in st.notes)
    # ranks over the two benchmarks where every algorithm ran
    assert st.friedman.n == 2 and st.checkpoints[-1]["rank_benchmarks"] == ["nb201/cifar10", "nb201/digits"]
    assert st.anytime_over == 2
    # the proxy ranking's first query is the best-scored architecture of its sample, better than random's
    assert st.cell("nb201/cifar10", "proxy")["value"] <= st.cell("nb201/cifar10", "random")["value"]
    every = search_study(sized, "all", "all", "0-1", 5, proxies="good", allow_missing=True)
    assert {"proxy", "rea-proxy", "bananas-proxy"} <= set(every.algorithms) and "sh" not in every.algorithms
    assert st.spec["proxies"] == ["good"] and st.spec["allow_missing"] is True
    with pytest.raises(ZcdbError, match="sh applies to none"):
        search_study(sized, "random,sh", "all", "0-1", 5, allow_missing=True)


def _csv(st, d):
    st.write(d)
    return (d / "results.csv").read_text(), json.loads((d / "report.json").read_text())


def test_workers_give_the_same_study_and_reruns_reuse_every_run(tmp_path):
    a, b = zcdb.open(tmp_path / "a.db"), zcdb.open(tmp_path / "b.db")
    _fill(a)
    _fill(b)
    one = search_study(a, "random,rea,local", "all", "0-5", 12, at=[4])
    two = search_study(b, "random,rea,local", "all", "0-5", 12, at=[4], workers=2)
    assert _csv(one, tmp_path / "1") == _csv(two, tmp_path / "2")
    assert (two.runs_computed, two.runs_reused) == (3 * 3 * 6, 0)
    before = stored_runs(b)
    again = search_study(b, "random,rea,local", "all", "0-5", 12, at=[4], workers=2)
    assert (again.runs_computed, again.runs_reused) == (0, 3 * 3 * 6) and stored_runs(b) == before
    # a larger study (more seeds, one more algorithm) computes only what is new: it resumes
    more = search_study(b, "random,rea,local,bananas", "all", "0-7", 12, at=[4])
    assert more.runs_computed == 3 * 3 * 2 + 3 * 8 and more.runs_reused == 3 * 3 * 6


def test_unreachable_scheduler_is_one_line(sized, tmp_path, monkeypatch):
    monkeypatch.setenv("ZCDB_SCHEDULER_TIMEOUT", "1")
    fresh = zcdb.open(tmp_path / "f.db")
    _fill(fresh)
    r = run_cli(fresh.path, "study", "search", "--algos", "random", "--seeds", "0-1", "--budget-queries", "3",
                "--scheduler", "tcp://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(budget_queries=10, budget_fraction=0.1), "give one budget"),
    (dict(budget_fraction=1.5), r"budget_fraction must be in \(0, 1\]"),
    (dict(budget_queries=10, at="5,20"), "outside the budget"),
    (dict(budget_queries=10, at="2.5"), "whole query counts"),
    (dict(budget_fraction=0.1, at="0.2"), "outside the budget"),
    (dict(budget_queries=10, at="x"), "bad --at"),
    (dict(budget_queries=10, objectives="val_acc"), "two or more objectives"),
    (dict(budget_queries=10, objectives="val_acc,latency_edgegpu", metrics=["nb201/digits=val_acc"]),
     "drop it with --objectives"),
    (dict(budget_queries=10, benchmarks="nb201/imagenet"), "imagenet"),
    (dict(budget_queries=10, proxies="good/1/2/3", algorithms="proxy"), "has none of this study's --proxies"),
    (dict(budget_queries=10, algorithms="nope"), "unknown search algorithm"),
])
def test_bad_input_is_one_line(sized, kwargs, message):
    kwargs.setdefault("algorithms", "random")
    with pytest.raises(ZcdbError, match=message) as info:
        search_study(sized, kwargs.pop("algorithms"), kwargs.pop("benchmarks", "all"), "0-1", **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ('{"kind": "search", "seeds": "0-1"}', "one of budget_queries, budget_fraction"),
    ('{"kind": "search", "seeds": "0-1", "budget_queries": 5, "budget_fraction": 0.1}', "one of budget_queries"),
    ('{"kind": "search", "seeds": "0-1", "budget_queries": 5, "benchmarks": ["nope/x"]}', "nope"),
    ('{"kind": "search", "seeds": "0-1", "budget_queries": 5, "algorithms": ["reinforce"], '
     '"benchmarks": ["nb201/digits"], "objectives": ["val_acc", "latency_edgegpu"]}', "reinforce is single-objective"),
    ('{"kind": "search", "seeds": "0-1", "budget_queries": 5, "workers": 2}', "no key 'workers'"),
])
def test_bad_search_specs(sized, tmp_path, text, message):
    assert_bad_spec(sized, tmp_path, text, message)


def test_spec_with_everything_reruns_byte_for_byte(sized, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('kind = "search"\nseeds = "0-3"\nbudget_fraction = 0.1\nat = [0.05]\nproxies = ["good"]\n'
                    'allow_missing = true\n[algorithms.random]\n[algorithms.proxy]\nn_samples = 20\n')
    doc = load_spec(spec)
    first = run_spec(sized, doc).write(tmp_path / "a")
    second = run_spec(sized, doc, workers=2).write(tmp_path / "b")
    for fa, fb in zip(first, second):
        if fa.suffix == ".md":
            strip = [line for line in fa.read_text().splitlines() if not line.startswith("Generated ")]
            assert strip == [line for line in fb.read_text().splitlines() if not line.startswith("Generated ")]
        elif fa.suffix != ".png":
            assert fa.read_bytes() == fb.read_bytes(), fa.name
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["spec"]["budget_fraction"] == 0.1 and report["spec"]["at"] == [0.05, 0.1]
    # the recorded spec (its keys sorted, so the algorithms' order may differ) runs again to the same rows
    def key(r):
        return r["benchmark"], r["algorithm"], r["at"]

    again = run_spec(sized, report["spec"])
    assert sorted(again.rows, key=key) == sorted(run_spec(sized, doc).rows, key=key)


def test_cli_fraction_objectives_and_run(sized, tmp_path):
    db = sized.path
    r = run_cli(db, "study", "search", "--algos", "random,rea", "--seeds", "0-2", "--budget-fraction", "0.1",
                "--at", "0.05", "--out", str(tmp_path / "f"))
    assert r.exit_code == 0, r.output
    assert "at 0.05 of each benchmark" in r.output and (tmp_path / "f" / "cd-0.05.png").exists()
    r = run_cli(db, "study", "search", "--algos", "random,mo-rea", "--objectives", "val_acc,latency_edgegpu",
                "--seeds", "0-2", "--budget-queries", "8", "--workers", "2", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["measure"] == "normalized_hypervolume"
    r = run_cli(db, "study", "search", "--algos", "random,proxy", "--proxies", "good", "--seeds", "0-2",
                "--budget-queries", "8")
    assert r.exit_code == 2 and "--allow-missing" in r.output and len(r.output.strip().splitlines()) == 1
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(dict(kind="search", seeds="0-2", budget_queries=8, algorithms=["random", "rea"])))
    r = run_cli(db, "study", "run", str(spec), "--workers", "2", "--out", str(tmp_path / "r"))
    assert r.exit_code == 0, r.output
    assert "read back from the store" in r.output and (tmp_path / "r" / "cd.png").exists()


def test_a_spec_of_several_studies(sized, tmp_path):
    spec = tmp_path / "all.toml"
    spec.write_text(f'[[studies]]\nkind = "proxies"\nbootstrap = 10\nout = "{tmp_path / "p"}"\n'
                    f'[[studies]]\nkind = "search"\nseeds = "0-2"\nbudget_queries = 6\nout = "{tmp_path / "s"}"\n'
                    '[studies.algorithms.random]\n[studies.algorithms.rea]\n')
    r = run_cli(sized.path, "study", "run", str(spec))
    assert r.exit_code == 0, r.output
    assert "== study 2 of 2 (search)" in r.output
    assert (tmp_path / "p" / "heatmap.png").exists() and (tmp_path / "s" / "cd.png").exists()
    r = run_cli(sized.path, "study", "run", str(spec), "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 0, r.output
    assert [d["kind"] for d in json.loads(r.output)] == ["proxies", "search"]
    assert (tmp_path / "o" / "2-search" / "report.md").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "search"\n[[studies]]\nkind = "proxies"\n')
    r = run_cli(sized.path, "study", "run", str(bad))
    assert r.exit_code == 2 and "holds only `studies`" in r.output and len(r.output.strip().splitlines()) == 1


def test_search_studies_leave_out_spaces_that_cannot_be_enumerated(tmp_path, monkeypatch):
    from zcdb.spaces import get_space

    s = zcdb.open(tmp_path / "n.db")
    _fill(s)
    with s.importing("macro", "test", {}) as b:
        b.add_evaluations("macro", "cifar10", "50ep", "val_acc", 50, -1, np.arange(5), np.arange(5) + 50.0)
    # as a surrogate space (NAS-Bench-301) would be: no size
    monkeypatch.setattr(get_space("macro"), "size", None)
    st = search_study(s, "random", "all", "0-1", 3)
    assert "macro/cifar10" not in {b["benchmark"] for b in st.benchmarks} and len(st.benchmarks) == 3
    assert any("not enumerable" in n and "macro/cifar10" in n for n in st.notes)


def test_no_common_architectures_is_one_line(tmp_path):
    s = zcdb.open(tmp_path / "c.db")
    with s.importing("disjoint", "test", {}) as b:
        b.add_evaluations("nb201", "digits", "200ep", "val_acc", 200, -1, np.arange(10), np.arange(10.0) + 50)
        b.add_evaluations("nb201", "digits", "200ep", "test_acc", 200, -1, np.arange(10, 20), np.arange(10.0) + 50)
        b.add_evaluations("nb201", "digits", "200ep", "latency_edgegpu", 0, -1, np.arange(10, 20), np.arange(10.0))
        b.add_proxy_scores("nb201", "digits", "good", -1, -1, "x", np.arange(30, 40), np.arange(10.0), np.zeros(10))
    cases = [
        (dict(metrics={"nb201/digits": {"search": "val_acc", "report": "test_acc"}}), "no architecture with both"),
        (dict(objectives="val_acc,latency_edgegpu"), "no architecture with both"),
        (dict(algorithms="proxy", proxies="good"), "0 architectures in common"),
    ]
    for kwargs, message in cases:
        algos = kwargs.pop("algorithms", "random")
        with pytest.raises(ZcdbError, match=message) as info:
            search_study(s, algos, "all", "0-1", 3, **kwargs)
        assert "\n" not in str(info.value)
