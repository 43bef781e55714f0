"""Surrogate benchmarks: gradient-boosted models over architecture encodings and proxy features.

* :func:`feature_matrix` (:mod:`~zcdb.surrogates.features`): named, composable feature
  sets (``onehot``, ``adjacency``, ``path``, ``zc``, ``cost``, ``curve``) of every
  architecture, with exact column names; the registry is :data:`FEATURE_SETS`;
* :func:`fit` -> :class:`Surrogate` (``predict``, ``predict_std``, ``save``, ``evaluate``)
  and :func:`load`, which refuses a model fitted on other features;
* :class:`SurrogateBenchmark`: answers ``values``/``query``/``top`` like a tabular
  benchmark, says which answers are predictions, and gives their uncertainty;
* :func:`pool_of`, :func:`split` (:mod:`.splits`), :func:`score` (:mod:`.metrics`, pure),
  :func:`study` (:mod:`.evaluation`): the evaluation protocol.

Modules import one way only: metrics, features <- splits <- model (serving and saving)
<- fitting <- evaluation.

Importing this package reads nothing and does not import scikit-learn.
"""

from __future__ import annotations

from .benchmark import SurrogateBenchmark
from .evaluation import study
from .features import FEATURE_SETS, FeatureMatrix, FeatureMismatch, feature_matrix
from .fitting import default_model, fit, fit_sample, make_regressor
from .metrics import score
from .model import REGRESSORS, Surrogate, UntrustedModelWarning, load, open_surrogate, read_meta, train_hash
from .splits import pool_of, split

__all__ = [
    "FEATURE_SETS", "FeatureMatrix", "FeatureMismatch", "feature_matrix",
    "Surrogate", "fit", "fit_sample", "load", "open_surrogate", "read_meta", "default_model", "make_regressor",
    "REGRESSORS", "train_hash", "UntrustedModelWarning",
    "SurrogateBenchmark", "pool_of", "split", "score", "study",
]
