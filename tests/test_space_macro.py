"""The NAS-Bench-Macro space: codec, canonical form, network and exact costs."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from zcdb.errors import UnknownArch, UnknownDataset, ZcdbError
from zcdb.spaces import macro
from zcdb.spaces import macro_network as mn
from zcdb.spaces import macro_cost as mc

from .conftest import recompute_shipped_scores, require_shared

codes = st.text(alphabet="012", min_size=8, max_size=8)
indices = st.integers(0, macro.NUM_ARCHS - 1)
ops_tuples = st.tuples(*[st.integers(0, 2)] * macro.NUM_LAYERS)


# ---------------------------------------------------------------- codec
@given(codes)
def test_code_round_trip(code):
    ops = macro.parse(code)
    assert macro.format_arch(ops) == code
    assert macro.string_of(code) == code
    assert macro.index_of(code) == int(code, 3)
    assert macro.string_of(macro.index_of(code)) == code


@given(indices)
def test_index_round_trip(i):
    ops = macro.ops_of(i)
    assert macro.index_of(ops) == i
    assert macro.index_of(list(ops)) == i
    assert macro.index_of(np.array(ops, dtype=np.int64)) == i
    assert macro.index_of(np.int64(i)) == i
    assert macro.index_of(macro.string_of(i)) == i
    assert tuple(macro.ops_matrix()[i]) == ops


@given(ops_tuples)
def test_tuple_round_trip(ops):
    assert macro.parse(macro.format_arch(ops)) == ops
    assert macro.ops_of(macro.index_of(ops)) == ops


def test_index_is_sorted_code_order():
    strings = macro.all_strings()
    assert len(strings) == len(set(strings)) == macro.NUM_ARCHS == 6561
    assert list(strings) == sorted(strings) == ["".join(p) for p in itertools.product("012", repeat=8)]
    assert (macro.index_of("00000000"), macro.index_of("00000010"), macro.index_of("22222222")) == (0, 3, 6560)


def test_ops_matrix():
    m = macro.ops_matrix()
    assert m.shape == (6561, 8) and m.dtype == np.int8 and not m.flags.writeable
    assert [macro.format_arch(row) for row in m[[0, 1234, 6560]]] == [macro.string_of(i) for i in (0, 1234, 6560)]


def test_space_constants():
    assert macro.NAME == "macro"
    assert macro.CHOICES == (("id", "ir_3x3_t3", "ir_5x5_t6"),) * 8
    assert macro.REDUCTION_LAYERS == (0, 2, 5)


@pytest.mark.parametrize("bad", [
    "", "0201210", "020121000", "0201210x", "0201210\u00b2", "\uff10\uff12\uff10\uff11\uff12\uff11\uff10\uff10",
    "0201\u0662100", "0201 100", " 02012100", "02012100\n", "02012103", "-2012100", b"02012100",
    True, False, np.bool_(True), (True,) * 8, (False, True) * 4, (0.0,) * 8, (0,) * 7 + (1.0,), ("0",) * 8,
    (0,) * 7, (0,) * 9, (0,) * 7 + (3,), (0,) * 7 + (-1,), -1, 6561, 1.5, 3.0, np.float64(3), None, object(),
])
def test_bad_input_raises_one_line(bad):
    with pytest.raises(UnknownArch) as exc:
        macro.index_of(bad)
    assert "\n" not in str(exc.value)
    assert isinstance(exc.value, ZcdbError)


@pytest.mark.parametrize("bad", ["0201210", "0201210\u00b2", "0201 100"])
def test_malformed_code_message_names_the_fix(bad):
    with pytest.raises(UnknownArch, match=r"expected 8 digits, each 0 \(id\), 1 \(ir_3x3_t3\), 2 \(ir_5x5_t6\)"):
        macro.parse(bad)


@pytest.mark.parametrize("bad", [(True,) * 8, (0.0,) * 8, ("0",) * 8, "00000000", (0,) * 7])
def test_format_rejects_non_integer_tuples(bad):
    with pytest.raises(UnknownArch):
        macro.format_arch(bad)


@given(st.text(max_size=12))
def test_parse_accepts_exactly_the_codes(text):
    valid = len(text) == 8 and set(text) <= set("012")
    try:
        macro.parse(text)
    except UnknownArch:
        assert not valid
    else:
        assert valid


# ---------------------------------------------------------------- sampling & neighbours
def test_sample_is_seeded_and_distinct():
    a = macro.sample(100, seed=3)
    assert a.tolist() == macro.sample(100, seed=3).tolist() != macro.sample(100, seed=4).tolist()
    assert len(set(a.tolist())) == 100 and a.min() >= 0 and a.max() < 6561
    assert sorted(macro.sample(6561, seed=0).tolist()) == list(range(6561))
    with pytest.raises(UnknownArch):
        macro.sample(6562, seed=0)


@given(indices)
def test_neighbours_are_all_hamming_one_codes(i):
    code = macro.string_of(i)
    expected = {code[:k] + d + code[k + 1:] for k in range(8) for d in "012" if d != code[k]}
    got = [macro.string_of(j) for j in macro.neighbours(code)]
    assert len(got) == 16 and set(got) == expected
    assert all(i in macro.neighbours(j) for j in macro.neighbours(i))


def test_neighbour_order():
    assert [macro.string_of(j) for j in macro.neighbours("00000000")[:4]] == ["10000000", "20000000",
                                                                                "01000000", "02000000"]
    assert macro.neighbour_table().shape == (6561, 16)


# ---------------------------------------------------------------- canonical form
def test_canonical_by_hand():
    # stages: positions 0-1 | 2-4 | 5-7; each stage's first digit stays, its other 0s move to its end
    assert macro.canonical("12102012") == "12120012"
    assert macro.canonical("00001001") == "00010010"
    assert macro.canonical("01020102") == "01020120"
    assert macro.canonical("00000000") == "00000000"


@given(codes)
def test_canonical_is_a_projection(code):
    c = macro.canonical(code)
    assert macro.canonical(c) == c
    assert c[0] == code[0] and c[2] == code[2] and c[5] == code[5]  # stage-first layers stay put
    for a, b in ((0, 2), (2, 5), (5, 8)):
        blocks = [d for d in code[a + 1:b] if d != "0"]
        assert c[a + 1:b] == "".join(blocks).ljust(b - a - 1, "0")


@given(codes, st.sampled_from([(3, 4), (6, 7)]))
def test_moving_an_inner_identity_keeps_the_class(code, pair):
    # swapping an identity with its neighbour inside a stage (never a stage's first layer)
    i, j = pair
    if "0" not in (code[i], code[j]):
        return
    s = list(code)
    s[i], s[j] = s[j], s[i]
    assert macro.canonical("".join(s)) == macro.canonical(code)


def test_what_changes_the_class():
    assert macro.canonical("01000000") != macro.canonical("10000000")  # id at a stage's first layer
    assert macro.canonical("00012000") != macro.canonical("00021000")  # the order of two blocks


def test_canonical_class_count():
    table = macro.canonical_table()
    assert len(set(table.tolist())) == 3969 == 9 * 21 * 21
    assert all(macro.string_of(int(table[i])) == macro.canonical(i) for i in (0, 100, 4321, 6560))


# ---------------------------------------------------------------- network
def _inner_blocks(code: str) -> list[int]:
    """Layer positions that hold parameters: each stage's first layer and every non-identity."""
    return [k for k, d in enumerate(code) if d != "0" or k in macro.REDUCTION_LAYERS]


