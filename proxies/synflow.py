"""SynFlow: synaptic saliency of a linearized network on an all-ones input (data-free)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from ._util import Batch, Outcome, StageClock, check_names, device_of, private_copy, resolve_shape, weight_layers

NAMES = ("synflow",)


def _strip_batchnorm(net: nn.Module) -> None:
    # NASLib/zero-cost-nas register synflow with bn=False: every BatchNorm forward is an identity.
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute synflow on a private copy (the copy's weights are replaced by their absolute values)."""
    names = check_names(names, NAMES, "synflow")
    shape = resolve_shape(batch, input_shape, "synflow")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model)
        _strip_batchnorm(net)
        net = net.double()
        with torch.no_grad():
            for tensor in net.state_dict().values():
                if tensor.is_floating_point():
                    tensor.abs_()
        layers = weight_layers(net)
        weights = [m.weight for m in layers]
        x = torch.ones((1, *shape), dtype=torch.float64, device=device_of(net))
        with torch.enable_grad():
            out = net(x)
            grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
        total = 0.0
        with torch.no_grad():
            for w, g in zip(weights, grads):
                if g is not None:
                    total += float((w * g).abs().sum())
        if math.isnan(total) or math.isinf(total):
            value, reason = math.nan, f"synflow sum is {total} (overflow in float64)"
        elif total <= 0.0:
            value, reason = math.nan, "synflow sum is 0 (no path from input to output): its log is -inf"
        else:
            value, reason = math.log(total), None
    return {"synflow": clock.outcome("synflow", value, reason)}


def synflow(model: nn.Module, batch: Optional[Batch] = None, seed: int = 0,
            input_shape: Optional[Sequence[int]] = None) -> float:
    """Natural log of the total synaptic flow ``sum |theta * dR/dtheta|`` of the linearized network.

    Tanaka et al., NeurIPS 2020, "Pruning neural networks without any data by iteratively
    conserving synaptic flow"; as a NAS proxy, Abdelfattah et al., ICLR 2021. Follows NASLib's
    ``synflow`` (the implementation behind NAS-Bench-Suite-Zero's scores): the network is
    linearized by taking the absolute value of every parameter and buffer, BatchNorm layers
    are bypassed (registered with ``bn=False``), everything runs in float64, the input is one
    all-ones image, ``R`` is the sum of the outputs, the per-weight saliencies of every Conv2d
    and Linear weight are summed, and the score is the natural log of the sum (NASLib's
    ``ZeroCost`` takes the log). A zero sum (no input-output path) gives NaN.
    Data-free: only the input shape is used (``input_shape`` or the batch's).
    """
    return run(model, batch, seed, ["synflow"], input_shape)["synflow"].value
