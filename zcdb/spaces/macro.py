"""The NAS-Bench-Macro search space (Su et al., CVPR 2021, "Prioritized Architecture
Sampling with Monte-Carlo Tree Search"; data and code: xiusu/NAS-Bench-Macro).

A network is a fixed stem and head around 8 searchable layers in three stages of
2, 3 and 3 layers; each layer takes one of three blocks (:data:`OPS`, the authors'
names):

* ``0`` ``id``: an identity, except in the first layer of a stage (see below);
* ``1`` ``ir_3x3_t3``: MobileNetV2 inverted residual, kernel 3, expansion 3 ("MB3_K3");
* ``2`` ``ir_5x5_t6``: MobileNetV2 inverted residual, kernel 5, expansion 6 ("MB6_K5").

Three representations, as for every zcdb space:

* the official **string**: the 8-digit code, first layer first (``"02012100"``);
* the **index** ``0..6560``: the code read as a base-3 number, so index order is the
  order of the sorted codes (and of the keys of the released file, sorted);
* the **ops tuple**: 8 op indices into :data:`OPS`.

Which layers are alike: the first layer of each stage (:data:`REDUCTION_LAYERS`)
halves the resolution and doubles the channels; there ``id`` is a learned 1x1
convolution with stride 2 and BatchNorm, not an identity. Everywhere else ``id`` is
a true identity, which is what :func:`canonical` builds on. This module does not
import torch; the network is in :mod:`zcdb.spaces.macro_network`, its costs in :mod:`zcdb.spaces.macro_cost`.
"""

from __future__ import annotations

import functools
from typing import Sequence, Union

import numpy as np

from ..errors import UnknownArch
from . import _radix
from .base import SearchSpace, uniform_sample

NAME = "macro"
#: Block names in code order (the authors' ``candidate_OP``): digit ``d`` is ``OPS[d]``.
OPS: tuple[str, ...] = ("id", "ir_3x3_t3", "ir_5x5_t6")
#: Layers per stage; the first layer of each stage has stride 2 and doubles the channels.
STAGES: tuple[int, ...] = (2, 3, 3)
NUM_LAYERS = sum(STAGES)  # 8
NUM_OPS = len(OPS)
NUM_ARCHS = NUM_OPS**NUM_LAYERS  # 6,561
#: The choices of each of the 8 layers (the same three everywhere: a product space).
CHOICES: tuple[tuple[str, ...], ...] = (OPS,) * NUM_LAYERS
#: Positions of the first layer of each stage (stride 2, channels doubled): 0, 2, 5.
REDUCTION_LAYERS: tuple[int, ...] = tuple(sum(STAGES[:s]) for s in range(len(STAGES)))

ArchLike = Union[str, int, np.integer, Sequence[int]]

_DIGITS = "0123456789"[:NUM_OPS]
_POW = _radix.powers((NUM_OPS,) * NUM_LAYERS)
_FORMAT_HINT = (f"expected {NUM_LAYERS} digits, each "
                + ", ".join(f"{d} ({op})" for d, op in zip(_DIGITS, OPS))
                + ", e.g. '02012100'")


# --------------------------------------------------------------------------- strings
def parse(code: str) -> tuple[int, ...]:
    """Parse an 8-digit code into its ops tuple.

    Strict: exactly 8 ASCII characters from ``0``-``2``, no surrounding or inner
    whitespace, no other Unicode digits. Anything else raises :class:`UnknownArch`.
    """
    if not isinstance(code, str):
        raise UnknownArch(f"macro architecture must be a string, got {type(code).__name__}: {_FORMAT_HINT}")
    # Membership in a fixed ASCII alphabet, not str.isdigit(), which accepts '²' and other digits.
    if len(code) != NUM_LAYERS or any(c not in _DIGITS for c in code):
        raise UnknownArch(f"malformed macro architecture {code!r}: {_FORMAT_HINT}")
    return tuple(ord(c) - ord("0") for c in code)


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_ops(ops: Sequence[int]) -> tuple[int, ...]:
    hint = f"macro ops tuple must hold {NUM_LAYERS} integers in 0..{NUM_OPS - 1}"
    if isinstance(ops, (str, bytes)):
        raise UnknownArch(f"{hint}, got the string {ops!r} (pass strings to parse)")
    try:
        items = tuple(ops)
    except TypeError:
        raise UnknownArch(f"{hint}, got {ops!r}") from None
    if len(items) != NUM_LAYERS or not all(_is_int(o) and 0 <= o < NUM_OPS for o in items):
        raise UnknownArch(f"{hint} (not bools, floats or strings), got {ops!r}")
    return tuple(int(o) for o in items)


def format_arch(ops: Sequence[int]) -> str:
    """The 8-digit code of an ops tuple."""
    return "".join(_DIGITS[o] for o in _check_ops(ops))


# --------------------------------------------------------------------------- index
def _code(ops: Sequence[int]) -> int:
    return _radix.code(ops, NUM_OPS)


def _decode(index: int) -> tuple[int, ...]:
    return _radix.decode(index, NUM_OPS, NUM_LAYERS)


