"""NAS-Bench-Suite-Zero (NASLib's zero-cost benchmark files): proxy scores, their compute times, val accuracy.

Three layouts are read:

* released: ``{dataset: {arch_key: {"idx": .., "arch": .., proxy: {"score": s, "time": t}, ...,
  "val_accuracy": v}}}`` in one ``zc_<space>.json``;
* older flat: ``{arch_key: {proxy: s, ..., "val_accuracy": v}}`` for one dataset (given by
  ``dataset``), scores as plain numbers, without times;
* per-proxy benchmarks: a zip file or an unpacked folder of ``PROXY/benchmark--SPACE--TASK--START.json``
  files, each a JSON list of ``{"idx": .., "arch": "(o0, ...)", PROXY: {"score": s, "time": t},
  "val_accuracy": v}`` (``val_accuracy`` may be absent). ``SPACE`` is NASLib's name of the search
  space (:data:`zcdb.spaces.SUITE_ZERO_SPACES` maps it to zcdb's), ``TASK`` the dataset.

``arch_key`` is NASLib's op-index tuple written as a string, ``"(0, 2, 3, 2, 3, 1)"`` (see
:meth:`zcdb.spaces.SearchSpace.from_naslib`), or an official architecture string; ``idx`` is
NASLib's own numbering and is not kept. Proxy scores go to the ``proxy_scores`` table with data
``naslib-zc`` and unknown seed and batch size (-1); ``params`` and ``flops`` are also stored as
cost metrics (epoch 0) where the space says the released costs are of its benchmark's networks
(``suite_zero_costs``), and ``val_accuracy`` under the metric and epoch the space names for the
dataset (:meth:`~zcdb.spaces.SearchSpace.suite_zero_metric`: ``val_acc`` at 200 for nb201, the
cifar10-valid setting for cifar10; another quantity where the release means one). A JSON file
may name its benchmark above the datasets (``{"nasbench101": {"cifar10": ...}}``).

NASLib writes a proxy that came out NaN or infinite as ``-1e8`` (``ZeroCost.query`` in
``naslib/predictors/zerocost.py``); such a score is stored as NaN with that reason, not as a score.

Zip files are read in memory, never extracted: member names must be plain relative paths, each
member and the whole archive are bounded in size (:data:`MAX_MEMBER_BYTES`, :data:`MAX_TOTAL_BYTES`)
whatever the archive declares, and a truncated or damaged archive is a one-line
:class:`~zcdb.errors.CorruptFile` that leaves the store unchanged.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, short_repr as _shown
from zcdb.spaces import DEFAULT_SPACE, SUITE_ZERO_SPACES, get_space, suite_zero_space
from zcdb.store import MEAN_SEED, ImportBatch, Store, default_protocol

DATA_LABEL = "naslib-zc"
#: What NASLib stores for a proxy score that came out NaN or infinite.
SENTINEL = -1e8
SENTINEL_REASON = "NASLib's -1e8 stand-in for a NaN or infinite score"
#: Bounds on what one archive or folder may unpack to (the released ones: a few MB), checked while reading.
MAX_MEMBER_BYTES = 256 << 20
MAX_TOTAL_BYTES = 2 << 30
MAX_MEMBERS = 100_000
_TUPLE = re.compile(r"\(\s*[0-9]{1,9}(\s*,\s*[0-9]{1,9})*\s*,?\s*\)")
_NON_PROXY = {"idx", "id", "arch", "val_accuracy", "test_accuracy"}
_KNOWN_DATASETS = {"cifar10", "cifar100", "ImageNet16-120", "svhn", "ninapro", "scifar100",
                   "jigsaw", "class_object", "class_scene", "autoencoder", "normal", "room_layout", "segmentsemantic"}
_BENCH_FILE = re.compile(r"benchmark--([A-Za-z0-9_]+)--([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)--([0-9]{1,9})\.json")
_PROXY_NAME = re.compile(r"[A-Za-z0-9_]+")
_HINT = "pass a NAS-Bench-Suite-Zero zc_<space>.json file (re-download it if damaged)"
_BENCH_HINT = "pass a NAS-Bench-Suite-Zero zip or folder of PROXY/benchmark--SPACE--TASK--START.json files"
_DAMAGED = "the archive is damaged or truncated: re-download it"
_FIX_VALUE = "correct the value, or re-download the file if it is damaged"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _arch_index(mod: Any, key: Any, where: str) -> int:
    if not isinstance(key, str):
        raise CorruptFile(f"{where}: 'arch' must be a string such as \"(0, 1, 2, 3, 0, 1)\", got {_shown(key)}: "
                          f"{_FIX_VALUE}")
    try:
        return _index_of_key(mod.name, key.strip())
    except UnknownArch as exc:
        raise UnknownArch(f"{where}: {exc}") from None


@functools.lru_cache(maxsize=1 << 16)
def _index_of_key(space: str, key: str) -> int:
    # the per-proxy files repeat every architecture once per task and proxy: parse each key once
    mod = get_space(space)
    if _TUPLE.fullmatch(key):
        nums = [int(x) for x in key.strip("() ").split(",") if x.strip()]
        return mod.index_of(mod.from_naslib(nums))
    return mod.index_of(key)


def _number(x: Any, where: str, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) and x is not None:
        raise CorruptFile(f"{where}: {what}: expected a number, got {_shown(x)}: {_FIX_VALUE}")
    try:
        return math.nan if x is None else float(x)
    except OverflowError:
        raise CorruptFile(f"{where}: {what} is an integer too large for a float: {_FIX_VALUE}") from None


def _score(name: str, entry: Any, where: str) -> tuple[float, float, Optional[str]]:
    """``(score, seconds, reason)`` of one proxy entry (``{"score": s, "time": t}`` or a plain number)."""
    if isinstance(entry, dict):
        if "score" not in entry:
            raise CorruptFile(f"{where}: proxy {name!r} has no 'score': give each proxy "
                              "{'score': s, 'time': t}, or its score alone")
        s = _number(entry["score"], where, f"the score of {name!r}")
        t = _number(entry.get("time"), where, f"the time of {name!r}")
    else:
        s, t = _number(entry, where, f"the score of {name!r}"), math.nan
    if s == SENTINEL:
        return math.nan, t, SENTINEL_REASON
    return s, t, None


def import_naslib_zc(
    store: Store, path: Union[str, os.PathLike], space: Optional[str] = None, dataset: Optional[str] = None,
    replace: bool = False, allow_missing: bool = False, new_dataset: bool = False,
) -> ImportBatch:
    """Import NAS-Bench-Suite-Zero proxy scores (any layout: a JSON file, a zip or a folder) into ``store``.

    ``space`` is the space of a JSON file: by default the one the file names first
    (``{"nasbench101": {"cifar10": ...}}`` is nb101; another ``space`` is refused), else nb201;
    for a zip or folder, whose file names name their spaces, it keeps only that space. ``dataset`` names the dataset of a flat-layout
    file (default cifar10) or keeps only that dataset. Non-finite proxy scores (the released files
    hold ``-Infinity`` for some, and NASLib's ``-1e8`` stand-in) are stored as NaN with their reason
    and counted in ``batch.nonfinite_scores``; a non-finite ``val_accuracy``, ``params`` or ``flops``
    fails the import unless ``allow_missing`` (then it is stored as missing and counted in
    ``batch.missing``). A dataset the space does not know is refused unless ``new_dataset``.
    """
    p = Path(path)
    if p.is_dir() or (p.is_file() and _looks_like_zip(p)):
        return _import_benchmarks(store, p, space, dataset, replace, allow_missing, new_dataset)
    return _import_json(store, p, space, dataset, replace, allow_missing, new_dataset)


def _looks_like_zip(p: Path) -> bool:
    if p.suffix.lower() == ".zip":
        return True
    with open(p, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _import_json(store: Store, p: Path, space: Optional[str], dataset: Optional[str], replace: bool,
                 allow_missing: bool, new_dataset: bool = False) -> ImportBatch:
    if space is not None:
        get_space(space)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: check the path")
    try:
        with open(p, encoding="utf-8") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{p} is not valid JSON ({exc}), perhaps truncated: {_HINT}") from None
    except RecursionError:
        raise CorruptFile(f"{p} nests JSON deeper than any NAS-Bench-Suite-Zero file: {_HINT}") from None
    if not isinstance(data, dict) or not data:
        raise CorruptFile(f"{p}: expected a JSON object of datasets or architectures: {_HINT}")
    if len(data) == 1:  # {benchmark: {dataset: ...}} (zc_nasbench101.json names its benchmark first)
        (top, inner), = data.items()
        if top not in _KNOWN_DATASETS and isinstance(inner, dict) and inner and all(
                k in _KNOWN_DATASETS and isinstance(v, dict) for k, v in inner.items()):
            data = inner
            if top in SUITE_ZERO_SPACES:  # the file names its space: take it, or refuse another
                named = suite_zero_space(top).name
                if space is not None and space != named:
                    raise CorruptFile(f"{p} holds {top} architectures (zcdb space {named}), not {space}: "
                                      f"drop --space, or pass --space {named}")
                space = named
    space = space or DEFAULT_SPACE
    mod = get_space(space)
    if all(k in _KNOWN_DATASETS and isinstance(v, dict) for k, v in data.items()):
        layout = "released"
        parts = {k: v for k, v in data.items() if dataset is None or k == dataset}
        if not parts:
            raise CorruptFile(f"{p} has no dataset {dataset!r}: it has {', '.join(data)}; pass one of them "
                              "with --dataset")
    else:
        layout = "flat"
        parts = {dataset or "cifar10": data}
    protocol = default_protocol(space)
    options = dict(space=space, dataset=dataset, layout=layout)
    if allow_missing:
        options["allow_missing"] = True
    with store.importing(p, "naslib-zc", options, replace=replace, allow_missing=allow_missing,
                         new_dataset=new_dataset) as batch:
        for ds, archs in parts.items():
            if not isinstance(archs, dict):
                raise CorruptFile(f"{p}: dataset {ds!r} must map architectures to records: {_HINT}")
            group = _Group(space, ds)
            seen: set[int] = set()
            repeated = 0
            for key, rec in archs.items():
                where = f"{p}: {ds} / {key}"
                i = _arch_index(mod, key, where)
                if mod.naslib_keys_repeat:  # NASLib keys that are unpruned cells of one architecture
                    if i in seen:
                        repeated += 1
                        continue
                    seen.add(i)
                if not isinstance(rec, dict):
                    raise CorruptFile(f"{where}: expected an object of proxy scores, got {_shown(rec)}: {_HINT}")
                group.add_record(i, rec, where, mod)
            if repeated:
                batch.warnings.append(f"{p}: {ds}: {repeated} of {len(archs)} keys name an architecture that an "
                                      f"earlier key names ({space}'s NASLib keys are unpruned cells): kept the first")
            group.write(batch, protocol)
    return batch


@dataclass
class _Group:
    """The scores and ground truth of one (space, dataset) gathered from one source."""

    space: str
    dataset: str
    #: proxy -> arch index -> (score, seconds, reason, where)
    scores: dict[str, dict[int, tuple[float, float, Optional[str], str]]] = field(default_factory=dict)
    #: arch index -> (val_accuracy, where)
    val: dict[int, tuple[float, str]] = field(default_factory=dict)

    def add_record(self, i: int, rec: dict, where: str, mod: Any, required: Optional[str] = None) -> None:
        if required is not None and required not in rec:
            raise CorruptFile(f"{where}: the record has no {required!r} entry, though its folder is {required}/: "
                              f"{_FIX_VALUE}")
        for name, entry in rec.items():
            if name in _NON_PROXY:
                continue
            got = self.scores.setdefault(name, {})
            if i in got:
                raise CorruptFile(f"{where}: architecture {mod.string_of(i)} appears twice for proxy {name} on "
                                  f"{self.dataset} (first at {got[i][3]}): keep one record per architecture")
            got[i] = (*_score(name, entry, where), where)
        if "val_accuracy" in rec:
            v = _number(rec["val_accuracy"], where, "'val_accuracy'")
            old = self.val.get(i)
            if old is not None and not (old[0] == v or (math.isnan(old[0]) and math.isnan(v))):
                raise CorruptFile(f"{where}: val_accuracy {v!r} of {mod.string_of(i)} on {self.dataset} differs "
                                  f"from {old[0]!r} at {old[1]}: {_FIX_VALUE}")
            self.val.setdefault(i, (v, where))

    def write(self, batch: ImportBatch, protocol: str) -> None:
        mod = get_space(self.space)
        for name, got in sorted(self.scores.items()):
            idx = np.fromiter(got, dtype=np.int64, count=len(got))
            rows = list(got.values())
            batch.add_proxy_scores(self.space, self.dataset, name, -1, -1, DATA_LABEL, idx,
                                   [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
            if name in ("params", "flops") and mod.suite_zero_costs:
                where = [r[3] for r in rows]
                batch.add_evaluations(self.space, self.dataset, protocol, name, 0, MEAN_SEED, idx,
                                      [r[0] for r in rows], where=lambda k, w=where: w[k])
        if self.val:
            metric, epoch = mod.suite_zero_metric(self.dataset)
            idx = np.fromiter(self.val, dtype=np.int64, count=len(self.val))
            where = [w for _, w in self.val.values()]
            batch.add_evaluations(self.space, self.dataset, protocol, metric, epoch, MEAN_SEED, idx,
                                  [v for v, _ in self.val.values()], where=lambda k, w=where: w[k])


# --------------------------------------------------------------------------- per-proxy benchmark files
def _check_member_name(p: Path, name: str) -> None:
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts
            or re.match(r"[A-Za-z]:", name)):
        raise CorruptFile(f"{p}: member {_shown(name)} has an unsafe path (absolute, a drive or ..): "
                          "this is not a NAS-Bench-Suite-Zero archive, refuse it")


def _zip_members(p: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, content)`` of every file in the zip, each and all together bounded in size."""
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise CorruptFile(f"{p} is not a readable zip file ({_first_line(exc)}): {_DAMAGED}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise CorruptFile(f"{p} has {len(infos)} members, more than {MAX_MEMBERS}: not a NAS-Bench-Suite-Zero "
                              "archive")
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            _check_member_name(p, name)
            if name in seen:
                raise CorruptFile(f"{p}: member {name} appears twice: {_DAMAGED}")
            seen.add(name)
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise CorruptFile(f"{p}: member {name} would unpack to {info.file_size} bytes, more than "
                                  f"{MAX_MEMBER_BYTES}: not a NAS-Bench-Suite-Zero archive (a zip bomb?)")
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
                    ValueError) as exc:
                raise CorruptFile(f"{p}: member {name} cannot be read ({_first_line(exc)}): {_DAMAGED}") from None
            total += len(data)
            if len(data) > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                raise CorruptFile(f"{p} unpacks to more than {min(total, MAX_TOTAL_BYTES)} bytes: not a "
                                  "NAS-Bench-Suite-Zero archive (a zip bomb?)")
            yield name, data


