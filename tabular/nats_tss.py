"""NATS-Bench topology search space, fast-mode archive (``NATS-tss-v1_0-3ffb9-simple/``).

The directory holds ``meta.pickle.pbz2`` (``{"meta_archs": [15,625 official strings],
"total_archs": 15625, "arch2infos": None, "evaluated_indexes": set()}``) and one
``{index:06d}.pickle.pbz2`` per architecture: a bz2-compressed pickle of
``{"12": ArchResults state dict, "200": ArchResults state dict}``, keyed by the number of
training epochs of the schedule (``hp``). ``nats_bench`` reads them with ``pickle_load``
(bz2 + pickle) when ``create(path, "tss", fast_mode=True)`` is queried. The NATS-Bench
topology space is NAS-Bench-201's, with the same indices, datasets and evaluation sets.
"""

from __future__ import annotations

import bz2
import collections
import concurrent.futures
import io
import os
import re
from pathlib import Path
from typing import Any, Iterator, Union

from zcdb.errors import CorruptFile
from zcdb.spaces import nb201
from zcdb.store import ImportBatch, Store

from . import _safe_pickle
from ._arch_results import ResultsTable, check_meta_archs, import_options
from ._safe_pickle import RefusedGlobal, gc_paused, one_line

IMPORTER = "nats-tss"
META = "meta.pickle.pbz2"
_ARCH_FILE = re.compile(r"(\d+)\.pickle\.pbz2")
_HP = re.compile(r"\d+")
_HINT = "pass the NATS-tss-v1_0-3ffb9-simple directory (re-download it if a file is truncated)"


def import_nats_tss(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                    final_only: bool = False, allow_missing: bool = False) -> ImportBatch:
    """Import a NATS-Bench topology fast-mode directory (``NATS-tss-v1_0-3ffb9-simple``) into ``store``.

    The same rows as :func:`zcdb.tabular.nb201_pth.import_nb201_pth` (space ``nb201``; the
    four datasets; every seed and epoch of ``train_acc``, ``train_loss``, ``train_time``,
    ``val_acc``/``val_loss``, ``test_acc``/``test_loss``; cifar10's ``val_*`` from
    cifar10-valid's ``x-valid``, as NASLib and the NAS-Bench-201 search protocol do;
    ``params``, ``flops``, ``latency_gpu`` in ms at epoch 0 and seed -1), with protocol
    ``<hp>ep`` for each schedule in the files: ``12ep`` and ``200ep``. params and FLOPs of
    several seeds combine as ``nats_bench`` (>= 1.6) does: their mean, or seed 888's value
    where the seeds disagree (a legacy bug of some runs that nats_bench corrects).

    With ``final_only``, each curve keeps only its last epoch (200 or 12; the costs stay):
    about a hundredth of the rows, for users who need final accuracies and not curves.

    Values that differ from rows already stored raise :class:`~zcdb.errors.ImportConflict`
    unless ``replace``. An infinite value, or an accuracy outside 0..100, fails the import
    (NaN marks an absent value in these files and is not written); with ``allow_missing``
    infinite values are stored as missing and counted in ``batch.missing``.

    Trust: the files are pickles; zcdb unpickles them restricted to plain data types, so a
    file naming any other class or function fails with :class:`~zcdb.errors.CorruptFile`
    and nothing from it runs.

    Raises :class:`~zcdb.errors.CorruptFile` (naming the file and architecture) for a
    missing directory or meta file, a truncated or malformed file; the store is then unchanged.
    """
    root = Path(path)
    with gc_paused():
        table = _read(root)
        with store.importing(root, IMPORTER, import_options(final_only, allow_missing), replace=replace,
                            allow_missing=allow_missing) as batch:
            table.flush(batch, final_only=final_only)
    return batch


def _read(root: Path) -> ResultsTable:
    if not root.is_dir():
        what = "a file" if root.exists() else "missing"
        raise CorruptFile(f"{root} is {what}, not a NATS-Bench fast-mode directory: {_HINT}")
    meta = _unpickle(root / META, _read_bz2(root / META, None), None)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise CorruptFile(f"{root / META} has no 'meta_archs': not a NATS-Bench archive: {_HINT}")
    check_meta_archs(str(root / META), meta["meta_archs"], _HINT)
    files = _arch_files(root)
    table = ResultsTable(str(root), len(files), costs="nats", hint=_HINT)
    for index, path, raw in _prefetched(files):
        data = _unpickle(path, raw, index)
        del raw
        if not isinstance(data, dict) or not data:
            raise table.fail(index, f"{path.name} holds a {type(data).__name__}, not a dict of schedules")
        for hp, state in data.items():
            if not isinstance(hp, str) or not _HP.fullmatch(hp):
                raise table.fail(index, f"schedule key {hp!r} is not a number of epochs such as '12' or '200'")
            table.add(index, f"{int(hp)}ep", state)
        del data
    return table


def _arch_files(root: Path) -> list[tuple[int, Path]]:
    files: dict[int, Path] = {}
    for p in root.iterdir():
        m = _ARCH_FILE.fullmatch(p.name)
        if m is None:
            continue
        index = int(m.group(1))
        if index >= nb201.NUM_ARCHS:
            raise CorruptFile(f"{p}: no architecture {index} in the topology space (0..15624): {_HINT}")
        if index in files:
            raise CorruptFile(f"{root}: architecture {index} has two files, {files[index].name} and {p.name}: {_HINT}")
        files[index] = p
    if not files:
        raise CorruptFile(f"{root} holds no architecture files ({{index:06d}}.pickle.pbz2): {_HINT}")
    return sorted(files.items())


def _read_bz2(path: Path, index: Any) -> bytes:
    try:
        with open(path, "rb") as fh:
            packed = fh.read()
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing: {_HINT}") from None
    if not packed.startswith(b"BZh"):
        raise CorruptFile(f"{path}{_arch(index)} is not bz2-compressed (starts with {packed[:4]!r}): {_HINT}")
    try:
        return bz2.decompress(packed)
    except (OSError, EOFError, ValueError) as exc:
        raise CorruptFile(f"{path}{_arch(index)} is truncated or damaged ({one_line(exc)}): {_HINT}") from None


def _unpickle(path: Path, raw: bytes, index: Any) -> Any:
    try:
        return _safe_pickle.load(io.BytesIO(raw))
    except RefusedGlobal as exc:
        raise CorruptFile(
            f"{path}{_arch(index)} holds a pickled {exc.qualname}, which is not benchmark data; "
            f"zcdb does not run code from files: {_HINT}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # pickle reports damage with many exception types
        raise CorruptFile(f"{path}{_arch(index)} is not a valid pickle ({one_line(exc)}): {_HINT}") from None


def _arch(index: Any) -> str:
    return "" if index is None else f" (architecture {index})"


def _prefetched(files: list[tuple[int, Path]]) -> Iterator[tuple[int, Path, bytes]]:
    """Read and decompress files in threads, a few ahead, yielding them in order.

    bz2 decompression releases the GIL and is most of the time of a fast-mode import
    (15,625 files); unpickling stays in the caller's thread.
    """
    workers = min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        pending: collections.deque = collections.deque()
        queue = iter(files)
        try:
            while True:
                while len(pending) < 2 * workers:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    pending.append((nxt, pool.submit(_read_bz2, nxt[1], nxt[0])))
                if not pending:
                    return
                (index, path), future = pending.popleft()
                yield index, path, future.result()
        finally:
            for _, future in pending:
                future.cancel()
