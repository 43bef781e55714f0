"""Search on a served benchmark: the problem asks the surrogate for the architectures proposed
(nb301 global ids), simulated wall-clock budgets from its train_time, stored runs, comparisons."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import zcdb  # noqa: E402
from zcdb.errors import ZcdbError  # noqa: E402
from zcdb.search import compare_algorithms, run_search  # noqa: E402
from zcdb.search.registry import ALGORITHMS, make_algorithm  # noqa: E402
from zcdb.search.report import default_algorithms  # noqa: E402
from zcdb.search.runner import Budget, simulate  # noqa: E402
from zcdb.search.served import ServedProblem, open_served_problem  # noqa: E402
from zcdb.served import open_served  # noqa: E402
from zcdb.spaces import get_space  # noqa: E402

from . import _yahpo  # noqa: E402
from .conftest import run_cli  # noqa: E402

SP = get_space("nb301")
APPLY = ["random", "rea", "local", "bananas"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _yahpo.write_files(tmp_path_factory.mktemp("yahpo"))


@pytest.fixture(scope="module")
def problem(model):
    return ServedProblem(open_served("nb301", model), reference_size=2000)


def test_every_algorithm_that_applies_runs_and_the_rest_say_why(problem):
    assert default_algorithms(problem) == APPLY
    for name in ALGORITHMS:
        algo = make_algorithm(name)
        if name in APPLY:
            tr = simulate(problem, algo, [0, 1], Budget(queries=12))
            assert (tr.length == 12).all() and (tr.arch >= 0).all()
            continue
        with pytest.raises(ZcdbError) as exc:
            simulate(problem, algo, [0], Budget(queries=3))
        assert "\n" not in str(exc.value)
        assert "does not apply to a served benchmark" in str(exc.value) or "multi-objective" in str(exc.value)


@pytest.mark.parametrize("name", ["random", "rea", "local"])
def test_trajectories_are_the_served_values_and_seeds_independent(problem, name):
    b = problem.bench
    tr = simulate(problem, make_algorithm(name), [0, 5, 9], Budget(queries=40))
    alone = simulate(problem, make_algorithm(name), [5], Budget(queries=40))
    np.testing.assert_array_equal(alone.arch[0], tr.arch[1])
    for k in range(3):
        ids = tr.arch[k]
        np.testing.assert_allclose(tr.value[k], b.values("val_acc", archs=ids))
        best = np.maximum.accumulate(tr.value[k])
        np.testing.assert_allclose(tr.incumbent_report[k], best)  # report = search metric, at epoch 98
        SP.indices_of(ids)  # every proposal is a valid id
    assert len(set(tr.arch[0].tolist())) > 30  # 1e18 ids: almost no repeats
    if name == "local":  # each move is to one of the 120 neighbours of the incumbent at the time
        nb = set(SP.neighbours(int(tr.arch[0, 0])))
        assert int(tr.arch[0, 1]) in nb


def test_time_budget_is_the_surrogates_train_time(problem):
    budget = 60_000.0
    tr = simulate(problem, make_algorithm("random"), [0, 1, 2], Budget(seconds=budget))
    b = problem.bench
    for k in range(3):
        n = int(tr.length[k])
        ids = tr.arch[k, :n]
        assert len(set(ids.tolist())) == n  # no repeat: every query trains a new architecture
        np.testing.assert_allclose(tr.time[k, :n], np.cumsum(b.values("train_time", archs=ids)))
        assert tr.time[k, n - 1] <= budget
        nxt = simulate(problem, make_algorithm("random"), [int(tr.seeds[k])], Budget(queries=n + 1))
        assert nxt.time[0, n] > budget  # it stopped before the first query that would end past the budget


def test_sampling_is_uniform_over_ids(problem):
    u = np.random.default_rng(0).random(200_000)
    ids = problem.sample(u)
    assert ids.min() >= 0 and ids.max() < SP.num_genotypes
    # no residue class favoured: the last digit of the reduce cell's code (490 values) is uniform
    counts = np.bincount(ids % 490, minlength=490)
    from scipy import stats

    assert stats.chisquare(counts).pvalue > 1e-4
    assert np.abs(ids.mean() / SP.num_genotypes - 0.5) < 0.01


def test_runs_are_stored_and_64_bit_ids_read_back_exactly(tmp_path, model):
    store = zcdb.open(tmp_path / "z.db")
    prob = open_served_problem("nb301", "cifar10", model)
    a = run_search(store, "rea", "nb301", "cifar10", range(4), budget_seconds=50_000, problem=prob)
    b = run_search(store, "rea", "nb301", "cifar10", range(4), budget_seconds=50_000, problem=prob)
    assert (a.computed, b.reused) == (4, 4)
    assert (a.trajectories.arch > 2**53).any()
    for f in ("arch", "incumbent", "epoch", "length"):
        np.testing.assert_array_equal(getattr(a.trajectories, f), getattr(b.trajectories, f))
    np.testing.assert_allclose(a.trajectories.incumbent_report, b.trajectories.incumbent_report)
    # another model file is another run
    other = _yahpo.write_files(tmp_path / "other")
    blob = bytearray(other.read_bytes())
    blob[-1] ^= 1  # a different bias: other numbers
    other.write_bytes(bytes(blob))
    c = run_search(store, "rea", "nb301", "cifar10", range(2), budget_seconds=50_000,
                   problem=open_served_problem("nb301", "cifar10", other))
    assert c.computed == 2 and c.config_hash != a.config_hash


def test_compare_writes_table_and_plot(tmp_path, model):
    store = zcdb.open(tmp_path / "z.db")
    prob = open_served_problem("nb301", "cifar10", model)
    prob.reference_size = 3000
    cmp = compare_algorithms(store, "nb301", "cifar10", ["random", "rea", "local"], range(5),
                             budget_seconds=80_000, problem=prob)
    files = cmp.write(tmp_path / "out")
    md = (tmp_path / "out" / "compare.md").read_text()
    assert all(f.exists() for f in files) and "| rea |" in md and "uniform sample of 3,000" in md
    assert [r["algorithm"] for r in cmp.rows] == ["random", "rea", "local"]
    assert all(r["seconds_to_target"] is not None for r in cmp.rows)


def test_cli_search_on_the_surrogate(tmp_path, model):
    db = tmp_path / "z.db"
    common = ["--space", "nb301", "--dataset", "cifar10", "--surrogate", str(model)]
    r = run_cli(db, "search", "run", "--algo", "local", *common, "--budget-seconds", "40000", "--seeds", "0-2",
                "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["n"] == 3 and out["budget_kind"] == "seconds"
    r = run_cli(db, "search", "compare", "--algos", "random,local", *common, "--budget-seconds", "40000",
                "--seeds", "0-2", "--out", str(tmp_path / "cmp"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cmp" / "anytime.png").exists() and "local" in r.output
    for algo, msg in (("reinforce", "does not apply"), ("proxy", "does not apply"), ("sh", "does not apply")):
        r = run_cli(db, "search", "run", "--algo", algo, *common, "--budget-queries", "5", "--seeds", "0")
        assert r.exit_code == 2 and msg in r.output and r.output.count("\n") == 1, r.output
    r = run_cli(db, "search", "run", "--algo", "rea", "--space", "nb301", "--dataset", "cifar100", "--surrogate",
                str(model), "--seeds", "0")
    assert r.exit_code == 2 and "give --dataset cifar10" in r.output
    r = run_cli(db, "search", "run", "--algo", "rea", *common, "--where", "val_acc>90", "--seeds", "0")
    assert r.exit_code == 2 and "not served" in r.output


def test_fidelities_let_successive_halving_and_hyperband_run(model):
    prob = open_served_problem("nb301", "cifar10", model, epochs="1,4,11,33,98")
    assert default_algorithms(prob) == APPLY[:3] + ["bananas", "sh", "hyperband"]
    b = prob.bench
    for name in ("sh", "hyperband"):
        tr = simulate(prob, make_algorithm(name), [0, 1], Budget(queries=150))
        assert set(tr.epoch[0].tolist()) <= {1, 4, 11, 33, 98} and len(set(tr.epoch[0].tolist())) > 2
        for e in np.unique(tr.epoch):
            at = tr.epoch == e
            np.testing.assert_allclose(tr.value[at], b.values("val_acc", int(e), archs=tr.arch[at]))
    # the simulated time to an epoch never decreases with the epoch (checkpoints are resumed)
    ids = SP.sample(200, 5)
    costs = np.stack([prob.cost_at(np.full(ids.shape, e), ids) for e in range(5)])
    assert (np.diff(costs, axis=0) >= 0).all()
    np.testing.assert_allclose(costs[0], b.values("train_time", 1, archs=ids))
    with pytest.raises(ZcdbError, match="epochs 1..98"):
        open_served_problem("nb301", "cifar10", model, epochs="0,98")
    with pytest.raises(ZcdbError, match="bad --fidelities"):
        open_served_problem("nb301", "cifar10", model, epochs="a,b")
