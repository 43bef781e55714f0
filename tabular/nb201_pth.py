"""The official NAS-Bench-201 benchmark file (``NAS-Bench-201-v1_0-e61699.pth``, ``-v1_1-096897.pth``).

The file is ``torch.save`` of ``{"meta_archs": [15,625 official strings], "arch2infos":
{index: {"less": ArchResults state dict, "full": ArchResults state dict}},
"evaluated_indexes": [...], ...}``; "full" is the 200-epoch schedule, "less" the 12-epoch
one. See :mod:`zcdb.tabular._arch_results` for the state dicts and what becomes a row.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

from zcdb.errors import CorruptFile
from zcdb.spaces import nb201
from zcdb.store import ImportBatch, Store

from ._arch_results import ResultsTable, check_meta_archs, import_options
from ._safe_pickle import TORCH_PICKLE_MODULE, RefusedGlobal, gc_paused, one_line

IMPORTER = "nb201-pth"
#: Training setting in the file -> zcdb protocol.
PROTOCOLS = {"full": "200ep", "less": "12ep"}
_HINT = "pass the official NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth (re-download it if truncated)"


def import_nb201_pth(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                     final_only: bool = False, allow_missing: bool = False) -> ImportBatch:
    """Import the official NAS-Bench-201 ``.pth`` benchmark file into ``store``.

    Rows (space ``nb201``; datasets ``cifar10-valid``, ``cifar10``, ``cifar100``,
    ``ImageNet16-120``; protocol ``200ep`` for the file's "full" results, ``12ep`` for
    "less"), per seed of each run (777, 888, 999) and epoch ``e + 1`` for the file's 0-based
    epoch ``e``: ``train_acc``, ``train_loss``, ``train_time`` (cumulative training seconds),
    ``val_acc``/``val_loss`` (set ``x-valid``), ``test_acc``/``test_loss`` (``ori-test`` for
    cifar10-valid and cifar10, ``x-test`` for cifar100 and ImageNet16-120), for cifar100 and
    ImageNet16-120 also ``valtest_acc``/``valtest_loss`` (their ``ori-test``, x-valid and
    x-test together: the API's "valtest"), and ``val_time``/``test_time``/``valtest_time``,
    the cumulative evaluation seconds on each set (the API's ``valid-all-time`` etc.;
    written where the set has an accuracy at that epoch). As NASLib and the
    NAS-Bench-201 search protocol do, cifar10's ``val_acc``/``val_loss`` are cifar10-valid's
    ``x-valid`` values (cifar10 trains on the whole training set). At epoch 0 and seed -1:
    ``params`` (millions), ``flops`` (MFLOPs) and ``latency_gpu`` (milliseconds; the file
    has seconds), combined over seeds as ``nas_201_api``'s ``get_compute_costs`` does.
    Accuracies are in percent, as in the file. Absent values (no run, latency None or -1,
    epochs without an evaluation in v1_0) are not written.

    With ``final_only``, each curve keeps only its last epoch (200 or 12; the costs stay):
    about a hundredth of the rows, for users who need final accuracies and not curves.

    Values that differ from rows already stored raise :class:`~zcdb.errors.ImportConflict`
    unless ``replace``. An infinite value, or an accuracy outside 0..100, fails the import
    (NaN marks an absent value in these files and is not written); with ``allow_missing``
    infinite values are stored as missing and counted in ``batch.missing``.

    Trust: a ``.pth`` file is a pickle, which can name code to run when loaded. zcdb reads
    it through ``torch.load`` with Python's fast (C) unpickler restricted to plain data
    (dicts, lists, numbers, numpy and torch arrays), so a file naming anything else fails
    with :class:`~zcdb.errors.CorruptFile` and nothing from it runs. The official files are
    state dicts of such data.

    Raises :class:`~zcdb.errors.CorruptFile` (naming the file and the architecture index)
    for a missing, truncated or malformed file; the store is then unchanged. The loaded
    file takes about six times its size in memory (as with ``nas_201_api``); each
    architecture's part is released once its values are gathered.
    """
    p = Path(path)
    with gc_paused():
        table = _read(p)
        with store.importing(p, IMPORTER, import_options(final_only, allow_missing), replace=replace,
                            allow_missing=allow_missing) as batch:
            table.flush(batch, final_only=final_only)
    return batch


def _read(p: Path) -> ResultsTable:
    data = _load(p)
    arch2infos = _check_top_level(p, data)
    table = ResultsTable(str(p), len(arch2infos), costs="mean", hint=_HINT, space=nb201.SPACE)
    for index in sorted(arch2infos):
        # pop: the loaded file shrinks as the table grows, instead of both being held whole
        entry = arch2infos.pop(index)
        if not isinstance(entry, dict) or not all(k in entry for k in PROTOCOLS):
            raise table.fail(index, "expected a dict with 'full' and 'less' results")
        for setting, protocol in PROTOCOLS.items():
            table.add(index, protocol, entry[setting])
        del entry
    if table.n_archs == 0:
        raise table.fail(None, "holds no architecture results")
    return table

def _load(p: Path) -> Any:
    if p.is_dir():
        raise CorruptFile(f"{p} is a directory: {_HINT}")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise CorruptFile(f"no such file: {p}: {_HINT}") from None
    # torch.save writes a zip archive (torch >= 1.6) or a bare pickle stream (older torch)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        raise CorruptFile(f"{p} is not a torch file (it starts with {head!r}): {_HINT}")
    import torch

    try:
        # weights_only=False with a restricted pickle_module: the C unpickler, limited to data
        return torch.load(p, map_location="cpu", weights_only=False, pickle_module=TORCH_PICKLE_MODULE)
    except RefusedGlobal as exc:
        raise CorruptFile(
            f"{p} holds a pickled {exc.qualname}, which is not benchmark data; zcdb does not run code "
            f"from files: {_HINT}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # torch and pickle report damage with many exception types
        raise CorruptFile(f"{p} is truncated or not a NAS-Bench-201 file ({one_line(exc)}): {_HINT}") from None


def _check_top_level(p: Path, data: Any) -> dict:
    if not isinstance(data, dict):
        raise CorruptFile(f"{p} holds a {type(data).__name__}, not the NAS-Bench-201 dict: {_HINT}")
    missing = [k for k in ("meta_archs", "arch2infos", "evaluated_indexes") if k not in data]
    if missing:
        raise CorruptFile(f"{p} lacks {', '.join(map(repr, missing))}: not a NAS-Bench-201 file: {_HINT}")
    check_meta_archs(str(p), data["meta_archs"], _HINT, nb201.SPACE)
    arch2infos = data["arch2infos"]
    if not isinstance(arch2infos, dict):
        raise CorruptFile(f"{p}: 'arch2infos' is a {type(arch2infos).__name__}, not a dict: {_HINT}")
    for k in arch2infos:
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < nb201.NUM_ARCHS:
            raise CorruptFile(f"{p}: 'arch2infos' has key {k!r}, not an architecture index 0..15624: {_HINT}")
    return arch2infos

