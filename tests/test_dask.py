"""The Dask paths (`--scheduler`) of tabulate, proxies compute and study search equal local runs.

One two-worker `LocalCluster` on loopback serves the whole module: its worker processes
import torch and zcdb once, not once per test.
"""

from __future__ import annotations

import numpy as np
import pytest

import zcdb
from zcdb.proxies import stored as runs
from zcdb.spaces import nb201
from zcdb.study import search_study
from zcdb.tabular.tabulate import tabulate

from .test_proxy_store import LABELS
from .test_study_search import _csv, _fill
from .test_tabulate import TINY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:  # any free port
        yield cluster.scheduler_address


def test_tabulate_on_a_cluster_equals_a_local_run(scheduler, store, tmp_path):
    other = zcdb.open(tmp_path / "dask.db")
    rep = tabulate(other, "nb201", "digits", TINY, archs="3", seeds=[0, 1], scheduler=scheduler, progress=False)
    assert rep.trained == 6
    tabulate(store, "nb201", "digits", TINY, archs="3", seeds=[0, 1], progress=False)
    for m in ("test_acc", "val_acc", "train_loss", "test_loss"):
        for seed in (0, 1):
            a = store.benchmark("nb201", "digits").values(m, epoch=2, seed=seed)
            b = other.benchmark("nb201", "digits").values(m, epoch=2, seed=seed)
            assert np.array_equal(a, b, equal_nan=True)


def test_proxies_on_a_cluster_store_what_a_local_run_stores(scheduler, tmp_path):
    archs = [int(a) for a in nb201.sample(3, seed=2)]
    names = ["params", "synflow", "nwot"]
    local, remote = zcdb.open(tmp_path / "l.db"), zcdb.open(tmp_path / "d.db")
    runs.compute_and_store(local, "nb201", "digits", names, archs, workers=1, progress=False)
    rep = runs.compute_and_store(remote, "nb201", "digits", names, archs, scheduler=scheduler, progress=False)
    assert rep.computed == 3
    again = runs.compute_and_store(remote, "nb201", "digits", names, archs, scheduler=scheduler, progress=False)
    assert (again.computed, again.skipped) == (0, 3)
    for p in names:
        label = LABELS.get(p, "none")
        a = dict(zip(*local.proxy_scores("nb201", "digits", p, 0, 64, label)[:2]))
        b = dict(zip(*remote.proxy_scores("nb201", "digits", p, 0, 64, label)[:2]))
        assert a == b and len(a) == 3


def test_study_on_a_cluster_equals_a_local_study(scheduler, tmp_path):
    a, b = zcdb.open(tmp_path / "a.db"), zcdb.open(tmp_path / "b.db")
    _fill(a)
    _fill(b)
    local = search_study(a, "random,rea", "all", "0-4", 10)
    remote = search_study(b, "random,rea", "all", "0-4", 10, scheduler=scheduler)
    assert remote.runs_computed == 2 * 3 * 5
    assert _csv(local, tmp_path / "l") == _csv(remote, tmp_path / "r")
