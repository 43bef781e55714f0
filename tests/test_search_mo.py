"""Constrained and multi-objective search: feasibility in the runner, MO-REA, ParEGO, stored
multi-objective runs, hypervolume reports, and the bad input of ``--where``/``--objectives``.

The synthetic table (NAS-Bench-201's space) has a trade-off with structure: each operation
adds accuracy and latency (convolutions most of both), plus per-edge variation and noise,
so that a search that mutates good architectures beats random sampling.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

import zcdb
from zcdb.cli import main
from zcdb.errors import ZcdbError
from zcdb.pareto import hypervolume, non_dominated
from zcdb.search import Budget, config_hash, make_algorithm, run_search, simulate
from zcdb.search.mo_report import attainment_surfaces, compare_multiobjective
from zcdb.search.multiobjective import rank_and_crowding
from zcdb.search.problem import MultiObjectiveProblem, SearchProblem
from zcdb.search.report import compare_algorithms
from zcdb.search.runs import load_multiobjective_problem, load_problem
from zcdb.search.simple import RegularizedEvolution
from zcdb.spaces import nb201

N = nb201.NUM_ARCHS
SPACE = "nb201"
OBJ = "test_acc,latency_dev"
CONSTRAINT = "latency_dev<4"


def _table(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ops = nb201.ops_matrix().astype(np.int64)
    gain = np.array([-6.0, 0.0, 3.0, 5.0, 1.0]) + rng.normal(scale=1.0, size=(6, 5))  # none skip 1x1 3x3 pool
    cost = np.array([0.0, 0.1, 1.0, 2.5, 0.3]) * rng.uniform(0.5, 1.5, size=(6, 1))
    edges = np.arange(6)
    val = 60 + gain[edges, ops].sum(axis=1) + 0.5 * rng.normal(size=N)
    return dict(val_acc=val, test_acc=val + 0.3 * rng.normal(size=N),
                latency_dev=cost[edges, ops].sum(axis=1) + 0.05 * rng.random(N))


@pytest.fixture(scope="module")
def template():
    store = zcdb.open(":memory:")
    t = _table()
    idx = np.arange(N)
    with store.importing("synthetic", "test", new_dataset=True) as imp:
        imp.add_evaluations(SPACE, "synth", "p", "val_acc", 200, -1, idx, t["val_acc"])
        imp.add_evaluations(SPACE, "synth", "p", "test_acc", 200, -1, idx, t["test_acc"])
        imp.add_evaluations(SPACE, "synth", "p", "latency_dev", 0, -1, idx, t["latency_dev"])
    mem = sqlite3.connect(":memory:")
    store.conn.backup(mem)
    store.close()
    yield mem
    mem.close()


@pytest.fixture
def sstore(template):
    s = zcdb.open(":memory:")
    template.backup(s.conn)
    yield s
    s.close()


@pytest.fixture(scope="module")
def problems(template):
    s = zcdb.open(":memory:")
    template.backup(s.conn)
    out = dict(mo=load_multiobjective_problem(s, SPACE, "synth", OBJ),
               mo_cons=load_multiobjective_problem(s, SPACE, "synth", OBJ, constraints=[CONSTRAINT]),
               so_cons=load_problem(s, SPACE, "synth", constraints=[CONSTRAINT]))
    s.close()
    return out


def _equal(a, b) -> None:
    for f in ("seeds", "arch", "value", "incumbent", "incumbent_report", "length", "objectives"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


# --------------------------------------------------------------------------- multi-objective algorithms
@pytest.mark.parametrize("name,queries", [("random", 40), ("mo-rea", 80), ("parego", 30)])
def test_same_seed_same_front(problems, name, queries):
    p = problems["mo"]
    algo = make_algorithm(name, {"population_size": 20} if name == "mo-rea" else None)
    budget = Budget(queries=queries)
    many = simulate(p, algo, [3, 0, 7, 5], budget)
    alone = simulate(p, algo, [7], budget)
    _equal(alone, many.select([7]))
    _equal(alone, simulate(p, algo, [7], budget))
    assert not np.array_equal(simulate(p, algo, [8], budget).arch, alone.arch)
    # the recorded values are the table's, the incumbent the best first objective so far
    np.testing.assert_array_equal(many.objectives, p.objective_values[:, many.arch].transpose(1, 2, 0))
    np.testing.assert_array_equal(p.objective_values[0, many.incumbent],
                                  np.maximum.accumulate(many.objectives[:, :, 0], axis=1))


def test_mo_rea_beats_random_search(problems):
    p = problems["mo"]
    budget, seeds = Budget(queries=150), range(16)
    rea = simulate(p, make_algorithm("mo-rea", {"population_size": 20, "sample_size": 5}), seeds, budget)
    rnd = simulate(p, make_algorithm("random"), seeds, budget)
    a, b = rea.final_report(), rnd.final_report()
    assert a.mean() > b.mean() + 2 * np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / len(a)), (a.mean(), b.mean())
    # every child is a one-edge mutation of a member of the last population
    nbs = nb201.neighbour_table()
    for row in rea.arch[:3]:
        for t in range(20, 60):
            assert any(row[t] in nbs[parent] for parent in row[t - 20:t])


def test_rank_and_crowding():
    rng = np.random.default_rng(0)
    from zcdb.pareto import nondominated_rank

    x = rng.integers(0, 5, size=(20, 12, 3)).astype(float)
    rank, crowd = rank_and_crowding(x)
    for k in range(20):
        assert np.array_equal(rank[k], nondominated_rank(x[k], [True] * 3))
    # one front of four on a line: the ends are infinitely far, the middle ones by their neighbours' gaps
    line = np.array([[[0.0, 3.0], [1.0, 2.0], [2.5, 0.5], [3.0, 0.0]]])
    rank, crowd = rank_and_crowding(line)
    assert (rank == 0).all()
    assert np.isinf(crowd[0, [0, 3]]).all()
    np.testing.assert_allclose(crowd[0, 1:3], [2.5 / 3 * 2, 2.0 / 3 * 2])


# --------------------------------------------------------------------------- constraints
@dataclasses.dataclass(frozen=True)
class _Listening(RegularizedEvolution):
    """REA that keeps what it was told (the test reads it back through the class attribute)."""

    told = []  # noqa: RUF012  (shared on purpose: the frozen instance cannot hold it)

    def tell(self, state, archs, epochs, scores, draws):
        type(self).told.append((archs.copy(), scores.copy()))
        super().tell(state, archs, epochs, scores, draws)


@pytest.mark.parametrize("name", ["random", "rea", "local", "reinforce", "bananas"])
def test_constrained_incumbent_is_always_feasible(problems, name):
    p = problems["so_cons"]
    tr = simulate(p, make_algorithm(name), range(4), Budget(queries=60))
    assert (tr.length == 60).all()  # infeasible queries are paid too
    infeasible = ~p.feasible[tr.arch]
    assert infeasible.any() and not infeasible.all()
    has = tr.incumbent >= 0
    assert p.feasible[tr.incumbent[has]].all()
    # the incumbent is the best feasible value so far (its report value with it)
    best = np.maximum.accumulate(np.where(infeasible, -np.inf, tr.value), axis=1)
    np.testing.assert_array_equal(np.where(has, p.search[-1][np.maximum(tr.incumbent, 0)], -np.inf), best)
    np.testing.assert_array_equal(tr.incumbent_report[has], p.report[tr.incumbent[has]])


def test_infeasible_queries_are_told_the_penalty_and_counted(problems, sstore):
    p = problems["so_cons"]
    _Listening.told.clear()
    simulate(p, _Listening(), range(3), Budget(queries=30))
    archs = np.stack([a for a, _ in _Listening.told], axis=1)
    told = np.stack([s for _, s in _Listening.told], axis=1)
    ok = p.feasible[archs]
    assert (told[~ok] == p.penalty[-1]).all() and (told[ok] == p.search[-1][archs[ok]]).all()
    assert p.penalty[-1] < p.search[-1][p.available].min()
    # a constraint few architectures meet: most seeds end without a feasible incumbent, and the report says so
    tight = sorted(_table()["latency_dev"])[20]
    cmp = compare_algorithms(sstore, SPACE, "synth", ["random"], range(10), budget_queries=20,
                             constraints=[f"latency_dev<={tight}"])
    row = cmp.rows[0]
    res = cmp.results["random"]
    assert 0 <= row["found_feasible"] < 0.5 and row["n"] == round(10 * row["found_feasible"])
    assert row["infeasible_queries"] == pytest.approx((~res.problem.feasible[res.trajectories.arch]).mean())
    assert (res.trajectories.final_arch() == -1).sum() == 10 - row["n"]


def test_constrained_report_and_stored_runs(sstore, tmp_path):
    cmp = compare_algorithms(sstore, SPACE, "synth", ["random", "rea"], range(6), budget_queries=40,
                             constraints=[CONSTRAINT])
    p = cmp.problem
    feas = p.available & p.feasible
    assert cmp.ceiling == p.report[np.flatnonzero(feas)[np.argmax(p.search[-1][feas])]]
    assert cmp.best == p.report[feas].max() < p.report[p.available].max()
    text = cmp.to_markdown()
    assert "Feasible ceiling" in text and "found feasible" in text and "under latency_dev<4" in text
    assert [f.name for f in cmp.write(tmp_path)] == ["compare.md", "compare.csv", "anytime.png"]
    # the constraints key the runs: others are other runs, the same ones written differently are not
    plain = run_search(sstore, "rea", SPACE, "synth", range(6), budget_queries=40)
    again = run_search(sstore, "rea", SPACE, "synth", range(6), budget_queries=40, constraints=["latency_dev < 4.0"])
    other = run_search(sstore, "rea", SPACE, "synth", range(2), budget_queries=40, constraints=["latency_dev<5"])
    assert again.reused == 6 and again.config_hash == cmp.rows[1]["config_hash"]
    assert len({plain.config_hash, again.config_hash, other.config_hash}) == 3
    configs = [json.loads(r[0]) for r in sstore.conn.execute("SELECT DISTINCT config FROM search_runs")]
    assert sorted(c.get("problem", {}).get("constraints", [""])[0] for c in configs) == [
        "", "latency_dev<4", "latency_dev<4", "latency_dev<5"]
    # unconstrained runs keep the hash they had before constraints existed
    assert plain.config_hash == config_hash(make_algorithm("rea"), (), plain.problem.fingerprint(False))[1]


# --------------------------------------------------------------------------- stored multi-objective runs
def test_stored_hypervolume_equals_recomputation(sstore):
    first = run_search(sstore, "mo-rea", SPACE, "synth", range(4), budget_queries=40, objectives=OBJ,
                       constraints=[CONSTRAINT], config={"population_size": 10})
    back = run_search(sstore, "mo-rea", SPACE, "synth", range(4), budget_queries=40, objectives=OBJ,
                      constraints=[CONSTRAINT], config={"population_size": 10})
    assert (first.computed, back.reused) == (4, 4)
    _equal(first.trajectories, back.trajectories)
    p, tr = back.problem, back.trajectories
    for k in range(4):
        ok = p.feasible[tr.arch[k]]
        hv = [hypervolume(tr.objectives[k, :t + 1][ok[:t + 1]], p.reference, p.maximize) if ok[:t + 1].any()
              else 0.0 for t in range(40)]
        np.testing.assert_allclose(tr.incumbent_report[k], hv, rtol=1e-12, atol=0)
    rows = sstore.conn.execute("SELECT search_metric, report_metric, final_report FROM search_runs ORDER BY seed")
    assert [(a, b) for a, b, _ in rows.fetchall()] == [(OBJ, "hypervolume")] * 4
    finals = [r[0] for r in sstore.conn.execute("SELECT final_report FROM search_runs ORDER BY seed")]
    np.testing.assert_array_equal(finals, tr.incumbent_report[:, -1])
    n_obj = sstore.conn.execute("SELECT COUNT(*) FROM search_objectives").fetchone()[0]
    assert n_obj == 4 * 40 * 2
    # another reference point is another run; the default one is recorded in the config
    cfg = json.loads(sstore.conn.execute("SELECT config FROM search_runs LIMIT 1").fetchone()[0])
    assert cfg["problem"]["reference"] == list(p.reference) and cfg["problem"]["objectives"] == OBJ.split(",")
    other = run_search(sstore, "mo-rea", SPACE, "synth", [0], budget_queries=40, objectives=OBJ,
                       constraints=[CONSTRAINT], config={"population_size": 10}, reference=[50, 20])
    assert other.computed == 1 and np.array_equal(other.trajectories.arch, tr.arch[:1])


def test_compare_multiobjective_report(sstore, tmp_path):
    cmp = compare_multiobjective(sstore, SPACE, "synth", OBJ, ["all"], range(5), budget_queries=30,
                                 configs={"mo-rea": {"population_size": 10}})
    assert [r["algorithm"] for r in cmp.rows] == ["random", "mo-rea", "parego"]
    p = cmp.problem
    front = p.objective_values[:, cmp.table_front].T
    assert cmp.table_hypervolume == pytest.approx(hypervolume(p.objective_values.T, p.reference, p.maximize))
    assert non_dominated(front, p.maximize).all()
    for r in cmp.rows:
        assert r["ci_low"] <= r["mean"] <= r["ci_high"] and 0 < r["share"] <= 1
        assert r["at"]["10"] <= r["at"]["30"] == pytest.approx(r["mean"])
        assert 1 <= r["front_size"] <= 30
    files = cmp.write(tmp_path / "mo")
    assert [f.name for f in files] == ["compare.md", "compare.csv", "anytime.csv", "anytime.png", "fronts.png"]
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files[3:])
    assert len(files[1].read_text().splitlines()) == 4
    assert len(files[2].read_text().splitlines()) == 1 + 3 * 30
    assert "| mo-rea |" in files[0].read_text() and "default: the worst value" in files[0].read_text()


def test_attainment_surface_of_one_seed_is_its_front(problems):
    p = problems["mo"]
    tr = simulate(p, make_algorithm("random"), [0], Budget(queries=25))
    res = type("R", (), dict(problem=p, trajectories=tr))()
    grid, (surface,) = attainment_surfaces(res, [0.5])
    pts = tr.objectives[0]
    for g, a in zip(grid, surface):
        assert a == pts[pts[:, 1] <= g, 0].max()


# --------------------------------------------------------------------------- CLI
def _db(sstore, tmp_path):
    db = tmp_path / "s.db"
    disk = sqlite3.connect(db)
    sstore.conn.backup(disk)
    disk.close()
    return db


def test_cli_constrained_and_multiobjective(sstore, tmp_path):
    db = _db(sstore, tmp_path)

    def run(*args):
        return CliRunner().invoke(main, ["--db", str(db), "search", *args])

    r = run("run", "--algo", "rea", "--dataset", "synth", "--where", CONSTRAINT, "--where", "test_acc>50",
            "--budget-queries", "20", "--seeds", "0-3", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["constraints"] == ["latency_dev<4", "test_acc>50"] and out["computed"] == 4
    r = run("compare", "--dataset", "synth", "--objectives", OBJ, "--algos", "random,mo-rea", "--seeds", "0-2",
            "--budget-queries", "15", "--reference", "40,20", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert "reference point (test_acc 40, latency_dev 20)" in r.output and "mo-rea" in r.output
    assert (tmp_path / "o" / "fronts.png").exists()
    r = run("runs", "--json")
    assert {(g["algorithm"], g["report_metric"]) for g in json.loads(r.output)} == {
        ("rea", "test_acc"), ("random", "hypervolume"), ("mo-rea", "hypervolume")}


@pytest.mark.parametrize("args,message", [
    (["--objectives", "test_acc"], "two or more objectives"),
    (["--where", "latency_nope<5"], "has no 'latency_nope'"),
    (["--where", "latency_dev<<5"], "malformed constraint"),
    (["--where", "latency_dev<-1"], "loosen the constraints"),
    (["--objectives", OBJ, "--reference", "200,0"], "bounds no architecture"),
    (["--objectives", OBJ, "--reference", "1,2,3"], "needs 2 finite numbers"),
    (["--objectives", OBJ, "--reference", "a,b"], "bad reference point"),
    (["--reference", "1,2"], "give --objectives"),
    (["--objectives", OBJ, "--algos", "rea"], "rea is single-objective"),
    (["--algos", "mo-rea"], "mo-rea is multi-objective"),
    (["--objectives", "test_acc,nope"], "has no nope"),
])
def test_cli_bad_input_is_one_line(sstore, tmp_path, args, message):
    db = _db(sstore, tmp_path)
    r = CliRunner().invoke(main, ["--db", str(db), "search", "compare", "--dataset", "synth", "--seeds", "0",
                                  "--budget-queries", "5", *args])
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_problem_errors_in_the_api(problems):
    p = problems["mo"]
    with pytest.raises(ZcdbError, match="single-objective"):
        simulate(p, make_algorithm("rea"), [0], Budget(queries=3))
    with pytest.raises(ZcdbError, match="multi-objective"):
        simulate(problems["so_cons"], make_algorithm("parego"), [0], Budget(queries=3))
    assert isinstance(p, MultiObjectiveProblem) and isinstance(problems["so_cons"], SearchProblem)
    assert p.maximize == (True, False) and p.objective_units == ("%", "ms")
    assert list(p.reference) == [p.objective_values[0].min(), p.objective_values[1].max()]
