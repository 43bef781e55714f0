"""The NAS-Bench-201 cell search space (also NATS-Bench's topology space, "tss").

A cell is a DAG on four nodes; each of its six edges ``i -> j`` (``i < j``)
carries one of five operations. The official architecture string lists the
edges node by node::

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
     e01     e02  e12     e03  e13  e23

Three representations are used throughout zcdb:

* the official **string** (at the edges of the system: files, CLI, reports);
* the official **index** ``0..15624`` (inside hot loops and in the store): the
  order of the official benchmark files, i.e. the product order of the
  operations shuffled with ``random.seed(88)`` exactly as NAS-Bench-201's
  generator script did;
* the **ops tuple**: six operation indices into :data:`OPS`, in string order.

NASLib numbers operations and edges differently; :func:`to_naslib` and
:func:`from_naslib` convert.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from typing import Any, Iterable, Sequence, Union

import numpy as np

from ..errors import UnknownArch, short_repr as _shown
from . import _radix
from .base import SearchSpace, uniform_sample

NAME = "nb201"
#: Operation names in the official order (the order of the official search space list).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Edges ``(from_node, to_node)`` in the order of the official string.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_OPS = len(OPS)
NUM_EDGES = len(EDGES)
NUM_ARCHS = NUM_OPS**NUM_EDGES  # 15,625

#: NASLib's operation numbering: NASLib index -> official op index.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib tuple position k holds the edge at official string position NASLIB_EDGE_POS[k]
#: (NASLib's edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) of its 1-based cell graph).
NASLIB_EDGE_POS: tuple[int, ...] = (0, 1, 3, 2, 4, 5)

ArchLike = Union[str, int, np.integer, Sequence[int]]

_OP_INDEX = {name: i for i, name in enumerate(OPS)}
_TEMPLATE = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|"
_PATTERN = re.compile(
    r"\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|"
)
_POW = _radix.powers((NUM_OPS,) * NUM_EDGES)
_FORMAT_HINT = "write it as '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op in " + ", ".join(OPS)


# --------------------------------------------------------------------------- strings
def parse(arch: str) -> tuple[int, ...]:
    """Parse an official architecture string into its ops tuple.

    Raises :class:`UnknownArch` naming the problem for anything malformed.
    """
    if not isinstance(arch, str):
        raise UnknownArch(f"nb201 architecture must be a string, got {type(arch).__name__}: pass an official string")
    m = _PATTERN.fullmatch(arch.strip())
    if m is None:
        raise UnknownArch(f"malformed nb201 architecture {_shown(arch)}: {_FORMAT_HINT}")
    try:
        return tuple(_OP_INDEX[name] for name in m.groups())
    except KeyError as exc:
        raise UnknownArch(
            f"unknown operation {exc.args[0]!r} in nb201 architecture {_shown(arch)}: use one of {', '.join(OPS)}"
        ) from None


def format_arch(ops: Sequence[int]) -> str:
    """Format an ops tuple as the official architecture string."""
    return _TEMPLATE.format(*(OPS[i] for i in _check_ops(ops)))


def _integers(values: object, what: str) -> tuple[int, ...]:
    """``values`` as a tuple of six ints in 0..4: a tuple, list or array of genuine integers.

    Floats, bools and strings are refused rather than converted: ``int(1.9)`` and
    ``int("1")`` would silently name another architecture than the caller meant.
    """
    ok = isinstance(values, (tuple, list)) or (isinstance(values, np.ndarray) and values.ndim == 1)
    if ok:
        t = tuple(values)
        ok = all(isinstance(o, (int, np.integer)) and not isinstance(o, (bool, np.bool_)) for o in t)
    if not ok or len(t) != NUM_EDGES or any(o < 0 or o >= NUM_OPS for o in t):
        raise UnknownArch(
            f"{what} must be {NUM_EDGES} integers in 0..{NUM_OPS - 1}, got {_shown(values)}: "
            "give a tuple of ints, an official string or an official index"
        )
    return tuple(int(o) for o in t)


def _check_ops(ops: Sequence[int]) -> tuple[int, ...]:
    return _integers(ops, "an nb201 ops tuple")


# --------------------------------------------------------------------------- official index
def _code(ops: Sequence[int]) -> int:
    return _radix.code(ops, NUM_OPS)


def _decode(code: int) -> tuple[int, ...]:
    return _radix.decode(code, NUM_OPS, NUM_EDGES)


@functools.lru_cache(maxsize=1)
def _index_to_code() -> np.ndarray:
    # NAS-Bench-201's generator enumerated the ops product (first edge slowest) and
    # shuffled it with random.seed(88); Python's shuffle is stable across versions,
    # so this regenerates the official order without reading any benchmark file.
    codes = list(range(NUM_ARCHS))
    random.Random(88).shuffle(codes)
    arr = np.array(codes, dtype=np.int64)
    arr.setflags(write=False)
    return arr


@functools.lru_cache(maxsize=1)
def _code_to_index() -> np.ndarray:
    inv = np.empty(NUM_ARCHS, dtype=np.int64)
    inv[_index_to_code()] = np.arange(NUM_ARCHS)
    inv.setflags(write=False)
    return inv


@functools.lru_cache(maxsize=1)
def all_strings() -> tuple[str, ...]:
    """Official strings of all 15,625 architectures, by official index."""
    # in code order (the ops product, first edge slowest), formatted without validating each cell
    by_code = [_TEMPLATE.format(*ops) for ops in itertools.product(OPS, repeat=NUM_EDGES)]
    return tuple(by_code[c] for c in _index_to_code().tolist())


@functools.lru_cache(maxsize=1)
def _string_to_index() -> dict[str, int]:
    return {s: i for i, s in enumerate(all_strings())}


def index_of(arch: ArchLike) -> int:
    """Official index of an architecture given as string, index or ops tuple."""
    if isinstance(arch, str):
        # the table of all strings once it exists (loops); a single lookup parses (a new process
        # answering one query need not format 15,625 strings)
        i = _string_to_index().get(arch) if _string_to_index.cache_info().currsize else None
        if i is None:
            return int(_code_to_index()[_code(parse(arch))])
        return i
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
        i = int(arch)
        if not 0 <= i < NUM_ARCHS:
            raise UnknownArch(f"nb201 index {_shown(i)} out of range 0..{NUM_ARCHS - 1}: give an index in that range")
        return i
    return int(_code_to_index()[_code(_check_ops(arch))])


def ops_of(arch: ArchLike) -> tuple[int, ...]:
    """Ops tuple of an architecture given as string, index or ops tuple."""
    if isinstance(arch, str):
        return parse(arch)
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
        return _decode(int(_index_to_code()[index_of(arch)]))
    return _check_ops(arch)


def string_of(arch: ArchLike) -> str:
    """Official string of an architecture given as string, index or ops tuple."""
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
        if all_strings.cache_info().currsize:
            return all_strings()[index_of(arch)]
        return format_arch(ops_of(arch))
    return format_arch(ops_of(arch))


def ops_matrix() -> np.ndarray:
    """``(15625, 6)`` int8 array: ops tuple of every architecture, by official index."""
    return _ops_matrix()


@functools.lru_cache(maxsize=1)
def _ops_matrix() -> np.ndarray:
    return _radix.digit_matrix(_index_to_code(), _POW, NUM_OPS)


# --------------------------------------------------------------------------- NASLib
def to_naslib(arch: ArchLike) -> tuple[int, ...]:
    """NASLib's ops tuple (NASLib op numbering and edge order) of an architecture."""
    ops = ops_of(arch)
    return tuple(NASLIB_OPS.index(OPS[ops[pos]]) for pos in NASLIB_EDGE_POS)


