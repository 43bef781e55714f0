"""NAS-Bench-101's data: the official TFRecord files and the public JSON samples (nasbench-vis).

**Official files** (``nasbench_only108.tfrecord``: the 108-epoch trainings;
``nasbench_full.tfrecord``: also those of 4, 12 and 36 epochs; google-research/nasbench).
Each TFRecord record (:mod:`zcdb.tabular._tfrecord`) is a UTF-8 JSON list
``[module_hash, epochs, raw_adjacency, raw_operations, metrics]``: the hash, the training
budget, the pruned cell's V x V matrix as V*V digits and its V op names comma-separated,
and a base64 ``ModelMetrics`` protocol buffer (``nasbench/lib/model_metrics.proto``)::

    ModelMetrics   { repeated EvaluationData evaluation_data = 1; optional int32 trainable_parameters = 2;
                     optional double total_time = 3; }
    EvaluationData { optional double current_epoch = 1; training_time = 2; train_accuracy = 3;
                     validation_accuracy = 4; test_accuracy = 5; optional string checkpoint_path = 6; }

with three evaluations per training (at the start, halfway, at the end). Every cell was
trained three times at each budget: a record per training, in file order.

**nasbench-vis samples** (``nasbench-vis_data-1k.json``, ``nasbench-vis_data-20k.json``):
one JSON object of columns, ``key`` (the module hash), ``{4,12,36,108}_final_validation_accuracy``
(fractions), ``final_training_time`` (seconds, the 108-epoch training), ``trainable_parameters``;
the 1k file also ``operations`` (-1 input, -2 output, -3 padding, 0/1/2 the ops in the
official order, as :func:`zcdb.spaces.nb101.module_hash` labels them) and ``adjacency``
(7 x 7, padded), the 20k only the hash (mapped through zcdb's enumeration of the space).

Rows (space ``nb101``, dataset ``cifar10``, protocol ``nasbench``): at epoch ``e`` (4, 12,
36, 108) the end of the ``e``-epoch training, each its own cosine schedule:
``val_acc``, ``test_acc``, ``train_acc`` (percent: the files' fractions times 100, the unit
of every zcdb accuracy) and ``train_time`` (seconds); seeds 0, 1, 2 are the three trainings
in file order. ``params`` (millions) at epoch 0. The samples hold one training each, which
of the three is not recorded: stored as seed 0 (a later import of the official file may
find its first training differs: import it into another store, or with ``--replace``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from pathlib import Path
from typing import Any, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, short_repr as _shown
from zcdb.spaces import get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store

from ._tfrecord import ProtobufError, TFRecordError, as_double, decode_fields, read_records

SPACE = "nb101"
DATASET = "cifar10"
PROTOCOL = "nasbench"
EPOCHS = (4, 12, 36, 108)
#: ``EvaluationData`` field numbers of the metrics stored, and their zcdb names.
_EVAL_FIELDS = {2: "train_time", 3: "train_acc", 4: "val_acc", 5: "test_acc"}
_PERCENT = {"train_acc", "val_acc", "test_acc"}
_TF_HINT = "pass the official nasbench_only108.tfrecord or nasbench_full.tfrecord (re-download it if damaged)"
_VIS_HINT = "pass nasbench-vis_data-1k.json or nasbench-vis_data-20k.json (re-download it if damaged)"


def _check_params(p: Path, where: str, index: int, params: Any, hint: str) -> float:
    from zcdb.spaces.nb101_cost import cost_table

    if isinstance(params, bool) or not isinstance(params, int):
        raise CorruptFile(f"{p}: {where}: trainable_parameters must be an integer, got {_shown(params)}: {hint}")
    exact = int(cost_table(DATASET)[0][index])
    if params != exact:
        raise CorruptFile(f"{p}: {where}: trainable_parameters is {params}, but the network of that cell has "
                          f"{exact}: not NAS-Bench-101's count, or not its file: {hint}")
    return params / 1e6


# --------------------------------------------------------------------------- official TFRecord files
def _metrics(blob: bytes) -> tuple[Any, dict[int, list]]:
    """``(trainable_parameters, the last EvaluationData's fields)`` of a ModelMetrics message."""
    fields = decode_fields(blob)
    params = fields.get(2, [None])[-1]
    evaluations = fields.get(1)
    if not evaluations:
        raise ProtobufError("no evaluation_data")
    if not isinstance(evaluations[-1], bytes):
        raise ProtobufError("evaluation_data of the wrong wire type")
    if type(params) is int and params >= 1 << 63:  # int32 negatives are 10-byte varints
        params -= 1 << 64
    return params, decode_fields(evaluations[-1])


def import_nasbench_tfrecord(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                             allow_missing: bool = False) -> ImportBatch:
    """Import an official NAS-Bench-101 TFRecord file (see the module docstring for the rows).

    Strict: every record's framing and CRCs (a damaged or truncated file fails, naming the
    record), its JSON list, its protocol buffer; the hash must be a cell of the space and
    the record's cell that cell (compared with zcdb's representative, or hashed when it is
    another member of the class); ``trainable_parameters`` must equal the network's count
    (:func:`zcdb.spaces.nb101_cost.count_cost`); accuracies must be fractions. One line
    naming the file, the record and the fix; the store is then unchanged.
    """
    from zcdb.spaces import nb101

    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path" if not p.exists() else f"{p} is not a file: {_TF_HINT}")
    sp = get_space(SPACE)
    index_map = sp.index_map()
    # (epochs, repeat) -> metric -> (indices, values)
    series: dict[tuple[int, int], dict[str, tuple[list[int], list[float]]]] = {}
    repeats: dict[tuple[int, int], int] = {}
    params: dict[int, float] = {}
    checked: dict[int, str] = {}
    k = 0
    try:
        with open(p, "rb") as fh:
            for records in read_records(fh):
                for data in records:
                    where = f"record {k}"
                    try:
                        row = json.loads(data.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                        raise CorruptFile(f"{p}: {where} is not UTF-8 JSON ({exc}): {_TF_HINT}") from None
                    if not (isinstance(row, list) and len(row) == 5 and all(isinstance(x, str) for x in row[::2])
                            and isinstance(row[3], str) and type(row[1]) is int):
                        raise CorruptFile(f"{p}: {where}: expected [hash, epochs, raw_adjacency, raw_operations, "
                                          f"metrics], got {_shown(row)}: {_TF_HINT}")
                    module_hash, epochs, raw_adj, raw_ops, raw_metrics = row
                    i = index_map.get(module_hash)
                    if i is None:
                        raise UnknownArch(f"{p}: {where}: {_shown(module_hash)} is not the module hash of a "
                                          f"NAS-Bench-101 cell: {_TF_HINT}")
                    spec = f"{raw_adj}|{raw_ops}"
                    if checked.get(i) != spec and spec != nb101.spec_string(i):
                        try:
                            same = sp.index_of(spec) == i
                        except UnknownArch as exc:
                            raise CorruptFile(f"{p}: {where}: its cell {_shown(spec)}: {exc}: {_TF_HINT}") from None
                        if not same:
                            raise CorruptFile(f"{p}: {where}: the cell {_shown(spec)} does not have the hash "
                                              f"{module_hash}: {_TF_HINT}")
                    checked[i] = spec  # the 12 records of a cell usually write it alike
                    try:
                        n_params, final = _metrics(base64.b64decode(raw_metrics, validate=True))
                        values = {name: as_double(final[f][-1]) for f, name in _EVAL_FIELDS.items() if f in final}
                    except (binascii.Error, ValueError) as exc:  # ProtobufError is a ValueError
                        raise CorruptFile(f"{p}: {where}: its metrics are not a ModelMetrics message ({exc}): "
                                          f"{_TF_HINT}") from None
                    if i not in params:
                        params[i] = _check_params(p, where, i, n_params, _TF_HINT)
                    repeat = repeats.get((i, epochs), 0)
                    repeats[(i, epochs)] = repeat + 1
                    target = series.setdefault((epochs, repeat), {})
                    for name, v in values.items():
                        lst = target.setdefault(name, ([], []))
                        lst[0].append(i)
                        lst[1].append(100.0 * v if name in _PERCENT else v)
                    k += 1
    except TFRecordError as exc:
        raise CorruptFile(f"{p}: {exc}: {_TF_HINT}") from None
    if not k:
        raise CorruptFile(f"{p} holds no records: {_TF_HINT}")
    options = {"allow_missing": True} if allow_missing else {}
    with store.importing(p, "nasbench-tfrecord", options, replace=replace, allow_missing=allow_missing) as batch:
        for (epochs, repeat), metrics in sorted(series.items()):
            for name, (idx, vals) in sorted(metrics.items()):
                batch.add_evaluations(SPACE, DATASET, PROTOCOL, name, epochs, repeat, idx, vals)
        idx = np.fromiter(params, dtype=np.int64, count=len(params))
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "params", 0, MEAN_SEED, idx,
                              np.array([params[i] for i in idx.tolist()]))
    return batch


# --------------------------------------------------------------------------- nasbench-vis samples
_VIS_ACC = {e: f"{e}_final_validation_accuracy" for e in EPOCHS}


def import_nasbench_vis(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                        allow_missing: bool = False) -> ImportBatch:
    """Import a nasbench-vis sample (1k or 20k; see the module docstring): ``val_acc`` at 4, 12,
    36 and 108 epochs and ``train_time`` at 108 (seed 0), ``params`` (epoch 0).

    Strict: the columns must be lists of one length, hashes of cells of the space, each once;
    where the file gives the cell (1k), it must have that hash; ``trainable_parameters``
    must equal the network's count; accuracies fractions in 0..1. A non-finite value fails
    unless ``allow_missing``. One line naming the file, the row and the fix; the store is
    then unchanged.
    """
    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path" if not p.exists() else f"{p} is not a file: {_VIS_HINT}")
    try:
        with open(p, encoding="utf-8") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{p} is not valid UTF-8 JSON ({exc}), perhaps truncated: {_VIS_HINT}") from None
    except RecursionError:
        raise CorruptFile(f"{p} nests JSON deeper than any nasbench-vis file: {_VIS_HINT}") from None
    need = ["key", *_VIS_ACC.values(), "final_training_time", "trainable_parameters"]
    if not isinstance(data, dict) or any(c not in data for c in need):
        have = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CorruptFile(f"{p}: expected an object of columns {', '.join(need)}; it has {have}: {_VIS_HINT}")
    with_cells = "adjacency" in data and "operations" in data
    cols = need + (["adjacency", "operations"] if with_cells else [])
    n = len(data["key"]) if isinstance(data["key"], list) else -1
    for c in cols:
        if not isinstance(data[c], list) or len(data[c]) != n:
            raise CorruptFile(f"{p}: column {c!r} must be a list as long as 'key': {_VIS_HINT}")
    if n == 0:
        raise CorruptFile(f"{p} holds no architectures: {_VIS_HINT}")
    sp = get_space(SPACE)
    index_map = sp.index_map()
    idx = np.empty(n, dtype=np.int64)
    params = np.empty(n)
    for r, key in enumerate(data["key"]):
        i = index_map.get(key)
        if i is None:
            raise UnknownArch(f"{p}: row {r}: key {_shown(key)} is not the module hash of a NAS-Bench-101 cell: "
                              f"{_VIS_HINT}")
        if with_cells:
            _check_vis_cell(p, r, key, i, data["adjacency"][r], data["operations"][r], sp)
        idx[r] = i
        params[r] = _check_params(p, f"row {r} ({key})", i, data["trainable_parameters"][r], _VIS_HINT)
    keys = data["key"]

    def where(k: int) -> str:
        return f"{p}: row {k} ({keys[k]})"

    values = {c: _numbers(p, data[c], c) for c in [*_VIS_ACC.values(), "final_training_time"]}
    for e, c in _VIS_ACC.items():
        v = values[c]
        out = np.isfinite(v) & ((v < 0) | (v > 1))
        if out.any():
            k = int(np.flatnonzero(out)[0])
            raise CorruptFile(f"{where(k)}: {c} is {v[k]!r}, not a fraction in 0..1: {_VIS_HINT}")
    options = {"allow_missing": True} if allow_missing else {}
    with store.importing(p, "nasbench-vis", options, replace=replace, allow_missing=allow_missing) as batch:
        for e, c in _VIS_ACC.items():
            batch.add_evaluations(SPACE, DATASET, PROTOCOL, "val_acc", e, 0, idx, 100.0 * values[c], where=where)
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "train_time", 108, 0, idx, values["final_training_time"],
                              where=where)
        batch.add_evaluations(SPACE, DATASET, PROTOCOL, "params", 0, MEAN_SEED, idx, params, where=where)
    return batch


