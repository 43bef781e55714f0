"""The NAS-Bench-Macro network of an architecture, in PyTorch, and its exact costs.

The network is the authors' ``Network`` (``train/model.py`` of xiusu/NAS-Bench-Macro),
rebuilt module for module:

* stem: 3x3 convolution to 32 channels (no bias), BatchNorm, ReLU;
* 8 searchable layers in stages of 2, 3, 3 (:data:`zcdb.spaces.macro.STAGES`): the
  first layer of each stage has stride 2 and doubles the channels (32 -> 64,
  64 -> 128, 128 -> 256; on 32x32 inputs the sides go 32 -> 16 -> 8 -> 4), the
  others keep both;
* head: 1x1 convolution to 1280 channels (no bias), BatchNorm, ReLU, global average
  pooling, then a linear classifier (with bias).

Blocks: ``id`` is the identity where stride and channels are kept, and a 1x1
convolution with the layer's stride plus BatchNorm where they change (the authors'
``Identity`` with its ``downsample``). ``ir_3x3_t3`` / ``ir_5x5_t6`` are MobileNetV2
inverted residuals with expansion ``t`` and depthwise kernel ``k``: 1x1 conv to
``t * c_in``, BN, ReLU, kxk depthwise conv (the layer's stride, padding ``k // 2``),
BN, ReLU, 1x1 conv to ``c_out``, BN; plus the input when stride is 1 and channels
are kept. The activations are plain ``ReLU`` (not ReLU6) everywhere, every
convolution is bias-free, every BatchNorm is PyTorch's default (affine, running
statistics, eps 1e-5), and the weights keep PyTorch's default initialization, as
in the authors' code. Module names match theirs (``stem``, ``features.<i>.conv`` /
``features.<i>.downsample``, ``out``, ``classifier``), so their state dicts load
key for key. ReLUs are not in-place (the function is the same; hooks that read a
ReLU's input see it unmodified).

:func:`count_cost` gives ``(params, flops)`` by formula, in the released file's
units and convention (the authors' ``count_parameters_in_MB`` and ``count_FLOPs``
in ``train/utils.py``): params is the number of all parameters (BatchNorm weights
and biases and the classifier's bias included); FLOPs are the multiply-accumulates
of the convolutions (``k*k*c_in*c_out/groups`` per output position) and of the
classifier (``in*out``, bias not counted), per 32x32 image; BatchNorm, ReLU,
pooling and the residual additions are free. Both are integer counts, not millions.

Datasets: the benchmark is CIFAR-10 only. The network is defined on 3x32x32
inputs with a ``num_classes`` head, so it generalizes trivially to any dataset of
that shape (``cifar100``: a 100-way classifier); other datasets raise
:class:`~zcdb.errors.ZcdbError`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import numpy as np
import torch
from torch import nn

from ..errors import ZcdbError
from . import macro as space
from .macro import ArchLike

__all__ = ["build_macro", "MacroNetwork", "MacroIdentity", "InvertedResidual", "LayerSpec", "count_cost", "cost_table",
           "layer_specs", "STEM_CHANNELS", "HEAD_CHANNELS"]

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
#: (expansion ratio, depthwise kernel) of the two inverted-residual blocks, by op index.
_IR = {1: (3, 3), 2: (6, 5)}
_INPUT_SHAPE = (3, 32, 32)


class LayerSpec(NamedTuple):
    """One searchable layer: input and output channels, stride, input side."""

    c_in: int
    c_out: int
    stride: int
    side_in: int


def _side_out(side: int, kernel: int, stride: int) -> int:
    return (side + 2 * (kernel // 2) - kernel) // stride + 1


@functools.lru_cache(maxsize=8)
def layer_specs(side: int = 32) -> tuple[LayerSpec, ...]:
    """The 8 searchable layers' channels, strides and input sides for a ``side x side`` input."""
    specs = []
    channels = STEM_CHANNELS
    for size in space.STAGES:
        for k in range(size):
            if k == 0:
                specs.append(LayerSpec(channels, 2 * channels, 2, side))
                channels *= 2
                side = _side_out(side, 1, 2)  # every block of the layer halves it alike (odd kernels, pad k // 2)
            else:
                specs.append(LayerSpec(channels, channels, 1, side))
    return tuple(specs)


def _num_classes(dataset: str) -> int:
    from ..datasets import dataset_info

    info = dataset_info(dataset)  # UnknownDataset for a name zcdb does not know
    if tuple(info.shape) != _INPUT_SHAPE:
        raise ZcdbError(
            f"space macro has no network for dataset {dataset}: it is defined on 3x32x32 inputs "
            f"(cifar10, the benchmark's dataset, or cifar100), {dataset} is {'x'.join(map(str, info.shape))}"
        )
    return info.num_classes


