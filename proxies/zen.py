"""Zen-score: expressivity of the pre-pooling features under a small Gaussian input perturbation (data-free)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from ._util import (Batch, Outcome, StageClock, channels_last, check_names, device_of, gaussian_init, generator,
                    private_copy, reset_bn_statistics, resolve_shape)

NAMES = ("zen",)
#: Zen-NAS's ``mixup_gamma``.
MIXUP_GAMMA = 1e-2
#: Inputs per forward pass when no batch gives the size (Zen-NAS's default ``--batch_size``).
DEFAULT_BATCH = 16


def _pre_gap(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # Zen-NAS calls model.forward_pre_GAP: the feature map entering global average pooling.
    pools = [m for m in net.modules() if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))]
    if not pools:
        return net(x)
    seen: list[torch.Tensor] = []
    handle = pools[-1].register_forward_hook(lambda m, inputs, output: seen.append(inputs[0]))
    try:
        net(x)
    finally:
        handle.remove()
    return seen[-1]


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None) -> dict[str, Outcome]:
    """Compute zen on a private copy re-initialized from ``seed``."""
    names = check_names(names, NAMES, "zen")
    shape = resolve_shape(batch, input_shape, "zen")
    if batch_size is None:
        batch_size = int(batch[0].shape[0]) if batch is not None else DEFAULT_BATCH
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        device = device_of(net)
        gen = generator(seed)
        gaussian_init(net, gen)
        reset_bn_statistics(net)
        with torch.no_grad():
            x = channels_last(net, torch.randn((batch_size, *shape), generator=gen).to(device))
            noise = channels_last(net, torch.randn((batch_size, *shape), generator=gen).to(device))
            out = _pre_gap(net, x)
            out_mixed = _pre_gap(net, x + MIXUP_GAMMA * noise)
            diff = (out - out_mixed).abs()
            score = diff.reshape(batch_size, -1).sum(dim=1).mean()
            log_bn = 0.0
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                    log_bn += math.log(math.sqrt(float(m.running_var.mean())))
        s = float(score)
        if not math.isfinite(s) or s <= 0.0:
            value, reason = math.nan, f"Zen output difference is {s}: its log is undefined"
        else:
            value = math.log(s) + log_bn
            reason = None if math.isfinite(value) else "Zen score is not finite"
            if reason:
                value = math.nan
    return {"zen": clock.outcome("zen", value, reason)}


def zen(model: nn.Module, batch: Optional[Batch] = None, seed: int = 0,
        input_shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None) -> float:
    """Zen-score: ``log E|f(x) - f(x + 0.01 e)|_1 + sum_BN log sqrt(mean running_var)`` for Gaussian x, e.

    Lin et al., ICCV 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
    Recognition". Follows the authors' ``compute_zen_score``: weights re-drawn N(0, 1)
    (BatchNorm weight 1, bias 0) from ``seed``, Gaussian inputs, ``mixup_gamma = 0.01``, f the
    feature map entering the global average pooling, L1 over features averaged over the
    batch, BatchNorm in training mode with fresh running statistics, whose ``running_var``
    after the two forward passes gives the scaling term. One repeat (the authors average
    32). Data-free: the inputs are random; the batch (if given) only sets their shape and
    number, else ``input_shape`` and ``batch_size`` (default 16).
    """
    return run(model, batch, seed, ["zen"], input_shape, batch_size)["zen"].value
