"""Dataset readers on format-true fixtures (written here, in the original pickle layouts) and the real CIFAR-10 test set."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from zcdb.datasets import DATASETS, dataset_info, load, normalize, sample_batch, sample_indices
from zcdb.errors import CorruptFile, UnknownDataset, ZcdbError

from .conftest import require_shared


# --------------------------------------------------------------------------- format-true writers
class Py2Str(bytes):
    """A Python 2 ``str``: pickled as STRING, so it loads as bytes (encoding="bytes") or str (latin1)."""


class _Py2Pickler(pickle._Pickler):  # the pure-Python pickler, whose dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2str(self, obj: Py2Str) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + bytes(obj))
        self.memoize(obj)

    dispatch[Py2Str] = _save_py2str


def write_py2_pickle(obj, path: Path) -> None:
    """Write ``obj`` as the CIFAR batches are: protocol 4, dict keys and strings as Python 2 ``str``."""
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=4).dump(obj)


def _images(rng, n: int, side: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3 * side * side), dtype=np.uint8)


def make_cifar10(folder: Path, per_batch: int = 4, train: bool = True, seed: int = 0) -> dict[str, tuple]:
    """A ``cifar-10-batches-py`` folder with tiny batches; returns each file's (data, labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = ["test_batch"] + ([f"data_batch_{i}" for i in range(1, 6)] if train else [])
    written = {}
    for name in names:
        data, labels = _images(rng, per_batch, 32), rng.integers(0, 10, per_batch).tolist()
        write_py2_pickle({Py2Str(b"batch_label"): Py2Str(f"{name} of 5".encode()),
                          Py2Str(b"labels"): labels, Py2Str(b"data"): data,
                          Py2Str(b"filenames"): [Py2Str(f"img_{i}.png".encode()) for i in range(per_batch)]},
                         folder / name)
        written[name] = (data, labels)
    write_py2_pickle({Py2Str(b"num_cases_per_batch"): per_batch, Py2Str(b"num_vis"): 3072,
                      Py2Str(b"label_names"): [Py2Str(b"airplane")] * 10}, folder / "batches.meta")
    return written