def _map_weights(src, dst, src_code: str, dst_code: str) -> None:
    pairs = list(zip(_inner_blocks(src_code), _inner_blocks(dst_code)))
    assert all(src_code[a] == dst_code[b] for a, b in pairs)
    for name in ("stem", "out", "classifier"):
        getattr(dst, name).load_state_dict(getattr(src, name).state_dict())
    for a, b in pairs:
        dst.features[b].load_state_dict(src.features[a].state_dict())


def test_macro_module_does_not_import_torch():
    probe = "import sys, zcdb.spaces.macro as m; m.canonical('12102012'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_layer_strides_and_channels():
    specs = mn.layer_specs()
    assert [(s.c_in, s.c_out, s.stride, s.side_in) for s in specs] == [
        (32, 64, 2, 32), (64, 64, 1, 16),
        (64, 128, 2, 16), (128, 128, 1, 8), (128, 128, 1, 8),
        (128, 256, 2, 8), (256, 256, 1, 4), (256, 256, 1, 4),
    ]


@pytest.mark.parametrize("code", ["12102012", "00201021", "20001001", "01010101"])
def test_inner_identities_compute_the_same_function(code, one_torch_thread):
    canon = macro.canonical(code)
    assert canon != code
    torch.manual_seed(0)
    a = mn.build_macro(code)
    torch.manual_seed(0)
    b = mn.build_macro(canon)
    # identities hold no parameters, so the same seed even gives the same initial weights
    sa, sb = a.state_dict(), b.state_dict()
    assert len(sa) == len(sb)
    ref = type(b)(b.ops)
    _map_weights(a, ref, code, canon)
    assert all(torch.equal(ref.state_dict()[k], v) for k, v in sb.items())
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(a.eval()(x), b.eval()(x))
        assert torch.equal(a.train()(x), b.train()(x))  # batch statistics too


def test_identity_at_a_stage_start_is_a_strided_projection(one_torch_thread):
    net = mn.build_macro("00000000")
    for k in range(8):
        block = net.features[k]
        if k in macro.REDUCTION_LAYERS:
            conv = block.downsample[0]
            assert (conv.kernel_size, conv.stride, conv.out_channels) == ((1, 1), (2, 2), 2 * conv.in_channels)
        else:
            assert block.downsample is None and not list(block.parameters())
    # id-then-block and block-then-id at a stage start are different families
    assert mn.count_cost("01000000") != mn.count_cost("10000000")


