"""NATS-Bench size search space, fast-mode archive (``NATS-sss-v1_0-50262-simple/``).

The layout of the topology archive (:mod:`zcdb.tabular._nats_fast`): ``meta.pickle.pbz2``
lists the 32,768 official strings (``"8:8:40:32:40"``) in index order, and each
``{index:06d}.pickle.pbz2`` holds ``{"01": ArchResults, "12": ArchResults, "90": ArchResults}``
state dicts, one per schedule (``hp``: 1, 12 or 90 training epochs, each its own run with its
own cosine schedule). Seeds: 777 for hp 01 and 90, 777/888/999 for hp 12, for every dataset.
The records have the topology space's keys and evaluation sets (``docs/nats-sss-notes.md``).
"""

from __future__ import annotations

import os
from typing import Union

from zcdb.store import ImportBatch, Store

from ._nats_fast import FastModeFormat, import_fast_mode

IMPORTER = "nats-sss"
#: The archive: space nats-sss; schedule keys as NATS-Bench writes them, each its protocol.
FORMAT = FastModeFormat(
    importer=IMPORTER, space="nats-sss", schedules={"01": "01ep", "12": "12ep", "90": "90ep"},
    hint="pass the NATS-sss-v1_0-50262-simple directory (re-download it if a file is truncated)",
)


def import_nats_sss(store: Store, path: Union[str, os.PathLike], replace: bool = False,
                    final_only: bool = False, allow_missing: bool = False) -> ImportBatch:
    """Import a NATS-Bench size fast-mode directory (``NATS-sss-v1_0-50262-simple``) into ``store``.

    Rows of space ``nats-sss``, protocols ``01ep``, ``12ep`` and ``90ep`` (the files'
    schedules ``"01"``, ``"12"``, ``"90"``), datasets ``cifar10-valid``, ``cifar10``,
    ``cifar100``, ``ImageNet16-120``; per seed and epoch ``e + 1`` for the file's 0-based
    epoch ``e``, the metrics :func:`zcdb.tabular.nats_tss.import_nats_tss` stores, with the
    same evaluation sets: ``train_acc``, ``train_loss``, ``train_time`` (cumulative seconds,
    the API's ``train-all-time``), ``val_acc``/``val_loss`` (``x-valid``; cifar10's from
    cifar10-valid's ``x-valid``), ``test_acc``/``test_loss`` (``ori-test`` for cifar10-valid
    and cifar10, ``x-test`` for cifar100 and ImageNet16-120), ``valtest_acc``/``valtest_loss``
    (the ``ori-test`` of cifar100 and ImageNet16-120, the API's "valtest"), and the cumulative
    evaluation seconds ``val_time``, ``test_time``, ``valtest_time``. At epoch 0 and seed -1: ``params`` (millions), ``flops``
    (MFLOPs) and ``latency_gpu`` (ms; the files have seconds), combined over seeds as
    ``nats_bench``'s ``get_cost_info`` does (one seed for 01ep and 90ep).

    ``final_only``, ``replace``, ``allow_missing``, the restricted unpickler and the errors
    are those of :func:`~zcdb.tabular.nats_tss.import_nats_tss`: a truncated, malformed or
    foreign file raises :class:`~zcdb.errors.CorruptFile` naming the file and architecture,
    and the store is then unchanged.
    """
    return import_fast_mode(store, path, FORMAT, replace=replace, final_only=final_only,
                            allow_missing=allow_missing)
