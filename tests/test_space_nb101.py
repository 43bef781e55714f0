"""The NAS-Bench-101 space: the official module hash, the shipped enumeration, the forms, moves,
encodings, costs and the network."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zcdb.errors import UnknownArch
from zcdb.spaces import get_space, nb101
from zcdb.spaces import nb101_graphs as graphs

from .conftest import require_shared

SP = get_space("nb101")
CONV3, CONV1, POOL = nb101.OPS
#: The Inception-like cell of the nasbench README (a 7-vertex cell, 9 edges).
INCEPTION = ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
              [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             ["input", CONV1, CONV3, CONV3, CONV3, POOL, "output"])


@pytest.fixture(scope="module")
def vis1k():
    with open(require_shared("nb101", "nasbench-vis_data-1k.json")) as fh:
        return json.load(fh)


def _vis_cell(ops, adj):
    V = ops.index(-2) + 1
    return [[int(x) for x in row[:V]] for row in adj[:V]], ops[:V]


# --------------------------------------------------------------------------- the official hash
@pytest.mark.shared
def test_module_hash_reproduces_every_key_of_the_1k_sample(vis1k):
    """The sample codes ops -1 input, -2 output and 0/1/2 in the official order, which are the
    hash's own labels; its params (next test) confirm 0 conv3x3, 1 conv1x1, 2 maxpool."""
    for ops, adj, key in zip(vis1k["operations"], vis1k["adjacency"], vis1k["key"]):
        m, labels = _vis_cell(ops, adj)
        assert nb101.module_hash(m, labels) == key
        names = ["input"] + [nb101.OPS[o] for o in labels[1:-1]] + ["output"]
        assert SP.string_of((m, names)) == key


@pytest.mark.shared
def test_params_formula_equals_trainable_parameters_of_the_1k_sample(vis1k):
    from zcdb.spaces.nb101_cost import cost_table

    params, _ = cost_table()
    idx = [SP.index_of(k) for k in vis1k["key"]]
    assert params[idx].tolist() == vis1k["trainable_parameters"]
    # the sample's cells are the representatives zcdb keeps (the generator's first of each class)
    for i, (ops, adj) in zip(idx[:200], zip(vis1k["operations"], vis1k["adjacency"])):
        m, labels = _vis_cell(ops, adj)
        assert nb101.spec_of(i) == (m, ["input"] + [nb101.OPS[o] for o in labels[1:-1]] + ["output"])


# --------------------------------------------------------------------------- the shipped table
def test_table_holds_the_423624_classes_sorted_by_hash():
    strings = SP.all_strings()
    assert len(strings) == nb101.NUM_ARCHS == SP.size == 423_624
    assert list(strings[:3]) == sorted(strings[:3]) and strings[-2] < strings[-1]
    hi = nb101._table()["hi"]
    assert (np.diff(hi.astype(np.float64)) >= 0).all() and np.unique(hi).size == SP.size  # the lookup key
    assert np.iinfo(SP.index_dtype).max >= SP.size - 1 and SP.index_dtype == np.int32
    # a sample re-hashed from its cells, with the official algorithm
    for i in np.random.default_rng(0).choice(SP.size, 150, replace=False).tolist():
        assert SP.format_arch(SP.ops_of(i)) == strings[i]
    # every code is a pruned cell in the padded form, within the limits
    adj, ops = graphs.unpack(nb101.codes())
    padj, pops, valid = graphs.prune(adj, ops)
    assert valid.all() and (padj == adj).all() and (pops == ops).all()
    assert adj.sum(axis=(1, 2)).max() == 9
    cadj, cops = graphs.compact(adj[:5000], ops[:5000])
    assert (cadj == adj[:5000]).all() and (cops == ops[:5000]).all()


def test_enumeration_finds_the_shipped_cells():
    """The generator's enumeration up to 6 vertices gives the shipped cells of up to 6 vertices
    (all 423,624 take ~10 s: ``scripts/build_nb101_table.py``, which checks the count)."""
    codes, inv = graphs.enumerate_cells(6)
    small = nb101.codes()[(SP.ops_matrix()[:, 21:] == graphs.NONE).any(axis=1)]
    assert codes.size == small.size == 64_542 and set(codes.tolist()) == set(small.tolist())
    assert np.unique(inv).size == codes.size