def from_naslib(naslib: Sequence[int]) -> tuple[int, ...]:
    """Official ops tuple from NASLib's tuple (as in NAS-Bench-Suite-Zero's keys)."""
    t = _integers(naslib, "a NASLib nb201 tuple")
    ops = [0] * NUM_EDGES
    for k, pos in enumerate(NASLIB_EDGE_POS):
        ops[pos] = _OP_INDEX[NASLIB_OPS[t[k]]]
    return tuple(ops)


# --------------------------------------------------------------------------- isomorphism
def canonical(arch: ArchLike) -> str:
    """Canonical form under isomorphism: equal exactly for architectures computing the same function.

    Each node's value is written as a sum of terms over its incoming edges, sorted
    (addition commutes): ``skip_connect`` passes the input's expression through,
    ``none`` (or an input that is identically zero) gives the zero term ``#``, any
    other op wraps the input as ``(expr)@op``. The output node's expression is the
    canonical form. This is the equivalence NATS-Bench uses for its unique strings
    (6,466 classes); the strings themselves are formatted the same way.
    """
    ops = ops_of(arch)
    nodes = ["0"]
    for j in range(1, 4):
        nodes.append("+".join(sorted(_term(nodes[i], OPS[ops[k]]) for k, (i, to) in enumerate(EDGES) if to == j)))
    return nodes[3]


