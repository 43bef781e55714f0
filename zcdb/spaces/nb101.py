"""The NAS-Bench-101 cell search space (Ying et al., ICML 2019, "NAS-Bench-101: Towards
Reproducible Neural Architecture Search"; data and API: google-research/nasbench).

A cell is a DAG of at most 7 vertices (input, up to 5 operations, output) and at most 9
edges, its adjacency matrix upper-triangular (vertices in topological order); each
interior vertex is ``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3``. A vertex
not on a path from the input to the output is pruned, as the official ``ModelSpec`` does;
cells that are isomorphic (equal up to renumbering the interior vertices) compute the
same function and are one architecture. There are 423,624 of them.

The forms, as for every zcdb space:

* the official **string**: the module hash of the ``nasbench`` API (:func:`module_hash`,
  an MD5 of a colour refinement of the pruned cell; invariant under isomorphism), 32
  lowercase hex digits, e.g. ``00005c142e6f48ac74fdcf73e3439874``; it is the key of the
  official data files;
* the **index** ``0..423623``: the position of the hash among all 423,624 hashes sorted;
* a readable **spec string**, accepted wherever an architecture is:
  ``"<matrix>|<ops>"`` with the pruned cell's V x V matrix as V*V digits row by row and
  its V op names comma-separated, e.g. ``011001000|input,conv3x3-bn-relu,output`` (input
  to the convolution and to the output, convolution to the output); these are the official
  record's ``raw_adjacency`` and ``raw_operations`` fields joined by ``|`` (:func:`spec_string`);
* a ``(matrix, ops)`` **spec**: a nested list or array and a list of op names, pruned
  and hashed like the official ``ModelSpec`` (``index_of((matrix, ops))``);
* the **choice tuple** (:meth:`NB101Space.ops_of`): the cell on 7 padded positions
  (vertex ``v < V - 1`` at ``v``, the output at 6, empty positions between): 21 edge bits
  (:data:`EDGE_POSITIONS`) then the 5 positions' ops (``none`` where empty). Each
  architecture's tuple is its class's representative as NAS-Bench-101's generator finds it
  first (:mod:`zcdb.spaces.nb101_graphs`).

Every architecture is its own isomorphism class (the space is deduplicated), so the
canonical form is the hash itself. Isomorphic cells are one architecture as the benchmark
defines it (one hash, one set of trainings), though their networks can differ in which
vertex gets a remainder channel of the output's split: zcdb's network and cost are the
representative's, the numbering the official data lists. The hashes are shipped with zcdb in
``zcdb/spaces/data/nb101_cells.npz`` (written by ``scripts/build_nb101_table.py``, which
enumerates the space and hashes every class: about two minutes), read on first use. The file
(7.1 MB) is within 5% of what it must hold: 423,624 sorted 128-bit hashes carry about 5.9 MB of
information (log2 of C(2^128, 423,624) bits) and the order of their cells about 0.9 MB (log2 of
423,624! bits); a smaller file would have to recompute hashes, minutes where a lookup now takes
microseconds.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import UnknownArch, ZcdbError, short_repr as _shown
from . import nb101_graphs as graphs
from .base import SearchSpace, genuine_int

NAME = "nb101"
#: The three operations in the official order (``config['available_ops']``): their positions
#: are the labels of :func:`module_hash`.
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT, OUTPUT = "input", "output"
MAX_VERTICES = graphs.N_POS
MAX_EDGES = graphs.MAX_EDGES
NUM_ARCHS = 423_624
#: Names of the 21 edge positions of the choice tuple, then of the 5 vertex positions.
EDGE_POSITIONS: tuple[str, ...] = tuple(f"e{i}-{j}" for i, j in graphs.EDGES)
NODE_POSITIONS: tuple[str, ...] = tuple(f"node{n}" for n in range(1, graphs.N_NODES + 1))
#: NASLib's op codes in its flat encoding (``naslib/search_spaces/nasbench101``'s ``all_ops``).
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
TABLE = Path(__file__).resolve().parent / "data" / "nb101_cells.npz"
REGENERATE = "python scripts/build_nb101_table.py"

ArchLike = Union[str, int, np.integer, Sequence[Any]]

_HASH = re.compile(r"[0-9a-f]{32}")
#: Up to 20 x 20 digits, so that a cell with too many vertices is told so (prune_spec), not called malformed.
_SPEC = re.compile(r"([01]{4,400})\|([a-z0-9,-]+)")
_FORMS = ("a 32-digit module hash, an index, a spec string '<V*V digits>|<V op names>', "
          "a (matrix, ops) pair or a choice tuple of 26 integers")


# --------------------------------------------------------------------------- the official hash
def module_hash(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """NAS-Bench-101's module hash of a pruned cell (``graph_util.hash_module``).

    ``labels``: -1 for the input, -2 for the output, the op's position in :data:`OPS`
    otherwise. Each vertex starts from the MD5 of ``(out-degree, in-degree, label)``
    written as a Python tuple; then, as many rounds as there are vertices, from the MD5 of
    its in-neighbours' hex digests sorted and joined, ``|``, its out-neighbours' likewise,
    ``|``, its own; the hash is the MD5 of the sorted final digests written as a Python list.
    """
    V = len(labels)
    ins = [[w for w in range(V) if matrix[w][v]] for v in range(V)]
    outs = [[w for w in range(V) if matrix[v][w]] for v in range(V)]
    md5 = hashlib.md5
    h = [md5(str((len(outs[v]), len(ins[v]), int(labels[v]))).encode()).hexdigest() for v in range(V)]
    for _ in range(V):
        h = [md5(("".join(sorted([h[w] for w in ins[v]])) + "|" + "".join(sorted([h[w] for w in outs[v]]))
                  + "|" + h[v]).encode()).hexdigest() for v in range(V)]
    return md5(str(sorted(h)).encode()).hexdigest()


def _bad(detail: str) -> UnknownArch:
    return UnknownArch(f"not a NAS-Bench-101 cell: {detail}")


def _entry(x: Any) -> int:
    # an adjacency entry: 0/1 as an int or bool (a bool matrix is natural); floats and text are refused
    if isinstance(x, (bool, np.bool_)) or (genuine_int(x) and x in (0, 1)):
        return int(x)
    raise _bad(f"adjacency entries must be 0 or 1 (integers), got {_shown(x)}")


def prune_spec(matrix: Any, ops: Any) -> tuple[list[list[int]], list[int]]:
    """Check a ``(matrix, ops)`` spec and prune it as NAS-Bench-101's ``ModelSpec`` does.

    Returns the pruned matrix (V x V lists) and its labels (-1 input, op position, -2
    output). :class:`UnknownArch`, one line, for: not a square 0/1 matrix of 2..7 vertices;
    entries on or below the diagonal (not a DAG in topological order); ops not ``input``,
    names from :data:`OPS`, ``output``; an output not reachable from the input; more than
    9 edges left after pruning (the official API's limits).
    """
    if isinstance(matrix, np.ndarray):
        if matrix.ndim != 2 or matrix.dtype.kind not in "biu":
            raise _bad(f"the matrix must be a 2-d array of 0/1 integers, got {matrix.dtype} of shape {matrix.shape}")
        rows = matrix.tolist()
    elif isinstance(matrix, (list, tuple)) and all(isinstance(r, (list, tuple, np.ndarray)) for r in matrix):
        rows = [list(r) for r in matrix]
    else:
        raise _bad(f"the matrix must be a list of rows, got {_shown(matrix)}")
    V = len(rows)
    if V > MAX_VERTICES:
        raise _bad(f"{V} vertices, at most {MAX_VERTICES} (input, 5 operations, output)")
    if V < 2 or any(len(r) != V for r in rows):
        raise _bad(f"the matrix must be square with 2..{MAX_VERTICES} rows, got {_shown(matrix)}")
    m = [[_entry(x) for x in r] for r in rows]
    if any(m[i][j] for i in range(V) for j in range(i + 1)):
        raise _bad("entries on or below the diagonal: a cell is a DAG with its vertices in topological order "
                   "(an upper-triangular matrix)")
    if isinstance(ops, str) or not isinstance(ops, (list, tuple)) or len(ops) != V:
        raise _bad(f"give {V} op names (input, operations, output) for a {V}-vertex matrix, got {_shown(ops)}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise _bad(f"the first op must be 'input' and the last 'output', got {_shown(ops)}")
    labels = [-1]
    for op in ops[1:-1]:
        if not isinstance(op, str) or op not in OPS:
            raise _bad(f"unknown op {_shown(op)}: use {', '.join(OPS)}")
        labels.append(OPS.index(op))
    labels.append(-2)
    fwd = [False] * V
    fwd[0] = True
    for j in range(1, V):
        fwd[j] = any(fwd[i] and m[i][j] for i in range(j))
    bwd = [False] * V
    bwd[V - 1] = True
    for i in range(V - 2, -1, -1):
        bwd[i] = any(bwd[j] and m[i][j] for j in range(i + 1, V))
    if not fwd[V - 1]:
        raise _bad("the output is not reachable from the input (the official API's disconnected spec)")
    keep = [v for v in range(V) if fwd[v] and bwd[v]]
    pm = [[m[i][j] for j in keep] for i in keep]
    edges = sum(map(sum, pm))
    if edges > MAX_EDGES:
        raise _bad(f"{edges} edges on input-output paths, at most {MAX_EDGES}")
    return pm, [labels[v] for v in keep]


def spec_hash(matrix: Any, ops: Any) -> str:
    """The module hash of a ``(matrix, ops)`` spec (checked and pruned first, see :func:`prune_spec`)."""
    return module_hash(*prune_spec(matrix, ops))


def parse_spec_string(text: str) -> tuple[list[list[int]], list[str]]:
    """A spec string ``"<V*V digits>|<V op names>"`` to ``(matrix, ops)`` (not yet checked as a cell)."""
    m = _SPEC.fullmatch(text)
    if m is None:
        raise UnknownArch(f"malformed nb101 architecture {_shown(text)}: give {_FORMS}")
    digits, names = m.groups()
    V = int(round(len(digits) ** 0.5))
    if V * V != len(digits):
        raise _bad(f"{len(digits)} matrix digits in {_shown(text)}: write the V x V matrix as V*V digits")
    matrix = [[int(c) for c in digits[r * V:(r + 1) * V]] for r in range(V)]
    return matrix, names.split(",")


# --------------------------------------------------------------------------- the shipped table
def encode_table(digest: np.ndarray, codes: np.ndarray) -> dict[str, np.ndarray]:
    """The shipped file's arrays from the sorted ``(N, 16)`` digests and the ``(N,)`` uint32 codes.

    One array per byte plane, since planes compress where whole values do not: ``hi0..hi7``
    the big-endian bytes of the differences of the digests' first 64 bits (sorted, so the
    top planes are mostly zero), ``lo0..lo7`` the last 64 bits, ``code0..code3`` the codes.
    :func:`write_table` compresses the planes that compress and stores the others as they are.
    """
    words = np.ascontiguousarray(digest, dtype=np.uint8).view(">u8").reshape(-1, 2).astype(np.uint64)
    delta = np.diff(words[:, 0], prepend=np.uint64(0))
    out = {}
    for name, values, dtype in (("hi", delta, ">u8"), ("lo", words[:, 1], ">u8"), ("code", codes, ">u4")):
        planes = values.astype(dtype).view(np.uint8).reshape(len(values), -1)
        out.update({f"{name}{k}": np.ascontiguousarray(planes[:, k]) for k in range(planes.shape[1])})
    return out


def write_table(path: Union[str, Path], arrays: Mapping[str, np.ndarray]) -> None:
    """An ``.npz`` of ``arrays`` (``np.load`` reads it), each member deflated only where that saves a tenth."""
    import io
    import zipfile
    import zlib

    with zipfile.ZipFile(path, "w") as zf:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(a), allow_pickle=False)
            raw = buf.getvalue()
            packs = len(zlib.compress(raw, 6)) < 0.9 * len(raw)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))  # the same bytes every run
            info.compress_type = zipfile.ZIP_DEFLATED if packs else zipfile.ZIP_STORED
            zf.writestr(info, raw)


def decode_table(arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hi, lo, codes)`` from :func:`encode_table`'s arrays: the digests' two 64-bit halves
    (uint64) and the codes (uint32)."""
    hi = np.cumsum(_planes(arrays, "hi", 8, ">u8").astype(np.uint64), dtype=np.uint64)
    return hi, _planes(arrays, "lo", 8, ">u8").astype(np.uint64), _planes(arrays, "code", 4, ">u4").astype(np.uint32)


