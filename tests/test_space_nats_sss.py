"""The NATS-Bench size space: codec, official index order, network, exact costs."""

from __future__ import annotations

import bz2
import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zcdb.errors import UnknownArch, UnknownDataset
from zcdb.spaces import nats_sss
from zcdb.spaces.nats_sss_cost import DATASETS, cost_table, count_cost

from .conftest import require_shared

SSS_DIR = ("nats-bench", "NATS-sss-v1_0-50262-simple")
channel_tuples = st.tuples(*[st.sampled_from(nats_sss.CHANNELS)] * nats_sss.NUM_LAYERS)
indices = st.integers(0, nats_sss.NUM_ARCHS - 1)


# --------------------------------------------------------------------------- codec
@given(channel_tuples)
def test_string_round_trip(channels):
    s = nats_sss.format_arch(channels)
    assert nats_sss.parse(s) == channels
    assert nats_sss.string_of(s) == s == nats_sss.canonical(s)
    assert nats_sss.string_of(channels) == s


@given(indices)
def test_index_string_tuple_round_trip(i):
    s = nats_sss.string_of(i)
    channels = nats_sss.channels_of(i)
    assert nats_sss.index_of(s) == nats_sss.index_of(channels) == nats_sss.index_of(np.int64(i)) == i
    assert nats_sss.channels_of(s) == channels
    assert nats_sss.from_choices(nats_sss.choices_of(i)) == channels
    assert tuple(nats_sss.ops_matrix()[i]) == nats_sss.choices_of(i)
    assert tuple(nats_sss.channels_matrix()[i]) == channels
    assert nats_sss.all_strings()[i] == s


def test_index_formula_by_hand():
    assert nats_sss.string_of(0) == "8:8:8:8:8"
    assert nats_sss.string_of(1) == "8:8:8:8:16"
    assert nats_sss.string_of(8) == "8:8:8:16:8"
    assert nats_sss.index_of("8:8:40:32:40") == 284  # 4*64 + 3*8 + 4
    assert nats_sss.string_of(nats_sss.NUM_ARCHS - 1) == "64:64:64:64:64"


def test_matrices():
    m = nats_sss.ops_matrix()
    assert m.shape == (nats_sss.NUM_ARCHS, nats_sss.NUM_LAYERS) and m.dtype == np.int8
    assert not m.flags.writeable
    assert len(set(map(tuple, m.tolist()))) == nats_sss.NUM_ARCHS
    assert (nats_sss.channels_matrix() == (m.astype(np.int16) + 1) * 8).all()


@pytest.mark.parametrize("bad", [
    "", "8:16", "8:8:8:8", "8:8:8:8:8:8", "65:64:64:64:64", "0:8:8:8:8", "72:8:8:8:8", "7:8:8:8:8",
    "08:8:8:8:8", "+8:8:8:8:8", "-8:8:8:8:8", " 8:8:8:8:8", "8:8:8:8:8 ", "8:8:8:8:8\n", "8,8,8,8,8",
    "8 :8:8:8:8", "8::8:8:8", "²:8:8:8:8", "٨:8:8:8:8", "８:8:8:8:8", "8.0:8:8:8:8", "0x8:8:8:8:8",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
])
def test_bad_strings(bad):
    with pytest.raises(UnknownArch, match="64:64:64:64:64") as info:
        nats_sss.parse(bad)
    assert "\n" not in str(info.value).replace(repr(bad), "")
    with pytest.raises(UnknownArch):
        nats_sss.index_of(bad)


@pytest.mark.parametrize("bad", [
    -1, nats_sss.NUM_ARCHS, np.int64(nats_sss.NUM_ARCHS), True, False, np.bool_(True), 3.0, np.float64(1.0), None,
    b"8:8:8:8:8", (8, 8, 8, 8), (8, 8, 8, 8, 8, 8), (8.0, 8, 8, 8, 8), ("8", 8, 8, 8, 8), (True, 8, 8, 8, 8),
    (9, 8, 8, 8, 8), (0, 0, 0, 0, 0), {8, 16}, object(),
])
def test_bad_indices_and_tuples(bad):
    with pytest.raises(UnknownArch) as info:
        nats_sss.index_of(bad)
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownArch):
        nats_sss.string_of(bad)


