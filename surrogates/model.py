"""Fitted surrogates: serve predictions, save and load them (fitting is :mod:`.fitting`).

The default regressor is scikit-learn's ``HistGradientBoostingRegressor`` (native NaN
handling, fast on small tables); any scikit-learn regressor can be passed instead.
By default the regressor is fit on the quantile-normal scores of the target (its ranks
mapped to a normal distribution) and its predictions mapped back to metric units, so
that a few collapsed networks (10% accuracy on nb201) do not dominate a squared error
on small training sets; ``target="raw"`` fits the values themselves.
Uncertainty comes from a seeded bootstrap ensemble (``uncertainty="bootstrap"``: the
prediction is the members' mean, the uncertainty their standard deviation, as BANANAS
uses) or from quantile models (``"quantile"``: a point model plus two quantile models;
the spread between the quantiles, divided by the matching normal spread, stands for a
standard deviation).

Saved surrogates are one zip file: ``surrogate.json`` (space, dataset, protocol, metric,
epoch, feature spec and exact columns, pinned proxy score sets, training indices and
their SHA-256, seed, scikit-learn/numpy/zcdb versions, fit metrics) and ``models.pkl``
(the fitted estimators). Loading reads and checks the JSON first, so a model fitted on
other features is refused before anything is unpickled; the estimators are then
unpickled by a restricted unpickler that builds only scikit-learn classes, numpy arrays
and random generators, and refuses any other global. That is defense in depth, not a
sandbox: load files you or zcdb made. A regressor from outside scikit-learn needs
``trust=True``, which unpickles without restriction (and warns).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from zcdb.errors import CorruptFile, ZcdbError
from zcdb.jsonio import dumps

from .features import FeatureMatrix, FeatureMismatch, canonical_spec, check_columns, feature_matrix, needs_benchmark
from .metrics import score
from .splits import pool_of

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark

    from .benchmark import SurrogateBenchmark


FORMAT = "zcdb-surrogate"


FORMAT_VERSION = 1


UNCERTAINTY = (None, "bootstrap", "quantile")


#: Target transforms: ``quantile`` fits on the normal scores of the target's ranks (default), ``raw`` on the values.
TARGETS = ("quantile", "raw")


class UntrustedModelWarning(UserWarning):
    """A surrogate file was unpickled without restriction (``trust=True``)."""


def train_hash(train: Sequence[int]) -> str:
    """SHA-256 of the sorted training indices as little-endian int64: the identity of a training set."""
    return hashlib.sha256(np.sort(np.asarray(train, dtype="<i8")).tobytes()).hexdigest()


def _threads(n: Optional[int]) -> Any:
    """A context limiting OpenMP threads to ``n`` (None: no limit) for the duration of a fit or prediction."""
    if n is None:
        import contextlib

        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="openmp")


class Surrogate:
    """A fitted surrogate of one metric of one benchmark. Make one with :func:`fit` or :func:`load`."""

    def __init__(self, meta: dict[str, Any], models: list[Any], features: Optional[FeatureMatrix],
                 threads: Optional[int] = 1) -> None:
        self.meta = meta
        self.models = models
        #: OpenMP threads used by predictions (None: the library's default, all cores).
        self.threads = threads
        self._features = features
        self._all: Optional[tuple[np.ndarray, Optional[np.ndarray]]] = None
        #: The benchmark whose features the surrogate reads (None: unbound, or bound to a space name).
        self.source: Optional["Benchmark"] = None

    # ------------------------------------------------------------------ description
    space = property(lambda self: self.meta["space"], doc="Search space.")
    dataset = property(lambda self: self.meta["dataset"], doc="Dataset of the fitted benchmark.")
    protocol = property(lambda self: self.meta["protocol"], doc="Protocol of the fitted benchmark.")
    metric = property(lambda self: self.meta["metric"], doc="The predicted metric.")
    epoch = property(lambda self: self.meta["epoch"], doc="Epoch of the predicted metric.")
    columns = property(lambda self: tuple(self.meta["features"]["columns"]), doc="Exact feature columns.")
    spec = property(lambda self: self.meta["features"]["spec"], doc="Canonical feature spec.")
    uncertainty = property(lambda self: self.meta["uncertainty"]["kind"], doc="None, 'bootstrap' or 'quantile'.")
    metrics = property(lambda self: self.meta["metrics"], doc="Fit metrics (train, and test if given).")

    @property
    def train_index(self) -> np.ndarray:
        """Official indices of the training architectures, sorted."""
        return np.asarray(self.meta["train"]["indices"], dtype=np.int64)

    def __repr__(self) -> str:
        return (f"<zcdb.surrogates.Surrogate {self.space}/{self.dataset} {self.metric}@{self.epoch} "
                f"features={self.spec} n_train={self.meta['train']['n']}>")

    # ------------------------------------------------------------------ binding
    def bind(self, source: Union["Benchmark", str]) -> "Surrogate":
        """Attach the features of ``source`` (a benchmark, or the space name for encodings), checked column by
        column against those the surrogate was fitted on."""
        if isinstance(source, str):
            if source != self.space:
                raise FeatureMismatch(f"the surrogate is for space {self.space!r}, not {source!r}")
        elif (source.space, source.dataset, source.protocol) != (self.space, self.dataset, self.protocol):
            raise FeatureMismatch(
                f"the surrogate was fitted on {self.space}/{self.dataset} (protocol {self.protocol}), not "
                f"{source.space}/{source.dataset} (protocol {source.protocol}): "
                f"open store.benchmark({self.space!r}, {self.dataset!r}, {self.protocol!r})")
        fm = feature_matrix(source, self.spec, zc_configs=self.meta["features"]["zc_configs"] or None)
        check_columns(self.columns, fm.columns, f"the features of {source if isinstance(source, str) else source!r}")
        self._features = fm
        self.source = None if isinstance(source, str) else source
        self._all = None
        return self

    def _matrix(self) -> FeatureMatrix:
        if self._features is None:
            if needs_benchmark(self.spec):
                raise ZcdbError(f"this surrogate's features ({self.spec}) read the store: load it with "
                                f"load(path, benchmark=store.benchmark({self.space!r}, {self.dataset!r}))")
            self.bind(self.space)
        assert self._features is not None  # set by bind
        return self._features

    # ------------------------------------------------------------------ prediction
    def predict_features(self, X: np.ndarray, columns: Sequence[str]) -> np.ndarray:
        """Predictions for raw feature rows ``X`` whose columns are named ``columns`` (checked)."""
        check_columns(self.columns, columns)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.columns):
            raise FeatureMismatch(f"expected a 2-d array with {len(self.columns)} columns, got shape {X.shape}")
        return self._predict(X)[0]

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        with _threads(self.threads):
            return self._predict_unlimited(X)

    def _predict_unlimited(self, X: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        kind = self.uncertainty
        if kind == "bootstrap":
            preds = np.stack([m.predict(X) for m in self.models])
            return preds.mean(axis=0), preds.std(axis=0)
        point = self.models[0].predict(X)
        if kind == "quantile":
            from scipy.stats import norm

            lo, hi = self.models[1].predict(X), self.models[2].predict(X)
            q = self.meta["uncertainty"]["quantiles"]
            z = norm.ppf(q[1]) - norm.ppf(q[0])
            return point, np.abs(hi - lo) / z
        return point, None

    def predict_all(self) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """``(mean, std)`` of every architecture by official index, computed once (std None without uncertainty)."""
        if self._all is None:
            mean, std = self._predict(self._matrix().X)
            mean.setflags(write=False)
            if std is not None:
                std.setflags(write=False)
            self._all = (mean, std)
        return self._all

    def covered(self) -> np.ndarray:
        """Boolean mask by index: architectures whose every feature is known (the others have no basis for a
        prediction; a :class:`~zcdb.surrogates.SurrogateBenchmark` answers NaN for them)."""
        return self._matrix().coverage()

    def answered_by_class(self) -> int:
        """How many architectures' ``zc`` features are a scored member's of their class (``zc_by_class``)."""
        answered = self._matrix().answered
        return 0 if answered is None else int(answered.sum())

    def _indices(self, archs: Any) -> np.ndarray:
        from zcdb.spaces import get_space

        sp = get_space(self.space)
        if isinstance(archs, (str, int, np.integer)):
            archs = [archs]
        return sp.indices_of(archs)

    def predict(self, archs: Any) -> np.ndarray:
        """Predicted metric of architectures (official strings, indices, or an index array)."""
        idx = self._indices(archs)
        if self._all is not None or idx.size > 2048:
            return self.predict_all()[0][idx].copy()
        return self._predict(self._matrix().X[idx])[0]

    def predict_std(self, archs: Any) -> np.ndarray:
        """Uncertainty (a standard deviation) of the predictions of ``archs``."""
        if self.uncertainty is None:
            raise ZcdbError("this surrogate has no uncertainty: fit it with uncertainty='bootstrap' or 'quantile' "
                            "(--uncertainty)")
        idx = self._indices(archs)
        std = self.predict_all()[1]
        assert std is not None  # uncertainty is set
        return std[idx].copy()

    def benchmark(self, truth: Optional["Benchmark"] = None, missing_features: str = "nan") -> "SurrogateBenchmark":
        """This surrogate as a benchmark (see :class:`~zcdb.surrogates.SurrogateBenchmark`)."""
        from .benchmark import SurrogateBenchmark

        return SurrogateBenchmark([self], truth=truth, missing_features=missing_features)

    def held_out(self, benchmark: "Benchmark") -> np.ndarray:
        """The pool (:func:`~zcdb.surrogates.pool_of` of its metric and features) minus its training set."""
        pool = pool_of(benchmark, self.metric, self.spec, self.epoch,
                       zc_configs=self.meta["features"]["zc_configs"] or None)
        return np.setdiff1d(pool, self.train_index)

    def evaluate(self, benchmark: "Benchmark", archs: Optional[Sequence[Any]] = None, n_test: Optional[int] = None,
                 seed: int = 0) -> dict[str, float]:
        """Scores against ``benchmark``'s table on ``archs``.

        Default: :meth:`held_out`, or ``n_test`` of them drawn with ``seed``."""
        truth = benchmark.values(self.metric, self.epoch)
        if archs is None:
            idx = self.held_out(benchmark)
            if n_test is not None and n_test < idx.size:
                idx = np.sort(np.random.default_rng(seed).choice(idx, n_test, replace=False))
        else:
            idx = self._indices(archs)
        out = dict(score(self.predict(idx), truth[idx]))
        out["overlap_with_train"] = int(np.intersect1d(idx, self.train_index).size)
        return out

    # ------------------------------------------------------------------ saving
    def save(self, path: Union[str, Path]) -> Path:
        """Write the surrogate to one zip file (see the module docstring); returns the path."""
        p = Path(path)
        if p.is_dir():
            raise ZcdbError(f"{p} is a directory: give a file path for the surrogate, e.g. {p / 'model.zcs'}")
        blob = pickle.dumps(self.models, protocol=pickle.HIGHEST_PROTOCOL)
        from zcdb.tabular._safe_pickle import RefusedGlobal, load_estimators

        try:
            load_estimators(io.BytesIO(blob))
            needs_trust = None
        except RefusedGlobal as exc:
            needs_trust = exc.qualname
            warnings.warn(f"{p}: the model holds {exc.qualname}, outside the regressors zcdb loads safely "
                          f"({', '.join(REGRESSORS)}): loading it will need trust=True (--trust)", stacklevel=2)
        meta = dict(self.meta, models_sha256=hashlib.sha256(blob).hexdigest(), needs_trust=needs_trust,
                    saved=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("surrogate.json", dumps(meta, indent=1, sort_keys=True))
            z.writestr("models.pkl", blob)
        tmp.replace(p)
        return p




#: Regressors by name, for the command line (``--model``); the Python API takes any estimator.
REGRESSORS: dict[str, str] = {
    "hgb": "sklearn.ensemble.HistGradientBoostingRegressor (the default; leaf size from default_model)",
    "rf": "sklearn.ensemble.RandomForestRegressor (300 trees)",
    "gbr": "sklearn.ensemble.GradientBoostingRegressor (no NaN features)",
}


def _check_trees(models: list[Any], where: Path) -> None:
    """Refuse tree structures whose node links or features point outside their arrays.

    scikit-learn's compiled predictors follow child indices without bounds checks, so a
    crafted file could make them read outside the node array; zcdb's own files always pass.
    """
    for est in _estimators(models):
        n_features = getattr(est, "n_features_in_", None)
        trees = []
        if hasattr(est, "_predictors"):  # HistGradientBoosting
            trees = [p.nodes for it in est._predictors for p in it]
            for nodes in trees:
                n = len(nodes)
                inner = nodes[~nodes["is_leaf"].astype(bool)]
                if (np.any((inner["left"] <= 0) | (inner["left"] >= n) | (inner["right"] <= 0) | (inner["right"] >= n))
                        or (n_features is not None and np.any(inner["feature_idx"] >= n_features))):
                    raise CorruptFile(f"{where}: a tree links outside its nodes: refit it with `zcdb surrogate fit`")
        for tree in [t.tree_ for t in _flat(getattr(est, "estimators_", []))] + (
                [est.tree_] if hasattr(est, "tree_") else []):
            n = tree.node_count
            left, right, feat = tree.children_left, tree.children_right, tree.feature
            inner = left != -1
            if (len(left) != n or np.any((left[inner] <= 0) | (left[inner] >= n))
                    or np.any((right[inner] <= 0) | (right[inner] >= n)) or np.any(right[~inner] != -1)
                    or (n_features is not None and np.any(feat[inner] >= n_features)) or np.any(feat[inner] < 0)):
                raise CorruptFile(f"{where}: a tree links outside its nodes: refit it with `zcdb surrogate fit`")


def _flat(x: Any) -> list[Any]:
    """Estimators of an ensemble: a list (random forest) or a 2-D array (gradient boosting)."""
    return list(np.asarray(x, dtype=object).reshape(-1)) if len(x) else []


def _estimators(models: list[Any]) -> list[Any]:
    """The regressors inside ``models`` (through target transforms), for :func:`_check_trees`."""
    out = []
    for m in models:
        inner = getattr(m, "regressor_", None)
        out.append(inner if inner is not None else m)
    return out


def open_surrogate(store: Any, path: Union[str, Path], trust: bool = False) -> Surrogate:
    """Load a saved surrogate bound to the benchmark of ``store`` it was fitted on (space, dataset, protocol)."""
    meta = read_meta(path)
    return load(path, store.benchmark(meta["space"], meta["dataset"], meta["protocol"]), trust=trust)


def read_meta(path: Union[str, Path]) -> dict[str, Any]:
    """The JSON description of a saved surrogate (nothing is unpickled)."""
    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path (`zcdb surrogate fit ... --out FILE` writes one)")
    try:
        with zipfile.ZipFile(p) as z:
            meta = json.loads(z.read("surrogate.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise CorruptFile(f"{p} is not a zcdb surrogate file (zip with surrogate.json): "
                          "refit it with `zcdb surrogate fit`") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptFile(f"{p} is not a zcdb surrogate file: refit it with `zcdb surrogate fit`")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ZcdbError(f"{p} has surrogate format {meta['format_version']}, newer than this zcdb's "
                        f"({FORMAT_VERSION}): upgrade zcdb")
    missing = [k for k in _META_KEYS if k not in meta]
    if missing or not {"spec", "columns", "zc_configs"} <= set(meta["features"]) or "indices" not in meta["train"]:
        raise CorruptFile(f"{p}: surrogate.json lacks {', '.join(missing) or 'feature or training fields'}: "
                          "refit it with `zcdb surrogate fit`")
    return meta


_META_KEYS = ("space", "dataset", "protocol", "metric", "epoch", "features", "train", "seed", "target",
              "uncertainty", "versions", "metrics")


def load(path: Union[str, Path], benchmark: Optional["Benchmark"] = None, *,
         features: Union[str, Sequence[str], None] = None, trust: bool = False) -> Surrogate:
    """Load a saved surrogate; bind it to ``benchmark`` (needed when its features read the store).

    ``features``: the spec (or exact column list) the caller expects; a surrogate fitted
    on other features raises :class:`FeatureMismatch` before anything is unpickled, as does
    a ``benchmark`` whose features differ from the saved columns. ``trust``: unpickle
    without restriction (for regressors from outside scikit-learn; warns).
    """
    p = Path(path)
    meta = read_meta(p)
    if features is not None:
        saved = meta["features"]
        if isinstance(features, str):
            want = canonical_spec(features)
            if want != saved["spec"]:
                raise FeatureMismatch(f"{p} was fitted on features {saved['spec']}, not {want}: "
                                      f"pass --features {saved['spec']} or refit")
        else:
            check_columns(saved["columns"], list(features), f"the features expected for {p}")
    with zipfile.ZipFile(p) as z:
        blob = z.read("models.pkl")
    if hashlib.sha256(blob).hexdigest() != meta.get("models_sha256"):
        raise CorruptFile(f"{p}: models.pkl does not match the checksum in surrogate.json (edited or truncated): "
                          "refit it")
    import sklearn

    if meta["versions"]["sklearn"].split(".")[:2] != sklearn.__version__.split(".")[:2]:
        warnings.warn(f"{p} was fitted with scikit-learn {meta['versions']['sklearn']}, this is "
                      f"{sklearn.__version__}: predictions may differ; refit to be sure", stacklevel=2)
    if trust:
        warnings.warn(f"unpickling {p} without restriction (trust=True): it can run code; "
                      "only do this for files you made", UntrustedModelWarning, stacklevel=2)
        models = pickle.loads(blob)
    else:
        from zcdb.tabular._safe_pickle import RefusedGlobal, load_estimators

        try:
            models = load_estimators(io.BytesIO(blob))
        except RefusedGlobal as exc:
            raise ZcdbError(f"{p} holds {exc.qualname}, which is not one of the scikit-learn regressors zcdb loads "
                            f"({', '.join(REGRESSORS)}): load it with trust=True (--trust) only if you made the "
                            "file") from None
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError, KeyError,
                MemoryError, RecursionError, OverflowError) as exc:
            raise CorruptFile(f"{p}: cannot unpickle the models ({type(exc).__name__}): refit it") from None
    if not isinstance(models, list) or not models or not all(hasattr(m, "predict") for m in models):
        raise CorruptFile(f"{p}: models.pkl is not a list of fitted regressors: refit it")
    if not trust:
        _check_trees(models, p)
    sur = Surrogate(meta, models, None)
    if benchmark is not None:
        sur.bind(benchmark)
    return sur
