"""TE-NAS: condition number of the neural tangent kernel, and number of linear regions.

TE-NAS ranks architectures by the sum of two ranks, the NTK condition number's
(ascending: smaller is better) and the linear-region count's (descending). A rank needs
a set of architectures, so the per-architecture scores are stored as two proxies,
``tenas_ntk`` and ``tenas_lr``, and :func:`tenas_rank` combines them over whatever set
of architectures is being evaluated.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from ._util import (Batch, Outcome, StageClock, channels_last, check_names, device_of, generator, private_copy,
                    split_batch)

NTK_NAMES = ("tenas_ntk",)
LR_NAMES = ("tenas_lr",)
#: Inputs of the NTK (TE-NAS's ``--batch_size`` default; its NAS-Bench-201 launcher uses 72).
NTK_SAMPLES = 16
#: Linear-region count: LR_BATCHES forward passes of LR_SAMPLES crops of LR_CROP x LR_CROP pixels.
LR_SAMPLES = 1000
LR_BATCHES = 3
LR_CROP = 4
#: Network variant on which TE-NAS counts linear regions (its ``model_config_thin``; for
#: NAS-Bench-201 C=1, N=1): spaces without a ``thin`` variant do not get this proxy.
LR_BUILD = {"variant": "thin"}


def run_ntk(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
            input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute tenas_ntk on a private copy (training mode, the model's own initialization)."""
    names = check_names(names, NTK_NAMES, "tenas_ntk")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        x, _ = split_batch(batch, "tenas_ntk", device_of(net))
        x = channels_last(net, x[:NTK_SAMPLES])
        n = x.shape[0]
        # TE-NAS takes every parameter whose name contains "weight" (BatchNorm scales included).
        weights = [p for name, p in net.named_parameters() if "weight" in name]
        with torch.enable_grad():
            logits = net(x)
            # Row i: d(sum of input i's logits)/dW through the whole batch's pass (BatchNorm
            # couples the inputs), one backward pass each as in TE-NAS (on CPU a loop is
            # cheaper than autograd's vectorized is_grads_batched).
            rows = []
            for i in range(n):
                grads = torch.autograd.grad(logits[i].sum(), weights, retain_graph=i < n - 1, allow_unused=True)
                rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
        with torch.no_grad():
            jac = torch.stack(rows).double()
            ntk = jac @ jac.t()
            eig = torch.linalg.eigvalsh(ntk)
            cond = float(eig[-1] / eig[0])
        if math.isfinite(cond) and eig[0] > 0:
            value, reason = cond, None
        else:
            value, reason = math.nan, f"NTK smallest eigenvalue is {float(eig[0]):.3g}: condition number undefined"
    return {"tenas_ntk": clock.outcome("tenas_ntk", value, reason)}


