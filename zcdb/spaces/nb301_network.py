"""The NAS-Bench-301 (DARTS) CIFAR-10 network, as NAS-Bench-Suite-Zero scored it, in PyTorch.

NAS-Bench-Suite-Zero computed its ``zc_nasbench301.json`` scores on NASLib's
``NasBench301SearchSpace`` graph (``naslib/search_spaces/nasbench301/graph.py``) after
``set_spec(genotype)``, ``prepare_evaluation()`` and ``parse()`` (``zc_evaluator.py``).
That graph is NAS-Bench-301's training network (Siems et al., 2020: 32 initial
channels, 8 cells), not DARTS' 20-cell evaluation network, and this module rebuilds it
layer for layer:

* stem: 3x3 convolution to ``3 * C`` = 96 channels (no bias), affine BatchNorm;
* 8 cells ``N N R N N R N N`` at ``C``, ``2C``, ``4C`` = 32, 64, 128 channels per node
  (the reduction cells, 3rd and 6th, are at the doubled width and halve the side);
  a cell's output is the concatenation of its 4 intermediate nodes (``4 * c`` channels);
* each cell reads the two previous outputs ``s0`` (k-2) and ``s1`` (k-1), both the stem
  for the first cell, through a preprocessing op: ReLU-Conv1x1-BN (affine) where the
  side is kept, NASLib's ``FactorizedReduce`` (ReLU, two 1x1 stride-2 convolutions, the
  second on the input shifted by one pixel, concatenated, affine BN) where ``s0`` is at
  twice the side of the cell (the cell after a reduction);
* node ``j`` (2..5) of a cell is the sum of its two edges ``op(input)``, inputs 0 and 1
  being the preprocessed ``s0`` and ``s1``; in a reduction cell the edges leaving
  inputs 0 and 1 have stride 2;
* head: global average pooling and a linear classifier on the last cell's 512 channels;
* no auxiliary head. NASLib's current graph attaches DARTS' auxiliary classifier in
  ``prepare_evaluation()``, but the released ``params`` and ``flops`` are those of the
  network without it (with it, every architecture would have 0.468234 M more parameters
  and 0.750848 MFLOPs more; the head never reaches the logits, so it changes no
  data-driven proxy either).

Edge operations (NASLib's, all with non-affine BatchNorm; stride ``s``):

=================  ===========================================================
``max_pool_3x3``   MaxPool 3x3 (padding 1), BatchNorm
``avg_pool_3x3``   AvgPool 3x3 (padding 1, padding not counted), BatchNorm
``skip_connect``   identity (``s`` = 1); ``FactorizedReduce`` to the same width (``s`` = 2)
``sep_conv_kxk``   twice: ReLU, depthwise kxk (stride ``s`` the first time), 1x1, BatchNorm
``dil_conv_kxk``   ReLU, depthwise kxk dilated by 2, 1x1, BatchNorm
=================  ===========================================================

There is no drop path (it is a training-time regularizer; NASLib's graph has none) and
every module keeps PyTorch's default initialization. :func:`zcdb.counting.profile` on this
network reproduces the 500 released ``params`` and ``flops`` exactly (see
:mod:`zcdb.spaces.nb301_cost`, which gives them by formula).

Architectures are any form :mod:`zcdb.spaces.nb301` reads (id, genotype string, NASLib's
tuple ``[[(input, op) x 8 normal], [(input, op) x 8 reduce]]``, op codes in :data:`OPS`,
NASLib's order), taken in canonical edge order (each node's edge with the smaller input
first): the two edges of a node are summed, so the order changes only which module is
created (and initialized) first, and fixing it makes one id one network.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import nn

from .nb301_cost import C, LAYERS, OPS, REDUCTIONS, STEM_MULTIPLIER, Genotype, count_cost, genotype_of

__all__ = ["OPS", "Genotype", "genotype_of", "count_cost", "build_nb301", "NB301Network", "NB301Cell",
           "FactorizedReduce", "SepConv", "DilConv", "PoolBN", "ReLUConvBN", "C", "LAYERS", "REDUCTIONS",
           "STEM_MULTIPLIER"]

class ReLUConvBN(nn.Module):
    """ReLU, 1x1 convolution without bias, affine BatchNorm: a cell's preprocessing of an input."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, 1, bias=False),
                                nn.BatchNorm2d(c_out, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halve the side: ReLU, two 1x1 stride-2 convolutions to ``c_out / 2`` (the second on the
    input shifted by one pixel), concatenated, BatchNorm."""

    def __init__(self, c_in: int, c_out: int, affine: bool) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class PoolBN(nn.Module):
    """3x3 max or average pooling (padding 1), then non-affine BatchNorm (NASLib's ``use_bn=True``)."""

    def __init__(self, kind: str, channels: int, stride: int) -> None:
        super().__init__()
        pool = (nn.MaxPool2d(3, stride=stride, padding=1) if kind == "max"
                else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
        self.op = nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """DARTS' separable convolution: (ReLU, depthwise kxk, pointwise 1x1, BN) twice, stride on the first."""

    def __init__(self, channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=False),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=1, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """DARTS' dilated convolution: ReLU, depthwise kxk with dilation 2, pointwise 1x1, BN."""

    def __init__(self, channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=kernel - 1, dilation=2,
                      groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def _edge_op(op: str, channels: int, stride: int) -> nn.Module:
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine=False)
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        return PoolBN(op[:3], channels, stride)
    kernel = int(op[-1])
    if op.startswith("sep_conv"):
        return SepConv(channels, kernel, stride)
    return DilConv(channels, kernel, stride)


class NB301Cell(nn.Module):
    """A DARTS cell: two preprocessed inputs, 4 nodes of two edges each, output the nodes' concatenation."""

    def __init__(self, edges: Sequence[tuple[int, int]], c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.edges = tuple(edges)
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, c, affine=True) if reduction_prev else ReLUConvBN(c_pp, c)
        self.preprocess1 = ReLUConvBN(c_p, c)
        self.ops = nn.ModuleList(
            _edge_op(OPS[op], c, 2 if reduction and inp < 2 else 1) for inp, op in self.edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(4):
            (i, _), (j, _) = self.edges[2 * node], self.edges[2 * node + 1]
            states.append(self.ops[2 * node](states[i]) + self.ops[2 * node + 1](states[j]))
        return torch.cat(states[2:], dim=1)

    def extra_repr(self) -> str:
        kind = "reduce" if self.reduction else "normal"
        return f"{kind}: " + ", ".join(f"({i}, {OPS[o]})" for i, o in self.edges)


class NB301Network(nn.Module):
    """The NAS-Bench-301 CIFAR-10 network of a genotype; ``forward`` returns the logits."""

    def __init__(self, genotype: Genotype, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.genotype = genotype
        self.num_classes = num_classes
        c_stem = STEM_MULTIPLIER * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_pp, c_p, c = c_stem, c_stem, C
        cells: list[nn.Module] = []
        reduction_prev = False
        for k in range(LAYERS):
            reduction = k in REDUCTIONS
            if reduction:
                c *= 2
            cells.append(NB301Cell(genotype[1] if reduction else genotype[0], c_pp, c_p, c, reduction,
                                   reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}"


def build_nb301(arch: Any, dataset: str = "cifar10", num_classes: Optional[int] = None) -> NB301Network:
    """The NAS-Bench-301 network of ``arch`` (any form :mod:`zcdb.spaces.nb301` reads: id, genotype
    string, NASLib tuple) on ``dataset``, its edges in canonical order (one id, one network).

    ``dataset`` (a name in :data:`zcdb.datasets.DATASETS`) sets the input channels and the
    number of classes unless ``num_classes`` is given.
    Raises :class:`~zcdb.errors.UnknownArch` or :class:`~zcdb.errors.UnknownDataset`.
    """
    from ..datasets import dataset_info

    genotype = genotype_of(arch)
    info = dataset_info(dataset)
    n = info.num_classes if num_classes is None else int(num_classes)
    return NB301Network(genotype, num_classes=n, in_channels=info.shape[0])
