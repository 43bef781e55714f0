"""The DARTS cell search space of NAS-Bench-301 (Siems et al., 2020; Liu et al., DARTS, 2019).

A network stacks a **normal** and a **reduction** cell. Each cell has two inputs (state 0,
the output of the cell before the previous one, ``c_{k-2}``; state 1, the previous cell's,
``c_{k-1}``) and four intermediate nodes, states 2..5; node ``k`` sums two edges, each an
``(input, op)`` pair with input one of the states ``0..k-1`` (never its own or a later node's
output) and op one of the seven :data:`OPS`; the cell's output concatenates states 2..5.
The two edges of a node read two *distinct* inputs: NAS-Bench-301's configuration space
chooses each node's inputs as a pair (``inputs_node_normal_3 = "0_1"`` ...) and NASLib's
sampler draws them without replacement.

Three forms:

* the official **string**: the DARTS genotype as DARTS and NAS-Bench-301 print it,
  ``Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ...], normal_concat=[2, 3, 4, 5],
  reduce=[...], reduce_concat=[2, 3, 4, 5])``, edges node by node (``range(2, 6)`` is read as
  ``[2, 3, 4, 5]``; NASLib's key, below, is read too);
* **NASLib's genotype tuple** (its ``compact`` form, the keys of NAS-Bench-Suite-Zero's
  ``zc_nasbench301.json``): ``((input, op) x 8 normal, (input, op) x 8 reduce)`` with op codes
  in NASLib's DARTS order :data:`OPS` (0 max_pool_3x3 ... 6 dil_conv_5x5) and inputs numbered
  as the states above; :func:`to_naslib` / :func:`from_naslib` convert;
* the **choice tuple** (:func:`ops_of`): the 32 integers of NASLib's tuple flattened
  (cell, node, edge, then input and op), in canonical edge order.

**Canonical form.** The two edges of a node are summed, so their order does not matter:
the canonical genotype lists the edge with the smaller input first. zcdb identifies no other
architectures: permuting intermediate nodes permutes the channels of the cell output, which the
next cells' 1x1 preprocessing reads with different weights, and NAS-Bench-301's surrogate
distinguishes such genotypes too.

**Global id.** ``size`` is ``None`` (about 10^18 genotypes: nothing enumerates), but every
canonical genotype has an int64 id by a mixed-radix bijection, first factor slowest::

    id   = code(normal) * CELL_SIZE + code(reduce)
    code = ((n2 * 147 + n3) * 294 + n4) * 490 + n5             (node k: radix C(k, 2) * 49)
    n_k  = pair * 49 + op_lo * 7 + op_hi

where ``pair`` numbers the node's two inputs ``lo < hi`` in colex order (``hi * (hi - 1) / 2 + lo``:
(0,1)=0, (0,2)=1, (1,2)=2, (0,3)=3, ...) and ``op_lo``/``op_hi`` are the ops on the edges from
``lo`` and ``hi``. ``CELL_SIZE = 49 * 147 * 294 * 490 = 1,037,664,180``; the ids run over
``0 .. NUM_GENOTYPES - 1`` with ``NUM_GENOTYPES = CELL_SIZE**2 = 1,076,746,950,455,072,400``
(< 2**63 = 9.2e18).
"""

from __future__ import annotations

import re
from typing import Any, Sequence, Union

import numpy as np

from ..errors import MissingCapability, UnknownArch, short_repr as _shown
from .base import SearchSpace, genuine_int

