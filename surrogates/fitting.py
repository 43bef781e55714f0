"""Fitting surrogates: a scikit-learn regressor on architecture features, seeded, with optional uncertainty.

See :mod:`.model` for what a fitted :class:`~.model.Surrogate` holds, serves and saves.
"""

from __future__ import annotations

import platform
import time
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from zcdb.errors import UnknownMetric, ZcdbError

from .features import ZC_KEYS, canonical_spec, check_coverage, covering_features, feature_matrix
from .metrics import score
from .model import FORMAT, FORMAT_VERSION, REGRESSORS, TARGETS, UNCERTAINTY, Surrogate, _threads, train_hash

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark


def default_model(seed: int = 0, n_train: int = 100) -> Any:
    """The default regressor: scikit-learn's ``HistGradientBoostingRegressor``, seeded, leaves sized to ``n_train``.

    Only ``min_samples_leaf`` differs from scikit-learn's defaults: 20 (theirs) lets a tree
    on 100 architectures have at most five leaves. Measured on nb201 cifar100 test
    accuracy with onehot features (not the cifar10 targets reported), mean Spearman over
    8-10 splits: at 100 architectures leaf 10 gives 0.71 (20: 0.50, 5: 0.64, 2: 0.63);
    at 400 and 1,000, leaf 2 is best (0.87, 0.93; leaf 10: 0.85, 0.91). Hence 10 up to
    300 training architectures (at most a fifth of them, at least 2), 2 above.
    (Measured with the raw target; with the default quantile target the ordering holds:
    leaf 10 0.75 against leaf 2 0.68 at 100, leaf 2 0.936 against leaf 10 0.931 at 1,000.)
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    leaf = max(2, min(10, n_train // 5)) if n_train <= 300 else 2
    return HistGradientBoostingRegressor(min_samples_leaf=leaf, random_state=seed)


def _seeded(model: Any, seed: int) -> Any:
    from sklearn.base import clone

    m = clone(model)
    params = m.get_params(deep=True)
    m.set_params(**{k: seed for k in params if k == "random_state" or k.endswith("__random_state")})
    return m


def _quantile_model(model: Any, q: float, seed: int) -> Any:
    m = _seeded(model, seed)
    params = m.get_params()
    if "quantile" in params and "loss" in params:  # HistGradientBoostingRegressor
        return m.set_params(loss="quantile", quantile=q)
    if "alpha" in params and "loss" in params:  # GradientBoostingRegressor
        return m.set_params(loss="quantile", alpha=q)
    raise ZcdbError(f"{type(model).__name__} has no quantile loss: use uncertainty='bootstrap', "
                    "or the default HistGradientBoostingRegressor")


def _fit_one(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    try:
        return model.fit(X, y)
    except ValueError as exc:
        if "NaN" in str(exc):
            raise ZcdbError(f"{type(model).__name__} cannot take NaN features (architectures without a proxy score "
                            "or cost): use the default HistGradientBoostingRegressor, or wrap the model in a "
                            "Pipeline with SimpleImputer") from None
        raise


def make_regressor(name: str, seed: int = 0, n_train: int = 100) -> Any:
    """An unfitted regressor from :data:`REGRESSORS` by name."""
    if name == "hgb":
        return default_model(seed, n_train)
    if name == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=300, random_state=seed)
    if name == "gbr":
        from sklearn.ensemble import GradientBoostingRegressor

        return GradientBoostingRegressor(random_state=seed)
    raise ZcdbError(f"unknown regressor {name!r}: use one of {', '.join(REGRESSORS)}")


def fit(
    benchmark: "Benchmark", metric: str, features: Union[str, Sequence[str]], train_archs: Sequence[Any],
    seed: int = 0, *, epoch: Optional[int] = None, model: Any = None, uncertainty: Optional[str] = None,
    members: int = 10, quantiles: tuple[float, float] = (0.1, 0.9), test_archs: Optional[Sequence[Any]] = None,
    zc_seed: Optional[int] = None, zc_batch_size: Optional[int] = None, zc_data: Optional[str] = None,
    zc_by_class: bool = False, target: str = "quantile", threads: Optional[int] = 1,
) -> Surrogate:
    """Fit a surrogate of ``metric`` (at ``epoch``, default the last) on ``features`` of ``train_archs``.

    ``model`` is any unfitted scikit-learn regressor, or a name in :data:`REGRESSORS`
    (default :func:`default_model`);
    it is cloned and every ``random_state`` in it set to ``seed``. ``uncertainty``:
    None, ``"bootstrap"`` (``members`` models, each on a bootstrap resample drawn from
    ``seed``) or ``"quantile"`` (quantile models at ``quantiles``). ``test_archs``, if
    given, are scored and the scores kept with the fit metrics. Every training
    architecture must have a finite ``metric``. ``target="quantile"`` (default) fits the
    regressor on the target's quantile-normal scores and maps predictions back to metric
    units (scikit-learn's ``TransformedTargetRegressor``); ``"raw"`` fits the values.
    ``zc_seed``/``zc_batch_size``/``zc_data``/``zc_by_class``: which proxy scores ``zc`` columns read
    (:func:`~zcdb.surrogates.features.feature_matrix`); the surrogate pins them.
    ``threads`` caps OpenMP threads while
    fitting and predicting (None: no cap): HistGradientBoosting on a few hundred rows
    gains nothing from threads, and on a busy machine their spin-waits cost up to 80x
    (100 rows: 86 ms with one thread, 7.0 s with two, on 2 cores shared with other jobs).
    """
    if target not in TARGETS:
        raise ZcdbError(f"unknown target transform {target!r}: use {' or '.join(TARGETS)}")
    if uncertainty not in UNCERTAINTY:
        raise ZcdbError(f"unknown uncertainty {uncertainty!r}: use none, bootstrap or quantile")
    if uncertainty == "bootstrap" and members < 2:
        raise ZcdbError(f"a bootstrap ensemble needs at least 2 members, got {members}")
    if uncertainty == "quantile" and not 0 < quantiles[0] < 0.5 < quantiles[1] < 1:
        raise ZcdbError(f"quantiles must be (low, high) with 0 < low < 0.5 < high < 1, got {quantiles}")
    import sklearn

    ep = epoch if epoch is not None else max(benchmark.epochs(metric))
    truth = benchmark.values(metric, ep)
    spec = canonical_spec(features)
    fm = feature_matrix(benchmark, spec, zc_seed=zc_seed, zc_batch_size=zc_batch_size, zc_data=zc_data,
                        zc_by_class=zc_by_class)
    _check_leak(fm.columns, metric, ep)
    mod = benchmark.search_space
    train = np.array(sorted({mod.index_of(a) for a in train_archs}), dtype=np.int64)
    if train.size < 2:
        raise ZcdbError(f"need at least 2 distinct training architectures, got {train.size}")
    # a plain zc takes the proxy sets that cover the training architectures (pinned, so that a loaded
    # surrogate reads the same); a named one that does not cover them is an error, never a NaN column
    every = fm
    fm = covering_features(benchmark, spec, fm, train)
    check_coverage(fm, train)
    left_out = [c for c in every.columns if c not in fm.columns]
    y = truth[train]
    bad = int((~np.isfinite(y)).sum())
    if bad:
        raise UnknownMetric(f"{bad} of the {train.size} training architectures have no {metric} at epoch {ep} in "
                            f"{benchmark.space}/{benchmark.dataset}: train on architectures the table has "
                            "(zcdb.surrogates.pool_of / split)")
    X = fm.X[train]
    if isinstance(model, str):
        base = make_regressor(model, seed, int(train.size))
    else:
        base = model if model is not None else default_model(seed, int(train.size))
    start = time.perf_counter()
    with _threads(threads):
        models = _fit_models(base, X, y, seed, uncertainty, members, quantiles, target)
    fit_seconds = time.perf_counter() - start
    meta: dict[str, Any] = dict(
        format=FORMAT, format_version=FORMAT_VERSION,
        space=benchmark.space, dataset=benchmark.dataset, protocol=benchmark.protocol, metric=metric, epoch=int(ep),
        features=dict(spec=spec, columns=list(fm.columns), zc_configs={k: dict(v) for k, v in fm.zc_configs.items()},
                      notes=list(fm.notes) + ([f"left out {', '.join(left_out)}: not scored for every training "
                                               "architecture"] if left_out else [])),
        train=dict(n=int(train.size), sha256=train_hash(train), indices=train.tolist()),
        seed=int(seed), target=target,
        uncertainty=dict(kind=uncertainty, members=members if uncertainty == "bootstrap" else None,
                         quantiles=list(quantiles) if uncertainty == "quantile" else None),
        model=dict(cls=f"{type(base).__module__}.{type(base).__qualname__}",
                   params={k: repr(v) for k, v in sorted(base.get_params(deep=False).items())}),
        versions=dict(sklearn=sklearn.__version__, numpy=np.__version__, python=platform.python_version(),
                      zcdb=_zcdb_version()),
        metrics={},
    )
    sur = Surrogate(meta, models, fm, threads)
    sur.source = benchmark
    meta["metrics"]["fit_seconds"] = fit_seconds
    meta["metrics"]["train"] = score(sur._predict(X)[0], y)
    if test_archs is not None:
        test = sur._indices(test_archs)
        overlap = np.intersect1d(test, train).size
        meta["metrics"]["test"] = dict(score(sur.predict(test), truth[test]), overlap_with_train=int(overlap))
    return sur


def _with_target(model: Any, target: str, n: int) -> Any:
    if target == "raw":
        return model
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import QuantileTransformer

    # fitted on the ranks of the target, mapped to a normal distribution and back: the
    # squared error no longer lets a few collapsed networks (10% accuracy) dominate
    qt = QuantileTransformer(n_quantiles=max(2, min(n, 1000)), output_distribution="normal", random_state=0)
    return TransformedTargetRegressor(regressor=model, transformer=qt, check_inverse=False)


def _fit_models(base: Any, X: np.ndarray, y: np.ndarray, seed: int, uncertainty: Optional[str], members: int,
                quantiles: tuple[float, float], target: str) -> list[Any]:
    if uncertainty == "bootstrap":
        models = []
        for child in np.random.SeedSequence(seed).spawn(members):
            pick = np.random.default_rng(child).integers(0, y.size, y.size)
            est = _with_target(_seeded(base, int(child.generate_state(1)[0] >> 1)), target, y.size)
            models.append(_fit_one(est, X[pick], y[pick]))
        return models
    models = [_fit_one(_with_target(_seeded(base, seed), target, y.size), X, y)]
    if uncertainty == "quantile":
        models += [_fit_one(_with_target(_quantile_model(base, q, seed), target, y.size), X, y) for q in quantiles]
    return models


def fit_sample(
    benchmark: "Benchmark", metric: str, features: Union[str, Sequence[str]], n_train: int, seed: int = 0, *,
    n_test: Optional[int] = None, epoch: Optional[int] = None, **kwargs: Any,
) -> Surrogate:
    """Draw ``n_train`` training architectures from :func:`~zcdb.surrogates.pool_of` with ``seed``, fit, and score
    the held-out rest (or ``n_test`` of it) into ``metrics["test"]``. ``kwargs`` go to :func:`fit`."""
    from .splits import pool_of, split

    zc = {k: kwargs[k] for k in ZC_KEYS if kwargs.get(k) is not None}
    train, test = split(pool_of(benchmark, metric, features, epoch, **zc), n_train, seed, n_test)
    return fit(benchmark, metric, features, train, seed, epoch=epoch, test_archs=test, **kwargs)


def _zcdb_version() -> str:
    from zcdb import __version__

    return __version__


def _check_leak(columns: Sequence[str], metric: str, epoch: int) -> None:
    for c in columns:
        kind, _, rest = c.partition(":")
        if kind == "cost" and rest == metric:
            raise ZcdbError(f"feature {c} is the target {metric} itself: drop it, e.g. cost:flops instead of cost")
        if kind == "curve":
            m, _, e = rest.partition("@")
            if m == metric and int(e) >= epoch:
                raise ZcdbError(f"feature {c} reads the target {metric} at or after epoch {epoch}: "
                                f"use earlier epochs, e.g. curve:{metric}@{max(1, epoch // 4)}")


# --------------------------------------------------------------------------- loading