# --------------------------------------------------------------------------- forms
def test_every_form_names_the_same_architecture():
    i = SP.index_of(INCEPTION)
    h = SP.string_of(i)
    assert SP.index_of(h) == SP.index_of(nb101.spec_string(i)) == SP.index_of(SP.ops_of(i)) == i
    assert SP.index_of((np.array(INCEPTION[0]), INCEPTION[1])) == i
    assert SP.parse(h) == SP.parse(nb101.spec_string(i)) == SP.ops_of(i)
    assert SP.format_arch(SP.ops_of(i)) == h and SP.canonical(i) == h
    assert SP.index_map()[h] == i and h in SP.index_map() and SP.index_map().get("nope") is None
    assert SP.representatives()[i] == i
    assert SP.index_of("011001000|input,conv3x3-bn-relu,output") == SP.index_of(
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", CONV3, "output"]))


def _permuted(matrix, ops, perm):
    """The cell with interior vertex v renumbered perm[v] (input and output stay)."""
    V = len(ops)
    order = [0] + [1 + p for p in perm] + [V - 1]
    m = [[0] * V for _ in range(V)]
    for a in range(V):
        for b in range(V):
            if matrix[a][b]:
                m[order[a]][order[b]] = 1
    o = [None] * V
    for a in range(V):
        o[order[a]] = ops[a]
    return m, o


def test_isomorphic_and_pruned_cells_are_one_architecture():
    i = SP.index_of(INCEPTION)
    seen = 0
    for perm in itertools.permutations(range(5)):
        m, o = _permuted(*INCEPTION, perm)
        if all(m[a][b] == 0 for a in range(7) for b in range(a + 1)):  # still in topological order
            assert SP.index_of((m, o)) == i
            seen += 1
    assert seen > 1
    # a vertex off every input-output path is pruned away
    dangling = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], ["input", CONV3, POOL, "output"])
    assert SP.index_of(dangling) == SP.index_of(([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", CONV3, "output"]))


@pytest.mark.parametrize("bad,match", [
    ([[0] * 8 for _ in range(8)], "8 vertices"),
    ([[int(j == i + 1 or (i == 0 and 2 <= j <= 5)) for j in range(7)] for i in range(7)], "10 edges"),
    ([[0, 1, 1], [1, 0, 1], [0, 0, 0]], "topological order"),
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], "not reachable"),
    ([[0, 1.0], [0, 0]], "0 or 1"),
])
def test_bad_cells_are_one_line_errors(bad, match):
    ops = ["input"] + [CONV3] * (len(bad) - 2) + ["output"]
    with pytest.raises(UnknownArch, match=match) as e:
        SP.index_of((bad, ops))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", ["011001000|input,conv5x5-bn-relu,output", "011001000|input,output",
                                 "01100100|input,conv3x3-bn-relu,output", "f" * 32, "F" * 32, "",
                                 ([[0, 1], [0, 0]], ["output", "input"]), (0,) * 26, (1,) * 26, (True,) * 26])
def test_bad_text_and_tuples_are_one_line_errors(bad):
    with pytest.raises(UnknownArch) as e:
        SP.index_of(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text,match", [
    ("0" * 64 + "|input," + "conv3x3-bn-relu," * 6 + "output", "8 vertices, at most 7"),  # told why, not "malformed"
    ("00005C14" + "0" * 24, "lower-case hex: give '00005c14" + "0" * 24 + "'"),
    ("010001000", "malformed nb101 architecture '010001000'.*leading zero"),  # a matrix without ops is no index
])
def test_bad_text_names_its_fault(text, match):
    from zcdb.spaces import parse_arch_text

    with pytest.raises(UnknownArch, match=match) as e:
        SP.index_of(parse_arch_text(text, SP))
    assert "\n" not in str(e.value)


@st.composite
def cells(draw):
    V = draw(st.integers(2, 7))
    m = [[0] * V for _ in range(V)]
    for a in range(V):
        for b in range(a + 1, V):
            m[a][b] = draw(st.integers(0, 1))
    ops = ["input"] + [draw(st.sampled_from(nb101.OPS)) for _ in range(V - 2)] + ["output"]
    return m, ops


@settings(max_examples=80, deadline=None)
@given(cell=cells(), perm_seed=st.integers(0, 10 ** 6))
def test_random_cells_hash_like_their_isomorphs_and_round_trip(cell, perm_seed):
    m, ops = cell
    try:
        i = SP.index_of((m, ops))
    except UnknownArch:
        return
    assert SP.index_of(nb101.spec_string(i)) == i and SP.index_of(SP.string_of(i)) == i
    # the vectorized invariant lookup agrees with the MD5 hash
    adj = np.zeros((1, 7, 7), bool)
    o = np.full((1, 5), graphs.NONE, np.int8)
    pos = list(range(len(ops) - 1)) + [6]
    for a in range(len(ops)):
        for b in range(len(ops)):
            adj[0, pos[a], pos[b]] = m[a][b]
    for v in range(1, len(ops) - 1):
        o[0, v - 1] = nb101.OPS.index(ops[v])
    assert nb101.indices_of_cells(adj, o).tolist() == [i]
    perm = list(np.random.default_rng(perm_seed).permutation(len(ops) - 2))
    pm, po = _permuted(m, ops, perm)
    if all(pm[a][b] == 0 for a in range(len(ops)) for b in range(a + 1)):
        assert SP.index_of((pm, po)) == i


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="01|,-abcdefinoprtuvx3", max_size=60))
def test_spec_like_text_only_ever_raises_unknown_arch(text):
    try:
        i = SP.index_of(text)
    except UnknownArch:
        return
    assert 0 <= i < SP.size


