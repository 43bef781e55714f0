"""TransNAS-Bench-101's two spaces: strings, NASLib tuples, enumeration, canonical form (numerically), moves."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zcdb.errors import MissingCapability, UnknownArch, UnknownDataset
from zcdb.spaces import get_space, nb201, tnb101_macro as mac, tnb101_micro as mic, tnb101_tasks

MICRO, MACRO = mic.SPACE, mac.SPACE
micro_ops = st.tuples(*[st.integers(0, 3)] * 6)
macro_codes = st.lists(st.integers(1, 4), min_size=4, max_size=6).filter(mac._valid_codes)


# ---------------------------------------------------------------- micro: strings, index, NASLib
@given(micro_ops)
def test_micro_round_trips(ops):
    s = mic.format_arch(ops)
    assert s == "64-41414-{}_{}{}_{}{}{}".format(*ops)  # TransNAS-Bench's string, digits in tuple order
    assert MICRO.parse(s) == ops and MICRO.ops_of(s) == ops
    i = MICRO.index_of(s)
    assert i == int("".join(map(str, ops)), 4) and MICRO.index_of(ops) == i and MICRO.string_of(i) == s
    assert MICRO.from_naslib(list(ops)) == ops  # NASLib's tuple is the ops tuple (module docstring)


@pytest.mark.parametrize("bad", ["64-41414-1_02_334", "64-41414-1_02_33", "64-41414-102333", " 64-41414-1_02_333",
                                 "64-4141-1_02_333", "64-41414-1_02_333-basic", "64-41414-１_02_333", ""])
def test_micro_malformed_strings(bad):
    with pytest.raises(UnknownArch, match="64-41414-A_BC_DEF") as e:
        MICRO.parse(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", [(0, 1, 2, 3, 0), (0, 1, 2, 3, 0, 4), (0, 1, 2, 3, 0, 1.0), (True,) * 6, "012301"])
def test_micro_bad_tuples(bad):
    with pytest.raises(UnknownArch):
        MICRO.index_of(bad)
    with pytest.raises(UnknownArch):
        MICRO.from_naslib(bad)


def test_micro_examples_and_capabilities():
    assert MICRO.string_of(0) == "64-41414-0_00_000" and MICRO.string_of(4095) == "64-41414-3_33_333"
    # TransNAS-Bench's README example: node1 = skip(node0), node2 = none(node0) + conv1x1(node1), node3 = 3 x conv3x3
    assert MICRO.parse("64-41414-1_02_333") == (1, 0, 2, 3, 3, 3)
    assert MICRO.product and len(MICRO.neighbours(0)) == 18
    with pytest.raises(MissingCapability, match="space tnb101-micro has no network builder"):
        MICRO.network(0, "class_scene")


# ---------------------------------------------------------------- macro: the 3,256 skeletons
def test_macro_enumeration_counts_and_order():
    strings = MACRO.all_strings()
    assert len(strings) == len(set(strings)) == MACRO.size == 3256
    by_len = {n: sum(len(s) == n + 9 for s in strings) for n in (4, 5, 6)}
    assert by_len == {4: 210, 5: 750, 6: 2296}
    # the count from the constraints, by formula (module docstring)
    formula = sum(sum(math.comb(n, p) for p in range(1, min(4, n) + 1)) * sum(math.comb(n, q) for q in (1, 2, 3))
                  for n in (4, 5, 6))
    assert formula == 3256
    brute = [c for n in (4, 5, 6) for c in itertools.product((1, 2, 3, 4), repeat=n)
             if 1 <= sum(x in (3, 4) for x in c) <= 4 and 1 <= sum(x in (2, 4) for x in c) <= 3]
    assert strings == tuple("64-" + "".join(map(str, c)) + "-basic" for c in brute)
    assert (strings[0], strings[-1]) == ("64-1114-basic", "64-444311-basic")
    assert MACRO.ops_of("64-1234-basic") == (0, 1, 2, 3, 4, 4)


@given(macro_codes)
def test_macro_round_trips(codes):
    s = "64-" + "".join(map(str, codes)) + "-basic"
    ops = MACRO.parse(s)
    i = MACRO.index_of(s)
    assert MACRO.format_arch(ops) == s and MACRO.string_of(i) == s and MACRO.index_of(ops) == i
    assert MACRO.ops_of(i) == ops and mac.to_naslib(i) == tuple(codes) + (0,) * (6 - len(codes))
    assert MACRO.from_naslib(codes) == ops == MACRO.from_naslib(mac.to_naslib(i))  # released (unpadded) and padded


@pytest.mark.parametrize("bad,match", [
    ("64-1111-basic", "0 downsampling modules"), ("64-3333-basic", "0 channel-doubling modules"),
    ("64-444444-basic", "6 downsampling"), ("64-2222-basic", "0 downsampling"), ("64-111-basic", "malformed"),
    ("64-1234567-basic", "malformed"), ("64-1234-basi", "malformed"), ("64-1250-basic", "malformed"),
    ("64-41414-1_02_333", "malformed"),
])
def test_macro_bad_strings(bad, match):
    with pytest.raises(UnknownArch, match=match) as e:
        MACRO.parse(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", [(2, 3, 1), (2, 3, 1, 4, 1, 1, 1), (2, 0, 1, 4), (2, 3, 1, 5), (0, 2, 3, 1, 4),
                                 (1, 1, 1, 1), (2.0, 3, 1, 4), (True, 3, 1, 4)])
def test_macro_bad_naslib_tuples(bad):
    with pytest.raises(UnknownArch, match="tnb101-macro") as e:
        MACRO.from_naslib(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", [(0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 0), (0, 1, 4, 3, 4, 4), (0, 0, 0, 0, 4, 4),
                                 (0, 1, 2, 3, 0, 5), "64-1234-basi", 3256, -1, 1.0])
def test_macro_bad_index_arguments(bad):
    with pytest.raises(UnknownArch):
        MACRO.index_of(bad)


def test_macro_neighbours_are_one_move_and_symmetric():
    lists = MACRO.neighbour_lists()
    ops = MACRO.ops_matrix()
    for i in range(MACRO.size):
        nb = lists[i]
        assert nb.size and i not in nb.tolist()
        assert ((ops[nb] != ops[i]).sum(axis=1) == 1).all()
        for j in nb.tolist():
            assert i in lists[j]
    assert not MACRO.product and (MACRO.representatives() == np.arange(MACRO.size)).all()
    assert MACRO.canonical(7) == MACRO.string_of(7)


# ---------------------------------------------------------------- tasks
def test_tasks_metrics_and_epochs():
    assert list(tnb101_tasks.TASKS) == ["class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic",
                                        "normal", "autoencoder"]
    got = {t: MICRO.suite_zero_metric(t) for t in tnb101_tasks.TASKS}
    assert got == {"class_scene": ("val_acc", 25), "class_object": ("val_acc", 25), "room_layout": ("val_neg_loss", 25),
                   "jigsaw": ("val_acc", 10), "segmentsemantic": ("val_pixel_acc", 30), "normal": ("val_ssim", 30),
                   "autoencoder": ("val_ssim", 30)}
    assert MACRO.suite_zero_metric("normal") == ("val_ssim", 30)
    with pytest.raises(UnknownDataset, match="TransNAS-Bench-101 has no task 'cifar10': use one of class_scene"):
        MACRO.suite_zero_metric("cifar10")
    from zcdb.store import higher_is_better

    assert all(higher_is_better(t.metric) for t in tnb101_tasks.TASKS.values())


# ---------------------------------------------------------------- micro canonical form, numerically
def _cell(torch, x, ops, weights, reduce):
    """TransNAS-Bench-101's MicroCell (lib/models/net_infer/cell_micro.py, net_ops/cell_ops.py), in training
    mode, with the weights given per tuple position."""
    F = torch.nn.functional
    c_in = x.shape[1]
    c_out, stride = (2 * c_in, 2) if reduce else (c_in, 1)

    def bn(y, w):
        return F.batch_norm(y, None, None, w["gamma"], w["beta"], training=True)

    nodes = [x]
    for j in range(1, 4):
        total = 0
        for k, (i, to) in enumerate(mic.EDGES):
            if to != j:
                continue
            inp, w = nodes[i], weights[k]
            s, cin = (stride, c_in) if i == 0 else (1, c_out)
            if ops[k] == 0:
                if cin == c_out:
                    y = inp[:, :, ::s, ::s] * 0.0
                else:
                    y = inp.new_zeros(inp.shape[0], c_out, (inp.shape[2] + 1) // s, (inp.shape[3] + 1) // s)
            elif ops[k] == 1:
                if s == 1 and cin == c_out:
                    y = inp
                else:  # FactorizedReduce
                    r = F.relu(inp)
                    pad = F.pad(r, (0, 1, 0, 1))
                    y = bn(torch.cat([F.conv2d(r, w["fr0"], stride=s), F.conv2d(pad[:, :, 1:, 1:], w["fr1"], stride=s)],
                                     dim=1), w)
            else:
                kern = w["conv1"] if ops[k] == 2 else w["conv3"]
                y = bn(F.conv2d(F.relu(inp), kern, stride=s, padding=kern.shape[-1] // 2), w)
            total = total + y
        nodes.append(total)
    return nodes[3]


def _weights(torch, gen, c_in, reduce):
    """Random weights for one edge, both for an edge from node 0 (``c_in`` in) and from node 1 or 2."""
    c_out = 2 * c_in if reduce else c_in

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    return {src: dict(conv1=draw(c_out, cin, 1, 1), conv3=draw(c_out, cin, 3, 3), fr0=draw(c_out // 2, cin, 1, 1),
                      fr1=draw(c_out - c_out // 2, cin, 1, 1), gamma=draw(c_out), beta=draw(c_out))
            for src, cin in ((0, c_in), (1, c_out))}


def _matched(torch, gen, arch, shared, reduce, c_in):
    """Per-edge weights of ``arch``: an edge of a live atom takes the weights of its canonical atom number
    (atoms that correspond read the same source kind: only node 0's value holds the cell input)."""
    labels = mic.canonical_labels(arch)
    out = {}
    for k, (i, _) in enumerate(mic.EDGES):
        w = shared[labels[k]] if k in labels else _weights(torch, gen, c_in, reduce)
        out[k] = w[min(i, 1)]
    return out


@pytest.mark.parametrize("reduce", [False, True])
def test_equivalent_cells_compute_the_same_function(reduce, one_torch_thread):
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    rep = MICRO.representatives()
    classes: dict[int, list[int]] = {}
    for i, r in enumerate(rep.tolist()):
        classes.setdefault(r, []).append(i)
    multi = [m for m in classes.values() if len(m) > 1]
    assert len(classes) == 1484 and len(multi) > 300
    rng = np.random.default_rng(0)
    x = torch.randn(3, 2, 6, 6, generator=gen, dtype=torch.float64)
    for members in [multi[k] for k in rng.choice(len(multi), 40, replace=False)] + [classes[0]]:
        # atom numbers are canonical: one set of weights per number serves every member of the class
        shared = [_weights(torch, gen, 2, reduce) for _ in range(6)]
        ref = None
        for a in [members[0], *rng.choice(members[1:], min(2, len(members) - 1), replace=False).tolist()]:
            out = _cell(torch, x, MICRO.ops_of(a), _matched(torch, gen, a, shared, reduce, 2), reduce)
            if ref is None:
                ref = out
            else:
                assert torch.allclose(out, ref, atol=1e-9), (MICRO.string_of(members[0]), MICRO.string_of(a))


def test_where_nb201s_rule_would_merge_too_much(one_torch_thread):
    """NAS-Bench-201's canonical form treats a convolution of an all-zero node as zero and skip from
    node 0 as an identity; in TransNAS-Bench-101's cells neither holds, and zcdb keeps them apart."""
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 4, 8, 8, generator=gen, dtype=torch.float64)
    pairs = [((0, 0, 3, 0, 0, 1), (0, 0, 0, 0, 0, 1)),  # node 2 = conv(zero node 1) = a learned constant, not 0
             ((1, 0, 3, 0, 0, 1), (0, 3, 0, 0, 0, 1))]  # conv(skip(x)) vs conv(x): differs where the cell reduces
    for (a, b), reduce in zip(pairs, (False, True)):
        assert nb201.canonical(a) == nb201.canonical(b) and mic.canonical(a) != mic.canonical(b)
        w = {k: _weights(torch, gen, 4, reduce)[min(i, 1)] for k, (i, _) in enumerate(mic.EDGES)}
        assert not torch.allclose(_cell(torch, x, a, w, reduce), _cell(torch, x, b, w, reduce))


