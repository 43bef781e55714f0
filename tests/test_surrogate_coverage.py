"""Proxy features that do not cover the training architectures, and predictions without features.

On the synthetic benchmark of ``test_surrogates`` (3,000 architectures measured; proxies
``good`` and ``weak`` on 800 of them) plus ``sparse``, scored on 100 of those 800: the
situation of a store holding zcdb's own proxies beside NAS-Bench-Suite-Zero's smaller set.
"""

from __future__ import annotations

import numpy as np
import pytest

import zcdb
from zcdb.surrogates import FeatureMismatch, SurrogateBenchmark, feature_matrix, fit, load, pool_of, split

from .test_surrogates import DATASET, build_synthetic


@pytest.fixture(scope="module")
def bench():
    s = zcdb.open(":memory:")
    idx = build_synthetic(s)
    rng = np.random.default_rng(5)
    acc = s.benchmark("nb201", DATASET).values("test_acc")
    sparse = np.sort(idx[:800][rng.choice(800, 100, replace=False)])
    with s.importing("sparse", "test") as imp:
        imp.add_proxy_scores("nb201", DATASET, "sparse", 0, 64, "none", sparse, acc[sparse] + rng.normal(0, 1, 100),
                             np.zeros(100))
    yield s.benchmark("nb201", DATASET)
    s.close()


def scored(bench, proxy):
    fm = feature_matrix(bench, f"zc:{proxy}")
    return np.isfinite(fm.X[:, 0])


def test_plain_zc_takes_only_the_proxies_that_cover_the_training_set(bench, tmp_path):
    pool = pool_of(bench, "test_acc", "onehot,zc")
    # the pool: what the widest proxy scored (good and weak tie at 800; the first name wins)
    np.testing.assert_array_equal(pool, np.flatnonzero(scored(bench, "good")))
    train, test = split(pool, 100, seed=0, n_test=300)
    assert not scored(bench, "sparse")[train].all()
    sur = fit(bench, "test_acc", "onehot,zc", train, test_archs=test)
    zc_cols = [c for c in sur.columns if c.startswith("zc:")]
    assert zc_cols == ["zc:good", "zc:weak"]
    assert set(sur.meta["features"]["zc_configs"]) == {"good", "weak"}
    assert any("left out zc:sparse" in n for n in sur.meta["features"]["notes"])
    # every training and held-out architecture has all its features
    assert np.isfinite(sur._matrix().X[np.union1d(train, sur.held_out(bench))]).all()
    # the pinned selection survives saving and loading
    back = load(sur.save(tmp_path / "c.zcs"), bench)
    assert back.columns == sur.columns
    np.testing.assert_array_equal(back.predict(test), sur.predict(test))


def test_a_named_proxy_must_cover_the_training_set(bench):
    pool = pool_of(bench, "test_acc", "onehot")  # every measured architecture
    train, _ = split(np.flatnonzero(scored(bench, "good")), 100, seed=1, n_test=300)
    lacking = int((~scored(bench, "sparse")[train]).sum())
    with pytest.raises(FeatureMismatch, match=f"zc:sparse has no score for {lacking} of the 100 training "
                                              r"architectures \(e.g. index \d+\).*pool_of with zc:sparse"):
        fit(bench, "test_acc", "onehot,zc:good+sparse", train)
    # drawn from its pool, it fits
    sparse_pool = pool_of(bench, "test_acc", "onehot,zc:good+sparse")
    np.testing.assert_array_equal(sparse_pool, np.flatnonzero(scored(bench, "sparse")))
    tr, te = split(sparse_pool, 40, seed=0)
    sur = fit(bench, "test_acc", "onehot,zc:good+sparse", tr, test_archs=te)
    assert [c for c in sur.columns if c.startswith("zc:")] == ["zc:good", "zc:sparse"]
    # no proxy at all covers architectures drawn from the whole table
    tr, _ = split(pool, 100, seed=0)
    with pytest.raises(FeatureMismatch, match="no stored proxy scored all 100 training architectures"):
        fit(bench, "test_acc", "zc", tr)


def test_surrogate_benchmark_answers_nan_where_features_are_missing(bench):
    train, _ = split(pool_of(bench, "test_acc", "onehot,zc"), 200, seed=2, n_test=300)
    sur = fit(bench, "test_acc", "onehot,zc", train)
    have = scored(bench, "good") & scored(bench, "weak")
    assert have.mean() < 0.06  # 800 of 15,625, as Suite-Zero's 725
    sb = SurrogateBenchmark([sur])
    v = sb.values("test_acc")
    np.testing.assert_array_equal(sb.missing_features("test_acc"), ~have)
    assert np.isnan(v[~have]).all() and np.isfinite(v[have]).all()
    top = sb.top("test_acc", k=50)
    assert len(top) == 50 and all(have[i] for i, _, _ in top)
    assert "features missing for 14,825" in repr(sb)
    assert np.isnan(sb.query(int(np.flatnonzero(~have)[0]), "test_acc"))  # unknown, as in a table
    # the old behaviour on request: the model's NaN branches for everyone
    old = sur.benchmark(missing_features="predict")
    assert np.isfinite(old.values("test_acc")).all() and not old.missing_features("test_acc").any()
    np.testing.assert_array_equal(old.values("test_acc")[have], v[have])
    # with the table overlaid, measured architectures are answered whatever their features
    over = sur.benchmark(truth=bench)
    table = bench.values("test_acc")
    known = np.isfinite(table)
    np.testing.assert_array_equal(over.values("test_acc")[known], table[known])
    np.testing.assert_array_equal(over.missing_features("test_acc"), ~have & ~known)
    with pytest.raises(zcdb.ZcdbError, match="'nan'.*'predict'"):
        SurrogateBenchmark([sur], missing_features="zero")


def test_study_pools_where_every_feature_set_is_covered(bench):
    from zcdb.surrogates import study

    rows = study(bench, "test_acc", ["onehot,zc", "onehot,zc:sparse"], n_train=[30], trials=2, n_test=50)
    assert {r["features"] for r in rows} >= {"onehot,zc", "onehot,zc:sparse"}
    assert all(r["n_test"] == 50 for r in rows)


def test_a_stored_nan_score_is_a_feature_not_a_gap():
    """A proxy that diverged on a few architectures (NaN stored with its reason) still covers them: the model
    reads NaN as a value, as HistGradientBoosting does; only architectures never scored are gaps."""
    s = zcdb.open(":memory:")
    idx = build_synthetic(s)
    scored_800 = idx[:800]
    v = np.arange(800, dtype=float)
    v[[3, 50, 700]] = np.nan
    with s.importing("diverging", "test") as imp:
        imp.add_proxy_scores("nb201", DATASET, "diverges", 0, 64, "none", scored_800, v, np.zeros(800))
    b = s.benchmark("nb201", DATASET)
    pool = pool_of(b, "test_acc", "onehot,zc")
    np.testing.assert_array_equal(pool, np.sort(scored_800))
    train = np.sort(scored_800[[3, 50, 700] + list(range(100, 197))])
    sur = fit(b, "test_acc", "onehot,zc", train)
    assert "zc:diverges" in sur.columns
    gap = SurrogateBenchmark([sur]).missing_features("test_acc")
    assert not gap[scored_800].any() and gap.sum() == gap.size - 800
    s.close()