def _read_members(names: Sequence[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(TABLE) as f:  # members are read one by one: a hash lookup needs no codes
            out = {k: f[k] for k in names}
    except (OSError, KeyError, ValueError) as exc:
        raise ZcdbError(f"zcdb's NAS-Bench-101 table {TABLE} is missing or damaged ({exc}): "
                        f"reinstall zcdb, or regenerate it with `{REGENERATE}`") from None
    if any(a.shape != (NUM_ARCHS,) for a in out.values()):
        raise ZcdbError(f"zcdb's NAS-Bench-101 table {TABLE} does not hold {NUM_ARCHS:,} cells: "
                        f"regenerate it with `{REGENERATE}`")
    return out


def _planes(arrays: Mapping[str, np.ndarray], name: str, width: int, dtype: str) -> np.ndarray:
    planes = np.stack([np.asarray(arrays[f"{name}{k}"], dtype=np.uint8) for k in range(width)], axis=1)
    return planes.view(dtype)[:, 0]


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, np.ndarray]:
    """The sorted hashes: ``hash`` (N, 16) digests, their halves ``hi`` and ``lo`` (uint64)."""
    a = _read_members([f"{n}{k}" for n in ("hi", "lo") for k in range(8)])
    hi = np.cumsum(_planes(a, "hi", 8, ">u8").astype(np.uint64), dtype=np.uint64)
    lo = _planes(a, "lo", 8, ">u8").astype(np.uint64)
    digest = np.stack([hi, lo], axis=1).astype(">u8").view(np.uint8).reshape(NUM_ARCHS, 16)
    out = {"hash": digest, "hi": hi, "lo": lo}
    for v in out.values():
        v.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def _codes() -> np.ndarray:
    c = _planes(_read_members([f"code{k}" for k in range(4)]), "code", 4, ">u4").astype(np.uint32)
    c.setflags(write=False)
    return c


def codes() -> np.ndarray:
    """The packed padded cell (:mod:`zcdb.spaces.nb101_graphs`) of every architecture, by index."""
    return _codes()


@functools.lru_cache(maxsize=1)
def all_strings() -> tuple[str, ...]:
    """The module hashes of all 423,624 architectures, by index (sorted)."""
    text = _table()["hash"].tobytes().hex()
    return tuple(text[k:k + 32] for k in range(0, 32 * NUM_ARCHS, 32))


@functools.lru_cache(maxsize=1)
def _lookup_tables() -> tuple[list[int], bytes]:
    # Python ints and bytes: bisect and slicing beat numpy's per-call overhead tenfold, but the
    # list costs 40 ms to make: the first lookups search the array instead
    return _table()["hi"].tolist(), _table()["hash"].tobytes()


_lookups = [0]
#: Lookups by hash answered with numpy before the Python list is made for the many that follow.
_FEW_LOOKUPS = 256


def _index_of_hash(text: str) -> Optional[int]:
    """The index of a 32-hex-digit hash (already checked to be one), or None."""
    hi = int(text[:16], 16)
    if _lookups[0] < _FEW_LOOKUPS:
        _lookups[0] += 1
        t = _table()
        i = int(np.searchsorted(t["hi"], np.uint64(hi)))
        found = i < NUM_ARCHS and int(t["hi"][i]) == hi and int(t["lo"][i]) == int(text[16:], 16)
        return i if found else None
    his, digests = _lookup_tables()
    i = bisect.bisect_left(his, hi)
    # the first 64 bits of the 423,624 hashes are distinct (the table's test checks it)
    if i < NUM_ARCHS and his[i] == hi and digests[16 * i:16 * i + 16] == bytes.fromhex(text):
        return i
    return None


class HashIndex(Mapping):
    """Module hash -> index, answered by binary search in the sorted table (no 423,624-key dict)."""

    def __getitem__(self, key: str) -> int:
        i = self.get(key)
        if i is None:
            raise KeyError(key)
        return i

    def get(self, key: Any, default: Any = None) -> Any:
        if type(key) is str and len(key) == 32 and _HASH.fullmatch(key):
            i = _index_of_hash(key)
            if i is not None:
                return i
        return default

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(all_strings())

    def __len__(self) -> int:
        return NUM_ARCHS


_HASH_INDEX = HashIndex()


# --------------------------------------------------------------------------- forms
def _check_choices(t: Sequence[Any]) -> tuple[int, ...]:
    n = len(EDGE_POSITIONS) + len(NODE_POSITIONS)
    if len(t) != n or not all(genuine_int(x) for x in t):
        raise UnknownArch(f"nb101 choice tuple must hold {n} integers (21 edge bits, 5 op codes), got {_shown(t)}: "
                          f"or give {_FORMS}")
    t = tuple(int(x) for x in t)
    if any(x not in (0, 1) for x in t[:21]) or any(not 0 <= x <= graphs.NONE for x in t[21:]):
        raise UnknownArch(f"nb101 choice tuple: edge bits are 0/1 and op codes 0..3 (3: empty), got {_shown(t)}")
    return t


def _spec_of_choices(t: tuple[int, ...]) -> tuple[list[list[int]], list[str]]:
    m = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for (i, j), bit in zip(graphs.EDGES, t[:21]):
        m[i][j] = bit
    ops = [INPUT] + [OPS[o] if o != graphs.NONE else "none" for o in t[21:]] + [OUTPUT]
    empty = [n for n in range(1, MAX_VERTICES - 1) if ops[n] == "none"]
    if any(m[v][w] or m[w][v] for v in empty for w in range(MAX_VERTICES)):
        raise _bad(f"an empty position (op code 3) has edges in {_shown(t)}")
    keep = [v for v in range(MAX_VERTICES) if v not in empty]
    return [[m[i][j] for j in keep] for i in keep], [ops[v] for v in keep]


def _arch_index(arch: Any) -> int:
    if isinstance(arch, str):
        if len(arch) == 32 and _HASH.fullmatch(arch):
            i = _index_of_hash(arch)
            if i is None:
                raise UnknownArch(f"{arch} is not the module hash of a NAS-Bench-101 cell: "
                                  "check it, or give the cell as a spec string")
            return i
        if len(arch) == 32 and re.fullmatch(r"[0-9a-fA-F]{32}", arch):
            raise UnknownArch(f"nb101 module hashes are lower-case hex: give {arch.lower()!r}")
        return _lookup(spec_hash(*parse_spec_string(arch)))
    if genuine_int(arch):
        i = int(arch)
        if not 0 <= i < NUM_ARCHS:
            raise UnknownArch(f"nb101 index {i} out of range 0..{NUM_ARCHS - 1}")
        return i
    if isinstance(arch, np.ndarray) and arch.ndim == 1:
        arch = arch.tolist()
    if isinstance(arch, (tuple, list)):
        if len(arch) == 2 and not any(isinstance(x, (str, bytes)) or genuine_int(x) for x in arch):
            return _lookup(spec_hash(arch[0], arch[1]))
        return _lookup(spec_hash(*_spec_of_choices(_check_choices(arch))))
    raise UnknownArch(f"nb101 architecture must be {_FORMS}, got {type(arch).__name__} {_shown(arch)}")


def _lookup(h: str) -> int:
    i = _index_of_hash(h)
    if i is None:  # every valid cell is in the table: a miss means the table is not zcdb's
        raise ZcdbError(f"cell with hash {h} is missing from {TABLE}: regenerate it with `{REGENERATE}`")
    return i


def index_of(arch: ArchLike) -> int:
    """The index of an architecture in any of its forms (see the module docstring)."""
    return _arch_index(arch)


def string_of(arch: ArchLike) -> str:
    """The module hash of an architecture."""
    return _table()["hash"][_arch_index(arch)].tobytes().hex()


def ops_of(arch: ArchLike) -> tuple[int, ...]:
    """The choice tuple of an architecture's representative (21 edge bits, 5 op codes)."""
    return tuple(int(x) for x in ops_matrix()[_arch_index(arch)])


def spec_of(arch: ArchLike) -> tuple[list[list[int]], list[str]]:
    """The pruned cell of an architecture's representative: ``(V x V matrix, V op names)``."""
    return _spec_of_choices(ops_of(arch))


def spec_string(arch: ArchLike) -> str:
    """The readable spec string ``"<V*V digits>|<V op names>"`` of an architecture's representative."""
    m, ops = spec_of(arch)
    return "".join(str(x) for r in m for x in r) + "|" + ",".join(ops)


def parse(text: str) -> tuple[int, ...]:
    """A module hash or spec string to the choice tuple of its architecture (:class:`UnknownArch` otherwise)."""
    if not isinstance(text, str):
        raise UnknownArch(f"nb101 architecture text must be a string, got {type(text).__name__}: give {_FORMS}")
    return ops_of(_arch_index(text))


def format_arch(ops: Sequence[int]) -> str:
    """The module hash of a choice tuple (any valid cell on the padded positions; pruned first)."""
    if isinstance(ops, np.ndarray):
        ops = ops.tolist()
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (tuple, list)):
        raise UnknownArch(f"nb101 choice tuple must be a tuple of 26 integers, got {_shown(ops)}")
    return spec_hash(*_spec_of_choices(_check_choices(ops)))