def _term(node: str, op: str) -> str:
    """The term an edge with ``op`` adds to its target node's sum, from its source node's expression."""
    if op == "none" or node == "#":
        return "#"
    if op == "skip_connect":
        return node
    return f"({node})@{op}"


@functools.lru_cache(maxsize=1)
def canonical_representatives() -> np.ndarray:
    """For each official index, the smallest official index of its isomorphism class.

    The canonical forms of all 15,625 cells are built node by node in code order (the ops product,
    first edge slowest): the code's leading three digits are the edges into nodes 1 and 2 and its
    last three the edges into node 3, so node 2's expression is made once per 125 cells and each
    cell only sorts its three last terms (the strings of :func:`canonical`, ten times faster than
    calling it per cell)."""
    assert EDGES[:3] == ((0, 1), (0, 2), (1, 2)) and EDGES[3:] == ((0, 3), (1, 3), (2, 3))
    forms: list[str] = []
    into3_from0 = [_term("0", op) for op in OPS]
    for e01, e02, e12 in itertools.product(OPS, repeat=3):
        n1 = _term("0", e01)
        n2 = "+".join(sorted((_term("0", e02), _term(n1, e12))))
        from1 = [_term(n1, op) for op in OPS]
        from2 = [_term(n2, op) for op in OPS]
        forms += ["+".join(sorted((a, b, c))) for a in into3_from0 for b in from1 for c in from2]
    first: dict[str, int] = {}
    rep = np.array([first.setdefault(forms[code], i) for i, code in enumerate(_index_to_code().tolist())],
                   dtype=np.int64)
    rep.setflags(write=False)
    return rep


def output_reachable(arch: ArchLike) -> bool:
    """Whether the cell output depends on its input once ``none`` edges are pruned.

    ``False`` means every path from node 0 to node 3 crosses a ``none`` edge: the
    cell outputs zeros whatever its input.
    """
    ops = ops_of(arch)
    reach = [True, False, False, False]
    for k, (i, j) in enumerate(EDGES):
        if ops[k] != 0 and reach[i]:
            reach[j] = True
    return reach[3]


# --------------------------------------------------------------------------- enumeration & moves
def enumerate_archs() -> Iterable[str]:
    """All 15,625 official strings in official index order."""
    return iter(all_strings())


def sample(n: int, seed: int, replace: bool = False) -> np.ndarray:
    """``n`` official indices drawn uniformly with a seeded numpy generator."""
    return uniform_sample("nb201", NUM_ARCHS, n, seed, replace)


def neighbours(arch: ArchLike) -> list[int]:
    """Official indices of the 24 architectures that differ from ``arch`` in exactly one edge.

    Ordered edge by edge; on each edge, the op indices ``(op + 1) % 5 .. (op + 4) % 5``.
    """
    return neighbour_table()[index_of(arch)].tolist()


