"""ZiCo: inverse coefficient of variation of the weight gradients across batches."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._util import (Batch, Outcome, StageClock, channels_last, check_names, device_of, finite, private_copy,
                    split_batch, weight_layers)

NAMES = ("zico",)
#: The batch is cut into this many parts (the reference's ``split_data = 2``).
SPLITS = 2


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute zico: one training-mode forward and backward per part of the batch."""
    names = check_names(names, NAMES, "zico")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        x, y = split_batch(batch, "zico", device_of(net))
        x = channels_last(net, x)
        weights = [m.weight for m in weight_layers(net)]
        n = x.shape[0]
        records: list[list[Optional[torch.Tensor]]] = []
        running: list[Optional[torch.Tensor]] = [None] * len(weights)
        for sp in range(SPLITS):
            lo, hi = sp * n // SPLITS, (sp + 1) * n // SPLITS
            with torch.enable_grad():
                loss = F.cross_entropy(net(x[lo:hi]), y[lo:hi])
                grads = torch.autograd.grad(loss, weights, allow_unused=True)
            # The reference never zeroes the gradients between parts: part k records the
            # sum of the gradients of parts 0..k, as .grad accumulation would.
            for i, g in enumerate(grads):
                if g is not None:
                    running[i] = g.detach() if running[i] is None else running[i] + g.detach()
            records.append(list(running))
        total = 0.0
        with torch.no_grad():
            for i in range(len(weights)):
                if any(r[i] is None for r in records):
                    continue
                stack = torch.stack([r[i].reshape(-1) for r in records]).double()
                std = stack.std(dim=0, unbiased=False)
                mean_abs = stack.abs().mean(dim=0)
                nonzero = std != 0
                tmpsum = float((mean_abs[nonzero] / std[nonzero]).sum())
                if tmpsum != 0.0:
                    total += math.log(tmpsum)
        value, reason = finite(total, "zico")
    return {"zico": clock.outcome("zico", value, reason)}


def zico(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """ZiCo: sum over layers of ``log sum_theta mean|g| / std(g)`` of the weight gradients across batch parts.

    Li et al., ICLR 2023, "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on
    Gradients". Follows the authors' ``getzico``/``caculate_zico`` as used in the
    zero-cost-nas harness (MeCo's repository): the batch is split into 2 halves standing in
    for the reference's two batches, cross-entropy gradients of every Conv2d/Linear weight
    are recorded after each half *without zeroing in between* (so the second record is the
    sum of both halves' gradients, as in the reference), mean of ``|g|`` and population std
    across the records, weights with zero std skipped, layers with a zero sum skipped.
    Training mode, the model's own initialization.
    """
    return run(model, batch, seed, ["zico"])["zico"].value