NAME = "nb301"
#: NASLib's DARTS op order (its op code is the position here).
OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                        "dil_conv_3x3", "dil_conv_5x5")
NUM_OPS = len(OPS)
CELLS: tuple[str, ...] = ("normal", "reduce")
#: DARTS state numbers of the intermediate nodes; node ``k`` reads states ``0..k-1``.
NODES: tuple[int, ...] = (2, 3, 4, 5)
#: Names of the states an edge can read.
STATES: tuple[str, ...] = ("c_k-2", "c_k-1", "n2", "n3", "n4")
#: Edges per cell (two per node) and integers per choice tuple.
EDGES_PER_CELL = 2 * len(NODES)
TUPLE_LEN = 2 * len(CELLS) * EDGES_PER_CELL  # 32
#: Per node: unordered input pairs times the two edges' ops.
NODE_RADIX: tuple[int, ...] = tuple(k * (k - 1) // 2 * NUM_OPS * NUM_OPS for k in NODES)  # 49, 147, 294, 490
CELL_SIZE = int(np.prod(NODE_RADIX, dtype=np.int64))  # 1,037,664,180
NUM_GENOTYPES = CELL_SIZE * CELL_SIZE  # 1,076,746,950,455,072,400
#: Mutation neighbours of every genotype: 6 other ops per edge, ``k - 2`` other inputs per edge of node k.
NEIGHBOUR_WIDTH = len(CELLS) * (EDGES_PER_CELL * (NUM_OPS - 1) + sum(2 * (k - 2) for k in NODES))  # 120

ArchLike = Union[str, int, np.integer, Sequence[Any]]

_OP_INDEX = {name: i for i, name in enumerate(OPS)}
#: Colex pair number -> (lo, hi), for every pair of states 0..4.
_PAIRS = np.array([(lo, hi) for hi in range(1, 5) for lo in range(hi)], dtype=np.int64)

_FORM = ("write it as Genotype(normal=[('op', input) x 8], normal_concat=[2, 3, 4, 5], reduce=[...], "
         "reduce_concat=[2, 3, 4, 5]) or as NASLib's key [[(input, op) x 8], [(input, op) x 8]]")
_CONCAT = r"(?:\[\s*2\s*,\s*3\s*,\s*4\s*,\s*5\s*,?\s*\]|range\(\s*2\s*,\s*6\s*\))"
_OP_EDGE = r"\(\s*['\"](\w{1,20})['\"]\s*,\s*(\d{1,3})\s*,?\s*\)"
_GENO_CELL = r"\[\s*((?:" + _OP_EDGE.replace("(\\w{1,20})", "\\w{1,20}").replace("(\\d{1,3})", "\\d{1,3}") \
    + r"\s*,?\s*)*)\]"
_GENOTYPE = re.compile(r"Genotype\(\s*normal\s*=\s*" + _GENO_CELL + r"\s*,\s*normal_concat\s*=\s*" + _CONCAT
                       + r"\s*,\s*reduce\s*=\s*" + _GENO_CELL + r"\s*,\s*reduce_concat\s*=\s*" + _CONCAT
                       + r"\s*\)")
_OP_EDGE_RE = re.compile(_OP_EDGE)
_KEY_CELL = r"[\[(]((?:\(\d{1,3},\d{1,3}\),?)*)[\])]"
_KEY = re.compile(r"[\[(]" + _KEY_CELL + "," + _KEY_CELL + r",?[\])]")
_KEY_EDGE_RE = re.compile(r"\((\d{1,3}),(\d{1,3})\)")


# --------------------------------------------------------------------------- validation
def _check_cells(cells: Sequence[Sequence[tuple[int, int]]], what: str) -> tuple[int, ...]:
    """Validated ``(input, op)`` pairs of both cells to the flat choice tuple as written (not canonical)."""
    if len(cells) != len(CELLS):
        raise UnknownArch(f"{what} must have 2 cells (normal, reduce), got {len(cells)}: {_FORM}")
    flat: list[int] = []
    for cell, edges in zip(CELLS, cells):
        if len(edges) != EDGES_PER_CELL:
            raise UnknownArch(f"{what}: the {cell} cell must have 8 (input, op) edges (2 per node), got "
                              f"{len(edges)}: {_FORM}")
        for e, (inp, op) in enumerate(edges):
            node = NODES[e // 2]
            if not 0 <= op < NUM_OPS:
                raise UnknownArch(f"{what}: {cell} edge {e} has op code {op}, not one of the 7 ops 0..6 "
                                  f"({', '.join(OPS)})")
            if not 0 <= inp < node:
                raise UnknownArch(f"{what}: {cell} node {node} (edge {e}) reads state {inp}, its own or a later "
                                  f"node's output: node k reads states 0..k-1")
            flat += [int(inp), int(op)]
        for node_pos, node in enumerate(NODES):
            if flat[-16 + 4 * node_pos] == flat[-16 + 4 * node_pos + 2]:
                raise UnknownArch(f"{what}: {cell} node {node} reads state {flat[-16 + 4 * node_pos]} on both "
                                  f"its edges: NAS-Bench-301's nodes take two distinct inputs")
    return tuple(flat)


def parse(text: str) -> tuple[int, ...]:
    """The genotype string (or NASLib's key string) to its choice tuple, edges as written."""
    if not isinstance(text, str):
        raise UnknownArch(f"an nb301 architecture string must be a str, got {_shown(text)}")
    s = text.strip()
    m = _GENOTYPE.fullmatch(s)
    if m is not None:
        cells = []
        for body in (m.group(1), m.group(2)):
            edges = []
            for name, inp in _OP_EDGE_RE.findall(body):
                if name not in _OP_INDEX:
                    raise UnknownArch(f"nb301 genotype {_shown(text)}: op {name!r} is not one of the 7 ops "
                                      f"{', '.join(OPS)}")
                edges.append((int(inp), _OP_INDEX[name]))
            cells.append(edges)
        return _check_cells(cells, f"nb301 genotype {_shown(text)}")
    m = _KEY.fullmatch(re.sub(r"\s+", "", s))
    if m is not None:
        cells = [[(int(a), int(b)) for a, b in _KEY_EDGE_RE.findall(body)] for body in (m.group(1), m.group(2))]
        return _check_cells(cells, f"NASLib nb301 key {_shown(text)}")
    raise UnknownArch(f"not an nb301 genotype: {_shown(text)}: {_FORM}")


def from_naslib(key: Any) -> tuple[int, ...]:
    """The canonical choice tuple of NASLib's genotype tuple ``((input, op) x 8, (input, op) x 8)``
    (NAS-Bench-Suite-Zero's keys; lists or tuples), of its key string, or of the 32 integers flattened."""
    if isinstance(key, str):
        return canonical_tuple(parse(key))
    what = f"NASLib nb301 genotype {_shown(key)}"
    if isinstance(key, np.ndarray):
        key = key.tolist()
    if not isinstance(key, (tuple, list)):
        raise UnknownArch(f"{what}: expected 2 cells of 8 (input, op) pairs: {_FORM}")
    if len(key) == TUPLE_LEN and all(genuine_int(x) for x in key):
        cells = [[(int(key[c * 16 + 2 * e]), int(key[c * 16 + 2 * e + 1])) for e in range(EDGES_PER_CELL)]
                 for c in range(2)]
        return canonical_tuple(_check_cells(cells, what))
    if len(key) != 2:
        raise UnknownArch(f"{what}: expected 2 cells (normal, reduce) of 8 (input, op) pairs, or 32 integers: {_FORM}")
    cells = []
    for cell in key:
        if isinstance(cell, np.ndarray):
            cell = cell.tolist()
        if not isinstance(cell, (tuple, list)) or not all(
                isinstance(p, (tuple, list, np.ndarray)) and len(p) == 2 and all(genuine_int(x) for x in p)
                for p in cell):
            raise UnknownArch(f"{what}: each cell must be a sequence of (input, op) integer pairs: {_FORM}")
        cells.append([(int(p[0]), int(p[1])) for p in cell])
    return canonical_tuple(_check_cells(cells, what))


def to_naslib(arch: ArchLike) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """NASLib's genotype tuple (its ``compact`` form) of an architecture, in canonical edge order."""
    t = ops_of(arch)
    return tuple(tuple((t[c * 16 + 2 * e], t[c * 16 + 2 * e + 1]) for e in range(EDGES_PER_CELL))
                 for c in range(2))  # type: ignore[return-value]


def format_arch(ops: Sequence[int]) -> str:
    """A choice tuple (edges in the order given) to the genotype string."""
    t = tuple(int(x) for x in ops)
    cells = [", ".join(f"('{OPS[t[c * 16 + 2 * e + 1]]}', {t[c * 16 + 2 * e]})" for e in range(EDGES_PER_CELL))
             for c in range(2)]
    return (f"Genotype(normal=[{cells[0]}], normal_concat=[2, 3, 4, 5], "
            f"reduce=[{cells[1]}], reduce_concat=[2, 3, 4, 5])")


# --------------------------------------------------------------------------- canonical form and ids
def canonical_rows(rows: np.ndarray) -> np.ndarray:
    """``(n, 32)`` choice tuples with each node's edges ordered by input (a copy)."""
    r = np.array(rows, dtype=np.int64).reshape(-1, TUPLE_LEN)
    edge = r.reshape(-1, 2 * len(NODES), 2, 2)  # (n, cell*node, edge, input/op)
    swap = edge[:, :, 0, 0] > edge[:, :, 1, 0]
    edge[swap] = edge[swap][:, ::-1]
    return edge.reshape(-1, TUPLE_LEN)


def canonical_tuple(t: Sequence[int]) -> tuple[int, ...]:
    """One choice tuple in canonical edge order."""
    out = [int(v) for v in t]
    for j in range(0, TUPLE_LEN, 4):
        if out[j] > out[j + 2]:
            out[j:j + 4] = out[j + 2:j + 4] + out[j:j + 2]
    return tuple(out)


def ids_of_rows(rows: np.ndarray) -> np.ndarray:
    """Global ids of ``(n, 32)`` valid choice tuples (in any edge order), vectorized."""
    edge = canonical_rows(rows).reshape(-1, 2, len(NODES), 2, 2)
    lo, hi = edge[..., 0, 0], edge[..., 1, 0]
    node_code = (hi * (hi - 1) // 2 + lo) * NUM_OPS * NUM_OPS + edge[..., 0, 1] * NUM_OPS + edge[..., 1, 1]
    cell_code = np.zeros(node_code.shape[:2], dtype=np.int64)
    for k, radix in enumerate(NODE_RADIX):
        cell_code = cell_code * radix + node_code[..., k]
    return cell_code[:, 0] * CELL_SIZE + cell_code[:, 1]


def rows_of_ids(ids: np.ndarray) -> np.ndarray:
    """``(n, 32)`` canonical choice tuples of global ids (range-checked), vectorized."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= NUM_GENOTYPES):
        bad = ids[(ids < 0) | (ids >= NUM_GENOTYPES)][0]
        raise UnknownArch(f"nb301 id {int(bad)} out of range 0..{NUM_GENOTYPES - 1}")
    out = np.empty((ids.size, 2, len(NODES), 2, 2), dtype=np.int64)
    for c, code in enumerate((ids // CELL_SIZE, ids % CELL_SIZE)):
        for k in range(len(NODES) - 1, -1, -1):
            code, node_code = np.divmod(code, NODE_RADIX[k])
            pair, ops = np.divmod(node_code, NUM_OPS * NUM_OPS)
            out[:, c, k, 0, 0] = _PAIRS[pair, 0]
            out[:, c, k, 1, 0] = _PAIRS[pair, 1]
            out[:, c, k, 0, 1], out[:, c, k, 1, 1] = np.divmod(ops, NUM_OPS)
    return out.reshape(-1, TUPLE_LEN)


_PAIR_LIST = [tuple(p) for p in _PAIRS.tolist()]


def _row_of_id(i: int) -> tuple[int, ...]:
    """:func:`rows_of_ids` of one id in Python integers (a single architecture: no array overhead)."""
    out: list[int] = []
    for code in divmod(i, CELL_SIZE):
        nodes = []
        for radix in reversed(NODE_RADIX):
            code, node_code = divmod(code, radix)
            nodes.append(node_code)
        for node_code in reversed(nodes):
            pair, ops = divmod(node_code, NUM_OPS * NUM_OPS)
            (lo, hi), (op_lo, op_hi) = _PAIR_LIST[pair], divmod(ops, NUM_OPS)
            out += [lo, op_lo, hi, op_hi]
    return tuple(out)


def _id_of_row(t: Sequence[int]) -> int:
    """:func:`ids_of_rows` of one valid choice tuple, in Python integers."""
    codes = []
    for c in range(2):
        code = 0
        for k, radix in enumerate(NODE_RADIX):
            a, op_a, b, op_b = t[c * 16 + 4 * k:c * 16 + 4 * k + 4]
            if a > b:
                a, op_a, b, op_b = b, op_b, a, op_a
            code = code * radix + (b * (b - 1) // 2 + a) * NUM_OPS * NUM_OPS + op_a * NUM_OPS + op_b
        codes.append(code)
    return codes[0] * CELL_SIZE + codes[1]


def _tuple_of(arch: ArchLike) -> tuple[int, ...]:
    """The canonical choice tuple of a string, an id or a tuple form."""
    if isinstance(arch, str):
        return canonical_tuple(parse(arch))
    if genuine_int(arch):
        i = int(arch)
        if not 0 <= i < NUM_GENOTYPES:
            raise UnknownArch(f"nb301 id {i} out of range 0..{NUM_GENOTYPES - 1}")
        return _row_of_id(i)
    if isinstance(arch, (tuple, list, np.ndarray)) and hasattr(arch, "normal") and hasattr(arch, "reduce"):
        # a DARTS Genotype namedtuple: (op name, input) pairs
        return canonical_tuple(parse(_genotype_text(arch)))
    return from_naslib(arch)


def _genotype_text(g: Any) -> str:
    def cell(edges: Any) -> str:
        return "[" + ", ".join(f"({op!r}, {inp!r})" for op, inp in edges) + "]"

    try:
        return (f"Genotype(normal={cell(g.normal)}, normal_concat=[2, 3, 4, 5], reduce={cell(g.reduce)}, "
                f"reduce_concat=[2, 3, 4, 5])")
    except (TypeError, ValueError):
        raise UnknownArch(f"a DARTS Genotype must hold (op name, input) pairs, got {_shown(g)}") from None


def index_of(arch: ArchLike) -> int:
    """The global id of a genotype string, NASLib key or tuple, DARTS Genotype, choice tuple or id."""
    if genuine_int(arch):
        _tuple_of(arch)  # range check
        return int(arch)
    return _id_of_row(_tuple_of(arch))


def ops_of(arch: ArchLike) -> tuple[int, ...]:
    """The canonical 32-integer choice tuple."""
    return _tuple_of(arch)


def string_of(arch: ArchLike) -> str:
    """The canonical genotype string."""
    return format_arch(_tuple_of(arch))


# --------------------------------------------------------------------------- moves and encodings
def _node_code(a: np.ndarray, op_a: np.ndarray, b: np.ndarray, op_b: np.ndarray) -> np.ndarray:
    """The mixed-radix digit of a node with edges ``(a, op_a)`` and ``(b, op_b)`` in either order."""
    swap = a > b
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    op_lo, op_hi = np.where(swap, op_b, op_a), np.where(swap, op_a, op_b)
    return (hi * (hi - 1) // 2 + lo) * NUM_OPS * NUM_OPS + op_lo * NUM_OPS + op_hi


#: Weight of each (cell, node) digit in the global id.
_DIGIT_WEIGHT = np.array([[int(np.prod(NODE_RADIX[k + 1:], dtype=np.int64)) * (CELL_SIZE if c == 0 else 1)
                           for k in range(len(NODES))] for c in range(2)], dtype=np.int64)


def neighbour_rows(ids: np.ndarray) -> np.ndarray:
    """``(n, 120)`` ids one mutation away, NASLib's DARTS neighbourhood: for each cell and edge (in
    canonical order), each of the 6 other ops, then each other input the node does not already read,
    in increasing order. Always 120 distinct genotypes, never the genotype itself.

    A move changes one node's digit of the id, so each neighbour is the id plus the change of that
    digit times its weight (no re-encoding of whole genotypes)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    edge = rows_of_ids(ids).reshape(-1, 2, len(NODES), 2, 2)
    out = []
    for c in range(2):
        for k, node in enumerate(NODES):
            a, b = edge[:, c, k, 0, 0], edge[:, c, k, 1, 0]
            op_a, op_b = edge[:, c, k, 0, 1], edge[:, c, k, 1, 1]
            old = _node_code(a, op_a, b, op_b)
            weight = _DIGIT_WEIGHT[c, k]
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            for e in (0, 1):
                inp, op = (a, op_a) if e == 0 else (b, op_b)
                other, other_op = (b, op_b) if e == 0 else (a, op_a)
                for delta in range(1, NUM_OPS):
                    new = _node_code(inp, (op + delta) % NUM_OPS, other, other_op)
                    out.append(ids + (new - old) * weight)
                for v in range(node - 2):
                    # the v-th smallest state in 0..node-1 other than the node's two inputs
                    state = v + (v >= lo)
                    state = state + (state >= hi)
                    out.append(ids + (_node_code(state, op, other, other_op) - old) * weight)
    return np.stack(out, axis=1) if out else np.empty((0, NEIGHBOUR_WIDTH), dtype=np.int64)


def onehot_encoding(ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """One column per (position, choice) of the canonical choice tuple (168 columns)."""
    rows = rows_of_ids(ids)
    cols, blocks = [], []
    for k, (pos, names) in enumerate(zip(POSITIONS, CHOICES)):
        cols += [f"onehot:{pos}={c}" for c in names]
        blocks.append(rows[:, k:k + 1] == np.arange(len(names))[None, :])
    return cols, np.concatenate(blocks, axis=1).astype(np.float64)


def adjacency_encoding(ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """One column per cell, possible edge (state i -> node k, 14 per cell) and op: 1 where the
    genotype has that edge with that op (196 columns, 16 ones a row; independent of edge order)."""
    rows = rows_of_ids(ids).reshape(-1, 2, EDGES_PER_CELL, 2)
    slots = [(k, i) for k in NODES for i in range(k)]
    slot_of = {s: n for n, s in enumerate(slots)}
    slot_idx = np.array([[slot_of[(NODES[e // 2], i)] if i < NODES[e // 2] else -1 for i in range(5)]
                         for e in range(EDGES_PER_CELL)], dtype=np.int64)
    width = len(slots) * NUM_OPS
    X = np.zeros((rows.shape[0], 2 * width), dtype=np.float64)
    n = np.arange(rows.shape[0])
    for c in range(2):
        for e in range(EDGES_PER_CELL):
            col = c * width + slot_idx[e, rows[:, c, e, 0]] * NUM_OPS + rows[:, c, e, 1]
            X[n, col] = 1.0
    cols = [f"adjacency:{cell}:{STATES[i]}->n{k}={op}" for cell in CELLS for k, i in slots for op in OPS]
    return cols, X


def naslib_encoding(ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """NASLib's ``adjacency_one_hot`` DARTS encoding (``encode_adj``) of the canonical genotype: per cell
    the 7 x 7 adjacency of states 0..5 and the output (row-major) and the 8 op codes as numbers."""
    rows = rows_of_ids(ids).reshape(-1, 2, EDGES_PER_CELL, 2)
    n = rows.shape[0]
    parts, cols = [], []
    for c, cell in enumerate(CELLS):
        adj = np.zeros((n, 7, 7), dtype=np.float64)
        for e in range(EDGES_PER_CELL):
            adj[np.arange(n), rows[:, c, e, 0], NODES[e // 2]] = 1.0
        adj[:, 2:6, 6] = 1.0
        parts += [adj.reshape(n, 49), rows[:, c, :, 1].astype(np.float64)]
        cols += [f"naslib:{cell}:adj{i}{j}" for i in range(7) for j in range(7)]
        cols += [f"naslib:{cell}:op{e}" for e in range(EDGES_PER_CELL)]
    return cols, np.concatenate(parts, axis=1)


POSITIONS: tuple[str, ...] = tuple(f"{cell}:n{k}.{e}:{part}" for cell in CELLS for k in NODES for e in (0, 1)
                                   for part in ("input", "op"))
CHOICES: tuple[tuple[str, ...], ...] = tuple(STATES[:k] if part == "input" else OPS
                                             for cell in CELLS for k in NODES for e in (0, 1)
                                             for part in ("input", "op"))
_ENCODERS = {"onehot": onehot_encoding, "adjacency": adjacency_encoding, "naslib": naslib_encoding}


class NB301Space(SearchSpace):
    """The DARTS space of NAS-Bench-301: about 1.08e18 canonical genotypes, not enumerable
    (``size = None``), each with a global int64 id (module docstring)."""

    name = NAME
    importers = ("naslib-zc",)
    size = None
    positions = POSITIONS
    choices = CHOICES
    #: Not every combination of the choice positions is a genotype (a node's two inputs must differ).
    product = False
    #: NAS-Bench-301's networks are CIFAR-10 ones (:mod:`zcdb.spaces.nb301_network`).
    datasets = ("cifar10",)
    network_builder = ("nb301_network", "build_nb301")
    cost_counter = "nb301_cost"
    #: NAS-Bench-301 and NAS-Bench-Suite-Zero's nb301 files are CIFAR-10 (imports elsewhere need --new-dataset).
    benchmark_datasets = ("cifar10",)
    encodings = tuple(_ENCODERS)
    #: NAS-Bench-Suite-Zero's val_accuracy for nb301: the final (epoch 100) validation accuracy of
    #: NAS-Bench-301's training pipeline (NASLib queries nb301 at epoch -1/100 only).
    suite_zero_epoch = 100
    #: Its params/flops are NASLib's DARTS evaluation network's, not quantities NAS-Bench-301
    #: released, so they stay proxy scores.
    suite_zero_costs = False
    num_genotypes = NUM_GENOTYPES
    cell_size = CELL_SIZE

    parse = staticmethod(parse)
    format_arch = staticmethod(format_arch)
    index_of = staticmethod(index_of)
    string_of = staticmethod(string_of)
    ops_of = staticmethod(ops_of)
    to_naslib = staticmethod(to_naslib)

    def from_naslib(self, key: Any) -> tuple[int, ...]:
        return from_naslib(key)

    @property
    def index_dtype(self) -> np.dtype:
        return np.dtype(np.int64)

    def _not_enumerable(self, what: str) -> MissingCapability:
        try:
            self.require_size(what)
        except MissingCapability as exc:
            return exc
        raise RuntimeError("nb301 has no size")  # pragma: no cover

    def indices_of(self, archs: Any) -> np.ndarray:
        """Global ids of each (an int array is range-checked at once, without any table)."""
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            idx = archs.astype(np.int64, copy=False).reshape(-1)
            if archs.dtype.kind == "u" and archs.size and archs.max() >= NUM_GENOTYPES:
                raise UnknownArch(f"nb301 id {int(archs.max())} out of range 0..{NUM_GENOTYPES - 1}")
            rows_of_ids(idx)
            return idx
        return np.array([index_of(a) for a in archs], dtype=np.int64)

    def ops_rows(self, ids: np.ndarray) -> np.ndarray:
        """``(n, 32)`` canonical choice tuples of ids (what a sample's ``ops_matrix`` holds)."""
        return rows_of_ids(ids)

    def ops_matrix(self) -> np.ndarray:
        raise self._not_enumerable("a matrix of every architecture's choices")

    def all_strings(self) -> tuple[str, ...]:
        raise self._not_enumerable("a list of every architecture string")

    def index_map(self) -> dict[str, int]:
        raise self._not_enumerable("a table of every architecture string")

    def canonical(self, arch: ArchLike) -> str:
        """The genotype string with each node's edges ordered by input (the only equivalence zcdb
        identifies; the module docstring says why node permutations are not)."""
        return string_of(arch)

    def sample(self, n: int, seed: int, replace: bool = False) -> np.ndarray:
        """``n`` ids drawn uniformly over canonical genotypes with a seeded numpy generator: the same
        distribution as NASLib's sampler (two distinct inputs and two uniform ops per node)."""
        if not genuine_int(n) or n < 0:
            raise UnknownArch(f"cannot sample {n!r} nb301 architectures: give a count >= 0")
        rng = np.random.default_rng(seed)
        ids = rng.integers(0, NUM_GENOTYPES, size=int(n), dtype=np.int64)
        if not replace:
            _, first = np.unique(ids, return_index=True)
            while first.size < ids.size:  # a repeat among 1e18 is all but impossible; redraw it anyway
                keep = ids[np.sort(first)]
                ids = np.concatenate([keep, rng.integers(0, NUM_GENOTYPES, size=ids.size - keep.size,
                                                         dtype=np.int64)])
                _, first = np.unique(ids, return_index=True)
        return ids

    def neighbours(self, arch: ArchLike) -> list[int]:
        """The 120 ids one mutation away (:func:`neighbour_rows`)."""
        return neighbour_rows(np.array([index_of(arch)], dtype=np.int64))[0].tolist()

    def neighbour_rows(self, indices: np.ndarray) -> np.ndarray:
        return neighbour_rows(np.asarray(indices, dtype=np.int64).reshape(-1))

    @property
    def neighbour_width(self) -> int:
        return NEIGHBOUR_WIDTH

    def padded_neighbours(self) -> np.ndarray:
        raise self._not_enumerable("a neighbour table of every architecture")

    def encode(self, indices: np.ndarray, kind: str = "onehot") -> tuple[list[str], np.ndarray]:
        """Surrogate features of ids: ``onehot`` (per choice position), ``adjacency`` (per cell, edge
        and op; independent of edge order) or ``naslib`` (NASLib's adjacency_one_hot)."""
        enc = _ENCODERS.get(kind)
        if enc is None:
            return super().encode(indices, kind)
        return enc(np.asarray(indices, dtype=np.int64).reshape(-1))


SPACE = NB301Space()