def _numbers(p: Path, column: list, name: str) -> np.ndarray:
    if all(type(x) is float for x in column):
        return np.array(column, dtype=np.float64)
    for r, x in enumerate(column):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or (isinstance(x, int) and abs(x) > 2 ** 53):
            raise CorruptFile(f"{p}: row {r}: {name} must be a number, got {_shown(x)}: {_VIS_HINT}")
    return np.array(column, dtype=np.float64)


#: nasbench-vis op codes: -1 input, -2 output, -3 padding after the output, else the official op index.
_VIS_LABELS = {-1: "input", -2: "output"}


def _check_vis_cell(p: Path, r: int, key: str, i: int, adjacency: Any, operations: Any, sp: Any) -> None:
    from zcdb.spaces.nb101 import OPS

    where = f"{p}: row {r} ({key})"
    if not isinstance(operations, list) or not all(type(o) is int for o in operations) or -2 not in operations:
        raise CorruptFile(f"{where}: operations must be integers ending in -2 (output), got {_shown(operations)}: "
                          f"{_VIS_HINT}")
    V = operations.index(-2) + 1
    if any(o != -3 for o in operations[V:]) or any(not -1 <= o < len(OPS) for o in operations[1:V - 1]) \
            or operations[0] != -1:
        raise CorruptFile(f"{where}: operations {_shown(operations)} are not -1, op codes 0..2, -2, padding -3: "
                          f"{_VIS_HINT}")
    names = [_VIS_LABELS.get(o) or OPS[o] for o in operations[:V]]
    try:
        rows = [[_zero_one(x) for x in row[:V]] for row in adjacency[:V]]
        same = sp.index_of((rows, names)) == i
    except (TypeError, ValueError, UnknownArch) as exc:
        raise CorruptFile(f"{where}: its cell is not one of the space ({exc}): {_VIS_HINT}") from None
    if not same:
        raise CorruptFile(f"{where}: its adjacency and operations do not hash to its key: {_VIS_HINT}")


def _zero_one(x: Any) -> int:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and x in (0, 1) and not math.isnan(x):
        return int(x)
    raise ValueError(f"adjacency entry {_shown(x)} is not 0 or 1")
