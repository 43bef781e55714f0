"""Write zcdb's own generated tables from a store into package data (tabular/data/*.npz).

    python scripts/export_builtin.py out/digits.db                      # the nb201-digits benchmark
    python scripts/export_builtin.py --proxies out/proxies.db cifar10   # nb201-cifar10-proxies
    python scripts/export_builtin.py --proxies out/digits-proxies.db digits
"""

from __future__ import annotations

import argparse
from pathlib import Path

import zcdb
from zcdb.tabular.builtin import BUILTINS, export_benchmark, export_proxies

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tabular" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxies", action="store_true", help="export proxy scores instead of the digits benchmark")
    ap.add_argument("db")
    ap.add_argument("dataset", nargs="?", default="digits")
    args = ap.parse_args()
    store = zcdb.open(args.db)
    if args.proxies:
        name = f"nb201-{args.dataset}-proxies"
        print(export_proxies(store, "nb201", args.dataset, DATA / BUILTINS[name].file))
    else:
        print(export_benchmark(store, "nb201", "digits", "digits-v1", DATA / BUILTINS["nb201-digits"].file))


if __name__ == "__main__":
    main()
