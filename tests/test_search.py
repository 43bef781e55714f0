"""Search algorithms, the lockstep runner, stored runs and comparison reports.

Most tests run on a synthetic NAS-Bench-201 table built here: an additive landscape over
(edge, operation) with learning curves over 9 epochs, training times and two proxies
(``nwot`` close to the truth, ``synflow`` noisy); a second table has one epoch and only
60% of the architectures. The ``shared`` test runs on the real NAS-Bench-201 tables.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import zcdb
from zcdb.cli import main
from zcdb.errors import ZcdbError
from zcdb.search import (
    ALGORITHMS, Budget, GBDTEnsemble, HistGBEnsemble, compare_algorithms, config_hash, load_problem, make_algorithm,
    run_search, simulate,
)
from zcdb.search.bananas import PackageEnsemble
from zcdb.search.hyperband import schedule
from zcdb.search.rng import Draws, seed_keys
from zcdb.search.runs import simulate_parallel
from zcdb.spaces import nb201

from .conftest import require_shared

N = nb201.NUM_ARCHS
EPOCHS = [1, 3, 9]  # enough for Hyperband with eta=3 (9 -> 3 -> 1)
SPACE = "nb201"


def _landscape(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(6, 5))
    ops = nb201.ops_matrix().astype(np.int64)
    val = 80 + 2 * w[np.arange(6), ops].sum(axis=1) + 0.3 * rng.normal(size=N)
    test = val + 0.5 * rng.normal(size=N)
    per_epoch = 1.0 + 0.5 * (ops >= 2).sum(axis=1)  # seconds: convolutions cost more
    return val, test, per_epoch


def _build_template() -> sqlite3.Connection:
    store = zcdb.open(":memory:")
    val, test, per_epoch = _landscape()
    idx = np.arange(N)
    rng = np.random.default_rng(1)
    with store.importing("synthetic", "test", new_dataset=True) as imp:
        for e in EPOCHS:
            frac = 1 - 0.5 * np.exp(-e / 2)
            imp.add_evaluations(SPACE, "synth", "p", "val_acc", e, -1, idx, val * frac)
            imp.add_evaluations(SPACE, "synth", "p", "test_acc", e, -1, idx, test * frac)
            imp.add_evaluations(SPACE, "synth", "p", "train_time", e, -1, idx, per_epoch * e)
        keep = np.sort(rng.choice(N, size=int(0.6 * N), replace=False))
        imp.add_evaluations(SPACE, "flat", "p", "val_acc", 200, -1, keep, val[keep])
        imp.add_evaluations(SPACE, "flat", "p", "test_acc", 200, -1, keep, test[keep])
        imp.add_proxy_scores(SPACE, "synth", "nwot", 0, 64, "synth:train", idx, val + 0.5 * rng.normal(size=N),
                             np.full(N, 0.5))
        imp.add_proxy_scores(SPACE, "synth", "synflow", 0, 64, "none", idx, val + 3 * rng.normal(size=N),
                             np.full(N, 0.25))
    mem = sqlite3.connect(":memory:")
    store.conn.backup(mem)
    store.close()
    return mem


@pytest.fixture(scope="module")
def template():
    mem = _build_template()
    yield mem
    mem.close()


@pytest.fixture
def sstore(template):
    """A fresh in-memory store holding the synthetic tables."""
    s = zcdb.open(":memory:")
    template.backup(s.conn)
    yield s
    s.close()


@pytest.fixture(scope="module")
def problem(template):
    s = zcdb.open(":memory:")
    template.backup(s.conn)
    p = load_problem(s, SPACE, "synth", proxies=["nwot", "synflow"])
    s.close()
    return p


def _equal(a, b) -> None:
    for f in ("seeds", "arch", "epoch", "value", "time", "incumbent", "incumbent_report", "length"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


# --------------------------------------------------------------------------- randomness
def test_draws_depend_on_their_seed_only():
    keys = seed_keys(np.arange(50))
    for step in (0, 7, 10**6):
        d_all, d_one = Draws(keys, step), Draws(keys[[7]], step)
        assert np.array_equal(d_all.uniform(3, 11)[7], d_one.uniform(3, 11)[0])
        assert np.array_equal(d_all.normal(2, 5)[7], d_one.normal(2, 5)[0])
    u = Draws(keys, 0).uniform(0, 1000)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert not np.array_equal(Draws(keys, 0).uniform(0, 4), Draws(keys, 0).uniform(1, 4))
    assert not np.array_equal(Draws(keys, 0).uniform(0, 4), Draws(keys, 1).uniform(0, 4))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**40), st.integers(0, 2**20), st.integers(1, 10**6))
def test_integers_stay_below_high(seed, step, high):
    k = Draws(seed_keys(np.array([seed])), step).integers(0, high, 64)
    assert k.min() >= 0 and k.max() < high


# --------------------------------------------------------------------------- every algorithm
# the single-objective ones (tests/test_search_mo.py has the multi-objective ones)
ALL = [name for name, entry in ALGORITHMS.items() if entry.cls.single_objective]


@pytest.mark.parametrize("name", ALL)
def test_seed_trajectory_is_the_same_alone_or_among_others(problem, name):
    algo = make_algorithm(name, {"n_samples": 200} if name == "proxy" else None)
    budget = Budget(queries=45)
    many = simulate(problem, algo, [3, 0, 7, 11, 5], budget)
    alone = simulate(problem, algo, [7], budget)
    _equal(alone, many.select([7]))
    again = simulate(problem, algo, [7], budget)
    _equal(alone, again)
    other = simulate(problem, algo, [8], budget)
    assert not np.array_equal(other.arch, alone.arch)
    assert problem.available[many.arch].all()
    # the incumbent is the best search value observed so far (ties keep the earlier)
    best = np.maximum.accumulate(many.value * problem.search_sign, axis=1)
    if not algo.multi_fidelity:
        assert np.array_equal(problem.search[-1][many.incumbent], best)


def test_workers_give_the_same_trajectories(problem):
    algo = make_algorithm("rea")
    one = simulate(problem, algo, range(6), Budget(queries=40))
    two = simulate_parallel(problem, algo, range(6), Budget(queries=40), workers=2)
    _equal(one, two)


# --------------------------------------------------------------------------- semantics
def test_random_search_samples_available_architectures(sstore):
    p = load_problem(sstore, SPACE, "flat")
    assert p.available.sum() == int(0.6 * N)
    tr = simulate(p, make_algorithm("random"), range(20), Budget(queries=200))
    assert p.available[tr.arch].all()
    assert len(np.unique(tr.arch)) > 3000  # spread over the space


def test_rea_mutates_a_member_of_the_last_population(problem):
    P = 10
    tr = simulate(problem, make_algorithm("rea"), range(4), Budget(queries=80))
    nbs = nb201.neighbour_table()
    for row in tr.arch:
        for t in range(P, len(row)):
            population = row[t - P:t]
            assert any(row[t] in nbs[parent] for parent in population)


def test_local_search_reaches_the_optimum_of_an_additive_landscape(problem):
    tr = simulate(problem, make_algorithm("local"), range(8), Budget(queries=250))
    best = int(np.argmax(problem.search[-1]))
    assert (tr.final_arch() == best).all()


def test_bananas_beats_random_search(problem):
    b = simulate(problem, make_algorithm("bananas"), range(8), Budget(queries=50)).final_report().mean()
    r = simulate(problem, make_algorithm("random"), range(8), Budget(queries=50)).final_report().mean()
    assert b > r


def test_proxy_ranking_charges_the_proxies_and_queries_the_best_first(problem):
    algo = make_algorithm("proxy", {"n_samples": 100})
    tr = simulate(problem, algo, range(5), Budget(queries=3))
    # 100 samples x 2 proxies x (0.5 s + 0.25 s) / 2, plus the training time of the first query
    train = problem.cost[-1, tr.arch[:, 0]]
    np.testing.assert_allclose(tr.time[:, 0], 100 * 0.75 + train)
    assert (np.diff(tr.time, axis=1) > 0).all()


def test_time_budget_and_resumed_training(problem):
    budget = Budget(seconds=200.0)
    tr = simulate(problem, make_algorithm("hyperband"), range(5), budget)
    for k in range(5):
        n = tr.length[k]
        assert 0 < n < tr.arch.shape[1] or n == tr.arch.shape[1]
        assert tr.time[k, n - 1] <= 200.0
        assert np.isnan(tr.time[k, n:]).all()
    # each query costs the time from the epoch this seed last trained that architecture to
    row = tr.arch[0, :tr.length[0]]
    ep = tr.epoch[0, :tr.length[0]]
    trained: dict[int, int] = {}
    clock = 0.0
    for a, e in zip(row.tolist(), ep.tolist()):
        per_epoch = problem.cost[0, a]
        prev = trained.get(a, 0)
        clock += per_epoch * max(e - prev, 0)
        trained[a] = max(prev, e)
    np.testing.assert_allclose(tr.time[0, tr.length[0] - 1], clock)


def test_hyperband_schedule():
    plan = schedule(np.arange(1, 10), 3, None, hyperband=True)
    # brackets s=2: 9 at epoch 1, 3 at 3, 1 at 9; s=1: 5 at 3, 1 at 9; s=0: 3 at 9
    sizes = [(int(r[0]), int(r[3]), int(r[2]) + 1) for r in plan if r[1] == 0]
    assert sizes == [(0, 9, 1), (1, 3, 3), (2, 1, 9), (0, 5, 3), (1, 1, 9), (0, 3, 9)]
    sh = schedule(np.arange(1, 10), 3, None, hyperband=False)
    assert len(sh) == 13


def test_successive_halving_promotes_the_best(problem):
    tr = simulate(problem, make_algorithm("sh"), range(3), Budget(queries=13))
    for k in range(3):
        first = tr.arch[k, :9]
        v = tr.value[k, :9]
        top3 = first[np.argsort(-v, kind="stable")[:3]]
        assert np.array_equal(tr.arch[k, 9:12], top3)
        assert list(tr.epoch[k, 9:12]) == [3, 3, 3] and tr.epoch[k, 12] == 9


@pytest.mark.parametrize("name,message", [
    ("hyperband", "needs learning curves"), ("proxy", "--proxies"),
])
def test_errors_name_the_fix(sstore, name, message):
    with pytest.raises(ZcdbError, match=message):
        run_search(sstore, name, SPACE, "flat", [0], budget_queries=5)


def test_time_budget_needs_costs(sstore):
    with pytest.raises(ZcdbError, match="--budget-queries"):
        run_search(sstore, "rea", SPACE, "flat", [0], budget_seconds=100)
    with pytest.raises(ZcdbError, match="no setting 'pop'"):
        make_algorithm("rea", {"pop": 3})
    with pytest.raises(ZcdbError, match="known are"):
        make_algorithm("evolution")


def test_surrogates_agree_on_what_they_learn(problem):
    rng = np.random.default_rng(0)
    train = rng.choice(N, size=(2, 80))
    cand = rng.choice(N, size=(2, 200))
    y = problem.search[-1][train]
    d = Draws(seed_keys(np.arange(2)), 0)
    truth = problem.search[-1][cand]
    for model in (GBDTEnsemble(), HistGBEnsemble(members=3, max_iter=30), PackageEnsemble(members=2)):
        mean, std = model.fit_predict(problem.onehot(train), y, problem.onehot(cand), d, 0)
        assert mean.shape == std.shape == (2, 200) and (std >= 0).all()
        assert min(np.corrcoef(mean[k], truth[k])[0, 1] for k in range(2)) > 0.6, type(model).__name__


# --------------------------------------------------------------------------- stored runs
def test_runs_are_stored_and_reused(sstore):
    first = run_search(sstore, "rea", SPACE, "synth", range(5), budget_queries=30)
    assert (first.computed, first.reused) == (5, 0)
    n_runs = sstore.conn.execute("SELECT COUNT(*) FROM search_runs").fetchone()[0]
    n_rows = sstore.conn.execute("SELECT COUNT(*) FROM search_trajectories").fetchone()[0]
    assert (n_runs, n_rows) == (5, 150)
    again = run_search(sstore, "rea", SPACE, "synth", [4, 0, 9], budget_queries=30)
    assert (again.computed, again.reused) == (1, 2)
    _equal(again.trajectories.select([4, 0]), first.trajectories.select([4, 0]))
    _equal(again.trajectories.select([9]), simulate(again.problem, make_algorithm("rea"), [9], Budget(queries=30)))
    row = sstore.conn.execute("SELECT algorithm, config, seed, zcdb_version, queries, budget_kind, budget FROM "
                              "search_runs WHERE seed = 9").fetchone()
    assert row[0] == "rea" and json.loads(row[1])["config"]["population_size"] == 10
    assert row[2:] == (9, zcdb.__version__, 30, "queries", 30.0)
    other = run_search(sstore, "rea", SPACE, "synth", [0], budget_queries=30, config={"sample_size": 5})
    assert other.computed == 1 and other.config_hash != first.config_hash


def test_runs_made_on_other_numbers_are_not_reused(sstore):
    """Re-importing the table with other values, or recomputing a proxy, keys new runs."""
    first = run_search(sstore, "rea", SPACE, "synth", [0, 1], budget_queries=30)
    proxy_run = run_search(sstore, "rea-proxy", SPACE, "synth", [0], budget_queries=30, proxies=["nwot"])
    # a proxy the plain algorithm does not read changes nothing for it ...
    idx = np.arange(N)
    with sstore.importing("recomputed", "test", replace=True) as imp:
        imp.add_proxy_scores(SPACE, "synth", "nwot", 0, 64, "synth:train", idx, -np.arange(N, dtype=float),
                             np.full(N, 0.5))
    assert run_search(sstore, "rea", SPACE, "synth", [0, 1], budget_queries=30).reused == 2
    # ... but the proxy-aware one runs again on the new scores
    again = run_search(sstore, "rea-proxy", SPACE, "synth", [0], budget_queries=30, proxies=["nwot"])
    assert (again.computed, again.reused) == (1, 0) and again.config_hash != proxy_run.config_hash
    # new table values: the plain algorithm runs again too, and its config records the data
    val = sstore.benchmark(SPACE, "synth").values("val_acc", 9)
    with sstore.importing("reimported", "test", replace=True) as imp:
        imp.add_evaluations(SPACE, "synth", "p", "val_acc", 9, -1, idx, val[::-1].copy())
    fresh = run_search(sstore, "rea", SPACE, "synth", [0, 1], budget_queries=30)
    assert (fresh.computed, fresh.reused) == (2, 0) and fresh.config_hash != first.config_hash
    _equal(fresh.trajectories, simulate(fresh.problem, make_algorithm("rea"), [0, 1], Budget(queries=30)))
    q = "SELECT config FROM search_runs WHERE algorithm = 'rea'"
    datas = {json.loads(r[0])["data"] for r in sstore.conn.execute(q)}
    assert datas == {first.problem.fingerprint(False), fresh.problem.fingerprint(False)}
    assert len(datas) == 2


def test_config_hash_identity():
    a, b = make_algorithm("rea-proxy"), make_algorithm("rea", {"warm_start": True})
    assert config_hash(a, ("nwot/0/64/x",)) == config_hash(b, ("nwot/0/64/x",))
    assert config_hash(a, ("nwot/0/64/x",))[1] != config_hash(a, ("synflow/0/64/x",))[1]
    # proxy settings of an algorithm that does not read proxies do not change its identity
    assert config_hash(make_algorithm("rea"), ())[1] == config_hash(
        make_algorithm("rea", {"n_proxy_samples": 5}), ("nwot/0/64/x",))[1]
    assert config_hash(make_algorithm("sh"))[1] != config_hash(make_algorithm("hyperband"))[1]


def test_compare_writes_table_csv_and_plot(sstore, tmp_path):
    cmp = compare_algorithms(sstore, SPACE, "synth", ["all"], range(6), budget_seconds=500.0,
                             proxies=["nwot", "synflow"], configs={"proxy": {"n_samples": 200}})
    assert [r["algorithm"] for r in cmp.rows] == ALL
    p = cmp.problem
    assert cmp.ceiling == p.report[int(np.argmax(p.search[-1]))]
    for r in cmp.rows:
        if r["n"] == 0:
            continue
        assert r["gap"] == pytest.approx(cmp.ceiling - r["mean"])
        assert r["ci_low"] <= r["mean"] <= r["ci_high"] and 0 <= r["reached"] <= 1
        assert r["seconds_to_target"] is not None
    # proxy lookups are charged: 1000 samples x 0.75 s exhaust this budget before the first query
    assert [r["n"] for r in cmp.rows if r["algorithm"].endswith("-proxy")] == [0, 0]
    files = cmp.write(tmp_path / "cmp")
    assert [f.name for f in files] == ["compare.md", "compare.csv", "anytime.png"]
    assert files[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| rea-proxy |" in files[0].read_text()
    assert len(files[1].read_text().splitlines()) == len(ALL) + 1
    flat = compare_algorithms(sstore, SPACE, "flat", ["all"], range(3), budget_queries=20)
    assert [r["algorithm"] for r in flat.rows] == ["random", "rea", "local", "reinforce", "bananas"]


# --------------------------------------------------------------------------- CLI
def test_cli_search(sstore, tmp_path):
    db = tmp_path / "s.db"
    disk = sqlite3.connect(db)
    sstore.conn.backup(disk)
    disk.close()

    def run(*args):
        return CliRunner().invoke(main, ["--db", str(db), "search", *args])

    r = run("list", "--json")
    assert r.exit_code == 0 and [a["name"] for a in json.loads(r.output)] == list(ALGORITHMS)
    r = run("run", "--algo", "rea", "--dataset", "synth", "--budget-queries", "20", "--seeds", "0-3")
    assert r.exit_code == 0 and "4 run, 0 reused" in r.output, r.output
    r = run("run", "--algo", "rea", "--dataset", "synth", "--budget-queries", "20", "--seeds", "0-3", "--json")
    assert json.loads(r.output)["reused"] == 4
    r = run("compare", "--dataset", "synth", "--algos", "random,rea,hyperband", "--budget-seconds", "100",
            "--seeds", "0-2", "--set", "rea.sample_size=4", "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [row["algorithm"] for row in out["rows"]] == ["random", "rea", "hyperband"]
    assert (tmp_path / "o" / "anytime.png").exists()
    r = run("compare", "--dataset", "synth", "--algos", "random", "--seeds", "0-2", "--budget-queries", "10")
    assert r.exit_code == 0 and "random" in r.output and "ceiling" in r.output
    r = run("runs", "--json")
    assert {row["algorithm"] for row in json.loads(r.output)} >= {"rea", "random", "hyperband"}
    for bad, msg in [(["run", "--algo", "nope", "--dataset", "synth"], "unknown search algorithm"),
                     (["run", "--algo", "rea", "--dataset", "synth", "--set", "x=1"], "no setting 'x'"),
                     (["run", "--algo", "rea", "--dataset", "flat", "--budget-seconds", "5"], "--budget-queries")]:
        r = run(*bad)
        assert r.exit_code == 2 and msg in r.output and len(r.output.strip().splitlines()) == 1, r.output


# --------------------------------------------------------------------------- real data
@pytest.mark.shared
def test_nb201_rea_beats_random_search():
    from zcdb.tabular.csv_table import import_csv

    test_csv = require_shared("nb201", "nats_tss_test_accuracy_200ep.csv")
    val_csv = require_shared("nb201", "naslib_val_accuracy_200ep.csv")
    store = zcdb.open(":memory:")
    import_csv(store, test_csv, SPACE, "ArchitectureString",
               {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc"),
                "CIFAR100TestAccuracy200Epochs": ("cifar100", "test_acc"),
                "ImageNetTestAccuracy200Epochs": ("ImageNet16-120", "test_acc")}, epoch=200)
    import_csv(store, val_csv, SPACE, "arch", {"cifar10": ("cifar10", "val_acc"), "cifar100": ("cifar100", "val_acc"),
                                               "ImageNet16-120": ("ImageNet16-120", "val_acc")}, epoch=200)
    ceilings = {d: load_problem(store, SPACE, d).ceiling()[1] for d in ("cifar10", "cifar100", "ImageNet16-120")}
    assert [round(c, 2) for c in ceilings.values()] == [94.30, 73.48, 46.44]
    seeds = range(500)
    rea = run_search(store, "rea", SPACE, "cifar10", seeds, budget_queries=300).trajectories.final_report()
    rnd = run_search(store, "random", SPACE, "cifar10", seeds, budget_queries=300).trajectories.final_report()
    # the calibration: REA 94.14 +- 0.17, random search 93.91 +- 0.24 over 500 seeds
    assert rea.mean() > rnd.mean() + 0.15
    assert abs(rea.mean() - 94.14) < 0.04 and abs(rnd.mean() - 93.91) < 0.04
    assert abs(rea.std(ddof=1) - 0.17) < 0.04 and abs(rnd.std(ddof=1) - 0.24) < 0.04
    store.close()


_USER_ALGO = '''
import dataclasses
from types import SimpleNamespace

import numpy as np

from zcdb.search import Algorithm


@dataclasses.dataclass(frozen=True)
class Greedy(Algorithm):
    """Sample ``explore`` random architectures, then keep re-querying the neighbours of the best so far."""

    explore: int = 20

    def start(self, ctx):
        return SimpleNamespace(problem=ctx.problem, best=np.full(ctx.n, -1), score=np.full(ctx.n, -np.inf), step=0)

    def ask(self, state, draws):
        p = state.problem
        rand = p.sample(draws.uniform(0, 1)[:, 0])
        if state.step < self.explore:
            return rand, None
        nb = p.neighbour_rows(state.best) if hasattr(p, "neighbour_rows") else None
        return rand if nb is None else np.where(nb[:, 0] >= 0, nb[:, 0], rand), None

    def tell(self, state, archs, epochs, scores, draws):
        better = scores > state.score
        state.best = np.where(better, archs, state.best)
        state.score = np.where(better, scores, state.score)
        state.step += 1


class NotAnAlgorithm:
    pass
'''


def test_your_own_algorithm_by_module_and_class(sstore, tmp_path, monkeypatch):
    (tmp_path / "my_algos.py").write_text(_USER_ALGO)
    monkeypatch.syspath_prepend(str(tmp_path))
    res = run_search(sstore, "my_algos:Greedy", SPACE, "synth", [0, 1, 2], budget_queries=30,
                     config={"explore": 10})
    again = run_search(sstore, "my_algos:Greedy", SPACE, "synth", [0, 1, 2], budget_queries=30,
                       config={"explore": 10})
    assert again.reused == 3  # stored like a built-in's runs, keyed by module:Class and its settings
    _equal(res.trajectories, again.trajectories)
    other = run_search(sstore, "my_algos:Greedy", SPACE, "synth", [0], budget_queries=30, config={"explore": 5})
    assert other.reused == 0
    r = CliRunner().invoke(main, ["--db", ":memory:", "search", "list"])
    assert "my_algos" not in r.output  # nothing registered itself
    for name, match in (("my_algos:NotAnAlgorithm", "is not a search algorithm"),
                        ("my_algos:Missing", "has no 'Missing'"), ("no_such_module:X", "cannot import 'no_such_module'"),
                        ("my algos:X", "bad algorithm"), ("nope", "unknown search algorithm 'nope'")):
        with pytest.raises(ZcdbError, match=match):
            run_search(sstore, name, SPACE, "synth", [0], budget_queries=5)


def test_compare_notes_proxy_aware_algorithms_that_rank_only_the_scored_pool(sstore):
    from zcdb.search.report import compare_algorithms

    with sstore.importing("few", "test", {}) as b:  # a proxy scored on 50 architectures only
        b.add_proxy_scores(SPACE, "synth", "few", 0, 64, "none", np.arange(50), np.arange(50.0), np.zeros(50))
    cmp = compare_algorithms(sstore, SPACE, "synth", ["random", "proxy"], [0, 1], budget_queries=10, proxies=["few"])
    assert len(cmp.notes) == 1 and cmp.notes[0].startswith("proxy ranks all 50 architectures with proxy scores")
    assert "Note: proxy ranks all 50" in cmp.to_markdown() and cmp.to_json()["notes"] == cmp.notes
    full = compare_algorithms(sstore, SPACE, "synth", ["proxy"], [0], budget_queries=10, proxies=["nwot"],
                              configs={"proxy": {"n_samples": 100}})
    assert full.notes == []  # a sample of 100 out of every architecture: nothing to say


def test_a_sparse_sample_says_mutations_fall_back_to_uniform_draws(sstore):
    """A table of 300 scattered NAS-Bench-201 cells (about a third have a stored neighbour): the
    comparison's notes say REA and local search mostly draw uniformly; the complete table says nothing."""
    val, test, _ = _landscape(3)
    few = np.sort(np.random.default_rng(4).choice(N, 300, replace=False))
    with sstore.importing("sparse", "test", new_dataset=True) as imp:
        imp.add_evaluations(SPACE, "sparse", "p", "val_acc", 200, -1, few, val[few])
        imp.add_evaluations(SPACE, "sparse", "p", "test_acc", 200, -1, few, test[few])
    sparse = load_problem(sstore, SPACE, "sparse")
    ok = sparse.available_at(sparse.neighbours_of(few)).any(axis=-1)
    assert sparse.neighbour_coverage() == ok.mean() < 0.5
    cmp = compare_algorithms(sstore, SPACE, "sparse", ["random", "rea"], range(3), budget_queries=20)
    assert any(f"holds 300 architectures with values of {N:,}: only {100 * ok.mean():.0f}% of them have a "
               "neighbour with values" in n for n in cmp.notes)
    full = compare_algorithms(sstore, SPACE, "synth", ["random", "rea"], range(3), budget_queries=20)
    assert load_problem(sstore, SPACE, "synth").neighbour_coverage() == 1.0
    assert not any("neighbour with values" in n for n in full.notes)
