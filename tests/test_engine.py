"""The proxy engine: shared passes give the scores of the proxies computed alone; times; store rows."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from zcdb.errors import ZcdbError
from zcdb.spaces.nb201_network import build_nb201
from zcdb.proxies import REGISTRY, ProxyScore, add_to_import, build_seeded, compute_proxies, score_table

ALL = list(REGISTRY)
ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_batch(n: int, side: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, side, side, generator=g), torch.randint(0, 10, (n,), generator=g)


def alone(name: str, arch: str, batch, seed: int, builder) -> float:
    spec = REGISTRY[name]
    model = build_seeded(builder, arch, "cifar10", seed, **spec.build)
    return spec.fn(model, batch, seed)


def assert_same(shared: float, single: float, name: str) -> None:
    if math.isnan(shared) or math.isnan(single):
        assert math.isnan(shared) and math.isnan(single), f"{name}: {shared} vs {single}"
    else:
        assert math.isclose(shared, single, rel_tol=1e-5, abs_tol=1e-9), f"{name}: shared {shared} alone {single}"


def test_shared_equals_alone_on_small_nb201():
    builder = functools.partial(build_nb201, C=4, N=1)
    batch = make_batch(12, 8)
    res = compute_proxies(ARCHS, ALL, "cifar10", batch, 7, build_model=builder)
    assert [(r.arch, r.proxy) for r in res] == [(a, n) for a in ARCHS for n in ALL]
    for r in res:
        assert_same(r.score, alone(r.proxy, r.arch, batch, 7, builder), r.proxy)


@pytest.mark.slow
def test_shared_equals_alone_on_nb201_cifar10_network():
    """Every proxy, on the real NAS-Bench-201 network (C=16, N=5) at 32x32 (a batch of 16 keeps it quick)."""
    batch = make_batch(16, 32, seed=1)
    arch = ARCHS[0]
    res = compute_proxies([arch], ALL, "cifar10", batch, 0)
    for r in res:
        assert math.isfinite(r.score), r
        assert_same(r.score, alone(r.proxy, arch, batch, 0, build_nb201), r.proxy)


def test_engine_is_deterministic_and_leaves_global_state():
    builder = functools.partial(build_nb201, C=4, N=1)
    batch = make_batch(8, 8)
    names = ["synflow", "snip", "nwot", "zen", "swap"]
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    a = compute_proxies(ARCHS[:1], names, "cifar10", batch, 3, build_model=builder)
    assert torch.equal(rng, torch.get_rng_state())
    b = compute_proxies(ARCHS[:1], names, "cifar10", batch, 3, build_model=builder)
    assert [r.score for r in a] == [r.score for r in b]
    c = compute_proxies(ARCHS[:1], names, "cifar10", batch, 4, build_model=builder)
    # a new seed draws a new initialization
    assert [r.score for r in a] != [r.score for r in c]


def test_times_are_split_and_positive():
    builder = functools.partial(build_nb201, C=4, N=1)
    batch = make_batch(8, 8)
    seen = []
    res = compute_proxies(ARCHS, ["snip", "grad_norm", "jacov", "params"], "cifar10", batch, 0,
                          build_model=builder, on_arch=lambda arch, scores: seen.append((arch, len(scores))))
    assert seen == [(ARCHS[0], 4), (ARCHS[1], 4)]
    assert all(isinstance(r, ProxyScore) and r.seconds > 0 for r in res)
    table = score_table(res)
    assert set(table) == {"snip", "grad_norm", "jacov", "params"} and set(table["snip"]) == set(ARCHS)


def test_data_free_proxies_run_without_a_batch():
    builder = functools.partial(build_nb201, C=4, N=1)
    res = compute_proxies(ARCHS[:1], ["params", "flops", "synflow", "zen", "l2_norm"], "cifar10", None, 0,
                          build_model=builder)
    assert all(math.isfinite(r.score) for r in res)


def test_engine_rejects_bad_requests():
    with pytest.raises(ZcdbError, match="need a batch"):
        compute_proxies(ARCHS[:1], ["snip"], "cifar10", None, 0)
    with pytest.raises(ZcdbError, match="unknown proxy"):
        compute_proxies(ARCHS[:1], ["nope"], "cifar10", make_batch(4, 8), 0)
    with pytest.raises(ZcdbError, match="no proxy"):
        compute_proxies(ARCHS[:1], [], "cifar10", make_batch(4, 8), 0)


def test_results_go_to_the_store(store):
    builder = functools.partial(build_nb201, C=4, N=1)
    archs = ARCHS + ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    res = compute_proxies(archs, ["params", "synflow"], "cifar10", None, 0, build_model=builder)
    with store.importing("proxies:test", "zcdb.proxies", {"C": 4, "N": 1}) as imp:
        assert add_to_import(imp, res, "nb201", "cifar10", 0, 0, "none") == 6
    runs = {r["proxy"]: r["n"] for r in store.proxy_runs()}
    assert runs == {"params": 3, "synflow": 3}
    rows = store.conn.execute(
        "SELECT value, reason FROM proxy_scores WHERE proxy = 'synflow' ORDER BY value IS NULL").fetchall()
    assert rows[-1][0] is None and "no path" in rows[-1][1]
