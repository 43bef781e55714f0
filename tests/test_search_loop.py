"""Plain-loop searches (zcdb.search.loop): the runner's draws and clock, stored and compared like any run.

Runs on the synthetic NAS-Bench-201 table of ``test_search`` (an additive landscape with
curves over epochs 1, 3, 9 and training times; ``flat``: one epoch, 60% of the architectures).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import zcdb
from zcdb.cli import main
from zcdb.errors import ZcdbError
from zcdb.search import BudgetExhausted, compare_algorithms, loop, run_search

from .conftest import dump
from .test_search import SPACE, _build_template

FIELDS = ("arch", "epoch", "value", "time", "incumbent", "incumbent_report")


@pytest.fixture(scope="module")
def template():
    mem = _build_template()
    yield mem
    mem.close()


@pytest.fixture
def lstore(template, tmp_path):
    """A store file holding the synthetic tables (a file, so that the CLI can open it too)."""
    path = tmp_path / "loop.db"
    s = zcdb.open(path)
    template.backup(s.conn)
    yield s
    s.close()


def plain_random(store, seed, dataset="synth", name="plain-random", **budget):
    with loop(store, SPACE, dataset, seed=seed, name=name, **budget) as run:
        while not run.done:
            run.query(run.sample())
    return run


def plain_rea(store, seed, population=10, sample=3, **budget):
    """Regularized evolution written as a reader of Real et al. would: a ring buffer of the population."""
    with store.loop(SPACE, "synth", seed=seed, name="plain-rea",
                    settings=dict(population_size=population, sample_size=sample), **budget) as run:
        arch, score = [0] * population, [-np.inf] * population
        t = 0
        while True:  # the with block ends the search when the budget is spent
            if t < population:
                a = run.sample()
            else:
                pick = run.integers(population, sample)
                parent = arch[pick[int(np.argmax([score[i] for i in pick]))]]
                a = run.mutate(parent)
            arch[t % population], score[t % population] = a, run.query(a)
            t += 1
    return run


def same_rows(loop_traj, ref, seed):
    k = ref.seeds.tolist().index(seed)
    n = int(loop_traj.length[0])
    assert n == int(ref.length[k])
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(loop_traj, f)[0, :n], getattr(ref, f)[k, :n], err_msg=f)


@pytest.mark.parametrize("budget", [dict(budget_queries=150), dict(budget_seconds=400.0)])
def test_plain_random_search_has_the_built_in_trajectory(lstore, budget):
    ref = run_search(lstore, "random", SPACE, "synth", [0, 1, 5], **budget).trajectories
    for seed in (5, 0, 1):
        same_rows(plain_random(lstore, seed, **budget).result.trajectories, ref, seed)


def test_plain_rea_has_the_built_in_trajectory(lstore):
    ref = run_search(lstore, "rea", SPACE, "synth", [0, 3], budget_seconds=600.0).trajectories
    for seed in (3, 0):
        run = plain_rea(lstore, seed, budget_seconds=600.0)
        same_rows(run.result.trajectories, ref, seed)
        assert run.used_time <= 600.0 and run.done


def test_a_stored_loop_appears_in_search_compare(lstore):
    for seed in range(4):
        plain_random(lstore, seed, budget_queries=100)
    cmp = compare_algorithms(lstore, SPACE, "synth", ["random", "rea"], range(4), budget_queries=100,
                             loops=["plain-random"])
    rows = {r["algorithm"]: r for r in cmp.rows}
    assert set(rows) == {"random", "rea", "loop:plain-random"}
    # the same draws: the same row, but for the CPU time and the run count
    for k in ("n", "mean", "std", "gap", "regret", "queries_to_target", "reached"):
        assert rows["loop:plain-random"][k] == rows["random"][k], k
    res = CliRunner().invoke(main, ["--db", str(lstore.path), "search", "compare", "--dataset", "synth",
                                    "--algos", "random", "--loops", "plain-random", "--seeds", "0-3",
                                    "--budget-queries", "100", "--json"])
    assert res.exit_code == 0, res.output
    got = {r["algorithm"]: r["mean"] for r in json.loads(res.output)["rows"]}
    assert got == {"random": rows["random"]["mean"], "loop:plain-random": rows["random"]["mean"]}
    res = CliRunner().invoke(main, ["--db", str(lstore.path), "search", "runs", "--json"])
    assert any(r["algorithm"] == "loop:plain-random" and r["seeds"] == 4 for r in json.loads(res.output))


def test_compare_needs_every_seed_and_one_configuration(lstore):
    for seed in (0, 1):
        plain_random(lstore, seed, budget_queries=50)
    with pytest.raises(ZcdbError, match=r"no stored run for seed\(s\) 2-3 \(it has 0-1\).*--seeds 0-1"):
        compare_algorithms(lstore, SPACE, "synth", [], range(4), budget_queries=50, loops=["plain-random"])
    with pytest.raises(ZcdbError, match="no stored runs of loop:other"):
        compare_algorithms(lstore, SPACE, "synth", [], [0], budget_queries=50, loops=["other"])
    with pytest.raises(ZcdbError, match="no stored runs of loop:plain-random.*run the loop first"):
        compare_algorithms(lstore, SPACE, "synth", [], [0], budget_queries=60, loops=["plain-random"])
    # a second configuration under the same name: name one by its hash
    with loop(lstore, SPACE, "synth", seed=0, name="plain-random", version=2, budget_queries=50) as run:
        while not run.done:
            run.query(run.mutate(run.sample()))
    with pytest.raises(ZcdbError, match="2 stored configurations.*plain-random@"):
        compare_algorithms(lstore, SPACE, "synth", [], [0], budget_queries=50, loops=["plain-random"])
    cmp = compare_algorithms(lstore, SPACE, "synth", [], [0], budget_queries=50,
                             loops=[f"plain-random@{run.config_hash}"])
    assert cmp.rows[0]["config_hash"] == run.config_hash


def test_rerun_is_reused_and_a_changed_loop_is_refused(lstore):
    first = plain_random(lstore, 7, budget_queries=40)
    before = dump(lstore)
    again = plain_random(lstore, 7, budget_queries=40)
    assert (again.result.reused, again.result.computed) == (1, 0)
    assert dump(lstore) == before
    with pytest.raises(ZcdbError, match="stored with another trajectory.*version=N\\+1"):
        with loop(lstore, SPACE, "synth", seed=7, name="plain-random", budget_queries=40) as run:
            while not run.done:
                run.query(run.sample() if run.queries else 0)
    assert dump(lstore) == before
    assert first.config_hash == again.config_hash


def test_budget_end_and_errors(lstore):
    run = loop(lstore, SPACE, "synth", seed=0, budget_queries=3, name="edges")
    a = run.sample()
    first = run.query(a, epoch=1)
    assert run.used_time == pytest.approx(run.problem.cost[0, a])
    run.query(a, epoch=1)  # a repeat costs nothing
    assert run.used_time == pytest.approx(run.problem.cost[0, a])
    run.query(a)  # the rest of its training: to epoch 9
    assert run.used_time == pytest.approx(run.problem.cost[-1, a])
    assert run.done and first == pytest.approx(run.history[0]["value"])
    with pytest.raises(BudgetExhausted, match="budget of 3 queries is spent"):
        run.query(a)
    with pytest.raises(ZcdbError, match="not 4: query one of them"):
        run.query(a, epoch=4)
    run.finish()
    assert run.finish() is run.result
    with pytest.raises(ZcdbError, match="finished and stored"):
        run.sample()
    # an error inside the block stores nothing
    before = dump(lstore)
    with pytest.raises(KeyError):
        with loop(lstore, SPACE, "synth", seed=1, budget_queries=5, name="broken") as run:
            run.query(run.sample())
            raise KeyError("boom")
    assert dump(lstore) == before
    flat = loop(lstore, SPACE, "flat", seed=0, budget_queries=5)
    missing = int(np.flatnonzero(~flat.problem.available)[0])
    with pytest.raises(ZcdbError, match=f"architecture {missing} has no val_acc.*sample\\(\\)"):
        flat.query(missing)
    with pytest.raises(ZcdbError, match="no train_time.*budget_queries"):
        loop(lstore, SPACE, "flat", seed=0, budget_seconds=100.0)
    with pytest.raises(ZcdbError, match="bad loop name"):
        loop(lstore, SPACE, "synth", seed=0, name="my loop")


def test_arch_strings_and_draws(lstore):
    run = loop(lstore, SPACE, "synth", seed=3, budget_queries=5)
    a = run.sample()
    s = run.arch_string(a)
    assert run.index(s) == a and run.query(s) == run.problem.search[-1, a]
    assert all(n in run.neighbours(a) or not run.problem.available[n] for n in [run.mutate(a) for _ in range(5)])
    u = run.uniform(4)
    assert u.shape == (4,) and ((0 <= u) & (u < 1)).all()
    k = run.integers(7, 50)
    assert k.min() >= 0 and k.max() <= 6
    other = loop(lstore, SPACE, "synth", seed=3, budget_queries=5)
    other.sample()
    other.query(s)
    assert other.uniform(4).tolist() == u.tolist()  # a function of (seed, step, stream, position)


def test_search_study_ranks_a_loop_beside_the_algorithms(lstore):
    from zcdb.study import search_study

    for dataset in ("synth", "flat"):
        for seed in range(3):
            with loop(lstore, SPACE, dataset, seed=seed, name="plain-random", budget_queries=30,
                      search_metric="val_acc", report_metric="val_acc") as run:
                while not run.done:
                    run.query(run.sample())
    st = search_study(lstore, "random,rea", f"{SPACE}/synth,{SPACE}/flat", "0-2", 30, loops="plain-random",
                      metrics=[f"{SPACE}/synth=val_acc", f"{SPACE}/flat=val_acc"])
    by = {(r["benchmark"], r["algorithm"]): r for r in st.rows}
    assert {a for _, a in by} == {"random", "rea", "loop:plain-random"}
    for b in (f"{SPACE}/synth", f"{SPACE}/flat"):
        # the plain-loop random search draws what the built-in random search draws
        assert by[(b, "loop:plain-random")]["value"] == by[(b, "random")]["value"]
    assert st.spec["loops"] == ["plain-random"]
    with pytest.raises(ZcdbError, match="no stored runs of loop:nothing"):
        search_study(lstore, "random", f"{SPACE}/synth", "0-2", 30, loops="nothing",
                     metrics=[f"{SPACE}/synth=val_acc"])

