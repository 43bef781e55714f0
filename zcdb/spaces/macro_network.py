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

:func:`count_cost` (from :mod:`zcdb.spaces.macro_cost`, re-exported here) gives ``(params, flops)`` by formula, in the released file's
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

from typing import Optional

import torch
from torch import nn

from . import macro as space
from .macro import ArchLike

__all__ = ["build_macro", "MacroNetwork", "MacroIdentity", "InvertedResidual", "LayerSpec", "count_cost", "cost_table",
           "layer_specs", "STEM_CHANNELS", "HEAD_CHANNELS"]

from .macro_cost import (HEAD_CHANNELS, STEM_CHANNELS, LayerSpec, _IR, _num_classes, cost_table,  # noqa: F401
                         count_cost, layer_specs)


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
