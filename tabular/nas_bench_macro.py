"""NAS-Bench-Macro (``nas-bench-macro_cifar10.json``): CIFAR-10 accuracies and costs of all 6,561 codes.

The released file (Su et al., CVPR 2021; xiusu/NAS-Bench-Macro) is one JSON object
``{code: {"test_acc": [a0, a1, a2], "mean_acc": m, "std": s, "params": n, "flops": f}}``
keyed by the 8-digit code (:mod:`zcdb.spaces.macro`): three trainings' best-epoch
CIFAR-10 test accuracies (percent; torch seeds 0, 1, 2, 50 epochs), their plain mean,
their population standard deviation, and the parameter and multiply-accumulate counts
of the network (``docs/macro-notes.md``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, short_repr as _shown
from zcdb.spaces import get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store

IMPORTER = "nas-bench-macro"
SPACE = "macro"
DATASET = "cifar10"
#: The authors' recipe: 50 epochs, accuracies the best epoch's (``MacroSpace.default_protocol``).
PROTOCOL = "50ep"
EPOCH = 50
#: The file's ``test_acc`` lists one accuracy per training, trained with torch seeds 0, 1, 2.
SEEDS = (0, 1, 2)
FIELDS = ("test_acc", "mean_acc", "std", "params", "flops")
_HINT = "pass the released nas-bench-macro_cifar10.json (re-download it if damaged)"
# mean_acc is numpy's mean of the three accuracies: equal to the last bit in the released
# file; the tolerance only forgives another summation order.
_MEAN_RTOL = 1e-12


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of repeated keys silently; a repeated code or field is ambiguous
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)
            seen.add(k)
    return out


def import_nas_bench_macro(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                           allow_missing: bool = False) -> ImportBatch:
    """Import the released NAS-Bench-Macro file into ``store`` (space ``macro``, cifar10, protocol ``50ep``).

    Rows: ``test_acc`` (percent) at epoch 50 for seeds 0, 1 and 2 (the file's three
    trainings, in order) and seed -1 (the file's ``mean_acc``, which must be the mean of
    the three); ``params`` (millions) and ``flops`` (MFLOPs) at epoch 0, the file's counts
    divided by 1e6. ``std`` is checked to be a number and not stored (it follows from the
    seeds); other fields are ignored. 6,561 x 6 = 39,366 rows.

    Strict: the top level must be an object holding every one of the 6,561 codes exactly
    once (the benchmark is complete, so a file with fewer is refused, naming how many are
    missing), each a valid code; each record an object with the five fields; ``params`` and
    ``flops`` must equal the network's exact counts (:func:`zcdb.spaces.macro_cost.count_cost`),
    or the file is not the released one. Accuracies outside 0..100 fail (the store's
    checks); a non-finite value, or an integer too large for a float, fails unless
    ``allow_missing``, which stores it as missing and counts it in ``batch.missing``.

    No aliases: the authors trained one code per canonical class (3,969 classes,
    :func:`zcdb.spaces.macro.canonical`) and the file copies its record to the other codes
    of the class, so every code has its own record and all 6,561 are stored as rows; the
    copies make equal values within a class (tested on the real file), not aliases.

    Raises :class:`~zcdb.errors.CorruptFile` or :class:`~zcdb.errors.UnknownArch` (one line
    naming the file, the code and the fix); the store is then unchanged.
    """
    p = Path(path)
    data = _load(p)
    sp = get_space(SPACE)
    n = sp.require_size("NAS-Bench-Macro")
    records = _records(p, data, sp, n, allow_missing)
    index = np.fromiter(records, dtype=np.int64, count=len(records))
    table = np.array([rec for rec in records.values()], dtype=np.float64)  # (n, 6): seeds, mean, params, flops
    keys = [sp.string_of(int(i)) for i in index]

    def where(k: int) -> str:
        return f"{p}: {keys[k]}"

    options = {"allow_missing": True} if allow_missing else {}
    with store.importing(p, IMPORTER, options, replace=replace, allow_missing=allow_missing) as batch:
        for col, seed in enumerate(SEEDS):
            batch.add_evaluations(SPACE, DATASET, PROTOCOL, "test_acc", EPOCH, seed, index, table[:, col], where=where)
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "test_acc", EPOCH, MEAN_SEED, index, table[:, 3], where=where)
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "params", 0, MEAN_SEED, index, table[:, 4] / 1e6, where=where)
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "flops", 0, MEAN_SEED, index, table[:, 5] / 1e6, where=where)
    return batch


def _load(p: Path) -> Any:
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path" if not p.exists() else f"{p} is not a file: {_HINT}")
    try:
        with open(p, encoding="utf-8") as fh:
            return json.load(fh, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise CorruptFile(f"{p}: key {_shown(exc.key)} appears twice in one object: keep one, or {_HINT}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{p} is not valid UTF-8 JSON ({exc}), perhaps truncated: {_HINT}") from None
    except RecursionError:
        raise CorruptFile(f"{p} nests JSON deeper than any NAS-Bench-Macro file: {_HINT}") from None


def _records(p: Path, data: Any, sp: Any, n: int, allow_missing: bool) -> dict[int, list[float]]:
    """Index -> [acc seed 0, 1, 2, mean_acc, params, flops], checked, in file order."""
    if not isinstance(data, dict):
        raise CorruptFile(f"{p}: expected a JSON object from 8-digit codes to records, got {_shown(data)}: {_HINT}")
    from zcdb.spaces.macro_cost import cost_table

    count_params, count_flops = cost_table(DATASET)
    out: dict[int, list[float]] = {}
    known = sp.index_map()
    for key, rec in data.items():
        i = known.get(key)  # JSON keys are strings
        if i is None:  # not one of the 6,561 codes: parse it for the error that says why
            try:
                i = sp.index_of(sp.parse(key))
            except UnknownArch as exc:
                raise UnknownArch(f"{p}: key {_shown(key)}: {exc}; or {_HINT}") from None
        where = f"{p}: {key}"
        if not isinstance(rec, dict):
            raise CorruptFile(f"{where}: expected an object with {', '.join(FIELDS)}, got {_shown(rec)}: {_HINT}")
        for field in FIELDS:
            if field not in rec:
                raise CorruptFile(f"{where} has no {field!r}: {_HINT}")
        accs = rec["test_acc"]
        if not isinstance(accs, list) or len(accs) != len(SEEDS):
            raise CorruptFile(f"{where}: test_acc must list {len(SEEDS)} accuracies (one per training), "
                              f"got {_shown(accs)}: {_HINT}")
        seeds = [_number(a, where, f"test_acc[{k}]", allow_missing) for k, a in enumerate(accs)]
        mean = _number(rec["mean_acc"], where, "mean_acc", allow_missing)
        _number(rec["std"], where, "std", allow_missing=True)  # not stored: only its type matters
        params = _number(rec["params"], where, "params", allow_missing)
        flops = _number(rec["flops"], where, "flops", allow_missing)
        if all(map(math.isfinite, seeds)) and math.isfinite(mean):
            expected = sum(seeds) / len(seeds)  # numpy's mean of three: the same sum, in order
            if not math.isclose(mean, expected, rel_tol=_MEAN_RTOL, abs_tol=_MEAN_RTOL):
                raise CorruptFile(f"{where}: mean_acc is {mean!r}, not the mean of test_acc {seeds} ({expected!r}): "
                                  f"correct it, or {_HINT}")
        for name, v, formula in (("params", params, count_params[i]), ("flops", flops, count_flops[i])):
            if math.isfinite(v) and v != formula:
                raise CorruptFile(f"{where}: {name} is {_shown(rec[name])}, but the network of {key} has "
                                  f"{int(formula)} (not NAS-Bench-Macro's count, or not its file): {_HINT}")
        out[i] = [*seeds, mean, params, flops]
    if len(out) < n:
        absent = sorted(set(range(n)) - set(out))
        raise CorruptFile(f"{p} lacks {len(absent):,} of the {n:,} codes (first {sp.string_of(absent[0])}); "
                          f"NAS-Bench-Macro is complete: {_HINT}")
    return out


def _number(x: Any, where: str, what: str, allow_missing: bool) -> float:
    """A JSON number as a float (NaN/inf left for the store to check); refuses other types."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CorruptFile(f"{where}: {what} must be a number, got {_shown(x)}: {_HINT}")
    try:
        return float(x)
    except OverflowError:
        if allow_missing:
            return math.inf  # stored as missing, and counted, by the store
        raise CorruptFile(f"{where}: {what} is an integer too large for a float: fix the value, "
                          f"or pass --allow-missing to store it as missing") from None
