"""`zcdb proxies compute / export / eval`: stored scores, resuming, recomputing, workers, evaluation, bad input.

Most tests score NAS-Bench-201 networks on scikit-learn's digits (shipped with
scikit-learn, 8x8 images: fast and needing no downloaded data); one checks our scores
against the released NAS-Bench-Suite-Zero file, and that this code computes the shipped
CIFAR-10 scores on real CIFAR-10 images.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

import zcdb
from zcdb.datasets import sample_batch
from zcdb.proxies import compute_proxies, stored as runs
from zcdb.spaces import nb201

from .conftest import CROSS_CPU_RTOL, dump, require_shared, run_cli as run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROXIES = ["params", "synflow", "nwot", "zen"]
LABELS = {"params": "none", "synflow": "none", "nwot": "digits:train", "zen": "random"}


def stored(store, proxy=None) -> dict[tuple[str, int], tuple]:
    q = "SELECT proxy, arch_index, value, time, reason, seed, batch_size, data FROM proxy_scores"
    rows = store.conn.execute(q + (" WHERE proxy = ?" if proxy else ""), (proxy,) if proxy else ()).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_compute_stores_every_score_with_its_configuration_and_skips_it_next_time(tmp_path):
    db = tmp_path / "p.db"
    r = run(db, "proxies", "compute", "--dataset", "digits", "--proxies", ",".join(PROXIES), "--sample", "4",
            "--seed", "0", "--quiet", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert (rep["computed"], rep["skipped"], rep["proxies"]) == (4, 0, PROXIES)
    archs = nb201.sample(4, seed=0)
    with zcdb.open(db) as s:
        rows = stored(s)
        assert set(rows) == {(p, int(a)) for p in PROXIES for a in archs}
        for (p, _), (value, secs, reason, seed, bs, data) in rows.items():
            assert (seed, bs, data) == (0, 64, LABELS[p])
            assert secs > 0
            assert (reason is None) == (value is not None and math.isfinite(value))
        # the stored scores are the engine's, on the seeded batch of the train split
        batch = sample_batch("digits", None, 64, 0, split="train")
        direct = compute_proxies([int(a) for a in archs], PROXIES, "digits", batch, 0)
        for d in direct:
            v = rows[(d.proxy, d.arch)][0]
            assert (v is None and math.isnan(d.score)) or v == d.score
        before = dump(s)
    r = run(db, "proxies", "compute", "--dataset", "digits", "--proxies", ",".join(PROXIES), "--sample", "4",
            "--seed", "0", "--quiet")
    assert r.exit_code == 0 and "scored 0 architectures (4 already stored)" in r.output
    with zcdb.open(db) as s:
        assert dump(s) == before


def test_an_interrupted_run_keeps_what_it_finished_and_resumes(store, monkeypatch):
    archs = [int(a) for a in nb201.sample(3, seed=5)]
    real = runs.run_unordered

    def dies_after_one(fn, tasks, *args, **kwargs):
        for k, out in enumerate(real(fn, tasks, *args, **kwargs)):
            if k == 1:
                raise KeyboardInterrupt
            yield out

    monkeypatch.setattr(runs, "run_unordered", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        runs.compute_and_store(store, "nb201", "digits", ["params", "nwot"], archs, progress=False)
    first = stored(store)
    assert len({a for _, a in first}) == 1 and len(first) == 2  # one architecture, both its proxies
    monkeypatch.setattr(runs, "run_unordered", real)
    rep = runs.compute_and_store(store, "nb201", "digits", ["params", "nwot"], archs, progress=False)
    assert (rep.skipped, rep.computed) == (1, 2)
    after = stored(store)
    assert len(after) == 6 and all(after[k] == v for k, v in first.items())


def test_recompute_through_the_cli(tmp_path):
    db = tmp_path / "p.db"
    arch = int(nb201.sample(1, seed=3)[0])
    with zcdb.open(db) as s:
        with s.importing("stale", "unit") as imp:
            imp.add_proxy_scores("nb201", "digits", "params", 0, 64, "none", [arch], [123.0], [0.1])
    (tmp_path / "a.txt").write_text(f"{arch}\n")
    args = ["proxies", "compute", "--dataset", "digits", "--proxies", "params", "--archs-file", str(tmp_path / "a.txt"),
            "--quiet", "--json"]
    assert json.loads(run(db, *args).output)["skipped"] == 1
    r = run(db, *args, "--recompute")
    assert r.exit_code == 0 and json.loads(r.output)["computed"] == 1
    with zcdb.open(db) as s:
        assert stored(s)[("params", arch)][0] != 123.0


def test_recompute_overwrites_what_is_stored(store):
    arch = int(nb201.sample(1, seed=3)[0])
    with store.importing("stale", "unit") as imp:
        imp.add_proxy_scores("nb201", "digits", "params", 0, 64, "none", [arch], [123.0], [0.1])
    rep = runs.compute_and_store(store, "nb201", "digits", "params", [arch], progress=False)
    assert rep.skipped == 1 and stored(store)[("params", arch)][0] == 123.0
    rep = runs.compute_and_store(store, "nb201", "digits", "params", [arch], progress=False, recompute=True)
    assert rep.computed == 1
    fresh = compute_proxies([arch], ["params"], "digits", None, 0, input_shape=(1, 8, 8))[0].score
    assert stored(store)[("params", arch)][0] == fresh != 123.0


def test_worker_processes_store_the_same_scores(tmp_path):
    archs = [int(a) for a in nb201.sample(3, seed=11)]
    got = []
    for workers in (1, 2):
        with zcdb.open(tmp_path / f"w{workers}.db") as s:
            runs.compute_and_store(s, "nb201", "digits", ["nwot", "synflow"], archs, workers=workers, progress=False)
            got.append({k: v[0] for k, v in stored(s).items()})
    assert got[0] == got[1] and len(got[0]) == 6


def test_export_has_every_score_with_arch_string_proxy_seed_and_batch_size(tmp_path):
    db = tmp_path / "p.db"
    assert run(db, "proxies", "compute", "--dataset", "digits", "--proxies", "params,nwot", "--sample", "3",
               "--quiet").exit_code == 0
    r = run(db, "proxies", "export", "--dataset", "digits")
    assert r.exit_code == 0
    table = list(csv.DictReader(io.StringIO(r.output)))
    assert len(table) == 6
    for row in table:
        assert row["arch"] == nb201.string_of(int(row["arch_index"]))
        assert row["proxy"] in ("params", "nwot") and row["seed"] == "0" and row["batch_size"] == "64"
        assert float(row["seconds"]) > 0
    j = json.loads(run(db, "proxies", "export", "--dataset", "digits", "--format", "json").output)
    assert {(d["proxy"], d["arch"], d["score"]) for d in j} == {
        (d["proxy"], d["arch"], float(d["score"]) if d["score"] else None) for d in table}


def test_eval_matches_scipy_on_the_shipped_digits_table(tmp_path):
    db = tmp_path / "p.db"
    assert run(db, "import", "builtin", "nb201-digits").exit_code == 0
    archs = nb201.sample(40, seed=2)
    (tmp_path / "archs.txt").write_text("\n".join(nb201.string_of(int(a)) for a in archs) + "\n")
    assert run(db, "proxies", "compute", "--dataset", "digits", "--proxies", "params,flops,nwot", "--archs-file",
               str(tmp_path / "archs.txt"), "--quiet").exit_code == 0
    png = tmp_path / "eval.png"
    r = run(db, "proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--json", "--plot", str(png))
    assert r.exit_code == 0, r.output
    rows = {d["proxy"]: d for d in json.loads(r.output)}
    assert set(rows) == {"params", "flops", "nwot"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with zcdb.open(db) as s:
        truth = s.benchmark("nb201", "digits").values("test_acc")[archs]
        for p, row in rows.items():
            score = np.array([stored(s, p)[(p, int(a))][0] for a in archs], dtype=float)
            ok = np.isfinite(score) & np.isfinite(truth)
            assert row["n"] == ok.sum() >= 35
            assert row["spearman"] == pytest.approx(stats.spearmanr(score[ok], truth[ok])[0])
            assert row["kendall"] == pytest.approx(stats.kendalltau(score[ok], truth[ok])[0])
            k = round(0.1 * ok.sum())
            top_s = set(np.argsort(-score[ok], kind="stable")[:k])
            top_t = set(np.argsort(-truth[ok], kind="stable")[:k])
            assert row["top10"] == pytest.approx(len(top_s & top_t) / k)


@pytest.mark.parametrize("args,match", [
    (["--proxies", "nwot,bogus", "--sample", "2"], "unknown proxy 'bogus'"),
    (["--proxies", "nwot"], "exactly one of --sample N and --archs-file"),
    (["--proxies", "nwot", "--sample", "2", "--dataset", "cifar10", "--data", "/nonexistent"], "/nonexistent"),
    (["--proxies", "nwot", "--archs-file", "5"], "--archs-file '5': no such file"),
    (["--proxies", "nwot", "--archs-file", "/nonexistent.txt"], "unique or all, or --sample N"),
])
def test_bad_requests_fail_in_one_line_and_store_nothing(tmp_path, args, match):
    db = tmp_path / "p.db"
    with zcdb.open(db) as s:
        before = dump(s)
    full = ["proxies", "compute", *args] if "--dataset" in args else ["proxies", "compute", "--dataset", "digits",
                                                                      *args]
    r = run(db, *full)
    assert r.exit_code == 2 and match in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) <= 3  # the error, maybe usage lines
    with zcdb.open(db) as s:
        assert dump(s) == before


# Suite-Zero's nb201 proxies that are deterministic given the batch and the initialization
# (grasp, epe_nas and plain are noise-bound: scripts/suite_zero_proxies_report.py).
DETERMINISTIC = ("synflow", "nwot", "snip", "jacov", "grad_norm", "fisher", "l2_norm", "params", "flops")


def test_shipped_scores_agree_with_the_released_suite_zero_scores(store):
    """On all 725 Suite-Zero architectures, the CIFAR-10 scores zcdb ships rank them as the released file does."""
    from zcdb.tabular.builtin import import_builtin
    from zcdb.tabular.naslib_zc import import_naslib_zc

    import_naslib_zc(store, require_shared("naslib-zc", "zc_nasbench201_cifar10.json"))
    import_builtin(store, "nb201-cifar10-proxies")
    for p in DETERMINISTIC:
        theirs = runs.scores(store, "nb201", "cifar10", p, -1, -1, "naslib-zc")
        ours = runs.scores(store, "nb201", "cifar10", p, 0, 64, runs.data_label(p, "cifar10", "test"))
        ok = np.isfinite(theirs) & np.isfinite(ours)
        assert ok.sum() >= 720, p  # the shipped table holds every one of the 725
        assert stats.spearmanr(ours[ok], theirs[ok])[0] >= 0.9, p


def test_this_code_computes_the_shipped_cifar10_scores(store):
    """What `zcdb proxies compute` stores today is the shipped table, so the agreement above is this code's.

    The 1,675 first architectures were scored before scores were pinned to one torch thread:
    summation order moves their gradient proxies slightly (measured on 20: synflow equal,
    nwot <= 5e-8 relative, jacov <= 3e-5, snip <= 5e-4; meco was recomputed since), and another CPU moves nwot
    and meco too (``CROSS_CPU_RTOL``); the tolerances sit above those.
    Another batch and initialization (seed 1) must fall outside them: always for synflow and meco, and
    for at least one of the data proxies (snip alone can stay within 5e-3 across seeds: arch 11352 does).
    """
    from zcdb.tabular.builtin import import_builtin

    import_builtin(store, "nb201-cifar10-proxies")
    rtol = {"synflow": 0.0, "jacov": 1e-4, "snip": 5e-3, **CROSS_CPU_RTOL}
    shipped = {p: runs.scores(store, "nb201", "cifar10", p, 0, 64, runs.data_label(p, "cifar10", "test"))
               for p in rtol}
    have = np.flatnonzero(np.all([np.isfinite(v) for v in shipped.values()], axis=0))
    archs = np.random.default_rng(0).choice(have, 3, replace=False).tolist()
    cifar = str(require_shared("cifar10"))
    for seed in (0, 1):
        batch = sample_batch("cifar10", cifar, 64, seed, split="test")
        close = {(d.arch, d.proxy): d.score == pytest.approx(shipped[d.proxy][d.arch], rel=rtol[d.proxy], abs=0)
                 for d in compute_proxies(archs, list(rtol), "cifar10", batch, seed)}
        if seed == 0:
            assert all(close.values()), [k for k, v in close.items() if not v]
        else:  # another initialization and batch
            for a in archs:
                assert not close[a, "synflow"] and not close[a, "meco"], a
                assert not all(close[a, p] for p in ("nwot", "jacov", "snip")), a


def test_archs_file_unique_names_the_class_representatives(tmp_path, monkeypatch):
    seen = {}

    def capture(store, space, dataset, names, archs, **kw):
        seen["archs"] = archs
        return runs.ComputeReport(len(archs), len(archs), 0, 0.0, 0, ["params"])

    monkeypatch.setattr(runs, "compute_and_store", capture)
    r = run(tmp_path / "p.db", "proxies", "compute", "--dataset", "digits", "--proxies", "params", "--archs-file",
            "unique", "--quiet")
    assert r.exit_code == 0, r.output
    assert seen["archs"] == np.unique(nb201.canonical_representatives()).tolist()
    assert len(seen["archs"]) == 6466


def test_scores_do_not_depend_on_the_worker_count_or_the_callers_threads(tmp_path):
    """Bit for bit between --workers 1 in a two-thread caller and --workers 2: the proxies
    whose numerics moved with the thread count (zico, tenas_ntk, grasp) on real CIFAR-10."""
    import torch

    root = str(require_shared("cifar10"))
    archs = [int(nb201.sample(2, seed=5)[0])]  # |nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|...
    got = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for workers in (1, 2):
            with zcdb.open(tmp_path / f"w{workers}.db") as s:
                runs.compute_and_store(s, "nb201", "cifar10", ["zico", "tenas_ntk", "grasp"], archs, root=root,
                                       split="test", workers=workers, progress=False)
                got.append({k: v[0] for k, v in stored(s).items()})
        assert torch.get_num_threads() == 2  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert len(got[0]) == 3 and all(math.isfinite(v) for v in got[0].values())
    assert got[0] == got[1]


def test_unreachable_scheduler_is_one_line_and_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ZCDB_SCHEDULER_TIMEOUT", "1")
    r = run(tmp_path / "p.db", "proxies", "compute", "--dataset", "digits", "--proxies", "params", "--sample", "2",
            "--scheduler", "tcp://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output


def test_eval_compares_on_common_architectures_with_intervals(tmp_path):
    """A score set covering 10 easy architectures no longer ranks above complete ones without a word:
    by default every set is evaluated on the architectures all of them cover, with n and 95% intervals."""
    store = zcdb.open(tmp_path / "e.db")
    rng = np.random.default_rng(0)
    n = 400
    truth = rng.normal(size=n)
    with store.importing("t", "test", {}) as b:
        b.add_evaluations("nb201", "digits", "digits-v1", "test_acc", 12, -1, np.arange(n), 50 + 10 * truth / 4)
        noisy = truth + rng.normal(size=n)
        b.add_proxy_scores("nb201", "digits", "full", 0, 8, "none", np.arange(n), noisy, np.zeros(n))
        few = np.argsort(truth)[-10:]  # 10 architectures, perfectly ranked
        b.add_proxy_scores("nb201", "digits", "few", 0, 8, "none", few, truth[few], np.zeros(10))
    own = {r["proxy"]: r for r in runs.evaluate(store, "nb201", "digits", "test_acc", common=False)}
    assert own["few"]["spearman"] == pytest.approx(1.0) and own["few"]["n"] == 10 and own["full"]["n"] == n
    same = {r["proxy"]: r for r in runs.evaluate(store, "nb201", "digits", "test_acc", bootstrap=100)}
    assert same["few"]["n"] == same["full"]["n"] == 10
    full = runs.evaluate(store, "nb201", "digits", "test_acc", proxies=["full"], bootstrap=200)[0]
    lo, hi = full["spearman_ci"]
    assert lo < full["spearman"] < hi and hi - lo < 0.2
    assert full["spearman"] == pytest.approx(stats.spearmanr(noisy, truth)[0])
    r = run(tmp_path / "e.db", "proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--bootstrap", "50")
    assert r.exit_code == 0 and "all on the same 10 architectures" in r.output and "[" in r.output, r.output
    assert "scoring none" not in r.output
    with store.importing("t2", "test", {}) as b:  # another set, on architectures without a metric
        b.add_proxy_scores("nb201", "digits", "elsewhere", 0, 8, "none", np.arange(n, n + 5), np.ones(5), np.zeros(5))
    r = run(tmp_path / "e.db", "proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--bootstrap", "0")
    assert r.exit_code == 0 and "all on the same 10 architectures" in r.output, r.output
    assert "1 set scoring none of them shown with n 0" in r.output, r.output


def test_eval_under_constraints_uses_only_feasible_architectures(tmp_path):
    store = zcdb.open(tmp_path / "w.db")
    n = 300
    rng = np.random.default_rng(1)
    truth = rng.normal(size=n)
    lat = np.arange(n, dtype=float)
    score = truth + rng.normal(size=n)
    with store.importing("t", "test", {}) as b:
        b.add_evaluations("nb201", "digits", "digits-v1", "test_acc", 12, -1, np.arange(n), 50 + truth)
        b.add_evaluations("nb201", "digits", "digits-v1", "latency_pixel3", 0, -1, np.arange(n), lat)
        b.add_proxy_scores("nb201", "digits", "p", 0, 8, "none", np.arange(n), score, np.zeros(n))
    row = runs.evaluate(store, "nb201", "digits", "test_acc", where=["latency_pixel3<100"])[0]
    assert row["n"] == 100 and row["spearman"] == pytest.approx(stats.spearmanr(score[:100], truth[:100])[0])
    r = run(tmp_path / "w.db", "proxies", "eval", "--dataset", "digits", "--where", "latency_pixel3<100",
            "--bootstrap", "0", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["n"] == 100, r.output


@pytest.fixture(scope="module")
def nb201_classes() -> dict[str, list[int]]:
    """NB201's isomorphism classes from the canonical strings, the oracle of the by-class tests."""
    classes: dict[str, list[int]] = {}
    for i in range(nb201.NUM_ARCHS):
        classes.setdefault(nb201.canonical(i), []).append(i)
    return classes


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(0, 3000))
def test_answer_by_class_takes_the_smallest_scored_member_of_each_class(nb201_classes, seed, n_rows):
    from zcdb.spaces import get_space

    rng = np.random.default_rng(seed)
    rows = rng.choice(nb201.NUM_ARCHS, size=n_rows, replace=False)
    arr = np.full(nb201.NUM_ARCHS, np.nan)
    arr[rows] = np.where(rng.random(n_rows) < 0.1, np.nan, rng.normal(size=n_rows))  # some rows NaN
    out = runs.answer_by_class(get_space("nb201"), arr, rows)
    has = set(rows.tolist())
    for members in nb201_classes.values():
        scored = [m for m in members if m in has]
        for m in members:
            want = arr[m] if m in has else (arr[min(scored)] if scored else np.nan)
            assert out[m] == want or (np.isnan(out[m]) and np.isnan(want))


