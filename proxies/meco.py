"""MeCo: minimum eigenvalues of the channel correlation of every feature map, for one input."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from ._util import Batch, Outcome, StageClock, check_names, device_of, finite, private_copy, split_batch

NAMES = ("meco",)


def _min_eig_of_correlation(fea: torch.Tensor) -> float:
    rows = fea.reshape(fea.shape[0], -1).double()
    if rows.shape[0] < 2:
        return 1.0  # a 1x1 correlation matrix is [[1]]
    if rows.shape[1] < 2:
        return 0.0  # one position: every correlation is NaN, zeroed by the reference, min eigenvalue 0
    if rows.shape[1] <= rows.shape[0]:
        # No more positions than channels: the centred rows span at most positions - 1
        # dimensions, so the PSD correlation matrix is singular and its minimum eigenvalue
        # is exactly 0 (eigvalsh returns rounding noise of ~1e-13 instead; on NAS-Bench-Macro's
        # 768- to 1536-channel 4x4 maps that cost 1.8-4.2 s per architecture, measured on 3).
        return 0.0
    corr = torch.corrcoef(rows)
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute meco from one training-mode forward pass of the batch's first input."""
    names = check_names(names, NAMES, "meco")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        x, _ = split_batch(batch, "meco", device_of(net))
        feats: list[torch.Tensor] = []

        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            # The reference hooks every module (containers too, so a Sequential's output
            # counts again) and takes output[0], the first input's feature map.
            if isinstance(output, torch.Tensor) and output.ndim >= 3:
                feats.append(output[0].detach().clone())

        handles = [m.register_forward_hook(hook) for m in net.modules()]
        try:
            with torch.no_grad():
                net(x[:1])
        finally:
            for h in handles:
                h.remove()
        results = [_min_eig_of_correlation(f) for f in feats]
        total = sum(r for r in results if math.isfinite(r))
        value, reason = finite(total, "meco")
    return {"meco": clock.outcome("meco", value, reason)}


def meco(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """MeCo: sum over layers of the smallest eigenvalue of the correlation matrix of the layer's channels.

    Jiang et al., NeurIPS 2023, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass
    via Minimum Eigenvalue of Correlation". Follows the authors' NAS-Bench-201 script: one
    input (the batch's first), one training-mode forward pass at the model's own
    initialization, a forward hook on every module (containers included), for each
    feature map of that input the ``C x C`` Pearson correlation of its channels over the
    spatial positions (NaN/inf entries set to 0), its minimum eigenvalue (``eigvalsh``: the
    matrix is symmetric), summed over the hooked outputs; outputs without spatial
    positions (pooled features, logits) give an all-zero matrix in the reference and add 0,
    so they are skipped. A feature map with no more spatial positions than channels has a
    singular correlation matrix (rank at most positions - 1): its minimum eigenvalue is
    exactly 0 and is not computed (the reference adds eigvalsh's rounding noise, |x| < 1e-12).
    """
    return run(model, batch, seed, ["meco"])["meco"].value
