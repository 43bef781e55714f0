"""Reproducible fault trials: kill -9 at random points, concurrent writers; a tried / handled / failed table.

    python scripts/faults.py [--seed 0] [--quick] [--only CATEGORY[,CATEGORY]] [--keep DIR]

Every category is one function in :data:`CATEGORIES` that runs its trials and returns
one :class:`Trial` each; a trial is *handled* when every check of it holds. The kills
(``SIGKILL`` of a real ``zcdb`` process after a seeded random share of its uninterrupted
wall time) check that no worker or resource tracker of the killed command outlives it by
more than 5 s, that the store passes ``PRAGMA integrity_check`` (and for an import, holds
all of it or none), and that a rerun exits 0 and leaves the store equal to an
uninterrupted run's (:func:`tests._procs.content`: rows with ids resolved, times left out).
The concurrent writers are separate processes on one store whose result must equal the
same commands run one after another. Needs only the repository (digits, shipped tables).
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from tests._procs import (  # noqa: E402
    content, copy_store, descendants, env, eof_within, kill_all, wait_gone, wait_until, zcdb,
)
from zcdb import open as zcdb_open  # noqa: E402

GRACE = 5.0  # seconds a killed command's workers get to exit


@dataclass
class Trial:
    """One trial: what was done and, when it was not handled, what went wrong."""

    what: str
    handled: bool
    note: str = ""


@dataclass
class Context:
    """What a category gets: a folder of its own, a seeded generator and how many trials to run."""

    work: Path
    rng: random.Random
    trials: int
    quick: bool


# --------------------------------------------------------------------------- helpers
def run(db: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    """``zcdb --db DB ARGS`` to completion (at most 10 minutes)."""
    return subprocess.run(zcdb(db, *args), capture_output=True, text=True, timeout=600, env=env(**extra_env))


def integrity(db: Path) -> str:
    c = sqlite3.connect(str(db))
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def synth_csv(path: Path, seed: int) -> Path:
    """A table of val_acc/test_acc for all 15,625 NAS-Bench-201 cells (an additive-free random landscape)."""
    n = 15625
    g = np.random.default_rng(seed)
    val = g.uniform(50, 90, n)
    test = val + g.normal(0, 1, n)
    path.write_text("index,val,test\n" + "".join(f"{i},{val[i]:.4f},{test[i]:.4f}\n" for i in range(n)))
    return path


def csv_import(path: Path, dataset: str) -> list[str]:
    return ["import", "csv", str(path), "--space", "nb201", "--arch-column", "index", "--column",
            f"val={dataset}:val_acc", "--column", f"test={dataset}:test_acc", "--epoch", "200", "--new-dataset"]


def _watch(db: Path, args: list[str]) -> tuple[float, Optional[float]]:
    """Run ``zcdb ARGS`` to completion: its wall seconds and when its first child appeared (or None)."""
    with tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(zcdb(db, *args), stdout=subprocess.DEVNULL, stderr=err, text=True)
        first = None
        while proc.poll() is None:
            if first is None and descendants(proc.pid):
                first = time.perf_counter() - t
            time.sleep(0.05)
        seconds = time.perf_counter() - t
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"zcdb {' '.join(args)} failed: {err.read().strip()}")
    return seconds, first


def kill_trials(ctx: Context, name: str, args: list[str], base: Optional[Path] = None, atomic: bool = False,
                measured: tuple[str, ...] = ()) -> list[Trial]:
    """Kill ``zcdb ARGS`` at seeded random points, rerun it, and compare with an uninterrupted run.

    A command that starts workers is killed while they run (a random share of the time
    they ran in the uninterrupted run, after they appear); others at a random share of
    their wall time. ``measured``: metrics whose values are wall times (not compared).
    """
    if base is None:
        base = ctx.work / "empty.db"
        zcdb_open(base).close()
    ref = ctx.work / "reference.db"
    copy_store(base, ref)
    seconds, first_child = _watch(ref, args)
    want, before = content(ref, measured), content(base, measured)
    out = []
    for k in range(ctx.trials):
        db = ctx.work / f"trial{k}.db"
        copy_store(base, db)
        share = ctx.rng.uniform(0.05, 0.9)
        proc = subprocess.Popen(zcdb(db, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t = time.perf_counter()
        if first_child is not None:
            wait_until(lambda: descendants(proc.pid) or proc.poll() is not None, 120, step=0.02)
            time.sleep(share * (seconds - first_child))
            what = f"{name}, killed {share * (seconds - first_child):.1f} s after its workers started"
        else:
            time.sleep(share * seconds)
            what = f"{name}, killed at {share * seconds:.1f} s of {seconds:.1f} s"
        children = descendants(proc.pid)
        finished = proc.poll() is not None
        took = time.perf_counter() - t
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        problems = []
        if not (eof_within(proc.stdout, GRACE) and eof_within(proc.stderr, GRACE)):
            problems.append(f"its output pipe stayed open {GRACE:.0f} s after the kill")
        left = wait_gone(children, GRACE)
        if left:
            problems.append(f"{len(left)} of {len(children)} children alive {GRACE:.0f} s after the kill")
            kill_all(left)
        check = integrity(db)
        if check != "ok":
            problems.append(f"integrity_check: {check}")
        elif atomic and content(db, measured) not in (want, before):
            problems.append("the killed import left part of its rows")
        r = run(db, *args)
        if r.returncode != 0:
            problems.append(f"rerun exit {r.returncode}: {r.stderr.strip()[-200:]}")
        elif content(db, measured) != want:
            problems.append("rerun store differs from an uninterrupted run's")
        what += " (it had already finished)" if finished else f" ({took:.1f} s in, {len(children)} children)"
        out.append(Trial(what, not problems, "; ".join(problems)))
    return out


# --------------------------------------------------------------------------- categories
def kill_import(ctx: Context) -> list[Trial]:
    """kill -9 during `zcdb import builtin nb201-digits` (590,000 rows, one transaction)."""
    return kill_trials(ctx, "import builtin nb201-digits", ["import", "builtin", "nb201-digits"], atomic=True)


def kill_proxies(ctx: Context) -> list[Trial]:
    """kill -9 during `zcdb proxies compute --workers 2` on digits."""
    return kill_trials(ctx, "proxies compute --workers 2",
                       ["proxies", "compute", "--dataset", "digits", "--proxies", "params,synflow,nwot",
                        "--sample", "4", "--workers", "2", "--quiet"])


def kill_tabulate(ctx: Context) -> list[Trial]:
    """kill -9 during `zcdb tabulate --workers 2` (digits-v1, two architectures)."""
    return kill_trials(ctx, "tabulate --workers 2",
                       ["tabulate", "--dataset", "digits", "--protocol", "digits-v1", "--archs", "2",
                        "--workers", "2", "--quiet"], measured=("train_time",))


def kill_search(ctx: Context) -> list[Trial]:
    """kill -9 during `zcdb search run --workers 2` (BANANAS, 12 seeds) on a synthetic table."""
    base = ctx.work / "base.db"
    r = run(base, *csv_import(synth_csv(ctx.work / "synth.csv", 0), "synth"))
    assert r.returncode == 0, r.stderr
    return kill_trials(ctx, "search run --workers 2",
                       ["search", "run", "--algo", "bananas", "--dataset", "synth", "--seeds", "0-11",
                        "--budget-queries", "60", "--workers", "2"], base=base)


def _together(db: Path, commands: list[list[str]], rng: random.Random, hold: float = 0.0) -> list[str]:
    """Start ``commands`` at once (seeded starts within 0.5 s), optionally behind a write lock held
    for ``hold`` seconds; return what went wrong."""
    holder = None
    if hold:
        holder = sqlite3.connect(str(db), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    procs = []
    try:
        for c in commands:
            procs.append((c, subprocess.Popen(zcdb(db, *c), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True)))
            time.sleep(rng.uniform(0, 0.5 / len(commands)))
        time.sleep(hold)
    finally:
        if holder is not None:
            holder.execute("COMMIT")
            holder.close()
    problems = []
    for c, p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0 or "Traceback" in err:
            problems.append(f"`{' '.join(c[:3])}` exit {p.returncode}: {err.strip().splitlines()[-1:]}")
    return problems


def _in_turn(db: Path, commands: list[list[str]]) -> None:
    for c in commands:
        r = run(db, *c)
        if r.returncode != 0:
            raise RuntimeError(f"zcdb {' '.join(c)} failed alone: {r.stderr.strip()}")


def concurrent_writers(ctx: Context) -> list[Trial]:
    """Separate writer processes on one store: the result equals the same commands in turn."""
    w = ctx.work
    tables = [synth_csv(w / f"t{k}.csv", 10 + k) for k in range(4)]
    base = w / "base.db"
    _in_turn(base, [csv_import(synth_csv(w / "synth.csv", 0), "synth")])
    search = ["search", "run", "--algo", "rea", "--dataset", "synth", "--seeds", "0-7", "--budget-queries", "80",
              "--workers", "2"]
    scenarios = [  # (what, commands, start from the base store, seconds a test connection holds the lock)
        ("4 imports into a new store", [csv_import(t, f"d{k}") for k, t in enumerate(tables)], False, 0.0),
        ("import beside proxies compute", [["import", "builtin", "nb201-digits"],
                                           ["proxies", "compute", "--dataset", "digits", "--proxies", "params,synflow",
                                            "--sample", "3", "--quiet"]], False, 0.0),
        ("2 identical search runs behind a 6 s lock", [search, search], True, 6.0),
        ("3 imports behind an 8 s lock (> SQLite's 5 s default)",
         [csv_import(t, f"d{k}") for k, t in enumerate(tables[:3])], True, 8.0),
    ]
    out = []
    for what, commands, from_base, hold in scenarios:
        ref = w / "in_turn.db"
        ref.unlink(missing_ok=True)
        if from_base:
            copy_store(base, ref)
        _in_turn(ref, commands)
        want = content(ref)
        for k in range(ctx.trials if not hold else 1):
            db = w / f"together{k}.db"
            for f in w.glob(f"together{k}.db*"):
                f.unlink()
            if from_base:
                copy_store(base, db)
            problems = _together(db, commands, ctx.rng, hold)
            if not problems and content(db) != want:
                problems.append("the store differs from the commands run in turn")
            out.append(Trial(what, not problems, "; ".join(problems)))
    out.append(_lock_timeout(w, base))
    return out


def _lock_timeout(w: Path, base: Path) -> Trial:
    """A writer that outwaits ZCDB_LOCK_TIMEOUT gets one line naming the holder, exit 2, and writes nothing."""
    db = w / "locked.db"
    copy_store(base, db)
    code = ("import sys, time, zcdb; s = zcdb.open(sys.argv[1]); t = s._transaction(); t.__enter__(); "
            "print('holding', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        before = content(db)
        r = run(db, *csv_import(w / "t0.csv", "late"), ZCDB_LOCK_TIMEOUT="1")
    finally:
        kill_all([holder.pid])
        holder.wait()
    lines = r.stderr.strip().splitlines()
    problems = []
    if r.returncode != 2 or len(lines) != 1:
        problems.append(f"exit {r.returncode}, {len(lines)} lines on stderr")
    elif f"pid {holder.pid}" not in lines[0]:
        problems.append(f"the line does not name the holder: {lines[0]}")
    if content(db) != before:
        problems.append("the refused writer changed the store")
    return Trial("lock held past ZCDB_LOCK_TIMEOUT", not problems, "; ".join(problems))


def _surrogate_store(work: Path) -> tuple[Path, Path]:
    """A store with a small synthetic benchmark and a surrogate file fitted on it."""
    from zcdb.spaces import get_space
    from zcdb.surrogates import fit

    db = work / "s.db"
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(get_space("nb201").size, 200, replace=False))
    with zcdb_open(db) as store:
        with store.importing("synthetic", "faults", new_dataset=True) as imp:
            imp.add_evaluations("nb201", "synth", "synth-v1", "test_acc", 12, -1, idx, rng.uniform(10, 90, idx.size))
        path = fit(store.benchmark("nb201", "synth"), "test_acc", "onehot", idx[:60]).save(work / "m.zcs")
    return db, path


def _plant(kind: str, d: Path, blob: bytes, zcs: Optional[Path]) -> list[str]:
    """Write ``blob`` where a command of ``kind`` reads a pickle; the command's arguments."""
    import bz2

    from tests._gadgets import rewrite_models

    if kind == "nb201-pth":
        (d / "NAS-Bench-201-v1_1-096897.pth").write_bytes(blob)
        return ["import", "nb201-pth", str(d / "NAS-Bench-201-v1_1-096897.pth")]
    if kind in ("nats-tss", "nats-sss"):
        root = d / ("NATS-tss-v1_0-3ffb9-simple" if kind == "nats-tss" else "NATS-sss-v1_0-50262-simple")
        root.mkdir()
        (root / "meta.pickle.pbz2").write_bytes(bz2.compress(blob))
        return ["import", kind, str(root)]
    if kind == "hw-nas-bench":
        (d / "HW-NAS-Bench-v1_0.pickle").write_bytes(blob)
        return ["import", "hw-nas-bench", str(d / "HW-NAS-Bench-v1_0.pickle")]
    if kind == "cifar10 batch":
        (d / "cifar-10-batches-py").mkdir()
        (d / "cifar-10-batches-py" / "test_batch").write_bytes(blob)
        return ["proxies", "compute", "--dataset", "cifar10", "--data", str(d / "cifar-10-batches-py"), "--split",
                "test", "--proxies", "nwot", "--sample", "1", "--quiet"]
    assert kind == "surrogate .zcs" and zcs is not None
    out = rewrite_models(zcs, blob, d / "m.zcs")  # an attacker recomputes the checksum
    return ["surrogate", "eval", str(out)]


