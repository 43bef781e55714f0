"""Search spaces, by name: the explicit registry :data:`SPACES`."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Union

from ..errors import UnknownArch, UnknownSpace
from . import nb201

#: Space name -> module implementing it (parse, index_of, string_of, canonical, sample, neighbours, ...).
SPACES: dict[str, ModuleType] = {"nb201": nb201}


def get_space(name: str) -> ModuleType:
    """The module of search space ``name``; :class:`UnknownSpace` names the known ones."""
    try:
        return SPACES[name]
    except KeyError:
        raise UnknownSpace(f"unknown space {name!r}: use one of {', '.join(SPACES)}") from None


_INDEX = re.compile(r"[0-9]+")
#: More digits than any space's index needs; int() of a longer string is slow or refused.
_MAX_INDEX_DIGITS = 18


def parse_arch_text(text: str) -> Union[int, str]:
    """An architecture written in a file or on a command line: an official index if the
    (stripped) text is ASCII digits, else the text, for the space to parse as its string.

    Only ``[0-9]`` counts as a digit: ``str.isdigit`` also accepts ``²`` (which ``int``
    refuses) and ``int`` accepts other scripts' digits (``١٢``), neither an index anyone wrote.
    """
    text = text.strip()
    if _INDEX.fullmatch(text):
        if len(text) > _MAX_INDEX_DIGITS:
            raise UnknownArch(f"index {text[:12]}... ({len(text)} digits) is out of range: give an official index")
        return int(text)
    return text
