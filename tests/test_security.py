"""No file zcdb reads can run code: surrogate files, image batches, importer pickles.

Each gadget is a pickle built opcode by opcode (as an attacker would write it) whose
unrestricted loading creates a marker file; the tests check it is refused with a
one-line error and that the marker never appears.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile, ZcdbError
from zcdb.spaces import nb201
from zcdb.surrogates import fitting as F
from zcdb.surrogates import model as M
from zcdb.tabular import _safe_pickle

from ._gadgets import gadgets, memmap_gadget, rewrite_models
from .conftest import run_cli as run


# --------------------------------------------------------------------------- surrogate files
@pytest.fixture(scope="module")
def small_bench():
    s = zcdb.open(":memory:")
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(nb201.NUM_ARCHS, 300, replace=False))
    with s.importing("synthetic", "test", new_dataset=True) as imp:
        imp.add_evaluations("nb201", "synth", "synth-v1", "test_acc", 12, -1, idx, rng.uniform(10, 90, idx.size))
    yield s.benchmark("nb201", "synth")
    s.close()


_rewrite = rewrite_models


def _saved(bench, tmp_path, **kw) -> Path:
    train = np.flatnonzero(np.isfinite(bench.values("test_acc")))[:60]
    return F.fit(bench, "test_acc", "onehot", train, **kw).save(tmp_path / "m.zcs")


def test_every_saved_regressor_needs_only_allowlisted_globals_and_loads_back(tmp_path):
    """The exact allowlist covers what zcdb's regressors pickle, under every uncertainty and target."""
    seen: set[tuple[str, str]] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add((module, name))
            return super().find_class(module, name)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    X[::7, 1] = np.nan
    y = X[:, 0] * 3 + rng.normal(size=60)
    Xc = np.nan_to_num(X)
    for name in M.REGRESSORS:
        for unc in (None, "bootstrap", "quantile"):
            if name == "rf" and unc == "quantile":
                continue
            for target in M.TARGETS:
                with M._threads(1):
                    models = F._fit_models(F.make_regressor(name, 0, 60), Xc if name == "gbr" else X, y, 0, unc,
                                           2, (0.1, 0.9), target)
                blob = pickle.dumps(models, protocol=pickle.HIGHEST_PROTOCOL)
                Recorder(io.BytesIO(blob)).load()
                back = _safe_pickle.load_estimators(io.BytesIO(blob))
                M._check_trees(back, Path("m.zcs"))
                for a, b in zip(models, back):
                    np.testing.assert_array_equal(a.predict(Xc), b.predict(Xc))
    allowed = _safe_pickle._DATA_GLOBALS | _safe_pickle._ESTIMATOR_GLOBALS
    assert {g for g in seen if g[0] != "numpy.dtypes"} <= allowed
    assert all("." not in name for _, name in allowed)  # exact names, never an attribute path
    # nothing listed opens files or maps memory
    assert not any(n in ("memmap", "open_memmap", "load", "open", "fromfile") for _, n in allowed)


@pytest.mark.parametrize("gadget", list(gadgets(Path("x"))))
def test_crafted_surrogate_files_are_refused_and_write_nothing(small_bench, tmp_path, gadget):
    marker = tmp_path / "pwned.pth"
    path = _saved(small_bench, tmp_path)
    _rewrite(path, gadgets(marker)[gadget])
    with pytest.raises(ZcdbError) as e:
        M.load(path, small_bench)
    assert "\n" not in str(e.value) and "trust=True" in str(e.value)
    assert not marker.exists()


