"""Query speed of zcdb against the official NAS-Bench-201 API on the same table, in one run.

    .venv/bin/python scripts/bench_query.py [--data ../shared/data] [--queries 200000]
    .venv/bin/python scripts/bench_query.py --space macro     # NAS-Bench-Macro (zcdb alone: no official API)
    .venv/bin/python scripts/bench_query.py --space nb101     # NAS-Bench-101, a synthetic full-size table

Builds a store from the shared NB201 CSVs and, from the same table, a full
15,625-architecture ``.pth`` in the official format (final-epoch records, built with
``nas_201_api``'s own classes), then measures side by side: opening + first query,
single-architecture query throughput, and a vectorized read of all 15,625 values.
Targets: open + first query <= 0.2 s; >= 100,000 queries/s; values() <= 1 ms.
"""

from __future__ import annotations

from _shared import best_of, build_synthetic_nb101, import_nb201_tables  # noqa: E402  (scripts/ is on sys.path)

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ZCDB_SHARED_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--queries", type=int, default=200_000)
    ap.add_argument("--api-queries", type=int, default=20_000)
    ap.add_argument("--space", choices=["nb201", "macro", "nb101"], default="nb201")
    ap.add_argument("--db", default=None, help="nb101: a synthetic store already built (else one is built, ~2 min).")
    args = ap.parse_args()
    if args.space == "macro":
        return bench_macro(args)
    if args.space == "nb101":
        return bench_nb101(args)

    import zcdb
    from zcdb.spaces import nb201
    from zcdb.tabular.fixtures import write_nb201_pth

    data = Path(args.data)
    tmp = Path(tempfile.mkdtemp(prefix="zcdb-bench-"))
    db = tmp / "nb201.db"
    pth = tmp / "NAS-Bench-201-bench.pth"

    # ------------------------------------------------------------------ build both
    t = time.perf_counter()
    store = zcdb.open(db)
    import_nb201_tables(store, data)
    store.close()
    build_db = time.perf_counter() - t

    store = zcdb.open(db)
    b = store.benchmark("nb201", "cifar10")
    test10 = b.values("test_acc")
    table = {"cifar10": {"test_acc": test10},
             "cifar10-valid": {"val_acc": b.values("val_acc")},
             "cifar100": {"test_acc": store.benchmark("nb201", "cifar100").values("test_acc"),
                          "val_acc": store.benchmark("nb201", "cifar100").values("val_acc")},
             "ImageNet16-120": {"test_acc": store.benchmark("nb201", "ImageNet16-120").values("test_acc"),
                                "val_acc": store.benchmark("nb201", "ImageNet16-120").values("val_acc")}}
    store.close()
    t = time.perf_counter()
    write_nb201_pth(pth, table, curves=False)
    build_pth = time.perf_counter() - t
    print(f"built store in {build_db:.2f} s ({db.stat().st_size / 1e6:.1f} MB), "
          f"official-format .pth in {build_pth:.1f} s ({pth.stat().st_size / 1e6:.0f} MB)\n")

    rng = np.random.default_rng(0)
    idx = rng.integers(0, nb201.NUM_ARCHS, size=args.queries)
    strings = [nb201.string_of(int(i)) for i in idx]

    # ------------------------------------------------------------------ zcdb
    arch0 = strings[0]
    t = time.perf_counter()
    store = zcdb.open(db)
    bench = store.benchmark("nb201", "cifar10")
    first = bench.query(arch0, "test_acc")
    z_open = time.perf_counter() - t
    cold = subprocess.run(
        [sys.executable, "-c",
         "import time; t = time.perf_counter(); import zcdb; "
         f"s = zcdb.open({str(db)!r}); v = s.benchmark('nb201', 'cifar10').query({arch0!r}, 'test_acc'); "
         "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
    z_cold = float(cold.stdout.strip())

    def z_loop() -> None:
        q = bench.query
        for s in strings:
            q(s, "test_acc")

    z_single = best_of(z_loop, 3) / len(strings)

    def z_loop_idx() -> None:
        q = bench.query
        for i in idx.tolist():
            q(i, "test_acc")

    z_single_idx = best_of(z_loop_idx, 3) / len(idx)
    z_values = best_of(lambda: bench.values("test_acc"), 1000)
    fresh = zcdb.open(db).benchmark("nb201", "cifar10")
    t = time.perf_counter()
    fresh.values("val_acc")
    z_values_first = time.perf_counter() - t

    # ------------------------------------------------------------------ nas_201_api
    from nas_201_api import NASBench201API

    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        api = NASBench201API(str(pth), verbose=False)
        i0 = api.query_index_by_arch(arch0)
        a_first = api.get_more_info(i0, "cifar10", hp="200", is_random=False)["test-accuracy"]
    a_open = time.perf_counter() - t
    assert abs(a_first - first) < 1e-6, (a_first, first)
    n_api = min(args.api_queries, len(strings))

    def a_loop() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            for s in strings[:n_api]:
                api.get_more_info(api.query_index_by_arch(s), "cifar10", hp="200", is_random=False)["test-accuracy"]

    a_single = best_of(a_loop, 1) / n_api

    def a_values() -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            return np.array([api.get_more_info(i, "cifar10", hp="200", is_random=False)["test-accuracy"]
                             for i in range(nb201.NUM_ARCHS)])

    t = time.perf_counter()
    api_all = a_values()
    a_vals = time.perf_counter() - t
    assert np.allclose(api_all, test10), "the official API and zcdb disagree on the table"

    # ------------------------------------------------------------------ report
    rows = [
        ("open + first query (in process)", f"{z_open * 1e3:.1f} ms", f"{a_open * 1e3:.0f} ms", a_open / z_open,
         "<= 200 ms"),
        ("open + first query (new process, incl. imports)", f"{z_cold * 1e3:.0f} ms", "", float("nan"), ""),
        ("single query by string", f"{1 / z_single:,.0f} /s", f"{1 / a_single:,.0f} /s", a_single / z_single,
         ">= 100,000 /s"),
        ("single query by index", f"{1 / z_single_idx:,.0f} /s", "", float("nan"), ""),
        ("values() of 15,625 (cached)", f"{z_values * 1e6:.1f} us", f"{a_vals * 1e3:.0f} ms", a_vals / z_values,
         "<= 1 ms"),
        ("values() of 15,625 (first, from SQLite)", f"{z_values_first * 1e3:.1f} ms", "", float("nan"), ""),
    ]
    print(f"{'measure':50s} {'zcdb':>16s} {'nas_201_api':>14s} {'ratio':>10s}  target")
    for name, z, a, ratio, target in rows:
        r = f"{ratio:,.0f}x" if ratio == ratio else ""
        print(f"{name:50s} {z:>16s} {a:>14s} {r:>10s}  {target}")
    print(f"\n(nas_201_api single queries: {n_api:,} of them; zcdb: {len(strings):,}; both on table {pth.name})")


def bench_macro(args: argparse.Namespace) -> None:
    """Open + first query, single queries by code and index, values(), on NAS-Bench-Macro."""
    import zcdb
    from zcdb.spaces import get_space
    from zcdb.tabular.nas_bench_macro import import_nas_bench_macro

    tmp = Path(tempfile.mkdtemp(prefix="zcdb-bench-"))
    db = tmp / "macro.db"
    t = time.perf_counter()
    with zcdb.open(db) as store:
        import_nas_bench_macro(store, Path(args.data) / "nas-bench-macro" / "nas-bench-macro_cifar10.json")
    build = time.perf_counter() - t
    sp = get_space("macro")
    idx = np.random.default_rng(0).integers(0, sp.size, size=args.queries)
    codes = [sp.string_of(int(i)) for i in idx]
    t = time.perf_counter()
    store = zcdb.open(db)
    bench = store.benchmark("macro", "cifar10")
    bench.query(codes[0], "test_acc")
    z_open = time.perf_counter() - t
    cold = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import zcdb; "
         f"s = zcdb.open({str(db)!r}); v = s.benchmark('macro', 'cifar10').query({codes[0]!r}, 'test_acc'); "
         "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)

    def by_code() -> None:
        q = bench.query
        for c in codes:
            q(c, "test_acc")

    def by_index() -> None:
        q = bench.query
        for i in idx.tolist():
            q(i, "test_acc")

    single = best_of(by_code, 3) / len(codes)
    single_idx = best_of(by_index, 3) / len(idx)
    values = best_of(lambda: bench.values("test_acc"), 1000)
    print(f"built the macro store in {build:.2f} s ({db.stat().st_size / 1e6:.1f} MB)\n")
    rows = [("open + first query (in process)", f"{z_open * 1e3:.1f} ms", "<= 200 ms"),
            ("open + first query (new process, incl. imports)", f"{float(cold.stdout) * 1e3:.0f} ms", ""),
            ("single query by code", f"{1 / single:,.0f} /s", ">= 1,000,000 /s"),
            ("single query by index", f"{1 / single_idx:,.0f} /s", ""),
            (f"values() of {sp.size:,} (cached)", f"{values * 1e6:.1f} us", "")]
    print(f"{'measure':50s} {'zcdb':>16s}  target")
    for name, z, target in rows:
        print(f"{name:50s} {z:>16s}  {target}")


def bench_nb101(args: argparse.Namespace) -> None:
    """Open + first query, single queries by hash and index, values(), on a synthetic 423,624-cell table."""
    import zcdb
    from zcdb.spaces import get_space

    db = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="zcdb-bench-")) / "nb101.db"
    build = build_synthetic_nb101(db) if not db.exists() else float("nan")
    sp = get_space("nb101")
    idx = np.random.default_rng(0).integers(0, sp.size, size=args.queries)
    hashes = [sp.string_of(int(i)) for i in idx]
    code = ("import time; t = time.perf_counter(); import zcdb; "
            f"s = zcdb.open({str(db)!r}); v = s.benchmark('nb101', 'cifar10').query({hashes[0]!r}, 'val_acc'); "
            "print(time.perf_counter() - t)")
    cold = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(3))
    warm = []
    for _ in range(3):  # a fresh store object each time (the space's table is loaded once per process)
        t = time.perf_counter()
        bench = zcdb.open(db).benchmark("nb101", "cifar10")
        bench.query(hashes[0], "val_acc")
        warm.append(time.perf_counter() - t)

    def by_hash() -> None:
        q = bench.query
        for h in hashes:
            q(h, "val_acc")

    def by_index() -> None:
        q = bench.query
        for i in idx.tolist():
            q(i, "val_acc")

    single = best_of(by_hash, 3) / len(hashes)
    single_idx = best_of(by_index, 3) / len(idx)
    values = best_of(lambda: bench.values("val_acc"), 1000)
    firsts = {}
    for label, kw in (("one seed", dict(epoch=108, seed=0)), ("mean of 3 seeds", dict(epoch=108))):
        fresh = zcdb.open(db).benchmark("nb101", "cifar10")
        t = time.perf_counter()
        fresh.values("val_acc", **kw)
        firsts[label] = time.perf_counter() - t
    print(f"synthetic nb101 store: {db.stat().st_size / 1e6:.0f} MB, built in {build:.1f} s\n")
    rows = [("open + first query (in process, loading zcdb's nb101 table)", f"{warm[0] * 1e3:.1f} ms", "<= 200 ms"),
            ("open + first query (in process, table loaded)", f"{min(warm[1:]) * 1e3:.1f} ms", ""),
            ("open + first query (new process, incl. imports)", f"{cold * 1e3:.0f} ms", "<= 200 ms"),
            ("single query by hash", f"{1 / single:,.0f} /s", ""),
            ("single query by index", f"{1 / single_idx:,.0f} /s", ""),
            (f"values() of {sp.size:,} (cached)", f"{values * 1e6:.1f} us", "<= 5 ms"),
            (f"values() of {sp.size:,}, one seed (first, from SQLite)", f"{firsts['one seed'] * 1e3:.1f} ms", ""),
            (f"values() of {sp.size:,}, mean of 3 seeds (first)", f"{firsts['mean of 3 seeds'] * 1e3:.1f} ms", "")]
    print(f"{'measure':56s} {'zcdb':>16s}  target")
    for name, z, target in rows:
        print(f"{name:56s} {z:>16s}  {target}")


if __name__ == "__main__":
    main()
