"""TransNAS-Bench-101's cell-level search space, ``tnb101-micro`` (Duan et al., CVPR 2021,
"TransNAS-Bench-101: Improving Transferability and Generalizability of Cross-Task Neural
Architecture Search"; code and API: yawen-d/TransNASBench).

Every network is TransNAS-Bench-101's fixed skeleton ``64-41414``: a stem to 64 channels,
then five modules of two cells; the first cell of modules 1, 3 and 5 (code ``4``) halves the
resolution and doubles the channels. All ten cells share one cell: a DAG on four nodes, node 0
the cell input and node 3 its output, whose six edges ``i -> j`` each carry one of four
operations, numbered as TransNAS-Bench-101 numbers them (:data:`OPS`):

* ``0`` ``none``: zero;
* ``1`` ``skip_connect``: identity, except on an edge from node 0 of a reducing cell, where it
  is a learned ``FactorizedReduce`` (two strided 1x1 convolutions and BatchNorm);
* ``2`` ``nor_conv_1x1``, ``3`` ``nor_conv_3x3``: ReLU, convolution, BatchNorm (strided on the
  edges from node 0 of a reducing cell).

4**6 = 4,096 architectures, all of them in the benchmark. Three representations:

* the official **string**, TransNAS-Bench-101's own: ``64-41414-`` then the cell node by node,
  ``e01 _ e02 e12 _ e03 e13 e23``, e.g. ``64-41414-1_02_333`` (node 1 = skip(node 0); node 2 =
  none(node 0) + conv1x1(node 1); node 3 = conv3x3 of nodes 0, 1 and 2), as its ``MacroNet``
  reads it;
* the **ops tuple**: the six digits in string order (TransNAS-Bench's op codes);
* the **index** ``0..4095``: the six digits read as a base-4 number, first digit most significant
  (``64-41414-0_00_000`` is 0, ``64-41414-3_33_333`` is 4,095). This order is zcdb's: the API's
  index runs over both spaces in the order of its ``.pth`` file, and the ``idx`` field of
  NAS-Bench-Suite-Zero's files is NASLib's own shuffled numbering.

**NASLib and NAS-Bench-Suite-Zero.** The released tuple ``"(o0, o1, o2, o3, o4, o5)"`` is the ops
tuple unchanged: NASLib's zero-cost code builds each network from
``'64-41414-{}_{}{}_{}{}{}'.format(*tuple)`` with TransNAS-Bench's own model builder and queries
the benchmark with the same string (``convert_op_indices_micro_to_str`` in
``naslib/search_spaces/transbench101/conversions.py``). NASLib's *graph* representation of the
cell orders its ops ``Identity, Zero, ReLUConvBN3x3, ReLUConvBN1x1`` on edges (1,2), (1,3), (1,4),
(2,3), (2,4), (3,4) of a 1-based graph; the released files do not use it. The data agree: the
169 tuples whose cell output ignores the input under the string reading (every path from node
0 to node 3 crosses a ``none``) are exactly the 169 with one constant ``val_accuracy`` (7.48 on
class_scene: a constant predictor) and with zen's failure value; of the 169 such tuples under the
graph reading, 2 have it (tested on the real files).

**Canonical form** (:func:`canonical`). NAS-Bench-201's cell isomorphism does not carry over
as it is: the same cell code sits in reducing and in normal cells, and in a reducing cell
``skip_connect`` from node 0 is a learned layer, an edge from node 0 strides while one from
node 1 or 2 does not, and a convolution of an all-zero node outputs its BatchNorm shift (a
learned constant), not zero. What holds in every cell, with one weight per edge:

* ``none`` adds nothing; ``skip_connect`` from node 1 or 2 passes that node's value on;
* an edge whose target cannot reach node 3 through non-``none`` edges changes nothing;
* every other edge is an *atom*, a weighted layer applied to its source node's value:
  ``skip0`` (skip_connect from node 0: identity or FactorizedReduce), ``conv1x1``/``conv3x3``,
  or ``bias`` (either convolution of an all-zero node: only its BatchNorm shift survives);
* a node's value is the sum (a multiset) of the atoms and passed-on values arriving there.

Two architectures are equivalent when their output expressions are isomorphic, atom for
atom (the same kinds applied to corresponding inputs, with the same multiplicities): then
every cell computes the same function once the weights are matched, in training and eval
mode alike. The form is the expression with atoms numbered canonically (the smallest
encoding over the numberings that respect each atom's unfolded expression); it merges,
for example, the node-1/node-2 swap when ``e12`` is ``none``, dead edges, a ``skip`` from an
all-zero node, and a conv1x1 versus a conv3x3 of an all-zero node. It keeps apart what only
a looser notion would merge: a term counted twice (one atom reached by two paths) versus
two atoms, or two learned constants versus one. Tested numerically with a reimplementation
of TransNAS-Bench's cell (normal and reducing). No network builder: proxies come from files.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from typing import Sequence, Union

import numpy as np

from ..errors import UnknownArch, short_repr as _shown
from . import tnb101_tasks
from .base import ProductSpace

NAME = "tnb101-micro"
#: Operation names by TransNAS-Bench-101 code: digit ``d`` of a cell string is ``OPS[d]``.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
#: Edges ``(from_node, to_node)`` in string (and tuple) order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: The fixed skeleton of every micro network: base channels and module codes.
SKELETON = "64-41414"
NUM_OPS = len(OPS)
NUM_EDGES = len(EDGES)

ArchLike = Union[str, int, np.integer, Sequence[int]]

_PATTERN = re.compile(r"64-41414-([0-3])_([0-3])([0-3])_([0-3])([0-3])([0-3])")
_FORMAT_HINT = ("write it as '64-41414-A_BC_DEF' (edges 0-1 _ 0-2 1-2 _ 0-3 1-3 2-3), each digit "
                + ", ".join(f"{d} ({op})" for d, op in enumerate(OPS)) + ", e.g. '64-41414-1_02_333'")
_NONE, _SKIP, _CONV1, _CONV3 = range(NUM_OPS)


def parse(arch: str) -> tuple[int, ...]:
    """The ops tuple of an official string; :class:`UnknownArch` for anything else (strict: ASCII, no spaces)."""
    if not isinstance(arch, str):
        raise UnknownArch(f"tnb101-micro architecture must be a string, got {type(arch).__name__}: {_FORMAT_HINT}")
    m = _PATTERN.fullmatch(arch)
    if m is None:
        raise UnknownArch(f"malformed tnb101-micro architecture {_shown(arch)}: {_FORMAT_HINT}")
    return tuple(int(d) for d in m.groups())


def format_arch(ops: Sequence[int]) -> str:
    """The official string of an ops tuple."""
    t = SPACE.check_ops(ops)
    return "{}-{}_{}{}_{}{}{}".format(SKELETON, *t)


def from_naslib(key: Sequence[int]) -> tuple[int, ...]:
    """The ops tuple of NASLib's (NAS-Bench-Suite-Zero's) micro tuple: the same six digits."""
    try:
        return SPACE.check_ops(key)
    except UnknownArch:
        raise UnknownArch(f"a NASLib tnb101-micro tuple must be 6 integers in 0..3 (TransNAS-Bench op codes "
                          f"in string order), got {_shown(key)}") from None


# --------------------------------------------------------------------------- canonical form
def _expression(ops: Sequence[int]) -> tuple[list[tuple[str, tuple]], tuple, dict[int, int]]:
    """The cell as atoms: ``(atoms, output, edge_atom)``.

    ``atoms[a] = (kind, input)``; an input or the output is a sorted tuple of ``(atom, multiplicity)``
    pairs, with atom ``-1`` standing for the cell input. ``edge_atom`` maps tuple positions to atoms.
    """
    atoms: list[tuple[str, tuple]] = []
    edge_atom: dict[int, int] = {}
    values: list[Counter] = [Counter({-1: 1})]
    for j in range(1, 4):
        value: Counter = Counter()
        for k, (i, to) in enumerate(EDGES):
            if to != j or ops[k] == _NONE:
                continue
            src = values[i]
            if ops[k] == _SKIP and i > 0:
                value.update(src)
                continue
            if ops[k] == _SKIP:
                kind = "skip0"
            elif not src:
                kind = "bias"  # ReLU-conv of zeros is zero; BatchNorm of zeros is its shift
            else:
                kind = "conv1x1" if ops[k] == _CONV1 else "conv3x3"
            edge_atom[k] = len(atoms)
            atoms.append((kind, tuple(sorted(src.items()))))
            value[len(atoms) - 1] += 1
        values.append(value)
    return atoms, tuple(sorted(values[3].items())), edge_atom


def _labelled(ops: Sequence[int]) -> tuple[str, dict[int, int]]:
    """The canonical form and, for each edge that carries a live atom, that atom's canonical number."""
    atoms, out, edge_atom = _expression(ops)
    live: set[int] = set()
    stack = [a for a, _ in out if a >= 0]
    while stack:
        a = stack.pop()
        if a not in live:
            live.add(a)
            stack += [b for b, _ in atoms[a][1] if b >= 0]

    @functools.lru_cache(maxsize=None)
    def unfolded(a: int) -> str:
        if a < 0:
            return "x"
        kind, inp = atoms[a]
        return f"{kind}(" + "+".join(sorted(f"{m}*{unfolded(b)}" for b, m in inp)) + ")"

    # Atoms with different unfolded expressions can never correspond: number them in that order and
    # try every numbering only among atoms whose unfolded expressions tie.
    groups: dict[str, list[int]] = {}
    for a in sorted(live):
        groups.setdefault(unfolded(a), []).append(a)
    keys = sorted(groups)
    best: tuple[str, dict[int, int]] = ("", {})
    for perms in itertools.product(*(itertools.permutations(groups[k]) for k in keys)):
        order = [a for p in perms for a in p]
        label = {a: n for n, a in enumerate(order)}
        label[-1] = -1

        def term(inp: tuple) -> str:
            parts = sorted((label[b], m) for b, m in inp)
            return "+".join(("x" if b < 0 else f"a{b}") + ("" if m == 1 else f"*{m}") for b, m in parts) or "0"

        text = " ".join(f"a{label[a]}={atoms[a][0]}({term(atoms[a][1])})" for a in order)
        text = (text + " " if text else "") + "out=" + term(out)
        if not best[0] or text < best[0]:
            best = (text, {k: label[a] for k, a in edge_atom.items() if a in live})
    return best