@functools.lru_cache(maxsize=1)
def neighbour_table() -> np.ndarray:
    """``(15625, 24)`` array of :func:`neighbours` for every index (for vectorized search loops)."""
    ops = _ops_matrix().astype(np.int64)
    codes = _index_to_code()
    cols = []
    for k in range(NUM_EDGES):
        for delta in range(1, NUM_OPS):
            new_op = (ops[:, k] + delta) % NUM_OPS
            cols.append(codes + (new_op - ops[:, k]) * _POW[k])
    table = _code_to_index()[np.stack(cols, axis=1)]
    table.setflags(write=False)
    return table


def all_products() -> Iterable[tuple[int, ...]]:
    """Every ops tuple in product order (first edge slowest); not the official order."""
    return itertools.product(range(NUM_OPS), repeat=NUM_EDGES)


# --------------------------------------------------------------------------- surrogate encodings
def _live_edges() -> np.ndarray:
    """``(NUM_ARCHS, 6)`` bool: edges that carry signal from the input to the output node."""
    ops = _ops_matrix()
    on = ops != OPS.index("none")
    n = NUM_ARCHS
    edge = {e: k for k, e in enumerate(EDGES)}
    reach = [np.ones(n, bool)] + [np.zeros(n, bool) for _ in range(3)]
    for j in range(1, 4):  # nodes in topological order
        for i in range(j):
            reach[j] |= reach[i] & on[:, edge[(i, j)]]
    to_out = [np.zeros(n, bool) for _ in range(3)] + [np.ones(n, bool)]
    for i in range(2, -1, -1):
        for j in range(i + 1, 4):
            to_out[i] |= on[:, edge[(i, j)]] & to_out[j]
    return np.stack([on[:, k] & reach[i] & to_out[j] for k, (i, j) in enumerate(EDGES)], axis=1)


def _edge_name(k: int) -> str:
    i, j = EDGES[k]
    return f"{i}-{j}"


@functools.lru_cache(maxsize=1)
def adjacency_encoding() -> tuple[tuple[str, ...], np.ndarray]:
    """The cell as it computes: one-hot op per live edge; an edge off every input-to-output path
    (or ``none``) is all zero, so architectures that differ only in dead edges get the same row."""
    ops = _ops_matrix().astype(np.int64)
    live = _live_edges()
    real = [o for o in range(NUM_OPS) if OPS[o] != "none"]
    cols, blocks = [], []
    for k in range(NUM_EDGES):
        for o in real:
            cols.append(f"adj:{_edge_name(k)}={OPS[o]}")
            blocks.append(live[:, k] & (ops[:, k] == o))
    X = np.stack(blocks, axis=1).astype(np.float64)
    X.setflags(write=False)
    return tuple(cols), X


#: The input-to-output routes of the cell, as node sequences.
_ROUTES: tuple[tuple[int, ...], ...] = ((0, 3), (0, 1, 3), (0, 2, 3), (0, 1, 2, 3))


@functools.lru_cache(maxsize=1)
def path_encoding() -> tuple[tuple[str, ...], np.ndarray]:
    """BANANAS-style path encoding (White et al., AAAI 2021), per route of the cell: one
    indicator per sequence of operations along it; a route through ``none`` is no path."""
    ops = _ops_matrix().astype(np.int64)
    edge = {e: k for k, e in enumerate(EDGES)}
    real = [o for o in range(NUM_OPS) if OPS[o] != "none"]
    lookup = np.full(NUM_OPS, -1)
    lookup[real] = np.arange(len(real))
    cols, blocks = [], []
    for route in _ROUTES:
        ks = [edge[(a, b)] for a, b in zip(route, route[1:])]
        digits = lookup[ops[:, ks]]  # (n, len) in 0..3, -1 for none
        alive = (digits >= 0).all(axis=1)
        code = np.zeros(NUM_ARCHS, np.int64)
        for d in range(len(ks)):
            code = code * len(real) + np.maximum(digits[:, d], 0)
        block = np.zeros((NUM_ARCHS, len(real) ** len(ks)))
        block[np.flatnonzero(alive), code[alive]] = 1.0
        blocks.append(block)
        name = "-".join(map(str, route))
        for c in range(len(real) ** len(ks)):
            seq, rest = [], c
            for _ in ks:
                rest, r = divmod(rest, len(real))
                seq.append(OPS[real[r]])
            cols.append(f"path:{name}=" + ">".join(reversed(seq)))
    X = np.concatenate(blocks, axis=1)
    X.setflags(write=False)
    return tuple(cols), X


