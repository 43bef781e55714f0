"""The NAS-Bench-101 CIFAR-10 network of an architecture, in PyTorch.

A rebuild of ``nasbench/lib/model_builder.py`` (the TensorFlow network every architecture
of the benchmark was trained as), module for module:

* stem: 3x3 convolution to 128 channels (no bias), BatchNorm, ReLU;
* 3 stacks of 3 cells at 128, 256, 512 channels; before the second and the third stack a
  2x2 max pool with stride 2 halves the side (32 -> 16 -> 8) and the cells double the channels;
* head: global average pooling, a dense layer (with bias) to 10 logits.

In a cell (:func:`zcdb.spaces.nb101_cost.vertex_channels` gives each vertex's channels):
an interior vertex sums its inputs (the first channels of each interior vertex feeding it,
and a 1x1 conv-BN-ReLU projection of the cell input when the input feeds it) and applies its
op (3x3 or 1x1 conv-BN-ReLU, or a 3x3 max pool with stride 1 and padding 1); the output
concatenates the interior vertices that feed it, plus a projection of the input to the
cell's channels when the input feeds it (that projection alone when nothing else does).

Convolutions have no bias and "same" padding; BatchNorm is affine with eps 1e-5 and
momentum 0.003 (TensorFlow's 0.997 for the running averages). The parameter count is the
official ``trainable_parameters`` (:func:`~zcdb.spaces.nb101_cost.count_cost`, tested on the
released values). Weights keep PyTorch's default initialization (TensorFlow's variance
scaling is not reproduced; zcdb's proxies draw it from their seed).
"""

from __future__ import annotations

import torch
from torch import nn

from . import nb101 as space
from . import nb101_graphs as graphs
from .nb101 import ArchLike
from .nb101_cost import NUM_CLASSES, STEM_CHANNELS, _check_dataset, module_plan, vertex_channels

__all__ = ["build_nb101", "NB101Network", "NB101Cell", "ConvBnRelu"]


class ConvBnRelu(nn.Module):
    """Convolution (no bias, same padding), BatchNorm, ReLU: the official ``conv_bn_relu``."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def _op(code: int, channels: int) -> nn.Module:
    if code == 0:
        return ConvBnRelu(channels, channels, 3)
    if code == 1:
        return ConvBnRelu(channels, channels, 1)
    return nn.MaxPool2d(3, stride=1, padding=1)


class NB101Cell(nn.Module):
    """One cell on its padded positions (empty positions hold nothing)."""

    def __init__(self, adj: list[list[bool]], ops: list[int], channels: list[int]) -> None:
        super().__init__()
        self.adj, self.channels = adj, channels
        self.vertices = [v for v in range(1, 6) if ops[v - 1] != graphs.NONE]
        self.ops = nn.ModuleDict({str(v): _op(ops[v - 1], channels[v]) for v in self.vertices})
        self.proj = nn.ModuleDict({str(v): ConvBnRelu(channels[0], channels[v], 1)
                                   for v in [*self.vertices, 6] if adj[0][v]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: dict[int, torch.Tensor] = {}
        for v in self.vertices:
            terms = [out[u][:, :self.channels[v]] for u in self.vertices if u < v and self.adj[u][v]]
            if self.adj[0][v]:
                terms.append(self.proj[str(v)](x))
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            out[v] = self.ops[str(v)](total)
        feeds = [out[v] for v in self.vertices if self.adj[v][6]]
        y = torch.cat(feeds, dim=1) if len(feeds) > 1 else feeds[0] if feeds else None
        if self.adj[0][6]:
            p = self.proj["6"](x)
            y = p if y is None else y + p
        return y


class NB101Network(nn.Module):
    """A NAS-Bench-101 network; ``forward`` maps ``(N, 3, 32, 32)`` images to ``(N, 10)`` logits."""

    def __init__(self, code: int) -> None:
        super().__init__()
        adj, ops = graphs.unpack([code])
        self.stem = ConvBnRelu(3, STEM_CHANNELS, 3)
        layers: list[nn.Module] = []
        side = None
        for c_in, c, s in module_plan():
            if side is not None and s != side:
                layers.append(nn.MaxPool2d(2, stride=2))
            side = s
            vc = vertex_channels(adj, ops, c_in, c)[0].tolist()
            layers.append(NB101Cell(adj[0].tolist(), ops[0].tolist(), vc))
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(module_plan()[-1][1], NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def build_nb101(arch: ArchLike, dataset: str = "cifar10") -> NB101Network:
    """The network of ``arch`` (any form :func:`zcdb.spaces.nb101.index_of` takes) for CIFAR-10."""
    _check_dataset(dataset)
    return NB101Network(int(space.codes()[space.index_of(arch)]))
