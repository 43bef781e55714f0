"""Parameter and FLOP counts of any PyTorch model, measured with forward hooks.

Two counting conventions are in use for NAS-Bench-201, and they differ in FLOPs only:

``"naslib"`` (the default)
    NAS-Bench-Suite-Zero's ``flops`` and ``params`` (NASLib's ``find_measures``,
    which calls tensorwatch's ``ModelStats``, a copy of torchstat). Every leaf module
    counts: ``Conv2d`` ``k_h*k_w*c_in*(c_out/groups)`` per output position (plus one
    per output element for a bias), ``BatchNorm2d`` two per input element (one if not
    affine), ``ReLU`` one per input element, ``AvgPool2d``/``MaxPool2d`` ``k*k`` per
    output element, ``AdaptiveAvgPool2d`` ``(in_h/out_h + 1) * (in_w/out_w + 1)``
    per output element (torchstat's formula, with its +1), ``Linear`` ``in*out``
    (its bias is not counted); additions, identities and zeros are free.
    This is what the released ``zc_nasbench201_*.json`` files hold.

``"nb201"``
    NAS-Bench-201's own ``flop`` (``get_model_infos`` in ``lib/utils/flop_benchmark.py``
    of D-X-Y/AutoDL-Projects): only ``Conv2d`` and ``Linear`` multiply-accumulates,
    each plus one per output element for a bias; pooling, BatchNorm and activations
    are not counted. This is what the NAS-Bench-201 / NATS-Bench API reports
    (e.g. 220.11969 MFLOPs for the all-``nor_conv_3x3`` network on CIFAR-10).

Params are the same under both: every parameter (BatchNorm weights and biases and
the classifier included; running statistics are buffers), divided by 1e6 (as the
benchmark files were written; later versions of NAS-Bench-201's code divide by 2**20).
FLOPs are per image, in millions.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from .spaces.nb201_cost import CONVENTIONS, check_convention

__all__ = ["CONVENTIONS", "profile"]


def _pair(v: object) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


def _conv_flops(m: nn.Conv2d, x: torch.Tensor, y: torch.Tensor) -> float:
    kh, kw = m.kernel_size
    positions = y.shape[0] * y.shape[2] * y.shape[3]
    flops = kh * kw * m.in_channels * (m.out_channels // m.groups) * positions
    if m.bias is not None:
        flops += m.out_channels * positions
    return flops


def _linear_flops(m: nn.Linear, x: torch.Tensor, y: torch.Tensor, bias: bool) -> float:
    rows = y.numel() // m.out_features
    flops = rows * m.in_features * m.out_features
    if bias and m.bias is not None:
        flops += rows * m.out_features
    return flops


def _pool_flops(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    kh, kw = _pair(m.kernel_size)
    return y.numel() * kh * kw


def _adaptive_pool_flops(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    # torchstat counts, per output cell, the window size plus one in each direction.
    in_h, in_w = x.shape[2], x.shape[3]
    out_h, out_w = y.shape[2], y.shape[3]
    windows = 0
    for i in range(out_h):
        h = math.ceil((i + 1) * in_h / out_h) - math.floor(i * in_h / out_h) + 1
        for j in range(out_w):
            windows += h * (math.ceil((j + 1) * in_w / out_w) - math.floor(j * in_w / out_w) + 1)
    return x.shape[0] * x.shape[1] * windows


def _rule(module: nn.Module, convention: str) -> Callable[[nn.Module, torch.Tensor, torch.Tensor], float] | None:
    if isinstance(module, nn.Conv2d):
        return _conv_flops
    if isinstance(module, nn.Linear):
        with_bias = convention == "nb201"
        return lambda m, x, y: _linear_flops(m, x, y, with_bias)
    if convention == "nb201":
        return None
    if isinstance(module, nn.BatchNorm2d):
        return lambda m, x, y: x.numel() * (2 if m.affine else 1)
    if isinstance(module, nn.ReLU):
        return lambda m, x, y: x.numel()
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        return _pool_flops
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return _adaptive_pool_flops
    return None


def profile(model: nn.Module, input_shape: Sequence[int], convention: str = "naslib") -> tuple[float, float]:
    """``(params_millions, mflops)`` of ``model`` on one input of shape ``(C, H, W)``.

    Runs one forward pass of zeros in eval mode under ``torch.no_grad()``, then puts back
    every module's training flag and removes its hooks: eval mode reads the BatchNorm
    statistics without updating them, so the caller's model is left as it was (a deep copy
    did the same at 32 ms per NAS-Bench-201 network). Each module counts once per call it
    receives.
    """
    check_convention(convention)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    total = 0.0
    handles = []

    def make_hook(rule: Callable) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            nonlocal total
            total += rule(m, inputs[0], output)

        return hook

    for m in model.modules():
        rule = _rule(m, convention)
        if rule is not None:
            handles.append(m.register_forward_hook(make_hook(rule)))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:
            m.training = training
    params = sum(p.numel() for p in model.parameters())
    return params / 1e6, total / 1e6
