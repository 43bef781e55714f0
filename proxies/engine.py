"""Compute many proxies over many architectures, sharing the work their definitions allow.

For each architecture and each *group* of requested proxies (see
:mod:`zcdb.proxies.registry`) the network is built with its initialization drawn from
``seed`` inside :func:`torch.random.fork_rng` (so the global RNG is left as it was; most
proxies use the benchmark network, TE-NAS's linear regions a thin one) and handed over to
the group's runner, which works on it instead of a copy (re-initialized from ``seed`` where
the proxy's definition re-initializes, e.g. Zen, SWAP). No proxy sees another's changes,
and the proxies of a group share their passes (one forward pass for nwot, jacov, epe_nas,
snip, grad_norm, plain, fisher and grasp). A seeded build costs less than a deep copy.

Every score equals the one the proxy's own function gives alone on the same network,
batch and seed (the tests check this to 1e-5 relative).

Time per proxy: the stages a proxy runs alone are charged to it; a shared stage (a
group's network build and forward pass, a backward pass used by several) is split
equally among the proxies that use it. The times of one architecture thus add up to the
wall time spent on it.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from zcdb.errors import ZcdbError

from ._util import Batch, hand_over
from .registry import GROUPS, REGISTRY, ProxySpec, get_proxy
from .user import USER_GROUP, check_user_specs, runner as user_runner

#: Builds the network of an architecture: ``build_model(arch, dataset=..., **build_kwargs) -> nn.Module``.
ModelBuilder = Callable[..., nn.Module]
#: Errors of the numerics (not of the caller's input) that make one group's scores NaN.
_NUMERIC_ERRORS = (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class ProxyScore:
    """One proxy's score on one architecture: NaN (never a sentinel) with ``reason`` when undefined."""

    arch: Any
    proxy: str
    score: float
    #: Wall time in seconds, shared stages split equally among the proxies using them.
    seconds: float
    reason: Optional[str] = None
    #: Process CPU time (all threads), split the same way.
    cpu_seconds: float = 0.0


