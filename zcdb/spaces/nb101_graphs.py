"""NAS-Bench-101 cells as arrays: packed codes, pruning, an isomorphism invariant, enumeration.

Everything here works on many cells at once (numpy, no per-cell Python loop), and knows
nothing of module hashes or the shipped table (:mod:`zcdb.spaces.nb101` does).

**Padded form.** A pruned cell of ``V <= 7`` vertices is written on 7 positions: vertex
``v < V - 1`` at position ``v``, the output at position 6, positions ``V - 1 .. 5`` empty
(op :data:`NONE`, no edges). Its 21 possible edges ``(i, j)``, ``i < j``, are listed in
:data:`EDGES` (row by row); a **code** packs a padded cell in 31 bits of a uint32: bit ``k``
is edge ``EDGES[k]``, bits ``21 + 2 (n - 1)`` and up hold the op of position ``n = 1..5``
(0 ``conv3x3-bn-relu``, 1 ``conv1x1-bn-relu``, 2 ``maxpool3x3``, 3 empty).

**Invariant.** :func:`invariant` is a 64-bit Weisfeiler-Lehman colour refinement (the
scheme of NAS-Bench-101's module hash, with integer mixing instead of MD5, so it runs as
array arithmetic): equal for isomorphic cells, and, as :func:`enumerate_cells` checks by
counting, different for the 423,624 classes of the space. It turns a cell produced by a
mutation into its index without computing an MD5 hash.
"""

from __future__ import annotations

import itertools

import numpy as np

N_POS = 7
N_NODES = N_POS - 2
MAX_EDGES = 9
#: Op code of an empty position.
NONE = 3
N_OP_CODES = 4
#: The 21 edges of the padded form, row by row: bit k of a code is EDGES[k].
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(N_POS) for j in range(i + 1, N_POS))
N_EDGES = len(EDGES)
_EI = np.array([e[0] for e in EDGES])
_EJ = np.array([e[1] for e in EDGES])
_OP_SHIFT = N_EDGES
#: Labels of the invariant: ops 0..2, then input and output.
_INPUT_LABEL, _OUTPUT_LABEL = 3, 4

_U = np.uint64
_GOLDEN, _M1, _M2 = _U(0x9E3779B97F4A7C15), _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    # SplitMix64's finalizer: a bijection of uint64 with full avalanche (wraps mod 2**64)
    z = x + _GOLDEN
    z = (z ^ (z >> _U(30))) * _M1
    z = (z ^ (z >> _U(27))) * _M2
    return z ^ (z >> _U(31))


