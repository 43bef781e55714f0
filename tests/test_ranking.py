"""Friedman / Nemenyi numbers against Demšar (2006), section 3.2.2, and a hand computation."""

import math

import numpy as np
import pytest

from zcdb.errors import ZcdbError
from zcdb.ranking import Q_05, friedman, friedman_from_ranks, plot_cd, q_alpha, rank_rows


def test_demsar_worked_example():
    # C4.5, C4.5+m, C4.5+cf, C4.5+m+cf on 14 data sets: rank sums 44, 28, 40.5, 27.5 (Demšar's 3.143, 2.000,
    # 2.893, 1.964); he reports chi2_F = 9.28, F_F = 3.69, q_0.05 = 2.569 and CD = 1.25.
    res = friedman_from_ranks([44 / 14, 28 / 14, 40.5 / 14, 27.5 / 14], 14, ["C4.5", "m", "cf", "m+cf"])
    assert res.chi2 == pytest.approx(9.28, abs=0.005)
    assert res.f == pytest.approx(3.69, abs=0.005)
    assert q_alpha(4) == pytest.approx(2.569, abs=0.0005)
    assert res.cd == pytest.approx(1.25, abs=0.005)
    # F(3, 39) critical value at .05 is 2.85 < 3.69: rejected
    assert res.p < 0.05
    # C4.5 (3.143) vs C4.5+m+cf (1.964): 1.18 < CD, not separated by Nemenyi; all four in one clique
    assert res.cliques() == [(0, 3)]


@pytest.mark.parametrize("k", sorted(Q_05))
def test_q_table(k):
    assert q_alpha(k) == pytest.approx(Q_05[k], abs=0.001)


def test_hand_computed_table_with_ties():
    # 3 methods on 4 benchmarks (higher is better); ranks by hand:
    # [1,2,3], [1,2.5,2.5], [2,1,3], [1,2,3] -> averages 1.25, 1.875, 2.875
    v = np.array([[0.9, 0.5, 0.1], [0.8, 0.3, 0.3], [0.4, 0.6, 0.2], [0.7, 0.6, 0.5]])
    assert rank_rows(v).tolist() == [[1, 2, 3], [1, 2.5, 2.5], [2, 1, 3], [1, 2, 3]]
    res = friedman(v, ["a", "b", "c"])
    assert res.average_ranks == pytest.approx([1.25, 1.875, 2.875])
    # chi2 = 12*4/(3*4) * (1.5625 + 3.515625 + 8.265625 - 12) = 4 * 1.34375
    assert res.chi2 == pytest.approx(5.375)
    assert res.f == pytest.approx(3 * 5.375 / (4 * 2 - 5.375))
    assert res.cd == pytest.approx(q_alpha(3) * math.sqrt(3 * 4 / 24))
    # lower is better reverses the ranks
    assert friedman(v, ["a", "b", "c"], higher_is_better=False).average_ranks == pytest.approx([2.75, 2.125, 1.125])


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ZcdbError, match="at least 2"):
        friedman_from_ranks([1.0], 5)
    with pytest.raises(ZcdbError, match="complete"):
        rank_rows(np.array([[1.0, np.nan]]))


def test_cd_plot(tmp_path):
    res = friedman_from_ranks([44 / 14, 28 / 14, 40.5 / 14, 27.5 / 14], 14, ["C4.5", "m", "cf", "m+cf"])
    assert plot_cd(res, tmp_path / "cd.png").stat().st_size > 1000
