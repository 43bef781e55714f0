"""Exact costs of NAS-Bench-101's CIFAR-10 networks by formula (no torch), for many cells at once.

The network (``nasbench/lib/model_builder.py``; :mod:`zcdb.spaces.nb101_network` builds
it): a 3x3 conv-BN-ReLU stem to 128 channels, 3 stacks of 3 cells at 128, 256 and 512
channels (32x32, 16x16, 8x8), a 2x2 max pool before the second and third stacks, global
average pooling and a dense layer to 10 classes. In a cell with C output channels, the
output concatenates the interior vertices that feed it, C split among them as evenly as
possible (the first ones in vertex order get one channel more); another interior vertex
has the largest channel count of the vertices it feeds; an edge from the cell's input is a
1x1 conv-BN-ReLU projection to the receiving vertex's channels (to C for the output, added
to the concatenation); an edge between interior vertices passes the first channels
(``compute_vertex_channels`` and ``truncate`` in the official code).

``params`` counts the trainable parameters as TensorFlow does (the official
``trainable_parameters``): convolution weights (no biases), BatchNorm's scale and offset,
the dense layer's weights and biases. ``flops`` counts multiply-accumulates of the
convolutions (``k*k*c_in*c_out`` per output pixel) and of the dense layer per 32x32 image;
BatchNorm, ReLU, pooling, additions and slicing are free.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ZcdbError
from . import nb101 as space
from . import nb101_graphs as graphs
from .nb101 import ArchLike

__all__ = ["count_cost", "cost_table", "vertex_channels", "module_plan", "STEM_CHANNELS", "NUM_CLASSES"]

STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3
NUM_CLASSES = 10
_SIDE = 32
_CONV3, _CONV1, _POOL = 0, 1, 2


def module_plan() -> tuple[tuple[int, int, int], ...]:
    """``(input channels, output channels, side)`` of the 9 cells, in order."""
    plan, c_in, c, side = [], STEM_CHANNELS, STEM_CHANNELS, _SIDE
    for stack in range(NUM_STACKS):
        if stack:
            c, side = 2 * c, side // 2
        for _ in range(CELLS_PER_STACK):
            plan.append((c_in, c, side))
            c_in = c
    return tuple(plan)


def vertex_channels(adj: np.ndarray, ops: np.ndarray, c_in: int, c_out: int) -> np.ndarray:
    """``(B, 7)`` channels of every position of pruned padded cells (0 where empty)."""
    B = len(ops)
    used = ops != graphs.NONE  # (B, 5): interior positions 1..5
    to_out = adj[:, 1:6, 6] & used
    n_out = to_out.sum(axis=1)
    share = np.where(n_out > 0, c_out // np.maximum(n_out, 1), 0)
    extra = np.where(n_out > 0, c_out % np.maximum(n_out, 1), 0)
    rank = np.cumsum(to_out, axis=1) - 1  # among the vertices feeding the output, in order
    vc = np.zeros((B, 7), dtype=np.int64)
    vc[:, 0], vc[:, 6] = c_in, c_out
    vc[:, 1:6] = np.where(to_out, share[:, None] + (rank < extra[:, None]), 0)
    for v in range(5, 0, -1):  # the others: the largest of the interior vertices they feed
        feeds = adj[:, v, v + 1:6]
        widest = np.where(feeds, vc[:, v + 1:6], 0).max(axis=1) if v < 5 else np.zeros(B, np.int64)
        vc[:, v] = np.where(used[:, v - 1] & ~to_out[:, v - 1], widest, vc[:, v])
    return vc


def _costs(adj: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    params = np.full(len(ops), 3 * 3 * 3 * STEM_CHANNELS + 2 * STEM_CHANNELS, dtype=np.int64)
    macs = np.full(len(ops), 3 * 3 * 3 * STEM_CHANNELS * _SIDE * _SIDE, dtype=np.int64)
    op = ops.astype(np.int64)
    kk = np.where(op == _CONV3, 9, np.where(op == _CONV1, 1, 0))  # maxpool and empty positions: no weights
    from_input = adj[:, 0, 1:6].astype(np.int64)
    out_proj = adj[:, 0, 6].astype(np.int64)
    bn_per_channel = 2 * (from_input + (kk > 0))
    per_width: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for c_in, c, side in module_plan():
        if c not in per_width:  # the interior channels depend on the cell's output channels only
            inner = vertex_channels(adj, ops, 0, c)[:, 1:6]
            per_width[c] = ((from_input * inner).sum(axis=1), (kk * inner * inner).sum(axis=1),
                            (bn_per_channel * inner).sum(axis=1))
        proj, conv, bn = per_width[c]
        weights = c_in * proj + conv + out_proj * c_in * c  # input projections, the ops' convolutions, output projection
        params += weights + bn + out_proj * 2 * c
        macs += weights * side * side
    last = module_plan()[-1][1]
    return params + last * NUM_CLASSES + NUM_CLASSES, macs + last * NUM_CLASSES


def _check_dataset(dataset: str) -> None:
    if dataset != "cifar10":
        from ..datasets import dataset_info

        dataset_info(dataset)  # UnknownDataset for a name zcdb does not know
        raise ZcdbError(f"space nb101 has no network for dataset {dataset}: NAS-Bench-101 is CIFAR-10 only")


def count_cost(arch: ArchLike, dataset: str = "cifar10") -> tuple[int, int]:
    """``(params, flops)`` of an architecture's network, as integer counts (see the module docstring).
    ``params`` equals the official ``trainable_parameters``."""
    _check_dataset(dataset)
    i = space.index_of(arch)
    adj, ops = graphs.unpack(space.codes()[i:i + 1])
    p, f = _costs(adj, ops)
    return int(p[0]), int(f[0])


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray]:
    adj, ops = graphs.unpack(space.codes())
    p, f = _costs(adj, ops)
    for a in (p, f):
        a.setflags(write=False)
    return p, f


def cost_table(dataset: str = "cifar10") -> tuple[np.ndarray, np.ndarray]:
    """``(params, flops)``: two read-only int64 arrays of :func:`count_cost` for every index."""
    _check_dataset(dataset)
    return _table()
