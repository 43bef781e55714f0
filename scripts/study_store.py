"""Build the store the README's cross-benchmark study reads: every tabular benchmark zcdb can hold from shared data.

    .venv/bin/python scripts/study_store.py [--data ../shared/data] [--db out/study-all.db]

Imports, through the `zcdb import` commands (each idempotent: a rerun changes nothing):
NAS-Bench-201 test and validation accuracy (200 epochs) on its three datasets, HW-NAS-Bench's
latencies (the multi-objective study's second objective), NAS-Bench-Suite-Zero's released
NAS-Bench-201 CIFAR-10 scores and zcdb's own (`nb201-cifar10-proxies`); NAS-Bench-Macro;
TransNAS-Bench-101 micro and macro, 7 tasks each, with the released zen, synflow, epe_nas and
fisher scores; the NAS-Bench-101 samples of nasbench-vis (20,001 cells, 4 budgets) with
NAS-Bench-Suite-Zero's zen of 10,250 cells; NAS-Bench-Suite-Zero's 500 trained NAS-Bench-301
genotypes with their released scores (a stored sample: proxy studies only; search on NAS-Bench-301
goes through its served surrogate).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _shared import run_zcdb  # noqa: E402  (scripts/ is on sys.path)

REPO = Path(__file__).resolve().parent.parent


def zcdb(db: Path, *args: str) -> None:
    """Run one `zcdb` command in-process, echoing it and its wall time; stop if it fails."""
    run_zcdb(db, *args)


def build(db: Path, data: Path) -> None:
    """Import everything listed in the module docstring into ``db``."""
    nb201 = data / "nb201"
    zcdb(db, "import", "csv", str(nb201 / "nats_tss_test_accuracy_200ep.csv"), "--space", "nb201",
         "--arch-column", "ArchitectureString", "--epoch", "200",
         "--column", "CIFAR10TestAccuracy200Epochs=cifar10:test_acc",
         "--column", "CIFAR100TestAccuracy200Epochs=cifar100:test_acc",
         "--column", "ImageNetTestAccuracy200Epochs=ImageNet16-120:test_acc")
    zcdb(db, "import", "csv", str(nb201 / "naslib_val_accuracy_200ep.csv"), "--space", "nb201", "--arch-column",
         "arch", "--epoch", "200", "--column", "cifar10=cifar10:val_acc", "--column", "cifar100=cifar100:val_acc",
         "--column", "ImageNet16-120=ImageNet16-120:val_acc")
    zcdb(db, "import", "hw-nas-bench", str(data / "hw-nas-bench"))
    zcdb(db, "import", "naslib-zc", str(data / "naslib-zc" / "zc_nasbench201_cifar10.json"))
    zcdb(db, "import", "builtin", "nb201-cifar10-proxies")
    zcdb(db, "import", "nas-bench-macro", str(data / "nas-bench-macro" / "nas-bench-macro_cifar10.json"))
    for f in sorted((data / "transnas-bench-101").glob("*.zip")):
        zcdb(db, "import", "naslib-zc", str(f))
    nb101 = data / "nb101"
    zcdb(db, "import", "nasbench-vis", str(nb101 / "nasbench-vis_data-20k.json"))
    zcdb(db, "import", "nasbench-vis", str(nb101 / "nasbench-vis_data-1k.json"))
    # not zc_nasbench101.json: its val_accuracy of 292 cells would be the val_acc series at 108 epochs
    # (seed -1, which reads prefer over seed 0), leaving 17 cells with every epoch for a search
    zcdb(db, "import", "naslib-zc", str(nb101 / "nb101_zen.zip"))
    # NAS-Bench-301: the 500 trained genotypes of NAS-Bench-Suite-Zero with their released scores (a stored
    # sample of a space that cannot be enumerated: proxy studies only), and zen of 11,221 other genotypes
    nb301 = data / "nb301"
    zcdb(db, "import", "naslib-zc", str(nb301 / "zc_nasbench301.json"), "--space", "nb301")
    zcdb(db, "import", "naslib-zc", str(nb301 / "nb301_zen.zip"))
    zcdb(db, "info")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--db", default=str(REPO / "out" / "study-all.db"))
    args = ap.parse_args()
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    build(db, Path(args.data))
    print(f"store {db} built in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
