"""Each zero-cost proxy alone: registry, finiteness, determinism, purity, NaN handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
from torch import nn

from zcdb.errors import ZcdbError
from zcdb.spaces.nb201_network import build_nb201
from zcdb.proxies import GROUPS, REGISTRY, build_seeded, get_proxy, tenas_rank
from zcdb.proxies.registry import check_registry

ALL = list(REGISTRY)
DATA_FREE = [n for n, s in REGISTRY.items() if not s.needs_data]
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TinyNet(nn.Module):
    """A small conv net with BatchNorm, in-place ReLU, global pooling and a linear head."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.block(self.stem(x))).flatten(1))


def make_batch(n: int = 16, side: int = 8, classes: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, side, side, generator=g), torch.randint(0, classes, (n,), generator=g)


def tiny_model(seed: int = 0) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TinyNet()


def snapshot(model: nn.Module) -> dict:
    return dict(
        state={k: v.clone() for k, v in model.state_dict().items()},
        # the memory layout too: some proxies run their private copy channels-last
        strides={k: v.stride() for k, v in model.state_dict().items()},
        training=[m.training for m in model.modules()],
        requires_grad=[p.requires_grad for p in model.parameters()],
        grads=[p.grad for p in model.parameters()],
        hooks=sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()),
    )


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert before["state"].keys() == after["state"].keys()
    for k in before["state"]:
        assert torch.equal(before["state"][k], after["state"][k]), f"{k} changed"
    assert before["strides"] == after["strides"]
    assert before["training"] == after["training"]
    assert before["requires_grad"] == after["requires_grad"]
    assert all(g is None for g in after["grads"])
    assert before["hooks"] == after["hooks"]


# --------------------------------------------------------------------------- registry
def test_registry_is_explicit_and_consistent():
    check_registry()
    assert set(GROUPS) == {s.group for s in REGISTRY.values()}
    expected = {"params", "flops", "synflow", "snip", "grasp", "grad_norm", "fisher", "jacov", "nwot", "epe_nas",
                "zen", "plain", "l2_norm", "grad_sign", "zico", "meco", "swap", "tenas_ntk", "tenas_lr"}
    assert expected <= set(REGISTRY)
    assert set(DATA_FREE) == {"params", "flops", "l2_norm", "synflow", "zen"}


@pytest.mark.parametrize("name", ALL)
def test_every_proxy_cites_its_paper(name):
    spec = REGISTRY[name]
    doc = spec.fn.__doc__ or ""
    assert spec.name == name
    assert any(str(year) in doc for year in range(1989, 2026)), f"{name}: docstring cites no paper year"
    assert "." in doc.splitlines()[0], f"{name}: first docstring line should be a sentence"
    assert spec.paper


def test_unknown_proxy_names_the_known_ones():
    with pytest.raises(ZcdbError, match="known proxies"):
        get_proxy("nope")


# --------------------------------------------------------------------------- each proxy on a tiny model
@pytest.mark.parametrize("name", ALL)
def test_proxy_on_tiny_model_is_finite_deterministic_and_pure(name):
    model = tiny_model()
    batch = make_batch()
    before = snapshot(model)
    rng = torch.get_rng_state()
    grad_mode = torch.is_grad_enabled()
    fn = REGISTRY[name].fn
    a = fn(model, batch, 3)
    b = fn(model, batch, 3)
    assert math.isfinite(a), f"{name} = {a}"
    assert a == b
    assert_unchanged(model, before)
    assert torch.equal(rng, torch.get_rng_state())
    assert torch.is_grad_enabled() == grad_mode


@pytest.mark.parametrize("name", ALL)
def test_proxy_leaves_eval_mode_and_frozen_model_alone(name):
    model = tiny_model().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    batch = make_batch()
    before = snapshot(model)
    value = REGISTRY[name].fn(model, batch, 0)
    assert math.isfinite(value)
    assert_unchanged(model, before)


def test_seed_matters_only_for_reinitializing_proxies():
    model, batch = tiny_model(), make_batch()
    for name in ("zen", "swap", "tenas_lr"):
        assert REGISTRY[name].fn(model, batch, 0) != REGISTRY[name].fn(model, batch, 1) or name == "swap"
    for name in ("snip", "nwot", "synflow", "grasp"):
        assert REGISTRY[name].fn(model, batch, 0) == REGISTRY[name].fn(model, batch, 1)


