"""Scores of predictions against the truth: pure functions of two arrays (no store, no model)."""

from __future__ import annotations

import math

import numpy as np


#: Columns of a scored prediction, in report order.
SCORE_KEYS: tuple[str, ...] = ("spearman", "kendall", "r2", "top10")


def score(pred: np.ndarray, truth: np.ndarray, top: float = 0.1) -> dict[str, float]:
    """Spearman, Kendall tau, R^2 and top-``top`` precision of ``pred`` against ``truth`` (finite pairs).

    Top-10% precision: the share of the truly best 10% (of the scored architectures)
    that the prediction also puts in its best 10%; higher is better for both inputs.
    """
    from scipy import stats

    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    ok = np.isfinite(pred) & np.isfinite(truth)
    p, t = pred[ok], truth[ok]
    n = int(ok.sum())
    if n < 3:
        return dict(n=n, spearman=math.nan, kendall=math.nan, r2=math.nan, top10=math.nan)
    k = max(1, int(round(top * n)))
    top_p = set(np.argsort(-p, kind="stable")[:k].tolist())
    top_t = set(np.argsort(-t, kind="stable")[:k].tolist())
    ss = float(((t - t.mean()) ** 2).sum())
    r2 = 1.0 - float(((t - p) ** 2).sum()) / ss if ss > 0 else math.nan
    constant = np.ptp(p) == 0 or np.ptp(t) == 0
    return dict(n=n, spearman=math.nan if constant else float(stats.spearmanr(p, t)[0]),
                kendall=math.nan if constant else float(stats.kendalltau(p, t)[0]), r2=r2,
                top10=len(top_p & top_t) / k)