def test_the_memmap_gadget_through_the_cli_is_one_line_and_writes_nothing(tmp_path):
    """What the issue reported: `zcdb surrogate eval` (no --trust) on a crafted file wrote a .pth file."""
    db = tmp_path / "s.db"
    s = zcdb.open(db)
    rng = np.random.default_rng(1)
    idx = np.sort(rng.choice(nb201.NUM_ARCHS, 200, replace=False))
    with s.importing("synthetic", "test", new_dataset=True) as imp:
        imp.add_evaluations("nb201", "synth", "synth-v1", "test_acc", 12, -1, idx, rng.uniform(10, 90, idx.size))
    path = _saved(s.benchmark("nb201", "synth"), tmp_path)
    s.close()
    marker = tmp_path / "site-packages" / "evil.pth"
    marker.parent.mkdir()
    _rewrite(path, memmap_gadget(marker))
    r = run(db, "surrogate", "eval", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and "numpy.random.mtrand.np.memmap" in r.output
    assert not marker.exists() and list(marker.parent.iterdir()) == []


def test_a_tree_linking_outside_its_nodes_is_refused(small_bench, tmp_path):
    for model in ("hgb", "rf"):
        path = _saved(small_bench, tmp_path, model=model)
        sur = M.load(path, small_bench)
        est = sur.models[0].regressor_
        if model == "hgb":
            nodes = est._predictors[0][0].nodes
            nodes["left"][~nodes["is_leaf"].astype(bool)] = 10 ** 6
        else:
            tree = est.estimators_[0].tree_
            state = tree.__getstate__()
            inner = state["nodes"]["left_child"] != -1
            state["nodes"]["left_child"][inner] = 10 ** 6
            tree.__setstate__(state)
        _rewrite(path, pickle.dumps(sur.models, protocol=pickle.HIGHEST_PROTOCOL))
        with pytest.raises(CorruptFile, match="links outside its nodes: refit it"):
            M.load(path, small_bench)


# --------------------------------------------------------------------------- image batches
@pytest.mark.parametrize("dataset,folder,file", [
    ("cifar10", "cifar-10-batches-py", "test_batch"),
    ("cifar100", "cifar-100-python", "test"),
    ("ImageNet16-120", "ImageNet16", "val_data"),
])
def test_a_malicious_image_batch_is_refused_before_it_runs(tmp_path, dataset, folder, file):
    from zcdb.datasets import sample_batch

    marker = tmp_path / "ran"
    d = tmp_path / folder
    d.mkdir()
    for name, blob in gadgets(marker).items():
        (d / file).write_bytes(blob)
        with pytest.raises(CorruptFile) as e:
            sample_batch(dataset, str(tmp_path), 8, seed=0, split="test")
        assert "\n" not in str(e.value) and "re-extract" in str(e.value), name
        assert not marker.exists(), name


def test_a_malicious_batch_through_proxies_compute(tmp_path):
    marker = tmp_path / "ran"
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    (d / "test_batch").write_bytes(b"cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR.")
    r = run(tmp_path / "p.db", "proxies", "compute", "--dataset", "cifar10", "--data", str(d), "--split", "test",
            "--proxies", "nwot", "--sample", "1", "--quiet")
    assert r.exit_code == 2 and "os.system" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and not marker.exists()


def test_a_real_format_batch_still_loads(tmp_path):
    """Batches as the CIFAR site writes them (protocol 2, bytes keys, numpy arrays) pass the allowlist."""
    from zcdb.datasets import load

    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (20, 3072), dtype=np.uint8)
    labels = list(rng.integers(0, 10, 20))
    with open(d / "test_batch", "wb") as f:
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"data": data, b"labels": labels,
                     b"filenames": [b"x.png"] * 20}, f, protocol=2)
    x, y = load("cifar10", str(d), "test")
    np.testing.assert_array_equal(x.reshape(20, -1), data)
    np.testing.assert_array_equal(y, labels)


# --------------------------------------------------------------------------- importer pickles
def _as_pth(d: Path, blob: bytes) -> list[str]:
    (d / "NAS-Bench-201-v1_1-096897.pth").write_bytes(blob)
    return ["nb201-pth", str(d / "NAS-Bench-201-v1_1-096897.pth")]


def _as_nats(d: Path, blob: bytes) -> list[str]:
    import bz2

    root = d / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    (root / "meta.pickle.pbz2").write_bytes(bz2.compress(blob))
    return ["nats-tss", str(root)]


def _as_nats_sss(d: Path, blob: bytes) -> list[str]:
    import bz2

    from nats_bench import pickle_save

    from zcdb.spaces import get_space

    root = d / "NATS-sss-v1_0-50262-simple"
    root.mkdir()
    pickle_save({"meta_archs": list(get_space("nats-sss").all_strings()), "total_archs": 32768, "arch2infos": None,
                 "evaluated_indexes": set()}, str(root / "meta.pickle"))
    (root / "000007.pickle.pbz2").write_bytes(bz2.compress(blob))  # the gadget in a record, past a good meta
    return ["nats-sss", str(root)]


def _as_hw(d: Path, blob: bytes) -> list[str]:
    (d / "HW-NAS-Bench-v1_0.pickle").write_bytes(blob)
    return ["hw-nas-bench", str(d / "HW-NAS-Bench-v1_0.pickle")]


def _as_help(d: Path, blob: bytes) -> list[str]:
    import zipfile

    root = d / "nasbench201"
    (root / "latency").mkdir(parents=True)
    with zipfile.ZipFile(root / "str_arch2idx.pt", "w") as z:  # the first file the importer unpickles
        z.writestr("archive/data.pkl", blob)
    with zipfile.ZipFile(root / "latency" / "fpga.pt", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps([1.0], protocol=2))
    return ["help-latency", str(root)]


@pytest.mark.parametrize("fmt", [_as_pth, _as_nats, _as_nats_sss, _as_hw, _as_help],
                         ids=["nb201-pth", "nats-tss", "nats-sss", "hw-nas-bench", "help-latency"])
@pytest.mark.parametrize("gadget", list(gadgets(Path("x"))))
def test_importer_pickles_refuse_every_gadget(tmp_path, gadget, fmt):
    marker = tmp_path / "ran"
    d = tmp_path / "files"
    d.mkdir()
    args = fmt(d, gadgets(marker)[gadget])
    r = run(tmp_path / "i.db", "import", *args)
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not marker.exists()
