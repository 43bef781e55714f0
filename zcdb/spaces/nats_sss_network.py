r"""The NATS-Bench size-space network of a channel configuration, in PyTorch.

NATS-Bench's size space trains one network shape (``DynamicShapeTinyNet`` in
``xautodl/models/shape_infers/InferTinyCellNet.py`` of D-X-Y/AutoDL-Projects, built from
each record's ``arch_config`` ``{"name": "infer.shape.tiny", "channels": "c0:c1:c2:c3:c4",
"genotype": TOPOLOGY}``): the NAS-Bench-201 skeleton with one cell per stage, every cell
the fixed topology :data:`TOPOLOGY` (the best cell of the topology space), and the five
channel counts of the architecture string assigned layer by layer:

====  ===============================  =========================  ==========
pos   layer                            channels                   resolution
====  ===============================  =========================  ==========
\-    stem: 3x3 conv (no bias) + BN    3 -> c0                    H
0     cell                             c0 -> c0                   H
1     residual reduction (stride 2)    c0 -> c1                   H/2
2     cell                             c1 -> c2                   H/2
3     residual reduction (stride 2)    c2 -> c3                   H/4
4     cell                             c3 -> c4                   H/4
\-    head: BN-ReLU, global avg pool,  c4 -> classes
      linear (with bias)
====  ===============================  =========================  ==========

A cell from ``ci`` to ``co`` channels builds its edges the way the official ``InferCell``
does: the edges leaving the input node map ``ci -> co`` (the two ``nor_conv_3x3`` edges
ReLU-Conv3x3-BN, the ``skip_connect`` edge the identity when ``ci == co`` and otherwise a
1x1 convolution + BN, the stride-1 ``FactorizedReduce``, which applies no ReLU); the other
three ``nor_conv_3x3`` edges map ``co -> co``. The reduction block is NAS-Bench-201's
(:class:`zcdb.spaces.nb201_network.ResidualReduction`). Every BatchNorm is affine and tracks
running statistics. Module names follow the official network (``stem``,
``cells.<i>.layers.<k>``, ``conv_a``/``conv_b``/``downsample``, the projection's
``conv``/``bn``, ``lastact``, ``classifier``), so an official state dict loads key for key.

Costs: :func:`count_cost` (re-exported from :mod:`zcdb.spaces.nats_sss_cost`, torch-free)
gives the files' ``params`` and ``flop`` exactly. The files' third cost, ``latency``, cannot
be computed: it is a measurement, the seconds one forward pass took on NATS-Bench's GPU
(a list with one value per run; ``nats_bench``'s ``get_cost_info`` reports the mean over
the seeds of the schedule, in seconds), and depends on that machine.
"""

from __future__ import annotations

import torch
from torch import nn

from .nb201_network import ReLUConvBN, ResidualReduction, TinyNetwork
from . import nats_sss
from . import nb201 as topology
from .nats_sss import ArchLike
from .nats_sss_cost import DATASETS, count_cost, dataset_shape

__all__ = ["TOPOLOGY", "DATASETS", "build_nats_sss", "count_cost", "NATSSizeNetwork", "NATSSizeCell",
           "ChannelProjection"]

#: The cell of every size-space network (``genotype`` in the records): NAS-Bench-201 notation.
TOPOLOGY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


class ChannelProjection(nn.Module):
    """The ``skip_connect`` edge between different widths: 1x1 convolution (no bias) then BN.

    (The official stride-1 ``FactorizedReduce`` also holds a ReLU that its forward never
    calls; it has no parameters, so it is left out.)
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def _edge_op(op: str, c_in: int, c_out: int) -> nn.Module:
    if op == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3)
    if op == "skip_connect":
        return nn.Identity() if c_in == c_out else ChannelProjection(c_in, c_out)
    raise ValueError(f"the nats-sss cell has no {op!r} edge")  # unreachable: TOPOLOGY is fixed


class NATSSizeCell(nn.Module):
    """The :data:`TOPOLOGY` cell from ``c_in`` to ``c_out`` channels (stride 1).

    Node ``j`` is the sum over ``i < j`` of ``edge_ij(node_i)``; the output is node 3.
    Edges are stored in :data:`zcdb.spaces.nb201.EDGES` order, the official ``layers`` order.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_in, self.c_out = c_in, c_out
        ops = topology.parse(TOPOLOGY)
        self.layers = nn.ModuleList(
            _edge_op(topology.OPS[o], c_in if i == 0 else c_out, c_out)
            for o, (i, _) in zip(ops, topology.EDGES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list = [x, None, None, None]
        for k, (i, j) in enumerate(topology.EDGES):
            y = self.layers[k](nodes[i])
            nodes[j] = y if nodes[j] is None else nodes[j] + y
        return nodes[3]

    def extra_repr(self) -> str:
        return f"c_in={self.c_in}, c_out={self.c_out}"


class NATSSizeNetwork(TinyNetwork):
    """The size-space network of one channel configuration; ``forward`` returns logits ``(batch, classes)``.

    (The official ``DynamicShapeTinyNet.forward`` returns ``(features, logits)``; zcdb's
    proxies want a plain module, so this returns the logits only.)
    """

    def __init__(self, channels: tuple[int, ...], num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.channels = tuple(channels)
        self.num_classes = num_classes
        c0, c1, c2, c3, c4 = self.channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c0, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c0),
        )
        self.cells = nn.ModuleList([
            NATSSizeCell(c0, c0),
            ResidualReduction(c0, c1),
            NATSSizeCell(c1, c2),
            ResidualReduction(c2, c3),
            NATSSizeCell(c3, c4),
        ])
        self._head(c4, num_classes)

    def extra_repr(self) -> str:
        return f"channels={nats_sss.format_arch(self.channels)}, num_classes={self.num_classes}"


def build_nats_sss(arch: ArchLike, dataset: str = "cifar10") -> NATSSizeNetwork:
    """The NATS-Bench size-space network of ``arch`` (official string, index or channels tuple).

    ``dataset`` is one of :data:`DATASETS` (``cifar10-valid`` and ``cifar10``: 10 classes,
    ``cifar100``: 100, ``ImageNet16-120``: 120); it sets the classifier. The network is
    fully convolutional up to the global pooling, so it takes any ``(batch, 3, H, W)``
    input with ``H`` and ``W`` multiples of 4, not only the dataset's 32x32 or 16x16.
    Raises :class:`~zcdb.errors.UnknownArch` or :class:`~zcdb.errors.UnknownDataset`.
    """
    channels = nats_sss.channels_of(arch)
    num_classes, (in_channels, _, _) = dataset_shape(dataset)
    return NATSSizeNetwork(channels, num_classes=num_classes, in_channels=in_channels)
