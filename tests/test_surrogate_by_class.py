"""Proxy features answered by isomorphism class (``zc_by_class``, ``--zc-by-class``).

The shipped digits tables: the benchmark answers all 15,625 NAS-Bench-201 architectures (one
training per class, the others aliases), its proxies score one member per class. Without
``zc_by_class`` a surrogate on proxy features has features for the 6,466 scored members only; with it,
every architecture takes its class's scored member's scores, and is predicted but never trained or
tested on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import zcdb
from zcdb.errors import ZcdbError
from zcdb.spaces import get_space, nb201
from zcdb.surrogates import feature_matrix, fit, load, pool_of, split
from zcdb.tabular.builtin import import_builtin

from .conftest import run_cli as run

DATASET = "digits"
SPEC = "onehot,zc:params+nwot"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("byclass") / "d.db"
    with zcdb.open(path) as s:
        for name in ("nb201-digits", "nb201-digits-proxies"):
            import_builtin(s, name)
    return path


@pytest.fixture(scope="module")
def bench(db):
    s = zcdb.open(db)
    yield s.benchmark("nb201", DATASET)
    s.close()


def test_features_by_class_copy_the_scored_member_of_each_class(bench):
    own = feature_matrix(bench, SPEC)
    whole = feature_matrix(bench, SPEC, zc_by_class=True)
    assert own.columns == whole.columns
    zc = [k for k, c in enumerate(own.columns) if c.startswith("zc:")]
    scored = own.known()[:, zc].all(axis=1)
    assert 6000 < scored.sum() < 6500 < nb201.NUM_ARCHS
    assert own.answered is None and own.own().all()
    # every architecture is answered: the table scores a member of every class
    assert whole.coverage().all()
    np.testing.assert_array_equal(whole.answered, ~scored)
    np.testing.assert_array_equal(whole.own(), scored)
    # an answered architecture has the zc values of its class's smallest scored member, its own encoding
    rep = nb201.canonical_representatives()
    scored_idx = np.flatnonzero(scored)
    first = {}
    for i in scored_idx[::-1]:
        first[int(rep[i])] = int(i)
    src = np.array([first[int(r)] for r in rep])
    np.testing.assert_array_equal(whole.X[:, zc], own.X[src][:, zc])
    enc = [k for k in range(len(own.columns)) if k not in zc]
    np.testing.assert_array_equal(whole.X[:, enc], own.X[:, enc])
    assert not np.array_equal(whole.X[~scored][:, enc], whole.X[src[~scored]][:, enc])
    # the scored members' rows are their own
    np.testing.assert_array_equal(whole.X[scored], own.X[scored])
    assert whole.zc_configs["params"]["by_class"] is True and "by_class" not in own.zc_configs["params"]


def test_the_pool_leaves_answered_architectures_out(bench):
    for spec in (SPEC, "onehot,zc"):
        pool = pool_of(bench, "test_acc", spec, zc_by_class=True)
        fm = feature_matrix(bench, spec, zc_by_class=True)
        assert pool.size > 6000 and fm.own()[pool].all()
        np.testing.assert_array_equal(pool, pool_of(bench, "test_acc", spec))


def test_a_table_measuring_every_member_still_pools_the_scored_ones_only():
    """NAS-Bench-201's cifar10 table measures every architecture (no aliases): answered members stay out."""
    rng = np.random.default_rng(3)
    ops = nb201.ops_matrix()
    acc = 60 + 4 * (ops == 3).sum(1) + rng.normal(0, 1, nb201.NUM_ARCHS)
    rep = nb201.canonical_representatives()
    scored = np.unique(rep)[::3]  # a third of the classes, by representative
    with zcdb.open(":memory:") as s:
        with s.importing("synthetic", "test", new_dataset=True) as imp:
            imp.add_evaluations("nb201", "whole", "synthetic", "test_acc", 12, -1, np.arange(nb201.NUM_ARCHS), acc)
            imp.add_proxy_scores("nb201", "whole", "p", 0, 64, "synth", scored, acc[scored] + rng.normal(0, 2, scored.size),
                                 np.zeros(scored.size))
        bench = s.benchmark("nb201", "whole")
        assert bench.aliases()[0].size == 0
        fm = feature_matrix(bench, "onehot,zc:p", zc_by_class=True)
        members = np.isin(rep, scored)
        np.testing.assert_array_equal(fm.coverage(), members)
        assert members.sum() > 1.5 * scored.size
        for spec in ("onehot,zc:p", "onehot,zc"):
            np.testing.assert_array_equal(pool_of(bench, "test_acc", spec, zc_by_class=True), scored)
            np.testing.assert_array_equal(pool_of(bench, "test_acc", spec), scored)
        train, test = split(scored, 100, seed=0)
        sur = fit(bench, "test_acc", "onehot,zc:p", train, test_archs=test, zc_by_class=True)
        np.testing.assert_array_equal(sur.held_out(bench), np.setdiff1d(scored, train))
        np.testing.assert_array_equal(np.isfinite(sur.benchmark().values("test_acc")), members)


