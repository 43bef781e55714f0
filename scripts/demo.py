"""`make demo`: a short tour of zcdb, each step printing its command and how long it took.

Until zcdb ships its own benchmark, the tour imports the NAS-Bench-201 tables from
``$ZCDB_SHARED_DATA`` (default ``../shared/data``); with no data it says what to import
and exits with status 1.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

from zcdb.cli import main

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ZCDB_SHARED_DATA") or REPO.parent / "shared" / "data")
DB = REPO / "out" / "demo.db"


def zcdb(*args: str) -> None:
    """Run one `zcdb` command in-process, echoing it and its wall time."""
    cmd = ["--db", str(DB), *args]
    print(f"\n$ zcdb {' '.join(shlex.quote(a) for a in args)}", flush=True)
    t = time.perf_counter()
    try:
        main.main(cmd, prog_name="zcdb", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            sys.exit(exc.code)
    print(f"[{time.perf_counter() - t:.2f} s]", flush=True)


def main_() -> int:
    test_csv = DATA / "nb201" / "nats_tss_test_accuracy_200ep.csv"
    val_csv = DATA / "nb201" / "naslib_val_accuracy_200ep.csv"
    zc_json = DATA / "naslib-zc" / "zc_nasbench201_cifar10.json"
    hw_csv = DATA / "hw-nas-bench" / "hw_nas_bench_cifar10.csv"
    if not test_csv.exists():
        print(
            "zcdb demo: no benchmark data found.\n"
            f"  Looked for {test_csv} (set ZCDB_SHARED_DATA to the folder holding nb201/).\n"
            "  Import a NAS-Bench-201 table yourself, e.g.:\n"
            "    zcdb import csv nats_tss_test_accuracy_200ep.csv --space nb201 \\\n"
            "        --arch-column ArchitectureString --column CIFAR10TestAccuracy200Epochs=cifar10:test_acc --epoch 200\n"
            "  or the official file: zcdb import nb201-pth NAS-Bench-201-v1_1-096897.pth",
            file=sys.stderr,
        )
        return 1
    DB.parent.mkdir(exist_ok=True)
    start = time.perf_counter()
    print(f"zcdb demo: store {DB}, data from {DATA}")
    zcdb("import", "csv", str(test_csv), "--space", "nb201", "--arch-column", "ArchitectureString",
         "--column", "CIFAR10TestAccuracy200Epochs=cifar10:test_acc",
         "--column", "CIFAR100TestAccuracy200Epochs=cifar100:test_acc",
         "--column", "ImageNetTestAccuracy200Epochs=ImageNet16-120:test_acc", "--epoch", "200")
    if val_csv.exists():
        zcdb("import", "csv", str(val_csv), "--space", "nb201", "--arch-column", "arch",
             "--column", "cifar10=cifar10:val_acc", "--column", "cifar100=cifar100:val_acc",
             "--column", "ImageNet16-120=ImageNet16-120:val_acc", "--epoch", "200")
    if hw_csv.exists():
        zcdb("import", "csv", str(hw_csv), "--space", "nb201", "--arch-column", "arch",
             "--column", "edgegpu_latency=cifar10:latency_edgegpu", "--column", "pixel3_latency=cifar10:latency_pixel3")
    if zc_json.exists():
        zcdb("import", "naslib-zc", str(zc_json))
    zcdb("info")
    zcdb("query", "--dataset", "cifar10", "--metric", "test_acc",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    zcdb("top", "--dataset", "cifar10", "--metric", "test_acc", "-k", "5")
    if val_csv.exists():
        zcdb("top", "--dataset", "cifar10", "--metric", "val_acc", "-k", "5")
    print(f"\ndemo done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
