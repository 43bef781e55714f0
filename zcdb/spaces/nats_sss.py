"""The NATS-Bench size search space ("sss"): channel counts of a fixed NAS-Bench-201 network.

Every architecture is the same network (the NAS-Bench-201 skeleton with one cell per stage
and NATS-Bench's fixed best topology cell, see :mod:`zcdb.spaces.nats_sss_network`); what
varies is the number of channels of each of its five layers, each one of
:data:`CHANNELS` = 8, 16, ..., 64: 8**5 = 32,768 architectures.

Three representations:

* the official **string**, as NATS-Bench writes it: the five channel counts joined by
  ``:``, e.g. ``"64:64:64:64:64"`` (files, CLI, reports);
* the official **index** ``0..32767``: the order of the official ``meta.pickle.pbz2``,
  which is the product order with the first layer slowest and channels ascending, i.e.
  ``index = sum(choice[k] * 8 ** (4 - k))`` with ``choice[k] = channels[k] // 8 - 1``;
* the **channels tuple** ``(c0, c1, c2, c3, c4)`` of genuine ints (what the string
  spells); :func:`choices_of` gives the choice indices ``0..7`` per layer instead
  (:func:`ops_matrix` holds those for every index), :func:`from_choices` the inverse.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence, Union

import numpy as np

from ..errors import UnknownArch
from . import _radix
from .base import SearchSpace, uniform_sample

NAME = "nats-sss"
#: The candidate channel counts of every layer, ascending (the choice index is the position here).
CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
#: The candidates of each of the five positions (all the same).
CHOICES: tuple[tuple[int, ...], ...] = (CHANNELS,) * NUM_LAYERS
NUM_CHOICES = len(CHANNELS)
NUM_ARCHS = NUM_CHOICES**NUM_LAYERS  # 32,768

ArchLike = Union[str, int, np.integer, Sequence[int]]

_CHOICE_OF = {c: i for i, c in enumerate(CHANNELS)}
# ASCII digits only (str.isdigit and \d accept '²' and other scripts' digits), no sign,
# no leading zero, no whitespace: the string must be exactly what NATS-Bench writes.
_PATTERN = re.compile(r"([1-9][0-9]*):([1-9][0-9]*):([1-9][0-9]*):([1-9][0-9]*):([1-9][0-9]*)")
_POW = _radix.powers((NUM_CHOICES,) * NUM_LAYERS)
_CANDIDATES = ", ".join(map(str, CHANNELS))
_FORMAT_HINT = f"write five channel counts from {_CANDIDATES} joined by ':', e.g. '64:64:64:64:64'"


# --------------------------------------------------------------------------- strings
def parse(arch: str) -> tuple[int, ...]:
    """The channels tuple of an official string such as ``"64:64:64:64:64"``.

    Strict: exactly five ``:``-separated counts in ASCII digits, each one of
    :data:`CHANNELS`, nothing around them. Raises :class:`UnknownArch` otherwise.
    """
    if not isinstance(arch, str):
        raise UnknownArch(f"nats-sss architecture string must be a str, got {type(arch).__name__}: {_FORMAT_HINT}")
    m = _PATTERN.fullmatch(arch)
    if m is None:
        raise UnknownArch(f"malformed nats-sss architecture {arch!r}: {_FORMAT_HINT}")
    channels = tuple(int(g) for g in m.groups())
    bad = [c for c in channels if c not in _CHOICE_OF]
    if bad:
        raise UnknownArch(
            f"channel count {bad[0]} in nats-sss architecture {arch!r} is not a candidate: {_FORMAT_HINT}"
        )
    return channels


def format_arch(channels: Sequence[int]) -> str:
    """The official string of a channels tuple (validated like :func:`index_of` does)."""
    return ":".join(map(str, _check_channels(channels)))


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_channels(channels: object) -> tuple[int, ...]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, (Sequence, np.ndarray)):
        raise UnknownArch(
            f"a nats-sss architecture is an official string, an index 0..{NUM_ARCHS - 1} or a tuple of "
            f"{NUM_LAYERS} channel counts, not {type(channels).__name__} {channels!r}: {_FORMAT_HINT}"
        )
    values = list(channels)
    if len(values) != NUM_LAYERS or not all(_is_int(c) for c in values):
        raise UnknownArch(f"nats-sss channels must be a tuple of {NUM_LAYERS} ints, got {channels!r}: {_FORMAT_HINT}")
    t = tuple(int(c) for c in values)
    bad = [c for c in t if c not in _CHOICE_OF]
    if bad:
        raise UnknownArch(f"channel count {bad[0]} in nats-sss channels {t} is not a candidate: {_FORMAT_HINT}")
    return t


# --------------------------------------------------------------------------- official index
def _code(channels: Sequence[int]) -> int:
    return _radix.code([_CHOICE_OF[c] for c in channels], NUM_CHOICES)


def _decode(index: int) -> tuple[int, ...]:
    return tuple(CHANNELS[r] for r in _radix.decode(index, NUM_CHOICES, NUM_LAYERS))


def _check_index(i: int) -> int:
    if not 0 <= i < NUM_ARCHS:
        raise UnknownArch(f"nats-sss index {i} out of range: use 0..{NUM_ARCHS - 1}")
    return i


def index_of(arch: ArchLike) -> int:
    """Official index of an architecture given as string, index or channels tuple.

    The index is the position in NATS-Bench's ``meta_archs``: product order, first
    layer slowest (``sum((c_k // 8 - 1) * 8 ** (4 - k))``). Bools, floats and tuples of
    anything but ints raise :class:`UnknownArch`.
    """
    if isinstance(arch, str):
        return _code(parse(arch))
    if _is_int(arch):
        return _check_index(int(arch))  # type: ignore[arg-type]
    return _code(_check_channels(arch))


def channels_of(arch: ArchLike) -> tuple[int, ...]:
    """Channels tuple of an architecture given as string, index or channels tuple."""
    if isinstance(arch, str):
        return parse(arch)
    if _is_int(arch):
        return _decode(_check_index(int(arch)))  # type: ignore[arg-type]
    return _check_channels(arch)


def choices_of(arch: ArchLike) -> tuple[int, ...]:
    """Choice index (``0..7``, into :data:`CHANNELS`) of each layer of an architecture."""
    return tuple(_CHOICE_OF[c] for c in channels_of(arch))


def from_choices(choices: Sequence[int]) -> tuple[int, ...]:
    """The channels tuple of five choice indices ``0..7`` (the inverse of :func:`choices_of`)."""
    sequence = isinstance(choices, (Sequence, np.ndarray)) and not isinstance(choices, (str, bytes))
    values = list(choices) if sequence else []
    if len(values) != NUM_LAYERS or not all(_is_int(v) and 0 <= v < NUM_CHOICES for v in values):
        raise UnknownArch(f"nats-sss choices must be {NUM_LAYERS} ints in 0..{NUM_CHOICES - 1}, got {choices!r}")
    return tuple(CHANNELS[int(v)] for v in values)


def string_of(arch: ArchLike) -> str:
    """Official string of an architecture given as string, index or channels tuple."""
    if isinstance(arch, str):
        parse(arch)
        return arch
    return format_arch(channels_of(arch))


@functools.lru_cache(maxsize=1)
def all_strings() -> tuple[str, ...]:
    """Official strings of all 32,768 architectures, by official index (``meta_archs``)."""
    return tuple(":".join(str(CHANNELS[c]) for c in row) for row in _ops_matrix().tolist())


def ops_matrix() -> np.ndarray:
    """``(32768, 5)`` read-only int8 array: the choice index of each layer, by official index."""
    return _ops_matrix()


@functools.lru_cache(maxsize=1)
def _ops_matrix() -> np.ndarray:
    return _radix.digit_matrix(np.arange(NUM_ARCHS), _POW, NUM_CHOICES)


def channels_matrix() -> np.ndarray:
    """``(32768, 5)`` read-only int16 array: the channel count of each layer, by official index."""
    return _channels_matrix()


@functools.lru_cache(maxsize=1)
def _channels_matrix() -> np.ndarray:
    m = np.asarray(CHANNELS, dtype=np.int16)[_ops_matrix()]
    m.setflags(write=False)
    return m


# --------------------------------------------------------------------------- equivalence
def canonical(arch: ArchLike) -> str:
    """The canonical form of an architecture: its own official string (the identity map).

    Every configuration is its own function: the five layers sit at fixed places in
    the network (cell, reduction, cell, reduction, cell; three resolutions), so no
    permutation of positions maps the network onto another, and two configurations that
    differ anywhere have a layer of a different width, hence different weight shapes,
    parameter counts and FLOPs. (A wider layer can imitate a narrower one with some
    weights set to zero, but the benchmark trains each configuration on its own, so
    that is not an equivalence of the benchmark's networks.) Unlike the topology space,
    nothing here is computed identically by two strings.
    """
    return string_of(arch)


# --------------------------------------------------------------------------- sampling & moves
def sample(n: int, seed: int, replace: bool = False) -> np.ndarray:
    """``n`` official indices drawn uniformly with a seeded numpy generator (int64)."""
    return uniform_sample("nats-sss", NUM_ARCHS, n, seed, replace)


def neighbours(arch: ArchLike) -> list[int]:
    """Official indices of the 35 architectures that differ from ``arch`` in exactly one layer.

    Ordered layer by layer; in each layer, the other seven channel counts ascending.
    """
    return neighbour_table()[index_of(arch)].tolist()


@functools.lru_cache(maxsize=1)
def neighbour_table() -> np.ndarray:
    """``(32768, 35)`` read-only int64 array of :func:`neighbours` for every index."""
    choices = _ops_matrix().astype(np.int64)
    index = np.arange(NUM_ARCHS, dtype=np.int64)
    cols = []
    for k in range(NUM_LAYERS):
        for other in range(NUM_CHOICES):
            cols.append(index + (other - choices[:, k]) * _POW[k])
    table = np.stack(cols, axis=1)
    # Drop each row's own index (the column where ``other`` equals the current choice).
    keep = np.ones(table.shape, dtype=bool)
    for k in range(NUM_LAYERS):
        keep[np.arange(NUM_ARCHS), k * NUM_CHOICES + choices[:, k]] = False
    table = table[keep].reshape(NUM_ARCHS, NUM_LAYERS * (NUM_CHOICES - 1))
    table.setflags(write=False)
    return table


# --------------------------------------------------------------------------- the interface
class NatsSssSpace(SearchSpace):
    """NATS-Bench's size space through the :class:`SearchSpace` interface.

    Its tuple form is the channels tuple (as NATS-Bench writes it); :meth:`ops_of` and
    :meth:`ops_matrix` give the choice indices 0..7 per layer, as every space's do.
    """

    name = NAME
    importers = ("nats-sss",)
    size = NUM_ARCHS
    positions = tuple(f"layer{k}" for k in range(NUM_LAYERS))
    choices = tuple(tuple(str(c) for c in row) for row in CHOICES)
    product = True
    datasets = ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120")
    network_builder = ("nats_sss_network", "build_nats_sss")
    cost_counter = "nats_sss_cost"
    #: NATS-Bench's schedules (``hp`` 01, 12, 90) as protocols; the 90-epoch one by default.
    default_protocol = "90ep"
    official_protocols = ("01ep", "12ep", "90ep")

    parse = staticmethod(lambda text: choices_of(text))
    format_arch = staticmethod(lambda ops: format_arch(from_choices(ops)))
    index_of = staticmethod(index_of)
    string_of = staticmethod(string_of)
    ops_of = staticmethod(choices_of)
    ops_matrix = staticmethod(ops_matrix)
    all_strings = staticmethod(all_strings)
    canonical = staticmethod(canonical)
    sample = staticmethod(sample)
    neighbours = staticmethod(neighbours)
    neighbour_table = staticmethod(neighbour_table)

    def representatives(self) -> np.ndarray:
        rep = np.arange(NUM_ARCHS, dtype=np.int64)  # every configuration is its own class (see canonical)
        rep.setflags(write=False)
        return rep


SPACE = NatsSssSpace()
