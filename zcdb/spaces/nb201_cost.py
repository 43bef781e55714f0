"""Exact parameter and FLOP counts of NAS-Bench-201 networks, by formula (no torch, no data).

The counts follow the conventions described in :mod:`zcdb.counting` (``"naslib"``:
NAS-Bench-Suite-Zero's tensorwatch counts, the default; ``"nb201"``: NAS-Bench-201's
own ``get_model_infos``), which measures them with hooks on the built network.
Only ``nor_conv_3x3``, ``nor_conv_1x1`` and (under ``"naslib"``) ``avg_pool_3x3``
edges cost anything, so a network's cost is a skeleton cost plus a price per such
edge. On the 725 NAS-Bench-Suite-Zero cifar10 architectures the default reproduces
the released ``params`` and ``flops`` to the last printed digit.
"""

from __future__ import annotations

import functools
from typing import Optional

from ..errors import ZcdbError
from . import nb201 as space
from .nb201 import ArchLike

__all__ = ["CONVENTIONS", "check_convention", "count_cost"]

_CONV3 = space.OPS.index("nor_conv_3x3")
_CONV1 = space.OPS.index("nor_conv_1x1")
_POOL = space.OPS.index("avg_pool_3x3")
#: The FLOP counting conventions (see :mod:`zcdb.counting`); params agree under both.
CONVENTIONS: tuple[str, ...] = ("naslib", "nb201")


def check_convention(convention: str) -> str:
    """``convention`` if it is known; :class:`~zcdb.errors.ZcdbError` naming the known ones otherwise."""
    if convention not in CONVENTIONS:
        raise ZcdbError(f"unknown cost convention {convention!r}: use one of {', '.join(CONVENTIONS)}")
    return convention


def _halve(side: int) -> int:
    # The reduction block's two branches must agree: conv3x3/stride 2/pad 1 gives
    # ceil(side / 2), AvgPool2d(2) gives floor(side / 2).
    conv, pool = (side + 2 - 3) // 2 + 1, side // 2
    if conv != pool or pool < 1:
        raise ZcdbError(f"nb201 input side {side} cannot be halved by the reduction block: use a multiple of 4")
    return pool


@functools.lru_cache(maxsize=64)
def _coefficients(C: int, N: int, num_classes: int, in_channels: int, height: int, width: int,
                  convention: str) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """``(params, flops)``, each ``(skeleton, per_conv3x3, per_conv1x1, per_avg_pool)``, exact integers.

    A ``per_*`` price is that of one such edge in every cell of the network
    (``N`` cells in each of the three stages).
    """
    naslib = convention == "naslib"
    chans = (C, 2 * C, 4 * C)
    sides = [(height, width)]
    for _ in (1, 2):
        h, w = sides[-1]
        sides.append((_halve(h), _halve(w)))
    areas = [h * w for h, w in sides]

    def bn(c: int, area: int) -> int:  # affine BatchNorm: 2 per element under naslib
        return 2 * c * area if naslib else 0

    def relu(c: int, area: int) -> int:
        return c * area if naslib else 0

    # stem: conv3x3 (no bias) + BN
    params = 9 * in_channels * C + 2 * C
    flops = 9 * in_channels * C * areas[0] + bn(C, areas[0])
    for s in (1, 2):
        c_in, c_out, a_in, a = chans[s - 1], chans[s], areas[s - 1], areas[s]
        # ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut AvgPool2d(2)-conv1x1
        params += 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c_in * c_out
        flops += relu(c_in, a_in) + 9 * c_in * c_out * a + bn(c_out, a)
        flops += relu(c_out, a) + 9 * c_out * c_out * a + bn(c_out, a)
        flops += (4 * c_in * a if naslib else 0) + c_in * c_out * a
    # head: BN-ReLU, global average pooling, linear classifier
    c, a, (h, w) = chans[-1], areas[-1], sides[-1]
    params += 2 * c + c * num_classes + num_classes
    flops += bn(c, a) + relu(c, a)
    flops += c * (h + 1) * (w + 1) if naslib else 0  # torchstat's adaptive-pool count
    flops += c * num_classes + (0 if naslib else num_classes)  # naslib leaves the bias out

    conv3 = (N * sum(9 * c * c + 2 * c for c in chans),
             N * sum((9 * c * c) * a + bn(c, a) + relu(c, a) for c, a in zip(chans, areas)))
    conv1 = (N * sum(c * c + 2 * c for c in chans),
             N * sum(c * c * a + bn(c, a) + relu(c, a) for c, a in zip(chans, areas)))
    pool = (0, N * sum(9 * c * a for c, a in zip(chans, areas)) if naslib else 0)
    return (params, conv3[0], conv1[0], pool[0]), (flops, conv3[1], conv1[1], pool[1])


def count_cost(arch: ArchLike, dataset: str = "cifar10", C: int = 16, N: int = 5,
               num_classes: Optional[int] = None,
               input_shape: Optional[tuple[int, int, int]] = None,
               convention: str = "naslib") -> tuple[float, float]:
    """``(params_millions, mflops)`` of the NAS-Bench-201 network of ``arch`` on ``dataset``.

    ``arch`` is an official string, index or ops tuple. ``dataset`` sets the classes
    and input shape; ``num_classes`` and ``input_shape`` ``(C, H, W)`` override them.
    ``convention`` is ``"naslib"`` (NAS-Bench-Suite-Zero's ``flops``/``params``,
    the default) or ``"nb201"`` (NAS-Bench-201's own ``flop``); params agree.
    Equal to :func:`zcdb.counting.profile` on :func:`zcdb.spaces.nb201_network.build_nb201`'s network.
    Raises :class:`~zcdb.errors.UnknownArch`, :class:`~zcdb.errors.UnknownDataset`,
    or :class:`~zcdb.errors.ZcdbError` for an unknown convention or an input side
    that is not a multiple of 4.
    """
    from ..datasets import dataset_info

    check_convention(convention)
    ops = space.ops_of(arch)
    if num_classes is None or input_shape is None:
        info = dataset_info(dataset)
        num_classes = info.num_classes if num_classes is None else num_classes
        input_shape = info.shape if input_shape is None else input_shape
    in_channels, height, width = (int(v) for v in input_shape)
    (p0, p3, p1, pp), (f0, f3, f1, fp) = _coefficients(
        int(C), int(N), int(num_classes), in_channels, height, width, convention)
    n3, n1, npool = ops.count(_CONV3), ops.count(_CONV1), ops.count(_POOL)
    return (p0 + n3 * p3 + n1 * p1 + npool * pp) / 1e6, (f0 + n3 * f3 + n1 * f1 + npool * fp) / 1e6
