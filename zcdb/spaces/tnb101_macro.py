"""TransNAS-Bench-101's macro-level search space, ``tnb101-macro`` (Duan et al., CVPR 2021; code and
API: yawen-d/TransNASBench).

Every network is a stem to 64 channels, then 4 to 6 modules of two ResNet basic blocks; the
skeleton decides, module by module, whether the first block halves the resolution and whether
it doubles the channels. TransNAS-Bench-101 codes each module with one digit (its
``MacroNet``: ``code % 2 == 0`` doubles the channels, ``code > 2`` strides by 2):

* ``1`` normal, ``2`` channels x2, ``3`` resolution / 2, ``4`` both.

A skeleton is valid when it has 4 to 6 modules, 1 to 4 of which downsample (codes 3, 4) and
1 to 3 of which double the channels (codes 2, 4): NASLib's sampler draws exactly these (4 + r
modules, r in 0..2; p in 1..4 downsampling and q in 1..3 doubling modules at random places).
That gives sum over L = 4, 5, 6 of (sum_{p=1..min(4,L)} C(L,p)) x (sum_{q=1..3} C(L,q)) =
210 + 750 + 2,296 = 3,256 skeletons, TransNAS-Bench-101's count and exactly the set in
NAS-Bench-Suite-Zero's files (tested).

Three representations:

* the official **string**, TransNAS-Bench-101's own: ``64-<codes>-basic``, e.g. ``64-1234-basic``
  (m1 normal, m2 channels x2, m3 resolution / 2, m4 both);
* the **ops tuple**: six positions ``module0 .. module5``, each the choice index ``code - 1``
  (0..3: :data:`MODULES`), and ``4`` (``absent``) after the last module of a 4- or 5-module
  skeleton; ``64-1234-basic`` is ``(0, 1, 2, 3, 4, 4)``;
* the **index** ``0..3255``: zcdb's order, skeletons sorted by length and then by their digits
  (``64-1114-basic`` is 0, ``64-444311-basic`` is 3,255). The release keeps no order of its own
  (the API's index runs over both spaces; the Suite-Zero ``idx`` field is NASLib's shuffle).

**NASLib and NAS-Bench-Suite-Zero** write a skeleton as its codes, ``"(2, 3, 1, 4)"``: NASLib's
``op_indices`` pads them with zeros to six (``[2, 3, 1, 4, 0, 0]``), the released files do not;
:func:`from_naslib` takes both. NASLib builds the network and queries the benchmark with
``'64-{}-basic'.format(''.join(codes without the zeros))``, the official string.

**Canonical form**: every skeleton is its own class. There is no parameter-free choice: every
module is two residual blocks with learned convolutions, so two skeletons differ in depth, or
put some block at another resolution or width, and the function classes differ.

**Neighbours**: the valid skeletons one position away in the ops tuple: another code for one
module, one more module at the end, or the last module removed (ragged lists). NASLib's own
mutation redraws the counts (length, downsamplings, doublings) and shuffles; zcdb's moves are
the local ones every space has. Sampling is uniform over the 3,256 (NASLib's sampler is
uniform over the counts instead). No network builder: proxies come from files.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Sequence, Union

import numpy as np

from ..errors import UnknownArch, short_repr as _shown
from . import tnb101_tasks
from .base import SearchSpace, genuine_int

NAME = "tnb101-macro"
#: Module kinds by choice index (TransNAS-Bench code = index + 1).
MODULES: tuple[str, ...] = ("normal", "channel_x2", "downsample", "channel_x2_downsample")
#: Choice index of a position after the last module.
ABSENT = len(MODULES)
MIN_MODULES, MAX_MODULES = 4, 6
#: Bounds on the number of downsampling (codes 3, 4) and channel-doubling (codes 2, 4) modules.
DOWNSAMPLES = (1, 4)
DOUBLINGS = (1, 3)
#: The choices at each of the six positions: the last two may be absent.
CHOICES: tuple[tuple[str, ...], ...] = (MODULES,) * MIN_MODULES + (MODULES + ("absent",),) * (MAX_MODULES - MIN_MODULES)

ArchLike = Union[str, int, np.integer, Sequence[int]]

_PATTERN = re.compile(r"64-([1-4]{4,6})-basic")
_FORMAT_HINT = ("write it as '64-<4 to 6 module codes>-basic', codes 1 (normal), 2 (channels x2), "
                "3 (resolution / 2), 4 (both), with 1-4 modules of code 3 or 4 and 1-3 of code 2 or 4, "
                "e.g. '64-1234-basic'")


def _valid_codes(codes: Sequence[int]) -> bool:
    down = sum(c in (3, 4) for c in codes)
    double = sum(c in (2, 4) for c in codes)
    return (MIN_MODULES <= len(codes) <= MAX_MODULES and all(c in (1, 2, 3, 4) for c in codes)
            and DOWNSAMPLES[0] <= down <= DOWNSAMPLES[1] and DOUBLINGS[0] <= double <= DOUBLINGS[1])


def _why_invalid(codes: Sequence[int]) -> str:
    down = sum(c in (3, 4) for c in codes)
    double = sum(c in (2, 4) for c in codes)
    if not DOWNSAMPLES[0] <= down <= DOWNSAMPLES[1]:
        return f"it has {down} downsampling modules (codes 3, 4), not {DOWNSAMPLES[0]}..{DOWNSAMPLES[1]}"
    return f"it has {double} channel-doubling modules (codes 2, 4), not {DOUBLINGS[0]}..{DOUBLINGS[1]}"


@functools.lru_cache(maxsize=1)
def _all_codes() -> tuple[tuple[int, ...], ...]:
    return tuple(c for n in range(MIN_MODULES, MAX_MODULES + 1)
                 for c in itertools.product((1, 2, 3, 4), repeat=n) if _valid_codes(c))


@functools.lru_cache(maxsize=1)
def _index_of_codes() -> dict[tuple[int, ...], int]:
    return {c: i for i, c in enumerate(_all_codes())}


def _ops_from_codes(codes: Sequence[int]) -> tuple[int, ...]:
    return tuple(c - 1 for c in codes) + (ABSENT,) * (MAX_MODULES - len(codes))


def _codes_from_ops(ops: Sequence[int]) -> tuple[int, ...]:
    return tuple(o + 1 for o in ops if o != ABSENT)


def _index_of_checked_codes(codes: tuple[int, ...], shown: Any) -> int:
    i = _index_of_codes().get(codes)
    if i is None:
        raise UnknownArch(f"tnb101-macro skeleton {''.join(map(str, codes))} (from {_shown(shown)}) is not in "
                          f"the space: {_why_invalid(codes)}")
    return i


# --------------------------------------------------------------------------- strings
def parse(arch: str) -> tuple[int, ...]:
    """The ops tuple of an official string (strict: ASCII, no spaces); :class:`UnknownArch` otherwise."""
    if not isinstance(arch, str):
        raise UnknownArch(f"tnb101-macro architecture must be a string, got {type(arch).__name__}: {_FORMAT_HINT}")
    m = _PATTERN.fullmatch(arch)
    if m is None:
        raise UnknownArch(f"malformed tnb101-macro architecture {_shown(arch)}: {_FORMAT_HINT}")
    codes = tuple(int(d) for d in m.group(1))
    if not _valid_codes(codes):
        raise UnknownArch(f"tnb101-macro architecture {arch!r} is not in the space: {_why_invalid(codes)}")
    return _ops_from_codes(codes)


def _check_ops(ops: Any) -> tuple[int, ...]:
    hint = (f"a tnb101-macro ops tuple must hold {MAX_MODULES} integers: module kinds 0..3 (code - 1), "
            f"then {ABSENT} (absent) after the last of 4..6 modules")
    if isinstance(ops, (str, bytes)):
        raise UnknownArch(f"{hint}, got the string {_shown(ops)} (pass strings to parse)")
    try:
        t = tuple(ops)
    except TypeError:
        raise UnknownArch(f"{hint}, got {_shown(ops)}") from None
    if len(t) != MAX_MODULES or not all(genuine_int(o) and 0 <= o <= ABSENT for o in t):
        raise UnknownArch(f"{hint}, got {_shown(ops)}")
    t = tuple(int(o) for o in t)
    n = next((k for k, o in enumerate(t) if o == ABSENT), MAX_MODULES)
    if n < MIN_MODULES or any(o != ABSENT for o in t[n:]):
        raise UnknownArch(f"{hint}, got {_shown(ops)}")
    _index_of_checked_codes(_codes_from_ops(t), ops)
    return t


def format_arch(ops: Sequence[int]) -> str:
    """The official string of an ops tuple."""
    return "64-" + "".join(map(str, _codes_from_ops(_check_ops(ops)))) + "-basic"


def from_naslib(key: Sequence[int]) -> tuple[int, ...]:
    """The ops tuple of NASLib's skeleton: 4-6 module codes in 1..4, optionally padded with zeros to six."""
    hint = "a NASLib tnb101-macro tuple must be 4 to 6 module codes in 1..4, optionally padded with 0s to 6"
    try:
        t = tuple(key)
    except TypeError:
        raise UnknownArch(f"{hint}, got {_shown(key)}") from None
    if not all(genuine_int(c) for c in t) or len(t) > MAX_MODULES:
        raise UnknownArch(f"{hint}, got {_shown(key)}")
    codes = tuple(int(c) for c in t)
    n = len(codes)
    while n and codes[n - 1] == 0:
        n -= 1
    if not MIN_MODULES <= n or not all(1 <= c <= 4 for c in codes[:n]):
        raise UnknownArch(f"{hint}, got {_shown(key)}")
    _index_of_checked_codes(codes[:n], key)
    return _ops_from_codes(codes[:n])


