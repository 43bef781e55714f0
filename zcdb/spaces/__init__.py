"""Search spaces, by name: the explicit registry :data:`SPACES`."""

from __future__ import annotations

from types import ModuleType

from ..errors import UnknownSpace
from . import nb201

#: Space name -> module implementing it (parse, index_of, string_of, canonical, sample, neighbours, ...).
SPACES: dict[str, ModuleType] = {"nb201": nb201}


def get_space(name: str) -> ModuleType:
    """The module of search space ``name``; :class:`UnknownSpace` names the known ones."""
    try:
        return SPACES[name]
    except KeyError:
        raise UnknownSpace(f"unknown space {name!r}: known spaces are {', '.join(SPACES)}") from None