# --------------------------------------------------------------------------- codes
def _bits(codes: np.ndarray) -> np.ndarray:
    """``(B, 32)`` uint8: bit k of each code in column k."""
    c = np.ascontiguousarray(np.asarray(codes, dtype="<u4").reshape(-1))
    return np.unpackbits(c.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")


def unpack(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``(B,)`` to ``(adjacency (B, 7, 7) bool, ops (B, 5) int8)`` of the padded form."""
    bits = _bits(codes)
    adj = np.zeros((bits.shape[0], N_POS * N_POS), dtype=bool)
    adj[:, _EI * N_POS + _EJ] = bits[:, :N_EDGES]
    return adj.reshape(-1, N_POS, N_POS), _ops_of_bits(bits)


def _ops_of_bits(bits: np.ndarray) -> np.ndarray:
    low = bits[:, _OP_SHIFT:_OP_SHIFT + 2 * N_NODES:2]
    return (low + 2 * bits[:, _OP_SHIFT + 1:_OP_SHIFT + 2 * N_NODES:2]).astype(np.int8)


def pack(adj: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """The codes ``(B,)`` uint32 of padded cells (the inverse of :func:`unpack`)."""
    adj = np.asarray(adj, dtype=bool).reshape(-1, N_POS, N_POS)
    ops = np.asarray(ops, dtype=np.uint32).reshape(-1, N_NODES)
    bits = adj[:, _EI, _EJ].astype(np.uint32) << np.arange(N_EDGES, dtype=np.uint32)
    opbits = ops << (_OP_SHIFT + 2 * np.arange(N_NODES, dtype=np.uint32))
    return (bits.sum(axis=1) + opbits.sum(axis=1)).astype(np.uint32)


def choice_matrix(codes: np.ndarray) -> np.ndarray:
    """``(B, 26)`` int8: the 21 edge bits then the 5 op codes (the space's choice tuples)."""
    bits = _bits(codes)
    return np.concatenate([bits[:, :N_EDGES].astype(np.int8), _ops_of_bits(bits)], axis=1)


def codes_of_choices(choices: np.ndarray) -> np.ndarray:
    """Codes of ``(B, 26)`` choice rows (no check that they are valid cells)."""
    ch = np.asarray(choices, dtype=np.uint32).reshape(-1, N_EDGES + N_NODES)
    bits = ch[:, :N_EDGES] << np.arange(N_EDGES, dtype=np.uint32)
    opbits = ch[:, N_EDGES:] << (_OP_SHIFT + 2 * np.arange(N_NODES, dtype=np.uint32))
    return (bits.sum(axis=1) + opbits.sum(axis=1)).astype(np.uint32)


# --------------------------------------------------------------------------- pruning
def prune(adj: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells on the padded positions with every vertex off an input-to-output path removed
    (its edges dropped, its op set to :data:`NONE`), as NAS-Bench-101's ``ModelSpec`` prunes.

    Returns ``(adjacency, ops, valid)``; ``valid`` is False where the output is not reachable
    from the input (the official API's "disconnected" spec). The positions stay where they
    were: the pruned cell is not moved into the padded form (:func:`compact` does that).
    """
    adj = np.asarray(adj, dtype=bool)
    fwd = np.zeros(adj.shape[:2], dtype=bool)
    fwd[:, 0] = True
    for j in range(1, N_POS):  # upper-triangular: one pass in topological order
        fwd[:, j] = (fwd[:, :j] & adj[:, :j, j]).any(axis=1)
    bwd = np.zeros_like(fwd)
    bwd[:, N_POS - 1] = True
    for i in range(N_POS - 2, -1, -1):
        bwd[:, i] = (bwd[:, i + 1:] & adj[:, i, i + 1:]).any(axis=1)
    keep = fwd & bwd
    valid = keep[:, N_POS - 1] & keep[:, 0]
    adj = adj & keep[:, :, None] & keep[:, None, :]
    ops = np.where(keep[:, 1:-1], ops, NONE).astype(np.int8)
    return adj, ops, valid


def compact(adj: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pruned cells moved into the padded form: the used positions first, in order, then the
    empty ones, the output last."""
    B = len(ops)
    key = np.concatenate([np.zeros((B, 1), np.int8), (ops == NONE).astype(np.int8), np.full((B, 1), 2, np.int8)], 1)
    src = np.argsort(key, axis=1, kind="stable")  # new position k <- old position src[:, k]
    rows = np.arange(B)
    a = np.asarray(adj, dtype=bool)[rows[:, None, None], src[:, :, None], src[:, None, :]]
    full = np.concatenate([np.full((B, 1), NONE, np.int8), np.asarray(ops, np.int8), np.full((B, 1), NONE, np.int8)], 1)
    return a, full[rows[:, None], src][:, 1:-1]


# --------------------------------------------------------------------------- invariant
#: Refinement rounds of :func:`invariant`: 4 already tell the 423,624 classes apart (3 do too;
#: the enumeration's count is the check), and each costs a pass over the cells.
ROUNDS = 4


def invariant(adj: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """A 64-bit isomorphism invariant of pruned cells on the padded positions (any placement).

    Colour refinement as in NAS-Bench-101's module hash: each used vertex starts from
    (op or input/output label, out-degree, in-degree); each round combines a vertex's
    colour with the multisets of its in- and out-neighbours' colours (sums of mixed
    colours, which ignore order; the two sums with different weights); the cell's value
    mixes the multiset of final colours and the vertex count. Empty positions take no part.
    """
    adj = np.asarray(adj, dtype=bool).reshape(-1, N_POS, N_POS)
    return invariant_of_edges(adj[:, _EI, _EJ], ops)


def invariant_of_edges(edges: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """:func:`invariant` of cells given as ``(B, 21)`` edge bits (:data:`EDGES` order) and ``(B, 5)`` ops.

    Computed position by position on ``(7, B)`` rows, one edge at a time: the same values as
    a matrix product over the 7x7 adjacency, in about half the time (the neighbour lookups
    of a search spend most of their time here).
    """
    E = np.ascontiguousarray(np.asarray(edges, dtype=bool).reshape(-1, N_EDGES).T)  # (21, B)
    B = E.shape[1]
    Eu = E.astype(np.uint64)
    labels = np.empty((N_POS, B), dtype=np.int64)
    labels[0] = _INPUT_LABEL
    labels[-1] = _OUTPUT_LABEL
    labels[1:-1] = np.asarray(ops).reshape(B, N_NODES).T
    used = labels != NONE
    used[0] = used[-1] = True
    deg = np.zeros((N_POS, B), dtype=np.int64)  # 8 * out-degree + in-degree
    for e, (i, j) in enumerate(EDGES):
        deg[i] += 8 * E[e]
        deg[j] += E[e]
    h = _mix((labels * 64 + deg).astype(np.uint64))
    tmp = np.empty(B, dtype=np.uint64)
    for r in range(ROUNDS):
        m = _mix(h ^ _U(0x5851F42D4C957F2D + r))
        from_in = np.zeros((N_POS, B), dtype=np.uint64)  # sum over in-neighbours w of m[w]
        from_out = np.zeros((N_POS, B), dtype=np.uint64)
        for e, (i, j) in enumerate(EDGES):
            np.multiply(m[i], Eu[e], out=tmp)
            from_in[j] += tmp
            np.multiply(m[j], Eu[e], out=tmp)
            from_out[i] += tmp
        h = _mix(h * _U(0x9FB21C651E98DF25) + from_in * _U(0xD6E8FEB86659FD93)
                 + from_out * _U(0xC2B2AE3D27D4EB4F) + _U(r))
    h = np.where(used, _mix(h ^ _U(0x14057B7EF767814F)), _U(0))
    return _mix(h.sum(axis=0) + used.sum(axis=0).astype(np.uint64))


def prune_edges(edges: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`prune` of cells given as ``(B, 21)`` edge bits and ``(B, 5)`` ops (no 7x7 matrices)."""
    E = np.asarray(edges, dtype=bool).reshape(-1, N_EDGES)
    B = E.shape[0]
    fwd = np.zeros((N_POS, B), dtype=bool)
    fwd[0] = True
    bwd = np.zeros((N_POS, B), dtype=bool)
    bwd[N_POS - 1] = True
    for e, (i, j) in enumerate(EDGES):  # row by row: i ascending, so fwd[i] is final when read
        fwd[j] |= fwd[i] & E[:, e]
    for e in range(N_EDGES - 1, -1, -1):  # j descending within i descending: bwd[j] final when read
        i, j = EDGES[e]
        bwd[i] |= bwd[j] & E[:, e]
    keep = fwd & bwd
    valid = keep[N_POS - 1] & keep[0]
    E = E & keep[_EI].T & keep[_EJ].T
    ops = np.where(keep[1:-1].T, ops, NONE).astype(np.int8)
    return E, ops, valid


def edge_bits(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``(B,)`` to ``(edge bits (B, 21) bool, ops (B, 5) int8)``: :func:`unpack` without the matrices."""
    bits = _bits(codes)
    return bits[:, :N_EDGES].astype(bool), _ops_of_bits(bits)


# --------------------------------------------------------------------------- enumeration
def _full_dag_masks(V: int) -> np.ndarray:
    """NAS-Bench-101's generator's bitmasks of ``V``-vertex cells: every vertex on an
    input-output path (no empty row but the output's, no empty column but the input's),
    at most 9 edges; bit ``x + y (y - 1) / 2`` is edge ``x -> y``; ascending."""
    nb = V * (V - 1) // 2
    masks = np.arange(1 << nb, dtype=np.int64)
    pairs = [(x, y) for y in range(1, V) for x in range(y)]  # bit index order
    bits = ((masks[:, None] >> np.arange(nb)) & 1).astype(bool)
    ok = bits.sum(axis=1) <= MAX_EDGES
    for v in range(V - 1):
        ok &= bits[:, [k for k, (x, _) in enumerate(pairs) if x == v]].any(axis=1)
    for v in range(1, V):
        ok &= bits[:, [k for k, (_, y) in enumerate(pairs) if y == v]].any(axis=1)
    return masks[ok]


def enumerate_cells(max_vertices: int = N_POS) -> tuple[np.ndarray, np.ndarray]:
    """Every cell up to isomorphism, as NAS-Bench-101's ``generate_graphs.py`` finds them.

    Its order: vertex counts ascending, bitmasks ascending, op labellings in product order;
    the first cell of each isomorphism class is the class's representative (the one the
    official data file lists). Returns ``(codes, invariants)`` of the representatives, in
    that order. With ``max_vertices=7`` there are 423,624 (the paper's count, checked by
    the tests against the shipped table).
    """
    codes, invs = [], []
    for V in range(2, max_vertices + 1):
        masks = _full_dag_masks(V)
        pos = list(range(V - 1)) + [N_POS - 1]  # vertex v of the V-vertex cell -> padded position
        adj = np.zeros((masks.size, N_POS, N_POS), dtype=bool)
        k = 0
        for y in range(1, V):
            for x in range(y):
                adj[:, pos[x], pos[y]] = (masks >> k) & 1
                k += 1
        labellings = np.array(list(itertools.product(range(3), repeat=V - 2)), dtype=np.int8).reshape(3 ** (V - 2), V - 2)
        ops = np.full((labellings.shape[0], N_NODES), NONE, dtype=np.int8)
        ops[:, :V - 2] = labellings
        # all (mask, labelling) pairs, mask-major: the generator's loop order
        A = np.repeat(adj, len(ops), axis=0)
        O = np.tile(ops, (masks.size, 1))
        for start in range(0, len(A), 1 << 18):
            a, o = A[start:start + (1 << 18)], O[start:start + (1 << 18)]
            codes.append(pack(a, o))
            invs.append(invariant(a, o))
    code = np.concatenate(codes)
    inv = np.concatenate(invs)
    _, first = np.unique(inv, return_index=True)
    first.sort()
    return code[first], inv[first]
