"""Rows from NAS-Bench-201 ``ArchResults`` state dicts (shared by the .pth and NATS importers).

Both official formats store, per architecture and training setting, the state dict of an
``ArchResults`` (``nas_201_api/api_utils.py``, ``nats_bench/api_utils.py``)::

    {"arch_index": int, "arch_str": str, "clear_net_done": bool,
     "dataset_seed": {dataset: [seed, ...]},
     "all_results": {(dataset, seed): ResultsCount state dict}}

and a ``ResultsCount`` state dict holds one training run::

    {"epochs": E, "train_acc1es" / "train_losses" / "train_times": {epoch: value} (0-based),
     "eval_acc1es" / "eval_losses" / "eval_times": {"<set>@<epoch>": value},
     "params": M params, "flop": MFLOPs, "latency": [seconds, ...] or None, ...}

:class:`ResultsTable` validates these and gathers the values per (protocol, dataset, seed,
metric), so that an import hands the store one numpy array per series (metric, epoch, seed)
instead of one row at a time. The search space is a parameter (the object
:func:`zcdb.spaces.get_space` returns): it gives the official strings (the ``arch_str``
check), the size and the name the rows are stored under (NAS-Bench-201's and both
NATS-Bench spaces' files share this format).
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional

import numpy as np

from zcdb.errors import CorruptFile, short_repr as _shown
from zcdb.spaces import SearchSpace
from zcdb.store import MEAN_SEED, ImportBatch

#: The evaluation set each dataset's val_*, test_* and valtest_* come from, as the official
#: APIs' ``get_more_info`` reads them ("valid", "test", "valtest"). cifar10 is trained on
#: train+valid: it has no validation split; its val_* come from cifar10-valid's x-valid
#: (see :class:`ResultsTable`). cifar100's and ImageNet16-120's ori-test is their x-valid
#: and x-test halves together.
SPLITS: dict[str, dict[str, str]] = {
    "cifar10-valid": {"val": "x-valid", "test": "ori-test"},
    "cifar10": {"test": "ori-test"},
    "cifar100": {"val": "x-valid", "test": "x-test", "valtest": "ori-test"},
    "ImageNet16-120": {"val": "x-valid", "test": "x-test", "valtest": "ori-test"},
}
#: Metrics of these formats that zcdb does not know by name: (higher_is_better, unit,
#: description), declared with every import that writes them.
DECLARED: dict[str, tuple[bool, str, str]] = {
    "valtest_acc": (True, "%", "top-1 accuracy on NATS-Bench's ori-test of cifar100/ImageNet16-120 "
                               "(its x-valid and x-test halves together)"),
    "valtest_loss": (False, "", "cross-entropy on NATS-Bench's ori-test of cifar100/ImageNet16-120"),
    "valtest_time": (False, "s", "evaluation time on NATS-Bench's ori-test of cifar100/ImageNet16-120 "
                                 "up to the epoch"),
}
#: Seed whose params/FLOPs nats_bench (>= 1.6) trusts when the seeds of a run disagree.
_NATS_REFERENCE_SEED = 888
_NUMBER_TYPES = frozenset([float, int, np.float64, np.float32, np.float16, np.int64, np.int32])
#: Longer than any schedule: a larger 'epochs' is damage, and would not fit an SQLite integer.
_MAX_EPOCHS = 100_000
_EPOCH = re.compile(r"[0-9]{1,9}")


class _Missing:
    """Marks an absent entry (a unique type, so one ``set(map(type, ...))`` finds it)."""


_MISSING = _Missing()
_NAN = math.nan
#: Per-epoch values of one run: (array, None) for epochs 0..len-1, or (values, 0-based epochs)
#: as lists when only some epochs have a value (old-format runs, sparse files).
Piece = tuple[Any, Optional[list]]


class ResultsTable:
    """Validated values of many ``ArchResults`` state dicts, gathered per series.

    ``space`` is the search space of the rows (its strings check each ``arch_str``; its
    name is the rows' space). ``n_archs`` bounds the number of distinct architectures
    added. ``costs`` picks how params/FLOPs of several seeds are combined, as the official
    API of the format does: ``"mean"`` (nas_201_api) or ``"nats"`` (nats_bench: the mean,
    but seed 888's value when the seeds disagree in the fifth decimal, a fix for a legacy
    bug in some runs).
    ``hint`` ends every error message (what the user should do).
    """

    def __init__(self, source: str, n_archs: int, costs: str, hint: str, *, space: SearchSpace) -> None:
        if costs not in ("mean", "nats"):
            raise ValueError(f"costs must be 'mean' or 'nats', not {costs!r}")
        self.source = source
        self.hint = hint
        self._costs_rule = costs
        self._n_archs = n_archs
        self._slots: dict[int, int] = {}
        #: series -> (slot, values, 0-based epochs of the values or None for 0..len-1, run length)
        self._pieces: dict[tuple[str, str, int, str], list[tuple[int, Any, Optional[list], int]]] = {}
        self._costs: dict[tuple[str, str, str], np.ndarray] = {}
        self._eval_keys: dict[tuple[str, int], list[str]] = {}
        self.space = space
        self._strings = space.all_strings()

    # ------------------------------------------------------------------ errors
    def fail(self, arch: Optional[int], detail: str) -> CorruptFile:
        """A CorruptFile naming the source and architecture; the caller raises it."""
        where = f"{self.source}: architecture {arch}" if arch is not None else self.source
        return CorruptFile(f"{where}: {detail}: {self.hint}")

    # ------------------------------------------------------------------ adding
    def add(self, arch: int, protocol: str, state: Any) -> None:
        """Validate one architecture's ``ArchResults`` state dict of one protocol and keep its values."""
        if not isinstance(state, dict):
            raise self.fail(arch, f"{protocol} results are a {type(state).__name__}, not an ArchResults state dict")
        slot = self._slots.get(arch)
        if slot is None:
            if len(self._slots) >= self._n_archs:
                raise self.fail(arch, "more architectures than announced")
            slot = self._slots[arch] = len(self._slots)
        arch_str = state.get("arch_str")
        if isinstance(arch_str, str) and arch_str != self._strings[arch]:
            raise self.fail(arch, f"its results are for {arch_str!r}, not the official {self._strings[arch]!r}")
        all_results, dataset_seed = state.get("all_results"), state.get("dataset_seed")
        if not isinstance(all_results, dict) or not isinstance(dataset_seed, dict):
            raise self.fail(arch, f"{protocol} results lack the 'all_results' and 'dataset_seed' dicts")
        for dataset, seeds in dataset_seed.items():
            if dataset not in SPLITS:
                raise self.fail(arch, f"unknown dataset {dataset!r} (known: {', '.join(SPLITS)})")
            if not isinstance(seeds, (list, tuple)) or not all(_is_int(s) and abs(s) < 2**31 for s in seeds):
                raise self.fail(arch, f"{dataset} seeds must be a list of integers, got {_shown(seeds)}")
            runs = []
            for seed in seeds:
                run = all_results.get((dataset, seed))
                if not isinstance(run, dict):
                    raise self.fail(arch, f"no {protocol} run for ({dataset!r}, {seed}) in 'all_results'")
                self._add_run(arch, slot, protocol, dataset, int(seed), run)
                runs.append(run)
            if runs:
                self._add_costs(arch, slot, protocol, dataset, [int(s) for s in seeds], runs)

    def _add_run(self, arch: int, slot: int, protocol: str, dataset: str, seed: int, run: dict) -> None:
        what = f"{protocol} {dataset} seed {seed}"
        epochs = run.get("epochs")
        if not _is_int(epochs) or not 1 <= epochs <= _MAX_EPOCHS:
            raise self.fail(arch, f"{what}: 'epochs' must be an integer in 1..{_MAX_EPOCHS}, got {_shown(epochs)}")
        epochs = int(epochs)
        for key in ("train_acc1es", "train_losses", "train_times", "eval_acc1es", "eval_losses"):
            if key not in run:
                raise self.fail(arch, f"{what}: missing {key!r}")
        def put(key: tuple[str, str, int, str], slot: int, piece: Piece) -> None:
            self._pieces.setdefault(key, []).append((slot, piece[0], piece[1], epochs))

        put((protocol, dataset, seed, "train_acc"), slot, self._per_epoch(arch, what, run, "train_acc1es", epochs))
        put((protocol, dataset, seed, "train_loss"), slot, self._per_epoch(arch, what, run, "train_losses", epochs))
        if run["train_times"] is not None:
            times = _dense(self._per_epoch(arch, what, run, "train_times", epochs), epochs)
            # cumulative, as the APIs' "train-all-time"; NaN from the first epoch without a time
            put((protocol, dataset, seed, "train_time"), slot, (np.cumsum(times), None))
        splits = SPLITS[dataset]
        accs = self._per_eval_epoch(arch, what, run, "eval_acc1es", splits.values(), epochs)
        losses = self._per_eval_epoch(arch, what, run, "eval_losses", splits.values(), epochs)
        times = run.get("eval_times")
        if times is not None and not (isinstance(times, dict) and not times):  # None or {}: no times
            times = self._per_eval_epoch(arch, what, run, "eval_times", splits.values(), epochs)
        for kind, set_name in splits.items():
            series = [(f"{kind}_acc", accs[set_name]), (f"{kind}_loss", losses[set_name])]
            if times:
                series.append((f"{kind}_time", _eval_time(times[set_name], accs[set_name], epochs)))
            # NASLib and the NAS-Bench-201 search protocol validate cifar10 searches on
            # cifar10-valid's held-out half: cifar10 itself trains on all of it.
            targets = (dataset, "cifar10") if dataset == "cifar10-valid" and kind == "val" else (dataset,)
            for target in targets:
                for metric, piece in series:
                    put((protocol, target, seed, metric), slot, piece)

    def _add_costs(self, arch: int, slot: int, protocol: str, dataset: str, seeds: list[int],
                   runs: list[dict]) -> None:
        params, flops, latencies = [], [], []
        for seed, run in zip(seeds, runs):
            what = f"{protocol} {dataset} seed {seed}"
            for key, out in (("params", params), ("flop", flops)):
                out.append(self._number(arch, f"{what}: {key!r}", run.get(key, _MISSING)))
            lat = run.get("latency", _MISSING)
            if lat is _MISSING:
                raise self.fail(arch, f"{what}: missing 'latency'")
            if lat is None:
                continue
            if not isinstance(lat, (list, tuple)):
                raise self.fail(arch, f"{what}: 'latency' must be a list of seconds or None, got {_shown(lat)}")
            if lat:
                mean = sum(self._number(arch, f"{what}: 'latency'", x) for x in lat) / len(lat)
                if mean > 0:  # the APIs read -1 or 0 as "not measured"
                    latencies.append(mean)
        self._put_cost((protocol, dataset, "params"), slot, self._combine(seeds, params))
        self._put_cost((protocol, dataset, "flops"), slot, self._combine(seeds, flops))
        if latencies:
            # the mean in seconds first, as the APIs' get_compute_costs, then ms: 1000 * sum / n
            # is not always 1000 * (sum / n) in the last bit
            self._put_cost((protocol, dataset, "latency_gpu"), slot, 1000.0 * self._mean(latencies))

    def _combine(self, seeds: list[int], values: list[float]) -> float:
        if (self._costs_rule == "nats" and len(values) > 1 and len({f"{v:.5f}" for v in values}) > 1
                and _NATS_REFERENCE_SEED in seeds):
            return values[seeds.index(_NATS_REFERENCE_SEED)]
        return self._mean(values)

    def _mean(self, values: list[float]) -> float:
        if self._costs_rule == "mean":
            return float(np.mean(values))  # nas_201_api's get_compute_costs
        return sum(values) / len(values)  # nats_bench's mean()

    # ------------------------------------------------------------------ value parsing
    # A run's per-epoch values become a Piece: (values, None) for epochs 0..len-1, or
    # (values, epochs) when only some epochs have a value (old-format and sparse files).
    def _per_epoch(self, arch: int, what: str, run: dict, key: str, epochs: int) -> Piece:
        box = run[key]
        if isinstance(box, dict):
            if len(box) < epochs:
                return self._sparse(arch, f"{what}: {key!r}", box.items(), epochs)
            vals = [box.get(e, _MISSING) for e in range(epochs)]
            types = set(map(type, vals))
            if _Missing in types or len(box) != epochs:
                raise self.fail(arch, f"{what}: {key!r} has keys outside epochs 0..{epochs - 1}")
        elif isinstance(box, (list, tuple, np.ndarray)):
            if len(box) != epochs:
                raise self.fail(arch, f"{what}: {key!r} has {len(box)} entries for {epochs} epochs")
            vals = list(box)
            types = set(map(type, vals))
        else:
            raise self.fail(arch, f"{what}: {key!r} must be a dict of epochs, got {type(box).__name__}")
        return self._floats(arch, f"{what}: {key!r}", vals, types), None

    def _per_eval_epoch(self, arch: int, what: str, run: dict, key: str, sets: Any,
                        epochs: int) -> dict[str, Piece]:
        box = run[key]
        if not isinstance(box, dict):
            raise self.fail(arch, f"{what}: {key!r} must be a dict, got {type(box).__name__}")
        if len(box) < epochs:  # fewer entries than one full curve: read what is there
            found: dict[str, list] = {name: [] for name in sets}
            for k, v in box.items():
                name, _, e = k.rpartition("@") if isinstance(k, str) else ("", "", "")
                if name in found:
                    found[name].append((e, v))
            return {name: self._sparse(arch, f"{what}: {key!r} {name}", items, epochs)
                    for name, items in found.items()}
        out = {}
        for name in sets:
            keys = self._eval_keys.get((name, epochs))
            if keys is None:
                keys = self._eval_keys[(name, epochs)] = [f"{name}@{e}" for e in range(epochs)]
            vals = [box.get(k, _NAN) for k in keys]
            out[name] = self._floats(arch, f"{what}: {key!r} {name}", vals, set(map(type, vals))), None
        return out

    def _sparse(self, arch: int, what: str, items: Any, epochs: int) -> Piece:
        ep, vals = [], []
        for e, v in items:
            if type(e) is not int:
                if isinstance(e, str) and _EPOCH.fullmatch(e):  # from "<set>@<epoch>" keys
                    e = int(e)
                elif _is_int(e):
                    e = int(e)
                else:
                    raise self.fail(arch, f"{what} has key {_shown(e)}, not an epoch")
            if not 0 <= e < epochs:
                raise self.fail(arch, f"{what} has epoch {_shown(e)} outside 0..{epochs - 1}")
            ep.append(e)
            vals.append(v)
        return self._floats(arch, what, vals, set(map(type, vals))), ep

    def _floats(self, arch: int, what: str, vals: list, types: set) -> np.ndarray:
        if types <= _NUMBER_TYPES:
            try:
                return np.array(vals, dtype=np.float64)
            except OverflowError:  # an int no float holds: let _number name it
                pass
        return np.array([self._number(arch, what, v) for v in vals], dtype=np.float64)

    def _number(self, arch: int, what: str, v: Any) -> float:
        if v is _MISSING:
            raise self.fail(arch, f"{what} is missing")
        if v is None or isinstance(v, (str, bytes, bool)):
            raise self.fail(arch, f"{what} must be a number, got {_shown(v)}")
        try:
            return float(v)  # also 0-d numpy arrays and one-element tensors
        except OverflowError:
            raise self.fail(arch, f"{what} is {_shown(v)}, too large for a float") from None
        except (TypeError, ValueError, RuntimeError):
            raise self.fail(arch, f"{what} must be a number, got {type(v).__name__}") from None

    # ------------------------------------------------------------------ storage
    def _matrix(self, pieces: list) -> np.ndarray:
        """One (architectures, epochs) matrix of a series' pieces, NaN where no value."""
        dense: dict[int, tuple[list[int], list[np.ndarray]]] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for slot, values, epochs, _ in pieces:
            if epochs is None:
                group = dense.setdefault(len(values), ([], []))
                group[0].append(slot)
                group[1].append(values)
            else:
                rows.extend([slot] * len(epochs))
                cols.extend(epochs)
                vals.extend(values)
        width = max(max(dense, default=0), max(cols, default=-1) + 1)
        mat = np.full((self._n_archs, width), np.nan)
        for n, (slots, arrays) in dense.items():
            if n:
                mat[slots, :n] = np.stack(arrays)
        if rows:
            mat[rows, cols] = np.array(vals, dtype=np.float64)
        return mat

    def _put_cost(self, key: tuple[str, str, str], slot: int, value: float) -> None:
        arr = self._costs.get(key)
        if arr is None:
            arr = self._costs[key] = np.full(self._n_archs, np.nan)
        arr[slot] = value

    # ------------------------------------------------------------------ output
    @property
    def n_archs(self) -> int:
        """Architectures added so far."""
        return len(self._slots)

    def flush(self, batch: ImportBatch, final_only: bool = False) -> None:
        """Hand every series to ``batch`` (epoch ``e + 1`` for the e-th 0-based entry; costs at
        epoch 0 and seed -1), skipping missing (NaN) values. Empties the table.

        With ``final_only``, of each run's curve only the value at its last epoch (epoch
        ``epochs``, e.g. 200 or 12) is written: the rows a full import has there, a 200th of
        them for the 200-epoch schedule.
        """
        index = np.full(self._n_archs, -1, dtype=np.int64)
        for arch, slot in self._slots.items():
            index[slot] = arch
        for metric in sorted({key[3] for key in self._pieces} & DECLARED.keys()):
            batch.declare_metric(metric, *DECLARED[metric])
        for key in sorted(self._pieces):
            protocol, dataset, seed, metric = key
            if final_only:
                for epoch, slots, values in _finals(self._pieces.pop(key)):
                    ok = ~np.isnan(values)
                    if ok.any():
                        batch.add_evaluations(self.space.name, dataset, protocol, metric, epoch, seed,
                                              index[slots[ok]], values[ok])
                continue
            mat = self._matrix(self._pieces.pop(key))
            for e in range(mat.shape[1]):
                col = mat[:, e]
                ok = ~np.isnan(col)
                if ok.any():
                    batch.add_evaluations(self.space.name, dataset, protocol, metric, e + 1, seed, index[ok], col[ok])
        for key in sorted(self._costs):
            protocol, dataset, metric = key
            col = self._costs.pop(key)
            ok = ~np.isnan(col)
            if ok.any():
                batch.add_evaluations(self.space.name, dataset, protocol, metric, 0, MEAN_SEED, index[ok], col[ok])


def import_options(final_only: bool, allow_missing: bool) -> dict[str, bool]:
    """The provenance options of an import of these formats (only the flags that are set)."""
    return {k: True for k, on in (("final_only", final_only), ("allow_missing", allow_missing)) if on}


def check_meta_archs(source: str, meta_archs: Any, hint: str, space: SearchSpace) -> None:
    """Check that ``meta_archs`` lists every official string of ``space`` in official index order."""
    n_archs = space.require_size("a meta_archs check")
    if not isinstance(meta_archs, (list, tuple)) or len(meta_archs) != n_archs:
        n = len(meta_archs) if isinstance(meta_archs, (list, tuple)) else type(meta_archs).__name__
        raise CorruptFile(f"{source}: 'meta_archs' must list {n_archs} architectures, got {n}: {hint}")
    official = space.all_strings()
    if tuple(meta_archs) != official:
        i = next(k for k, (a, b) in enumerate(zip(meta_archs, official)) if a != b)
        raise CorruptFile(
            f"{source}: architecture {i} is {meta_archs[i]!r}, not the official {official[i]!r}: "
            f"not the {space.name} space: {hint}"
        )


def _finals(pieces: list) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(epoch, slots, values)`` of the last-epoch values of a series' runs, by run length."""
    by_length: dict[int, tuple[list[int], list[float]]] = {}
    for slot, values, where, length in pieces:
        if where is None:
            v = float(values[length - 1]) if len(values) >= length else _NAN
        else:
            v = float(values[where.index(length - 1)]) if length - 1 in where else _NAN
        group = by_length.setdefault(length, ([], []))
        group[0].append(slot)
        group[1].append(v)
    return [(n, np.array(s, dtype=np.int64), np.array(v, dtype=np.float64)) for n, (s, v) in sorted(by_length.items())]


def _eval_time(times: Piece, accs: Piece, epochs: int) -> Piece:
    """The cumulative evaluation time of a set up to each epoch (the APIs' "all_time"): the sum
    of every per-epoch time so far, NaN from the first epoch without one, and NaN where the set
    has no accuracy at that epoch (the APIs answer nothing for the set there)."""
    cumulative = np.cumsum(_dense(times, epochs))
    cumulative[np.isnan(_dense(accs, epochs))] = np.nan
    return cumulative, None


def _dense(piece: Piece, epochs: int) -> np.ndarray:
    values, where = piece
    if where is None:
        return np.asarray(values)
    out = np.full(epochs, np.nan)
    if where:
        out[where] = np.array(values, dtype=np.float64)
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)