def malicious_files(ctx: Context) -> list[Trial]:
    """Every pickle gadget of tests/_gadgets.py in every file zcdb unpickles, through the real command:
    handled when it exits 2 with one line, no traceback, nothing created, the store unchanged."""
    from tests._gadgets import gadgets

    kinds = ["nb201-pth", "nats-tss", "nats-sss", "hw-nas-bench", "cifar10 batch", "surrogate .zcs"]
    db, zcs = _surrogate_store(ctx.work)
    names = list(gadgets(Path("x")))
    if ctx.quick:
        names = ctx.rng.sample(names, 4)
    out = []
    for kind in kinds:
        for k, name in enumerate(names):
            d = ctx.work / f"{kind.split()[0]}-{k}"
            d.mkdir()
            marker = d / "pwned.pth"
            store = d / "store.db"
            shutil.copy(db, store)
            before = content(store)
            r = run(store, *_plant(kind, d, gadgets(marker)[name], zcs))
            lines = r.stderr.strip().splitlines()
            problems = []
            if r.returncode != 2:
                problems.append(f"exit {r.returncode}")
            if "Traceback" in r.stderr or len(lines) != 1:
                problems.append(f"{len(lines)} lines on stderr")
            if marker.exists() or any(p.name != marker.name and p.suffix == ".pth" and "NAS-Bench" not in p.name
                                      for p in d.iterdir()):
                problems.append("the gadget created a file")
            if content(store) != before:
                problems.append("the store changed")
            out.append(Trial(f"{kind}: {name}", not problems, "; ".join(problems)))
    return out