def canonical(arch: ArchLike) -> str:
    """Canonical form: equal for architectures whose cells compute the same function (module docstring),
    e.g. ``a0=conv3x3(x) a1=skip0(x) out=a0+a1``."""
    return _canonical_of_ops(SPACE.ops_of(arch))


@functools.lru_cache(maxsize=None)
def _canonical_of_ops(ops: tuple[int, ...]) -> str:
    return _labelled(ops)[0]


def canonical_labels(arch: ArchLike) -> dict[int, int]:
    """For each tuple position whose edge is a live atom, the atom's number in :func:`canonical`: two
    equivalent architectures compute the same function when those edges share weights (the test's map)."""
    return _labelled(SPACE.ops_of(arch))[1]


def output_reachable(arch: ArchLike) -> bool:
    """Whether node 3 depends on the cell input (some input-to-output path avoids ``none``)."""
    ops = SPACE.ops_of(arch)
    reach = [True, False, False, False]
    for k, (i, j) in enumerate(EDGES):
        if ops[k] != _NONE and reach[i]:
            reach[j] = True
    return reach[3]


# --------------------------------------------------------------------------- the interface
class TNB101MicroSpace(tnb101_tasks.TaskDatasets, ProductSpace):
    """TransNAS-Bench-101's cell space through the :class:`SearchSpace` interface (see the module docstring)."""

    name = NAME
    importers = ("naslib-zc",)
    #: Edges ``i-j`` (the onehot columns are ``onehot:0-1=none`` ...).
    positions = tuple(f"{i}-{j}" for i, j in EDGES)
    choices = (OPS,) * NUM_EDGES
    #: No network builder: the benchmark's proxies come from NAS-Bench-Suite-Zero's files.
    datasets = ()

    parse = staticmethod(parse)
    format_arch = staticmethod(format_arch)
    from_naslib = staticmethod(from_naslib)

    def canonical(self, arch: ArchLike) -> str:
        return canonical(arch)

    def representatives(self) -> np.ndarray:
        return _representatives()


@functools.lru_cache(maxsize=1)
def _representatives() -> np.ndarray:
    first: dict[str, int] = {}
    rep = np.array([first.setdefault(_canonical_of_ops(tuple(row)), i)
                    for i, row in enumerate(SPACE.ops_matrix().tolist())], dtype=np.int64)
    rep.setflags(write=False)
    return rep


SPACE = TNB101MicroSpace()
