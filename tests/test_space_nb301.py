"""The NAS-Bench-301 (DARTS) space: genotype strings, NASLib's tuples, the global int64 id,
canonical form, sampling, NASLib's mutation neighbourhood, encodings and one-line errors."""

from __future__ import annotations

import ast
import collections
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zcdb.errors import MissingCapability, UnknownArch
from zcdb.spaces import get_space, nb301, parse_arch_text

from .conftest import require_shared

SP = get_space("nb301")
#: NASLib's DARTS op order, written out here rather than read from the module.
NASLIB_OPS = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5"]
#: DARTS V2 as the DARTS repository's genotypes.py prints it (concat written as range(2, 6)).
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=range(2, 6))")
Genotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")


@st.composite
def compacts(draw):
    """A NASLib genotype tuple, each node's two distinct inputs in either order."""
    cells = []
    for _ in range(2):
        cell = []
        for k in range(2, 6):
            a, b = draw(st.lists(st.integers(0, k - 1), min_size=2, max_size=2, unique=True))
            cell += [(a, draw(st.integers(0, 6))), (b, draw(st.integers(0, 6)))]
        cells.append(tuple(cell))
    return tuple(cells)


def sorted_compact(c):
    return tuple(tuple(e for k in range(4) for e in sorted(cell[2 * k:2 * k + 2])) for cell in c)


