"""The registry of search algorithms: name -> class and the configuration that name stands for."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Mapping, Optional

from ..errors import ZcdbError
from .bananas import Bananas
from .base import Algorithm
from .hyperband import Hyperband, SuccessiveHalving
from .multiobjective import MORegularizedEvolution, ParEGO
from .simple import LocalSearch, ProxyRanking, RandomSearch, RegularizedEvolution, Reinforce


@dataclasses.dataclass(frozen=True)
class AlgorithmEntry:
    """A registered algorithm: its class, the settings its name implies, and a one-line summary."""

    name: str
    cls: type
    preset: Mapping[str, Any]
    summary: str


_ENTRIES = (
    AlgorithmEntry("random", RandomSearch, {}, "uniform random sampling (single- and multi-objective)"),
    AlgorithmEntry("rea", RegularizedEvolution, {}, "regularized evolution (population 10, sample 3)"),
    AlgorithmEntry("local", LocalSearch, {}, "best-improvement local search with random restarts"),
    AlgorithmEntry("reinforce", Reinforce, {}, "REINFORCE over each edge's operation distribution"),
    AlgorithmEntry("bananas", Bananas, {}, "BANANAS-style BO: bagged GBDT ensemble, Thompson sampling"),
    AlgorithmEntry("sh", SuccessiveHalving, {}, "successive halving over epochs (needs curves)"),
    AlgorithmEntry("hyperband", Hyperband, {}, "Hyperband over epochs (needs curves)"),
    AlgorithmEntry("proxy", ProxyRanking, {}, "training-free: rank 1000 samples by the proxies, best first"),
    AlgorithmEntry("rea-proxy", RegularizedEvolution, {"warm_start": True},
                   "REA warm-started from the top proxy scores of 1000 samples"),
    AlgorithmEntry("bananas-proxy", Bananas, {"warm_start": True},
                   "BANANAS warm-started from the top proxy scores of 1000 samples"),
    AlgorithmEntry("mo-rea", MORegularizedEvolution, {},
                   "multi-objective REA: parents by non-domination rank, then crowding (population 50, sample 10)"),
    AlgorithmEntry("parego", ParEGO, {},
                   "multi-objective ParEGO: random augmented Chebyshev weights per refit, GBDT ensemble, EI"),
)

#: Algorithm name -> entry. Filled here, explicitly; nothing registers itself.
ALGORITHMS: dict[str, AlgorithmEntry] = {e.name: e for e in _ENTRIES}


def user_algorithm(path: str) -> AlgorithmEntry:
    """The entry of a user's algorithm class named ``module:Class`` (``mypkg.algos:MyAlgo``).

    The class must subclass :class:`~zcdb.search.base.Algorithm` and be a dataclass of its
    settings, like the built-ins. Importing the module runs its code: it is the user's own,
    trusted as any script they run; nothing is registered, the name is resolved per call."""
    import importlib

    module, _, attr = path.partition(":")
    if not module or not attr or not all(part.isidentifier() for part in module.split(".") + attr.split(".")):
        raise ZcdbError(f"bad algorithm {path!r}: name a registered one or a class as module:Class "
                        "(e.g. mypkg.algos:MyAlgo)")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ZcdbError(f"cannot import {module!r} for algorithm {path!r} ({exc}): put it on PYTHONPATH") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ZcdbError(f"module {module!r} has no {attr!r}: check the name after the colon in {path!r}")
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Algorithm) and dataclasses.is_dataclass(obj)):
        raise ZcdbError(f"{path} is not a search algorithm: subclass zcdb.search.Algorithm as a frozen dataclass "
                        "(see the README's 'Your own search algorithm')")
    doc = (obj.__doc__ or "").strip().splitlines()
    return AlgorithmEntry(path, obj, {}, doc[0] if doc else "a user's algorithm")


def algorithm_entry(name: str) -> AlgorithmEntry:
    """The registered algorithm ``name``, or a user's class named ``module:Class``."""
    if ":" in name:
        return user_algorithm(name)
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ZcdbError(f"unknown search algorithm {name!r}: known are {', '.join(ALGORITHMS)}, "
                        "or a class of yours as module:Class") from None


def make_algorithm(name: str, config: Optional[Mapping[str, Any]] = None) -> Algorithm:
    """The algorithm registered as ``name`` (or a user's ``module:Class``), with ``config`` overriding its defaults."""
    entry = algorithm_entry(name)
    fields = {f.name: f for f in dataclasses.fields(entry.cls)}
    kwargs = dict(entry.preset)
    for key, value in (config or {}).items():
        if key not in fields:
            raise ZcdbError(
                f"{name} has no setting {key!r}: its settings are {', '.join(fields) or 'none'}"
            )
        kwargs[key] = value
    try:
        return entry.cls(**kwargs)
    except TypeError as exc:
        raise ZcdbError(f"bad settings for {name}: {exc}") from None


def config_hash(algorithm: Algorithm, proxy_labels: tuple[str, ...] = (),
                data: Optional[str] = None, problem: Optional[Mapping[str, Any]] = None) -> tuple[str, str]:
    """The canonical JSON of an algorithm's identity (class, version, configuration, proxy sets
    it reads) and, when given, the fingerprint of the data it runs on
    (:meth:`SearchProblem.fingerprint`) and what the problem adds to its key
    (:meth:`SearchProblem.identity`: constraints, objectives, reference point), with its
    SHA-256 prefix, which keys stored runs."""
    cls = type(algorithm)
    # a user's class is keyed by module and name (two users' MyAlgo are different runs); built-ins by name
    ident = cls.__name__ if cls.__module__.startswith("zcdb.") else f"{cls.__module__}:{cls.__qualname__}"
    doc = dict(algorithm=ident, version=cls.version, config=algorithm.config(),
               proxies=list(proxy_labels) if algorithm.uses_proxies() else [])
    if data is not None:
        doc["data"] = data
    if problem:  # absent for plain problems, so that their hashes stay as they were
        doc["problem"] = dict(problem)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_config(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` settings, values parsed as JSON where they parse (``10``, ``true``, ``"x"``), else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ZcdbError(f"bad setting {item!r}: write KEY=VALUE, e.g. population_size=20")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out