# --------------------------------------------------------------------------- moves
def _moves(i):
    """Every single edit of the representative, looked up by its MD5 hash (independently of the invariant)."""
    t = list(SP.ops_of(i))
    out = []
    for k in range(21):
        u = t.copy()
        u[k] ^= 1
        out.append(u)
    for n in range(5):
        if t[21 + n] != graphs.NONE:
            for d in (1, 2):
                u = t.copy()
                u[21 + n] = (t[21 + n] + d) % 3
                out.append(u)
    found = []
    for u in out:
        m, ops = nb101._spec_of_choices(tuple(u)) if not _empty_with_edges(u) else (None, None)
        if m is None:
            continue
        try:
            j = SP.index_of((m, ops))
        except UnknownArch:
            continue
        if j != i and j not in found:
            found.append(j)
    return found


def _empty_with_edges(u):
    empty = {n + 1 for n in range(5) if u[21 + n] == graphs.NONE}
    return any(bit and (a in empty or b in empty) for bit, (a, b) in zip(u[:21], graphs.EDGES))


def test_neighbours_are_the_single_edits_of_the_pruned_cell():
    idx = [0, 1, SP.index_of(INCEPTION), SP.index_of("011001000|input,conv3x3-bn-relu,output"),
           *np.random.default_rng(4).choice(SP.size, 12, replace=False).tolist()]
    rows = SP.neighbour_rows(np.array(idx))
    assert rows.shape == (len(idx), 31) and SP.neighbour_width == nb101.NEIGHBOUR_WIDTH == 31
    for i, row in zip(idx, rows):
        assert SP.neighbours(i) == row[row >= 0].tolist() == _moves(i)
    v2 = SP.index_of(([[0, 1], [0, 0]], ["input", "output"]))  # input -> output: no edit stays in the space
    assert SP.neighbours(v2) == []


# --------------------------------------------------------------------------- NASLib, encodings
def test_naslib_keys_round_trip():
    for i in (0, 5, SP.index_of(INCEPTION), SP.size - 1):
        key = SP.to_naslib(i)
        assert len(key) == 56 and SP.index_of(SP.from_naslib(key)) == i
    key = SP.to_naslib(SP.index_of(INCEPTION))
    # input, then conv1x1, three conv3x3 and maxpool in some order, then output, in NASLib's codes
    assert key[49] == 0 and key[55] == 1 and sorted(key[50:55]) == [2, 3, 4, 4, 4]
    for bad in (key[:55], key[:49] + (5,) * 7, (2,) + key[1:], tuple(float(x) for x in key)):
        with pytest.raises(UnknownArch):
            SP.from_naslib(bad)


@pytest.mark.shared
def test_every_suite_zero_key_is_an_architecture():
    with open(require_shared("nb101", "zc_nasbench101.json")) as fh:
        keys = json.load(fh)["nasbench101"]["cifar10"]
    idx = {SP.index_of(SP.from_naslib(eval(k))) for k in keys}  # noqa: S307 - tuples of ints
    assert len(keys) == 500 and len(idx) == 292  # NASLib's keys are unpruned cells: several per architecture


def test_encodings():
    idx = np.array([SP.index_of(INCEPTION), SP.index_of(([[0, 1], [0, 0]], ["input", "output"]))])
    cols, X = SP.encode(idx, "onehot")
    assert X.shape == (2, 21 * 2 + 5 * 4) and (X.sum(axis=1) == 26).all()
    cols, P = SP.encode(idx, "path")
    assert P.shape == (2, 364) == (2, len(cols))
    # inception: input->conv1x1->out, input->conv3x3->out, input->conv3x3->conv3x3->out, input->maxpool->out
    on = {c for c, x in zip(cols, P[0]) if x}
    assert on == {f"path:{CONV1}", f"path:{CONV3}", f"path:{CONV3}>{CONV3}", f"path:{POOL}"}
    assert [c for c, x in zip(cols, P[1]) if x] == ["path:input>output"]


