"""Search spaces, by name: the explicit registry :data:`SPACES` of :class:`SearchSpace` instances.

Generic code asks the space object (``get_space(name)``) for everything that differs
between spaces; ``docs/spaces.md`` says how to add one.
"""

from __future__ import annotations

import importlib
import re
from typing import Iterator, MutableMapping, Optional, Union

from ..errors import UnknownArch, UnknownSpace
from .base import MissingCapability, ProductSpace, SearchSpace

__all__ = ["SPACES", "DEFAULT_SPACE", "SUITE_ZERO_SPACES", "get_space", "suite_zero_space", "describe_spaces",
           "parse_arch_text", "SearchSpace", "ProductSpace", "MissingCapability"]


class _Registry(MutableMapping[str, SearchSpace]):
    """Space name -> space, listed explicitly by module; a space's module is imported the first
    time the space is asked for, so a command that reads one space does not pay for the others
    (start-up time of the reading commands, issue 17)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)
        self._spaces: dict[str, SearchSpace] = {}

    def __getitem__(self, name: str) -> SearchSpace:
        space = self._spaces.get(name)
        if space is None:
            module = self._modules[name]  # KeyError for an unknown name, as a dict
            space = importlib.import_module(f"{__name__}.{module}").SPACE
            if space.name != name:
                raise RuntimeError(f"zcdb.spaces.{module}.SPACE is named {space.name!r}, registered as {name!r}")
            self._spaces[name] = space
        return space

    def __setitem__(self, name: str, space: SearchSpace) -> None:
        self._modules.setdefault(name, "")
        self._spaces[name] = space

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._spaces.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __repr__(self) -> str:
        return f"<zcdb spaces {', '.join(self._modules)}>"


#: Space name -> the space (parse, index, canonical form, moves, encodings, networks, costs).
#: Explicit: each name and the module under ``zcdb/spaces/`` whose ``SPACE`` it is.
SPACES: MutableMapping[str, SearchSpace] = _Registry({
    "nb201": "nb201", "macro": "macro", "nats-sss": "nats_sss", "tnb101-micro": "tnb101_micro",
    "tnb101-macro": "tnb101_macro", "nb101": "nb101", "nb301": "nb301",
})

#: NASLib's search-space names (in NAS-Bench-Suite-Zero's ``benchmark--SPACE--TASK--START.json``
#: files) -> zcdb's, including spaces this zcdb may not have.
SUITE_ZERO_SPACES: dict[str, str] = {
    "nasbench101": "nb101", "nasbench201": "nb201", "nasbench301": "nb301",
    "transbench101_micro": "tnb101-micro", "transbench101_macro": "tnb101-macro",
}

#: The space that commands and functions take when none is named (the first benchmark zcdb held).
DEFAULT_SPACE = "nb201"


def get_space(name: str) -> SearchSpace:
    """The search space ``name``; :class:`UnknownSpace` names the known ones."""
    try:
        return SPACES[name]
    except (KeyError, TypeError):
        raise UnknownSpace(f"unknown space {name!r}: use one of {', '.join(SPACES)}") from None


def suite_zero_space(naslib_name: str) -> SearchSpace:
    """The zcdb space of a NASLib search-space name; :class:`UnknownSpace` names what is missing."""
    name = SUITE_ZERO_SPACES.get(naslib_name)
    if name is None:
        raise UnknownSpace(f"NAS-Bench-Suite-Zero space {naslib_name!r} has no zcdb counterpart: zcdb reads "
                           f"{', '.join(SUITE_ZERO_SPACES)}")
    if name not in SPACES:
        raise UnknownSpace(f"NAS-Bench-Suite-Zero space {naslib_name!r} is zcdb space {name}, which this zcdb "
                           f"does not have: install a zcdb with {name}, or leave those files out")
    return SPACES[name]


def describe_spaces() -> list[dict[str, object]]:
    """One row per registered space: name, size, positions x choices, datasets with networks, default protocol."""
    rows = []
    for sp in SPACES.values():
        widths = sorted({len(c) for c in sp.choices})
        rows.append(dict(
            space=sp.name, size=sp.size, positions=len(sp.positions),
            choices="/".join(map(str, widths)) + (" (product)" if sp.product else ""),
            example=sp.string_of(0) if sp.size else "", networks=",".join(sp.datasets) or "none",
            protocol=sp.default_protocol or "", encodings=",".join(sp.encodings)))
    return rows


_INDEX = re.compile(r"[0-9]+")
#: The digits of the largest int64 (nb301's global ids have 19); int() of a longer string is slow or refused.
_MAX_INDEX_DIGITS = 19


def parse_arch_text(text: str, space: Optional[SearchSpace] = None) -> Union[int, str]:
    """An architecture written in a file or on a command line: an official index if the
    (stripped) text is ASCII digits, else the text, for the space to parse as its string.

    Give ``space`` wherever it is known: a space whose official strings are digits too
    (macro's 8-digit codes) gets the text back when its ``parse`` accepts it: then
    ``00000012`` is that code (index 5), not index 12. The string wins because it is
    the official form; an index is not written zero-padded to a code's length.

    With ``space``, digits its ``parse`` refuses are an index only when written as one: with a
    leading zero (``0000001``, a code one digit short) they are the string mistyped, and an
    index past the space's size is refused naming both readings; either error is the parse's.

    Only ``[0-9]`` counts as a digit: ``str.isdigit`` also accepts ``²`` (which ``int``
    refuses) and ``int`` accepts other scripts' digits (``١٢``), neither an index anyone wrote.
    """
    text = text.strip()
    if _INDEX.fullmatch(text):
        if space is not None:
            try:
                space.parse(text)
                return text
            except UnknownArch as e:
                err = str(e)
            if len(text) > 1 and text[0] == "0":  # an index is not written zero-padded
                raise UnknownArch(f"{err} (digits with a leading zero are not read as an index)")
            n = space.size
            if n is not None and (len(text) > _MAX_INDEX_DIGITS or int(text) >= n):
                raise UnknownArch(f"{err}; read as an index, {text} is out of range 0..{n - 1}")
        if len(text) > _MAX_INDEX_DIGITS:
            raise UnknownArch(f"index {text[:12]}... ({len(text)} digits) is out of range: give an official index")
        return int(text)
    return text