def make_cifar100(folder: Path, n: int = 6, seed: int = 1) -> dict[str, tuple]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in ("train", "test"):
        data, fine = _images(rng, n, 32), rng.integers(0, 100, n).tolist()
        write_py2_pickle({Py2Str(b"filenames"): [Py2Str(b"x.png")] * n, Py2Str(b"batch_label"): Py2Str(name.encode()),
                          Py2Str(b"fine_labels"): fine, Py2Str(b"coarse_labels"): [f // 5 for f in fine],
                          Py2Str(b"data"): data}, folder / name)
        written[name] = (data, fine)
    write_py2_pickle({Py2Str(b"fine_label_names"): [Py2Str(b"apple")] * 100,
                      Py2Str(b"coarse_label_names"): [Py2Str(b"fruit")] * 20}, folder / "meta")
    return written


def make_imagenet16(folder: Path, per_batch: int = 6, seed: int = 2) -> dict[str, tuple]:
    """NAS-Bench-201's ``ImageNet16`` folder: str keys, labels 1-based over 1000 classes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]:
        data = _images(rng, per_batch, 16)
        labels = [1, 120, 121, 1000] + rng.integers(1, 1001, per_batch - 4).tolist()
        entry = {"data": data, "labels": labels}
        if name != "val_data":
            entry["mean"] = data.mean(axis=0)
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
        written[name] = (data, labels)
    return written


# --------------------------------------------------------------------------- readers
def test_registry_is_plain_data():
    assert list(DATASETS)[:3] == ["cifar10", "cifar100", "ImageNet16-120"]
    assert [(DATASETS[d].num_classes, DATASETS[d].shape) for d in ("cifar10", "cifar100", "ImageNet16-120")] == [
        (10, (3, 32, 32)), (100, (3, 32, 32)), (120, (3, 16, 16))]
    assert all(name == info.name for name, info in DATASETS.items())
    assert dataset_info("cifar10").input_size == 32


def test_cifar10_pixel_layout_and_splits(tmp_path):
    written = make_cifar10(tmp_path / "cifar-10-batches-py")
    x, y = load("cifar10", tmp_path, "train")  # the parent folder works too
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    data, labels = written["data_batch_1"]
    assert np.array_equal(x[0, 0], data[0, :1024].reshape(32, 32))  # R plane, row-major
    assert np.array_equal(x[0, 2], data[0, 2048:].reshape(32, 32))
    assert y[:4].tolist() == labels
    assert y[16:].tolist() == written["data_batch_5"][1]
    xt, yt = load("cifar10", tmp_path / "cifar-10-batches-py", "test")
    assert np.array_equal(xt.reshape(4, -1), written["test_batch"][0]) and yt.tolist() == written["test_batch"][1]


def test_fixture_is_format_true(tmp_path):
    make_cifar10(tmp_path, train=False)
    with open(tmp_path / "test_batch", "rb") as f:
        as_bytes = pickle.load(f, encoding="bytes")
    with open(tmp_path / "test_batch", "rb") as f:
        as_latin1 = pickle.load(f, encoding="latin1")
    assert set(as_bytes) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert set(as_latin1) == {"batch_label", "labels", "data", "filenames"}


def test_cifar100_fine_labels(tmp_path):
    written = make_cifar100(tmp_path / "cifar-100-python")
    x, y = load("cifar100", tmp_path, "train")
    assert x.shape == (6, 3, 32, 32)
    assert y.tolist() == written["train"][1]
    assert load("cifar100", tmp_path, "test")[1].tolist() == written["test"][1]


def test_imagenet16_keeps_120_classes_zero_based(tmp_path):
    written = make_imagenet16(tmp_path / "ImageNet16")
    x, y = load("ImageNet16-120", tmp_path, "test")
    data, labels = written["val_data"]
    keep = [i for i, lab in enumerate(labels) if lab <= 120]
    assert y.tolist() == [labels[i] - 1 for i in keep] and y.min() >= 0 and y.max() <= 119
    assert x.shape == (len(keep), 3, 16, 16)
    assert np.array_equal(x[1, 1], data[keep[1], 256:512].reshape(16, 16))
    xt, yt = load("ImageNet16-120", tmp_path, "train")
    assert len(xt) == sum(sum(lab <= 120 for lab in written[f"train_data_batch_{i}"][1]) for i in range(1, 11))


# --------------------------------------------------------------------------- errors
def test_only_test_batch_names_what_is_there(tmp_path):
    make_cifar10(tmp_path, train=False)
    with pytest.raises(CorruptFile) as e:
        load("cifar10", tmp_path, "train")
    msg = str(e.value)
    assert "data_batch_1" in msg and "test_batch, batches.meta" not in msg.split("holds")[0]
    assert "batches.meta, test_batch" in msg and "--split test" in msg and "\n" not in msg
    assert load("cifar10", tmp_path, "test")[0].shape == (4, 3, 32, 32)


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_bytes(p.read_bytes()[:100]), "not a readable pickle"),
    (lambda p: p.write_bytes(b"not a pickle at all"), "not a readable pickle"),
    (lambda p: p.write_bytes(pickle.dumps([1, 2, 3])), "not a batch dict"),
    (lambda p: p.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8)})), "lacks the keys"),
    (lambda p: p.write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})),
     "expected uint8"),
])
def test_corrupt_files(tmp_path, damage, match):
    make_cifar10(tmp_path, train=False)
    damage(tmp_path / "test_batch")
    with pytest.raises(CorruptFile, match=match) as e:
        load("cifar10", tmp_path, "test")
    assert "\n" not in str(e.value)


def test_missing_folder_unknown_dataset_and_split(tmp_path):
    with pytest.raises(CorruptFile, match="no folder"):
        load("cifar10", tmp_path / "nowhere", "test")
    with pytest.raises(UnknownDataset, match="known datasets are cifar10, cifar100, ImageNet16-120"):
        load("mnist", tmp_path)
    with pytest.raises(UnknownDataset, match="use --split with one of train, test"):
        load("cifar10", tmp_path, "valid")


# --------------------------------------------------------------------------- sampler
def test_sample_batch_is_normalized_and_deterministic(tmp_path):
    written = make_cifar10(tmp_path, per_batch=10)
    x, y = sample_batch("cifar10", tmp_path, 8, seed=3)
    assert x.dtype == torch.float32 and x.shape == (8, 3, 32, 32) and y.dtype == torch.int64
    x2, y2 = sample_batch("cifar10", tmp_path, 8, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = sample_batch("cifar10", tmp_path, 8, seed=4)
    assert not torch.equal(x, x3)
    raw, labels = load("cifar10", tmp_path, "train")
    idx = sample_indices(len(raw), 8, 3)
    assert np.allclose(x.numpy(), normalize(raw[idx], "cifar10")) and y.tolist() == labels[idx].tolist()
    info = dataset_info("cifar10")
    expected = (raw[idx[0], 1, 0, 0] / 255 - info.mean[1]) / info.std[1]
    assert x[0, 1, 0, 0].item() == pytest.approx(expected, abs=1e-6)
    assert len(written) == 6


def test_sample_indices_are_pinned():
    # the raw PCG64 stream is fixed by its definition: these are the same on every machine
    assert sample_indices(100, 5, 0).tolist() == [3, 11, 13, 20, 92]
    assert sample_indices(10000, 8, 123).tolist() == [326, 451, 1724, 2459, 3084, 5960, 7251, 9723]
    idx = sample_indices(50, 50, 7)
    assert idx.tolist() == list(range(50))
    with pytest.raises(ZcdbError, match="cannot draw a batch of 51"):
        sample_indices(50, 51, 0)


# --------------------------------------------------------------------------- real data
@pytest.mark.shared
def test_real_cifar10_test_batch():
    root = require_shared("cifar10", "cifar-10-batches-py")
    x, y = load("cifar10", root.parent, "test")
    assert x.shape == (10000, 3, 32, 32) and np.bincount(y).tolist() == [1000] * 10
    xb, yb = sample_batch("cifar10", root, 64, seed=0, split="test")
    assert xb.shape == (64, 3, 32, 32) and yb.min() >= 0 and yb.max() <= 9
    assert abs(xb.mean().item()) < 0.3 and 0.7 < xb.std().item() < 1.3  # normalized with CIFAR-10 statistics
    with pytest.raises(CorruptFile, match="--split test"):
        sample_batch("cifar10", root, 64, seed=0)


def test_a_misspelt_split_is_refused_even_for_data_free_proxies(tmp_path):
    # synflow reads no batch, but its stored set records the split: `--split tset` must not pass
    from click.testing import CliRunner

    from zcdb.cli import main

    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["--db", str(db), "proxies", "compute", "--space", "nb201", "--dataset", "cifar10",
                                  "--proxies", "synflow", "--archs-file", "unique", "--split", "tset"])
    assert r.exit_code != 0
    line = r.output.strip().splitlines()[-1]
    assert "no split 'tset'" in line and "--split" in line and "one of train, test" in line
    if db.exists():  # nothing was computed or stored
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM proxy_scores").fetchone()[0] == 0