# --------------------------------------------------------------------------- costs and the network
def test_cost_table_and_network_parameters(one_torch_thread):
    import torch

    from zcdb.spaces.nb101_cost import cost_table, count_cost

    params, flops = cost_table()
    assert params.min() == 227_274 and params.max() == 49_979_274  # the paper's range
    small = [SP.index_of(INCEPTION), SP.index_of(([[0, 1], [0, 0]], ["input", "output"])),
             SP.index_of("011001000|input,maxpool3x3,output"), int(np.argmin(params)),
             SP.index_of(([[0, 1, 1, 0, 1], [0, 0, 0, 1, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5],
                          ["input", CONV1, POOL, CONV3, "output"]))]
    for i in small:
        net = SP.network(i)
        n = sum(p.numel() for p in net.parameters() if p.requires_grad)
        assert n == params[i] == count_cost(i)[0] and SP.cost(i) == (params[i] / 1e6, flops[i] / 1e6)
        with torch.no_grad():
            assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_naslib_keys_of_smaller_cells_and_the_zen_zip():
    """NAS-Bench-Suite-Zero's nb101_zen.zip keeps NASLib's V x V + V encoding of V-vertex cells (42 numbers for
    6 vertices): the same cell padded to 7 vertices gives the same architecture, and the whole zip imports."""
    import zcdb
    from zcdb.tabular.naslib_zc import import_naslib_zc

    six = (0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1,
           0, 0, 0, 0, 0, 0, 0, 2, 4, 2, 2, 1)
    # the same cell on 7 vertices: the output moves to vertex 6 (edges into 5 now go into 6) and
    # vertex 5 becomes an interior vertex with no edges, which pruning removes
    m = [[0] * 7 for _ in range(7)]
    for r in range(6):
        for c in range(6):
            if six[6 * r + c]:
                m[r][6 if c == 5 else c] = 1
    seven = tuple(x for row in m for x in row) + (0, 2, 4, 2, 2, 4, 1)
    assert nb101.index_of(nb101.from_naslib(six)) == nb101.index_of(nb101.from_naslib(seven))
    with pytest.raises(UnknownArch, match="V\\*V adjacency bits then V op codes"):
        nb101.from_naslib(six[:-1])
    store = zcdb.open(":memory:")
    batch = import_naslib_zc(store, require_shared("nb101", "nb101_zen.zip"))
    assert batch.rows == 10_250
    assert store.proxy_runs("nb101") == [dict(space="nb101", dataset="cifar10", proxy="zen", seed=-1, batch_size=-1,
                                               data="naslib-zc", n=10_250)]


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(st.integers(0, 2 ** 31 - 1), min_size=1, max_size=40))
def test_edge_form_pruning_and_invariant_equal_the_matrix_form(codes):
    # the neighbour lookups work on edge bits; the matrix form is the definition
    c = np.array(codes, dtype=np.uint32)
    adj, ops = graphs.unpack(c)
    padj, pops, valid = graphs.prune(adj, ops)
    edges, eops = graphs.edge_bits(c)
    assert np.array_equal(edges, adj[:, graphs._EI, graphs._EJ]) and np.array_equal(eops, ops)
    E, O, V = graphs.prune_edges(edges, eops)
    assert np.array_equal(E, padj[:, graphs._EI, graphs._EJ]) and np.array_equal(O, pops) and np.array_equal(V, valid)
    # the invariant of the matrix form, computed here as the docstring defines it (matrix products)
    a = padj.astype(np.uint64)
    labels = np.concatenate([np.full((len(c), 1), 3), pops.astype(np.int64), np.full((len(c), 1), 4)], axis=1)
    used = labels != graphs.NONE
    used[:, 0] = used[:, -1] = True
    a8 = padj.view(np.uint8)
    U = np.uint64
    h = graphs._mix((labels * 64 + a8.sum(axis=2, dtype=np.int64) * 8 + a8.sum(axis=1, dtype=np.int64)).astype(U))
    for r in range(graphs.ROUNDS):
        m = graphs._mix(h ^ U(0x5851F42D4C957F2D + r))
        h = graphs._mix(h * U(0x9FB21C651E98DF25) + np.matmul(m[:, None, :], a)[:, 0, :] * U(0xD6E8FEB86659FD93)
                        + np.matmul(a, m[:, :, None])[:, :, 0] * U(0xC2B2AE3D27D4EB4F) + U(r))
    h = np.where(used, graphs._mix(h ^ U(0x14057B7EF767814F)), U(0))
    want = graphs._mix(h.sum(axis=1) + used.sum(axis=1).astype(U))
    assert np.array_equal(graphs.invariant_of_edges(E, O), want)
    assert np.array_equal(graphs.invariant(padj, pops), want)
