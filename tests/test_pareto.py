"""Pareto fronts, hypervolume and constraints (zcdb.pareto, zcdb.constraints)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zcdb.constraints import feasible, parse
from zcdb.errors import ZcdbError
from zcdb.pareto import hypervolume, hypervolume_trajectory, non_dominated, nondominated_rank


def _dominates(a, b):
    return bool(np.all(a <= b) and np.any(a < b))


points = st.integers(1, 40).flatmap(lambda n: st.integers(2, 4).flatmap(
    lambda k: arrays(np.float64, (n, k), elements=st.integers(0, 6).map(float))))


@settings(max_examples=150, deadline=None)
@given(points, st.data())
def test_front_is_non_dominated_and_complete(p, data):
    maximize = data.draw(st.lists(st.booleans(), min_size=p.shape[1], max_size=p.shape[1]))
    q = p * np.where(maximize, -1.0, 1.0)
    mask = non_dominated(p, maximize)
    for i in range(len(p)):
        dominated = any(_dominates(q[j], q[i]) for j in range(len(p)))
        assert mask[i] == (not dominated)
    rank = nondominated_rank(p, maximize)
    assert np.array_equal(rank == 0, mask)


def test_known_two_d_front_closed_form():
    # maximise accuracy, minimise latency; reference (acc 0, latency 10)
    pts = np.array([[90.0, 8.0], [80.0, 4.0], [70.0, 2.0], [60.0, 3.0]])  # the last is dominated by (70, 2)
    assert non_dominated(pts, [True, False]).tolist() == [True, True, True, False]
    # staircase: 70*(10-2) + (80-70)*(10-4) + (90-80)*(10-8)
    assert hypervolume(pts, [0.0, 10.0], [True, False]) == pytest.approx(70 * 8 + 10 * 6 + 10 * 2)


def _grid_hv(q, r):
    """Monte-Carlo-free check: count grid cells dominated (minimisation, integer coordinates)."""
    axes = [np.arange(0, int(x)) + 0.5 for x in r]
    cnt = 0
    for cell in itertools.product(*axes):
        if np.any(np.all(q <= np.array(cell), axis=1)):
            cnt += 1
    return cnt


@settings(max_examples=40, deadline=None)
@given(st.tuples(st.integers(1, 8), st.integers(2, 3)).flatmap(
    lambda nk: arrays(np.float64, nk, elements=st.integers(0, 5).map(float))))
def test_hypervolume_equals_counting_on_integer_points(q):
    r = np.full(q.shape[1], 6.0)
    assert hypervolume(q, r, [False] * q.shape[1]) == pytest.approx(_grid_hv(q, r))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.integers(2, 3).flatmap(lambda k: st.tuples(
    arrays(np.float64, (n, k), elements=st.integers(0, 6).map(float)), arrays(np.bool_, n)))), st.data())
def test_hypervolume_trajectory_is_the_hypervolume_of_every_prefix(pv, data):
    p, valid = pv
    maximize = data.draw(st.lists(st.booleans(), min_size=p.shape[1], max_size=p.shape[1]))
    ref = np.where(maximize, -1.0, 7.0)
    hv = hypervolume_trajectory(p, ref, maximize, valid)
    for t in range(len(p)):
        pts = p[:t + 1][valid[:t + 1]]
        assert hv[t] == pytest.approx(hypervolume(pts, ref, maximize) if len(pts) else 0.0, rel=1e-12, abs=0)


def test_bad_input_is_one_line():
    with pytest.raises(ZcdbError, match="two or more objectives"):
        non_dominated(np.ones((3, 1)), [True])
    with pytest.raises(ZcdbError, match="reference point needs 2"):
        hypervolume(np.ones((3, 2)), [1.0], [True, True])
    assert hypervolume(np.ones((3, 2)), [5.0, 5.0], [True, True]) == 0.0  # the reference dominates every point
    for bad in ("latency<", "latency_edgegpu<<5", "params ~ 3", "5<params", "params<nan"):
        with pytest.raises(ZcdbError, match="malformed constraint"):
            parse(bad)


class _Bench:
    def __init__(self, cols):
        self.cols = cols

    def epochs(self, metric):
        return [0]

    def values(self, metric, epoch=None):
        return self.cols[metric]


def test_constraints_exclude_and_count_missing():
    b = _Bench({"latency_edgegpu": np.array([4.0, 6.0, np.nan, 1.0]), "params": np.array([0.5, 0.1, 0.2, 2.0])})
    f = feasible(b, ["latency_edgegpu<5", "params <= 1.0"])
    assert f.mask.tolist() == [True, False, False, False]
    assert f.missing == {"latency_edgegpu<5": 1, "params<=1": 0}
    assert f.violated == {"latency_edgegpu<5": 1, "params<=1": 1}
    assert "1 of 4 architectures satisfy" in f.summary() and "1 lack the metric of latency_edgegpu<5" in f.summary()
