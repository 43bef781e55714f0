"""Cross-benchmark studies (zcdb.study): proxy and search studies, specs, reproducible reports, bad input."""

import json

import numpy as np
import pytest

import zcdb
from zcdb.errors import ZcdbError
from zcdb.study import load_spec, main_metric, normalized_regret, proxy_study, run_spec, search_study

from .conftest import assert_bad_spec, run_cli

N = 300
DATASETS = ("digits", "cifar10", "cifar100")


def _fill(store, rng, datasets=DATASETS, n=N):
    with store.importing("synthetic", "test", {}) as b:
        for k, ds in enumerate(datasets):
            idx = np.arange(n) * 7 + k  # different architectures per benchmark
            truth = rng.normal(size=n)
            b.add_evaluations("nb201", ds, "200ep", "val_acc", 200, -1, idx, 60 + 5 * truth)
            b.add_evaluations("nb201", ds, "200ep", "test_acc", 200, -1, idx, 60 + 5 * truth + rng.normal(size=n))
            b.add_proxy_scores("nb201", ds, "good", -1, -1, "x", idx, truth + 0.3 * rng.normal(size=n), np.zeros(n))
            b.add_proxy_scores("nb201", ds, "fair", -1, -1, "x", idx, truth + 1.5 * rng.normal(size=n), np.zeros(n))
            b.add_proxy_scores("nb201", ds, "noise", -1, -1, "x", idx, rng.normal(size=n), np.zeros(n))
        # a proxy on one benchmark only, and on half of its architectures
        b.add_proxy_scores("nb201", "digits", "rare", -1, -1, "x", np.arange(n // 2) * 7, rng.normal(size=n // 2),
                           np.zeros(n // 2))


@pytest.fixture(scope="module")
def study_store(tmp_path_factory):
    """One store for the module: the tests only add search runs to it, which no other test reads."""
    s = zcdb.open(tmp_path_factory.mktemp("study") / "study.db")
    _fill(s, np.random.default_rng(0))
    yield s
    s.close()


def test_proxy_study_ranks_and_reports(study_store, tmp_path):
    st = proxy_study(study_store, bootstrap=50)
    assert [b["benchmark"] for b in st.benchmarks] == [f"nb201/{d}" for d in sorted(DATASETS)]
    # val_acc is stored, so it is the main metric; the benchmark with `rare` compares on its 150 architectures
    assert {b["metric"] for b in st.benchmarks} == {"val_acc"}
    assert {b["benchmark"]: b["n"] for b in st.benchmarks} == {"nb201/cifar10": N, "nb201/cifar100": N,
                                                               "nb201/digits": N // 2}
    for r in st.rows:
        assert r["spearman_ci"][0] <= r["spearman"] <= r["spearman_ci"][1]
        assert r["kendall_ci"][0] <= r["kendall"] <= r["kendall_ci"][1]
    # rare exists on one benchmark: ranks cover the three proxies on every benchmark, and say so
    assert st.ranked == ["fair", "good", "noise"] and len(st.rank_benchmarks) == 3
    assert "rare" in st.notes[0]
    assert dict(zip(st.friedman.names, st.friedman.average_ranks)) == {"good": 1.0, "fair": 2.0, "noise": 3.0}
    assert st.friedman.p < 0.05
    files = st.write(tmp_path / "out")
    assert {f.name for f in files} == {"report.md", "report.json", "results.csv", "heatmap.png", "cd.png"}
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Friedman" in md and "n |" in md and st.benchmarks[0]["fingerprint"] in md
    assert len((tmp_path / "out" / "results.csv").read_text().splitlines()) == 1 + 3 * 3 + 1


def test_proxy_study_metric_override_and_subset(study_store):
    st = proxy_study(study_store, "nb201/cifar10,nb201/digits", "good,noise", ["nb201/cifar10=test_acc"], bootstrap=0)
    assert {b["benchmark"]: b["metric"] for b in st.benchmarks} == {"nb201/cifar10": "test_acc",
                                                                    "nb201/digits": "val_acc"}
    assert st.proxies == ["good", "noise"] and st.benchmarks[1]["n"] == N  # rare not compared: all 300
    assert main_metric(study_store.benchmark("nb201", "digits")) == ("val_acc", 200)
    rare = proxy_study(study_store, proxies="rare", bootstrap=0)
    assert [b["benchmark"] for b in rare.benchmarks] == ["nb201/digits"] and rare.friedman is None
    assert "nb201/cifar10, nb201/cifar100" in rare.notes[0] and "Average ranks need" in rare.notes[-1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(benchmarks="nb201/imagenet"), "no nb201 benchmark for dataset 'imagenet'"),
    (dict(benchmarks="nope/cifar10"), "nope"),
    (dict(benchmarks="cifar10"), "write SPACE/DATASET"),
    (dict(proxies="good,missing"), "no scores for missing"),
    (dict(metrics=["nb201/cifar10=latency"]), "has no latency"),
    (dict(metrics=["nb201/other=val_acc"]), "not among the benchmarks"),
])
def test_proxy_study_bad_input_is_one_line(study_store, kwargs, message):
    with pytest.raises(ZcdbError, match=message) as info:
        proxy_study(study_store, bootstrap=0, **kwargs)
    assert "\n" not in str(info.value)


def test_no_common_architectures(tmp_path):
    s = zcdb.open(tmp_path / "d.db")
    with s.importing("disjoint", "test", {}) as b:
        b.add_evaluations("nb201", "digits", "200ep", "val_acc", 200, -1, np.arange(20), np.arange(20.0))
        b.add_proxy_scores("nb201", "digits", "a", -1, -1, "x", np.arange(10), np.arange(10.0), np.zeros(10))
        b.add_proxy_scores("nb201", "digits", "b", -1, -1, "x", np.arange(10, 20), np.arange(10.0), np.zeros(10))
    with pytest.raises(ZcdbError, match="0 architectures in common.*pass --proxies"):
        proxy_study(s)
    assert proxy_study(s, proxies="a", bootstrap=0).rows[0]["spearman"] == pytest.approx(1.0)


def test_normalized_regret_on_known_optimum():
    v = np.array([50.0, 40.0, 30.0, 20.0])
    assert normalized_regret(v, 50, 30).tolist() == [0.0, 0.5, 1.0, 1.5]
    # a loss: lower is better, best 1, median 3
    assert normalized_regret(np.array([1.0, 2.0, 5.0]), 1.0, 3.0, higher_is_better=False).tolist() == [0, 0.5, 2]
    with pytest.raises(ZcdbError, match="undefined"):
        normalized_regret(v, 30, 30)


def test_search_study_on_a_synthetic_benchmark_with_known_optimum(tmp_path):
    s = zcdb.open(tmp_path / "s.db")
    with s.importing("five", "test", {}) as b:
        for ds in ("digits", "cifar10"):
            # five architectures: best 50, median 30; 100 queries find the best (miss chance 0.8^100)
            b.add_evaluations("nb201", ds, "200ep", "val_acc", 200, -1, np.arange(5) * 11, [10.0, 20, 30, 40, 50])
    st = search_study(s, "random,rea", "all", "0-4", 100)
    assert [b["best"] for b in st.benchmarks] == [50, 50] and [b["median"] for b in st.benchmarks] == [30, 30]
    assert all(r["value"] == 0 and r["final_mean"] == 50 and r["measure"] == "normalized_regret" for r in st.rows)
    # at the first query the incumbent is one uniform draw: regret 1.5, 1, 0.5, 0, -0.5... mean over 10 runs
    for a in st.algorithms:
        x, mean, half = st.anytime[a]
        assert mean[-1] == 0 and mean[0] > 0 and mean.size == 100 and x.tolist() == list(range(1, 101))
    # ties everywhere: equal ranks
    assert st.friedman.average_ranks == [1.5, 1.5]
    # one query: the regret is (50 - first value) / 20, seed by seed, through the stored trajectories
    one = search_study(s, "random", "nb201/cifar10", "0-9", 1)
    from zcdb.search.runs import run_search

    res = run_search(s, "random", "nb201", "cifar10", list(range(10)), budget_queries=1, search_metric="val_acc",
                     report_metric="val_acc")
    expect = np.mean((50 - res.trajectories.final_report()) / 20)
    assert one.rows[0]["value"] == pytest.approx(expect)
    assert one.friedman is None and "Average ranks need" in one.checkpoints[-1]["notes"][-1]


def test_search_study_applicability(tmp_path):
    s = zcdb.open(tmp_path / "m.db")
    with s.importing("macro", "test", {}) as b:
        b.add_evaluations("tnb101-macro", "jigsaw", "tnb101", "val_acc", 10, -1, np.arange(40),
                          np.linspace(10, 50, 40))
    with pytest.raises(ZcdbError, match="reinforce needs a product space.*drop reinforce") as info:
        search_study(s, "random,reinforce", "all", "0-1", 5)
    assert "\n" not in str(info.value)
    st = search_study(s, "all", "all", "0-1", 5)
    assert "reinforce" not in st.algorithms and any("skipped reinforce" in n for n in st.notes)
    with pytest.raises(ZcdbError, match="unknown search algorithm"):
        search_study(s, "nope", "all", "0-1", 5)


def _strip(text):
    return "\n".join(line for line in text.splitlines() if not line.startswith("Generated "))


@pytest.mark.parametrize("suffix, text", [
    (".json", json.dumps(dict(kind="proxies", benchmarks=["nb201/cifar10", "nb201/digits"], proxies=["good", "fair"],
                              bootstrap=30))),
    (".toml", 'kind = "search"\nbenchmarks = ["nb201/cifar10", "nb201/digits"]\nseeds = "0-3"\n'
              'budget_queries = 20\n[algorithms.random]\n[algorithms.rea]\nsample_size = 5\n'
              '[metrics]\n"nb201/cifar10" = {search = "val_acc", report = "test_acc"}\n'),
])
def test_same_spec_same_store_same_report(study_store, tmp_path, suffix, text):
    spec = tmp_path / f"spec{suffix}"
    spec.write_text(text)
    doc = load_spec(spec)
    a = run_spec(study_store, doc).write(tmp_path / "a")
    b = run_spec(study_store, doc).write(tmp_path / "b")
    for fa, fb in zip(a, b):
        if fa.suffix == ".md":
            assert _strip(fa.read_text()) == _strip(fb.read_text())
            assert "Generated " in fa.read_text() and "zcdb " + zcdb.__version__ in fa.read_text()
        elif fa.suffix != ".png":
            assert fa.read_bytes() == fb.read_bytes(), fa.name
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["zcdb_version"] == zcdb.__version__ and report["spec"]["kind"] == doc["kind"]
    assert all(len(b["fingerprint"]) == 16 for b in report["benchmarks"])
    if doc["kind"] == "search":
        assert [b["report_metric"] for b in report["benchmarks"]] == ["test_acc", "val_acc"]
        assert report["spec"]["algorithms"] == {"random": {}, "rea": {"sample_size": 5}}


def test_fingerprint_changes_with_an_import_into_the_benchmark(tmp_path):
    study_store = zcdb.open(tmp_path / "f.db")
    _fill(study_store, np.random.default_rng(0))
    before = {d: study_store.data_fingerprint("nb201", d) for d in DATASETS}
    assert len(set(before.values())) == 3
    with study_store.importing("more", "test", {}) as b:
        b.add_evaluations("nb201", "digits", "200ep", "train_acc", 200, -1, [0], [1.0])
    after = {d: study_store.data_fingerprint("nb201", d) for d in DATASETS}
    assert after["digits"] != before["digits"] and after["cifar10"] == before["cifar10"]


@pytest.mark.parametrize("text, message", [
    ('{"kind": "other"}', "kind is proxies or search"),
    ('{"kind": "proxies", "proxy": "all"}', "no key 'proxy'"),
    ('{"kind": "search", "algorithms": ["random"]}', "needs seeds"),
    ('{"kind": "proxies", "benchmarks": ["nb201/imagenet"]}', "imagenet"),
    ("[1, 2]", "holds no spec"),
    ("{nope", "not a valid JSON spec"),
])
def test_bad_specs_are_one_line_errors(study_store, tmp_path, text, message):
    assert_bad_spec(study_store, tmp_path, text, message)


def test_cli(study_store, tmp_path):
    db = study_store.path
    r = run_cli(db, "study", "proxies", "--bootstrap", "20", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["friedman"]["names"] == ["fair", "good", "noise"]
    r = run_cli(db, "study", "proxies", "--benchmarks", "nb201/imagenet")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    r = run_cli(db, "study", "search", "--algos", "random,rea", "--seeds", "0-2", "--budget-queries", "10",
                "--out", str(tmp_path / "s"))
    assert r.exit_code == 0, r.output
    assert "average rank over 3 benchmarks" in r.output and (tmp_path / "s" / "anytime.png").exists()
    spec = tmp_path / "p.toml"
    spec.write_text('kind = "proxies"\nproxies = ["good", "noise"]\nbootstrap = 10\n')
    r = run_cli(db, "study", "run", str(spec), "--out", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p" / "report.md").exists()
