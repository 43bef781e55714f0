"""Unpickling benchmark files without running code from them.

The official NAS-Bench-201, NATS-Bench and HW-NAS-Bench releases are pickles of plain
data: dicts, lists, floats, strings, ``OrderedDict``, numpy scalars and arrays. Python's
own unpickler would import and call any global a file names, so a tampered file could run
arbitrary code. :class:`DataUnpickler` resolves only an allowlist of data types and
refuses everything else with :class:`RefusedGlobal`.

Every allowlist holds exact ``(module, name)`` pairs: a name is never resolved through
attributes (protocol 4 lets a pickle name ``numpy.random.mtrand`` + ``np.memmap``, which
reaches ``numpy.memmap`` and with it a file opened for writing), and no listed global
opens a file, maps memory, imports a module or calls a function the pickle names.
:class:`EstimatorUnpickler` adds the classes of the fitted scikit-learn regressors zcdb's
surrogates save, and nothing else.

It subclasses the C unpickler and only overrides ``find_class`` (called once per global
reference, not per object), so it is as fast as ``pickle.load``. torch's own
``weights_only`` loader is a pure-Python unpickler, ten times slower (39 s against 4 s on
a 155 MB NAS-Bench-201-format file; the official one is 4.7 GB).
:data:`TORCH_PICKLE_MODULE` plugs this unpickler into ``torch.load``.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import types
from typing import IO, Any, Iterator

# (module, name) pairs that only build data. numpy 2 renamed numpy.core to numpy._core;
# files written with numpy 1 name the old modules.
_DATA_GLOBALS = frozenset(
    [
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles of numpy scalars
    ]
    # containers and numbers (sets and defaultdict factories are pickled by name)
    + [("builtins", n) for n in ("set", "frozenset", "complex", "bytearray",
                                 "list", "dict", "tuple", "int", "float", "str", "bool")]
    + [(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("scalar", "_reconstruct")]
    + [(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")]
    + [("numpy", "ndarray"), ("numpy", "dtype")]
)
# What torch.save writes for tensors (trained weights, absent from the simplified files).
_TORCH_GLOBALS = frozenset(
    [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch", "Size"),
        ("torch", "Tensor"),
        ("torch.nn.parameter", "Parameter"),
    ]
)


# What zcdb's surrogate files pickle (surrogates.model.REGRESSORS under every uncertainty
# and target transform; tests/test_security.py checks the list covers them and no more
# is needed): the estimators, their losses and tree structures, and the numpy random
# generators some of them keep. Each is a class whose construction only stores data.
_ESTIMATOR_GLOBALS = frozenset(
    [
        ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingRegressor"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("sklearn.ensemble._forest", "RandomForestRegressor"),
        ("sklearn.ensemble._gb", "GradientBoostingRegressor"),
        ("sklearn.tree._classes", "DecisionTreeRegressor"),
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.dummy", "DummyRegressor"),
        ("sklearn.compose._target", "TransformedTargetRegressor"),
        ("sklearn.preprocessing._data", "QuantileTransformer"),
        ("sklearn._loss.loss", "HalfSquaredError"),
        ("sklearn._loss.loss", "PinballLoss"),
        ("sklearn._loss._loss", "CyHalfSquaredError"),
        ("sklearn._loss._loss", "CyPinballLoss"),
        ("sklearn._loss.link", "IdentityLink"),
        ("sklearn._loss.link", "Interval"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ]
)


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names a global (class or function) outside the data allowlist."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class DataUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data only (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _DATA_GLOBALS or (module == "numpy.dtypes" and name.endswith("DType")
                                               and name.isidentifier()):
            return super().find_class(module, name)
        raise RefusedGlobal(module, name)


class EstimatorUnpickler(DataUnpickler):
    """Plain data plus the exact scikit-learn and numpy classes of zcdb's fitted regressors."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ESTIMATOR_GLOBALS:
            return pickle.Unpickler.find_class(self, module, name)
        return super().find_class(module, name)


class _TorchDataUnpickler(DataUnpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _TORCH_GLOBALS:
            return super(DataUnpickler, self).find_class(module, name)
        if module == "torch":
            import torch

            if isinstance(getattr(torch, name, None), torch.dtype):
                return getattr(torch, name)
        return super().find_class(module, name)


def load(fh: IO[bytes]) -> Any:
    """Unpickle one object of plain data from a binary file object."""
    return DataUnpickler(fh).load()


def load_estimators(fh: IO[bytes]) -> Any:
    """Unpickle fitted regressors (see :class:`EstimatorUnpickler`) from a binary file object."""
    return EstimatorUnpickler(fh).load()


def _torch_load(fh: IO[bytes], **kwargs: Any) -> Any:
    return _TorchDataUnpickler(fh, **kwargs).load()


#: A ``pickle_module`` for ``torch.load(..., weights_only=False, pickle_module=...)``: the
#: C unpickler restricted to data (torch resolves its storage types itself).
TORCH_PICKLE_MODULE = types.ModuleType("zcdb_data_pickle")
TORCH_PICKLE_MODULE.Unpickler = _TorchDataUnpickler  # type: ignore[attr-defined]
TORCH_PICKLE_MODULE.load = _torch_load  # type: ignore[attr-defined]
TORCH_PICKLE_MODULE.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line, for error messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk load, then restore its state.

    Unpickling and walking a benchmark file creates tens of millions of containers; each
    full collection re-traverses all of them, which makes a load 2-3 times slower. Nothing
    in a loaded benchmark is cyclic garbage, so pausing loses nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