def build_seeded(build_model: ModelBuilder, arch: Any, dataset: str, seed: int, **kwargs: Any) -> nn.Module:
    """``build_model(arch, dataset=dataset, **kwargs)`` with its initialization drawn from ``seed``.

    The global RNG state is saved and restored around the build (:func:`torch.random.fork_rng`).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build_model(arch, dataset=dataset, **kwargs)


#: What ``device="auto"`` means, and the names a device may be given by.
DEVICES = ("cpu", "cuda", "auto")


def check_device_name(device: Any) -> str:
    """``device`` as a valid name (``cpu``, ``cuda``, ``cuda:N``, ``auto``), not resolved: for work
    run elsewhere (on Dask workers), which resolve it themselves."""
    name = str(device).strip().lower()
    if name in DEVICES or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise ZcdbError(f"unknown device {device!r}: use cpu, cuda or auto")


def resolve_device(device: Any = "cpu") -> torch.device:
    """``cpu``, ``cuda`` (or ``cuda:N``), ``auto`` (CUDA where available, else CPU) or a
    :class:`torch.device`, as a :class:`torch.device`; :class:`ZcdbError` for CUDA without one."""
    if isinstance(device, torch.device):
        dev = device
    else:
        name = check_device_name(device)
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZcdbError(f"device {dev} asked for, but torch sees no CUDA GPU: use --device cpu (or auto), "
                        "or install a CUDA build of torch on a machine with one")
    if dev.type not in ("cpu", "cuda"):
        raise ZcdbError(f"unknown device {device!r}: use cpu, cuda or auto")
    return dev


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """On CUDA, cuDNN's deterministic kernels and no autotuning (``cudnn.deterministic = True``,
    ``cudnn.benchmark = False``) for the block, the caller's settings restored after it; nothing
    on CPU. The flags are process-wide, so they are set here, around a computation, never at import."""
    if device.type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    saved = (cudnn.deterministic, cudnn.benchmark)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


def space_builder(space: Any) -> ModelBuilder:
    """The network builder of a search space (name or :class:`~zcdb.spaces.SearchSpace`)."""
    from zcdb.spaces import get_space

    sp = get_space(space) if isinstance(space, str) else space

    def build(arch: Any, dataset: str, **kwargs: Any) -> nn.Module:
        return sp.network(arch, dataset, **kwargs)

    return build


def compute_proxies(archs: Iterable[Any], proxies: Sequence[str], dataset: str = "cifar10",
                    batch: Optional[Batch] = None, seed: int = 0,
                    build_model: Optional[ModelBuilder] = None,
                    input_shape: Optional[Sequence[int]] = None,
                    on_arch: Optional[Callable[[Any, list[ProxyScore]], None]] = None,
                    space: Any = None, device: Any = "cpu", extra: Sequence[ProxySpec] = ()) -> list[ProxyScore]:
    """Scores of ``proxies`` (registry names) for every architecture of ``archs``.

    ``extra``: proxies of your own (:class:`ProxySpec` objects, see :func:`zcdb.proxies.user_proxy`),
    computed after the named ones, each on a network of its own; ``proxies`` may name them too.

    ``batch`` is ``(x, y)`` (e.g. from :func:`zcdb.datasets.sample_batch`); it may be
    ``None`` only when every requested proxy is data-free, in which case the input shape
    is ``input_shape`` or the dataset's. ``build_model`` defaults to the network builder of
    ``space`` (a name or :class:`~zcdb.spaces.SearchSpace`; default
    :data:`zcdb.spaces.DEFAULT_SPACE`), whose architectures ``archs`` then are. ``on_arch(arch, scores)`` is called after each
    architecture (for progress or incremental saving). Returns one :class:`ProxyScore`
    per (architecture, proxy), architectures in the given order, proxies in the
    requested order.

    ``device`` (``cpu``, ``cuda``, ``auto``; see :func:`resolve_device`): each network is
    built (and initialized) on the CPU, as on every device, then moved there; the batch
    follows it, and the random numbers a proxy draws come from a CPU generator and are
    moved too, so only the arithmetic differs from the CPU's. On CUDA the computation
    runs under :func:`deterministic`.
    """
    dev = resolve_device(device)
    users = check_user_specs(extra)
    names = list(dict.fromkeys([*proxies, *users]))
    if not names:
        raise ZcdbError("no proxy requested: name at least one of " + ", ".join(REGISTRY))
    specs = [users[n] if n in users else get_proxy(n) for n in names]
    if batch is None:
        # a user proxy of data "random" reads the batch it is given, so it needs one too
        needing = [s.name for s in specs if s.needs_data or (s.name in users and s.data == "random")]
        if needing:
            raise ZcdbError(f"proxies {', '.join(needing)} need a batch of data: pass batch=(x, y)")
        if input_shape is None:
            from zcdb.datasets import dataset_info

            input_shape = dataset_info(dataset).shape
    if build_model is None:
        from zcdb.spaces import DEFAULT_SPACE, get_space

        sp = get_space(space or DEFAULT_SPACE) if not hasattr(space, "network") else space
        sp.check_dataset(dataset)
        lacking = [s.name for s in specs if not s.applies_to(sp)]
        if lacking:
            raise ZcdbError(f"proxies {', '.join(lacking)} need a network space {sp.name} does not build: "
                            "leave them out (`--proxies all` does)")
        builder = space_builder(sp)
    else:
        builder = build_model

    # Group the proxies by (network shape, runner group), in a fixed order.
    plan: dict[tuple, dict[str, list[str]]] = {}
    for s in specs:
        key = tuple(sorted(s.build.items()))
        # each user proxy is a group of its own: a fresh network, nothing shared
        group = f"{USER_GROUP}:{s.name}" if s.name in users else s.group
        plan.setdefault(key, {}).setdefault(group, []).append(s.name)
    runners = dict(GROUPS, **{f"{USER_GROUP}:{n}": user_runner(spec) for n, spec in users.items()})

    with deterministic(dev):
        return _compute(archs, names, plan, builder, dataset, batch, seed, input_shape, on_arch, dev, runners)


def _compute(archs: Iterable[Any], names: list[str], plan: dict, builder: ModelBuilder, dataset: str,
             batch: Optional[Batch], seed: int, input_shape: Optional[Sequence[int]],
             on_arch: Optional[Callable[[Any, list[ProxyScore]], None]], dev: torch.device,
             runners: Mapping[str, Any]) -> list[ProxyScore]:
    results: list[ProxyScore] = []
    if isinstance(batch, (tuple, list)) and dev.type != "cpu":
        batch = tuple(t.to(dev) if isinstance(t, torch.Tensor) else t for t in batch)  # type: ignore[assignment]
    for arch in archs:
        by_name: dict[str, ProxyScore] = {}
        for build_key, groups in plan.items():
            for group, members in groups.items():
                runner = runners[group]
                # A fresh seeded build per group, handed over to the runner: cheaper than the
                # deep copy the runner would otherwise make, and no group sees another's changes.
                t1, c1 = time.perf_counter(), time.process_time()
                model = build_seeded(builder, arch, dataset, seed, **dict(build_key))
                if dev.type != "cpu":
                    model = model.to(dev)
                model = hand_over(model)
                try:
                    outcomes = runner(model, batch, seed, members, input_shape)
                except _NUMERIC_ERRORS as exc:
                    share = (time.perf_counter() - t1) / len(members)
                    cpu = (time.process_time() - c1) / len(members)
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
                    for n in members:
                        by_name[n] = ProxyScore(arch, n, math.nan, share, reason, cpu)
                    continue
                build = (time.perf_counter() - t1 - sum(outcomes[n].seconds for n in members)) / len(members)
                build_cpu = (time.process_time() - c1 - sum(outcomes[n].cpu_seconds for n in members)) / len(members)
                for n in members:
                    o = outcomes[n]
                    by_name[n] = ProxyScore(arch, n, float(o.value), build + o.seconds, o.reason,
                                            build_cpu + o.cpu_seconds)
                del model
        scores = [by_name[n] for n in names]
        results.extend(scores)
        if on_arch is not None:
            on_arch(arch, scores)
    return results


def score_table(results: Sequence[ProxyScore]) -> dict[str, dict[Any, float]]:
    """``{proxy: {arch: score}}`` view of :func:`compute_proxies`'s results."""
    table: dict[str, dict[Any, float]] = {}
    for r in results:
        table.setdefault(r.proxy, {})[r.arch] = r.score
    return table


def add_to_import(batch_import: Any, results: Sequence[ProxyScore], space: str, dataset: str, seed: int,
                  batch_size: int, data: str) -> int:
    """Add the results to a store import (``with store.importing(...) as imp``), one call per proxy.

    Architectures are converted to the space's official indices. Returns the rows added.
    """
    from zcdb.spaces import get_space

    mod = get_space(space)
    per_proxy: dict[str, list[ProxyScore]] = {}
    for r in results:
        per_proxy.setdefault(r.proxy, []).append(r)
    n = 0
    for proxy, rows in per_proxy.items():
        batch_import.add_proxy_scores(
            space, dataset, proxy, seed, batch_size, data,
            [mod.index_of(r.arch) for r in rows], [r.score for r in rows], [r.seconds for r in rows],
            [r.reason for r in rows],
        )
        n += len(rows)
    return n


def spec_table() -> list[Mapping[str, Any]]:
    """The registry as rows (name, group, data, higher_is_better, paper) for listings."""
    return [
        dict(name=s.name, group=s.group, data=s.data, higher_is_better=s.higher_is_better, paper=s.paper)
        for s in REGISTRY.values()
    ]
