"""The NAS-Bench-201 network: shapes, the official skeleton, every way to name an architecture."""

from __future__ import annotations

import pytest
import torch

from zcdb.errors import UnknownArch, UnknownDataset
from zcdb.spaces.nb201_cost import count_cost
from zcdb.spaces.nb201_network import NB201Network, build_nb201
from zcdb.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NONE_ONLY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize("dataset,classes,side", [("cifar10", 10, 32), ("cifar100", 100, 32),
                                                  ("ImageNet16-120", 120, 16)])
def test_logits_shape(dataset, classes, side):
    net = build_nb201(BEST, dataset)
    out = net(torch.randn(2, 3, side, side))
    assert isinstance(out, torch.Tensor)  # logits only, not the official (features, logits)
    assert out.shape == (2, classes)
    assert torch.isfinite(out).all()


def test_none_only_arch_runs_forward_and_backward():
    net = build_nb201(NONE_ONLY)
    out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    out.sum().backward()  # the dead cells still carry a graph: proxies need gradients
    assert net.classifier.weight.grad is not None


def test_string_index_and_ops_tuple_build_the_same_network():
    i = nb201.index_of(BEST)
    nets = [build_nb201(a) for a in (BEST, i, nb201.ops_of(BEST), list(nb201.ops_of(BEST)))]
    shapes = [{k: v.shape for k, v in n.state_dict().items()} for n in nets]
    assert all(s == shapes[0] for s in shapes)
    assert {n.ops for n in nets} == {nb201.ops_of(BEST)}


def test_official_skeleton():
    net = build_nb201(BEST)
    assert isinstance(net, NB201Network)
    assert len(net.cells) == 3 * 5 + 2  # 5 cells per stage, 2 residual reductions
    stem_conv, stem_bn = net.stem
    assert stem_conv.out_channels == 16 and stem_conv.bias is None and stem_bn.affine
    red = net.cells[5]
    assert red.conv_a.op[1].stride == (2, 2) and red.conv_a.op[1].out_channels == 32
    assert isinstance(red.downsample[0], torch.nn.AvgPool2d) and red.downsample[1].kernel_size == (1, 1)
    assert net.classifier.in_features == 64
    # every BatchNorm affine and tracking statistics, as in the official inference network
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(b.affine and b.track_running_stats for b in bns)
    pools = [m for m in net.cells[0].layers if isinstance(m, torch.nn.AvgPool2d)]
    assert all(not p.count_include_pad for p in pools)


def test_state_dict_keys_follow_the_official_network():
    keys = set(build_nb201(BEST).state_dict())
    for k in ("stem.0.weight", "stem.1.running_mean", "cells.0.layers.0.op.1.weight",
              "cells.5.conv_a.op.1.weight", "cells.5.downsample.1.weight", "lastact.0.weight",
              "classifier.weight", "classifier.bias"):
        assert k in keys


def test_cell_is_exact_sum_over_edges():
    # skip on 0->1, none elsewhere except 1->3 skip: node3 = node1 = input
    ops = nb201.parse("|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    cell = build_nb201(ops).cells[0]
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(cell(x), x)
    ops = nb201.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
    cell = build_nb201(ops).cells[0]
    assert torch.allclose(cell(x), 4 * x)  # n1 = x, n2 = 2x, n3 = x + x + 2x


def test_small_skeleton_and_custom_head():
    net = build_nb201(BEST, C=8, N=1, num_classes=7)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 7)
    params = sum(p.numel() for p in net.parameters()) / 1e6
    assert params == count_cost(BEST, C=8, N=1, num_classes=7)[0]


def test_bad_inputs_raise_zcdb_errors():
    with pytest.raises(UnknownArch):
        build_nb201("|conv~0|")
    with pytest.raises(UnknownArch):
        build_nb201(15625)
    with pytest.raises(UnknownDataset, match="known datasets are cifar10"):
        build_nb201(BEST, "mnist")
