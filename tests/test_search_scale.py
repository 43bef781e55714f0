"""Search on a space too large for per-architecture tables (NAS-Bench-101): neighbours asked for
as needed, memory that grows with the queries, proxy samples drawn without a number per architecture."""

from __future__ import annotations

import numpy as np

from zcdb.search import Budget, make_algorithm, simulate
from zcdb.search.base import _distinct_draws
from zcdb.search.problem import SearchProblem
from zcdb.search.rng import Draws, seed_keys
from zcdb.spaces import get_space, nb101


def _problem(with_cost: bool) -> SearchProblem:
    n = get_space("nb101").size
    rng = np.random.default_rng(0)
    search = rng.uniform(80, 95, (2, n))
    cost = np.stack([np.full(n, 100.0), np.full(n, 300.0)]) if with_cost else None
    return SearchProblem(space="nb101", dataset="synthetic", protocol="p", search_metric="val_acc",
                         report_metric="test_acc", epochs=np.array([36, 108]), search=search,
                         report=search[1] - 0.5, cost=cost)


def test_rea_on_nb101_asks_only_for_the_neighbours_it_needs():
    problem = _problem(with_cost=True)
    seeds, queries = list(range(30)), 60
    traj = simulate(problem, make_algorithm("rea"), seeds, Budget(queries=queries))
    assert traj.arch.shape == (30, 60) and (traj.arch >= 0).all()
    done = nb101._NEIGHBOURS.done
    assert 0 < done.sum() <= len(seeds) * queries  # rows of the parents met, not of the 423,624
    # every child after the first population is a neighbour of a member of its seed's population
    # (or a random draw, where the parent has no neighbour: the input-output cell has none)
    for row in traj.arch[:5]:
        for t in range(10, queries):
            lists = [nb101.SPACE.neighbours(int(p)) for p in row[t - 10:t]]
            assert any(row[t] in nb for nb in lists) or not all(lists)
    # the training clock: each query of a new architecture costs its 108-epoch time, a repeat nothing
    for k in range(5):
        first = {a: j for j, a in reversed(list(enumerate(traj.arch[k])))}
        assert traj.time[k, -1] == 300.0 * len(first)
    alone = simulate(problem, make_algorithm("rea"), [7], Budget(queries=queries))
    assert np.array_equal(alone.arch[0], traj.arch[7])


def test_distinct_draws_are_distinct_uniform_and_per_seed():
    d = Draws(seed_keys(np.arange(40)), 3)
    a = _distinct_draws(d, 0, 500, 200_000)
    assert a.shape == (40, 500) and all(np.unique(r).size == 500 for r in a) and a.min() >= 0
    assert a.max() < 200_000 and abs(a.mean() - 100_000) < 3_000
    alone = _distinct_draws(Draws(seed_keys(np.array([5])), 3), 0, 500, 200_000)
    assert np.array_equal(alone[0], a[5])