@pytest.mark.parametrize("bad", [(0, 0, 0, 0, 8), (0, 0, 0, 0), (0.0, 0, 0, 0, 0), (True, 0, 0, 0, 0), "00000"])
def test_bad_choices(bad):
    with pytest.raises(UnknownArch):
        nats_sss.from_choices(bad)


def test_sample_is_seeded_and_distinct():
    a = nats_sss.sample(100, seed=3)
    assert (a == nats_sss.sample(100, seed=3)).all() and len(set(a.tolist())) == 100
    assert not (a == nats_sss.sample(100, seed=4)).all()
    assert a.min() >= 0 and a.max() < nats_sss.NUM_ARCHS and a.dtype == np.int64
    assert len(nats_sss.sample(nats_sss.NUM_ARCHS + 5, seed=0, replace=True)) == nats_sss.NUM_ARCHS + 5
    with pytest.raises(UnknownArch):
        nats_sss.sample(nats_sss.NUM_ARCHS + 1, seed=0)
    with pytest.raises(UnknownArch):
        nats_sss.sample(-1, seed=0)


@given(indices)
def test_neighbours_differ_in_exactly_one_layer(i):
    mine = nats_sss.channels_of(i)
    nbrs = nats_sss.neighbours(i)
    assert len(nbrs) == len(set(nbrs)) == nats_sss.NUM_LAYERS * (nats_sss.NUM_CHOICES - 1)
    seen = []
    for j in nbrs:
        other = nats_sss.channels_of(j)
        diff = [k for k in range(nats_sss.NUM_LAYERS) if other[k] != mine[k]]
        assert len(diff) == 1
        seen.append((diff[0], other[diff[0]]))
    assert seen == sorted(seen)  # layer by layer, channels ascending
    assert i in nats_sss.neighbours(nbrs[0])


# --------------------------------------------------------------------------- real files
def _load_bz2_pickle(path):
    from zcdb.tabular import _safe_pickle

    return _safe_pickle.load(io.BytesIO(bz2.decompress(path.read_bytes())))


@pytest.mark.shared
def test_index_order_equals_the_official_meta_file():
    meta = _load_bz2_pickle(require_shared(*SSS_DIR, "meta.pickle.pbz2"))
    assert meta["total_archs"] == nats_sss.NUM_ARCHS
    assert tuple(meta["meta_archs"]) == nats_sss.all_strings()
    assert all(nats_sss.index_of(s) == i for i, s in enumerate(meta["meta_archs"]))


def _official_costs():
    """``{(index, dataset): (params, flop)}`` of every run in the three real records, checked per run."""
    out = {}
    for index in (0, 11, 284):
        record = _load_bz2_pickle(require_shared(*SSS_DIR, f"{index:06d}.pickle.pbz2"))
        assert set(record) == {"01", "12", "90"}
        for hp, state in record.items():
            assert state["arch_index"] == index and state["arch_str"] == nats_sss.string_of(index)
            for (dataset, seed), run in state["all_results"].items():
                assert run["arch_config"]["channels"] == nats_sss.string_of(index)
                costs = (float(run["params"]), float(run["flop"]))
                assert out.setdefault((index, dataset), costs) == costs  # the same for every seed and hp
    assert len(out) == 3 * len(DATASETS)
    return out


@pytest.mark.shared
def test_costs_equal_the_official_files():
    for (index, dataset), (params, flops) in _official_costs().items():
        assert count_cost(index, dataset) == (params, flops), (index, dataset)
        assert count_cost(nats_sss.string_of(index), dataset) == (params, flops)
        table_params, table_flops = cost_table(dataset)
        assert (table_params[index], table_flops[index]) == (params, flops)


@pytest.mark.shared
def test_costs_equal_the_official_api():
    nats_bench = pytest.importorskip("nats_bench")
    api = nats_bench.create(str(require_shared(*SSS_DIR)), "sss", fast_mode=True, verbose=False)
    for index in (0, 11, 284):
        for dataset in DATASETS:
            for hp in ("01", "12", "90"):
                info = api.get_cost_info(index, dataset, hp=hp)
                params, flops = count_cost(index, dataset)
                # the API averages the seeds' values, so compare to the files' printed precision
                assert (round(float(info["params"]), 6), round(float(info["flops"]), 6)) == (params, flops)


