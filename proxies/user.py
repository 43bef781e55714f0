"""Your own proxy: a function of yours computed, stored and evaluated beside the built-ins.

The contract is the built-ins' own: ``fn(model, batch, seed) -> float``, pure (the engine
hands it a freshly built network of its own, and ``seed`` is its randomness), NaN when the
score is undefined. :func:`user_proxy` wraps such a function into a
:class:`~zcdb.proxies.ProxySpec`; :func:`~zcdb.proxies.compute_proxies` and
:func:`~zcdb.proxies.stored.compute_and_store` take the specs as ``extra=``, and
``zcdb proxies compute --proxy-module MODULE:NAME`` loads one with :func:`load_proxy`.
Nothing is added to :data:`~zcdb.proxies.REGISTRY`: a user proxy exists for the call it
is passed to.

User proxies are higher-is-better (return the negated score otherwise): a stored score
set carries no orientation, and every reader (``proxies eval``, ensembles, search) takes
a name outside the registry as higher-is-better, as for ensembles.

A user proxy that raises scores NaN with the exception as its reason, as a built-in whose
numerics fail does; one that returns something other than a number is a
:class:`~zcdb.errors.ZcdbError` (a bug of the function, not of the architecture).
"""

from __future__ import annotations

import importlib
import math
import numbers
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import torch
from torch import nn

from zcdb.errors import ZcdbError

from ._util import Batch, Outcome, finite
from .registry import REGISTRY, ProxySpec

#: The runner group of every user proxy; each one is run on a network of its own.
USER_GROUP = "user"
_DATA = ("none", "random", "batch")


def user_proxy(name: str, fn: Callable[..., float], data: str = "batch", paper: str = "user-supplied") -> ProxySpec:
    """A :class:`ProxySpec` for ``fn(model, batch, seed) -> float``.

    ``data``: ``"batch"`` (reads the images and labels; the default), ``"random"`` (only the
    batch's shape) or ``"none"`` (data-free: ``batch`` may be ``None``). It decides the stored
    ``data`` label, as for the built-ins.
    """
    spec = ProxySpec(name, fn, USER_GROUP, data, paper)
    check_user_specs([spec])
    return spec


def check_user_specs(extra: Sequence[Any]) -> dict[str, ProxySpec]:
    """``extra`` by name, validated: ProxySpecs of the ``user`` group, higher-is-better, no name
    of a built-in nor twice."""
    out: dict[str, ProxySpec] = {}
    for spec in extra:
        if not isinstance(spec, ProxySpec):
            raise ZcdbError(f"extra proxy {spec!r} is not a ProxySpec: wrap your function with "
                            "zcdb.proxies.user_proxy(name, fn)")
        name = spec.name
        if not isinstance(name, str) or not name.strip() or name != name.strip() or "," in name:
            raise ZcdbError(f"user proxy name {name!r}: use a non-empty name without commas or surrounding spaces")
        if name in REGISTRY or name == "tenas":
            raise ZcdbError(f"user proxy {name!r} has the name of a built-in proxy: give it another name")
        if name in out:
            raise ZcdbError(f"user proxy {name!r} is given twice: pass each proxy once")
        if spec.group != USER_GROUP:
            raise ZcdbError(f"user proxy {name!r} has group {spec.group!r}: build it with "
                            "zcdb.proxies.user_proxy(name, fn), whose group is 'user'")
        if spec.data not in _DATA:
            raise ZcdbError(f"user proxy {name!r}: data must be none, random or batch, not {spec.data!r}")
        if not spec.higher_is_better:
            raise ZcdbError(f"user proxy {name!r} is lower-is-better: return the negated score instead")
        if spec.build:
            raise ZcdbError(f"user proxy {name!r} asks for build options {dict(spec.build)}: user proxies "
                            "are computed on the benchmark network; leave build empty")
        if not callable(spec.fn):
            raise ZcdbError(f"user proxy {name!r}: fn is not callable")
        out[name] = spec
    return out


def load_proxy(ref: str) -> ProxySpec:
    """The proxy named by ``"package.module:NAME"``: a :class:`ProxySpec`, or a plain function
    ``fn(model, batch, seed) -> float`` (then named after the function, reading a batch).

    Importing the module runs its code: trusted code execution, like ``python -m``.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ZcdbError(f"--proxy-module {ref!r}: write MODULE:NAME, e.g. mypkg.proxies:my_proxy")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ZcdbError(f"--proxy-module {ref!r}: no module named {exc.name!r}; put its folder on "
                        "PYTHONPATH or install it") from None
    except Exception as exc:  # the user's module failing at import: its error, in one line
        raise ZcdbError(f"--proxy-module {ref!r}: importing {module_name} failed: {_one_line(exc)}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ZcdbError(f"--proxy-module {ref!r}: module {module_name} has no {attr!r}; name a ProxySpec or "
                        "a function fn(model, batch, seed) -> float in it") from None
    if isinstance(obj, ProxySpec):
        check_user_specs([obj])
        return obj
    if callable(obj) and not isinstance(obj, type):
        return user_proxy(getattr(obj, "__name__", attr), obj)
    raise ZcdbError(f"--proxy-module {ref!r}: {attr} is a {type(obj).__name__}, not a proxy; name a ProxySpec "
                    "or a function fn(model, batch, seed) -> float")


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def _as_number(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().cpu())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ZcdbError(f"user proxy {name!r} returned {type(value).__name__} {value!r:.60}, not a number: "
                    "return a float (NaN when the score is undefined)")


def runner(spec: ProxySpec) -> Callable[..., "dict[str, Outcome]"]:
    """A group runner (see :data:`zcdb.proxies.registry.GROUPS`) for one user proxy."""

    def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
            input_shape: Optional[Sequence[int]]) -> Mapping[str, Outcome]:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            raw = spec.fn(model, batch, seed)
        except Exception as exc:  # the user's code: any failure is that architecture's NaN, with why
            value, reason = math.nan, _one_line(exc)
        else:
            value, reason = finite(_as_number(spec.name, raw), spec.name)
        return {spec.name: Outcome(value, reason, time.perf_counter() - t0, time.process_time() - c0)}

    return run
