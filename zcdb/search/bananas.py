"""BANANAS-style Bayesian optimization with a bootstrap ensemble of gradient-boosted trees.

BANANAS (White et al., AAAI 2021) fits an ensemble to the architectures queried so far,
scores a pool of candidates (mutations of the best architectures and a few random ones)
with an acquisition function over the ensemble's mean and spread (independent Thompson
sampling by default), and queries the best ``batch`` of them. Here the ensemble is the
bagged GBDT of NAS-Bench-301-style surrogates instead of BANANAS's MLPs.

The surrogate is anything with :class:`EnsembleSurrogate`'s ``fit_predict``: it gets every
seed's training set at once (leading seed axis) and returns the ensemble mean and standard
deviation on every seed's candidates. :data:`SURROGATES` names the two built in:

``gbdt``  :class:`GBDTEnsemble`, bagged gradient-boosted oblivious trees on binary features,
          fitted for all seeds and members at once with numpy (a few seconds for 500 seeds x 5
          members), the default;
``hgb``   :class:`HistGBEnsemble`, scikit-learn's ``HistGradientBoostingRegressor`` fitted per
          seed and member (the reference implementation; ~100x slower);
``surrogates``  :class:`PackageEnsemble`, the same with :mod:`zcdb.surrogates`' tuned default model.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any, Callable, Optional, Protocol, Union

import numpy as np

from ..errors import ZcdbError
from .base import Algorithm, Context
from .rng import Draws


class EnsembleSurrogate(Protocol):
    """A bootstrap-ensemble regressor fitted and queried for many seeds at once."""

    def fit_predict(self, X: np.ndarray, y: np.ndarray, X_candidates: np.ndarray, draws: Draws,
                    stream: int) -> tuple[np.ndarray, np.ndarray]:
        """Fit on ``X`` ``(S, n, d)`` and ``y`` ``(S, n)``; return mean and std ``(S, c)`` on
        ``X_candidates`` ``(S, c, d)``. Randomness (bootstrap, tree seeds) from ``draws`` only,
        streams ``stream`` and up; row ``k`` of the output depends on row ``k`` of the input only."""
        ...


def _bootstrap(draws: Draws, stream: int, n_seeds: int, members: int, n: int) -> np.ndarray:
    """``(S, members, n)`` bootstrap counts: each member resamples the ``n`` rows with replacement."""
    idx = draws.integers(stream, n, members * n).reshape(n_seeds, members, n)
    flat = (np.arange(n_seeds * members) * n).reshape(n_seeds, members, 1) + idx
    return np.bincount(flat.ravel(), minlength=n_seeds * members * n).reshape(n_seeds, members, n).astype(np.float64)


def _member_mean_std(pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # pred (S, M, c): explicit sums over members keep each seed's arithmetic independent of S
    m = pred.shape[1]
    total = pred[:, 0].copy()
    for k in range(1, m):
        total += pred[:, k]
    mean = total / m
    sq = (pred[:, 0] - mean) ** 2
    for k in range(1, m):
        sq += (pred[:, k] - mean) ** 2
    return mean, np.sqrt(sq / m)


@dataclasses.dataclass(frozen=True)
class GBDTEnsemble:
    """Bagged gradient boosting of oblivious trees (every node of a level splits on the same
    binary feature, as CatBoost's trees) with squared loss and L2-regularized leaves; all seeds
    and ensemble members are fitted together, one ``np.bincount`` per tree level."""

    members: int = 5
    trees: int = 30
    depth: int = 3
    learning_rate: float = 0.2
    l2: float = 1.0

    def fit_predict(self, X: np.ndarray, y: np.ndarray, X_candidates: np.ndarray, draws: Draws,
                    stream: int) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`EnsembleSurrogate`; ``X`` and ``X_candidates`` must be binary."""
        S, n, d = X.shape
        c = X_candidates.shape[1]
        M = self.members
        B = S * M
        w = _bootstrap(draws, stream, S, M, n).reshape(B, n)
        mu = y.mean(axis=1, keepdims=True)
        sd = np.sqrt(((y - mu) ** 2).mean(axis=1, keepdims=True))
        sd = np.where(sd > 0, sd, 1.0)
        target = np.repeat((y - mu) / sd, M, axis=0)  # (B, n): member m of seed s is problem s * M + m
        X = X.astype(bool)
        w_flat = w.ravel()
        # a row that a member's bootstrap did not draw adds exactly 0 to every sum of that member's fit
        # (its gradient and weight are 0), so its training rows are left out: the same sums, ~37% fewer
        keep = np.flatnonzero(w_flat > 0)
        prob_of = keep // n  # the problem (seed * M + member) of each kept row
        active = np.repeat(_active_features(X), M, axis=0).reshape(B * n, -1)[keep]  # (kept, a), padded with d
        slots = []
        for j in range(active.shape[1]):
            col = active[:, j]
            lo, hi = (int(col.min()), int(col.max()) + 1) if col.size else (0, 1)
            slots.append((lo, hi, col - lo))
        seed_of = np.arange(B) // M
        # flat positions of each kept row's and each candidate's features: a level's split reads one of them
        at = (seed_of[prob_of] * n + keep % n) * d
        at_c = (seed_of[:, None] * c + np.arange(c)).ravel() * d
        X_flat = X.ravel()
        Xc_flat = X_candidates.astype(bool).ravel()
        # one histogram for all slots where their feature ranges do not overlap (one-hot encodings
        # of product spaces): each (node, feature) bin then sums the same rows in the same order
        disjoint = all(a[1] <= b[0] for a, b in zip(slots, slots[1:]))
        target_k = target.ravel()[keep]
        w_k = w_flat[keep]
        if disjoint and slots:
            feature_of = active.T.ravel()  # slot-major: slot 0's rows, then slot 1's...
            w_rep = np.tile(w_k, len(slots))
        F = np.zeros(keep.size)
        Fc = np.zeros((B, c))
        lam = self.l2
        for _ in range(self.trees):
            g = (target_k - F) * w_k
            if disjoint and slots:
                g_rep = np.tile(g, len(slots))
            node = prob_of.copy()  # (problem, leaf) as problem * K + leaf
            node_c = np.repeat(np.arange(B), c)
            for level in range(self.depth):
                K = 1 << level
                G = np.bincount(node, g, B * K).reshape(B, K)
                N = np.bincount(node, w_k, B * K).reshape(B, K)
                if disjoint and slots:
                    key = np.tile(node * (d + 1), len(slots)) + feature_of
                    G1 = np.bincount(key, g_rep, B * K * (d + 1)).reshape(B, K, d + 1)
                    N1 = np.bincount(key, w_rep, B * K * (d + 1)).reshape(B, K, d + 1)
                else:
                    G1 = np.zeros((B, K, d + 1))
                    N1 = np.zeros((B, K, d + 1))
                    for lo, hi, offset in slots:
                        # each row adds to one feature of this slot's range: one histogram per slot
                        width = hi - lo
                        key = node * width + offset
                        G1[:, :, lo:hi] += np.bincount(key, g, B * K * width).reshape(B, K, width)
                        N1[:, :, lo:hi] += np.bincount(key, w_k, B * K * width).reshape(B, K, width)
                G1, N1 = G1[:, :, :d], N1[:, :, :d]
                G0 = G[:, :, None] - G1
                N0 = N[:, :, None] - N1
                term = G1 * G1 / (N1 + lam) + G0 * G0 / (N0 + lam)
                gain = term[:, 0]
                for k in range(1, K):
                    gain = gain + term[:, k]
                f = np.argmax(gain, axis=1)
                node = node * 2 + X_flat.take(at + f[prob_of])
                node_c = node_c * 2 + Xc_flat.take(at_c + np.repeat(f, c))
            K = 1 << self.depth
            G = np.bincount(node, g, B * K)
            N = np.bincount(node, w_k, B * K)
            value = self.learning_rate * G / (N + lam)
            F += value[node]
            Fc += value[node_c].reshape(B, c)
        mean, std = _member_mean_std(Fc.reshape(S, M, c))
        return mean * sd + mu, std * sd


def _active_features(X: np.ndarray) -> np.ndarray:
    """``(S, n, a)`` indices of the true features of each row, ascending, padded with ``d``
    (a feature that is never true) to the largest count ``a``."""
    S, n, d = X.shape
    count = X.sum(axis=2)
    a = max(int(count.max()), 1)
    # stable sort of "not active" puts the active features first, in ascending order
    order = np.argsort(~X, axis=2, kind="stable")[:, :, :a]
    return np.where(np.arange(a) < count[:, :, None], order, d)


def _bagged(make: Callable[[int, int], Any], members: int, X: np.ndarray, y: np.ndarray,
            X_candidates: np.ndarray, draws: Draws, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``make(random_state, n_train)`` on ``members`` bootstrap weightings per seed (one thread);
    mean and std of the members' predictions of the candidates."""
    from threadpoolctl import threadpool_limits

    S, n, _ = X.shape
    w = _bootstrap(draws, stream, S, members, n)
    states = (draws.bits(stream + 1, members) >> np.uint64(33)).astype(np.int64)
    pred = np.zeros((S, members, X_candidates.shape[1]))
    with threadpool_limits(1):
        for s in range(S):
            for m in range(members):
                model = make(int(states[s, m]), n)
                model.fit(X[s].astype(np.float64), y[s], sample_weight=w[s, m])
                pred[s, m] = model.predict(X_candidates[s].astype(np.float64))
    return _member_mean_std(pred)


@dataclasses.dataclass(frozen=True)
class HistGBEnsemble:
    """Bagged scikit-learn ``HistGradientBoostingRegressor``, fitted per seed and member (one thread)."""

    members: int = 5
    max_iter: int = 50
    max_leaf_nodes: int = 8
    learning_rate: float = 0.1
    min_samples_leaf: int = 5

    def fit_predict(self, X: np.ndarray, y: np.ndarray, X_candidates: np.ndarray, draws: Draws,
                    stream: int) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`EnsembleSurrogate`."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        def make(state: int, n: int) -> Any:
            return HistGradientBoostingRegressor(
                max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes, learning_rate=self.learning_rate,
                min_samples_leaf=self.min_samples_leaf, early_stopping=False, random_state=state)

        return _bagged(make, self.members, X, y, X_candidates, draws, stream)


@dataclasses.dataclass(frozen=True)
class PackageEnsemble:
    """Bagged :func:`zcdb.surrogates.default_model` (the surrogates package's tuned
    ``HistGradientBoostingRegressor``), fitted per seed and member on one thread."""

    members: int = 5

    def fit_predict(self, X: np.ndarray, y: np.ndarray, X_candidates: np.ndarray, draws: Draws,
                    stream: int) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`EnsembleSurrogate`."""
        from ..surrogates import default_model

        return _bagged(default_model, self.members, X, y, X_candidates, draws, stream)


def _expected_improvement(mean: np.ndarray, std: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Expected improvement of a normal(``mean``, ``std``) over ``best`` ``(S,)`` (Jones et al., 1998)."""
    from scipy.special import ndtr

    gain = mean - best[:, None]
    safe = np.where(std > 0, std, 1.0)
    z = gain / safe
    ei = gain * ndtr(z) + safe * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return np.where(std > 0, ei, np.maximum(gain, 0.0))


#: Surrogate name -> class (configured by its defaults and Bananas' ``members``).
SURROGATES: dict[str, type] = {"gbdt": GBDTEnsemble, "hgb": HistGBEnsemble, "surrogates": PackageEnsemble}


@dataclasses.dataclass(frozen=True)
class Bananas(Algorithm):
    """BANANAS-style BO (module docstring): ``n_init`` random architectures (``warm_start``: the best
    ``n_init`` of ``n_proxy_samples`` by the proxies), then rounds of: fit the ensemble on the
    one-hot encodings, build ``candidates`` (90% one-edge mutations of the ``mutate_top`` best
    queried, 10% random), query the ``batch`` best unqueried ones by ``acquisition``
    (``its``: a normal draw from each candidate's mean and std; ``ucb``: mean + 2 std; ``mean``;
    ``ei``: expected improvement over the best target, with the ensemble's mean and std)."""

    version = 1

    n_init: int = 10
    batch: int = 10
    candidates: int = 100
    mutate_top: int = 10
    acquisition: str = "its"
    surrogate: Union[str, Any] = "gbdt"
    members: int = 5
    warm_start: bool = False
    n_proxy_samples: int = 1000

    def __post_init__(self) -> None:
        if self.acquisition not in ("its", "ucb", "mean", "ei"):
            raise ZcdbError(f"unknown acquisition {self.acquisition!r}: use its, ucb, mean or ei")
        if isinstance(self.surrogate, str) and self.surrogate not in SURROGATES:
            raise ZcdbError(f"unknown surrogate {self.surrogate!r}: use one of {', '.join(SURROGATES)}")
        if self.n_init < 1 or self.batch < 1 or self.candidates < self.batch:
            raise ZcdbError("BANANAS needs n_init >= 1, batch >= 1 and candidates >= batch")

    def config(self) -> dict[str, Any]:
        cfg = {k: v for k, v in dataclasses.asdict(self).items() if k != "surrogate"}
        s = self.surrogate
        cfg["surrogate"] = s if isinstance(s, str) else dict(type=type(s).__name__, **(
            dataclasses.asdict(s) if dataclasses.is_dataclass(s) else {"repr": repr(s)}))
        if not self.warm_start:
            cfg.pop("n_proxy_samples")
        return cfg

    def uses_proxies(self) -> bool:
        return self.warm_start

    def _model(self) -> EnsembleSurrogate:
        s = self.surrogate
        return SURROGATES[s](members=self.members) if isinstance(s, str) else s

    def start(self, ctx: Context) -> Any:
        init = ctx.proxy_ranked_sample(self.n_proxy_samples, ctx.start_draws(), 0)[:, :self.n_init] \
            if self.warm_start else np.zeros((ctx.n, 0), dtype=np.int64)
        return SimpleNamespace(problem=ctx.problem, init=init, t=0, archs=[], scores=[], queue=None,
                               model=self._model())

    def ask(self, state: Any, draws: Draws) -> tuple[np.ndarray, None]:
        t, prob = state.t, state.problem
        if t < self.n_init:
            if t < state.init.shape[1]:
                return state.init[:, t], None
            return prob.sample(draws.uniform(0, 1)[:, 0]), None
        k = (t - self.n_init) % self.batch
        if k == 0:
            state.queue = self._select(state, draws)
        return state.queue[:, k], None

    def _targets(self, scores: np.ndarray, draws: Draws) -> np.ndarray:
        """What the surrogate fits and the mutations start from, ``(S, n)``: the scores themselves here."""
        return scores

    def _select(self, state: Any, draws: Draws) -> np.ndarray:
        prob = state.problem
        archs = np.stack(state.archs, axis=1)
        scores = self._targets(np.stack(state.scores, axis=1), draws)
        n_random = max(self.candidates // 10, 1)
        n_mut = self.candidates - n_random
        top = np.take_along_axis(archs, np.argsort(-scores, axis=1, kind="stable")[:, :self.mutate_top], axis=1)
        parents = top[:, np.arange(n_mut) % top.shape[1]]
        pool = np.concatenate([prob.mutate(parents, draws.uniform(10, n_mut), draws.uniform(11, n_mut)),
                               prob.sample(draws.uniform(12, n_random))], axis=1)
        mean, std = state.model.fit_predict(prob.onehot(archs), scores, prob.onehot(pool), draws, 20)
        if self.acquisition == "its":
            acq = mean + std * draws.normal(13, pool.shape[1])
        elif self.acquisition == "ucb":
            acq = mean + 2.0 * std
        elif self.acquisition == "ei":
            acq = _expected_improvement(mean, std, scores.max(axis=1))
        else:
            acq = mean.copy()
        # candidates already queried, or repeated in the pool, are not worth a query
        seen = (pool[:, :, None] == archs[:, None, :]).any(axis=2)
        order = np.argsort(pool, axis=1, kind="stable")
        srt = np.take_along_axis(pool, order, axis=1)
        dup = np.zeros_like(seen)
        np.put_along_axis(dup, order[:, 1:], srt[:, 1:] == srt[:, :-1], axis=1)
        acq = np.where(seen | dup, -np.inf, acq)
        best = np.argsort(-acq, axis=1, kind="stable")[:, :self.batch]
        chosen = np.take_along_axis(pool, best, axis=1)
        ok = np.isfinite(np.take_along_axis(acq, best, axis=1))
        return np.where(ok, chosen, prob.sample(draws.uniform(14, self.batch)))

    def tell(self, state: Any, archs: np.ndarray, epochs: Optional[np.ndarray], scores: np.ndarray,
             draws: Draws) -> None:
        state.archs.append(archs)
        state.scores.append(scores)
        state.t += 1
