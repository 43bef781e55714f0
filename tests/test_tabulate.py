"""`zcdb tabulate`: deterministic training, resumability, aliases, Dask == local, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

import zcdb
from zcdb.cli import main
from zcdb.errors import ZcdbError
from zcdb.spaces import nb201
from zcdb.tabular.protocols import PROTOCOLS
from zcdb.tabular.tabulate import CURVE_METRICS, select_archs, tabulate, train_arch

from .conftest import dump

# The real digits-v1 recipe, shrunk (2 epochs, C=4) so a test trains in well under a second.
TINY = dataclasses.replace(PROTOCOLS["digits-v1"], name="digits-tiny-test",
                           network=(("C", 4), ("N", 1)), epochs=2)
ARCHS = [nb201.index_of("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"),
         nb201.index_of("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|"), 3]


def _curves_equal(a, b):
    return all(np.array_equal(a.curves[m], b.curves[m]) for m in CURVE_METRICS if m != "train_time")


def test_training_is_deterministic_and_seed_dependent():
    r1 = train_arch(ARCHS[0], 0, TINY)
    r2 = train_arch(ARCHS[0], 0, TINY)
    r3 = train_arch(ARCHS[0], 1, TINY)
    assert _curves_equal(r1, r2)
    assert not _curves_equal(r1, r3)
    assert set(r1.curves) == set(CURVE_METRICS) and r1.curves["test_acc"].shape == (2,)
    assert 0 <= r1.curves["test_acc"].min() and r1.curves["test_acc"].max() <= 100
    assert np.all(np.diff(r1.curves["train_time"]) > 0)
    # Accuracies are counts over the 450 test images.
    k = r1.curves["test_acc"] * 450 / 100
    assert np.allclose(k, np.round(k))


def test_training_does_not_touch_global_torch_state():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    train_arch(ARCHS[1], 0, TINY)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_tabulate_stores_curves_and_resumes(file_store, tmp_path):
    f = tmp_path / "archs.txt"
    f.write_text("\n".join(nb201.string_of(a) for a in ARCHS) + "\n")
    rep = tabulate(file_store, "nb201", "digits", TINY, archs=str(f), seeds=[0], limit=2, progress=False)
    assert (rep.trained, rep.skipped) == (2, 0)
    rep = tabulate(file_store, "nb201", "digits", TINY, archs=str(f), seeds=[0], progress=False)
    assert (rep.trained, rep.skipped) == (1, 2)
    before = dump(file_store)
    rep = tabulate(file_store, "nb201", "digits", TINY, archs=str(f), seeds=[0], progress=False)
    assert (rep.trained, rep.skipped) == (0, 3) and dump(file_store) == before
    bench = file_store.benchmark("nb201", "digits")
    assert bench.protocol == "digits-tiny-test"
    assert bench.epochs("val_acc") == [1, 2] and bench.epochs("params") == [0]
    direct = train_arch(ARCHS[2], 0, TINY)
    assert bench.query(ARCHS[2], "test_acc", epoch=1) == direct.curves["test_acc"][0]
    assert bench.protocol_description()["C"] == 4
    assert np.isnan(bench.values("test_acc")).sum() == nb201.NUM_ARCHS - 3


def test_unique_records_aliases(store, monkeypatch):
    # Train only the first two classes' representatives (limit), and check the others are answered.
    rep = tabulate(store, "nb201", "digits", TINY, archs="unique", seeds=[0], limit=2, progress=False)
    reps = nb201.canonical_representatives()
    assert rep.aliases == nb201.NUM_ARCHS - 6466
    bench = store.benchmark("nb201", "digits")
    alias, target = bench.aliases()
    assert alias.size == rep.aliases and np.array_equal(target, reps[alias])
    v = bench.values("test_acc")
    trained = np.unique(reps)[:2]
    members = np.flatnonzero(np.isin(reps, trained))
    assert members.size > 2 and np.all(v[members] == v[reps[members]])
    assert (~np.isnan(v)).sum() == members.size


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(protocol="nope"), ZcdbError, "unknown protocol 'nope': known protocols are digits-v1"),
    (dict(dataset="cifar10"), ZcdbError, "trains nb201 on digits, not nb201 on cifar10"),
    (dict(archs="/no/such/file"), ZcdbError, "use all, unique"),
    (dict(scheduler="tcp://127.0.0.1:9"), ZcdbError, "cannot reach the Dask scheduler"),
])
def test_bad_input_changes_nothing(store, kwargs, exc, match, monkeypatch):
    monkeypatch.setenv("ZCDB_SCHEDULER_TIMEOUT", "1")  # nothing listens on port 9: fail fast
    before = dump(store)
    args = dict(space="nb201", dataset="digits", protocol=TINY, archs="2", seeds=[0], progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        tabulate(store, **args)
    assert dump(store) == before


def test_cli_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ZCDB_SCHEDULER_TIMEOUT", "1")
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "t.db"), "tabulate", "--dataset", "digits",
                                  "--protocol", "nope"])
    assert r.exit_code == 2 and "unknown protocol" in r.output
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "t.db"), "tabulate", "--dataset", "digits",
                                  "--protocol", "digits-v1", "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output


def test_select_archs():
    assert select_archs("nb201", "all")[0].size == nb201.NUM_ARCHS
    u, rep = select_archs("nb201", "unique")
    assert u.size == 6466 and rep.shape == (nb201.NUM_ARCHS,)
    assert np.array_equal(select_archs("nb201", "5")[0], np.sort(nb201.sample(5, seed=0)))


def test_local_workers_equal_single_process(store, tmp_path):
    other = zcdb.open(tmp_path / "w.db")
    tabulate(store, "nb201", "digits", TINY, archs="3", seeds=[0], workers=1, progress=False)
    tabulate(other, "nb201", "digits", TINY, archs="3", seeds=[0], workers=2, progress=False)
    for m in ("test_acc", "val_loss", "train_loss"):
        a = store.benchmark("nb201", "digits").values(m, epoch=2)
        b = other.benchmark("nb201", "digits").values(m, epoch=2)
        assert np.array_equal(a, b, equal_nan=True)
