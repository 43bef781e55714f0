"""Write zcdb's own generated tables from a store into package data (tabular/data/*.npz).

    python scripts/export_builtin.py out/digits.db            # the nb201-digits benchmark
"""

from __future__ import annotations

import sys
from pathlib import Path

import zcdb
from zcdb.tabular.builtin import BUILTINS, export_benchmark

REPO = Path(__file__).resolve().parent.parent


def main(db: str) -> None:
    store = zcdb.open(db)
    out = export_benchmark(store, "nb201", "digits", "digits-v1", REPO / "tabular" / "data" / BUILTINS["nb201-digits"].file)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1])