# --------------------------------------------------------------------------- network
class MacroIdentity(nn.Module):
    """The ``id`` block: identity, or 1x1 conv (stride ``stride``) + BN where shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(c_out),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: pointwise expansion, depthwise kxk, linear pointwise projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int, kernel: int) -> None:
        super().__init__()
        hidden = round(c_in * expansion)
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, kernel, stride=stride, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.use_shortcut = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y + x if self.use_shortcut else y


def _block(op: int, spec: LayerSpec) -> nn.Module:
    if op == 0:
        return MacroIdentity(spec.c_in, spec.c_out, spec.stride)
    expansion, kernel = _IR[op]
    return InvertedResidual(spec.c_in, spec.c_out, spec.stride, expansion, kernel)


class MacroNetwork(nn.Module):
    """A NAS-Bench-Macro network; ``forward`` maps ``(N, 3, 32, 32)`` images to ``(N, classes)`` logits."""

    def __init__(self, ops: tuple[int, ...], num_classes: int = 10) -> None:
        super().__init__()
        self.ops = ops
        self.stem = nn.Sequential(
            nn.Conv2d(3, STEM_CHANNELS, 3, padding=1, bias=False),
            nn.BatchNorm2d(STEM_CHANNELS),
            nn.ReLU(),
        )
        specs = layer_specs()
        self.features = nn.Sequential(*(_block(op, spec) for op, spec in zip(ops, specs)))
        self.out = nn.Sequential(
            nn.Conv2d(specs[-1].c_out, HEAD_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(HEAD_CHANNELS),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.out(self.features(self.stem(x)))
        return self.classifier(torch.flatten(x, 1))


def build_macro(arch: ArchLike, dataset: str = "cifar10") -> MacroNetwork:
    """The network of ``arch`` (code, index or ops tuple) for ``dataset`` (3x32x32 inputs).

    Raises :class:`~zcdb.errors.UnknownArch` for a bad architecture and
    :class:`~zcdb.errors.ZcdbError` for a dataset the network is not defined on.
    """
    ops = space.ops_of(arch)
    return MacroNetwork(ops, num_classes=_num_classes(dataset))


# --------------------------------------------------------------------------- costs
def _conv(c_in: int, c_out: int, kernel: int, stride: int, side_in: int, groups: int = 1) -> tuple[int, int, int]:
    """``(params, macs, side_out)`` of a bias-free convolution with padding ``kernel // 2``."""
    side = _side_out(side_in, kernel, stride)
    weights = kernel * kernel * c_in * c_out // groups
    return weights, weights * side * side, side


def _block_cost(op: int, spec: LayerSpec) -> tuple[int, int]:
    if op == 0:
        if spec.stride == 1 and spec.c_in == spec.c_out:
            return 0, 0
        p, f, _ = _conv(spec.c_in, spec.c_out, 1, spec.stride, spec.side_in)
        return p + 2 * spec.c_out, f
    expansion, kernel = _IR[op]
    hidden = round(spec.c_in * expansion)
    p1, f1, s1 = _conv(spec.c_in, hidden, 1, 1, spec.side_in)
    p2, f2, s2 = _conv(hidden, hidden, kernel, spec.stride, s1, groups=hidden)
    p3, f3, _ = _conv(hidden, spec.c_out, 1, 1, s2)
    return p1 + p2 + p3 + 2 * (2 * hidden + spec.c_out), f1 + f2 + f3


@functools.lru_cache(maxsize=8)
def _prices(num_classes: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Skeleton ``(params, flops)`` and ``(8, 3)`` per-layer, per-op price tables."""
    specs = layer_specs()
    p_stem, f_stem, _ = _conv(3, STEM_CHANNELS, 3, 1, _INPUT_SHAPE[1])
    last = specs[-1]
    p_head, f_head, _ = _conv(last.c_out, HEAD_CHANNELS, 1, 1, _side_out(last.side_in, 1, last.stride))
    params = p_stem + 2 * STEM_CHANNELS + p_head + 2 * HEAD_CHANNELS + HEAD_CHANNELS * num_classes + num_classes
    flops = f_stem + f_head + HEAD_CHANNELS * num_classes  # the authors' counter leaves the bias out
    price_p = np.zeros((space.NUM_LAYERS, space.NUM_OPS), dtype=np.int64)
    price_f = np.zeros_like(price_p)
    for i, spec in enumerate(specs):
        for op in range(space.NUM_OPS):
            price_p[i, op], price_f[i, op] = _block_cost(op, spec)
    for a in (price_p, price_f):
        a.setflags(write=False)
    return params, flops, price_p, price_f


def count_cost(arch: ArchLike, dataset: str = "cifar10") -> tuple[int, int]:
    """``(params, flops)`` of :func:`build_macro`'s network, as integer counts.

    The released file's convention (see the module docstring): all parameters;
    convolution and classifier multiply-accumulates per image, without biases,
    BatchNorm, activations or pooling. Equals the file's ``params`` and ``flops``
    for all 6,561 codes on cifar10.
    """
    ops = space.ops_of(arch)
    p0, f0, price_p, price_f = _prices(_num_classes(dataset))
    params = p0 + sum(int(price_p[k, o]) for k, o in enumerate(ops))
    flops = f0 + sum(int(price_f[k, o]) for k, o in enumerate(ops))
    return params, flops


@functools.lru_cache(maxsize=8)
def _cost_table(num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    p0, f0, price_p, price_f = _prices(num_classes)
    ops = space.ops_matrix().astype(np.intp)
    layers = np.arange(space.NUM_LAYERS)
    params = p0 + price_p[layers, ops].sum(axis=1)
    flops = f0 + price_f[layers, ops].sum(axis=1)
    for a in (params, flops):
        a.setflags(write=False)
    return params, flops


def cost_table(dataset: str = "cifar10") -> tuple[np.ndarray, np.ndarray]:
    """``(params, flops)``: two read-only int64 arrays of :func:`count_cost` for every index."""
    return _cost_table(_num_classes(dataset))
