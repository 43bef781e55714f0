"""The search-space interface every generic part of zcdb asks (see ``docs/spaces.md``).

:class:`SearchSpace` declares what a space provides; :class:`ProductSpace` implements it
for spaces whose architectures are every combination of their per-position choices, in
an official order given as a permutation of the product order (first position slowest).
Optional capabilities (networks, exact costs) raise :class:`MissingCapability` naming the
space and what it lacks.
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import MissingCapability, UnknownArch, ZcdbError
from . import _radix

ArchLike = Union[str, int, np.integer, Sequence[int]]


def index_dtype(size: Optional[int]) -> np.dtype:
    """The smallest signed integer dtype holding every index of a space of ``size`` (int64 when unknown)."""
    if size is None:
        return np.dtype(np.int64)
    for t in (np.int16, np.int32):
        if size - 1 <= np.iinfo(t).max:
            return np.dtype(t)
    return np.dtype(np.int64)


def genuine_int(x: Any) -> bool:
    """An int or numpy integer that is not a bool (``True`` is not architecture 1)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def uniform_sample(name: str, size: int, n: int, seed: int, replace: bool = False) -> np.ndarray:
    """``n`` of the indices ``0..size-1`` drawn uniformly with ``numpy.random.default_rng(seed)``
    (distinct unless ``replace``), as int64: every enumerable space's ``sample``."""
    if not genuine_int(n) or n < 0 or (not replace and n > size):
        raise UnknownArch(f"cannot sample {n!r} {'' if replace else 'distinct '}{name} architectures "
                          f"(there are {size}): ask for 0..{size}")
    return np.random.default_rng(seed).choice(size, size=int(n), replace=replace).astype(np.int64)


