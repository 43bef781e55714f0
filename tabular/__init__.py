"""Importers: each turns one foreign format into store rows, in one transaction.

Every importer is a function ``import_<format>(store, path, ..., replace=False) -> ImportBatch``
listed by :func:`importers`; the CLI's ``zcdb import <name>`` calls it. Importers are
idempotent (re-importing changes nothing), atomic (an error leaves the store as it
was), strict (a malformed row fails the whole import, naming the file and line) and
recorded in the store's provenance table.
"""

from __future__ import annotations

from typing import Callable


def importers() -> dict[str, Callable]:
    """Format name -> importer function (the registry; imported on call, not at package import)."""
    from .builtin import import_builtin
    from .csv_table import import_csv
    from .help_latency import import_help_latency
    from .hw_nas_bench import import_hw_nas_bench
    from .nas_bench_macro import import_nas_bench_macro
    from .nasbench import import_nasbench_tfrecord, import_nasbench_vis
    from .naslib_zc import import_naslib_zc
    from .nats_sss import import_nats_sss
    from .nats_tss import import_nats_tss
    from .nb201_pth import import_nb201_pth
    from .nb201_robustness import import_nb201_robustness

    return {
        "csv": import_csv,
        "naslib-zc": import_naslib_zc,
        "nb201-pth": import_nb201_pth,
        "nats-tss": import_nats_tss,
        "nats-sss": import_nats_sss,
        "hw-nas-bench": import_hw_nas_bench,
        "help-latency": import_help_latency,
        "nb201-robustness": import_nb201_robustness,
        "nas-bench-macro": import_nas_bench_macro,
        "nasbench-tfrecord": import_nasbench_tfrecord,
        "nasbench-vis": import_nasbench_vis,
        "builtin": import_builtin,
    }
