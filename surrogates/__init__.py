"""Surrogate benchmarks: gradient-boosted models over architecture encodings and proxy features.

* :func:`feature_matrix` (:mod:`~zcdb.surrogates.features`): named, composable feature
  sets (``onehot``, ``adjacency``, ``path``, ``zc``, ``cost``, ``curve``) of every
  architecture, with exact column names; the registry is :data:`FEATURE_SETS`;
* :func:`fit` -> :class:`Surrogate` (``predict``, ``predict_std``, ``save``, ``evaluate``)
  and :func:`load`, which refuses a model fitted on other features;
* :class:`SurrogateBenchmark`: answers ``values``/``query``/``top`` like a tabular
  benchmark, says which answers are predictions, and gives their uncertainty;
* :func:`pool_of`, :func:`split`, :func:`score`, :func:`study`: the evaluation protocol.

Importing this package reads nothing and does not import scikit-learn.
"""

from __future__ import annotations

from .benchmark import SurrogateBenchmark
from .evaluation import pool_of, score, split, study
from .features import FEATURE_SETS, FeatureMatrix, FeatureMismatch, feature_matrix
from .model import (REGRESSORS, Surrogate, UntrustedModelWarning, default_model, fit, fit_sample, load, make_regressor,
                    open_surrogate, read_meta, train_hash)

__all__ = [
    "FEATURE_SETS", "FeatureMatrix", "FeatureMismatch", "feature_matrix",
    "Surrogate", "fit", "fit_sample", "load", "open_surrogate", "read_meta", "default_model", "make_regressor",
    "REGRESSORS", "train_hash", "UntrustedModelWarning",
    "SurrogateBenchmark", "pool_of", "split", "score", "study",
]
