"""Exact params and FLOPs of NATS-Bench size-space networks, by formula (no torch, no data).

The convention is the one NATS-Bench's files were written with (``get_model_infos`` in
``xautodl/utils/flop_benchmark.py`` of D-X-Y/AutoDL-Projects, zcdb's ``"nb201"``
convention, see :mod:`zcdb.counting`):

* FLOPs: multiply-accumulates of every ``Conv2d`` (``k*k*c_in*c_out`` per output
  position; no convolution here has a bias) and of the ``Linear`` classifier
  (``in*out`` plus ``out`` for its bias), per image, in millions. Pooling, BatchNorm,
  ReLU and additions are not counted.
* params: every parameter (BatchNorm weights and biases and the classifier included;
  running statistics are buffers), divided by 1e6 (not 2**20, whatever later versions of
  that code do: the files hold e.g. 0.011714 for the 11,714 parameters of ``8:8:8:8:8``).

Both are integers before the division, so the values below equal the files' to the last
printed digit (a test checks the three real records on every dataset). The network is
described in :mod:`zcdb.spaces.nats_sss_network`, whose built modules the formula matches
parameter for parameter (tested). Latency, the third cost in the files, is measured,
not counted: see that module.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..errors import UnknownDataset
from . import nats_sss
from .nats_sss import ArchLike

__all__ = ["DATASETS", "count_cost", "cost_table"]

#: The datasets of the NATS-Bench size space -> (classes, input shape (C, H, W)).
#: ``cifar10-valid`` trains the same network as ``cifar10`` (on half of its training set).
DATASETS: dict[str, tuple[int, tuple[int, int, int]]] = {
    "cifar10-valid": (10, (3, 32, 32)),
    "cifar10": (10, (3, 32, 32)),
    "cifar100": (100, (3, 32, 32)),
    "ImageNet16-120": (120, (3, 16, 16)),
}


def dataset_shape(dataset: str) -> tuple[int, tuple[int, int, int]]:
    """``(num_classes, (C, H, W))`` of a NATS-Bench dataset; :class:`UnknownDataset` names the known ones."""
    try:
        return DATASETS[dataset]
    except (KeyError, TypeError):
        raise UnknownDataset(
            f"the nats-sss network has no dataset {dataset!r}: use one of {', '.join(DATASETS)}"
        ) from None


def _counts(c: Any, num_classes: int, side: int) -> tuple[Any, Any]:
    """``(params, flops)`` as exact integers for ``c = (c0, .., c4)``; works elementwise on arrays."""
    c0, c1, c2, c3, c4 = c
    # The stride-2 blocks halve the side (3x3/2 convolution with padding 1 and 2x2 pooling agree
    # on even sides); the three cells run at side, side/2, side/4.
    a0, a1, a2 = side * side, (side // 2) ** 2, (side // 4) ** 2

    def cell(ci: Any, co: Any, area: int) -> tuple[Any, Any]:
        # Edges leaving the input node map ci -> co (two 3x3 convolutions, and the skip edge,
        # a 1x1 projection + BN where ci != co); the other three 3x3 convolutions co -> co.
        proj = ci != co
        params = 2 * (9 * ci * co + 2 * co) + 3 * (9 * co * co + 2 * co) + proj * (ci * co + 2 * co)
        flops = (18 * ci * co + 27 * co * co + proj * ci * co) * area
        return params, flops

    def reduction(ci: Any, co: Any, area: int) -> tuple[Any, Any]:
        # 3x3/2 conv + BN, 3x3 conv + BN, shortcut 2x2 average pooling then 1x1 conv (no BN);
        # all three convolutions produce the halved map.
        params = 9 * ci * co + 2 * co + 9 * co * co + 2 * co + ci * co
        flops = (9 * ci * co + 9 * co * co + ci * co) * area
        return params, flops

    params = 27 * c0 + 2 * c0  # stem: 3x3 conv from RGB (no bias) + BN
    flops = 27 * c0 * a0
    for p, f in (cell(c0, c0, a0), reduction(c0, c1, a1), cell(c1, c2, a1),
                 reduction(c2, c3, a2), cell(c3, c4, a2)):
        params = params + p
        flops = flops + f
    params = params + 2 * c4 + c4 * num_classes + num_classes  # head: BN, linear (with bias)
    flops = flops + c4 * num_classes + num_classes
    return params, flops


def count_cost(arch: ArchLike, dataset: str = "cifar10") -> tuple[float, float]:
    """``(params_millions, mflops)`` of the size-space network of ``arch`` on ``dataset``.

    ``arch`` is an official string (``"64:64:64:64:64"``), index or channels tuple;
    ``dataset`` one of :data:`DATASETS`. These are the ``params`` and ``flop`` that
    NATS-Bench's files (and ``get_cost_info``) report. Raises
    :class:`~zcdb.errors.UnknownArch` or :class:`~zcdb.errors.UnknownDataset`.
    """
    num_classes, (_, side, _) = dataset_shape(dataset)
    params, flops = _counts(nats_sss.channels_of(arch), num_classes, side)
    return params / 1e6, flops / 1e6


def cost_table(dataset: str = "cifar10") -> tuple[np.ndarray, np.ndarray]:
    """``(params_millions, mflops)``, two read-only float64 arrays of :func:`count_cost` for every index."""
    return _cost_table(dataset_shape(dataset))


@functools.lru_cache(maxsize=8)
def _cost_table(shape: tuple[int, tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    num_classes, (_, side, _) = shape
    c = nats_sss.channels_matrix().astype(np.int64).T
    params, flops = _counts(tuple(c), num_classes, side)
    out = (params / 1e6, flops / 1e6)
    for a in out:
        a.setflags(write=False)
    return out
