"""Exact parameter and FLOP counts of NAS-Bench-301 networks, by formula (no torch, no data).

The network is :mod:`zcdb.spaces.nb301_network`'s (NASLib's NAS-Bench-301 graph, the one
NAS-Bench-Suite-Zero scored) and the counts follow :mod:`zcdb.counting`'s ``"naslib"``
convention, the one of the released files: every leaf module counts (convolution
multiply-accumulates ``k*k*c_in*c_out/groups`` per output position, BatchNorm 2 per
input element if affine and 1 if not, ReLU 1 per input element, pooling 9 per output
element, the global pooling ``(h + 1) * (w + 1)`` per channel, the classifier ``in*out``);
additions, concatenations and identities are free. Params are all parameters (BatchNorm
affine ones and the classifier's bias included), in millions.

A network's cost is its skeleton's (stem, each cell's two preprocessing ops, head) plus
one price per edge, which depends only on the edge's op, the cell's width and side, and
its stride (2 for the edges leaving a reduction cell's inputs): where an edge reads from
does not matter otherwise. On the 500 architectures of NAS-Bench-Suite-Zero's
``zc_nasbench301.json`` this reproduces the released ``params`` and ``flops`` exactly.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from ..errors import ZcdbError
from . import nb301
from .nb301 import OPS

__all__ = ["OPS", "C", "LAYERS", "REDUCTIONS", "STEM_MULTIPLIER", "Genotype", "genotype_of", "count_cost"]

#: Channels per node of the first cells, number of cells, indices of the reduction cells,
#: and the stem's width as a multiple of ``C`` (NAS-Bench-301's training network).
C, LAYERS, REDUCTIONS, STEM_MULTIPLIER = 32, 8, (2, 5), 3
#: One cell: 8 ``(input, op)`` pairs; a genotype: ``(normal, reduce)`` (NASLib's tuple form).
Genotype = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]


def genotype_of(arch: Any) -> Genotype:
    """NASLib's genotype tuple of any form :func:`zcdb.spaces.nb301.index_of` takes (string, NASLib
    tuple or key, DARTS Genotype, choice tuple, id), in canonical edge order: the form both the
    network and the formula read, so that one id always means one network."""
    return nb301.to_naslib(arch)


def _halve(side: int) -> int:
    # Stride-2 3x3 ops (padding 1) give ceil(side / 2); FactorizedReduce's shifted branch
    # gives floor(side / 2): they agree only on even sides.
    if side % 2 or side < 2:
        raise ZcdbError(f"nb301 input side {side} cannot be halved twice by the reduction cells: "
                        "use a multiple of 4")
    return side // 2


def _relu_conv_bn(c_in: int, c_out: int, area: int) -> tuple[int, int]:
    return c_in * c_out + 2 * c_out, c_in * area + c_in * c_out * area + 2 * c_out * area


def _factorized_reduce(c_in: int, c_out: int, area_out: int, affine: bool) -> tuple[int, int]:
    # ReLU on the input (4x the output area), two 1x1 convolutions to c_out / 2, BatchNorm
    return (c_in * c_out + (2 * c_out if affine else 0),
            c_in * 4 * area_out + c_in * c_out * area_out + (2 if affine else 1) * c_out * area_out)


def _edge(op: str, c: int, area_out: int, stride: int) -> tuple[int, int]:
    """``(params, flops)`` of one edge at width ``c`` whose output has ``area_out`` positions."""
    area_in = area_out * stride * stride
    if op == "skip_connect":
        return (0, 0) if stride == 1 else _factorized_reduce(c, c, area_out, affine=False)
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        return 0, 9 * c * area_out + c * area_out  # pool, non-affine BatchNorm
    k = int(op[-1])
    # ReLU, depthwise kxk, pointwise 1x1, non-affine BatchNorm
    params = k * k * c + c * c
    flops = c * area_in + k * k * c * area_out + c * c * area_out + c * area_out
    if op.startswith("sep_conv"):  # the same again, at stride 1
        return 2 * params, flops + c * area_out + k * k * c * area_out + c * c * area_out + c * area_out
    return params, flops


@functools.lru_cache(maxsize=16)
def _prices(num_classes: int, in_channels: int, height: int, width: int):
    """The skeleton's ``(params, flops)`` and, per cell, the ``(params, flops)`` of each op at
    stride 1 and 2 (``cells[k][stride][op]``), exact integers."""
    c_stem = STEM_MULTIPLIER * C
    area = height * width
    params = 9 * in_channels * c_stem + 2 * c_stem
    flops = 9 * in_channels * c_stem * area + 2 * c_stem * area
    c_pp = c_p = c_stem
    c, h, w = C, height, width
    cells = []
    reduction_prev = False
    for k in range(LAYERS):
        reduction = k in REDUCTIONS
        area_in = h * w
        if reduction:
            c *= 2
            h, w = _halve(h), _halve(w)
        area = h * w
        # preprocessing: s0 is at the cell's input side unless the previous cell reduced
        pre0 = (_factorized_reduce(c_pp, c, area_in, affine=True) if reduction_prev
                else _relu_conv_bn(c_pp, c, area_in))
        pre1 = _relu_conv_bn(c_p, c, area_in)
        params += pre0[0] + pre1[0]
        flops += pre0[1] + pre1[1]
        cells.append({s: tuple(_edge(op, c, area, s) for op in OPS) for s in ((1, 2) if reduction else (1,))})
        reduction_prev = reduction
        c_pp, c_p = c_p, 4 * c
    params += c_p * num_classes + num_classes
    flops += c_p * (h + 1) * (w + 1) + c_p * num_classes  # torchstat's global pooling; no bias FLOPs
    return (params, flops), tuple(cells)


def count_cost(arch: Any, dataset: str = "cifar10", num_classes: Optional[int] = None,
               input_shape: Optional[tuple[int, int, int]] = None) -> tuple[float, float]:
    """``(params_millions, mflops)`` of the NAS-Bench-301 network of ``arch`` on ``dataset``.

    ``arch`` is any form of :mod:`zcdb.spaces.nb301` (id, string, NASLib tuple); ``dataset`` sets the classes and the input shape,
    ``num_classes`` and ``input_shape`` ``(C, H, W)`` override them (sides multiples of 4).
    Equal to :func:`zcdb.counting.profile` of :func:`zcdb.spaces.nb301_network.build_nb301`'s
    network. Raises :class:`~zcdb.errors.UnknownArch`, :class:`~zcdb.errors.UnknownDataset`,
    or :class:`~zcdb.errors.ZcdbError` for sides that are not multiples of 4.
    """
    from ..datasets import dataset_info

    normal, reduce = genotype_of(arch)
    if num_classes is None or input_shape is None:
        info = dataset_info(dataset)
        num_classes = info.num_classes if num_classes is None else num_classes
        input_shape = info.shape if input_shape is None else input_shape
    in_channels, height, width = (int(v) for v in input_shape)
    (params, flops), cells = _prices(int(num_classes), in_channels, height, width)
    for k, prices in enumerate(cells):
        reduction = k in REDUCTIONS
        for inp, op in reduce if reduction else normal:
            p, f = prices[2 if reduction and inp < 2 else 1][op]
            params += p
            flops += f
    return params / 1e6, flops / 1e6
