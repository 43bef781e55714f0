"""`zcdb proxies combine`: rank aggregation by hand, its invariances, storing, honest member selection, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zcdb
from zcdb.errors import ZcdbError
from zcdb.proxies.combine import METHODS, combine
from zcdb.proxies.ensemble import SEARCHES, _exhaustive, _greedy, combine_and_store, select_members, select_members_on_sample
from zcdb.proxies.stored import evaluate, scores

from .conftest import run_cli as run

# 5 architectures; a higher-is-better, b lower-is-better, c collapsed (ties everything but arch 4, its worst).
A = np.array([1.0, 2, 2, 4, 5])
B = np.array([5.0, 3, 3, 1, 2])
C = np.array([3.0, 3, 3, 3, 0])
ORIENT = {"a": 1.0, "b": -1.0, "c": 1.0}


def test_mean_rank_by_hand():
    # oriented ranks (ties averaged): a 1, 2.5, 2.5, 4, 5; b 1, 2.5, 2.5, 5, 4
    got = combine({"a": A, "b": B}, "mean-rank", ORIENT)
    np.testing.assert_allclose(got, [0, 0.375, 0.375, 0.875, 0.875])
    # c ranks 3.5, 3.5, 3.5, 3.5, 1
    got = combine({"a": A, "b": B, "c": C}, "mean-rank", ORIENT)
    np.testing.assert_allclose(got, (np.array([5.5, 8.5, 8.5, 12.5, 10]) / 3 - 1) / 4)


def test_log_rank_by_hand_and_it_sinks_the_network_one_member_scores_worst():
    got = combine({"a": A, "b": B}, "log-rank", ORIENT)
    np.testing.assert_allclose(got, np.log([0.2 * 0.2, 0.5 * 0.5, 0.5 * 0.5, 0.8, 0.8]))
    three = {"a": A, "b": B, "c": C}
    got = combine(three, "log-rank", ORIENT)
    np.testing.assert_allclose(got, np.log([0.2 * 0.2 * 0.7, 0.5 * 0.5 * 0.7, 0.5 * 0.5 * 0.7, 0.8 * 0.7, 0.8 * 0.2]))
    # arch 4 (best for a, second for b, worst for c) falls below arch 1 under log-rank, not under mean-rank
    mean = combine(three, "mean-rank", ORIENT)
    assert got[4] < got[1] and mean[4] > mean[1]


def test_mean_zscore_by_hand():
    za = (A - 2.8) / math.sqrt(2.16)
    zb = (-B + 2.8) / math.sqrt(1.76)
    np.testing.assert_allclose(combine({"a": A, "b": B}, "mean-zscore", ORIENT), (za + zb) / 2)
    # a constant member contributes 0
    np.testing.assert_allclose(combine({"a": A, "k": np.ones(5)}, "mean-zscore", {"a": 1, "k": 1}), za / 2)


@pytest.mark.parametrize("method", list(METHODS))
def test_nan_in_any_member_is_nan_and_ranks_use_the_rest(method):
    a = A.copy()
    a[2] = np.nan
    got = combine({"a": a, "b": B}, method, ORIENT)
    assert np.isnan(got[2]) and np.isfinite(np.delete(got, 2)).all()
    keep = [0, 1, 3, 4]
    np.testing.assert_allclose(got[keep], combine({"a": A[keep], "b": B[keep]}, method, ORIENT))


@pytest.mark.parametrize("bad, match", [
    (dict(scores={}, method="log-rank", orient={}), "at least one member"),
    (dict(scores={"a": A}, method="median", orient=ORIENT), "unknown ensemble method"),
    (dict(scores={"a": A, "z": B}, method="log-rank", orient=ORIENT), "no orientation for z"),
    (dict(scores={"a": A, "b": B[:3]}, method="log-rank", orient=ORIENT), "equally long"),
])
def test_bad_input(bad, match):
    with pytest.raises(ZcdbError, match=match):
        combine(**bad)


members_st = st.integers(5, 30).flatmap(lambda n: st.lists(
    st.lists(st.integers(-4, 4).map(float), min_size=n, max_size=n), min_size=1, max_size=3))


@settings(max_examples=60, deadline=None)
@given(members_st, st.randoms(use_true_random=False), st.sampled_from(list(METHODS)))
def test_permuting_architectures_permutes_the_ensemble(cols, rnd, method):
    sc = {f"m{i}": np.array(c) for i, c in enumerate(cols)}
    orient = {k: (-1.0 if i % 2 else 1.0) for i, k in enumerate(sc)}
    perm = list(range(len(cols[0])))
    rnd.shuffle(perm)
    got = combine({k: v[perm] for k, v in sc.items()}, method, orient)
    np.testing.assert_allclose(got, combine(sc, method, orient)[perm], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(members_st, st.sampled_from(["mean-rank", "log-rank"]))
def test_monotone_transforms_of_a_member_change_nothing(cols, method):
    sc = {f"m{i}": np.array(c) for i, c in enumerate(cols)}
    orient = {k: 1.0 for k in sc}
    base = combine(sc, method, orient)
    # strictly increasing (exact on small integers), and a flip of sign with a flip of orientation
    np.testing.assert_allclose(combine({**sc, "m0": sc["m0"] ** 3 + 2 * sc["m0"] + 7}, method, orient), base)
    np.testing.assert_allclose(combine({**sc, "m0": np.exp(sc["m0"])}, method, orient), base)
    np.testing.assert_allclose(combine({**sc, "m0": -sc["m0"]}, method, {**orient, "m0": -1.0}), base)


# --------------------------------------------------------------------------- store
N = 300
SRC, TGT = "src", "tgt"


def build(store: zcdb.Store, target_labels: str = "true") -> None:
    """nb201 on two synthetic datasets with the same proxies: ``good`` (accuracy plus noise),
    ``tenas_ntk`` (registry, lower is better: minus accuracy plus noise), ``noise``, ``half``
    (the first half of the architectures only) and ``late`` (the other half only). The
    target's labels: true, permuted, or none at all."""
    rng = np.random.default_rng(0)
    idx = np.arange(0, 15625, 15625 // N)[:N]
    with store.importing("synthetic", "test", new_dataset=True) as imp:
        for ds in (SRC, TGT):
            acc = rng.normal(70, 5, N)
            if ds == SRC or target_labels != "none":
                lab = acc if ds == SRC or target_labels == "true" else np.random.default_rng(9).permutation(acc)
                imp.add_evaluations("nb201", ds, "synth-v1", "test_acc", 12, -1, idx, lab)
            z = np.zeros(N)
            imp.add_proxy_scores("nb201", ds, "good", 0, 64, "none", idx, acc + rng.normal(0, 3, N), z + 1)
            imp.add_proxy_scores("nb201", ds, "tenas_ntk", 0, 64, "none", idx, -acc + rng.normal(0, 3, N), z + 2)
            imp.add_proxy_scores("nb201", ds, "noise", 0, 64, "none", idx, rng.normal(0, 1, N), z)
            imp.add_proxy_scores("nb201", ds, "half", 0, 64, "none", idx[:N // 2], rng.normal(0, 1, N // 2), z[:N // 2])
            imp.add_proxy_scores("nb201", ds, "late", 0, 64, "none", idx[N // 2:], rng.normal(0, 1, N // 2), z[:N // 2])


@pytest.fixture
def store():
    s = zcdb.open(":memory:")
    build(s)
    yield s
    s.close()


def test_stored_ensemble_is_a_proxy_with_its_recipe(store):
    rep = combine_and_store(store, "nb201", TGT, ["good", "tenas_ntk"], "log-rank")
    assert rep.proxy == "ens:log-rank:good.tenas_ntk" and rep.archs == N and rep.incomplete == 0
    assert rep.data == "ens(good@0/64/none+tenas_ntk@0/64/none)"
    sc = scores(store, "nb201", TGT, rep.proxy, 0, 64, rep.data)
    want = combine({p: scores(store, "nb201", TGT, p, 0, 64, "none") for p in ("good", "tenas_ntk")}, "log-rank",
                   {"good": 1.0, "tenas_ntk": -1.0})
    np.testing.assert_array_equal(sc, want)
    _, _, t = store.proxy_scores("nb201", TGT, rep.proxy, 0, 64, rep.data)
    assert (t == 3).all()  # the members' times summed
    opts = json.loads(store.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine'")
                      .fetchone()[0])
    assert opts["method"] == "log-rank" and [m["proxy"] for m in opts["members"]] == ["good", "tenas_ntk"]
    rows = {r["proxy"]: r for r in evaluate(store, "nb201", TGT, "test_acc",
                                            proxies=["good", "tenas_ntk", rep.proxy])}
    # higher is better for the ensemble (not in the registry), and it beats each member
    assert rows[rep.proxy]["spearman"] > max(rows["good"]["spearman"], rows["tenas_ntk"]["spearman"]) > 0.7
    # again: the same rows, replaced
    combine_and_store(store, "nb201", TGT, ["good", "tenas_ntk"], "log-rank")
    np.testing.assert_array_equal(scores(store, "nb201", TGT, rep.proxy, 0, 64, rep.data), sc)


def test_ensemble_is_a_surrogate_feature(store):
    from zcdb.surrogates.features import feature_matrix

    rep = combine_and_store(store, "nb201", TGT, ["good", "tenas_ntk"], "mean-rank", name="ens:mine")
    fm = feature_matrix(store.benchmark("nb201", TGT), "zc:ens:mine+good")
    assert fm.columns == ("zc:ens:mine", "zc:good")
    np.testing.assert_array_equal(fm.X[:, 0], scores(store, "nb201", TGT, rep.proxy, 0, 64, rep.data))


def test_partial_members_store_common_architectures_only(store):
    rep = combine_and_store(store, "nb201", TGT, ["good", "half"], "mean-rank")
    assert rep.archs == N // 2 and rep.incomplete == N // 2


@pytest.mark.parametrize("search", list(SEARCHES))
def test_selection_on_another_benchmark_never_reads_the_target_labels(search):
    out = []
    for labels in ("true", "permuted", "none"):
        s = zcdb.open(":memory:")
        build(s, labels)
        members, steps = select_members(s, "nb201", TGT, f"nb201/{SRC}", "log-rank", search=search)
        rep = combine_and_store(s, "nb201", TGT, method="log-rank", select_on=f"nb201/{SRC}/test_acc",
                                select_search=search)
        out.append((members, steps, rep.proxy, scores(s, "nb201", TGT, rep.proxy, 0, 64, rep.data)))
        s.close()
    assert out[0][0][:2] == ["good", "tenas_ntk"] or out[0][0][:2] == ["tenas_ntk", "good"]
    assert "noise" not in out[0][0]
    for o in out[1:]:
        assert o[:3] == out[0][:3]
        np.testing.assert_array_equal(o[3], out[0][3])


def test_selection_recorded_in_the_recipe(store):
    rep = combine_and_store(store, "nb201", TGT, method="mean-rank", select_on=f"nb201/{SRC}", max_members=2)
    opts = json.loads(store.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine'")
                      .fetchone()[0])
    assert opts["select_on"] == f"nb201/{SRC}" and len(opts["members"]) <= 2
    assert opts["selection"][-1]["members"] == [m["proxy"] for m in rep.members]


@pytest.mark.parametrize("search", list(SEARCHES))
def test_selection_on_a_labelled_sample_reads_only_its_labels_and_holds_it_out(search):
    """Members chosen on 40 labelled target architectures: the labels of the other 260 may be true,
    permuted among themselves or absent, and nothing changes; the 40 get no ensemble score."""
    s = zcdb.open(":memory:")
    build(s)
    acc = s.benchmark("nb201", TGT).values("test_acc")
    idx = np.flatnonzero(np.isfinite(acc))
    _, _, sample = select_members_on_sample(s, "nb201", TGT, 40, "log-rank", seed=3, search=search)
    s.close()
    rest = np.setdiff1d(idx, sample)
    out = []
    for labels in ("true", "permuted-outside", "none-outside"):
        s = zcdb.open(":memory:")
        build(s, "true" if labels == "true" else "none")
        if labels != "true":
            new = acc.copy()
            new[rest] = np.random.default_rng(5).permutation(acc[rest])
            keep = idx if labels == "permuted-outside" else sample
            with s.importing("relabelled", "test") as imp:
                imp.add_evaluations("nb201", TGT, "synth-v1", "test_acc", 12, -1, keep, new[keep])
        assert np.isfinite(s.benchmark("nb201", TGT).values("test_acc")).sum() == (40 if labels == "none-outside"
                                                                                  else N)
        rep = combine_and_store(s, "nb201", TGT, method="log-rank", select_sample=40, select_seed=3,
                                select_search=search)
        out.append((rep.proxy, rep.held_out, rep.archs, rep.selection,
                    scores(s, "nb201", TGT, rep.proxy, 0, 64, rep.data)))
        s.close()
    proxy, held, archs, _, sc = out[0]
    assert set(proxy.split(":")[-1].split(".")) <= {"good", "tenas_ntk"}  # the informative ones, not noise
    assert held == 40 and np.isnan(sc[sample]).all() and archs == np.isfinite(sc).sum() > 0
    for o in out[1:]:
        assert o[:4] == out[0][:4]  # the greedy steps' Spearman values too: no other label was read
        np.testing.assert_array_equal(o[4], sc)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 5), st.integers(1, 3), st.sampled_from(list(METHODS)))
def test_exhaustive_search_is_the_best_subset_and_never_below_greedy(seed, k, max_members, method):
    """Against an independent brute force (scipy's Spearman over every subset): the chosen subset's
    Spearman is the maximum, the steps are the best of each size, and greedy never does better."""
    import itertools

    from scipy import stats

    rng = np.random.default_rng(seed)
    n = 12
    truth = rng.normal(size=n)
    names = [f"p{i}" for i in range(k)]
    # some informative, some noise, some with ties (rounded), one NaN
    src = {p: np.round(truth * rng.uniform(0, 1) + rng.normal(size=n), int(rng.integers(0, 3))) for p in names}
    src[names[0]][int(rng.integers(n))] = np.nan
    orient = {p: 1.0 for p in names}

    def rho(c):
        e = combine({m: src[m] for m in c}, method, orient)
        ok = np.isfinite(e)
        return stats.spearmanr(e[ok], truth[ok])[0] if np.ptp(e[ok]) > 0 else -np.inf

    brute = {c: rho(c) for r in range(1, max_members + 1) for c in itertools.combinations(names, r)}
    chosen, steps = _exhaustive(names, src, truth, method, max_members)
    assert math.isclose(brute[tuple(chosen)], max(brute.values()), abs_tol=1e-12)
    for step in steps:
        size = len(step["members"])
        assert math.isclose(step["spearman"], max(v for c, v in brute.items() if len(c) == size), abs_tol=1e-12)
    g_chosen, g_steps = _greedy(names, src, truth, method, max_members)
    if g_steps:
        assert g_steps[-1]["spearman"] <= brute[tuple(chosen)] + 1e-12


def test_exhaustive_finds_the_pair_greedy_misses():
    """truth = x + y; proxy s tracks truth loosely but best alone, x and y are each half of it:
    greedy starts from s and no single addition beats it by as much as x + y together."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=400), rng.normal(size=400)
    truth = x + y
    src = {"s": truth + rng.normal(scale=0.6, size=400), "x": x, "y": y}
    chosen, steps = _exhaustive(list(src), src, truth, "mean-zscore", 2)
    g_chosen, g_steps = _greedy(list(src), src, truth, "mean-zscore", 2)
    assert chosen == ["x", "y"] and steps[-1]["spearman"] > 0.99
    assert g_chosen[0] == "s" and g_steps[-1]["spearman"] < steps[-1]["spearman"]


def test_cli_exhaustive_search_recorded(db):
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, "--select-sample", "60",
            "--select-search", "exhaustive", "--max-members", "2", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    with zcdb.open(db) as s:
        opts = json.loads(s.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine'")
                          .fetchone()[0])
    assert opts["select_search"] == "exhaustive" and [len(x["members"]) for x in opts["selection"]] == [1, 2]
    assert [m["proxy"] for m in out["members"]] in ([x["members"] for x in opts["selection"]])


def test_unknown_search_names_the_choices(store):
    with pytest.raises(ZcdbError, match="unknown --select-search 'best'.*greedy, exhaustive"):
        combine_and_store(store, "nb201", TGT, select_on=f"nb201/{SRC}", select_search="best")


def test_labelled_sample_recorded_and_its_labels_matter(store):
    rep = combine_and_store(store, "nb201", TGT, method="mean-rank", select_sample=30, select_seed=1, max_members=2)
    opts = json.loads(store.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine'")
                      .fetchone()[0])
    assert opts["select_sample"]["n"] == 30 and opts["select_sample"]["seed"] == 1
    assert len(opts["select_sample"]["archs"]) == 30 and "30 labelled nb201/tgt" in opts["select_on"]
    assert opts["selection"][-1]["members"] == [m["proxy"] for m in rep.members]
    # the sample's own labels do choose: with them permuted the selection's Spearman falls
    _, steps, sample = select_members_on_sample(store, "nb201", TGT, 30, "mean-rank", 2, seed=1)
    acc = store.benchmark("nb201", TGT).values("test_acc")
    with store.importing("permuted sample", "test", replace=True) as imp:
        imp.add_evaluations("nb201", TGT, "synth-v1", "test_acc", 12, -1, sample,
                            np.random.default_rng(2).permutation(acc[sample]))
    _, steps_permuted, _ = select_members_on_sample(store, "nb201", TGT, 30, "mean-rank", 2, seed=1)
    assert steps[0]["spearman"] > 0.7 > steps_permuted[0]["spearman"]


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.db"
    s = zcdb.open(path)
    build(s)
    s.close()
    return path


def test_cli_combine_then_eval_lists_it(db):
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, "--proxies", "good,tenas_ntk",
            "--method", "mean-rank", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["proxy"] == "ens:mean-rank:good.tenas_ntk"
    r = run(db, "proxies", "eval", "--space", "nb201", "--dataset", TGT, "--json", "--all-available")
    assert r.exit_code == 0, r.output
    assert rep["proxy"] in {row["proxy"] for row in json.loads(r.output)}
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, "--select-on", f"nb201/{SRC}")
    assert r.exit_code == 0 and "chosen on nb201/src" in r.output, r.output
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, "--select-sample", "50", "--name", "ens:s")
    assert r.exit_code == 0 and "50 held out" in r.output and "50 labelled nb201/tgt" in r.output, r.output


@pytest.mark.parametrize("args, match", [
    (["--proxies", "good,nope"], "proxy 'nope' has no scores"),
    (["--proxies", "half,late"], "no architecture scored by all of them"),
    (["--proxies", "good", "--name", "synflow"], "is a registry proxy"),
    (["--proxies", "good", "--name", "a+b"], "cannot hold"),
    ([], "give either the members"),
    (["--proxies", "good", "--select-on", "nb201/src"], "give either the members"),
    (["--select-on", "nb201/tgt"], "the target benchmark itself"),
    (["--select-on", "nb201"], "bad --select-on"),
    (["--select-sample", "400"], "only 300 architectures"),
    (["--select-sample", "2"], "at least 3"),
    (["--proxies", "good", "--select-sample", "20"], "give either the members"),
])
def test_cli_errors_are_one_line(db, args, match):
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, *args)
    assert r.exit_code != 0 and match in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_unknown_method(db):
    r = run(db, "proxies", "combine", "--space", "nb201", "--dataset", TGT, "--proxies", "good", "--method", "median")
    assert r.exit_code == 2 and "median" in r.output


def test_ensemble_is_a_search_proxy_higher_is_better(store):
    from zcdb.search.problem import problem_from_benchmark

    rep = combine_and_store(store, "nb201", TGT, ["good", "tenas_ntk"], "log-rank")
    prob = problem_from_benchmark(store.benchmark("nb201", TGT), "test_acc", "test_acc", proxies=[rep.proxy])
    np.testing.assert_array_equal(prob.proxy_scores[0], scores(store, "nb201", TGT, rep.proxy, 0, 64, rep.data))


def test_ensemble_of_a_space_too_large_to_enumerate_is_stored_under_its_architectures_ids():
    """nb301's dense arrays are positions in its stored sample: the ensemble's rows, times and held-out
    recipe must go back to the genotype ids, not the positions."""
    from zcdb.spaces import get_space

    s = zcdb.open(":memory:")
    ids = np.sort(get_space("nb301").sample(60, seed=4))
    rng = np.random.default_rng(1)
    acc = rng.normal(94, 0.5, ids.size)
    with s.importing("synthetic nb301", "test") as imp:
        imp.add_evaluations("nb301", "cifar10", "default", "val_acc", 100, -1, ids, acc)
        imp.add_proxy_scores("nb301", "cifar10", "good", 0, 32, "none", ids, acc + rng.normal(0, 0.2, ids.size),
                             np.full(ids.size, 2.0))
        imp.add_proxy_scores("nb301", "cifar10", "noise", 0, 32, "none", ids, rng.normal(0, 1, ids.size),
                             np.full(ids.size, 1.0))
    rep = combine_and_store(s, "nb301", "cifar10", ["good", "noise"], "mean-rank")
    got, values, times = s.proxy_scores("nb301", "cifar10", rep.proxy, 0, 32, rep.data)
    assert sorted(got.tolist()) == ids.tolist() and (times == 3.0).all()
    want = combine({p: scores(s, "nb301", "cifar10", p, 0, 32, "none") for p in ("good", "noise")}, "mean-rank",
                   {"good": 1.0, "noise": 1.0})
    np.testing.assert_array_equal(scores(s, "nb301", "cifar10", rep.proxy, 0, 32, rep.data), want)
    rep = combine_and_store(s, "nb301", "cifar10", method="log-rank", select_sample=20, select_metric="val_acc",
                            name="ens:held")
    got, values, _ = s.proxy_scores("nb301", "cifar10", rep.proxy, 0, 32, rep.data)
    opts = json.loads(s.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine' "
                                     "ORDER BY id DESC").fetchone()[0])
    held = opts["select_sample"]["archs"]
    assert len(held) == 20 and sorted(got.tolist()) == ids.tolist() and rep.held_out == 20 and rep.archs == 40
    assert set(got[np.isnan(values)].tolist()) == set(held)
    s.close()


def test_storing_an_ensemble_again_with_another_sample_leaves_no_score_of_the_new_sample(store):
    """The held-out architectures are NaN rows, so a second draw overwrites the first draw's scores of them."""
    reps = {}
    for seed in range(6):
        rep = combine_and_store(store, "nb201", TGT, method="log-rank", select_sample=60, select_seed=seed)
        reps.setdefault(rep.data, []).append(seed)
        sc = scores(store, "nb201", TGT, rep.proxy, 0, 64, rep.data)
        _, _, sample = select_members_on_sample(store, "nb201", TGT, 60, "log-rank", seed=seed)
        assert np.isnan(sc[sample]).all() and np.isfinite(sc).sum() == rep.archs
    assert max(len(v) for v in reps.values()) >= 2  # some recipe was stored twice, over another sample


def test_stored_ensembles_are_never_members_of_a_new_selection(store):
    for ds in (SRC, TGT):  # an ensemble of the same name on both benchmarks, as a report script leaves them
        combine_and_store(store, "nb201", ds, ["good", "tenas_ntk"], "log-rank", name="ens:old")
    members, _ = select_members(store, "nb201", TGT, f"nb201/{SRC}", "log-rank", max_members=5)
    assert members and not any(m.startswith("ens:") for m in members)
    rep = combine_and_store(store, "nb201", TGT, method="log-rank", select_sample=50, max_members=5)
    assert not any(m["proxy"].startswith("ens:") for m in rep.members)


def test_orientation_is_the_registry_direction_and_plus_one_outside_it():
    from zcdb.proxies.registry import REGISTRY, orientation

    assert orientation("tenas_ntk") == -1.0 and orientation("synflow") == 1.0
    assert all(orientation(p) == (1.0 if s.higher_is_better else -1.0) for p, s in REGISTRY.items())
    assert orientation("ens:log-rank:meco.zen") == 1.0 and orientation("my_imported_proxy") == 1.0


def test_exhaustive_search_refuses_a_combinatorial_explosion_before_starting():
    src = {f"p{i}": np.arange(5.0) for i in range(19)}
    with pytest.raises(ZcdbError, match="94,183 subsets of 19 proxies.*lower --max-members or use --select-search greedy"):
        _exhaustive(list(src), src, np.arange(5.0), "mean-rank", 7)
    chosen, _ = _exhaustive(list(src), src, np.arange(5.0), "mean-rank", 2)
    assert chosen == ["p0"]  # all tie at 1.0: the fewest members, the alphabetically first


def test_labelled_sample_holds_out_the_isomorphic_copies_of_its_architectures_too():
    """Two scored members of one class compute the same function: when one is in the labelled
    sample, the other is stored as NaN too (its own reason), so no near-copy of a seen label is scored."""
    from zcdb.spaces import nb201

    rep = nb201.canonical_representatives()
    pairs = []  # 60 classes with two members: the representative and the next member
    for r in np.unique(rep):
        members = np.flatnonzero(rep == r)
        if members.size >= 2:
            pairs.append(members[:2])
        if len(pairs) == 60:
            break
    idx = np.sort(np.concatenate(pairs))
    rng = np.random.default_rng(1)
    acc = rng.normal(70, 5, idx.size)
    s = zcdb.open(":memory:")
    with s.importing("synthetic", "test", new_dataset=True) as imp:
        imp.add_evaluations("nb201", TGT, "synth-v1", "test_acc", 12, -1, idx, acc)
        for p in ("good", "noise"):
            imp.add_proxy_scores("nb201", TGT, p, 0, 64, "none", idx,
                                 (acc if p == "good" else 0) + rng.normal(0, 3, idx.size), np.zeros(idx.size))
    r = combine_and_store(s, "nb201", TGT, method="mean-rank", select_sample=20, select_seed=4)
    opts = json.loads(s.conn.execute("SELECT options FROM provenance WHERE importer = 'proxies-combine'")
                      .fetchone()[0])
    sampled, mates = opts["select_sample"]["archs"], opts["select_sample"]["class_mates"]
    want = sorted(int(i) for i in idx if rep[i] in set(rep[sampled].tolist()) and i not in set(sampled))
    assert mates == want and len(mates) >= 15  # most sampled architectures have their pair scored
    assert r.held_out == 20 and r.class_mates == len(mates) and r.archs == idx.size - 20 - len(mates)
    rows = dict(((a, (v, why)) for a, v, why in s.conn.execute(
        "SELECT arch_index, value, reason FROM proxy_scores WHERE proxy = ?", (r.proxy,))))
    assert all(rows[a][0] is None and "isomorphic" in rows[a][1] for a in mates)
    assert all(rows[a][0] is None and "its label chose" in rows[a][1] for a in sampled)
    # the by-class evaluation answers no member of a sampled class either
    sc = scores(s, "nb201", TGT, r.proxy, 0, 64, r.data, by_class=True)
    assert np.isnan(sc[np.isin(rep, rep[sampled])]).all() and np.isfinite(sc).sum() > 0
    s.close()
