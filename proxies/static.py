"""Proxies read off the weights or the shape of the network, with no data: params, flops, l2_norm."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ._util import Batch, Outcome, StageClock, check_names, finite, resolve_shape, weight_layers

NAMES = ("params", "flops", "l2_norm")


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute the requested static proxies (no pass is shared: each is timed on its own)."""
    names = check_names(names, NAMES, "static")
    clock = StageClock(names)
    out: dict[str, Outcome] = {}
    if "params" in names:
        with clock.stage(["params"]):
            value = sum(p.numel() for p in model.parameters()) / 1e6
        out["params"] = clock.outcome("params", value)
    if "flops" in names:
        with clock.stage(["flops"]):
            from zcdb.counting import profile

            shape = resolve_shape(batch, input_shape, "flops")
            value = profile(model, shape)[1]
        out["flops"] = clock.outcome("flops", value)
    if "l2_norm" in names:
        with clock.stage(["l2_norm"]), torch.no_grad():
            total = sum(float(m.weight.detach().norm()) for m in weight_layers(model))
            value, reason = finite(total, "l2_norm")
        out["l2_norm"] = clock.outcome("l2_norm", value, reason)
    return out


def params(model: nn.Module, batch: Optional[Batch] = None, seed: int = 0) -> float:
    """Number of parameters in millions (all of them, BatchNorm affine ones included).

    The NAS-Bench-201 counting rule (Dong & Yang, ICLR 2020, "NAS-Bench-201"), used as a
    baseline proxy by Abdelfattah et al., ICLR 2021, "Zero-Cost Proxies for Lightweight NAS".
    Data-free; ``batch`` and ``seed`` are ignored.
    """
    return run(model, batch, seed, ["params"])["params"].value


def flops(model: nn.Module, batch: Optional[Batch] = None, seed: int = 0,
          input_shape: Optional[Sequence[int]] = None) -> float:
    """FLOPs of one forward pass of one image, in millions (as NAS-Bench-Suite-Zero counts them).

    Counted with hooks by :func:`zcdb.counting.profile` under its default convention, the
    one of NAS-Bench-Suite-Zero's released ``flops`` (every leaf module counts: conv and
    linear multiply-accumulates, BatchNorm, ReLU, pooling; see :mod:`zcdb.counting`).
    Dong & Yang, ICLR 2020, "NAS-Bench-201"; Krishnakumar et al., NeurIPS 2022. Data-free:
    only the input shape is used, from ``input_shape`` ``(C, H, W)`` or else ``batch``.
    """
    return run(model, batch, seed, ["flops"], input_shape)["flops"].value


def l2_norm(model: nn.Module, batch: Optional[Batch] = None, seed: int = 0) -> float:
    """Sum over Conv2d and Linear layers of the L2 norm of the layer's weight tensor, at initialization.

    Baseline proxy of NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 Datasets and
    Benchmarks); as in NASLib's ``l2_norm`` measure, the norm is per layer (Frobenius norm of
    the whole tensor) and the layers' norms are summed. Data-free.
    """
    return run(model, batch, seed, ["l2_norm"])["l2_norm"].value
