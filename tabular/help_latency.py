"""HELP's measured latencies of NAS-Bench-201 (Lee et al., NeurIPS 2021), read without torch and without running code.

HELP's ``data/nasbench201/`` folder holds ``latency/DEVICE[_BATCH].pt``, each a ``torch.save``d
Python list of 15,625 latencies (ms; floats, or whole milliseconds for some phones) in
NAS-Bench-201's official index order, and ``str_arch2idx.pt``, a dict from official
architecture string to that index. A ``.pt`` file of this kind is a zip archive whose
``<name>/data.pkl`` is an ordinary pickle of the list: zcdb reads it with its data-only
unpickler (:mod:`zcdb.tabular._safe_pickle`), so a file that names a function or class is
refused and nothing in it runs, and torch is not needed.

Metric names: ``latency_<device>`` for a device measured in one setting (``latency_pixel3``,
``latency_gold_6226``, ``latency_essential_ph_1``), ``latency_<device>_bs<batch>`` for a device
measured at several batch sizes, which the file names end in (``titan_rtx_256.pt`` ->
``latency_titan_rtx_bs256``): a trailing ``_N`` is read as a batch size when N is a power of
two and the device has files at more than one (so ``gold_6226`` and ``essential_ph_1`` are
device names). The fpga and pixel3 lists are HW-NAS-Bench's cifar10 values, so
they share HW-NAS-Bench's names and, by default, its dataset: importing both stores each value
once.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownMetric, short_repr as _shown
from zcdb.metrics import MetricSpec, check_name
from zcdb.spaces import get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store

from . import _safe_pickle, hw_nas_bench
from ._safe_pickle import RefusedGlobal, one_line

IMPORTER = "help-latency"
SPACE = "nb201"
PROTOCOL = "200ep"
#: HELP's NAS-Bench-201 latencies are at CIFAR resolution; its fpga and pixel3 lists equal HW-NAS-Bench's cifar10 ones.
DEFAULT_DATASET = "cifar10"
#: Largest ``data.pkl`` read (a list of 15,625 floats is 141 kB; the index dict 1.5 MB).
_MAX_PICKLE_BYTES = 64 << 20
_BATCH = re.compile(r"(.+)_([0-9]{1,4})")
#: What a trailing number can be as a batch size (``gold_6226`` is a CPU model, not batch 6226).
_BATCH_SIZES = frozenset(2 ** k for k in range(13))
_HINT = "pass HELP's data/nasbench201 folder (latency/*.pt and str_arch2idx.pt; re-download damaged files)"


def metric_names(stems: list[str]) -> dict[str, MetricSpec]:
    """File stem -> metric, by the naming rule of the module docstring."""
    def batch(stem: str) -> Optional[re.Match]:
        m = _BATCH.fullmatch(stem)
        return m if m and int(m.group(2)) in _BATCH_SIZES else None

    devices = Counter(m.group(1) for m in map(batch, stems) if m)
    out = {}
    for stem in stems:
        m = batch(stem)
        if m and devices[m.group(1)] > 1:
            name = f"latency_{m.group(1)}_bs{int(m.group(2))}"
            what = f"{m.group(1)} at batch size {int(m.group(2))}"
        else:
            name, what = f"latency_{stem}", stem
        try:
            check_name(name)
        except UnknownMetric:
            raise CorruptFile(f"latency file {stem}.pt does not make a metric name ({name!r}): name latency files "
                              "DEVICE.pt or DEVICE_BATCH.pt in lower-case letters, digits and _") from None
        out[stem] = MetricSpec(name, False, "ms", f"latency of one forward pass on {what}, as HELP measured it")
    return out


def load_pt(path: Path) -> Any:
    """The Python object in a zip-format ``torch.save`` file holding plain data (no tensors), without torch."""
    try:
        with zipfile.ZipFile(path) as z:
            pickles = [i for i in z.infolist() if i.filename.endswith("/data.pkl") and i.filename.count("/") == 1]
            if len(pickles) != 1:
                raise CorruptFile(f"{path} has no <name>/data.pkl: not a torch.save file of plain data: {_HINT}")
            if pickles[0].file_size > _MAX_PICKLE_BYTES:
                raise CorruptFile(f"{path}: data.pkl is {pickles[0].file_size >> 20} MB, more than any HELP list: "
                                  f"{_HINT}")
            raw = z.read(pickles[0])
    except FileNotFoundError:
        raise CorruptFile(f"no such file: {path}: {_HINT}") from None
    except zipfile.BadZipFile:
        raise CorruptFile(f"{path} is not a zip-format torch.save file (truncated, or an old torch format): "
                          f"{_HINT}") from None
    except (OSError, zipfile.LargeZipFile, EOFError) as exc:
        raise CorruptFile(f"{path} cannot be read ({one_line(exc)}): {_HINT}") from None
    try:
        return _safe_pickle.load(io.BytesIO(raw))
    except RefusedGlobal as exc:
        raise CorruptFile(f"{path} holds a pickled {exc.qualname}, which is not benchmark data; zcdb does not run "
                          f"code from files: {_HINT}") from None
    except MemoryError:
        raise
    except Exception as exc:  # pickle reports damage (and tensors: persistent ids) with many exception types
        raise CorruptFile(f"{path} is truncated or holds more than a plain list ({one_line(exc)}): {_HINT}") from None


def _values(path: Path, obj: Any, n: int) -> np.ndarray:
    if not isinstance(obj, list) or len(obj) != n:
        got = f"{len(obj)} values" if isinstance(obj, (list, tuple, dict)) else f"a {type(obj).__name__}"
        raise CorruptFile(f"{path} must hold a list of {n} latencies by architecture index, got {got}: {_HINT}")
    bad = next((k for k, v in enumerate(obj) if type(v) not in (int, float)), None)
    if bad is not None:
        raise CorruptFile(f"{path}: the latency of architecture {bad} must be a number, got {_shown(obj[bad])}: "
                          f"{_HINT}")
    try:
        return np.array(obj, dtype=np.float64)
    except OverflowError:
        k = next(k for k, v in enumerate(obj) if isinstance(v, int) and abs(v) > 2 ** 1023)
        raise CorruptFile(f"{path}: the latency of architecture {k} is too large for a float: {_HINT}") from None


def _check_index(path: Path, obj: Any, space: Any) -> None:
    # The mapping proves the lists are in the official order: every entry is checked.
    official = space.index_map()
    if not isinstance(obj, dict) or len(obj) != len(official):
        got = f"{len(obj)} entries" if isinstance(obj, dict) else f"a {type(obj).__name__}"
        raise CorruptFile(f"{path} must map the {len(official)} architecture strings to their index, got {got}: "
                          f"{_HINT}")
    for arch, i in obj.items():
        if official.get(arch) != i or type(i) is not int:
            want = official.get(arch)
            raise CorruptFile(f"{path} maps {_shown(arch)} to {_shown(i)}, not to its official index "
                              f"{want if want is not None else '(not an architecture)'}: {_HINT}")


def import_help_latency(store: Store, path: Union[str, os.PathLike], dataset: str = DEFAULT_DATASET,
                        replace: bool = False, allow_missing: bool = False, new_dataset: bool = False) -> ImportBatch:
    """Import every device of HELP's ``nasbench201`` folder into ``store`` (one transaction).

    Rows go to nb201 / ``dataset`` (default cifar10) / protocol ``200ep``, epoch 0, seed -1,
    under the names of the module docstring, in ms. ``str_arch2idx.pt`` must map every
    official string to its official index. A stored value that agrees with HELP's to 8
    significant digits (HW-NAS-Bench's CSV tables print the same measurements so) is kept and
    counted in ``batch.kept_as_stored``. A missing, truncated or tampered file raises a one-line
    :class:`~zcdb.errors.CorruptFile` and the store is unchanged.
    """
    p = Path(path)
    if not p.is_dir():
        raise CorruptFile(f"{p} is not a folder: {_HINT}" if p.exists() else f"no such folder: {p}: {_HINT}")
    if not (p / "latency").is_dir() and (p / "nasbench201" / "latency").is_dir():
        p = p / "nasbench201"
    files = sorted((p / "latency").glob("*.pt")) if (p / "latency").is_dir() else []
    if not files:
        raise CorruptFile(f"{p} has no latency/*.pt files: {_HINT}")
    space = get_space(SPACE)
    n = space.require_size("HELP's latency tables")
    _check_index(p / "str_arch2idx.pt", load_pt(p / "str_arch2idx.pt"), space)
    specs = metric_names([f.stem for f in files])
    columns = {f.stem: _values(f, load_pt(f), n) for f in files}
    index = np.arange(n)
    options: dict[str, Any] = {"dataset": dataset}
    if allow_missing:
        options["allow_missing"] = True
    with store.importing(p, IMPORTER, options, replace=replace, allow_missing=allow_missing,
                         new_dataset=new_dataset) as batch:
        for stem, spec in specs.items():
            batch.declare_metric(spec.name, spec.higher_is_better, spec.unit, spec.description)
            batch.add_evaluations(SPACE, dataset, PROTOCOL, spec.name, 0, MEAN_SEED, index, columns[stem],
                                  where=lambda k, stem=stem: f"{p / 'latency' / stem}.pt: architecture {k}",
                                  agree_digits=hw_nas_bench.AGREE_DIGITS)
    return batch