# --------------------------------------------------------------------------- the interface
class NB201Space(SearchSpace):
    """NAS-Bench-201 (and NATS-Bench's topology space) through the :class:`SearchSpace` interface.

    The module's functions above remain the direct API; this object is what generic code asks.
    """

    name = NAME
    importers = ("nb201-pth", "nats-tss", "naslib-zc", "hw-nas-bench", "help-latency", "nb201-robustness", "csv")
    size = NUM_ARCHS
    #: Edges ``i-j`` (also the onehot column names: ``onehot:0-1=none``).
    positions = tuple(f"{i}-{j}" for i, j in EDGES)
    choices = (OPS,) * NUM_EDGES
    product = True
    #: The image datasets of :mod:`zcdb.datasets` (the network adapts its stem and head to each).
    datasets = ("cifar10", "cifar100", "ImageNet16-120", "digits")
    #: NAS-Bench-201's and NATS-Bench's cifar10 trained on the train half (validated on the other).
    benchmark_datasets = ("cifar10-valid",)
    default_protocol = "200ep"
    encodings = ("onehot", "adjacency", "path")
    network_variants = ("thin",)
    #: Protocols whose networks are the official skeleton (C=16, N=5), so :meth:`cost` gives their costs.
    official_protocols = ("200ep", "12ep")
    #: FLOP counting conventions of :meth:`cost` (``zcdb.spaces.nb201_cost.CONVENTIONS``): NAS-Bench-Suite-Zero's, then NAS-Bench-201's.
    cost_conventions = ("naslib", "nb201")

    parse = staticmethod(parse)
    format_arch = staticmethod(format_arch)
    index_of = staticmethod(index_of)
    string_of = staticmethod(string_of)
    ops_of = staticmethod(ops_of)
    ops_matrix = staticmethod(ops_matrix)
    all_strings = staticmethod(all_strings)
    canonical = staticmethod(canonical)
    sample = staticmethod(sample)
    neighbours = staticmethod(neighbours)
    neighbour_table = staticmethod(neighbour_table)
    index_map = staticmethod(_string_to_index)
    from_naslib = staticmethod(from_naslib)
    to_naslib = staticmethod(to_naslib)
    suite_zero_epoch = 200

    def representatives(self) -> np.ndarray:
        return canonical_representatives()

    def encode(self, indices: np.ndarray, kind: str = "onehot") -> tuple[list[str], np.ndarray]:
        if kind == "adjacency":
            cols, X = adjacency_encoding()
        elif kind == "path":
            cols, X = path_encoding()
        else:
            return super().encode(indices, kind)
        return list(cols), X[np.asarray(indices, dtype=np.int64)]

    def cost_table(self, dataset: str, convention: Any = None) -> tuple[np.ndarray, np.ndarray]:
        # Cost is linear in the counts of the three costly ops: evaluate the formula once per
        # count triple and look the rest up (15,625 architectures, 126 evaluations).
        ops = _ops_matrix()
        triples = np.stack([(ops == OPS.index(o)).sum(axis=1)
                            for o in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")], axis=1)
        uniq, inv = np.unique(triples, axis=0, return_inverse=True)
        reps = [int(np.flatnonzero((triples == t).all(axis=1))[0]) for t in uniq]
        kw = {} if convention is None else {"convention": convention}
        vals = np.array([self.cost(r, dataset, **kw) for r in reps])
        return vals[inv.ravel(), 0], vals[inv.ravel(), 1]

    def network(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> Any:
        from .nb201_network import build_nb201

        self.check_dataset(dataset)
        return build_nb201(arch, dataset, **kwargs)

    def cost(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> tuple[float, float]:
        from .nb201_cost import count_cost

        self.check_dataset(dataset, "cost counter")
        return count_cost(arch, dataset, **kwargs)


SPACE = NB201Space()
