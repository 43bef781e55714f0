"""The NAS-Bench-201 network: the official macro skeleton around one cell, in PyTorch.

The skeleton is NAS-Bench-201's inference network (``TinyNetwork`` with
``InferCell`` in the official code, ``lib/models/cell_infers/`` of
D-X-Y/AutoDL-Projects; NASLib's ``NasBench201SearchSpace`` builds the same graph):

* stem: 3x3 convolution (``C`` channels, no bias) and BatchNorm;
* three stages of ``N`` cells at ``C``, ``2C`` and ``4C`` channels, with a
  residual reduction block between stages (ReLU-Conv3x3/2-BN, ReLU-Conv3x3-BN;
  shortcut AvgPool2d(2) then Conv1x1, no bias);
* head: BatchNorm-ReLU, global average pooling, linear classifier.

Every BatchNorm is affine and tracks running statistics, as in the official
inference network (``InferCell`` and ``ResNetBasicblock`` default to
``affine=True, track_running_stats=True``). Recent NASLib search-space graphs
build the cell BatchNorms with ``affine=False``; the ``params`` released in
NAS-Bench-Suite-Zero's files count the affine parameters (e.g. 0.615386 M, not
0.610362 M, for NASLib tuple ``(0, 2, 3, 2, 3, 1)``), so the affine network is the
one those proxies were computed on. :func:`zcdb.spaces.nb201_cost.count_cost` reproduces
all 725 released ``params`` and ``flops`` of this network exactly.

Module names follow the official ``TinyNetwork`` (``stem``, ``cells.<i>.layers.<k>.op``,
``conv_a``/``conv_b``/``downsample``, ``lastact``, ``classifier``), so an official
state dict (e.g. NATS-Bench's trained weights) loads key for key; checked against
``xautodl`` 1.0.0, whose network gives identical logits with the same weights.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..errors import MissingCapability
from . import nb201 as space
from .nb201 import ArchLike

__all__ = ["build_nb201", "NB201Network", "NB201Cell", "ResidualReduction", "ReLUConvBN", "Zero"]


class ReLUConvBN(nn.Module):
    """ReLU, convolution without bias, BatchNorm: the ``nor_conv_kxk`` edge operation."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` edge: zeros shaped like the input (it keeps the graph connected)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x * 0 rather than zeros_like: like the official op, it keeps the autograd
        # graph (and NaN/inf propagation) of the input.
        return x.mul(0.0)


def _edge_op(op: str, channels: int) -> nn.Module:
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown nb201 operation {op!r}")  # unreachable: ops come from space.OPS


class NB201Cell(nn.Module):
    """One NAS-Bench-201 cell: node ``j`` is the sum over ``i < j`` of ``op_ij(node_i)``.

    The cell keeps its channel count and resolution; its output is node 3.
    Edges are stored in :data:`zcdb.spaces.nb201.EDGES` order.
    """

    def __init__(self, ops: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.layers = nn.ModuleList(_edge_op(space.OPS[o], channels) for o in self.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x, None, None, None]
        for j in range(1, 4):
            total = None
            for k, (i, to) in enumerate(space.EDGES):
                if to == j:
                    y = self.layers[k](nodes[i])
                    total = y if total is None else total + y
            nodes[j] = total
        return nodes[3]

    def extra_repr(self) -> str:
        return space.format_arch(self.ops)


class ResidualReduction(nn.Module):
    """The residual block between stages (a ResNet basic block with stride 2).

    ``ReLU-Conv3x3(stride 2)-BN -> ReLU-Conv3x3-BN`` plus the shortcut
    ``AvgPool2d(2) -> Conv1x1`` (no bias, no BatchNorm on the shortcut).
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """What NAS-Bench-201's and NATS-Bench's networks share (the official ``TinyNetwork`` and
    ``DynamicShapeTinyNet``): ``stem``, then ``cells`` in order, then BN-ReLU, global average
    pooling and a linear ``classifier``. Subclasses build ``stem`` and ``cells`` and call
    :meth:`_head` last (the modules are created, and initialized from the RNG, in that order)."""

    #: Its forward works on any memory layout (it flattens a 1x1 pooled map), so the proxies
    #: that run faster channels-last may use that layout on it (see ``zcdb.proxies``).
    channels_last_safe = True

    def _head(self, channels: int, num_classes: int) -> None:
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))


class NB201Network(TinyNetwork):
    """The NAS-Bench-201 macro skeleton around one cell; ``forward`` returns logits ``(batch, num_classes)``.

    (The official ``TinyNetwork.forward`` returns ``(features, logits)``; zcdb's
    proxies want a plain module, so this returns the logits only.)
    """

    def __init__(self, ops: tuple[int, ...], C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.C, self.N, self.num_classes = C, N, num_classes
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        cells: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                cells.append(ResidualReduction(c_prev, c))
            cells.extend(NB201Cell(self.ops, c) for _ in range(N))
            c_prev = c
        self.cells = nn.ModuleList(cells)
        self._head(c_prev, num_classes)

    def extra_repr(self) -> str:
        return f"arch={space.format_arch(self.ops)}, C={self.C}, N={self.N}, num_classes={self.num_classes}"


#: Network variants by name: skeleton arguments that replace ``C`` and ``N``. ``thin`` is
#: TE-NAS's ``model_config_thin`` (C=1, N=1), on which it counts linear regions.
VARIANTS: dict[str, dict[str, int]] = {"thin": {"C": 1, "N": 1}}


def build_nb201(arch: ArchLike, dataset: str = "cifar10", C: int = 16, N: int = 5,
                num_classes: Optional[int] = None, variant: Optional[str] = None) -> NB201Network:
    """The NAS-Bench-201 network of ``arch`` (official string, index or ops tuple).

    ``dataset`` (a name in :data:`zcdb.datasets.DATASETS`) sets the input channels
    and the number of classes unless ``num_classes`` is given. The network is
    fully convolutional up to the global pooling, so it accepts any input whose
    sides are multiples of 4 (two stride-2 reductions), not only the dataset's size. ``C`` and ``N`` default to the benchmark's 16 and 5.
    ``variant`` (a name in :data:`VARIANTS`) replaces ``C`` and ``N``.
    The returned module's ``forward`` maps ``(batch, 3, H, W)`` images to logits.
    Raises :class:`~zcdb.errors.UnknownArch` or :class:`~zcdb.errors.UnknownDataset`.
    """
    from ..datasets import dataset_info

    if variant is not None:
        if variant not in VARIANTS:
            raise MissingCapability(f"space nb201 has no network variant {variant!r}: use one of {', '.join(VARIANTS)}")
        C, N = VARIANTS[variant]["C"], VARIANTS[variant]["N"]
    ops = space.ops_of(arch)
    info = dataset_info(dataset)
    if num_classes is None:
        num_classes = info.num_classes
    return NB201Network(ops, C=C, N=N, num_classes=int(num_classes), in_channels=info.shape[0])
