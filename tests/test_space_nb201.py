"""The NAS-Bench-201 space: parsing, official indices, NASLib tuples, isomorphism, moves."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zcdb.errors import UnknownArch
from zcdb.spaces import get_space, nb201
from zcdb.errors import UnknownSpace

from .conftest import require_shared

ops_tuples = st.tuples(*[st.integers(0, nb201.NUM_OPS - 1)] * nb201.NUM_EDGES)
indices = st.integers(0, nb201.NUM_ARCHS - 1)


@given(ops_tuples)
def test_string_round_trip(ops):
    s = nb201.format_arch(ops)
    assert nb201.parse(s) == ops
    assert nb201.string_of(s) == s


@given(indices)
def test_index_string_tuple_round_trip(i):
    s = nb201.string_of(i)
    t = nb201.ops_of(i)
    assert nb201.index_of(s) == i
    assert nb201.index_of(t) == i
    assert nb201.ops_of(s) == t
    assert tuple(nb201.ops_matrix()[i]) == t


@given(ops_tuples)
def test_naslib_round_trip(ops):
    assert nb201.from_naslib(nb201.to_naslib(ops)) == ops


def test_naslib_convention_by_hand():
    # NASLib numbers ops skip=0, none=1, conv3=2, conv1=3, pool=4 and lists e(0->3) before e(1->2).
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert nb201.to_naslib(arch) == (2, 3, 0, 4, 1, 2)


def test_index_is_a_permutation():
    strings = nb201.all_strings()
    assert len(strings) == len(set(strings)) == nb201.NUM_ARCHS
    assert strings[0] == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    # the table (built in code order without validation) says what formatting each cell's ops says
    assert all(s == nb201.format_arch(nb201.ops_of(i)) for i, s in enumerate(strings))


@pytest.mark.parametrize("bad", [
    "", "|nor_conv_3x3~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2", "none",
])
def test_malformed_strings_raise_one_line(bad):
    with pytest.raises(UnknownArch) as exc:
        nb201.index_of(bad)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("bad", [-1, nb201.NUM_ARCHS, (0, 1, 2), (0, 0, 0, 0, 0, 5), ("a",) * 6, 1.5])
def test_bad_index_and_tuples(bad):
    with pytest.raises(UnknownArch):
        nb201.index_of(bad)


@given(st.text(max_size=60))
def test_parse_never_crashes_on_garbage(text):
    try:
        ops = nb201.parse(text)
    except UnknownArch:
        return
    assert nb201.format_arch(ops) == text.strip()


def test_unknown_space():
    with pytest.raises(UnknownSpace, match="use one of nb201"):
        get_space("nb999")


# ---------------------------------------------------------------- isomorphism
def _alias_node_1_as_node_0(ops, swap2, swap3):
    """With e(0->1) = skip_connect, node 1 *is* node 0: exchanging the ops of the parallel
    edges e(0->2)/e(1->2) and e(0->3)/e(1->3) relabels the graph without changing its function."""
    e01, e02, e12, e03, e13, e23 = ops
    if swap2:
        e02, e12 = e12, e02
    if swap3:
        e03, e13 = e13, e03
    return (e01, e02, e12, e03, e13, e23)


@given(ops_tuples, st.booleans(), st.booleans())
def test_canonical_invariant_under_relabelling(ops, swap2, swap3):
    ops = (1,) + ops[1:]  # e(0->1) = skip_connect
    assert nb201.canonical(ops) == nb201.canonical(_alias_node_1_as_node_0(ops, swap2, swap3))


def test_zero_terms_count_as_in_nats_bench():
    # NATS-Bench's equivalence (which the official UniqueString column encodes, 6,466 classes)
    # keeps zero inputs as terms: x + 0 and x fall in different classes. Matching it exactly
    # means exchanging nodes 1 and 2 (when e(1->2) is none) is *not* a symmetry here.
    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    b = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    assert nb201.canonical(a) != nb201.canonical(b)


@given(ops_tuples, st.integers(0, 5))
def test_dead_edges_do_not_matter(ops, k):
    # An edge leaving a node that is identically zero contributes nothing, whatever its op.
    ops = (0, 0) + ops[2:]  # node 1 and node 2 inputs from node 0 are none...
    ops = ops[:2] + (0,) + ops[3:]  # ...and node 1 -> 2 too: nodes 1 and 2 are zero
    for op in range(nb201.NUM_OPS):
        changed = list(ops)
        changed[4] = op  # e(1->3) leaves a zero node
        assert nb201.canonical(changed) == nb201.canonical(ops)


def test_canonical_distinguishes_different_functions():
    a = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    b = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
    assert nb201.canonical(a) != nb201.canonical(b)


def test_canonical_classes_count():
    assert len(set(nb201.canonical_representatives().tolist())) == 6466


def test_representatives_built_node_by_node_equal_canonical_per_cell():
    """The all-at-once construction (node 2 shared by 125 cells) gives, for every index, the
    smallest index whose per-cell :func:`canonical` form is the same."""
    first: dict[str, int] = {}
    per_cell = [first.setdefault(nb201.canonical(i), i) for i in range(nb201.NUM_ARCHS)]
    assert nb201.canonical_representatives().tolist() == per_cell


@pytest.mark.shared
def test_canonical_partition_matches_unique_string():
    path = require_shared("nb201", "nats_tss_test_accuracy_200ep.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == nb201.NUM_ARCHS
    # Row i is official index i: our regenerated order must agree with the file.
    assert [r["ArchitectureString"] for r in rows] == list(nb201.all_strings())
    theirs: dict[str, int] = {}
    ours: dict[str, int] = {}
    pairs = set()
    for i, r in enumerate(rows):
        a = theirs.setdefault(r["UniqueString"], len(theirs))
        b = ours.setdefault(nb201.canonical(i), len(ours))
        pairs.add((a, b))
    # Same partition: a bijection between their classes and ours.
    assert len(theirs) == len(ours) == len(pairs) == 6466


@pytest.mark.shared
def test_naslib_keys_match_the_suite_zero_file():
    path = require_shared("naslib-zc", "zc_nasbench201_cifar10.json")
    data = json.loads(path.read_text())["cifar10"]
    for key, rec in data.items():
        t = tuple(int(x) for x in key.strip("()").split(","))
        assert nb201.to_naslib(nb201.from_naslib(t)) == t
        assert rec["arch"] == key


# ---------------------------------------------------------------- validity, moves, sampling
def test_output_reachable():
    assert not nb201.output_reachable("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
    assert nb201.output_reachable("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|")
    assert not nb201.output_reachable("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    n_dead = sum(not nb201.output_reachable(i) for i in range(nb201.NUM_ARCHS))
    # e(0->3) none and no path through nodes 1, 2: counted independently below.
    brute = 0
    for ops in nb201.all_products():
        e01, e02, e12, e03, e13, e23 = (o != 0 for o in ops)
        n1 = e01
        n2 = e02 or (n1 and e12)
        brute += not (e03 or (n1 and e13) or (n2 and e23))
    assert n_dead == brute


@given(indices)
def test_neighbours_differ_in_exactly_one_edge(i):
    nb = nb201.neighbours(i)
    assert len(nb) == len(set(nb)) == 24
    me = np.array(nb201.ops_of(i))
    for j in nb:
        assert int((np.array(nb201.ops_of(j)) != me).sum()) == 1
    assert (nb201.neighbour_table()[i] == nb).all()


def test_sample_is_seeded_and_uniform():
    a = nb201.sample(1000, seed=0)
    assert (a == nb201.sample(1000, seed=0)).all()
    assert not (a == nb201.sample(1000, seed=1)).all()
    assert len(set(a.tolist())) == 1000
    big = nb201.sample(200_000, seed=3, replace=True)
    counts = np.bincount(nb201.ops_matrix()[big][:, 0], minlength=5)
    assert counts.min() > 0.19 * len(big) and counts.max() < 0.21 * len(big)
    with pytest.raises(UnknownArch):
        nb201.sample(nb201.NUM_ARCHS + 1, seed=0)


def test_enumerate_archs():
    assert list(nb201.enumerate_archs()) == list(nb201.all_strings())
