"""NATS-Bench fast-mode archives (``NATS-tss-v1_0-3ffb9-simple/``, ``NATS-sss-v1_0-50262-simple/``).

Both of NATS-Bench's spaces ship the same layout: ``meta.pickle.pbz2`` (``{"meta_archs":
[every official string, by index], "total_archs": N, "arch2infos": None,
"evaluated_indexes": set()}``) and one ``{index:06d}.pickle.pbz2`` per architecture, a
bz2-compressed pickle of ``{hp: ArchResults state dict}`` keyed by the schedule ``hp`` (the
number of training epochs, as a string). ``nats_bench`` reads them with ``pickle_load``
(bz2 + pickle) when ``create(path, "tss" or "sss", fast_mode=True)`` is queried.

What differs between the archives is a :class:`FastModeFormat`: the search space (its
strings, size and name), the schedule keys and the protocol each becomes, the importer's
name and the hint that ends every error. The records themselves go through
:class:`~zcdb.tabular._arch_results.ResultsTable`.
"""

from __future__ import annotations

import bz2
import collections
import concurrent.futures
import dataclasses
import io
import os
import re
from pathlib import Path
from typing import Any, Iterator, Union

from zcdb.errors import CorruptFile
from zcdb.spaces import get_space
from zcdb.store import ImportBatch, Store

from . import _safe_pickle
from ._arch_results import ResultsTable, check_meta_archs, import_options
from ._safe_pickle import RefusedGlobal, gc_paused, one_line

META = "meta.pickle.pbz2"
_ARCH_FILE = re.compile(r"(\d+)\.pickle\.pbz2")


@dataclasses.dataclass(frozen=True)
class FastModeFormat:
    """One NATS-Bench fast-mode archive: what its importer needs to know beyond the shared layout."""

    #: The importer's name (``zcdb import <importer>``, the provenance's importer).
    importer: str
    #: Name of the search space of the rows (:func:`zcdb.spaces.get_space`).
    space: str
    #: Schedule key in the files (``hp``) -> the protocol its rows are stored under.
    schedules: dict[str, str]
    #: Ends every error message: what the user should pass.
    hint: str


def import_fast_mode(store: Store, path: Union[str, os.PathLike], fmt: FastModeFormat, replace: bool = False,
                     final_only: bool = False, allow_missing: bool = False) -> ImportBatch:
    """Import the fast-mode directory ``path`` of format ``fmt`` into ``store`` (one transaction).

    Every file is read and checked before anything is written, so an error leaves the
    store unchanged. See :func:`zcdb.tabular.nats_tss.import_nats_tss` for the rows.
    """
    root = Path(path)
    with gc_paused():
        table = _read(root, fmt, allow_missing)
        with store.importing(root, fmt.importer, import_options(final_only, allow_missing), replace=replace,
                             allow_missing=allow_missing) as batch:
            table.flush(batch, final_only=final_only)
    return batch


def _read(root: Path, fmt: FastModeFormat, allow_missing: bool = False) -> ResultsTable:
    space = get_space(fmt.space)
    if not root.is_dir():
        what = "a file" if root.exists() else "missing"
        raise CorruptFile(f"{root} is {what}, not a NATS-Bench fast-mode directory: {fmt.hint}")
    meta = _unpickle(root / META, _read_bz2(root / META, None, fmt.hint), None, fmt.hint)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise CorruptFile(f"{root / META} has no 'meta_archs': not a NATS-Bench archive: {fmt.hint}")
    check_meta_archs(str(root / META), meta["meta_archs"], fmt.hint, space)
    files = _arch_files(root, space.require_size("a fast-mode archive"), fmt.hint)
    table = ResultsTable(str(root), len(files), costs="nats", hint=fmt.hint, space=space)
    known = ", ".join(repr(k) for k in fmt.schedules)
    for index, path, raw in _prefetched(files, fmt.hint):
        data = _unpickle(path, raw, index, fmt.hint)
        del raw
        if not isinstance(data, dict):
            raise table.fail(index, f"{path.name} holds a {type(data).__name__}, not a dict of schedules")
        for hp, state in data.items():
            protocol = fmt.schedules.get(hp) if isinstance(hp, str) else None
            if protocol is None:
                raise table.fail(index, f"schedule key {hp!r} is not a number of epochs of this benchmark ({known})")
            table.add(index, protocol, state)
        missing = [hp for hp in fmt.schedules if hp not in data]
        if missing and (not allow_missing or len(missing) == len(fmt.schedules)):
            # every released file holds every schedule: one without is truncated or edited
            raise table.fail(index, f"{path.name} holds no schedule {', '.join(map(repr, missing))} (every "
                                    f"architecture of this benchmark has {known}"
                                    + (")" if allow_missing else "; --allow-missing imports it without)"))
        del data
    return table


def _arch_files(root: Path, n_archs: int, hint: str) -> list[tuple[int, Path]]:
    files: dict[int, Path] = {}
    for p in root.iterdir():
        m = _ARCH_FILE.fullmatch(p.name)
        if m is None:
            continue
        index = int(m.group(1))
        if index >= n_archs:
            raise CorruptFile(f"{p}: no architecture {index} in this space (0..{n_archs - 1}): {hint}")
        if index in files:
            raise CorruptFile(f"{root}: architecture {index} has two files, {files[index].name} and {p.name}: {hint}")
        files[index] = p
    if not files:
        raise CorruptFile(f"{root} holds no architecture files ({{index:06d}}.pickle.pbz2): {hint}")
    return sorted(files.items())


def _read_bz2(path: Path, index: Any, hint: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            packed = fh.read()
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing: {hint}") from None
    if not packed.startswith(b"BZh"):
        raise CorruptFile(f"{path}{_arch(index)} is not bz2-compressed (starts with {packed[:4]!r}): {hint}")
    try:
        return bz2.decompress(packed)
    except (OSError, EOFError, ValueError) as exc:
        raise CorruptFile(f"{path}{_arch(index)} is truncated or damaged ({one_line(exc)}): {hint}") from None


def _unpickle(path: Path, raw: bytes, index: Any, hint: str) -> Any:
    try:
        return _safe_pickle.load(io.BytesIO(raw))
    except RefusedGlobal as exc:
        raise CorruptFile(
            f"{path}{_arch(index)} holds a pickled {exc.qualname}, which is not benchmark data; "
            f"zcdb does not run code from files: {hint}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # pickle reports damage with many exception types
        raise CorruptFile(f"{path}{_arch(index)} is not a valid pickle ({one_line(exc)}): {hint}") from None


def _arch(index: Any) -> str:
    return "" if index is None else f" (architecture {index})"


def _prefetched(files: list[tuple[int, Path]], hint: str) -> Iterator[tuple[int, Path, bytes]]:
    """Read and decompress files in threads, a few ahead, yielding them in order.

    bz2 decompression releases the GIL and is most of the time of a fast-mode import
    (15,625 or 32,768 files); unpickling stays in the caller's thread.
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
                    pending.append((nxt, pool.submit(_read_bz2, nxt[1], nxt[0], hint)))
                if not pending:
                    return
                (index, path), future = pending.popleft()
                yield index, path, future.result()
        finally:
            for _, future in pending:
                future.cancel()
