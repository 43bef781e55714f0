"""Start-up time of the reading commands in a new process, and what they import.

    python scripts/bench_startup.py [--db STORE] [--repeat 5]

Builds a small store (NAS-Bench-201 digits, shipped) unless ``--db`` names one, then runs
``zcdb info``, ``query``, ``top``, ``arch`` and ``export`` each ``--repeat`` times as new
processes and prints the median wall time beside ``python -c "import numpy"`` (the floor
every command pays), and whether torch, pandas or scikit-learn were imported on the way.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "info": ["info"],
    "query": ["query", "--dataset", "digits", "--metric", "test_acc", "123"],
    "top": ["top", "--dataset", "digits", "--metric", "test_acc", "-k", "3"],
    "arch": ["arch", "123"],
    "export": ["export", "--dataset", "digits", "--metrics", "test_acc"],
}
_PROBE = ("import sys, runpy; sys.argv = ['zcdb'] + sys.argv[1:]\n"
          "from zcdb.cli import main\n"
          "try:\n    main(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
          "print('HEAVY', ','.join(m for m in ('torch', 'pandas', 'sklearn') if m in sys.modules), file=sys.stderr)\n")


def _time(argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    zcdb = str(Path(sys.executable).with_name("zcdb"))
    db = args.db
    if db is None:
        db = str(Path(tempfile.mkdtemp()) / "startup.db")
        subprocess.run([zcdb, "--db", db, "import", "builtin", "nb201-digits"], check=True, stdout=subprocess.DEVNULL)
    floor = statistics.median(_time([sys.executable, "-c", "import numpy"]) for _ in range(args.repeat))
    print(f"python -c 'import numpy': {floor:.3f} s (median of {args.repeat})")
    for name, cmd in COMMANDS.items():
        t = statistics.median(_time([zcdb, "--db", db, *cmd]) for _ in range(args.repeat))
        probe = subprocess.run([sys.executable, "-c", _PROBE, "--db", db, *cmd], capture_output=True, text=True)
        heavy = next((line.split(" ", 1)[1] if " " in line else "" for line in probe.stderr.splitlines()
                      if line.startswith("HEAVY")), "?")
        print(f"zcdb {name:7s} {t:.3f} s  ({t / floor:.1f}x numpy's import)  heavy imports: {heavy or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
