"""Search spaces, by name: the explicit registry :data:`SPACES` of :class:`SearchSpace` instances.

Generic code asks the space object (``get_space(name)``) for everything that differs
between spaces; ``docs/spaces.md`` says how to add one.
"""

from __future__ import annotations

from ..errors import UnknownSpace
from . import nb201
from .base import MissingCapability, ProductSpace, SearchSpace

__all__ = ["SPACES", "DEFAULT_SPACE", "get_space", "SearchSpace", "ProductSpace", "MissingCapability"]

#: Space name -> the space (parse, index, canonical form, moves, encodings, networks, costs).
SPACES: dict[str, SearchSpace] = {s.name: s for s in (nb201.SPACE,)}

#: The space that commands and functions take when none is named (the first benchmark zcdb held).
DEFAULT_SPACE = "nb201"


def get_space(name: str) -> SearchSpace:
    """The search space ``name``; :class:`UnknownSpace` names the known ones."""
    try:
        return SPACES[name]
    except (KeyError, TypeError):
        raise UnknownSpace(f"unknown space {name!r}: known spaces are {', '.join(SPACES)}") from None
