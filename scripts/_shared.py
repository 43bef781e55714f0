"""Helpers shared by the scripts (not part of the package): timing, running a zcdb command in-process,
and the NB201 tables of ../shared/data."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Smallest wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_zcdb(db: Path, *args: str, digits: int = 1) -> None:
    """Run one `zcdb` command on store ``db`` in-process, echoing it and its wall time (``digits``
    decimals); exit with its status if it fails."""
    from zcdb.cli import main

    print(f"$ zcdb {' '.join(shlex.quote(a) for a in args)}", flush=True)
    t = time.perf_counter()
    try:
        main.main(["--db", str(db), *args], prog_name="zcdb", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            sys.exit(exc.code)
    print(f"[{time.perf_counter() - t:.{digits}f} s]", flush=True)


def import_nb201_tables(store: Any, data: Path) -> None:
    """Import the shared NB201 test (200 epochs) and validation accuracy CSVs for the three datasets."""
    from zcdb.tabular.csv_table import import_csv

    import_csv(store, data / "nb201" / "nats_tss_test_accuracy_200ep.csv", "nb201", "ArchitectureString",
               {"CIFAR10TestAccuracy200Epochs": ("cifar10", "test_acc"),
                "CIFAR100TestAccuracy200Epochs": ("cifar100", "test_acc"),
                "ImageNetTestAccuracy200Epochs": ("ImageNet16-120", "test_acc")}, epoch=200)
    import_csv(store, data / "nb201" / "naslib_val_accuracy_200ep.csv", "nb201", "arch",
               {"cifar10": ("cifar10", "val_acc"), "cifar100": ("cifar100", "val_acc"),
                "ImageNet16-120": ("ImageNet16-120", "val_acc")}, epoch=200)


def build_synthetic_nb101(path: Path, seed: int = 0) -> float:
    """A full-size synthetic NAS-Bench-101 store at ``path`` (the real file is not in shared/):
    for all 423,624 cells, ``val_acc`` at 4, 12, 36 and 108 epochs (seeds 0, 1, 2 at 108, as the
    official file has three trainings), ``test_acc`` at 108 (seeds 0-2), ``train_time`` at the
    four budgets (seed 0), ``params`` (the exact counts). Accuracies are made up from the
    params and noise, in percent. Returns the seconds it took."""
    import numpy as np

    import zcdb
    from zcdb.spaces import get_space

    t = time.perf_counter()
    sp = get_space("nb101")
    n = sp.size
    params, _ = sp.cost_table("cifar10")
    rng = np.random.default_rng(seed)
    quality = 0.6 * np.log(params / params.min()) / np.log(params.max() / params.min()) + 0.4 * rng.random(n)
    idx = np.arange(n)
    with zcdb.open(path) as store, store.importing("synthetic-nb101", "synthetic", {"seed": seed}) as batch:
        for e in (4, 12, 36, 108):
            ceiling = 60 + 35 * (1 - np.exp(-e / 20))
            seeds = (0, 1, 2) if e == 108 else (0,)
            for s in seeds:
                acc = np.clip(ceiling * (0.7 + 0.3 * quality) + rng.normal(0, 0.5, n), 0, 100)
                batch.add_evaluations("nb101", "cifar10", "nasbench", "val_acc", e, s, idx, acc)
                if e == 108:
                    batch.add_evaluations("nb101", "cifar10", "nasbench", "test_acc", e, s, idx,
                                          np.clip(acc - 0.6 + rng.normal(0, 0.3, n), 0, 100))
            batch.add_evaluations("nb101", "cifar10", "nasbench", "train_time", e, 0, idx,
                                  e * (3.0 + 40.0 * params / params.max()))
        batch.add_evaluations("nb101", "cifar10", "nasbench", "params", 0, -1, idx, params)
    return time.perf_counter() - t
