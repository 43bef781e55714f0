"""Your own proxy (issue 17): ``extra=`` in the Python API and ``--proxy-module`` on the command line.

The user's module is written into ``tmp_path`` and put on ``sys.path``; its proxies are
computed on NAS-Bench-201 networks for digits, stored like the built-ins, evaluated and
read as surrogate features.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap

import numpy as np
import pytest

import zcdb
from zcdb.proxies import REGISTRY, build_seeded, compute_proxies, stored as runs, user_proxy
from zcdb.proxies.engine import space_builder
from zcdb.spaces import nb201

from .conftest import dump, run_cli as run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODULE = "zcdb_test_user_proxies"
SOURCE = '''
import torch
from zcdb.proxies import ProxySpec, user_proxy


def weight_sq(model, batch, seed):
    """Sum of squared weights (data-free)."""
    return float(sum((p.detach() ** 2).sum() for p in model.parameters()))


def batch_mean(model, batch, seed):
    """Reads the images (stored with the dataset:split label); a 0-d tensor is a number too."""
    return batch[0].mean() * sum(p.numel() for p in model.parameters())


def broken(model, batch, seed):
    raise RuntimeError("boom")


def not_a_number(model, batch, seed):
    return "high"


WEIGHT_SQ = user_proxy("weight_sq", weight_sq, data="none")
CLASH = ProxySpec("params", weight_sq, "user", "none", "mine")
LOWER = ProxySpec("lower", weight_sq, "user", "none", "mine", higher_is_better=False)
NOT_A_PROXY = 42
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    import importlib

    mod = importlib.import_module(MODULE)
    yield mod
    sys.modules.pop(MODULE, None)


def weight_sq_of(arch: int) -> float:
    net = build_seeded(space_builder("nb201"), arch, "digits", 0)
    return float(sum((p.detach() ** 2).sum() for p in net.parameters()))


def test_cli_stores_evaluates_and_features_read_a_user_proxy(tmp_path, user_module):
    db = tmp_path / "p.db"
    archs = [int(a) for a in nb201.sample(3, seed=0)]
    with zcdb.open(db) as s, s.importing("synthetic labels", "test") as imp:  # a benchmark to evaluate on
        imp.add_evaluations("nb201", "digits", "synth", "test_acc", 12, -1, archs, [50.0, 70.0, 60.0])
    args = ["proxies", "compute", "--dataset", "digits", "--proxies", "params", "--proxy-module",
            f"{MODULE}:WEIGHT_SQ", "--proxy-module", f"{MODULE}:batch_mean", "--sample", "3", "--quiet", "--json"]
    r = run(db, *args)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert (rep["computed"], rep["proxies"]) == (3, ["params", "weight_sq", "batch_mean"])
    with zcdb.open(db) as s:
        q = "SELECT proxy, arch_index, value, seed, batch_size, data FROM proxy_scores WHERE proxy != 'params'"
        rows = {(p, a): (v, sd, bs, d) for p, a, v, sd, bs, d in s.conn.execute(q)}
        assert set(rows) == {(p, a) for p in ("weight_sq", "batch_mean") for a in archs}
        for a in archs:
            assert rows[("weight_sq", a)] == pytest.approx((weight_sq_of(a), 0, 64, "none"))
            assert rows[("batch_mean", a)][1:] == (0, 64, "digits:train")
        before = dump(s)
    assert "weight_sq" not in REGISTRY
    r = run(db, *args)  # resumable like the built-ins: nothing left to do
    assert r.exit_code == 0, r.output
    assert (json.loads(r.output)["skipped"], json.loads(r.output)["computed"]) == (3, 0)
    with zcdb.open(db) as s:
        assert dump(s)[:8] == before[:8]
    r = run(db, "proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--bootstrap", "0", "--json")
    assert r.exit_code == 0, r.output
    assert {d["proxy"] for d in json.loads(r.output)} == {"params", "weight_sq", "batch_mean"}
    from zcdb.surrogates.features import feature_matrix

    with zcdb.open(db) as s:
        fm = feature_matrix(s.benchmark("nb201", "digits"), "zc:weight_sq")
        assert list(fm.columns) == ["zc:weight_sq"]
        assert fm.rows(archs)[:, 0] == pytest.approx([weight_sq_of(a) for a in archs])


def test_python_api_takes_extra_specs_and_leaves_the_registry_alone(store, user_module):
    archs = [int(a) for a in nb201.sample(2, seed=1)]
    spec = user_proxy("wsq", user_module.weight_sq, data="none")
    got = compute_proxies(archs, ["params"], "digits", extra=[spec])
    assert [(g.proxy, g.arch) for g in got] == [(p, a) for a in archs for p in ("params", "wsq")]
    assert [g.score for g in got if g.proxy == "wsq"] == pytest.approx([weight_sq_of(a) for a in archs])
    assert "wsq" not in REGISTRY
    rep = runs.compute_and_store(store, "nb201", "digits", ["wsq"], archs, progress=False,
                                 extra=[spec, user_proxy("bad", user_module.broken)])
    assert (rep.computed, rep.proxies, rep.nan_scores) == (2, ["wsq", "bad"], 2)
    idx, values, _ = store.proxy_scores("nb201", "digits", "wsq", 0, 64, "none")
    assert dict(zip(idx.tolist(), values.tolist())) == pytest.approx({a: weight_sq_of(a) for a in archs})
    # a raising proxy is NaN with its reason, as a built-in whose numerics fail
    reasons = store.conn.execute("SELECT value, reason, data FROM proxy_scores WHERE proxy = 'bad'").fetchall()
    assert reasons == [(None, "RuntimeError: boom", "digits:train")] * 2


@pytest.mark.parametrize("ref,match", [
    ("no_such_module_zz:f", "no module named 'no_such_module_zz'"),
    (f"{MODULE}:missing", f"module {MODULE} has no 'missing'"),
    (f"{MODULE}:NOT_A_PROXY", "NOT_A_PROXY is a int, not a proxy"),
    (f"{MODULE}:CLASH", "has the name of a built-in proxy"),
    (f"{MODULE}:LOWER", "return the negated score instead"),
    (MODULE, "write MODULE:NAME"),
    (f"{MODULE}:not_a_number", "returned str 'high', not a number"),
])
def test_bad_proxy_modules_fail_in_one_line_and_store_nothing(tmp_path, user_module, ref, match):
    db = tmp_path / "p.db"
    with zcdb.open(db) as s:
        before = dump(s)
    r = run(db, "proxies", "compute", "--dataset", "digits", "--proxies", "params", "--proxy-module", ref,
            "--sample", "1", "--quiet")
    assert r.exit_code == 2 and match in r.output, r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1
    with zcdb.open(db) as s:
        assert dump(s) == before


def test_extra_must_be_proxy_specs(user_module):
    with pytest.raises(zcdb.ZcdbError, match="wrap your function"):
        compute_proxies([0], [], "digits", extra=[user_module.weight_sq])
    with pytest.raises(zcdb.ZcdbError, match="given twice"):
        compute_proxies([0], [], "digits", extra=[user_module.WEIGHT_SQ, user_module.WEIGHT_SQ])
    assert math.isnan(compute_proxies([0], [], "digits", extra=[user_proxy("b", user_module.broken, data="none")])[0]
                      .score)
    np.testing.assert_equal(len(REGISTRY), len(set(REGISTRY)))
