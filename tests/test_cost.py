"""Exact params and FLOPs: formula == hooks, the released Suite-Zero values, the `zcdb cost` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zcdb.cli import main
from zcdb.errors import ZcdbError
from zcdb.counting import profile
from zcdb.spaces.nb201_cost import CONVENTIONS, count_cost
from zcdb.spaces.nb201_network import build_nb201
from zcdb.spaces import nb201

from .conftest import require_shared

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ALL_CONV3 = (3,) * 6
SHAPES = {"cifar10": (3, 32, 32), "cifar100": (3, 32, 32), "ImageNet16-120": (3, 16, 16)}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, nb201.NUM_ARCHS - 1), dataset=st.sampled_from(sorted(SHAPES)))
@example(index=nb201.index_of(ALL_CONV3), dataset="cifar10")
@example(index=nb201.index_of((4, 2, 1, 0, 4, 3)), dataset="cifar100")
@example(index=nb201.index_of((2, 4, 3, 1, 0, 4)), dataset="ImageNet16-120")
def test_formula_equals_hook_count(index, dataset):
    net = build_nb201(index, dataset)
    for convention in CONVENTIONS:
        assert count_cost(index, dataset, convention=convention) == profile(net, SHAPES[dataset], convention)


@pytest.mark.parametrize("C,N,side,classes", [(8, 1, 8, 10), (4, 2, 12, 3), (16, 5, 24, 1000)])
def test_formula_equals_hook_count_on_other_skeletons(C, N, side, classes):
    arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    net = build_nb201(arch, C=C, N=N, num_classes=classes)
    for convention in CONVENTIONS:
        assert count_cost(arch, C=C, N=N, num_classes=classes, input_shape=(3, side, side),
                          convention=convention) == profile(net, (3, side, side), convention)


def test_nb201_convention_matches_the_benchmark():
    # NAS-Bench-201 / NATS-Bench cost info of the largest and the smallest networks
    assert count_cost(ALL_CONV3, "cifar10", convention="nb201") == (1.531546, 220.11969)
    assert count_cost((0,) * 6, "cifar10", convention="nb201") == (0.073306, 7.78305)


def test_heads_and_inputs_change_as_expected():
    p10, f10 = count_cost(ALL_CONV3, "cifar10")
    p100, f100 = count_cost(ALL_CONV3, "cifar100")
    p120, f120 = count_cost(ALL_CONV3, "ImageNet16-120")
    assert round((p100 - p10) * 1e6) == 90 * 65  # 90 more classes, 64 weights + 1 bias each
    assert round((p120 - p10) * 1e6) == 110 * 65
    assert f120 < f10 / 3.9  # a quarter of the pixels


def test_profile_leaves_the_model_alone():
    net = build_nb201(ALL_CONV3).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    from torch import nn

    some = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)][::3]
    for m in some:  # a mixed model: every module's own flag comes back, not one flag for all
        m.eval()
    modes = [m.training for m in net.modules()]
    profile(net, (3, 32, 32))
    assert net.training and [m.training for m in net.modules()] == modes
    assert sum(not t for t in modes) == len(some) > 0
    assert all((before[k] == v).all() for k, v in net.state_dict().items())
    assert not any(m._forward_hooks for m in net.modules())


def test_every_architecture_costs_between_the_extremes():
    costs = [count_cost(i) for i in range(nb201.NUM_ARCHS)]
    assert max(costs) == count_cost(ALL_CONV3)
    assert min(c[0] for c in costs) == count_cost((0,) * 6)[0]


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_shape=(3, 30, 30)), "multiple of 4"),
    (dict(convention="thop"), "unknown cost convention"),
    (dict(dataset="mnist"), "unknown dataset"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ZcdbError, match=match):
        count_cost(ALL_CONV3, **kwargs)


@pytest.mark.shared
def test_equals_the_725_released_suite_zero_values():
    path = require_shared("naslib-zc", "zc_nasbench201_cifar10.json")
    data = json.loads(path.read_text())["cifar10"]
    assert len(data) == 725

    def decimals(v: float) -> int:
        text = repr(v)
        return len(text.split(".")[1]) if "." in text and "e" not in text else 0

    wrong = []
    for key, entry in data.items():
        ops = nb201.from_naslib(json.loads(key.replace("(", "[").replace(")", "]")))
        params, flops = count_cost(ops, "cifar10")
        want_p, want_f = entry["params"]["score"], entry["flops"]["score"]
        if round(params, decimals(want_p)) != want_p or round(flops, decimals(want_f)) != want_f:
            wrong.append((key, (params, flops), (want_p, want_f)))
    assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:3]}"


# --------------------------------------------------------------------------- CLI
def test_cli_cost_json_and_table():
    best = nb201.string_of(ALL_CONV3)
    r = CliRunner().invoke(main, ["cost", "--dataset", "cifar10", str(nb201.index_of(best)), best, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[0] == rows[1] == dict(index=nb201.index_of(best), arch=best, params=1.531546, flops=count_cost(best)[1])
    r = CliRunner().invoke(main, ["cost", "--dataset", "cifar10", "--convention", "nb201", best])
    assert r.exit_code == 0 and "1.531546" in r.output and "220.119690" in r.output


@pytest.mark.parametrize("args,match", [
    (["cost", "--dataset", "cifar10", "|bad|"], "malformed nb201"),
    (["cost", "--dataset", "cifar10", "15625"], "out of range"),
    (["cost", "--dataset", "mnist", "0"], "unknown dataset"),
    (["cost", "--space", "nb999", "--dataset", "cifar10", "0"], "unknown space"),
])
def test_cli_cost_errors_are_one_line(args, match):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert match in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_module_does_not_import_torch():
    code = "import sys, zcdb, zcdb.cli, zcdb.datasets; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
