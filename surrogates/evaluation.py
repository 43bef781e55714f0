"""The multi-seed study protocol (splits are in :mod:`.splits`, scores in :mod:`.metrics`).

The study follows NAS-Bench-Suite-Zero's surrogate protocol (White et al., 2022): for
each trial, draw ``n_train`` training and ``n_test`` test architectures, disjoint, from
a pool; fit one surrogate per feature set on the same training set and score each on
the same test set (paired comparison); report mean and standard deviation over trials.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from zcdb.errors import ZcdbError

from .features import feature_matrix
from .fitting import fit
from .metrics import SCORE_KEYS, score
from .splits import pool_of, split

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark


def study(
    benchmark: "Benchmark", metric: str, feature_sets: Sequence[Union[str, Sequence[str]]],
    n_train: Sequence[int] = (100,), trials: int = 10, n_test: Optional[int] = None, seed: int = 0,
    epoch: Optional[int] = None, model: Any = None, baseline: bool = True, progress: Any = None,
    pool: Optional[Sequence[int]] = None, target: str = "quantile", **zc: Any,
) -> list[dict[str, Any]]:
    """Fit and score one surrogate per feature set over ``trials`` seeded splits per training size.

    All feature sets of a trial share its training and test sets, drawn from one pool
    (the intersection of the sets' :func:`pool_of`, within ``pool`` if given). With ``baseline`` and ``zc`` in any
    set, each stored proxy alone is scored on the same test sets, and the best (by mean
    Spearman) is reported as ``best proxy (NAME)`` with ``n_train`` 0. Rows: features,
    n_train, n_test, trials, ``<score>_mean``/``<score>_std`` for Spearman, Kendall, R^2,
    top-10%, and mean fit seconds. ``progress(done, total)`` is called after each fit;
    ``model`` and ``target`` go to :func:`~zcdb.surrogates.fit`.
    """
    specs = [",".join(s) if not isinstance(s, str) else s for s in feature_sets]
    if not specs:
        raise ZcdbError("no feature sets to study: give at least one, e.g. onehot")
    if trials < 1:
        raise ZcdbError(f"trials must be at least 1, got {trials}")
    union = sorted({item for s in specs for item in (x.strip() for x in s.split(",")) if item})
    zc_items = [i for i in union if i.split(":")[0] == "zc"]
    # one pool for every set: where each set's proxies cover it (pool_of), so that all are fitted alike
    drawn = pool_of(benchmark, metric, "onehot", epoch, **zc)
    for s in specs:
        drawn = np.intersect1d(drawn, pool_of(benchmark, metric, s, epoch, **zc))
    if pool is not None:
        drawn = np.intersect1d(drawn, np.asarray(pool, dtype=np.int64))
    truth = benchmark.values(metric, epoch)
    proxies = feature_matrix(benchmark, _merge_zc(zc_items), **zc) if (zc_items and baseline) else None
    rows: list[dict[str, Any]] = []
    total, done = len(n_train) * trials * len(specs), 0
    for n in n_train:
        scores: dict[str, list[dict[str, float]]] = {s: [] for s in specs}
        seconds: dict[str, list[float]] = {s: [] for s in specs}
        single: dict[str, list[float]] = {}
        for t in range(trials):
            train, test = split(drawn, n, seed=_trial_seed(seed, n, t), n_test=n_test)
            for s in specs:
                start = time.perf_counter()
                sur = fit(benchmark, metric, s, train, seed=_trial_seed(seed, n, t), epoch=epoch, model=model,
                          target=target, **zc)
                seconds[s].append(time.perf_counter() - start)
                scores[s].append(score(sur.predict(test), truth[test]))
                done += 1
                if progress is not None:
                    progress(done, total)
            if proxies is not None:
                for k, col in enumerate(proxies.columns):
                    single.setdefault(col, []).append(score(proxies.X[test, k], truth[test])["spearman"])
        for s in specs:
            rows.append(_summary(s, n, len(test), trials, scores[s], float(np.mean(seconds[s]))))
        if single:
            best = max(single, key=lambda c: np.nanmean(single[c]) if np.isfinite(single[c]).any() else -np.inf)
            # only Spearman is meaningful for a raw score (R^2 needs a prediction of the metric)
            rows.append(_summary(f"best proxy ({best.split(':', 1)[1]})", 0, len(test), trials,
                                 [dict(spearman=v) for v in single[best]], 0.0))
    return rows


def _merge_zc(items: Sequence[str]) -> str:
    if any(i == "zc" for i in items):
        return "zc"
    names = [a for i in items for a in i.split(":", 1)[1].split("+")]
    return "zc:" + "+".join(dict.fromkeys(names))


def _trial_seed(seed: int, n: int, trial: int) -> int:
    # one integer per (study seed, size, trial), stable across runs and platforms
    return int(np.random.SeedSequence([seed, n, trial]).generate_state(1)[0])


def _summary(features: str, n_train: int, n_test: int, trials: int, scores: list[dict[str, float]],
             fit_seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = dict(features=features, n_train=n_train, n_test=n_test, trials=trials)
    for k in SCORE_KEYS:
        v = np.array([s.get(k, math.nan) for s in scores], dtype=np.float64)
        finite = v[np.isfinite(v)]
        row[f"{k}_mean"] = float(finite.mean()) if finite.size else math.nan
        row[f"{k}_std"] = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    row["fit_seconds"] = fit_seconds
    return row