#: The categories, in the order of the table. Each takes a :class:`Context` and returns its trials;
#: a new category is one more function and one more entry here.
CATEGORIES: dict[str, Callable[[Context], list[Trial]]] = {
    "kill -9 import": kill_import,
    "kill -9 proxies compute": kill_proxies,
    "kill -9 tabulate": kill_tabulate,
    "kill -9 search run": kill_search,
    "concurrent writers": concurrent_writers,
    "malicious files": malicious_files,
}
#: Trials per category: (default, --quick).
TRIALS = {"kill -9 import": (3, 1), "kill -9 proxies compute": (3, 1), "kill -9 tabulate": (2, 1),
          "kill -9 search run": (4, 2), "concurrent writers": (2, 1), "malicious files": (1, 1)}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill points and start offsets")
    ap.add_argument("--quick", action="store_true", help="fewer trials (about half the time)")
    ap.add_argument("--only", help="comma-separated categories to run (default: all)")
    ap.add_argument("--keep", type=Path, help="keep the stores in this folder (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    names = list(CATEGORIES) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown:
        ap.error(f"unknown categories {unknown}: choose from {list(CATEGORIES)}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="zcdb-faults-"))
    rows = []
    start = time.perf_counter()
    try:
        for i, name in enumerate(names):
            work = root / name.replace(" ", "_").replace("-", "")
            work.mkdir(parents=True, exist_ok=True)
            # one generator per category, so that a category's kill points do not depend on --only
            ctx = Context(work, random.Random(args.seed * 1000 + list(CATEGORIES).index(name)),
                          TRIALS.get(name, (3, 1))[args.quick], args.quick)
            t = time.perf_counter()
            trials = CATEGORIES[name](ctx)
            for tr in trials:
                print(f"  [{'ok' if tr.handled else 'FAILED'}] {name}: {tr.what}" + (f": {tr.note}" if tr.note else ""),
                      flush=True)
            rows.append((name, len(trials), sum(t.handled for t in trials), time.perf_counter() - t))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nfaults.py --seed {args.seed}{' --quick' if args.quick else ''}: "
          f"{time.perf_counter() - start:.0f} s\n")
    print("| category | tried | handled | failed |")
    print("|---|---|---|---|")
    for name, tried, handled, _ in rows:
        print(f"| {name} | {tried} | {handled} | {tried - handled} |")
    total, ok = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"| all | {total} | {ok} | {total - ok} |")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