@pytest.mark.parametrize("name", DATA_FREE)
def test_data_free_proxies_need_no_data(name):
    model = tiny_model()
    fn = REGISTRY[name].fn
    if name in ("params", "l2_norm"):
        value = fn(model)
    else:
        value = fn(model, None, 0, input_shape=(3, 8, 8))
    assert math.isfinite(value)


def test_data_proxies_ask_for_a_batch():
    with pytest.raises(ZcdbError, match="needs a batch"):
        REGISTRY["snip"].fn(tiny_model(), None, 0)
    with pytest.raises(ZcdbError, match="input_shape"):
        REGISTRY["synflow"].fn(tiny_model(), None, 0)
    with pytest.raises(ZcdbError, match="pair"):
        REGISTRY["nwot"].fn(tiny_model(), torch.zeros(4, 3, 8, 8), 0)


# --------------------------------------------------------------------------- known values
def test_static_proxies_match_the_cost_formula():
    from zcdb.spaces.nb201_cost import count_cost

    model = build_nb201(MIXED, C=4, N=1)
    params, mflops = count_cost(MIXED, C=4, N=1)
    assert REGISTRY["params"].fn(model) == pytest.approx(params, rel=1e-12)
    assert REGISTRY["flops"].fn(model, None, 0, input_shape=(3, 32, 32)) == pytest.approx(mflops, rel=1e-12)


def test_linear_model_values_by_hand():
    # f(x) = W x on flattened input, no BatchNorm: snip, plain, grad_norm have closed forms.
    torch.manual_seed(0)

    class Lin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(12, 3, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.flatten(1))

    model = Lin()
    x, y = make_batch(8, 2, 3)
    w = model.fc.weight.detach().clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(x.flatten(1) @ w.t(), y)
    (g,) = torch.autograd.grad(loss, w)
    w = w.detach()
    assert REGISTRY["snip"].fn(model, (x, y)) == pytest.approx(float((g * w).abs().sum()), rel=1e-6)
    assert REGISTRY["plain"].fn(model, (x, y)) == pytest.approx(float((g * w).sum()), rel=1e-5, abs=1e-7)
    assert REGISTRY["grad_norm"].fn(model, (x, y)) == pytest.approx(float(g.norm()), rel=1e-6)
    assert REGISTRY["l2_norm"].fn(model) == pytest.approx(float(w.norm()), rel=1e-6)
    # synflow of a linear layer on ones: sum |w| * |sum_out ...| = sum_ij |w_ij| (one output row each)
    assert REGISTRY["synflow"].fn(model, (x, y)) == pytest.approx(math.log(float(w.double().abs().sum())), rel=1e-12)


def test_nwot_counts_agreements():
    # One ReLU on the identity: K_ij = number of coordinates where x_i, x_j have the same sign.
    class Id(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.relu(x.flatten(1)))

    x = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1], [-1, 1, 1, 1]]).reshape(3, 1, 2, 2)
    y = torch.tensor([0, 1, 0])
    c = (x.reshape(3, -1) > 0).double()
    k = c @ c.t() + (1 - c) @ (1 - c).t()
    expected = float(np.linalg.slogdet(k.numpy())[1])
    assert REGISTRY["nwot"].fn(Id(), (x, y)) == pytest.approx(expected, rel=1e-12)


def test_tenas_rank_combines_two_rankings():
    ntk = [10.0, 1.0, 5.0, float("nan")]
    lr = [100.0, 50.0, 100.0, 3.0]
    got = tenas_rank(ntk, lr)
    # ntk ranks (ascending): 2, 0, 1; lr ranks (descending, dense): 0, 1, 0
    assert got[:3].tolist() == [-2.0, -1.0, -1.0]
    assert math.isnan(got[3])
    with pytest.raises(ZcdbError):
        tenas_rank([1.0], [1.0, 2.0])


# --------------------------------------------------------------------------- NaN handling
def test_disconnected_network_gives_nan_with_reasons_not_sentinels():
    from zcdb.proxies import compute_proxies

    batch = make_batch(16, 16, 10)
    res = compute_proxies([EMPTY], ALL, "cifar10", batch, 0,
                          build_model=lambda a, dataset, **kw: build_nb201(a, dataset, **{"C": 4, "N": 1, **kw}))
    by = {r.proxy: r for r in res}
    for name in ("synflow", "jacov", "nwot", "epe_nas"):
        assert math.isnan(by[name].score), name
        assert by[name].reason, name
    for r in res:
        assert r.score != -1e8
        assert math.isfinite(r.score) or (math.isnan(r.score) and r.reason), r