@functools.lru_cache(maxsize=1)
def ops_matrix() -> np.ndarray:
    """``(423624, 26)`` int8 (read-only): every architecture's choice tuple, by index."""
    m = graphs.choice_matrix(codes())
    m.setflags(write=False)
    return m


# --------------------------------------------------------------------------- NASLib
def from_naslib(key: Sequence[int]) -> tuple[int, ...]:
    """The choice tuple of NASLib's flat encoding (NAS-Bench-Suite-Zero's ``zc_nasbench101.json`` and
    ``nb101_zen.zip`` keys): the V x V matrix row by row (V*V bits), then V op codes of
    :data:`NASLIB_OPS` (0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu), for a
    cell of V <= 7 vertices (``zc_nasbench101.json`` always pads to 7; the zen files keep V); pruned and hashed."""
    t = tuple(key) if isinstance(key, (tuple, list, np.ndarray)) else ()
    v = next((n for n in range(2, 8) if n * n + n == len(t)), None)
    if v is None or not all(genuine_int(x) for x in t) or any(x not in (0, 1) for x in t[:v * v]) \
            or any(not 0 <= x < len(NASLIB_OPS) for x in t[v * v:]):
        raise UnknownArch(f"a NASLib nb101 key must hold V*V adjacency bits then V op codes in 0..4 (V <= 7 "
                          f"vertices, e.g. 49 + 7), got {_shown(key)}")
    matrix = [[int(t[v * r + c]) for c in range(v)] for r in range(v)]
    return ops_of((matrix, [NASLIB_OPS[int(o)] for o in t[v * v:]]))