# --------------------------------------------------------------------------- costs by formula
def test_cost_by_hand_and_datasets():
    assert count_cost("8:8:8:8:8", "cifar10") == (0.011714, 4.481114)
    assert count_cost("8:8:8:8:8", "cifar10-valid") == count_cost("8:8:8:8:8", "cifar10")
    p10, f10 = count_cost("64:64:64:64:64", "cifar10")
    p100, f100 = count_cost("64:64:64:64:64", "cifar100")
    p120, f120 = count_cost("64:64:64:64:64", "ImageNet16-120")
    assert round((p100 - p10) * 1e6) == 90 * 65 and round((f100 - f10) * 1e6) == 90 * 65
    assert round((p120 - p10) * 1e6) == 110 * 65
    assert (round(f120 * 1e6) - 120 * 65) * 4 == round(f10 * 1e6) - 10 * 65  # a quarter of the pixels
    with pytest.raises(UnknownDataset, match="cifar10-valid"):
        count_cost(0, "digits")
    with pytest.raises(UnknownArch):
        count_cost("8:8:8:8", "cifar10")


def test_cost_table_is_the_formula_everywhere():
    params, flops = cost_table("cifar100")
    assert params.shape == flops.shape == (nats_sss.NUM_ARCHS,)
    for i in nats_sss.sample(50, seed=1).tolist() + [0, nats_sss.NUM_ARCHS - 1]:
        assert (params[i], flops[i]) == count_cost(i, "cifar100")
    assert params.argmin() == 0 and params.argmax() == nats_sss.NUM_ARCHS - 1


def test_cost_module_does_not_import_torch():
    code = "import sys, zcdb.spaces.nats_sss, zcdb.spaces.nats_sss_cost; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- network
SIDES = {"cifar10-valid": 32, "cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=indices, dataset=st.sampled_from(sorted(DATASETS)))
@example(index=0, dataset="cifar10")
@example(index=284, dataset="ImageNet16-120")
@example(index=nats_sss.index_of("64:8:64:8:64"), dataset="cifar100")
def test_network_params_and_flops_equal_the_formula(one_torch_thread, index, dataset):
    from zcdb.counting import profile
    from zcdb.spaces.nats_sss_network import build_nats_sss

    net = build_nats_sss(index, dataset)
    assert profile(net, (3, SIDES[dataset], SIDES[dataset]), convention="nb201") == count_cost(index, dataset)


@pytest.mark.parametrize("arch,dataset,side,classes", [
    ("8:8:8:8:8", "cifar10", 32, 10), ("8:8:8:16:32", "cifar10-valid", 32, 10),
    ("8:8:40:32:40", "cifar100", 32, 100), ("64:16:56:8:24", "ImageNet16-120", 16, 120),
])
def test_forward_returns_logits(one_torch_thread, arch, dataset, side, classes):
    import torch

    from zcdb.spaces.nats_sss_network import build_nats_sss

    torch.manual_seed(0)
    net = build_nats_sss(arch, dataset).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 3, side, side))
    assert y.shape == (2, classes) and torch.isfinite(y).all()
    assert net.channels == nats_sss.channels_of(arch)


def test_network_layers_follow_the_string(one_torch_thread):
    from torch import nn

    from zcdb.spaces.nats_sss_network import ChannelProjection, build_nats_sss

    net = build_nats_sss("16:24:32:40:48", "cifar10")
    assert net.stem[0].out_channels == 16
    widths = [(cell.conv_a.op[1].in_channels, cell.conv_b.op[1].out_channels) if hasattr(cell, "conv_a")
              else (cell.c_in, cell.c_out) for cell in net.cells]
    assert widths == [(16, 16), (16, 24), (24, 32), (32, 40), (40, 48)]
    assert net.classifier.in_features == 48
    # the skip edge (layer 3) projects only where a cell changes width
    assert isinstance(net.cells[0].layers[3], nn.Identity)
    assert isinstance(net.cells[2].layers[3], ChannelProjection)
    # official module names: state dict keys of DynamicShapeTinyNet
    keys = set(net.state_dict())
    for key in ("stem.0.weight", "cells.0.layers.0.op.1.weight", "cells.1.conv_a.op.2.running_mean",
                "cells.1.downsample.1.weight", "cells.2.layers.3.conv.weight", "cells.2.layers.3.bn.bias",
                "lastact.0.weight", "classifier.bias"):
        assert key in keys


def test_network_bad_input():
    from zcdb.spaces.nats_sss_network import build_nats_sss

    with pytest.raises(UnknownArch):
        build_nats_sss("8:8:8:8:9")
    with pytest.raises(UnknownDataset):
        build_nats_sss(0, "cifar11")