def test_nan_weights_give_nan_with_reasons():
    model = tiny_model()
    with torch.no_grad():
        model.block[0].weight[0, 0, 0, 0] = float("nan")
    batch = make_batch()
    from zcdb.proxies import compute_proxies

    res = compute_proxies(["x"], ALL, "cifar10", batch, 0, build_model=lambda a, dataset, **kw: model)
    for r in res:
        if r.proxy in ("params", "flops"):
            assert math.isfinite(r.score)
        elif not math.isfinite(r.score):
            assert math.isnan(r.score) and r.reason, r
    assert math.isnan({r.proxy: r.score for r in res}["snip"])


# --------------------------------------------------------------------------- NB201 networks
@pytest.mark.parametrize("name", ALL)
def test_proxy_on_small_nb201(name):
    spec = REGISTRY[name]
    kw = {"C": 4, "N": 1, **spec.build}
    model = build_seeded(build_nb201, MIXED, "cifar10", 0, **kw)
    before = snapshot(model)
    batch = make_batch(16, 16, 10)
    value = spec.fn(model, batch, 0)
    assert math.isfinite(value), f"{name} = {value}"
    assert spec.fn(model, batch, 0) == value
    assert_unchanged(model, before)


class ViewNet(nn.Module):
    """Flattens its feature map with ``.view`` (no pooling), which an NHWC tensor refuses."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.Conv2d(4, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4 * 4 * 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(x)
        return self.fc(x.view(x.size(0), -1))


@pytest.mark.parametrize("name", [n for n in ALL if n != "tenas_lr"])  # 4x4 crops do not fit a fixed-size head
def test_any_model_layout_works(name):
    """The channels-last speed-up is only for networks that declare it safe (NB201's)."""
    from zcdb.proxies._util import channels_last

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ViewNet()
    value = REGISTRY[name].fn(model, make_batch(), 0)
    assert math.isfinite(value), f"{name} = {value}"
    nb = build_nb201(MIXED, dataset="cifar10", C=4, N=1)
    x = channels_last(nb, torch.zeros(2, 3, 8, 8))
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert nb.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert channels_last(model, torch.zeros(2, 3, 8, 8)).is_contiguous()


def test_hand_over_skips_one_copy_and_only_one():
    from zcdb.proxies._util import hand_over, private_copy

    model = tiny_model()
    before = snapshot(model)
    assert private_copy(model) is not model  # not handed over: a copy
    assert_unchanged(model, before)
    hand_over(model)
    assert private_copy(model) is model  # handed over: the model itself, once
    assert private_copy(model) is not model
    # a proxy on a handed-over model gives the same score as on a copy of it
    batch = make_batch()
    a = REGISTRY["snip"].fn(tiny_model(), batch, 0)
    b = REGISTRY["snip"].fn(hand_over(tiny_model()), batch, 0)
    assert a == b


@settings(max_examples=40, deadline=None)
@given(channels=st.integers(2, 48), positions=st.integers(2, 48), seed=st.integers(0, 2**31 - 1),
       dead=st.integers(0, 3))
def test_meco_minimum_eigenvalue_is_eigvalsh_and_exactly_zero_when_singular(channels, positions, seed, dead):
    """MeCo's per-map term is eigvalsh's minimum of the channel correlation; with no more
    positions than channels the matrix is singular and the term is exactly 0, which
    eigvalsh reproduces up to rounding."""
    from zcdb.proxies.meco import _min_eig_of_correlation

    g = torch.Generator().manual_seed(seed)
    fea = torch.randn(channels, 1, positions, generator=g)
    fea[:min(dead, channels - 1)] = 0.5  # constant channels: NaN correlations, zeroed
    corr = torch.nan_to_num(torch.corrcoef(fea.reshape(channels, -1).double()), nan=0.0)
    reference = float(torch.linalg.eigvalsh(corr)[0])
    got = _min_eig_of_correlation(fea)
    if positions <= channels:
        assert got == 0.0
        assert abs(reference) < 1e-12
    else:
        assert got == reference