def _folder_members(p: Path) -> Iterator[tuple[str, bytes]]:
    """``(path relative to p, content)`` of every file under the folder ``p`` (no links followed)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(p):
        for n in sorted(dirnames) + sorted(filenames):
            q = Path(dirpath) / n
            if q.is_symlink():
                raise CorruptFile(f"{q} is a symbolic link: copy the files themselves into {p}")
            if n in filenames:
                if not q.is_file():
                    raise CorruptFile(f"{q} is not a regular file: remove it from {p}")
                found.append(q)
    if len(found) > MAX_MEMBERS:
        raise CorruptFile(f"{p} holds {len(found)} files, more than {MAX_MEMBERS}: {_BENCH_HINT}")
    total = 0
    for q in sorted(found):
        size = q.stat().st_size
        total += size
        if size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            raise CorruptFile(f"{q} is larger than a NAS-Bench-Suite-Zero benchmark file could be: {_BENCH_HINT}")
        yield q.relative_to(p).as_posix(), q.read_bytes()


def _import_benchmarks(store: Store, p: Path, space: Optional[str], dataset: Optional[str], replace: bool,
                       allow_missing: bool, new_dataset: bool = False) -> ImportBatch:
    if space is not None:
        get_space(space)
    members = _folder_members(p) if p.is_dir() else _zip_members(p)
    groups: dict[tuple[str, str], _Group] = {}
    seen_spaces: set[str] = set()
    seen_tasks: set[str] = set()
    n_files = 0
    for name, data in members:
        parts = name.split("/")
        m = _BENCH_FILE.fullmatch(parts[-1])
        folder = parts[-2] if len(parts) > 1 else (p.name if p.is_dir() else "")
        where_file = f"{p}: {name}" if not p.is_dir() else str(p / name)
        if m is None or not _PROXY_NAME.fullmatch(folder):
            raise CorruptFile(f"{where_file} is not a NAS-Bench-Suite-Zero benchmark file: {_BENCH_HINT}")
        naslib_space, task = m.group(1), m.group(2)
        mod = suite_zero_space(naslib_space)
        seen_spaces.add(mod.name)
        seen_tasks.add(task)
        n_files += 1
        if (space is not None and mod.name != space) or (dataset is not None and task != dataset):
            continue
        mod.suite_zero_metric(task)  # an unknown task fails here, before any row is read
        try:
            records = json.loads(data.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptFile(f"{where_file} is not valid JSON ({_first_line(exc)}), perhaps truncated: "
                              f"{_DAMAGED}") from None
        except RecursionError:
            raise CorruptFile(f"{where_file} nests JSON deeper than any NAS-Bench-Suite-Zero file: {_DAMAGED}") from None
        if not isinstance(records, list):
            raise CorruptFile(f"{where_file}: expected a JSON list of architecture records, got "
                              f"{type(records).__name__}: {_BENCH_HINT}")
        group = groups.setdefault((mod.name, task), _Group(mod.name, task))
        for k, rec in enumerate(records):
            where = f"{where_file}: record {k}"
            if not isinstance(rec, dict) or "arch" not in rec:
                raise CorruptFile(f"{where}: expected an object with 'arch', got {_shown(rec)}: {_FIX_VALUE}")
            group.add_record(_arch_index(mod, rec["arch"], where), rec, where, mod, required=folder)
    if not groups:
        if not n_files:
            raise CorruptFile(f"{p} holds no benchmark files: {_BENCH_HINT}")
        raise CorruptFile(f"{p} has no files for " + " and ".join(
            x for x in (f"space {space}" if space else "", f"dataset {dataset}" if dataset else "") if x)
            + f": it has spaces {', '.join(sorted(seen_spaces))} and datasets {', '.join(sorted(seen_tasks))}")
    options: dict[str, Any] = dict(space=space, dataset=dataset, layout="benchmark")
    if allow_missing:
        options["allow_missing"] = True
    with store.importing(p, "naslib-zc", options, replace=replace, allow_missing=allow_missing,
                         new_dataset=new_dataset) as batch:
        for key in sorted(groups):
            groups[key].write(batch, default_protocol(key[0]))
    return batch