def to_naslib(arch: ArchLike) -> tuple[int, ...]:
    """NASLib's flat encoding of an architecture's padded representative; empty positions get
    ``conv3x3-bn-relu`` and no edges (NASLib's cells have 7 vertices; they are pruned away)."""
    t = ops_of(arch)
    m = [[0] * 7 for _ in range(7)]
    for (i, j), bit in zip(graphs.EDGES, t[:21]):
        m[i][j] = bit
    ops = [INPUT] + [OPS[o] if o != graphs.NONE else OPS[0] for o in t[21:]] + [OUTPUT]
    return tuple(x for r in m for x in r) + tuple(NASLIB_OPS.index(o) for o in ops)


# --------------------------------------------------------------------------- moves
@functools.lru_cache(maxsize=1)
def _invariant_index() -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit invariant of every architecture, sorted, and the indices in that order."""
    c = codes()
    # in chunks: the whole table at once would hold 0.6 GB of intermediate arrays
    inv = np.concatenate([graphs.invariant(*graphs.unpack(c[k:k + 32768])) for k in range(0, c.size, 32768)])
    order = np.argsort(inv, kind="stable")
    srt = inv[order]
    if (srt[1:] == srt[:-1]).any():  # the enumeration's count rules this out; a damaged table would not
        raise ZcdbError(f"two NAS-Bench-101 classes share an invariant in {TABLE}: regenerate it with `{REGENERATE}`")
    return srt, order


def indices_of_cells(adj: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """Indices of cells on the padded positions (any placement), -1 where a cell is not in the
    space (disconnected, or more than 9 edges once pruned). Vectorized; no MD5."""
    adj = np.asarray(adj, dtype=bool).reshape(-1, graphs.N_POS, graphs.N_POS)
    return _indices_of_edges(adj[:, graphs._EI, graphs._EJ], ops)


def _indices_of_edges(edges: np.ndarray, ops: np.ndarray) -> np.ndarray:
    E, ops, valid = graphs.prune_edges(edges, ops)
    valid &= E.sum(axis=1) <= MAX_EDGES
    out = np.full(len(ops), -1, dtype=np.int64)
    if valid.any():
        srt, order = _invariant_index()
        inv = graphs.invariant_of_edges(E[valid], ops[valid])
        pos = np.minimum(np.searchsorted(srt, inv), NUM_ARCHS - 1)
        if (srt[pos] != inv).any():
            raise ZcdbError(f"a valid NAS-Bench-101 cell is missing from {TABLE}: regenerate it with `{REGENERATE}`")
        out[valid] = order[pos]
    return out


#: Candidate moves per cell: flip one of the 21 edges, or change one of the 5 ops to one of the other 2.
NEIGHBOUR_WIDTH = len(graphs.EDGES) + 2 * graphs.N_NODES

_EDGE_BIT = (np.uint32(1) << np.arange(graphs.N_EDGES, dtype=np.uint32))
_OP_FIELD = graphs._OP_SHIFT + 2 * np.arange(graphs.N_NODES, dtype=np.uint32)


def compute_neighbours(indices: np.ndarray) -> np.ndarray:
    """``(k, 31)`` int64 neighbour rows, -1 padded (see :meth:`NB101Space.neighbours`).

    The moves are made on the packed codes (one bit flipped, or one op field rewritten);
    only the moves that can lead somewhere are unpacked, pruned and looked up."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    k = idx.size
    code = codes()[idx]
    edges, ops = graphs.edge_bits(code)
    cand = np.empty((k, NEIGHBOUR_WIDTH), dtype=np.uint32)
    ok = np.empty((k, NEIGHBOUR_WIDTH), dtype=bool)
    used = np.concatenate([np.ones((k, 1), bool), ops != graphs.NONE, np.ones((k, 1), bool)], axis=1)
    full = edges.sum(axis=1) >= MAX_EDGES
    cand[:, :graphs.N_EDGES] = code[:, None] ^ _EDGE_BIT
    # an edge to an empty position is pruned away again, and a tenth edge between used
    # vertices stays on a path: neither move leads anywhere new, so neither is evaluated
    ok[:, :graphs.N_EDGES] = used[:, graphs._EI] & used[:, graphs._EJ] & (edges | ~full[:, None])
    c = graphs.N_EDGES
    for n in range(graphs.N_NODES):
        empty = ops[:, n] == graphs.NONE  # an empty position has no op to change
        cleared = code & ~(np.uint32(3) << _OP_FIELD[n])
        for d in (1, 2):
            new = ((ops[:, n].astype(np.uint32) + d) % 3) << _OP_FIELD[n]
            cand[:, c] = cleared | new
            ok[:, c] = ~empty
            c += 1
    nb = np.full((k, NEIGHBOUR_WIDTH), -1, dtype=np.int64)
    nb[ok] = _indices_of_edges(*graphs.edge_bits(cand[ok]))
    nb = np.where(nb != idx[:, None], nb, -1)
    # drop repeats (two moves reaching one class), keeping the first, and pack to the left
    srt = np.sort(nb, axis=1)
    order = np.argsort(nb, axis=1, kind="stable")
    dup = np.zeros_like(ok)
    np.put_along_axis(dup, order[:, 1:], srt[:, 1:] == srt[:, :-1], axis=1)
    nb = np.where(dup, -1, nb)
    left = np.argsort(nb < 0, axis=1, kind="stable")
    return np.take_along_axis(nb, left, axis=1)


