"""Start-up time of the reading commands in a new process, and what they import.

    python scripts/bench_startup.py [--db STORE] [--repeat 5]

Builds a small store (NAS-Bench-201 digits, shipped) unless ``--db`` names one, then runs
``zcdb info``, ``query``, ``top``, ``arch`` and ``export`` each ``--repeat`` times as new
processes and prints the median wall time beside ``python -c "import numpy"`` (the floor
every command pays), and whether torch, pandas or scikit-learn were imported on the way.

Each is timed three ways, side by side: as this process's environment runs it, with a warm
bytecode cache (``PYTHONDONTWRITEBYTECODE`` unset, ``PYTHONPYCACHEPREFIX`` a temporary folder
filled by one untimed run), and as an installed copy runs (``pip install --no-deps --target``
of this checkout into a temporary folder, first on ``PYTHONPATH``: a regular package with
the ``.pyc`` files pip compiles, as a user's ``pip install zcdb`` gives; ``--no-installed``
skips it). An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as the sandbox this
was written in sets) compiles every zcdb module from source at every start, which alone costs
0.1-0.3 s; the editable install's path hook costs every start a few tens of milliseconds more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

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


def _time(argv: list[str], env: Optional[dict] = None) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-installed", dest="installed", action="store_false",
                    help="Skip the installed-copy column (it runs pip once, offline, into a temporary folder).")
    args = ap.parse_args()
    zcdb = str(Path(sys.executable).with_name("zcdb"))
    db = args.db
    if db is None:
        db = str(Path(tempfile.mkdtemp()) / "startup.db")
        subprocess.run([zcdb, "--db", db, "import", "builtin", "nb201-digits"], check=True, stdout=subprocess.DEVNULL)
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="zcdb-pycache-")
    envs: dict[str, Optional[dict]] = {"as run here": None, "bytecode cached": cached}
    installed_zcdb = None
    if args.installed:
        target = tempfile.mkdtemp(prefix="zcdb-installed-")
        root = Path(__file__).resolve().parents[1]
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", target, str(root)], check=True, stdout=subprocess.DEVNULL)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = target + os.pathsep + env.get("PYTHONPATH", "")
        envs["installed copy"] = env
        installed_zcdb = str(Path(target) / "bin" / "zcdb")
    print(f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} here; "
          f"median of {args.repeat} new processes, both modes interleaved")

    def median(argv: list[str]) -> dict[str, float]:
        _time(argv, cached)  # fills the cache
        runs: dict[str, list[float]] = {k: [] for k in envs}
        for _ in range(args.repeat):
            for k, env in envs.items():
                # the installed copy's own entry point (the same interpreter; zcdb from the copy)
                use = [sys.executable, installed_zcdb, *argv[1:]] if k == "installed copy" and argv[0] == zcdb else argv
                runs[k].append(_time(use, env))
        return {k: statistics.median(v) for k, v in runs.items()}

    floor = median([sys.executable, "-c", "import numpy"])
    print(f"{'':15s} " + "  ".join(f"{k:>16s}" for k in envs))
    print(f"{'import numpy':15s} " + "  ".join(f"{floor[k]:15.3f}s" for k in envs))
    for name, cmd in COMMANDS.items():
        t = median([zcdb, "--db", db, *cmd])
        probe = subprocess.run([sys.executable, "-c", _PROBE, "--db", db, *cmd], capture_output=True, text=True)
        heavy = next((line.split(" ", 1)[1] if " " in line else "" for line in probe.stderr.splitlines()
                      if line.startswith("HEAVY")), "?")
        print(f"{'zcdb ' + name:15s} " + "  ".join(f"{t[k]:15.3f}s" for k in envs) + f"  heavy imports: {heavy or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
