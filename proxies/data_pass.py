"""The proxies of one training-mode forward pass of the data batch at the model's own initialization.

NASLib (and zero-cost-nas, from which it comes) computes each of these on its own copy
of the same initialized network, in training mode (BatchNorm uses the batch's
statistics), on the same batch. They therefore all see the same forward pass, and this
module runs it once for any subset of them:

* forward hooks on the ReLU inputs give NASWOT's binary codes (``nwot``);
* forward hooks keep every Conv2d/Linear output for Fisher (``fisher``);
* the gradient of the summed logits with respect to the input gives the Jacobian
  of ``jacov`` and ``epe_nas``;
* the gradient of the cross-entropy loss with respect to the Conv2d/Linear weights
  (and outputs) gives ``snip``, ``grad_norm``, ``plain``, ``fisher`` and GraSP's ``g``;
* one more backward through that gradient (double backward) gives GraSP's ``Hg``.

The forward pass is always run the same way (input requiring grad, hooks in
place), whichever proxies are requested, so a proxy computed alone and the same proxy
computed with others see bit-identical activations.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._util import Batch, Outcome, StageClock, check_names, device_of, finite, private_copy, split_batch, weight_layers

NAMES = ("nwot", "jacov", "epe_nas", "snip", "grad_norm", "plain", "fisher", "grasp")
_JACOBIAN = ("jacov", "epe_nas")
_LOSS_GRAD = ("snip", "grad_norm", "plain", "fisher", "grasp")
#: Epsilon of jacov and epe_nas (NASLib's ``k = 1e-5``).
_K = 1e-5


def run(model: nn.Module, batch: Optional[Batch], seed: int, names: Sequence[str],
        input_shape: Optional[Sequence[int]] = None) -> dict[str, Outcome]:
    """Compute the requested proxies of this module from one shared forward pass.

    Time is split by stage: the copy and the forward pass are shared by every requested
    proxy; the input-gradient backward by jacov and epe_nas; the loss backward by the
    loss-gradient proxies; each proxy's own reduction (a log-determinant, an eigen
    decomposition, GraSP's double backward) is charged to it alone.
    """
    names = check_names(names, NAMES, "data")
    clock = StageClock(names)
    out: dict[str, Outcome] = {}
    with clock.stage(names):
        net = private_copy(model).train()
        x, y = split_batch(batch, names[0], device_of(net))
        layers = weight_layers(net)
        weights = [m.weight for m in layers]
        n = x.shape[0]
        kernel = torch.zeros((n, n), dtype=torch.float64, device=x.device) if "nwot" in names else None
        acts: list[Optional[torch.Tensor]] = [None] * len(layers)
        handles = []
        if kernel is not None:
            def relu_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                with torch.no_grad():
                    codes = (inputs[0].reshape(n, -1) > 0).to(torch.float32)
                    agree = codes @ codes.t()  # exact: integer counts below 2**24
                    ones = codes.sum(dim=1, dtype=torch.float64)
                    # codes c: K_ij = c_i.c_j + (1 - c_i).(1 - c_j) = 2 c_i.c_j - |c_i| - |c_j| + D
                    kernel.add_(2.0 * agree.double() - ones[:, None] - ones[None, :] + codes.shape[1])

            handles += [m.register_forward_hook(relu_hook) for m in net.modules() if isinstance(m, nn.ReLU)]
        if "fisher" in names:
            def keep_output(k: int):
                def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                    acts[k] = output
                return hook

            handles += [m.register_forward_hook(keep_output(k)) for k, m in enumerate(layers)]
        xg = x.clone().requires_grad_(True)
        with torch.enable_grad():
            logits = net(xg)
        for h in handles:
            h.remove()

    if "nwot" in names:
        with clock.stage(["nwot"]):
            value, reason = _nwot_score(kernel)
        out["nwot"] = clock.outcome("nwot", value, reason)

    jac_users = [p for p in _JACOBIAN if p in names]
    grad_users = [p for p in _LOSS_GRAD if p in names]
    if jac_users:
        with clock.stage(jac_users):
            with torch.enable_grad():
                (jac,) = torch.autograd.grad(logits.sum(), xg, retain_graph=bool(grad_users))
            jac_np = jac.reshape(n, -1).detach().cpu().numpy()
        if "jacov" in names:
            with clock.stage(["jacov"]):
                value, reason = _jacov_score(jac_np)
            out["jacov"] = clock.outcome("jacov", value, reason)
        if "epe_nas" in names:
            with clock.stage(["epe_nas"]):
                value, reason = _epe_score(jac_np, y.cpu().numpy(), int(logits.shape[-1]))
            out["epe_nas"] = clock.outcome("epe_nas", value, reason)

    if not grad_users:
        return out
    want_hessian = "grasp" in names
    with clock.stage(grad_users):
        with torch.enable_grad():
            loss = F.cross_entropy(logits, y)
            inputs = list(weights) + ([a for a in acts] if "fisher" in names else [])
            grads = torch.autograd.grad(loss, inputs, create_graph=want_hessian, allow_unused=True)
        wgrads = grads[: len(weights)]
        agrads = grads[len(weights):]
    with torch.no_grad():
        if "snip" in names:
            with clock.stage(["snip"]):
                total = sum(float((g * w).abs().sum()) for w, g in zip(weights, wgrads) if g is not None)
                value, reason = finite(total, "snip")
            out["snip"] = clock.outcome("snip", value, reason)
        if "grad_norm" in names:
            with clock.stage(["grad_norm"]):
                total = sum(float(g.norm()) for g in wgrads if g is not None)
                value, reason = finite(total, "grad_norm")
            out["grad_norm"] = clock.outcome("grad_norm", value, reason)
        if "plain" in names:
            with clock.stage(["plain"]):
                total = sum(float((g * w).sum()) for w, g in zip(weights, wgrads) if g is not None)
                value, reason = finite(total, "plain")
            out["plain"] = clock.outcome("plain", value, reason)
        if "fisher" in names:
            with clock.stage(["fisher"]):
                total = 0.0
                for w, a, g in zip(weights, acts, agrads):
                    if a is None or g is None:
                        continue
                    a, g = a.detach(), g.detach()
                    g_nk = (a * g).sum(dim=tuple(range(2, a.ndim))) if a.ndim > 2 else a * g
                    per_channel = g_nk.pow(2).mean(0).mul(0.5).abs()
                    # NASLib broadcasts each channel's value to all the weights of that
                    # channel before summing: the channel sum weighs by fan-in.
                    total += float(per_channel.sum()) * int(np.prod(w.shape[1:]))
                value, reason = finite(total, "fisher")
            out["fisher"] = clock.outcome("fisher", value, reason)
    if want_hessian:
        with clock.stage(["grasp"]):
            with torch.enable_grad():
                z = sum((g.detach() * g).sum() for g in wgrads if g is not None)
                hg = torch.autograd.grad(z, weights, allow_unused=True)
            with torch.no_grad():
                total = sum(float((-w * h).sum()) for w, h in zip(weights, hg) if h is not None)
            value, reason = finite(total, "grasp")
        out["grasp"] = clock.outcome("grasp", value, reason)
    return out


def _nwot_score(kernel: torch.Tensor) -> tuple[float, Optional[str]]:
    sign, logabsdet = np.linalg.slogdet(kernel.cpu().numpy())
    if not np.isfinite(logabsdet):
        return math.nan, "NASWOT kernel is singular (two inputs share every ReLU code): log-determinant is -inf"
    # NASLib returns log|det K| whatever the sign; K is PSD, a negative sign is rounding.
    return float(logabsdet), None


def _jacov_score(jac: np.ndarray) -> tuple[float, Optional[str]]:
    if not np.all(np.isfinite(jac)):
        return math.nan, "input Jacobian has non-finite entries"
    if np.any(jac.std(axis=1) == 0):
        return math.nan, "input Jacobian of some input is constant: its correlations are undefined"
    corrs = np.corrcoef(jac)
    try:
        v = np.linalg.eigvalsh(corrs)
    except np.linalg.LinAlgError as exc:
        return math.nan, f"eigenvalues of the Jacobian correlation did not converge ({exc})"
    with np.errstate(divide="ignore", invalid="ignore"):
        score = -np.sum(np.log(v + _K) + 1.0 / (v + _K))
    return finite(score, "jacov")


def _epe_score(jac: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[float, Optional[str]]:
    if not np.all(np.isfinite(jac)):
        return math.nan, "input Jacobian has non-finite entries"
    per_class: dict[int, float] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in dict.fromkeys(labels.tolist()):  # classes in order of first appearance, as the reference
            rows = jac[labels == c]
            if rows.shape[0] == 1 and n_classes > 100:
                continue  # the reference's len() of a scalar correlation fails and skips the class
            corrs = np.corrcoef(rows) if rows.shape[0] > 1 else np.ones((1, 1))
            per_class[c] = float(np.sum(np.log(np.abs(corrs) + _K)))
            if n_classes > 100:
                per_class[c] /= corrs.shape[0]
    if n_classes <= 100:
        score = sum(abs(s) for s in per_class.values())
    else:
        vals = list(per_class.values())
        score = sum(abs(a - b) for a in vals for b in vals) / len(vals) if vals else math.nan
    return finite(score, "epe_nas")


def _single(name: str, model: nn.Module, batch: Batch, seed: int) -> float:
    return run(model, batch, seed, [name])[name].value


def nwot(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """NASWOT: log-determinant of the kernel of agreements between the inputs' binary ReLU codes.

    Mellor et al., ICML 2021, "Neural Architecture Search without Training" (the second
    version of the score). Follows NASLib's ``nwot`` (NAS-Bench-Suite-Zero): a forward hook on
    every ``nn.ReLU`` takes the sign pattern of its *input*, ``K = c c^T + (1-c)(1-c)^T`` is
    summed over the ReLUs (``K_ij`` = number of units where inputs i and j agree, i.e. the
    total units minus the Hamming distance), and the score is ``log|det K|`` from ``slogdet``.
    Training mode, the model's own initialization, the whole batch. Singular ``K`` gives NaN.
    """
    return _single("nwot", model, batch, seed)


def jacov(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Jacobian covariance: ``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues v of the input Jacobians' correlation.

    Mellor et al., 2020, "Neural Architecture Search without Training" (first version,
    arXiv:2006.04647v1); NASLib's ``jacov`` (Robin Ru's version, NAS-Bench-Suite-Zero): the
    Jacobian of the summed logits with respect to each input (one backward of ones), the
    per-input Jacobians flattened, their correlation matrix across inputs (``np.corrcoef``),
    ``k = 1e-5``. Eigenvalues by ``eigvalsh`` (the matrix is symmetric; NASLib calls ``eig``).
    """
    return _single("jacov", model, batch, seed)


