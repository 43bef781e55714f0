"""Average ranks, the Friedman test and the Nemenyi critical difference (Demšar 2006).

J. Demšar, *Statistical comparisons of classifiers over multiple data sets*, JMLR 7 (2006) 1-30,
section 3.2.2: rank the ``k`` methods on each of ``N`` data sets (1 = best, ties share the
average rank), average the ranks ``R_j`` over data sets, and test that all methods are
equivalent with Friedman's statistic

    chi2_F = 12 N / (k (k+1)) * (sum_j R_j^2 - k (k+1)^2 / 4)

or Iman and Davenport's less conservative ``F_F = (N-1) chi2_F / (N (k-1) - chi2_F)``, F-distributed
with ``k-1`` and ``(k-1)(N-1)`` degrees of freedom (the p-value we report; where every data set ranks
the methods alike F_F is infinite, and we report chi2_F's p-value instead). Two methods differ
(Nemenyi post-hoc) when their average ranks differ by at least the critical difference

    CD = q_alpha * sqrt(k (k+1) / (6 N)),

``q_alpha`` being the studentized range statistic (infinite degrees of freedom) over sqrt(2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from .errors import ZcdbError
from .plots import pyplot, save_figure

#: Demšar's Table 5(a): q_0.05 for k = 2..10 (studentized range / sqrt 2), the fallback when
#: scipy lacks ``studentized_range`` (before 1.7).
Q_05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}


def q_alpha(k: int, alpha: float = 0.05) -> float:
    """The Nemenyi test's critical value for ``k`` methods: studentized range quantile over sqrt(2)."""
    if k < 2:
        raise ZcdbError(f"a critical difference needs at least 2 methods, not {k}")
    try:
        from scipy.stats import studentized_range
    except ImportError:  # pragma: no cover - scipy < 1.7
        if alpha != 0.05 or k not in Q_05:
            raise ZcdbError("this scipy has no studentized_range: upgrade scipy (>= 1.7) for alpha != 0.05 or k > 10")
        return Q_05[k]
    return float(studentized_range.ppf(1 - alpha, k, math.inf) / math.sqrt(2))


def rank_rows(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Ranks within each row of an ``(N, k)`` array: 1 = best, ties share their average rank."""
    from scipy.stats import rankdata

    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or not np.isfinite(v).all():
        raise ZcdbError("ranks need a complete (benchmarks x methods) table of finite values")
    return rankdata(-v if higher_is_better else v, axis=1)


@dataclass
class FriedmanResult:
    """Friedman test with Iman-Davenport correction and the Nemenyi critical difference."""

    names: list[str]
    average_ranks: list[float]
    n: int
    chi2: float
    chi2_p: float
    f: float
    p: float
    cd: float
    alpha: float

    def to_json(self) -> dict:
        """Everything, for machines."""
        return dict(names=self.names, average_ranks=self.average_ranks, n=self.n, chi2=self.chi2,
                    chi2_p=self.chi2_p, f=self.f, p=self.p, cd=self.cd, alpha=self.alpha)

    def cliques(self) -> list[tuple[int, int]]:
        """Maximal runs (by average rank) of methods within ``cd`` of each other: positions in rank order."""
        order = np.argsort(self.average_ranks, kind="stable")
        r = np.asarray(self.average_ranks)[order]
        out: list[tuple[int, int]] = []
        for i in range(len(r)):
            j = i
            while j + 1 < len(r) and r[j + 1] - r[i] < self.cd:
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in out):
                out.append((i, j))
        return out


def friedman_from_ranks(average_ranks: Sequence[float], n: int, names: Optional[Sequence[str]] = None,
                        alpha: float = 0.05) -> FriedmanResult:
    """The Friedman / Iman-Davenport test and the Nemenyi CD from ``k`` average ranks over ``n`` data sets."""
    from scipy import stats

    R = np.asarray(average_ranks, dtype=np.float64)
    k = R.size
    if k < 2 or n < 2:
        raise ZcdbError(f"a Friedman test needs at least 2 methods and 2 benchmarks, not {k} and {n}")
    chi2 = 12.0 * n / (k * (k + 1)) * (float(np.sum(R ** 2)) - k * (k + 1) ** 2 / 4.0)
    chi2 = max(chi2, 0.0)
    denom = n * (k - 1) - chi2
    f = (n - 1) * chi2 / denom if denom > 0 else math.inf
    chi2_p = float(stats.chi2.sf(chi2, k - 1))
    # every benchmark ranking the methods alike makes F_F infinite: then the chi2 p-value is the one to trust
    p = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if math.isfinite(f) else chi2_p
    cd = q_alpha(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))
    return FriedmanResult(list(names) if names is not None else [str(i) for i in range(k)], R.tolist(), int(n),
                          chi2, chi2_p, f, p, cd, alpha)


def friedman(values: np.ndarray, names: Sequence[str], higher_is_better: bool = True,
             alpha: float = 0.05) -> FriedmanResult:
    """:func:`friedman_from_ranks` of an ``(N benchmarks, k methods)`` table of scores."""
    ranks = rank_rows(values, higher_is_better)
    return friedman_from_ranks(ranks.mean(axis=0), ranks.shape[0], names, alpha)


def plot_cd(res: FriedmanResult, path: Union[str, Path], title: str = "") -> Path:
    """Demšar's critical-difference diagram: the rank axis, each method at its average rank, thick
    bars joining methods that the Nemenyi test does not separate, and the CD above the axis."""
    plt = pyplot()

    k = len(res.names)
    order = np.argsort(res.average_ranks, kind="stable")
    ranks = np.asarray(res.average_ranks)[order]
    names = [res.names[i] for i in order]
    half = (k + 1) // 2
    height = 1.6 + 0.28 * half
    fig, ax = plt.subplots(figsize=(7, height), dpi=120)
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-0.3 * half - 0.6, 1.2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.1, color="k", lw=1)
        ax.text(t, 0.15, str(t), ha="center", va="bottom", fontsize=8)
    # the CD bar, from rank 1
    ax.hlines(0.7, 1, 1 + res.cd, color="k", lw=1.5)
    ax.vlines([1, 1 + res.cd], 0.65, 0.75, color="k", lw=1)
    ax.text(1 + res.cd / 2, 0.78, f"CD = {res.cd:.2f}", ha="center", va="bottom", fontsize=8)
    for pos, (r, name) in enumerate(zip(ranks, names)):
        left = pos < half
        row = pos if left else k - 1 - pos
        y = -0.3 * (row + 1)
        x_text = 0.6 if left else k + 0.4
        ax.plot([r, r, x_text], [0, y, y], color="k", lw=0.7)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{name} ({r:.2f})", ha="right" if left else "left",
                va="center", fontsize=8)
    for j, (a, b) in enumerate(res.cliques()):
        y = -0.12 - 0.06 * j
        ax.hlines(y, ranks[a] - 0.03, ranks[b] + 0.03, color="tab:red", lw=3)
    ax.set_title(title or f"Friedman p = {res.p:.3g} (N = {res.n}); Nemenyi CD at alpha {res.alpha:g}", fontsize=9)
    fig.subplots_adjust(left=0.22, right=0.78, top=0.85, bottom=0.02)
    return save_figure(fig, path, tight=False)
