"""Shared plumbing of the proxy implementations (not public API).

Every proxy works on a private deep copy of the caller's model, draws its random
numbers from a :class:`torch.Generator` seeded by its ``seed``, and reports an
:class:`Outcome` per proxy: the score (NaN when undefined, with the reason), and the
seconds it took, shared stages split equally among the proxies that used them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence, Union

import torch
from torch import nn

from zcdb.errors import ZcdbError

#: A batch of data: ``(inputs (B, C, H, W) float, targets (B,) int64)``.
Batch = tuple[torch.Tensor, torch.Tensor]
Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Outcome:
    """One proxy's result on one model: ``value`` (NaN when undefined), ``reason`` for a NaN, time spent.

    ``seconds`` is wall time; ``cpu_seconds`` is process CPU time (all threads), the steadier
    figure on a busy machine.
    """

    value: float
    reason: Optional[str] = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def finite(value: Union[float, torch.Tensor], what: str) -> tuple[float, Optional[str]]:
    """``(value, None)`` when finite, else ``(nan, reason)``: NaN and inf are both stored as NaN."""
    v = float(value)
    if math.isfinite(v):
        return v, None
    kind = "NaN" if math.isnan(v) else ("+inf" if v > 0 else "-inf")
    return math.nan, f"{what} is {kind}"


class StageClock:
    """Wall time per proxy, with each shared stage split equally among the proxies that use it."""

    def __init__(self, names: Iterable[str]) -> None:
        self.seconds = {n: 0.0 for n in names}
        self.cpu_seconds = {n: 0.0 for n in names}

    @contextlib.contextmanager
    def stage(self, users: Iterable[str]) -> Iterator[None]:
        users = [u for u in users if u in self.seconds]
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            if users:
                share = (time.perf_counter() - t0) / len(users)
                cpu_share = (time.process_time() - c0) / len(users)
                for u in users:
                    self.seconds[u] += share
                    self.cpu_seconds[u] += cpu_share

    def outcome(self, name: str, value: float, reason: Optional[str] = None) -> Outcome:
        return Outcome(value, reason, self.seconds[name], self.cpu_seconds[name])


_HANDED_OVER = "_zcdb_handed_over"


def hand_over(model: nn.Module) -> nn.Module:
    """Mark a model nobody else holds (e.g. just built by the engine): the next
    :func:`private_copy` of it returns the model itself instead of a deep copy.

    A fresh build costs less than a deep copy (about 6 ms vs 17 ms for an NB201 network),
    so the engine builds one seeded network per group of proxies and hands it over.
    """
    model.__dict__[_HANDED_OVER] = True
    return model


def private_copy(model: nn.Module) -> nn.Module:
    """A deep copy to work on (the caller's model, its mode and its statistics stay untouched).

    Every parameter of the copy requires grad; hooks the caller registered are dropped.
    A model passed through :func:`hand_over` is used itself, once, instead of a copy.
    """
    net = model if model.__dict__.pop(_HANDED_OVER, False) else copy.deepcopy(model)
    for m in net.modules():
        # A hook of the caller's could close over the caller's state: the copy must not call it.
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            hooks = getattr(m, attr, None)
            if hooks:
                hooks.clear()
    for p in net.parameters():
        p.requires_grad_(True)
        p.grad = None
    return net


def channels_last(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Move ``net`` (in place) and return ``x`` in the channels-last (NHWC) memory layout,
    if the network declares that its forward allows it (``channels_last_safe``, as
    :class:`zcdb.spaces.nb201_network.NB201Network` does); otherwise leave both as they are.

    On CPU, oneDNN's NHWC convolution kernels make the passes of tenas_ntk, zico and zen
    on an NB201 network 1.8-2.2x faster than NCHW ones (measured side by side; see the
    README). The values differ from NCHW ones only by summation order (small, not
    bitwise), and a proxy uses one layout whether computed alone or with others. Not used
    where it is slower: GraSP's double backward (the data group), MeCo's single input,
    float64 SynFlow. Opt-in, because a model of the caller's may flatten with ``.view``,
    which an NHWC tensor refuses.
    """
    if not getattr(net, "channels_last_safe", False):
        return x
    net.to(memory_format=torch.channels_last)
    return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear layers, in module order: the layers the pruning-based proxies score."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def generator(seed: int, device: torch.device = torch.device("cpu")) -> torch.Generator:
    """A generator seeded by ``seed``. The proxies keep theirs on the CPU and move what they draw
    to the model's device, so the random numbers are the same whatever the device."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@torch.no_grad()
def gaussian_init(net: nn.Module, gen: torch.Generator) -> None:
    """Zen-NAS's ``network_weight_gaussian_init``: conv/linear weights N(0, 1), biases 0, norm layers (1, 0)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if m.weight.device == gen.device:
                m.weight.normal_(0.0, 1.0, generator=gen)
            else:  # drawn where the generator lives: the same weights on every device
                m.weight.copy_(torch.empty(m.weight.shape, device=gen.device).normal_(0.0, 1.0, generator=gen))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            if m.weight is not None:
                m.weight.fill_(1.0)
            if m.bias is not None:
                m.bias.zero_()


def reset_bn_statistics(net: nn.Module) -> None:
    """Running statistics back to their fresh values (mean 0, var 1, count 0)."""
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            m.reset_running_stats()


def split_batch(batch: Optional[Batch], proxy: str, device: torch.device) -> Batch:
    """Validate a ``(x, y)`` batch and move it to ``device``."""
    if batch is None:
        raise ZcdbError(f"proxy {proxy} needs a batch of data: pass batch=(x, y)")
    try:
        x, y = batch
    except (TypeError, ValueError):
        raise ZcdbError(f"proxy {proxy}: batch must be a pair (x, y) of tensors") from None
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ZcdbError(f"proxy {proxy}: batch must be a pair (x, y) of tensors")
    if x.ndim != 4 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ZcdbError(
            f"proxy {proxy}: batch must be x (B, C, H, W) and y (B,) with B >= 2, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    return x.detach().to(device=device, dtype=torch.float32), y.detach().to(device=device, dtype=torch.long)


def resolve_shape(batch: Optional[Batch], input_shape: Optional[Sequence[int]], proxy: str) -> Shape:
    """Input shape ``(C, H, W)`` of one image: ``input_shape`` if given, else the batch's."""
    if input_shape is not None:
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ZcdbError(f"proxy {proxy}: input_shape must be (C, H, W), got {tuple(input_shape)}")
        return shape  # type: ignore[return-value]
    if batch is not None:
        x = batch[0]
        if isinstance(x, torch.Tensor) and x.ndim == 4:
            return tuple(int(v) for v in x.shape[1:])  # type: ignore[return-value]
    raise ZcdbError(f"proxy {proxy} needs the input shape: pass input_shape=(C, H, W) or a batch")


def check_names(names: Sequence[str], known: Sequence[str], group: str) -> list[str]:
    out = list(dict.fromkeys(names))
    bad = [n for n in out if n not in known]
    if bad:
        raise ZcdbError(f"group {group} computes {', '.join(known)}, not {', '.join(bad)}")
    return out
