"""SWAP: number of distinct sample-wise activation patterns of the ReLU units."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ._util import (Batch, Outcome, StageClock, check_names, device_of, finite, gaussian_init, generator,
                    private_copy, split_batch)

NAMES = ("swap",)
#: Inputs used (the reference's ``--input_samples`` default).
SAMPLES = 16


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute swap on a private copy re-initialized (Gaussian) from ``seed``."""
    names = check_names(names, NAMES, "swap")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        x, _ = split_batch(batch, "swap", device_of(net))
        x = x[:SAMPLES]
        n = x.shape[0]
        gaussian_init(net, generator(seed))
        weights = (1 << torch.arange(n, dtype=torch.int64, device=x.device))
        codes: list[torch.Tensor] = []

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if inputs[0].ndim == 4:
                # One integer per unit: bit i says whether input i activates it.
                bits = (output.detach().reshape(n, -1) > 0).to(torch.int64)
                codes.append((bits * weights[:, None]).sum(dim=0))

        handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
        try:
            with torch.no_grad():
                net(x)
        finally:
            for h in handles:
                h.remove()
        count = int(torch.unique(torch.cat(codes)).numel()) if codes else 0
        value, reason = finite(float(count), "swap")
    return {"swap": clock.outcome("swap", value, reason)}


def swap(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """SWAP: number of distinct activation patterns across inputs, counted per ReLU unit.

    Peng et al., ICLR 2024, "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS".
    Follows the authors' ``SampleWiseActivationPatterns``: weights re-drawn N(0, 1)
    (BatchNorm 1, 0) from ``seed``, the first 16 inputs of the batch, one training-mode
    forward pass, the sign of the output of every ``nn.ReLU`` applied to a 4-d tensor, and
    the number of unique rows of the (units x inputs) binary matrix. One repeat (the
    authors average 32) and no parameter-count regularization.
    """
    return run(model, batch, seed, ["swap"])["swap"].value