def test_a_surrogate_fitted_by_class_predicts_every_architecture(bench, tmp_path):
    train, test = split(pool_of(bench, "test_acc", SPEC, zc_by_class=True), 200, seed=0, n_test=500)
    plain = fit(bench, "test_acc", SPEC, train, test_archs=test)
    sur = fit(bench, "test_acc", SPEC, train, test_archs=test, zc_by_class=True)
    # the same training rows: the same model and the same held-out figures
    assert sur.metrics["test"] == plain.metrics["test"]
    assert plain.covered().sum() < 6500 and sur.covered().all()
    assert sur.answered_by_class() == nb201.NUM_ARCHS - plain.covered().sum()
    assert {p: c["by_class"] for p, c in sur.meta["features"]["zc_configs"].items()} == {"params": True, "nwot": True}
    # saved and loaded, it reads the scores by class again
    back = load(sur.save(tmp_path / "b.zcs"), bench)
    assert back.covered().all()
    np.testing.assert_array_equal(back.predict_all()[0], sur.predict_all()[0])
    np.testing.assert_array_equal(back.held_out(bench), plain.held_out(bench))
    values = sur.benchmark().values("test_acc")
    assert np.isfinite(values).all()
    assert np.isnan(plain.benchmark().values("test_acc")).sum() == nb201.NUM_ARCHS - plain.covered().sum()


def test_cli_fit_by_class_says_how_many_are_answered(db, tmp_path):
    args = ["surrogate", "fit", "--dataset", DATASET, "--metric", "test_acc", "--features", SPEC, "--n-train", "50",
            "--n-test", "200", "--json"]
    r = run(db, *args, "--zc-by-class", "--out", str(tmp_path / "a.zcs"))
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["covered"] == rep["archs"] == nb201.NUM_ARCHS
    assert any("answered by a scored member of their class (--zc-by-class)" in n for n in rep["notes"])
    r = run(db, *args, "--out", str(tmp_path / "b.zcs"))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["covered"] < 6500


def test_class_sources_without_a_canonical_form_name_the_option():
    from zcdb.spaces.base import SearchSpace

    class NoClasses(SearchSpace):
        name = "no-classes"
        size = 4

    with pytest.raises(ZcdbError, match="space no-classes has no canonical form.*drop --zc-by-class"):
        NoClasses().class_sources(np.arange(2), "--zc-by-class")
    np.testing.assert_array_equal(get_space("nb201").class_sources(np.array([], dtype=np.int64)),
                                  np.full(nb201.NUM_ARCHS, -1))


def test_cli_study_by_class_scores_what_it_scores_without(db):
    """The study's splits come from the pool, which answered architectures are not in: the same figures."""
    args = ["surrogate", "study", "--dataset", DATASET, "--metric", "test_acc", "--features", SPEC, "--n-train", "40",
            "--trials", "2", "--n-test", "100", "--quiet", "--json"]
    with_flag, without = run(db, *args, "--zc-by-class"), run(db, *args)
    assert with_flag.exit_code == 0 and without.exit_code == 0, with_flag.output + without.output
    strip = [{k: v for k, v in row.items() if "seconds" not in k} for row in json.loads(with_flag.stdout)]
    assert strip == [{k: v for k, v in row.items() if "seconds" not in k} for row in json.loads(without.stdout)]
    assert any(row["features"].startswith("best proxy") for row in strip)