def epe_nas(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """EPE-NAS: sum over classes of ``|sum log(|corr| + k)|`` of the class's input-Jacobian correlation matrix.

    Lopes et al., ICANN 2021, "EPE-NAS: Efficient Performance Estimation Without Training for
    Neural Architecture Search"; follows the authors' code as NASLib includes it: the
    Jacobian of the summed logits per input, grouped by label, ``k = 1e-5``; with more
    than 100 classes the per-class sums are divided by the class size and the score is the
    mean pairwise absolute difference instead.
    """
    return _single("epe_nas", model, batch, seed)


def snip(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """SNIP: ``sum |w * dL/dw|`` over the Conv2d and Linear weights, for the cross-entropy loss L of the batch.

    Lee et al., ICLR 2019, "SNIP: Single-shot Network Pruning based on Connection
    Sensitivity"; as a NAS proxy, Abdelfattah et al., ICLR 2021. NASLib gets ``|w * g|`` as
    the gradient of a weight mask of ones; this computes the same product directly.
    """
    return _single("snip", model, batch, seed)


def grad_norm(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Sum over Conv2d and Linear layers of the L2 norm of the layer's cross-entropy gradient.

    Abdelfattah et al., ICLR 2021, "Zero-Cost Proxies for Lightweight NAS": as in their
    code and NASLib, a sum of per-layer gradient norms, not the norm of the whole gradient.
    """
    return _single("grad_norm", model, batch, seed)


def plain(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Plain saliency ``sum w * dL/dw`` (signed) over the Conv2d and Linear weights.

    Mozer & Smolensky, NeurIPS 1989 (first-order saliency); baseline of Abdelfattah et al.,
    ICLR 2021 and NAS-Bench-Suite-Zero (NASLib's ``plain``).
    """
    return _single("plain", model, batch, seed)


def fisher(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Fisher: summed per-channel ``0.5 * mean_n (sum_hw a * dL/da)^2`` of every Conv2d/Linear output a.

    Theis et al., 2018, "Faster gaze prediction with dense networks and Fisher pruning";
    Turner et al., ICLR 2020 (BlockSwap); as a NAS proxy, Abdelfattah et al., ICLR 2021.
    Follows zero-cost-nas/NASLib: the activation is the layer's output (their hook sits on an
    identity right after the conv), the channel value is ``|.|`` and is broadcast to the
    layer's weight shape before summing, i.e. weighted by ``prod(weight.shape[1:])``.
    """
    return _single("fisher", model, batch, seed)


def grasp(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """GraSP: ``-sum w * (H g)`` over the Conv2d and Linear weights (H the loss Hessian, g its gradient).

    Wang et al., ICLR 2020, "Picking Winning Tickets Before Training by Preserving Gradient
    Flow"; as a NAS proxy, Abdelfattah et al., ICLR 2021. Follows NASLib: temperature 1, one
    iteration, ``Hg`` as the gradient of ``sum(stop_grad(g) * g)`` (a double backward), and the
    sign flipped (``-theta * Hg``) as NASLib does.
    """
    return _single("grasp", model, batch, seed)
