"""`make demo`: a tour of zcdb on the benchmark it ships, each step printing its command and time.

Needs nothing but the repository: the NAS-Bench-201 space trained on scikit-learn's
digits (``zcdb import builtin nb201-digits``) is package data. Writes its store to
``out/demo.db`` (made afresh each time, so a store left by an older checkout, whose
shipped tables may differ, cannot stop the tour) and its figures to ``out/``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _shared import run_zcdb  # noqa: E402  (scripts/ is on sys.path)

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "out"
DB = OUT / "demo.db"


def zcdb(*args: str) -> None:
    """Run one `zcdb` command of the tour in-process, echoing it and its wall time; stop the tour if it fails."""
    print(flush=True)
    run_zcdb(DB, *args, digits=2)


def nats_api() -> None:
    """A script written for NATS-Bench's API, run on the same store (scripts/nats_shim_demo.py)."""
    import zcdb.compat.nats
    from nats_shim_demo import official_script

    print("\n$ python: code written for nats_bench, on this store (scripts/nats_shim_demo.py)", flush=True)
    t = time.perf_counter()
    # api = nats_bench.create("NATS-tss-v1_0-3ffb9-simple", "tss", fast_mode=True, verbose=False)
    with zcdb.compat.nats.create(str(DB), "tss", fast_mode=True, verbose=False) as api:
        official_script(api)
    print(f"[{time.perf_counter() - t:.2f} s]", flush=True)


def tour() -> int:
    """The demo steps."""
    from zcdb.tabular.builtin import BUILTINS, available

    present = {r["name"] for r in available() if r["present"]}
    if "nb201-digits" not in present:
        print("zcdb demo: this checkout lacks tabular/data/nb201-digits.npz; regenerate it with\n  "
              + BUILTINS["nb201-digits"].regenerate, file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    for leftover in (DB, DB.with_name(DB.name + "-wal"), DB.with_name(DB.name + "-shm")):
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    print(f"zcdb demo: store {DB}")
    zcdb("spaces")  # one line per search space zcdb holds
    zcdb("import", "builtin", "--list")
    zcdb("import", "builtin", "nb201-digits")
    if "nb201-digits-proxies" in present:
        zcdb("import", "builtin", "nb201-digits-proxies")
    zcdb("info")
    nats_api()
    zcdb("top", "--dataset", "digits", "--metric", "test_acc", "-k", "5")
    zcdb("query", "--dataset", "digits", "--metric", "val_acc", "--epoch", "3",
         "|skip_connect~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|")
    zcdb("cost", "--dataset", "cifar10",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    zcdb("cost", "--space", "macro", "--dataset", "cifar10", "02012100", "22212202")
    zcdb("cost", "--space", "nats-sss", "--dataset", "cifar100", "8:16:32:48:64", "64:64:64:64:64")
    if "nb201-digits-proxies" in present:
        zcdb("proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--plot", str(OUT / "demo-proxies.png"))
    # a surrogate: fit on 1,200 of the 6,466 trained architectures, scored on the rest
    features = "onehot,zc" if "nb201-digits-proxies" in present else "onehot"
    zcdb("surrogate", "fit", "--dataset", "digits", "--metric", "test_acc", "--features", features,
         "--n-train", "1200", "--seed", "0", "--out", str(OUT / "demo-digits.zcs"))
    # search in simulated training time (the table's train_time), Hyperband included; 50 seeds keep it short
    zcdb("search", "compare", "--dataset", "digits", "--algos", "random,rea,local,reinforce,bananas,sh,hyperband",
         "--budget-seconds", "2000", "--seeds", "0-49", "--out", str(OUT / "demo-search"))
    print(f"\ndemo done in {time.perf_counter() - start:.1f} s (figures in {OUT})")
    return 0


if __name__ == "__main__":
    sys.exit(tour())
