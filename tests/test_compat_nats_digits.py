"""NATS-Bench's topology API on zcdb's own digits benchmark (protocol digits-v1, one member per class).

A small table in the shipped table's layout is built here (two seeds, 12 epochs of train/val/test
accuracy and loss, training time, params/FLOPs, aliases); expected answers are computed from the
rows written, as the official API defines them (means over seeds in seed order, 0-based iepoch).
The slow test runs ``scripts/nats_shim_demo.py`` on the shipped table itself.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zcdb
import zcdb.compat.nats as compat
from zcdb.spaces import nb201

REPO = Path(__file__).resolve().parent.parent
ARCHS = np.array([3, 40, 500, 7000, 12000])
ALIAS, REP = 9, 500  # architecture 9 answered by 500's rows
EPOCHS = range(1, 13)
SEEDS = (0, 1)


def values(metric: str, epoch: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([sum(map(ord, metric)), epoch, seed])
    if metric.endswith("acc"):
        return 50 + 4 * epoch * (1 + np.arange(ARCHS.size) / 10) / 12 * 10 / 4 + rng.uniform(0, 1, ARCHS.size)
    if metric.endswith("loss"):
        return 2.0 / epoch + rng.uniform(0, 0.1, ARCHS.size)
    return 0.1 * epoch * (1 + np.arange(ARCHS.size))  # train_time: seconds up to the epoch


@pytest.fixture(scope="module")
def api():
    s = zcdb.open(":memory:")
    with s.importing("digits-like", "test") as b:
        for seed in SEEDS:
            for e in EPOCHS:
                for m in ("train_acc", "val_acc", "test_acc", "train_loss", "val_loss", "test_loss", "train_time"):
                    b.add_evaluations("nb201", "digits", "digits-v1", m, e, seed, ARCHS, values(m, e, seed))
        b.add_evaluations("nb201", "digits", "digits-v1", "params", 0, -1, ARCHS, 0.01 * (1 + np.arange(5)))
        b.add_evaluations("nb201", "digits", "digits-v1", "flops", 0, -1, ARCHS, 0.5 * (1 + np.arange(5)))
        b.add_aliases("nb201", "digits", "digits-v1", [ALIAS], [REP])
    a = compat.create(s, "tss", fast_mode=True, verbose=False)
    yield a
    s.close()


def mean(metric, epoch, k):
    return sum(values(metric, epoch, s)[k] for s in SEEDS) / len(SEEDS)


def test_get_more_info_and_aliases(api):
    assert api.avaliable_hps == ["12"] and len(api) == nb201.NUM_ARCHS
    k = 2
    info = api.get_more_info(int(ARCHS[k]), "digits", hp="12", is_random=False)
    assert set(info) == {f"{g}-{f}" for g in ("train", "valid", "test") for f in ("loss", "accuracy")} | {
        "train-per-time", "train-all-time"}
    assert info["valid-accuracy"] == mean("val_acc", 12, k) and info["test-loss"] == mean("test_loss", 12, k)
    assert info["train-all-time"] == mean("train_time", 12, k)
    assert info["train-per-time"] == mean("train_time", 12, k) / 12
    assert api.get_more_info(ALIAS, "digits", hp="12", is_random=False) == info  # the class representative's
    early = api.get_more_info(int(ARCHS[0]), "digits", iepoch=2, hp="12", is_random=1)
    assert early["valid-accuracy"] == values("val_acc", 3, 1)[0]
    cost = api.get_cost_info(int(ARCHS[k]), "digits", hp="12")
    assert (cost["flops"], cost["params"]) == (1.5, 0.03) and "latency" in cost.missing


def test_simulate_train_eval_pays_training_time(api):
    api.reset_time()
    random.seed(3)
    acc, latency, cost, total = api.simulate_train_eval(int(ARCHS[1]), "digits", hp="12")
    random.seed(3)
    seed = random.choice(list(SEEDS))
    assert acc == values("val_acc", 12, seed)[1] and latency is None
    assert cost == values("train_time", 12, seed)[1] == total == api.used_time  # digits times training only


def test_find_best_and_net_config(api):
    seed_means = np.array([mean("val_acc", 12, k) for k in range(ARCHS.size)])
    best = int(np.argmax(seed_means))
    assert api.find_best("digits", "valid", hp="12") == (int(ARCHS[best]) if ARCHS[best] != REP or ALIAS > REP
                                                         else ALIAS, seed_means[best])
    test_means = np.array([mean("test_acc", 12, k) for k in range(ARCHS.size)])
    under = 0.5 * (1 + np.arange(5)) <= 1.0
    got = api.find_best("digits", "test", flop_max=1.0, hp="12")
    assert got[1] == test_means[under].max()
    cfg = api.get_net_config(3, "digits")
    assert (cfg["name"], cfg["C"], cfg["N"], cfg["num_classes"]) == ("infer.tiny", 8, 1, 10)
    with pytest.raises(compat.InvalidQuery, match="trained 12 epochs \\(protocol digits-v1\\): use hp='12'"):
        api.get_more_info(3, "digits", hp="200")


@pytest.mark.slow
def test_the_demo_script_runs_on_the_shipped_table(tmp_path):
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "nats_shim_demo.py"), "--db", str(tmp_path / "d.db")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "find_best and get_more_info agree" in res.stdout and "random search:" in res.stdout