def documented_id(c) -> int:
    """The mixed-radix id as docs/spaces.md writes it, in plain Python integers."""
    cell_codes = []
    for cell in sorted_compact(c):
        code = 0
        for k in range(4):
            (lo, op_lo), (hi, op_hi) = cell[2 * k], cell[2 * k + 1]
            radix = math.comb(k + 2, 2) * 49
            code = code * radix + ((hi * (hi - 1) // 2 + lo) * 49 + op_lo * 7 + op_hi)
        cell_codes.append(code)
    return cell_codes[0] * 1_037_664_180 + cell_codes[1]


def naslib_nbhd(c):
    """NASLib's DARTS get_nbhd, written from its definition: one op, or one input not already read."""
    out = []
    for i, cell in enumerate(c):
        for j, (inp, op) in enumerate(cell):
            other = cell[j + 1 - 2 * (j % 2)][0]
            for new in range(7):
                if new != op:
                    out.append(_with(c, i, j, (inp, new)))
            for new in range(j // 2 + 2):
                if new not in (inp, other):
                    out.append(_with(c, i, j, (new, op)))
    return out


def _with(c, i, j, edge):
    cells = [list(x) for x in c]
    cells[i][j] = edge
    return tuple(tuple(x) for x in cells)


# --------------------------------------------------------------------------- arithmetic of the id
def test_the_space_has_the_documented_size():
    per_cell = math.prod(math.comb(k, 2) * 49 for k in range(2, 6))
    assert per_cell == 49 * 147 * 294 * 490 == 1_037_664_180 == nb301.CELL_SIZE
    assert nb301.NUM_GENOTYPES == per_cell ** 2 < 2 ** 63
    assert SP.size is None and SP.index_dtype == np.int64 and not SP.product
    # the whole range is reachable and nothing past it
    last = SP.string_of(per_cell ** 2 - 1)
    assert SP.index_of(last) == per_cell ** 2 - 1 and SP.index_of(SP.string_of(0)) == 0
    with pytest.raises(UnknownArch, match="out of range"):
        SP.index_of(per_cell ** 2)
    with pytest.raises(UnknownArch, match="out of range"):
        SP.indices_of(np.array([0, -1]))


@settings(max_examples=300, deadline=None)
@given(c=compacts())
def test_round_trips_string_tuple_id_naslib(c):
    i = SP.index_of(c)
    assert i == documented_id(c) and isinstance(i, int)
    s = SP.string_of(i)
    assert SP.index_of(s) == i and SP.string_of(s) == s and SP.canonical(c) == s
    assert SP.to_naslib(i) == sorted_compact(c) and SP.index_of(SP.to_naslib(i)) == i
    assert SP.format_arch(SP.parse(s)) == s and SP.index_of(SP.ops_of(i)) == i
    # the DARTS Genotype form and NASLib's key text name the same architecture
    g = Genotype([(NASLIB_OPS[o], inp) for inp, o in c[0]], [2, 3, 4, 5],
                 [(NASLIB_OPS[o], inp) for inp, o in c[1]], [2, 3, 4, 5])
    assert SP.index_of(g) == i and SP.index_of(str(g)) == i
    assert SP.index_of(str([list(cell) for cell in c])) == i
    assert SP.indices_of(np.array([i, i], dtype=np.int64)).tolist() == [i, i]
    assert SP.indices_of([s, c]).tolist() == [i, i]


@settings(max_examples=200, deadline=None)
@given(i=st.integers(0, nb301.NUM_GENOTYPES - 1))
def test_every_id_is_a_canonical_genotype(i):
    c = SP.to_naslib(i)
    assert c == sorted_compact(c) and documented_id(c) == i
    for cell in c:
        for k in range(4):
            (a, _), (b, _) = cell[2 * k:2 * k + 2]
            assert 0 <= a < b < k + 2
    assert parse_arch_text(str(i), SP) == i


@settings(max_examples=100, deadline=None)
@given(c=compacts(), data=st.data())
def test_canonical_form_is_edge_order_within_a_node(c, data):
    cells = [list(cell) for cell in c]
    for cell in cells:
        for k in range(4):
            if data.draw(st.booleans()):
                cell[2 * k], cell[2 * k + 1] = cell[2 * k + 1], cell[2 * k]
    swapped = tuple(tuple(cell) for cell in cells)
    assert SP.index_of(swapped) == SP.index_of(c)
    s = SP.canonical(swapped)
    assert SP.canonical(s) == s
    _, a = SP.encode(np.array([SP.index_of(c)]), "adjacency")
    assert a.sum() == 16


# --------------------------------------------------------------------------- moves and sampling
@settings(max_examples=40, deadline=None)
@given(c=compacts())
def test_neighbours_are_naslibs_neighbourhood(c):
    i = SP.index_of(c)
    nb = SP.neighbours(i)
    expected = [SP.index_of(x) for x in naslib_nbhd(c)]
    assert sorted(nb) == sorted(expected) and len(set(nb)) == 120 == SP.neighbour_width and i not in nb
    rows = SP.neighbour_rows(np.array([i, i]))
    assert rows.shape == (2, 120) and rows[0].tolist() == nb == rows[1].tolist()
    # each neighbour differs in one edge, in one element of it
    def edges(arch):
        return {(cell, k // 2, e) for cell, es in enumerate(SP.to_naslib(arch)) for k, e in enumerate(es)}

    mine = edges(i)
    for j in nb[:20]:
        theirs = edges(j)
        (gone,), (new,) = mine - theirs, theirs - mine
        assert gone[:2] == new[:2] and (gone[2][0] == new[2][0]) != (gone[2][1] == new[2][1])


def test_sampling_is_seeded_distinct_and_uniform_per_node():
    a, b = SP.sample(20000, seed=5), SP.sample(20000, seed=5)
    assert np.array_equal(a, b) and a.dtype == np.int64 and len(np.unique(a)) == a.size
    assert not np.array_equal(a, SP.sample(20000, seed=6))
    assert a.min() >= 0 and a.max() < nb301.NUM_GENOTYPES
    rows = nb301.rows_of_ids(a)
    # node 5 of the normal cell: its 10 input pairs and 7 ops equally likely (NASLib's sampler)
    pairs = collections.Counter(map(tuple, rows[:, 12:16][:, [0, 2]].tolist()))
    assert set(pairs) == {(x, y) for x, y in itertools.combinations(range(5), 2)}
    assert max(pairs.values()) / min(pairs.values()) < 1.15
    ops = np.bincount(rows[:, 1::2].ravel(), minlength=7)
    assert ops.max() / ops.min() < 1.03
    assert SP.sample(0, seed=1).size == 0 and SP.sample(3, seed=1, replace=True).size == 3


# --------------------------------------------------------------------------- encodings
def test_encodings():
    ids = SP.sample(30, seed=2)
    cols, X = SP.encode(ids, "onehot")
    assert len(cols) == X.shape[1] == sum(len(c) for c in SP.choices) == 168
    assert (X.sum(axis=1) == len(SP.positions)).all()
    cols, A = SP.encode(ids, "adjacency")
    assert A.shape == (30, 2 * 14 * 7) and (A.sum(axis=1) == 16).all() and len(cols) == A.shape[1]
    cols, N = SP.encode(ids, "naslib")
    assert N.shape == (30, 2 * (49 + 8)) and len(cols) == 114
    for row, i in zip(N, ids.tolist()):  # NASLib's encode_adj, from its definition
        expected = []
        for cell in SP.to_naslib(i):
            m = np.zeros((7, 7))
            for e, (inp, _) in enumerate(cell):
                m[inp, e // 2 + 2] = 1
            m[2:6, 6] = 1
            expected += [*m.ravel(), *[op for _, op in cell]]
        assert row.tolist() == expected
    with pytest.raises(MissingCapability, match="has no 'bogus' encoding"):
        SP.encode(ids, "bogus")


# --------------------------------------------------------------------------- what it cannot do
@pytest.mark.parametrize("call", [lambda: SP.ops_matrix(), lambda: SP.all_strings(), lambda: SP.index_map(),
                                  lambda: SP.representatives(), lambda: SP.padded_neighbours(),
                                  lambda: SP.neighbour_lists(), lambda: SP.cost_table("cifar10"),
                                  lambda: SP.require_size("x")])
def test_enumeration_is_a_missing_capability(call):
    with pytest.raises(MissingCapability, match="space nb301 cannot be enumerated") as e:
        call()
    assert "\n" not in str(e.value)


def _key(normal, reduce=None):
    reduce = normal if reduce is None else reduce
    return str([normal, reduce])


GOOD = [(0, 3), (1, 3), (0, 2), (2, 3), (2, 3), (0, 3), (2, 6), (3, 5)]


@pytest.mark.parametrize("bad,msg", [
    (_key([(0, 3), (2, 3)] + GOOD[2:]), "node 2 .*reads state 2, its own or a later node's output"),
    (_key(GOOD[:6] + [(5, 1), (3, 5)]), "node 5 .*reads state 5, its own"),
    (_key(GOOD[:7] + [(3, 7)]), "op code 7, not one of the 7 ops"),
    (_key([(1, 3), (1, 0)] + GOOD[2:]), "reads state 1 on both its edges"),
    (_key(GOOD[:7]), "must have 8 \\(input, op\\) edges"),
    (_key(GOOD + [(0, 1)]), "must have 8"),
    (str([GOOD]), "not an nb301 genotype"),
    (DARTS_V2.replace("'dil_conv_3x3', 2", "'conv_7x1_1x7', 2"), "op 'conv_7x1_1x7' is not one of the 7 ops"),
    (DARTS_V2.replace("('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 0)"), "must have 8"),
    (DARTS_V2.replace("normal_concat=range(2, 6)", "normal_concat=[2, 3, 4]"), "not an nb301 genotype"),
    (((0, 3),) * 8, "expected 2 cells"),
    ((tuple(GOOD), tuple(GOOD[:4]) + ((0.0, 1),) * 4), "each cell must be a sequence of \\(input, op\\) integer"),
    ((1, 2), "each cell must be"),
    (1.5, "expected 2 cells"),
    (True, "expected 2 cells"),
    ("", "not an nb301 genotype"),
])
def test_bad_genotypes_are_one_line_errors(bad, msg):
    with pytest.raises(UnknownArch, match=msg) as e:
        SP.index_of(bad)
    assert "\n" not in str(e.value)


def test_darts_v2_reads_in_the_darts_repository_form():
    i = SP.index_of(DARTS_V2)
    c = SP.to_naslib(i)
    assert c[0][:2] == ((0, 3), (1, 3)) and c[0][6:] == ((0, 2), (2, 5))  # node 5: skip from 0, dil_conv_3x3 from 2
    assert c[1][2:4] == ((1, 0), (2, 2))  # node 3 of the reduce cell, reordered by input
    assert SP.string_of(i).startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), junk=st.recursive(
    st.one_of(st.integers(-3, 9), st.booleans(), st.floats(), st.text(max_size=3), st.none()),
    lambda inner: st.lists(inner, max_size=9) | st.tuples(inner, inner), max_leaves=40))
def test_odd_input_only_ever_raises_unknown_arch(text, junk):
    for arch in (text, junk, "Genotype(normal=[" + text, "[[" + text):
        try:
            i = SP.index_of(arch)
        except UnknownArch:
            continue
        assert 0 <= i < nb301.NUM_GENOTYPES


# --------------------------------------------------------------------------- the released keys
@pytest.mark.shared
def test_suite_zero_keys_are_naslib_tuples_in_its_op_order():
    with open(require_shared("nb301", "zc_nasbench301.json")) as fh:
        keys = list(json.load(fh)["nasbench301"]["cifar10"])
    ids = SP.indices_of(keys)
    assert len(keys) == 500 and len(set(ids.tolist())) == 500
    for key, i in zip(keys, ids.tolist()):
        c = ast.literal_eval(key)
        assert SP.to_naslib(i) == sorted_compact(tuple(tuple(map(tuple, cell)) for cell in c))
        assert i == documented_id(c)
