"""GradSign: agreement of the signs of per-sample gradients."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from ._util import (Batch, Outcome, StageClock, channels_last, check_names, device_of, finite, private_copy,
                    split_batch, weight_layers)

NAMES = ("grad_sign",)
#: Samples per vectorized chunk (bounds the memory of the per-sample gradients).
CHUNK = 32


def _batch_stats_only(net: nn.Module) -> None:
    # Each sample goes through the network alone, in training mode, as in the reference
    # loop: BatchNorm normalizes with that one sample's statistics. Without running
    # statistics (which a vectorized map cannot update in place) the outputs are the same.
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute grad_sign from per-sample gradients (vectorized over samples with ``torch.func``)."""
    names = check_names(names, NAMES, "grad_sign")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        _batch_stats_only(net)
        x, y = split_batch(batch, "grad_sign", device_of(net))
        x = channels_last(net, x)
        names_w = {id(m.weight) for m in weight_layers(net)}
        params = {k: v.detach() for k, v in net.named_parameters()}
        scored = [k for k, v in net.named_parameters() if id(v) in names_w]
        buffers = dict(net.named_buffers())

        def sample_loss(p: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
            logits = functional_call(net, (p, buffers), (xi.unsqueeze(0),))
            return F.cross_entropy(logits, yi.unsqueeze(0))

        per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))
        sign_sums = {k: torch.zeros_like(params[k]) for k in scored}
        with torch.no_grad():
            for lo in range(0, x.shape[0], CHUNK):
                with torch.enable_grad():
                    g = per_sample(params, x[lo:lo + CHUNK], y[lo:lo + CHUNK])
                for k in scored:
                    sign_sums[k] += torch.sign(g[k]).sum(dim=0)
            total = sum(float(s.abs().sum()) for s in sign_sums.values())
        value, reason = finite(total, "grad_sign")
    return {"grad_sign": clock.outcome("grad_sign", value, reason)}


def grad_sign(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """GradSign: ``sum_theta |sum_i sign(dL_i/dtheta)|`` over Conv2d/Linear weights and the samples i of the batch.

    Zhang & Jia, ICLR 2022, "GradSign: Model Performance Inference with Theoretical
    Insights". Follows the implementation in the zero-cost-nas harness (``gradsign``
    measure): each sample's cross-entropy gradient on its own (batch of one, training
    mode, so BatchNorm uses that sample's statistics), at the model's own initialization.
    """
    return run(model, batch, seed, ["grad_sign"])["grad_sign"].value
