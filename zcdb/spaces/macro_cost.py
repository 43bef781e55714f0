"""Exact costs of NAS-Bench-Macro networks by formula (no torch): the layer plan and its prices.

:func:`count_cost` gives ``(params, flops)`` by formula, in the released file's
units and convention (the authors' ``count_parameters_in_MB`` and ``count_FLOPs``
in ``train/utils.py``): params is the number of all parameters (BatchNorm weights
and biases and the classifier's bias included); FLOPs are the multiply-accumulates
of the convolutions (``k*k*c_in*c_out/groups`` per output position) and of the
classifier (``in*out``, bias not counted), per 32x32 image; BatchNorm, ReLU,
pooling and the residual additions are free. Both are integer counts, not millions.
:mod:`zcdb.spaces.macro_network` builds the networks these count.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..errors import ZcdbError
from . import macro as space
from .macro import ArchLike

__all__ = ["count_cost", "cost_table", "layer_specs", "LayerSpec", "STEM_CHANNELS", "HEAD_CHANNELS"]

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
