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

import os
from typing import Union

from zcdb.store import ImportBatch, Store

from ._nats_fast import FastModeFormat, import_fast_mode

IMPORTER = "nats-tss"
#: The archive: NAS-Bench-201's space; schedule keys "12" and "200" (epochs) as protocols 12ep and 200ep.
FORMAT = FastModeFormat(
    importer=IMPORTER, space="nb201", schedules={"12": "12ep", "200": "200ep"},
    hint="pass the NATS-tss-v1_0-3ffb9-simple directory (re-download it if a file is truncated)",
)


def import_nats_tss(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                    final_only: bool = False, allow_missing: bool = False) -> ImportBatch:
    """Import a NATS-Bench topology fast-mode directory (``NATS-tss-v1_0-3ffb9-simple``) into ``store``.

    The same rows as :func:`zcdb.tabular.nb201_pth.import_nb201_pth` (space ``nb201``; the
    four datasets; every seed and epoch of ``train_acc``, ``train_loss``, ``train_time``,
    ``val_acc``/``val_loss``/``val_time``, ``test_acc``/``test_loss``/``test_time``, and
    ``valtest_acc``/``valtest_loss``/``valtest_time`` for cifar100 and ImageNet16-120;
    cifar10's ``val_*`` from cifar10-valid's ``x-valid``, as NASLib and the NAS-Bench-201
    search protocol do; ``params``, ``flops``, ``latency_gpu`` in ms at epoch 0 and seed -1), with protocols
    ``12ep`` and ``200ep`` for the files' schedules ``"12"`` and ``"200"`` (any other
    schedule key fails the import). params and FLOPs of
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
    return import_fast_mode(store, path, FORMAT, replace=replace, final_only=final_only,
                            allow_missing=allow_missing)
