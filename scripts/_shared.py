"""Helpers shared by the scripts (not part of the package): timing and the NB201 tables of ../shared/data."""

from __future__ import annotations

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
