"""The proxy registry: every proxy zcdb computes, by name, filled in this one place.

Each :class:`ProxySpec` names the public function (``fn(model, batch, seed) -> float``,
pure: it works on a private copy of the model and draws its randomness from ``seed``),
the *group* whose runner computes it (proxies of a group share work when computed
together by :func:`zcdb.proxies.compute_proxies`), what it needs as data, and the
network shape it is meant for (``build``: extra arguments to the model builder, e.g.
TE-NAS's thin network for linear regions).

Groups and what their proxies share:

``static``     nothing (params, flops, l2_norm read the model)
``synflow``    its own linearized float64 copy (weights set to ``|w|``)
``data``       one training-mode forward pass of the batch at the model's initialization
               (nwot, jacov, epe_nas, snip, grad_norm, plain, fisher, grasp); see
               :mod:`zcdb.proxies.data_pass`
``zico``       two half-batch passes            ``grad_sign``  per-sample gradients
``zen``        Gaussian re-initialization       ``swap``       Gaussian re-initialization
``meco``       one single-input pass            ``tenas_ntk``  per-input NTK gradients
``tenas_lr``   a thin network and small crops
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from torch import nn

from zcdb.errors import ZcdbError

from . import data_pass, grad_sign, meco, static, swap, synflow, tenas, zen, zico
from ._util import Batch, Outcome

#: A group runner: ``(model, batch, seed, names, input_shape) -> {name: Outcome}``.
Runner = Callable[[nn.Module, Optional[Batch], int, Sequence[str], Optional[Sequence[int]]], "dict[str, Outcome]"]

#: Group name -> runner computing any subset of the group's proxies at once.
GROUPS: Mapping[str, Runner] = {
    "static": static.run,
    "synflow": synflow.run,
    "data": data_pass.run,
    "zico": zico.run,
    "grad_sign": grad_sign.run,
    "zen": zen.run,
    "meco": meco.run,
    "swap": swap.run,
    "tenas_ntk": tenas.run_ntk,
    "tenas_lr": tenas.run_lr,
}


@dataclass(frozen=True)
class ProxySpec:
    """What zcdb knows about one proxy."""

    name: str
    #: The pure function ``fn(model, batch, seed) -> float`` (NaN when undefined).
    fn: Callable[..., float]
    #: Runner group (a key of :data:`GROUPS`).
    group: str
    #: ``"none"`` (data-free), ``"random"`` (random inputs; only the batch's shape is used)
    #: or ``"batch"`` (the batch's images and, for loss-based proxies, labels).
    data: str
    #: Short citation of the paper.
    paper: str
    #: Whether larger scores predict better architectures (as the paper proposes).
    higher_is_better: bool = True
    #: Extra keyword arguments for the model builder (the network the proxy is defined on).
    build: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_data(self) -> bool:
        """Whether the proxy reads the images of a batch (not only its shape)."""
        return self.data == "batch"

    def applies_to(self, space: Any) -> bool:
        """Whether ``space`` (a :class:`~zcdb.spaces.SearchSpace`) builds the network this proxy is defined on."""
        variant = self.build.get("variant")
        return variant is None or variant in space.network_variants


def _spec(name: str, fn: Callable[..., float], group: str, data: str, paper: str, **kw: Any) -> tuple[str, ProxySpec]:
    return name, ProxySpec(name, fn, group, data, paper, **kw)


#: Proxy name -> spec. The combined TE-NAS score is not here: it ranks a set of
#: architectures, see :func:`zcdb.proxies.tenas.tenas_rank`.
REGISTRY: Mapping[str, ProxySpec] = dict([
    _spec("params", static.params, "static", "none", "Dong & Yang, ICLR 2020 (NAS-Bench-201)"),
    _spec("flops", static.flops, "static", "none", "Dong & Yang, ICLR 2020 (NAS-Bench-201)"),
    _spec("l2_norm", static.l2_norm, "static", "none", "Krishnakumar et al., NeurIPS 2022 (NAS-Bench-Suite-Zero)"),
    _spec("synflow", synflow.synflow, "synflow", "none", "Tanaka et al., NeurIPS 2020; Abdelfattah et al., ICLR 2021"),
    _spec("nwot", data_pass.nwot, "data", "batch", "Mellor et al., ICML 2021"),
    _spec("jacov", data_pass.jacov, "data", "batch", "Mellor et al., arXiv:2006.04647v1, 2020"),
    _spec("epe_nas", data_pass.epe_nas, "data", "batch", "Lopes et al., ICANN 2021"),
    _spec("snip", data_pass.snip, "data", "batch", "Lee et al., ICLR 2019; Abdelfattah et al., ICLR 2021"),
    _spec("grad_norm", data_pass.grad_norm, "data", "batch", "Abdelfattah et al., ICLR 2021"),
    _spec("plain", data_pass.plain, "data", "batch", "Mozer & Smolensky, NeurIPS 1989; Abdelfattah et al., ICLR 2021"),
    _spec("fisher", data_pass.fisher, "data", "batch", "Theis et al., 2018; Turner et al., ICLR 2020"),
    _spec("grasp", data_pass.grasp, "data", "batch", "Wang et al., ICLR 2020; Abdelfattah et al., ICLR 2021"),
    _spec("zico", zico.zico, "zico", "batch", "Li et al., ICLR 2023"),
    _spec("grad_sign", grad_sign.grad_sign, "grad_sign", "batch", "Zhang & Jia, ICLR 2022"),
    _spec("zen", zen.zen, "zen", "random", "Lin et al., ICCV 2021"),
    _spec("meco", meco.meco, "meco", "batch", "Jiang et al., NeurIPS 2023"),
    _spec("swap", swap.swap, "swap", "batch", "Peng et al., ICLR 2024"),
    _spec("tenas_ntk", tenas.tenas_ntk, "tenas_ntk", "batch", "Chen et al., ICLR 2021 (TE-NAS)",
          higher_is_better=False),
    _spec("tenas_lr", tenas.tenas_lr, "tenas_lr", "batch", "Chen et al., ICLR 2021 (TE-NAS)",
          build=tenas.LR_BUILD),
])


def get_proxy(name: str) -> ProxySpec:
    """The spec of proxy ``name``; :class:`~zcdb.errors.ZcdbError` lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ZcdbError(f"unknown proxy {name!r}: known proxies are {', '.join(REGISTRY)}") from None


def orientation(proxy: str) -> float:
    """+1 when larger scores of ``proxy`` predict better architectures, -1 otherwise; +1 for a name
    outside the registry, which is what ensembles (``zcdb proxies combine``, never a registry name)
    and imported score sets need. Multiply scores by it to make higher mean better."""
    spec = REGISTRY.get(proxy)
    return 1.0 if spec is None or spec.higher_is_better else -1.0


def check_registry() -> None:
    """Consistency of the registry with the group runners (used by the tests)."""
    for name, spec in REGISTRY.items():
        if spec.group not in GROUPS:
            raise ZcdbError(f"proxy {name}: unknown group {spec.group}")
        if spec.data not in ("none", "random", "batch"):
            raise ZcdbError(f"proxy {name}: data must be none, random or batch")