def test_canonical_by_hand():
    # node 1/node 2 swap when e12 is none
    assert mic.canonical((3, 2, 0, 1, 2, 3)) == mic.canonical((2, 3, 0, 1, 3, 2))
    # a dead node's input edges do not matter (node 2 has no way out: e23 none)
    assert mic.canonical((3, 1, 2, 0, 3, 0)) == mic.canonical((3, 3, 3, 0, 3, 0))
    # node 2 = skip(node 1): using it or node 1 at the output is the same
    assert mic.canonical((3, 0, 1, 0, 2, 0)) == mic.canonical((3, 0, 1, 0, 0, 2))
    # ... but summing it twice is not summing two atoms
    assert mic.canonical((3, 0, 1, 0, 1, 1)) != mic.canonical((3, 3, 0, 0, 1, 1))
    # the 169 cells whose output ignores the input: 87 output zero, the others a learned constant (7 classes)
    blind = [i for i in range(MICRO.size) if not mic.output_reachable(i)]
    forms = {mic.canonical(i) for i in blind}
    assert len(blind) == 169 and len(forms) == 7 and not any(re.search(r"\bx\b", f) for f in forms)
    assert sum(mic.canonical(i) == "out=0" for i in blind) == 87
    assert mic.canonical(0) == "out=0" and MICRO.representatives()[MICRO.index_of((0, 0, 0, 0, 0, 1))] == 0


@given(st.lists(st.integers(0, 3255), min_size=1, max_size=20), st.sampled_from(["tnb101-micro", "tnb101-macro"]))
def test_onehot_decodes_back_to_the_ops(indices, name):
    sp = get_space(name)
    cols, X = sp.encode(np.array(indices), "onehot")
    assert cols[0] == f"onehot:{sp.positions[0]}={sp.choices[0][0]}"
    start = 0
    decoded = []
    for names in sp.choices:
        decoded.append(X[:, start:start + len(names)].argmax(axis=1))
        start += len(names)
    assert (np.stack(decoded, axis=1) == sp.ops_matrix()[indices]).all()
