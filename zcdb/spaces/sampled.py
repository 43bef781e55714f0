"""The stored architectures of a space too large to enumerate, seen as an enumerable space.

A table of a non-enumerable space (nb301: about 10^18 genotypes) holds rows for a sample of
it, keyed in the store by the space's global int64 ids. :class:`SampledSpace` is that sample
as a :class:`~zcdb.spaces.base.SearchSpace`: ``size`` is the number of stored architectures,
an architecture's index is its position among them in increasing global id, and everything
else (strings, canonical form, encodings, networks, costs) is asked of the base space.
Dense code (``values()``, ``top``, proxy evaluation, frames, surrogate features) then runs on
the sample unchanged.

Integers given to a sampled space are positions (what the dense arrays hold); strings and
tuples are the base space's, and one that is not stored is an :class:`UnknownArch` naming
the sample. :meth:`SampledSpace.neighbours` are the base space's neighbours that are stored
too: a search over a sample moves within the sample.
"""

from __future__ import annotations

import functools
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import UnknownArch
from .base import ArchLike, SearchSpace, genuine_int


class SampledSpace(SearchSpace):
    """The architectures ``members`` (sorted unique global ids) of the non-enumerable ``base``, by position."""

    def __init__(self, base: SearchSpace, members: Sequence[int], label: str) -> None:
        ids = np.unique(np.asarray(members, dtype=np.int64))
        ids.setflags(write=False)
        self.base = base
        self.members = ids
        self.label = label
        self.name = base.name
        self.size = int(ids.size)
        for attr in ("positions", "choices", "datasets", "default_protocol", "encodings", "network_variants",
                     "official_protocols", "cost_conventions", "suite_zero_epoch", "suite_zero_costs",
                     "naslib_keys_repeat"):
            setattr(self, attr, getattr(base, attr))
        self.product = False

    def __reduce__(self) -> tuple:
        # a worker gets the base by name (its caches) and the members, not the registered base alone
        return (SampledSpace, (self.base, self.members, self.label))

    def __repr__(self) -> str:
        return f"<zcdb sample of {self.name}: {self.size} stored architectures of {self.label}>"

    # ------------------------------------------------------------------ positions and global ids
    def global_ids(self, positions: Any) -> np.ndarray:
        """The base space's ids of ``positions``."""
        return self.members[np.asarray(positions, dtype=np.int64)]

    def positions_of(self, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, stored)``: the position of each global id, and whether it is stored at all
        (positions of ids that are not are meaningless)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        pos = np.searchsorted(self.members, ids)
        pos = np.minimum(pos, max(self.size - 1, 0))
        stored = (self.members[pos] == ids) if self.size else np.zeros(ids.size, dtype=bool)
        return pos.astype(np.int64), stored

    def _position(self, global_id: int) -> int:
        pos, stored = self.positions_of([global_id])
        if not stored[0]:
            raise UnknownArch(f"{self.name} architecture {global_id} is not among the {self.size} stored "
                              f"architectures of {self.label}: import its rows, or ask the {self.name} space itself")
        return int(pos[0])

    def _global(self, arch: ArchLike) -> int:
        if genuine_int(arch):
            i = int(arch)
            if not 0 <= i < self.size:
                raise UnknownArch(f"position {i} out of range 0..{self.size - 1} of the {self.size} stored "
                                  f"architectures of {self.label}")
            return int(self.members[i])
        return int(self.base.index_of(arch))

    # ------------------------------------------------------------------ the architecture forms
    def parse(self, text: str) -> tuple[int, ...]:
        return self.base.parse(text)

    def format_arch(self, ops: Sequence[int]) -> str:
        return self.base.format_arch(ops)

    def index_of(self, arch: ArchLike) -> int:
        """The position of a stored architecture (a position, an official string or a tuple of the base)."""
        if genuine_int(arch):
            self._global(arch)
            return int(arch)
        return self._position(self._global(arch))

    def string_of(self, arch: ArchLike) -> str:
        return self.base.string_of(self._global(arch))

    def ops_of(self, arch: ArchLike) -> tuple[int, ...]:
        return self.base.ops_of(self._global(arch))

    def to_naslib(self, arch: ArchLike) -> Any:
        return self.base.to_naslib(self._global(arch))  # type: ignore[attr-defined]

    def from_naslib(self, key: Any) -> tuple[int, ...]:
        return self.base.from_naslib(key)

    def suite_zero_metric(self, dataset: str) -> tuple[str, int]:
        return self.base.suite_zero_metric(dataset)

    def ops_matrix(self) -> np.ndarray:
        return self._ops_matrix

    @functools.cached_property
    def _ops_matrix(self) -> np.ndarray:
        rows = getattr(self.base, "ops_rows", None)
        m = (np.asarray(rows(self.members)) if rows is not None else
             np.array([self.base.ops_of(int(g)) for g in self.members], dtype=np.int64).reshape(self.size, -1))
        m = m.astype(np.int8)
        m.setflags(write=False)
        return m

    def all_strings(self) -> tuple[str, ...]:
        return self._all_strings

    @functools.cached_property
    def _all_strings(self) -> tuple[str, ...]:
        return tuple(self.base.string_of(int(g)) for g in self.members)

    def canonical(self, arch: ArchLike) -> str:
        return self.base.canonical(self._global(arch))

    # ------------------------------------------------------------------ moves and encodings
    def neighbours(self, arch: ArchLike) -> list[int]:
        """Positions of the base space's neighbours that are stored (in the base's move order)."""
        row = self.neighbour_rows(np.array([self.index_of(arch)]))[0]
        return row[row >= 0].tolist()

    def neighbour_rows(self, indices: np.ndarray) -> np.ndarray:
        """The base's neighbour rows of ``indices`` kept to stored architectures, as positions, padded with -1."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        rows = np.asarray(self.base.neighbour_rows(self.global_ids(idx)), dtype=np.int64)
        pos, stored = self.positions_of(rows.reshape(-1))
        stored &= rows.reshape(-1) >= 0
        pos = np.where(stored, pos, -1).reshape(rows.shape)
        # stored neighbours first, in move order; -1 after them
        order = np.argsort(pos < 0, axis=1, kind="stable")
        return np.take_along_axis(pos, order, axis=1)

    @property
    def neighbour_width(self) -> int:
        return int(self.base.neighbour_width)

    def padded_neighbours(self) -> np.ndarray:
        cache = self.__dict__.get("_padded_cache")
        if cache is None:
            cache = self.__dict__["_padded_cache"] = self.neighbour_rows(np.arange(self.size))
            cache.setflags(write=False)
        return cache

    def encode(self, indices: np.ndarray, kind: str = "onehot") -> tuple[list[str], np.ndarray]:
        return self.base.encode(self.global_ids(indices), kind)

    def network(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> Any:
        return self.base.network(self._global(arch), dataset, **kwargs)

    def cost(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> tuple[float, float]:
        return self.base.cost(self._global(arch), dataset, **kwargs)


def dense_positions(space: SearchSpace, ids: Any) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Where stored rows keyed by ``ids`` go in a dense array over ``space``: ``(positions, stored)``,
    ``stored`` None when every id is its own position (an enumerable space's official index)."""
    if isinstance(space, SampledSpace):
        return space.positions_of(ids)
    return np.asarray(ids, dtype=np.int64), None


def dense_ids(space: SearchSpace, positions: Any) -> np.ndarray:
    """The ids that rows for ``positions`` of a dense array over ``space`` are stored under (the
    inverse of :func:`dense_positions`): global ids for a sample, the positions themselves otherwise."""
    if isinstance(space, SampledSpace):
        return space.global_ids(positions)
    return np.asarray(positions, dtype=np.int64)