def test_block_order_matters(one_torch_thread):
    a, b = "00012000", "00021000"  # stage two: id at its first layer, then the two blocks
    torch.manual_seed(0)
    net_a = mn.build_macro(a)
    net_b = mn.build_macro(b)
    for name in ("stem", "out", "classifier"):
        getattr(net_b, name).load_state_dict(getattr(net_a, name).state_dict())
    for k in (0, 1, 2, 5):
        net_b.features[k].load_state_dict(net_a.features[k].state_dict())
    net_b.features[3].load_state_dict(net_a.features[4].state_dict())  # the same two blocks, swapped
    net_b.features[4].load_state_dict(net_a.features[3].state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert not torch.allclose(net_a.eval()(x), net_b.eval()(x))


def test_forward_shapes(one_torch_thread):
    x = torch.zeros(2, 3, 32, 32)
    with torch.no_grad():
        assert mn.build_macro("02012100")(x).shape == (2, 10)
        assert mn.build_macro(1234, dataset="cifar100").eval()(x).shape == (2, 100)


@pytest.mark.parametrize("dataset", ["ImageNet16-120", "digits"])
def test_other_datasets_have_no_network(dataset):
    for call in (mn.build_macro, mn.count_cost):
        with pytest.raises(ZcdbError, match=f"space macro has no network for dataset {dataset}"):
            call("02012100", dataset=dataset)


def test_unknown_dataset():
    with pytest.raises(UnknownDataset):
        mn.count_cost("02012100", dataset="mnist")


def _hooked_counts(net) -> tuple[int, int]:
    """All parameters; conv MACs (k*k*c_in*c_out/groups per output position) and linear in*out."""
    flops = 0

    def hook(m, inputs, y):
        nonlocal flops
        if isinstance(m, torch.nn.Conv2d):
            kh, kw = m.kernel_size
            flops += kh * kw * m.in_channels * m.out_channels // m.groups * y.shape[2] * y.shape[3]
        else:
            flops += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return sum(p.numel() for p in net.parameters()), flops


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_formula_equals_the_built_network(dataset, one_torch_thread):
    from zcdb.counting import profile

    archs = ["00000000", "11111111", "22222222", *macro.sample(9, seed=5).tolist()]
    num_classes = 10 if dataset == "cifar10" else 100
    for arch in archs:
        net = mn.build_macro(arch, dataset)
        assert _hooked_counts(net) == mn.count_cost(arch, dataset)
        # zcdb's "nb201" convention also counts the classifier's bias, one FLOP per class
        params_m, mflops = profile(net, (3, 32, 32), convention="nb201")
        params, flops = mn.count_cost(arch, dataset)
        assert round(params_m * 1e6) == params and round(mflops * 1e6) == flops + num_classes


def test_cost_table_is_fast_and_agrees():
    mc._cost_table.cache_clear()
    mc._prices.cache_clear()
    start = time.perf_counter()
    params, flops = mn.cost_table()
    assert time.perf_counter() - start < 0.5
    assert params.shape == flops.shape == (6561,) and params.dtype == np.int64
    for i in (0, 77, 3000, 6560):
        assert mn.count_cost(i) == (params[i], flops[i])
    assert mn.count_cost("02012100") == (890666, 47327744)


# ---------------------------------------------------------------- the released file
@pytest.fixture(scope="module")
def released():
    path = require_shared("nas-bench-macro", "nas-bench-macro_cifar10.json")
    with open(path) as fh:
        return json.load(fh)


@pytest.mark.shared
def test_costs_equal_the_file_for_all(released):
    assert len(released) == 6561
    idx = np.array([macro.index_of(code) for code in released])
    assert sorted(idx.tolist()) == list(range(6561))
    params, flops = mn.cost_table("cifar10")
    file_params = np.array([rec["params"] for rec in released.values()])
    file_flops = np.array([rec["flops"] for rec in released.values()])
    assert np.array_equal(params[idx], file_params)
    assert np.array_equal(flops[idx], file_flops)
    for code in list(released)[::997]:
        assert mn.count_cost(code) == (released[code]["params"], released[code]["flops"])


@pytest.mark.shared
def test_built_network_params_equal_the_file(released, one_torch_thread):
    for i in macro.sample(20, seed=12).tolist():
        code = macro.string_of(i)
        net = mn.build_macro(code)
        assert sum(p.numel() for p in net.parameters()) == released[code]["params"]


@pytest.mark.shared
def test_file_records_are_one_per_canonical_class(released):
    # The authors trained each canonical code once and copied its record to its class:
    # records are equal within a class and differ across classes.
    by_class: dict[str, set[str]] = {}
    for code, rec in released.items():
        by_class.setdefault(macro.canonical(code), set()).add(json.dumps(rec, sort_keys=True))
    assert len(by_class) == 3969
    assert all(len(recs) == 1 for recs in by_class.values())
    assert len({next(iter(recs)) for recs in by_class.values()}) == 3969


def test_this_code_computes_the_shipped_macro_scores_bit_for_bit(store, one_torch_thread):
    """`macro-cifar10-proxies` was computed with one torch thread by this code, one member per class."""
    from zcdb.spaces import get_space

    scored = recompute_shipped_scores(store, "macro-cifar10-proxies", "macro", 64)
    reps = get_space("macro").representatives()
    # complete: one member per class, its smallest index, for all 3,969 classes
    assert sorted(scored) == sorted(set(reps.tolist())) and len(scored) == 3969