def test_eval_by_class_answers_the_whole_space_from_the_representatives_table(tmp_path):
    """The shipped digits proxies score one member per class; --by-class evaluates them on all 15,625."""
    db = tmp_path / "d.db"
    for name in ("nb201-digits", "nb201-digits-proxies"):
        assert run(db, "import", "builtin", name).exit_code == 0
    base = ["proxies", "eval", "--dataset", "digits", "--metric", "test_acc", "--proxies", "params,nwot",
            "--bootstrap", "0", "--json"]
    reps = {d["proxy"]: d for d in json.loads(run(db, *base).output)}
    r = run(db, *base, "--by-class")
    assert r.exit_code == 0, r.output
    whole = {d["proxy"]: d for d in json.loads(r.output)}
    with zcdb.open(db) as s:
        truth = s.benchmark("nb201", "digits").values("test_acc")
        assert np.isfinite(truth).sum() == nb201.NUM_ARCHS  # the benchmark answers aliases itself
        rep = nb201.canonical_representatives()
        own, filled = {}, {}
        for p in ("params", "nwot"):
            (set_,) = [x for x in s.proxy_runs("nb201", "digits") if x["proxy"] == p and x["seed"] == 0]
            own[p] = runs.scores(s, "nb201", "digits", p, 0, set_["batch_size"], set_["data"])
            filled[p] = own[p][rep]  # every class's representative is scored in this table
    common_own = np.isfinite(own["params"]) & np.isfinite(own["nwot"])
    common = np.isfinite(filled["params"]) & np.isfinite(filled["nwot"])
    for p in ("params", "nwot"):
        assert reps[p]["n"] == common_own.sum() < 6500 < 15000 < whole[p]["n"] == common.sum()
        assert whole[p]["spearman"] == pytest.approx(stats.spearmanr(filled[p][common], truth[common])[0])
        assert reps[p]["spearman"] != pytest.approx(whole[p]["spearman"])


def test_by_class_on_a_space_without_a_canonical_form_is_one_line():
    from zcdb.errors import ZcdbError
    from zcdb.spaces.base import SearchSpace

    class NoClasses(SearchSpace):
        name = "no-classes"
        size = 4

    with pytest.raises(ZcdbError, match="space no-classes has no canonical form.*drop --by-class"):
        runs.answer_by_class(NoClasses(), np.zeros(4), np.arange(2))