class _NeighbourCache:
    """Neighbour rows computed on demand and kept (the full table would take minutes)."""

    def __init__(self) -> None:
        self.rows: Optional[np.ndarray] = None
        self.done: Optional[np.ndarray] = None

    def get(self, indices: np.ndarray) -> np.ndarray:
        if self.rows is None:
            # zeros: the pages of rows never asked for are never touched (no 52 MB up front)
            self.rows = np.zeros((NUM_ARCHS, NEIGHBOUR_WIDTH), dtype=np.int32)
            self.done = np.zeros(NUM_ARCHS, dtype=bool)
        idx = np.asarray(indices, dtype=np.int64)
        missing = np.unique(idx[~self.done[idx]])
        if missing.size:
            self.rows[missing] = compute_neighbours(missing) + 1
            self.done[missing] = True
        return self.rows[idx].astype(np.int64) - 1


_NEIGHBOURS = _NeighbourCache()


# --------------------------------------------------------------------------- encodings
#: Op sequences of input-to-output paths through at most 5 operations: 3**0 + ... + 3**5.
N_PATHS = sum(3 ** k for k in range(graphs.N_NODES + 1))


def path_encoding(indices: np.ndarray) -> tuple[list[str], np.ndarray]:
    """BANANAS' path encoding (White et al., AAAI 2021): one indicator per sequence of ops along
    an input-to-output path (364 columns: the empty path of the input-output edge first, then
    sequences by length, each read as a base-3 number in :data:`OPS` order)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    adj, ops = graphs.unpack(codes()[idx])
    B = idx.size
    offset = np.cumsum([0] + [3 ** k for k in range(graphs.N_NODES + 1)])
    # P[v][:, s]: number of input-to-v paths with op sequence s (through v's op, for interior v)
    P = [np.zeros((B, N_PATHS), dtype=np.int64) for _ in range(7)]
    P[0][:, 0] = 1
    for v in range(1, 7):
        into = sum(P[u] * adj[:, u, v, None] for u in range(v))
        if v == 6:
            P[v] = into
            continue
        op = ops[:, v - 1].astype(np.int64)
        shifted = np.zeros_like(into)
        for length in range(graphs.N_NODES):
            lo, hi = offset[length], offset[length + 1]
            src = np.arange(lo, hi)
            dst = offset[length + 1] + (src - lo)[None, :] * 3 + np.minimum(op, 2)[:, None]  # empty: zeroed below
            np.put_along_axis(shifted, dst, into[:, lo:hi], axis=1)
        P[v] = np.where((op < 3)[:, None], shifted, 0)
    cols = []
    for length in range(graphs.N_NODES + 1):
        for c in range(3 ** length):
            seq, rest = [], c
            for _ in range(length):
                rest, r = divmod(rest, 3)
                seq.append(OPS[r])
            cols.append("path:" + (">".join(reversed(seq)) or "input>output"))
    return cols, (P[6] > 0).astype(np.float64)


# --------------------------------------------------------------------------- the interface
class NB101Space(SearchSpace):
    """NAS-Bench-101 through the :class:`SearchSpace` interface (the module's functions are the direct API).

    Not a product space: most combinations of edge bits and ops are not cells (too many
    edges, disconnected) or are isomorphic to another. Neighbours are computed on demand
    and kept (:meth:`neighbour_rows`); the full table is never built by search.
    """

    name = NAME
    importers = ("nasbench-tfrecord", "nasbench-vis", "naslib-zc")
    size = NUM_ARCHS
    positions = EDGE_POSITIONS + NODE_POSITIONS
    choices = (("absent", "present"),) * len(EDGE_POSITIONS) + ((*OPS, "none"),) * len(NODE_POSITIONS)
    product = False
    datasets = ("cifar10",)
    network_builder = ("nb101_network", "build_nb101")
    cost_counter = "nb101_cost"
    cost_divisor = 1e6  # the counter counts parameters and FLOPs
    #: The official training: 108 epochs (also evaluated after 4, 12 and 36 in nasbench_full).
    default_protocol = "nasbench"
    official_protocols = ("nasbench",)
    encodings = ("onehot", "path")
    #: NAS-Bench-Suite-Zero's val_accuracy: the 108-epoch validation accuracy.
    suite_zero_epoch = 108
    #: Its params are NASLib's network's, built from the unpruned 7-vertex spec: 28 of the 500
    #: differ from the official trainable_parameters (cells with a dangling vertex), so they are
    #: kept as proxy scores, not as the benchmark's params.
    suite_zero_costs = False
    #: NASLib's keys are 7-vertex cells before pruning: zc_nasbench101.json's 500 keys are 292
    #: architectures (its val_accuracy then differs among them: one of the three trainings each).
    naslib_keys_repeat = True

    parse = staticmethod(parse)
    format_arch = staticmethod(format_arch)
    index_of = staticmethod(index_of)
    string_of = staticmethod(string_of)
    ops_of = staticmethod(ops_of)
    ops_matrix = staticmethod(ops_matrix)
    all_strings = staticmethod(all_strings)
    from_naslib = staticmethod(from_naslib)
    to_naslib = staticmethod(to_naslib)

    def protocol_epochs(self, protocol: str, dataset: str) -> Optional[int]:
        """``nasbench``: 108 epochs; otherwise as every space (``NNep``)."""
        return 108 if protocol == "nasbench" else super().protocol_epochs(protocol, dataset)

    def index_map(self) -> Mapping[str, int]:
        """Module hash -> index by binary search (a dict of 423,624 strings would cost a cold query 0.3 s)."""
        return _HASH_INDEX

    def canonical(self, arch: ArchLike) -> str:
        """The module hash: architectures are deduplicated isomorphism classes, and the hash is
        invariant under isomorphism, so every architecture is its own class."""
        return string_of(arch)

    def representatives(self) -> np.ndarray:
        rep = np.arange(NUM_ARCHS, dtype=np.int64)
        rep.setflags(write=False)
        return rep

    def neighbours(self, arch: ArchLike) -> list[int]:
        """Architectures one edit of the pruned cell away, as NASLib's NAS-Bench-101 neighbourhood:
        flip one of the 21 edges of the padded cell, or change one op to another; the result
        is pruned and kept if it is in the space (connected, at most 9 edges) and is not the
        architecture itself. In move order (edges, then ops), repeats dropped. Not symmetric:
        an edit never adds a vertex, but removing an edge can prune one away."""
        row = _NEIGHBOURS.get(np.array([self.index_of(arch)]))[0]
        return row[row >= 0].tolist()

    def neighbour_rows(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`neighbours` of ``indices`` as ``(k, 31)`` rows padded with -1 (computed on demand, kept)."""
        return _NEIGHBOURS.get(np.asarray(indices, dtype=np.int64).reshape(-1))

    @property
    def neighbour_width(self) -> int:
        return NEIGHBOUR_WIDTH

    def padded_neighbours(self) -> np.ndarray:
        """Every neighbour row: computed in chunks (tens of seconds); search asks :meth:`neighbour_rows` instead."""
        return self.neighbour_rows(np.arange(NUM_ARCHS))

    def neighbour_lists(self) -> list[np.ndarray]:
        return [r[r >= 0] for r in self.padded_neighbours()]

    def encode(self, indices: np.ndarray, kind: str = "onehot") -> tuple[list[str], np.ndarray]:
        if kind == "path":
            return path_encoding(indices)
        return super().encode(indices, kind)


SPACE = NB101Space()