def run_lr(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
           input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute tenas_lr: activation patterns of random crops of the batch's images, training mode."""
    names = check_names(names, LR_NAMES, "tenas_lr")
    clock = StageClock(names)
    with clock.stage(names):
        net = private_copy(model).train()
        x, _ = split_batch(batch, "tenas_lr", device_of(net))
        gen = generator(seed)
        b, _, h, w = x.shape
        if h < LR_CROP or w < LR_CROP:
            raise ValueError(f"tenas_lr needs images of at least {LR_CROP}x{LR_CROP} pixels")
        total = LR_SAMPLES * LR_BATCHES
        img = torch.randint(0, b, (total,), generator=gen)
        top = torch.randint(0, h - LR_CROP + 1, (total,), generator=gen)
        left = torch.randint(0, w - LR_CROP + 1, (total,), generator=gen)
        rr = top[:, None] + torch.arange(LR_CROP)[None, :]
        cc = left[:, None] + torch.arange(LR_CROP)[None, :]
        xc = x.cpu()
        crops = xc[img[:, None, None, None], torch.arange(xc.shape[1])[None, :, None, None],
                   rr[:, None, :, None], cc[:, None, None, :]].to(x.device)
        patterns: list[torch.Tensor] = []
        for k in range(LR_BATCHES):
            feats: list[torch.Tensor] = []

            def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                if inputs[0].ndim == 4:
                    feats.append((output.detach().reshape(output.shape[0], -1) > 0))

            handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
            try:
                with torch.no_grad():
                    net(crops[k * LR_SAMPLES:(k + 1) * LR_SAMPLES])
            finally:
                for hd in handles:
                    hd.remove()
            patterns.append(torch.cat(feats, dim=1) if feats else torch.zeros((LR_SAMPLES, 0), dtype=torch.bool, device=x.device))
        codes = torch.cat(patterns, dim=0).to(torch.uint8)
        value = float(torch.unique(codes, dim=0).shape[0]) if codes.shape[1] else 1.0
    return {"tenas_lr": clock.outcome("tenas_lr", value, None)}


def tenas_ntk(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Condition number ``lambda_max / lambda_min`` of the empirical NTK on the batch's first 16 inputs (lower is better).

    Chen et al., ICLR 2021, "Neural Architecture Search on ImageNet in Four GPU Hours: A
    Theoretically Inspired Perspective" (TE-NAS). Follows the authors' ``get_ntk_n``:
    training mode, for each input the gradient of the sum of its logits with respect to
    every parameter named ``weight`` (BatchNorm scales included) through the batch's
    forward pass, ``NTK = J J^T``, eigenvalues of the symmetric matrix. TE-NAS's launcher
    asks for Kaiming-normal initialization, but its ``init_model`` does not recognise the
    name it builds (``kaiming_normal_fanout``) and leaves PyTorch's default; the model's own
    initialization is used here likewise. 16 inputs (the default ``--batch_size``).
    """
    return run_ntk(model, batch, seed, ["tenas_ntk"])["tenas_ntk"].value


def tenas_lr(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Number of linear regions: distinct ReLU activation patterns of 3000 small crops of the batch's images.

    Chen et al., ICLR 2021 (TE-NAS). Follows the authors' ``Linear_Region_Collector``:
    3 training-mode forward passes of 1000 crops each, the sign of the output of every
    ``nn.ReLU`` applied to a 4-d tensor, and the number of distinct patterns (TE-NAS's
    ``sum 1/count`` over samples of identical patterns). TE-NAS counts on a thin network
    (C=1, N=1, its ``model_config_thin``), which the engine builds for this proxy
    (``LR_BUILD``); pass such a model when calling this function directly. Deviations: the
    crops are 4x4 (TE-NAS's 3x3 cannot pass NAS-Bench-201's stride-2 reduction blocks) and
    keep the 3 channels (TE-NAS picks one channel and drops the stem); they are drawn from
    the batch with ``seed``. The model's own initialization (as for the NTK, TE-NAS's
    Kaiming request is not applied by its code).
    """
    return run_lr(model, batch, seed, ["tenas_lr"])["tenas_lr"].value


def tenas_rank(ntk: Sequence[float], lr: Sequence[float]) -> np.ndarray:
    """TE-NAS's combined score of a set of architectures: ``-(rank of ntk ascending + rank of lr descending)``.

    Higher is better. Ranks start at 0 and ties share the lowest rank (as TE-NAS ranks);
    an architecture with a NaN component gets NaN.
    """
    a = np.asarray(ntk, dtype=np.float64)
    b = np.asarray(lr, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        from zcdb.errors import ZcdbError

        raise ZcdbError("tenas_rank needs two equally long 1-d sequences")
    ok = np.isfinite(a) & np.isfinite(b)
    out = np.full(a.shape, np.nan)
    if ok.any():
        from scipy.stats import rankdata  # here, not at import: loading scipy.stats costs each worker process 1.2-1.7 s

        ra = rankdata(a[ok], method="dense") - 1
        rb = rankdata(-b[ok], method="dense") - 1
        out[ok] = -(ra + rb)
    return out
