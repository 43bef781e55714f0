"""NAS-Bench-Suite-Zero (NASLib ``zc_<space>.json``): proxy scores, their compute times, val accuracy.

Two layouts are read:

* released: ``{dataset: {arch_key: {"idx": .., "arch": .., proxy: {"score": s, "time": t}, ...,
  "val_accuracy": v}}}``;
* older flat: ``{arch_key: {proxy: s, ..., "val_accuracy": v}}`` for one dataset (given by
  ``dataset``), scores as plain numbers, without times.

``arch_key`` is NASLib's op-index tuple written as a string, ``"(0, 2, 3, 2, 3, 1)"`` (see
:meth:`zcdb.spaces.SearchSpace.from_naslib`), or an official architecture string.
Proxy scores go to the ``proxy_scores`` table with data ``naslib-zc`` and unknown seed and
batch size (-1); ``params`` and ``flops`` are also stored as cost metrics (epoch 0) and
``val_accuracy`` as ``val_acc`` at the space's ``suite_zero_epoch`` (nb201: 200, the
cifar10-valid setting for cifar10); ``params`` and ``flops`` only as proxy scores where the
space says the released costs are not of its benchmark's networks (``suite_zero_costs``).
A file may name its benchmark above the datasets (``{"nasbench101": {"cifar10": ...}}``).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, short_repr as _shown
from zcdb.spaces import DEFAULT_SPACE, get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store, default_protocol

DATA_LABEL = "naslib-zc"
_TUPLE = re.compile(r"\(\s*[0-9]{1,9}(\s*,\s*[0-9]{1,9})*\s*,?\s*\)")
_NON_PROXY = {"idx", "id", "arch", "val_accuracy", "test_accuracy"}
_KNOWN_DATASETS = {"cifar10", "cifar100", "ImageNet16-120", "svhn", "ninapro", "scifar100",
                   "jigsaw", "class_object", "class_scene", "autoencoder", "normal", "room_layout", "segmentsemantic"}
_HINT = "pass a NAS-Bench-Suite-Zero zc_<space>.json file (re-download it if damaged)"
_FIX_VALUE = "correct the value, or re-download the file if it is damaged"


def _arch_index(mod: Any, key: str, where: str) -> int:
    key = key.strip()
    try:
        if _TUPLE.fullmatch(key):
            nums = [int(x) for x in key.strip("() ").split(",") if x.strip()]
            return mod.index_of(mod.from_naslib(nums))
        return mod.index_of(key)
    except UnknownArch as exc:
        raise UnknownArch(f"{where}: {exc}") from None


def _number(x: Any, where: str, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) and x is not None:
        raise CorruptFile(f"{where}: {what}: expected a number, got {_shown(x)}: {_FIX_VALUE}")
    try:
        return math.nan if x is None else float(x)
    except OverflowError:
        raise CorruptFile(f"{where}: {what} is an integer too large for a float: {_FIX_VALUE}") from None


def import_naslib_zc(
    store: Store, path: Union[str, os.PathLike], space: str = DEFAULT_SPACE, dataset: Optional[str] = None,
    replace: bool = False, allow_missing: bool = False,
) -> ImportBatch:
    """Import a NAS-Bench-Suite-Zero JSON file (either layout) into ``store``.

    ``dataset`` names the dataset of a flat-layout file (default cifar10) or restricts a
    released-layout file to one of its datasets. Non-finite proxy scores (the released
    files hold ``-Infinity`` for some) are stored as NaN with their reason and counted in
    ``batch.nonfinite_scores``; a non-finite ``val_accuracy``, ``params`` or ``flops`` fails
    the import unless ``allow_missing`` (then it is stored as missing and counted in
    ``batch.missing``).
    """
    mod = get_space(space)
    p = Path(path)
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
    with store.importing(p, "naslib-zc", options, replace=replace, allow_missing=allow_missing) as batch:
        for ds, archs in parts.items():
            if not isinstance(archs, dict):
                raise CorruptFile(f"{p}: dataset {ds!r} must map architectures to records: {_HINT}")
            scores: dict[str, tuple[list[int], list[float], list[float], list[str]]] = {}
            val_idx: list[int] = []
            val: list[float] = []
            val_keys: list[str] = []
            seen: set[int] = set()
            repeated = 0
            for key, rec in archs.items():
                where = f"{p}: {ds} / {key}"
                i = _arch_index(mod, key, where)
                if mod.naslib_keys_repeat:
                    if i in seen:
                        repeated += 1
                        continue
                    seen.add(i)
                if not isinstance(rec, dict):
                    raise CorruptFile(f"{where}: expected an object of proxy scores, got {_shown(rec)}: {_HINT}")
                for name, entry in rec.items():
                    if name in _NON_PROXY:
                        continue
                    if isinstance(entry, dict):
                        if "score" not in entry:
                            raise CorruptFile(f"{where}: proxy {name!r} has no 'score': give each proxy "
                                              "{'score': s, 'time': t}, or its score alone")
                        s = _number(entry["score"], where, f"the score of {name!r}")
                        t = _number(entry.get("time"), where, f"the time of {name!r}")
                    else:
                        s, t = _number(entry, where, f"the score of {name!r}"), math.nan
                    lst = scores.setdefault(name, ([], [], [], []))
                    lst[0].append(i)
                    lst[1].append(s)
                    lst[2].append(t)
                    lst[3].append(key)
                if "val_accuracy" in rec:
                    val_idx.append(i)
                    val.append(_number(rec["val_accuracy"], where, "'val_accuracy'"))
                    val_keys.append(key)
            for name, (idx, s, t, keys) in sorted(scores.items()):
                batch.add_proxy_scores(space, ds, name, -1, -1, DATA_LABEL, idx, s, t)
                if name in ("params", "flops") and mod.suite_zero_costs:
                    batch.add_evaluations(space, ds, protocol, name, 0, MEAN_SEED, idx, s,
                                          where=lambda k, keys=keys, ds=ds: f"{p}: {ds} / {keys[k]}")
            if repeated:
                batch.warnings.append(f"{p}: {ds}: {repeated} of {len(archs)} keys name an architecture that an "
                                      f"earlier key names ({space}'s NASLib keys are unpruned cells): kept the first")
            if val_idx:
                batch.add_evaluations(space, ds, protocol, "val_acc", mod.suite_zero_epoch or 0, MEAN_SEED,
                                      np.asarray(val_idx), np.asarray(val),
                                      where=lambda k, keys=val_keys, ds=ds: f"{p}: {ds} / {keys[k]}")
    return batch