def to_naslib(arch: ArchLike) -> tuple[int, ...]:
    """NASLib's ``op_indices`` of an architecture: its module codes, padded with zeros to six."""
    codes = _codes_from_ops(SPACE.ops_of(arch))
    return codes + (0,) * (MAX_MODULES - len(codes))


# --------------------------------------------------------------------------- the interface
class TNB101MacroSpace(tnb101_tasks.TaskDatasets, SearchSpace):
    """TransNAS-Bench-101's macro space through the :class:`SearchSpace` interface (see the module docstring)."""

    name = NAME
    importers = ("naslib-zc",)
    size = 3256
    positions = tuple(f"module{k}" for k in range(MAX_MODULES))
    choices = CHOICES
    #: Not every combination of choices is a skeleton (length and count constraints).
    product = False
    datasets = ()

    parse = staticmethod(parse)
    format_arch = staticmethod(format_arch)
    from_naslib = staticmethod(from_naslib)

    def index_of(self, arch: ArchLike) -> int:
        if isinstance(arch, str):
            i = self.index_map().get(arch)
            return i if i is not None else _index_of_codes()[_codes_from_ops(parse(arch))]
        if genuine_int(arch):
            i = int(arch)
            if not 0 <= i < self.size:
                raise UnknownArch(f"tnb101-macro index {i} out of range 0..{self.size - 1}")
            return i
        if isinstance(arch, (float, np.floating, bool, np.bool_)):
            raise UnknownArch(f"tnb101-macro architecture must be a string, an index in 0..{self.size - 1} or an "
                              f"ops tuple, got {type(arch).__name__} {_shown(arch)}")
        return _index_of_codes()[_codes_from_ops(_check_ops(arch))]

    def ops_of(self, arch: ArchLike) -> tuple[int, ...]:
        return tuple(int(v) for v in self.ops_matrix()[self.index_of(arch)])

    def string_of(self, arch: ArchLike) -> str:
        return self.all_strings()[self.index_of(arch)]

    def ops_matrix(self) -> np.ndarray:
        return _ops_matrix()

    def all_strings(self) -> tuple[str, ...]:
        return _all_strings()

    def canonical(self, arch: ArchLike) -> str:
        # every skeleton is its own class (module docstring)
        return self.string_of(arch)

    def representatives(self) -> np.ndarray:
        rep = np.arange(self.size, dtype=np.int64)
        rep.setflags(write=False)
        return rep

    def neighbours(self, arch: ArchLike) -> list[int]:
        return _neighbour_lists()[self.index_of(arch)].tolist()

    def neighbour_lists(self) -> list[np.ndarray]:
        return list(_neighbour_lists())


@functools.lru_cache(maxsize=1)
def _ops_matrix() -> np.ndarray:
    m = np.array([_ops_from_codes(c) for c in _all_codes()], dtype=np.int8)
    m.setflags(write=False)
    return m


@functools.lru_cache(maxsize=1)
def _all_strings() -> tuple[str, ...]:
    return tuple("64-" + "".join(map(str, c)) + "-basic" for c in _all_codes())


@functools.lru_cache(maxsize=1)
def _neighbour_lists() -> tuple[np.ndarray, ...]:
    index = _index_of_codes()
    out = []
    for codes in _all_codes():
        found = []
        n = len(codes)
        for k in range(n):  # another code for one module
            for c in (1, 2, 3, 4):
                if c != codes[k]:
                    found.append(codes[:k] + (c,) + codes[k + 1:])
        if n < MAX_MODULES:  # one more module at the end
            found += [codes + (c,) for c in (1, 2, 3, 4)]
        if n > MIN_MODULES:  # the last module removed
            found.append(codes[:-1])
        arr = np.array([index[c] for c in found if c in index], dtype=np.int64)
        arr.setflags(write=False)
        out.append(arr)
    return tuple(out)


SPACE = TNB101MacroSpace()