def index_of(arch: ArchLike) -> int:
    """Index ``0..6560`` of an architecture given as code, index or ops tuple.

    The index is the code read as a base-3 number (first layer most significant),
    so it matches the order of the sorted codes: ``index_of("00000000") == 0``,
    ``index_of("00000010") == 3``, ``index_of("22222222") == 6560``.
    """
    if isinstance(arch, str):
        return _code(parse(arch))
    if _is_int(arch):
        i = int(arch)
        if not 0 <= i < NUM_ARCHS:
            raise UnknownArch(f"macro index {i} out of range 0..{NUM_ARCHS - 1}")
        return i
    if isinstance(arch, (bool, np.bool_, float, np.floating)):
        raise UnknownArch(f"macro architecture must be an 8-digit code, an integer index in 0..{NUM_ARCHS - 1} "
                          f"or an ops tuple, got {type(arch).__name__} {arch!r}")
    return _code(_check_ops(arch))


def ops_of(arch: ArchLike) -> tuple[int, ...]:
    """Ops tuple of an architecture given as code, index or ops tuple."""
    if isinstance(arch, str):
        return parse(arch)
    return _decode(index_of(arch))


def string_of(arch: ArchLike) -> str:
    """8-digit code of an architecture given as code, index or ops tuple."""
    return format_arch(ops_of(arch))


def all_strings() -> tuple[str, ...]:
    """The codes of all 6,561 architectures, by index (that is, sorted)."""
    return _all_strings()


@functools.lru_cache(maxsize=1)
def _all_strings() -> tuple[str, ...]:
    return tuple("".join(_DIGITS[o] for o in row) for row in _ops_matrix().tolist())


def ops_matrix() -> np.ndarray:
    """``(6561, 8)`` int8 array (read-only): the ops tuple of every architecture, by index."""
    return _ops_matrix()


@functools.lru_cache(maxsize=1)
def _ops_matrix() -> np.ndarray:
    return _radix.digit_matrix(np.arange(NUM_ARCHS), _POW, NUM_OPS)


# --------------------------------------------------------------------------- canonical form
def canonical(arch: ArchLike) -> str:
    """Canonical code: equal exactly for architectures that compute the same function.

    Inside a stage, every layer but the first has stride 1 and equal input and output
    channels, and there ``id`` is a parameter-free identity: it can be dropped from the
    chain of layers without changing the function (or the parameters, or, with the
    same seed, the initial weights). So within a stage only the order of its
    non-identity blocks after the first layer matters. The first layer of a stage is
    not movable: there ``id`` is a strided 1x1 convolution with BatchNorm. The
    canonical code keeps each stage's first digit and moves that stage's other
    ``0`` digits to its end (the authors' ``get_real_arch``: it is the code each class
    was trained under, and the released file copies its record to the other codes of
    the class). Classes: ``3 * 3`` in the first stage times ``3 * (1 + 2 + 4)`` in each
    of the others (first digit, then up to two blocks in order), ``9 * 21 * 21 = 3,969``.
    """
    ops = ops_of(arch)
    out: list[int] = []
    start = 0
    for size in STAGES:
        stage = ops[start:start + size]
        rest = [o for o in stage[1:] if o != 0]
        out += [stage[0], *rest, *[0] * (size - 1 - len(rest))]
        start += size
    return format_arch(out)


@functools.lru_cache(maxsize=1)
def canonical_table() -> np.ndarray:
    """For each index, the index of its canonical code (read-only int64 array of 6,561)."""
    table = np.array([index_of(canonical(s)) for s in _all_strings()], dtype=np.int64)
    table.setflags(write=False)
    return table


# --------------------------------------------------------------------------- sampling & moves
def sample(n: int, seed: int, replace: bool = False) -> np.ndarray:
    """``n`` indices drawn uniformly with a seeded numpy generator (distinct unless ``replace``)."""
    return uniform_sample("macro", NUM_ARCHS, n, seed, replace)


def neighbours(arch: ArchLike) -> list[int]:
    """Indices of the 16 architectures that differ from ``arch`` in exactly one layer.

    Ordered layer by layer; in each layer, the ops ``(op + 1) % 3`` then ``(op + 2) % 3``.
    """
    return neighbour_table()[index_of(arch)].tolist()


@functools.lru_cache(maxsize=1)
def neighbour_table() -> np.ndarray:
    """``(6561, 16)`` int64 array (read-only) of :func:`neighbours` for every index."""
    table = _radix.one_change_codes(_ops_matrix(), np.arange(NUM_ARCHS), _POW, (NUM_OPS,) * NUM_LAYERS)
    table.setflags(write=False)
    return table


# --------------------------------------------------------------------------- the interface
class MacroSpace(SearchSpace):
    """NAS-Bench-Macro through the :class:`SearchSpace` interface (the module's functions are the direct API).

    Costs are in the store's units (params in millions, MFLOPs); the released file and
    :func:`zcdb.spaces.macro_cost.count_cost` give counts.
    """

    name = NAME
    importers = ("nas-bench-macro", "csv")
    size = NUM_ARCHS
    positions = tuple(f"layer{k}" for k in range(NUM_LAYERS))
    choices = CHOICES
    product = True
    datasets = ("cifar10", "cifar100")
    network_builder = ("macro_network", "build_macro")
    cost_counter = "macro_cost"
    cost_divisor = 1e6  # the counter counts parameters and FLOPs
    #: The authors' recipe: 50 epochs on CIFAR-10, test accuracy the best epoch's.
    default_protocol = "50ep"
    official_protocols = ("50ep",)

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

    def representatives(self) -> np.ndarray:
        # the smallest index of each class (the canonical code itself may sort later)
        table = canonical_table()
        first = np.full(NUM_ARCHS, NUM_ARCHS, dtype=np.int64)
        np.minimum.at(first, table, np.arange(NUM_ARCHS))
        rep = first[table]
        rep.setflags(write=False)
        return rep


SPACE = MacroSpace()
