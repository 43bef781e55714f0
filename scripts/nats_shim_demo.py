"""NATS-Bench's API on a zcdb store made from the data zcdb ships: a script written for `nats_bench`, unchanged
but for the constructor line, run on the digits benchmark (``zcdb import builtin nb201-digits``).

    .venv/bin/python scripts/nats_shim_demo.py [--db out/nats-shim.db]

Everything below ``official_script`` is code as written against the official API (the
NATS-Bench README's calls: len / [] / query_index_by_arch, get_more_info, get_cost_info,
simulate_train_eval with the simulated clock, find_best, get_net_config); only the
dataset name ("digits": NAS-Bench-201 cells trained 12 epochs on scikit-learn's digits,
the one benchmark zcdb ships) and ``hp="12"`` are the digits table's. The last lines check
the shim's answers against the store's own API. No file outside the repository is read.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def official_script(api, dataset: str = "digits", hp: str = "12") -> dict:
    """NATS-Bench usage as its README shows it (``api = create(..., "tss", fast_mode=True)``)."""
    print(f"{len(api)} architectures; schedules {api.avaliable_hps}; search space {api.search_space_name}")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    index = api.query_index_by_arch(arch)
    print(f"query_index_by_arch -> {index}; api[{index}] == arch: {api[index] == arch}")
    info = api.get_more_info(index, dataset, hp=hp, is_random=False)  # the mean over its seeds
    print("get_more_info:", {k: round(v, 3) for k, v in info.items() if isinstance(v, float)})
    early = api.get_more_info(index, dataset, iepoch=2, hp=hp, is_random=False)  # after 3 epochs
    print(f"after 3 epochs: valid-accuracy {early['valid-accuracy']:.2f}, "
          f"train-all-time {early['train-all-time']:.2f} s")
    cost = api.get_cost_info(index, dataset, hp=hp)
    print("get_cost_info:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in cost.items()})
    # random search on the simulated clock, as in NATS-Bench's README
    random.seed(0)
    api.reset_time()
    best, best_acc, history = -1, -1.0, []
    while api.used_time < 2000:
        candidate = api.random()
        acc, latency, time_cost, total = api.simulate_train_eval(candidate, dataset, hp=hp)
        history.append(candidate)
        if acc > best_acc:
            best, best_acc = candidate, acc
    test = api.get_more_info(best, dataset, hp=hp, is_random=False)["test-accuracy"]
    print(f"random search: {len(history)} simulated trainings in {api.used_time:.0f} s, best {best} "
          f"(valid {best_acc:.2f}, test {test:.2f})")
    winner = api.find_best(dataset, "valid", hp=hp)
    print(f"find_best('{dataset}', 'valid') -> {winner}")
    small = api.find_best(dataset, "valid", flop_max=0.2, hp=hp)
    print(f"find_best(..., flop_max=0.2) -> {small}")
    print("get_net_config:", api.get_net_config(winner[0], dataset))
    return dict(index=index, info=info, winner=winner)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(REPO / "out" / "nats-shim.db"), help="store to (re)build")
    args = ap.parse_args(argv)
    import numpy as np

    import zcdb
    import zcdb.compat.nats
    from zcdb.tabular.builtin import import_builtin

    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with zcdb.open(db) as store:
        import_builtin(store, "nb201-digits")  # idempotent: a second run changes nothing
    print(f"store {db}: zcdb import builtin nb201-digits ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    # api = nats_bench.create("NATS-tss-v1_0-3ffb9-simple", "tss", fast_mode=True, verbose=False)
    api = zcdb.compat.nats.create(str(db), "tss", fast_mode=True, verbose=False)
    out = official_script(api)
    # the same numbers through zcdb's own API
    bench = api.store.benchmark("nb201", "digits")
    seed_means = np.nanmean(np.stack([bench.values("val_acc", 12, seed=s) for s in bench.seeds("val_acc", 12)
                                      if s != -1]), axis=0)
    assert out["winner"][0] == int(np.nanargmax(seed_means))
    assert abs(out["info"]["test-accuracy"] - bench.query(out["index"], "test_acc")) < 1e-9
    print(f"checked against store.benchmark('nb201', 'digits'): find_best and get_more_info agree "
          f"({time.perf_counter() - t0:.2f} s)")
    api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