class SearchSpace:
    """What a search space provides. Subclasses set the class attributes and implement the methods."""

    #: The ``--space`` name.
    name: str = ""
    #: The ``zcdb import`` formats its released benchmarks come in, the usual first (for messages).
    importers: tuple[str, ...] = ()
    #: Number of architectures; ``None`` when the space cannot be enumerated.
    size: Optional[int] = None
    #: Names of the decision positions (edges, layers, ...).
    positions: tuple[str, ...] = ()
    #: Names of the choices at each position.
    choices: tuple[tuple[str, ...], ...] = ()
    #: Every combination of choices is an architecture (factorized samplers such as REINFORCE need it).
    product: bool = False
    #: Datasets the space has networks (and costs) for.
    datasets: tuple[str, ...] = ()
    #: Datasets (or tasks) its published benchmarks hold besides :attr:`datasets` (nb201: ``cifar10-valid``);
    #: an import into any other name needs ``--new-dataset`` (:meth:`known_datasets`).
    benchmark_datasets: tuple[str, ...] = ()
    #: Protocol a benchmark of this space defaults to when several are stored.
    default_protocol: Optional[str] = None
    #: Surrogate encodings :meth:`encode` provides.
    encodings: tuple[str, ...] = ("onehot",)
    #: Named network variants :meth:`network` builds besides the benchmark's own (``thin``: TE-NAS's).
    network_variants: tuple[str, ...] = ()
    #: Protocols whose networks are the ones :meth:`network` builds (so :meth:`cost` gives their costs).
    official_protocols: tuple[str, ...] = ()
    #: FLOP counting conventions :meth:`cost` takes (``convention=``); empty when it has one.
    cost_conventions: tuple[str, ...] = ()
    #: Epoch of NAS-Bench-Suite-Zero's ``val_accuracy`` for this space (None: not known).
    suite_zero_epoch: Optional[int] = None
    #: Whether NAS-Bench-Suite-Zero's ``params``/``flops`` are of the benchmark's networks (then
    #: they are imported as cost metrics too; otherwise only as proxy scores).
    suite_zero_costs: bool = True
    #: Whether several NASLib keys can name one architecture (keys of unpruned cells); an importer
    #: then keeps the first of each and warns, instead of refusing the file.
    naslib_keys_repeat: bool = False
    #: ``(module, function)`` in ``zcdb.spaces`` whose ``function(arch, dataset)`` builds :meth:`network`
    #: (imported when first asked for: it imports torch); None: no network builder, or an override.
    network_builder: Optional[tuple[str, str]] = None
    #: Module in ``zcdb.spaces`` whose ``count_cost(arch, dataset)`` gives :meth:`cost` (and whose
    #: ``cost_table(dataset)``, if it has one, :meth:`cost_table`); None: no counter, or an override.
    cost_counter: Optional[str] = None
    #: What the counter's numbers are divided by to give millions of params and MFLOPs (1e6 for raw counts).
    cost_divisor: float = 1.0

    def __reduce__(self) -> tuple:
        # worker processes get the registered instance (and its caches) by name, not a copy of the arrays
        from . import get_space

        return (get_space, (self.name,))

    def __repr__(self) -> str:
        return f"<zcdb search space {self.name}: {self.size if self.size is not None else 'not enumerable'}>"

    # ------------------------------------------------------------------ declared capabilities
    @property
    def index_dtype(self) -> np.dtype:
        """Smallest signed integer dtype holding every index."""
        return index_dtype(self.size)

    def require_size(self, what: str) -> int:
        """:attr:`size`, or :class:`MissingCapability` saying ``what`` needs an enumerable space."""
        if self.size is None:
            raise MissingCapability(f"space {self.name} cannot be enumerated, so {what} does not apply: "
                                    "give the architectures explicitly")
        return self.size

    def require_product(self, what: str) -> None:
        """:class:`MissingCapability` unless every combination of choices is an architecture."""
        if not self.product:
            raise MissingCapability(f"{what} needs a product space (every combination of choices an "
                                    f"architecture); space {self.name} is not one: use another algorithm")

    # ------------------------------------------------------------------ the architecture forms
    def parse(self, text: str) -> tuple[int, ...]:
        """The official string to a choice tuple (:class:`UnknownArch` if malformed)."""
        raise NotImplementedError

    def format_arch(self, ops: Sequence[int]) -> str:
        """A choice tuple to the official string."""
        raise NotImplementedError

    def index_of(self, arch: ArchLike) -> int:
        """The index of an architecture given as string, index or choice tuple."""
        raise NotImplementedError

    def indices_of(self, archs: Any) -> np.ndarray:
        """:meth:`index_of` of each, as an int64 array (an int array is range-checked at once)."""
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            idx = archs.astype(np.int64, copy=False).reshape(-1)
            n = self.require_size("an index array")
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                bad = idx[(idx < 0) | (idx >= n)][0]
                raise UnknownArch(f"{self.name} index {int(bad)} out of range 0..{n - 1}")
            return idx
        return np.array([self.index_of(a) for a in archs], dtype=np.int64)

    def string_of(self, arch: ArchLike) -> str:
        """The official string of an architecture."""
        raise NotImplementedError

    def ops_of(self, arch: ArchLike) -> tuple[int, ...]:
        """The choice tuple of an architecture."""
        raise NotImplementedError

    def ops_matrix(self) -> np.ndarray:
        """``(size, len(positions))`` choice indices by index (read-only)."""
        raise NotImplementedError

    def all_strings(self) -> tuple[str, ...]:
        """Every official string, by index."""
        raise NotImplementedError

    def index_map(self) -> dict[str, int]:
        """Official string -> index, for every architecture (built once; the fast path of string queries)."""
        cache = self.__dict__.get("_index_map_cache")
        if cache is None:
            cache = self.__dict__["_index_map_cache"] = {t: i for i, t in enumerate(self.all_strings())}
        return cache

    def padded_neighbours(self) -> np.ndarray:
        """:meth:`neighbour_lists` as one ``(size, max degree)`` array padded with -1 (for vectorized moves)."""
        table = getattr(self, "neighbour_table", None)
        if table is not None:
            return table()
        cache = self.__dict__.get("_padded_cache")
        if cache is None:
            lists = self.neighbour_lists()
            width = max((len(x) for x in lists), default=0)
            cache = np.full((len(lists), width), -1, dtype=np.int64)
            for i, x in enumerate(lists):
                cache[i, :len(x)] = x
            cache.setflags(write=False)
            self.__dict__["_padded_cache"] = cache
        return cache

    def neighbour_rows(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`neighbours` of ``indices`` as ``(k, neighbour_width)`` int64 rows padded with -1.

        What search asks: a space too large for a full table computes the rows asked for
        (and may keep them) instead of all of them."""
        return self.padded_neighbours()[np.asarray(indices, dtype=np.int64)]

    @property
    def neighbour_width(self) -> int:
        """The most neighbours any architecture has (the width of :meth:`neighbour_rows`)."""
        return int(self.padded_neighbours().shape[1])

    # ------------------------------------------------------------------ equivalence, moves, encodings
    def canonical(self, arch: ArchLike) -> str:
        """A form equal exactly for architectures that compute the same function."""
        raise NotImplementedError

    def representatives(self) -> np.ndarray:
        """For each index, the smallest index of its equivalence class."""
        n = self.require_size("an isomorphism table")
        first: dict[str, int] = {}
        rep = np.empty(n, dtype=np.int64)
        for i in range(n):
            rep[i] = first.setdefault(self.canonical(i), i)
        rep.setflags(write=False)
        return rep

    def class_sources(self, rows: np.ndarray, option: str = "--by-class") -> np.ndarray:
        """Per index, the row (of the indices ``rows``) that answers it by isomorphism class: itself where it
        is among ``rows``, else the smallest index of ``rows`` in its class, else -1.

        A table of one member per class (``--archs-file unique``) answers the whole space this way.
        :class:`~zcdb.errors.ZcdbError` naming ``option`` where the space has no canonical form."""
        try:
            rep = np.asarray(self.representatives(), dtype=np.int64)
        except NotImplementedError:
            raise ZcdbError(f"space {self.name} has no canonical form, so no isomorphism classes to answer "
                            f"architectures by: drop {option}") from None
        n = rep.size
        rows = np.asarray(rows, dtype=np.int64)
        first = np.full(n, n, dtype=np.int64)  # per class (by representative): its smallest index among rows
        np.minimum.at(first, rep[rows], rows)
        out = first[rep]
        out[rows] = rows
        out[out == n] = -1
        return out

    def sample(self, n: int, seed: int, replace: bool = False) -> np.ndarray:
        """``n`` indices drawn uniformly with a seeded numpy generator."""
        return uniform_sample(self.name, self.require_size("uniform sampling by index"), n, seed, replace)

    def neighbours(self, arch: ArchLike) -> list[int]:
        """Indices one mutation away (never the architecture itself)."""
        raise NotImplementedError

    def neighbour_lists(self) -> list[np.ndarray]:
        """:meth:`neighbours` of every index; the lists may differ in length."""
        table = getattr(self, "neighbour_table", None)
        if table is not None:  # a space with equally many neighbours everywhere keeps them as one array
            return list(table())
        n = self.require_size("a neighbour table")
        return [np.asarray(self.neighbours(i), dtype=np.int64) for i in range(n)]

    def encode(self, indices: np.ndarray, kind: str = "onehot") -> tuple[list[str], np.ndarray]:
        """Surrogate features of ``kind`` for ``indices``: (column names, float matrix)."""
        if kind != "onehot":
            raise MissingCapability(f"space {self.name} has no {kind!r} encoding: use one of "
                                    f"{', '.join(self.encodings)}")
        ops = self.ops_matrix()[np.asarray(indices, dtype=np.int64)]
        cols, blocks = [], []
        for k, (pos, names) in enumerate(zip(self.positions, self.choices)):
            cols += [f"onehot:{pos}={c}" for c in names]
            blocks.append(ops[:, k:k + 1] == np.arange(len(names))[None, :])
        return cols, np.concatenate(blocks, axis=1).astype(np.float64)

    def known_datasets(self) -> tuple[str, ...]:
        """The dataset names an import may use without saying the dataset is new: those with networks
        and those of the space's published benchmarks."""
        return tuple(dict.fromkeys(self.datasets + self.benchmark_datasets))

    def protocol_epochs(self, protocol: str, dataset: str) -> Optional[int]:
        """The last epoch of ``protocol`` on ``dataset`` (results after epochs 0..that are possible), or None
        when the space does not know the protocol. By default ``NNep`` (``200ep``, ``01ep``) trains NN epochs."""
        m = re.fullmatch(r"(\d+)ep", protocol)
        return int(m.group(1)) if m else None

    # ------------------------------------------------------------------ optional capabilities
    def suite_zero_metric(self, dataset: str) -> tuple[str, int]:
        """Metric name and epoch under which NAS-Bench-Suite-Zero's ``val_accuracy`` on ``dataset`` is stored.

        By default a validation accuracy in percent at :attr:`suite_zero_epoch`; a space whose
        released ``val_accuracy`` means something else on some datasets (another quantity, another
        schedule) says so here.
        """
        return "val_acc", self.suite_zero_epoch or 0

    def from_naslib(self, key: Sequence[int]) -> tuple[int, ...]:
        """The choice tuple of NASLib's encoding (NAS-Bench-Suite-Zero's keys)."""
        raise MissingCapability(f"space {self.name} has no NASLib key converter: give official architecture strings")

    def network(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> Any:
        """The PyTorch network of ``arch`` on ``dataset`` (its forward returns logits), built by
        :attr:`network_builder`; a space whose networks take options overrides this."""
        if self.network_builder is None:
            raise MissingCapability(f"space {self.name} has no network builder: compute proxies on a space that has one")
        self.check_dataset(dataset)
        if kwargs:
            raise UnknownArch(f"the {self.name} network takes no options, got {', '.join(kwargs)}: drop them")
        module, function = self.network_builder
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)(arch, dataset)

    def cost(self, arch: ArchLike, dataset: str = "cifar10", **kwargs: Any) -> tuple[float, float]:
        """Exact ``(params in millions, MFLOPs)`` of ``arch`` on ``dataset``, by :attr:`cost_counter`."""
        counter = self._cost_counter()
        self.check_dataset(dataset, "cost counter")
        if kwargs:
            raise UnknownArch(f"the {self.name} cost counter takes no options, got {', '.join(kwargs)}: drop them")
        params, flops = counter.count_cost(arch, dataset)
        if self.cost_divisor != 1.0:
            return params / self.cost_divisor, flops / self.cost_divisor
        return params, flops

    def _cost_counter(self) -> Any:
        if self.cost_counter is None:
            raise MissingCapability(f"space {self.name} has no cost counter: import params and flops from a file")
        return importlib.import_module(f"{__package__}.{self.cost_counter}")

    def cost_table(self, dataset: str, convention: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`cost` of every architecture: (params, MFLOPs) arrays by index (the counter's own
        ``cost_table`` where it has one)."""
        if self.cost_counter is not None and convention is None:
            counter = self._cost_counter()
            if hasattr(counter, "cost_table"):
                self.check_dataset(dataset, "cost counter")
                params, flops = counter.cost_table(dataset)
                if self.cost_divisor != 1.0:
                    return params / self.cost_divisor, flops / self.cost_divisor
                return params, flops
        n = self.require_size("a cost table")
        kw = {} if convention is None else {"convention": convention}
        vals = np.array([self.cost(i, dataset, **kw) for i in range(n)], dtype=np.float64).reshape(n, 2)
        return vals[:, 0], vals[:, 1]

    def check_dataset(self, dataset: str, what: str = "network") -> None:
        """:class:`MissingCapability` unless the space has a ``what`` for ``dataset``
        (:class:`~zcdb.errors.UnknownDataset` for a dataset zcdb cannot load at all)."""
        if dataset not in self.datasets:
            from ..datasets import dataset_info

            dataset_info(dataset)
            raise MissingCapability(f"space {self.name} has no {what} for dataset {dataset}: use one of "
                                    f"{', '.join(self.datasets) or 'none'}")


class ProductSpace(SearchSpace):
    """A space of every combination of its choices; index order a permutation of the product order.

    Subclasses set :attr:`positions` and :attr:`choices` and implement :meth:`parse` and
    :meth:`format_arch`; :meth:`_order` returns, for each official index, its product code
    (first position slowest; the identity by default).
    """

    product = True

    def __init__(self) -> None:
        self.size = int(np.prod([len(c) for c in self.choices]))
        self._radix = np.array([len(c) for c in self.choices], dtype=np.int64)
        self._pow = _radix.powers(self._radix)

    def _order(self) -> np.ndarray:
        return np.arange(self.size, dtype=np.int64)

    @functools.cached_property
    def _index_to_code(self) -> np.ndarray:
        arr = np.asarray(self._order(), dtype=np.int64)
        arr.setflags(write=False)
        return arr

    @functools.cached_property
    def _code_to_index(self) -> np.ndarray:
        inv = np.empty(self.size, dtype=np.int64)
        inv[self._index_to_code] = np.arange(self.size)
        inv.setflags(write=False)
        return inv

    def check_ops(self, ops: Any) -> tuple[int, ...]:
        """A choice tuple of genuine integers in range, or :class:`UnknownArch`."""
        try:
            t = tuple(ops)
        except TypeError:
            raise UnknownArch(f"{self.name} architecture must be a string, an index or a tuple of "
                              f"{len(self.positions)} integers, got {type(ops).__name__}") from None
        if len(t) != len(self.positions) or not all(genuine_int(o) for o in t) or any(
                not 0 <= int(o) < len(c) for o, c in zip(t, self.choices)):
            raise UnknownArch(f"{self.name} choice tuple must hold {len(self.positions)} integers, position k in "
                              f"0..{'/'.join(str(len(c) - 1) for c in self.choices)}, got {ops!r}")
        return tuple(int(o) for o in t)

    def _code(self, ops: tuple[int, ...]) -> int:
        return int(np.dot(np.asarray(ops, dtype=np.int64), self._pow))

    def index_of(self, arch: ArchLike) -> int:
        if isinstance(arch, str):
            return int(self._code_to_index[self._code(self.parse(arch))])
        if genuine_int(arch):
            i = int(arch)
            if not 0 <= i < self.size:
                raise UnknownArch(f"{self.name} index {i} out of range 0..{self.size - 1}")
            return i
        return int(self._code_to_index[self._code(self.check_ops(arch))])

    def ops_of(self, arch: ArchLike) -> tuple[int, ...]:
        return tuple(int(v) for v in self.ops_matrix()[self.index_of(arch)])

    def string_of(self, arch: ArchLike) -> str:
        return self.all_strings()[self.index_of(arch)]

    def ops_matrix(self) -> np.ndarray:
        return self._ops_matrix

    @functools.cached_property
    def _ops_matrix(self) -> np.ndarray:
        return _radix.digit_matrix(self._index_to_code, self._pow, self._radix)

    def all_strings(self) -> tuple[str, ...]:
        return self._all_strings

    @functools.cached_property
    def _all_strings(self) -> tuple[str, ...]:
        return tuple(self.format_arch(row) for row in self._ops_matrix.tolist())

    def neighbours(self, arch: ArchLike) -> list[int]:
        """Every architecture that differs in exactly one position, position by position, choices
        ``(c + 1) % n .. (c + n - 1) % n``."""
        return self.neighbour_table()[self.index_of(arch)].tolist()

    def neighbour_table(self) -> np.ndarray:
        """``(size, sum(n_k - 1))`` array of :meth:`neighbours` of every index (product spaces are not ragged)."""
        return self._neighbour_table

    @functools.cached_property
    def _neighbour_table(self) -> np.ndarray:
        codes = _radix.one_change_codes(self._ops_matrix, self._index_to_code, self._pow, self._radix)
        table = self._code_to_index[codes]
        table.setflags(write=False)
        return table
