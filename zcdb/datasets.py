"""Image datasets for proxies: readers of the standard on-disk formats and a seeded batch sampler.

:data:`DATASETS` is the one registry: dataset name -> :class:`DatasetInfo` (classes,
input shape, NAS-Bench-201's normalization, the folder and files of each split,
and the reader). Adding a dataset means adding one entry here.

Formats read (never downloaded: the caller says where the files are):

* ``cifar10``: the CIFAR-10 Python batches, folder ``cifar-10-batches-py``
  (``data_batch_1`` .. ``data_batch_5`` for ``train``, ``test_batch`` for ``test``);
  pickles with keys ``data`` ((N, 3072) uint8, planes R, G, B, row-major 32x32) and ``labels``.
* ``cifar100``: folder ``cifar-100-python`` (``train``, ``test``), keys ``data`` and ``fine_labels``.
* ``ImageNet16-120``: NAS-Bench-201's 16x16 downsampled ImageNet (folder ``ImageNet16``,
  ``train_data_batch_1`` .. ``train_data_batch_10`` for ``train``, ``val_data`` for ``test``),
  keys ``data`` ((N, 768) uint8, planes of 16x16) and ``labels`` (1-based over 1000 classes).
  As NAS-Bench-201's ``ImageNet16(..., use_num_of_class_only=120)`` does, only images
  with label 1..120 are kept, and labels are shifted to 0..119.

The pickles were written by Python 2, so they are read with ``encoding="latin1"``;
keys come back as ``str`` or ``bytes`` depending on the writer, and both are accepted.
They are unpickled restricted to plain data (dicts, lists, bytes, numbers, numpy arrays:
the importers' allowlist), so a batch file that names any other global, e.g. ``os.system``,
is refused before anything runs.

Nothing is read at import; torch is imported only by :func:`sample_batch`.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Union

import numpy as np

from .errors import CorruptFile, UnknownDataset, ZcdbError

if TYPE_CHECKING:  # pragma: no cover
    import torch

PathLike = Union[str, "os.PathLike[str]"]
#: A reader: ``(folder, split) -> (images uint8 (N, C, H, W), labels int64 (N,))``.
Reader = Callable[[Path, str], "tuple[np.ndarray, np.ndarray]"]

__all__ = ["DatasetInfo", "DATASETS", "check_split", "dataset_info", "load", "normalize", "sample_batch", "sample_indices"]


@dataclass(frozen=True)
class DatasetInfo:
    """What zcdb knows about one dataset."""

    name: str
    num_classes: int
    #: Input shape of one image, ``(channels, height, width)``.
    shape: tuple[int, int, int]
    #: Per-channel mean and std on the 0..1 scale (NAS-Bench-201's values).
    mean: tuple[float, ...]
    std: tuple[float, ...]
    #: Conventional folder name; :func:`load` accepts the folder itself or its parent.
    folder: str
    #: Split name -> the files that make it up, in reading order.
    splits: Mapping[str, tuple[str, ...]]
    reader: Reader
    #: The data ships with an installed package (no files, no ``root`` needed).
    bundled: bool = False

    @property
    def input_size(self) -> int:
        """Side of the (square) input image, in pixels."""
        return self.shape[1]


# --------------------------------------------------------------------------- readers
def _read_pickle(path: Path, dataset: str) -> dict[str, Any]:
    from zcdb.tabular._safe_pickle import DataUnpickler, RefusedGlobal

    if not path.is_file():
        raise CorruptFile(f"{dataset}: missing file {path}: restore it from the original archive")
    try:
        with open(path, "rb") as f:
            obj = DataUnpickler(f, encoding="latin1").load()
    except RefusedGlobal as exc:
        raise CorruptFile(f"{dataset}: {path} holds a pickled {exc.qualname}, which is not image data; zcdb does not "
                          "run code from data files: re-extract the batch from the original archive") from None
    except (pickle.UnpicklingError, RecursionError, OverflowError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError, UnicodeDecodeError, MemoryError) as exc:
        raise CorruptFile(
            f"{dataset}: {path} is not a readable pickle ({type(exc).__name__}): re-extract it from the original archive"
        ) from None
    if not isinstance(obj, dict):
        raise CorruptFile(f"{dataset}: {path} holds a {type(obj).__name__}, not a batch dict: re-extract it from the original archive")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_batches(folder: Path, files: tuple[str, ...], dataset: str, label_key: str,
                  side: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in files:
        path = folder / name
        batch = _read_pickle(path, dataset)
        if "data" not in batch or label_key not in batch:
            raise CorruptFile(
                f"{dataset}: {path} lacks the keys 'data' and {label_key!r} (has {sorted(map(str, batch))}): "
                "re-extract it from the original archive"
            )
        data = np.asarray(batch["data"])
        lab = np.asarray(batch[label_key])
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * side * side or lab.shape != (len(data),):
            raise CorruptFile(
                f"{dataset}: {path} holds data {data.dtype}{data.shape} and {lab.shape[0] if lab.ndim else 0} labels, "
                f"expected uint8 (N, {3 * side * side}) and N labels: re-extract it from the original archive"
            )
        images.append(data.reshape(-1, 3, side, side))
        labels.append(lab.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _read_cifar10(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return _read_batches(folder, DATASETS["cifar10"].splits[split], "cifar10", "labels", 32)


def _read_cifar100(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return _read_batches(folder, DATASETS["cifar100"].splits[split], "cifar100", "fine_labels", 32)


def _read_imagenet16_120(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _read_batches(folder, DATASETS["ImageNet16-120"].splits[split], "ImageNet16-120", "labels", 16)
    keep = (y >= 1) & (y <= 120)  # NAS-Bench-201: use_num_of_class_only=120 keeps labels 1..120
    return x[keep], y[keep] - 1


#: Fixed stratified split of scikit-learn's digits: fraction of train and of val (test: the rest).
_DIGITS_SPLIT = (0.5, 0.25)


def _read_digits(folder: Any, split: str) -> tuple[np.ndarray, np.ndarray]:
    # The 8x8 digits that ship inside scikit-learn (1,797 images, values 0..16): real data,
    # no download. Rescaled to 0..255 uint8 like the other readers; split once, stratified,
    # with split seed 0, so every run of every machine sees the same train/val/test images.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = np.round(d.images * (255 / 16)).astype(np.uint8)[:, None]
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, train_size=_DIGITS_SPLIT[0], stratify=y, random_state=0)
    val_frac = _DIGITS_SPLIT[1] / (1 - _DIGITS_SPLIT[0])
    val, test = train_test_split(rest, train_size=val_frac, stratify=y[rest], random_state=0)
    pick = {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}[split]
    return x[pick], y[pick]


# --------------------------------------------------------------------------- the registry
def _scaled(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(v / 255 for v in values)


#: Every dataset zcdb can load, by name. Means and stds are NAS-Bench-201's
#: (``get_datasets`` in its ``lib/datasets/get_dataset_with_transform.py``).
DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(
        name="cifar10", num_classes=10, shape=(3, 32, 32),
        mean=_scaled((125.3, 123.0, 113.9)), std=_scaled((63.0, 62.1, 66.7)),
        folder="cifar-10-batches-py",
        splits={"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
        reader=_read_cifar10,
    ),
    "cifar100": DatasetInfo(
        name="cifar100", num_classes=100, shape=(3, 32, 32),
        mean=_scaled((129.3, 124.1, 112.4)), std=_scaled((68.2, 65.4, 70.4)),
        folder="cifar-100-python",
        splits={"train": ("train",), "test": ("test",)},
        reader=_read_cifar100,
    ),
    "ImageNet16-120": DatasetInfo(
        name="ImageNet16-120", num_classes=120, shape=(3, 16, 16),
        mean=_scaled((122.68, 116.66, 104.01)), std=_scaled((63.22, 61.26, 65.09)),
        folder="ImageNet16",
        splits={"train": tuple(f"train_data_batch_{i}" for i in range(1, 11)), "test": ("val_data",)},
        reader=_read_imagenet16_120,
    ),
    "digits": DatasetInfo(
        name="digits", num_classes=10, shape=(1, 8, 8),
        # Mean and std of the train split on the 0..1 scale (zcdb's choice; there is no official value).
        mean=(0.3039,), std=(0.3751,),
        folder="", splits={"train": (), "val": (), "test": ()},
        reader=_read_digits, bundled=True,
    ),
}


def dataset_info(dataset: str) -> DatasetInfo:
    """The registry entry of ``dataset``; :class:`UnknownDataset` naming the known ones otherwise."""
    info = DATASETS.get(dataset)
    if info is None:
        raise UnknownDataset(f"unknown dataset {dataset!r}: known datasets are {', '.join(DATASETS)}")
    return info


# --------------------------------------------------------------------------- loading
def _resolve_folder(info: DatasetInfo, root: PathLike) -> Path:
    root = Path(root).expanduser()
    if (root / info.folder).is_dir():
        return root / info.folder
    if root.is_dir():
        return root
    raise CorruptFile(
        f"{info.name}: no folder {root}: pass the {info.folder!r} folder (or its parent) as root"
    )


def check_split(dataset: str, split: str) -> "DatasetInfo":
    """The dataset's :class:`DatasetInfo`; :class:`UnknownDataset` if it has no split ``split``."""
    info = dataset_info(dataset)
    if split not in info.splits:
        raise UnknownDataset(f"{dataset} has no split {split!r}: use --split with one of {', '.join(info.splits)}")
    return info


def load(dataset: str, root: PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """All images and labels of one split: ``(uint8 (N, C, H, W), int64 (N,))``, unnormalized.

    ``root`` is the dataset's folder (e.g. ``cifar-10-batches-py``) or its parent.
    Raises :class:`UnknownDataset` for an unknown dataset or split and
    :class:`CorruptFile` (listing what the folder holds) for missing or unreadable files.
    """
    info = check_split(dataset, split)
    if info.bundled:
        return info.reader(None, split)
    folder = _resolve_folder(info, root)
    missing = [f for f in info.splits[split] if not (folder / f).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        available = [s for s, files in info.splits.items() if all((folder / f).is_file() for f in files)]
        hint = f"use the {available[0]} split (--split {available[0]})" if available else f"put the {info.folder} files there"
        raise CorruptFile(
            f"{dataset} split {split!r} needs {', '.join(missing)} in {folder}, which holds "
            f"{', '.join(present) or 'nothing'}: {hint}"
        )
    return info.reader(folder, split)


def normalize(images: np.ndarray, dataset: str) -> np.ndarray:
    """uint8 ``(N, C, H, W)`` images as float32, scaled to 0..1 and normalized per channel."""
    info = dataset_info(dataset)
    mean = np.asarray(info.mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(info.std, dtype=np.float32).reshape(1, -1, 1, 1)
    return (images.astype(np.float32) / np.float32(255) - mean) / std


def sample_indices(n: int, batch_size: int, seed: int) -> np.ndarray:
    """``batch_size`` distinct indices in ``0..n-1``, a pure function of ``(n, batch_size, seed)``.

    Ranks indices by the raw 64-bit output of PCG64 seeded with ``seed``: the raw
    stream is fixed by the PCG64 definition, unlike ``Generator.choice``, whose
    algorithm numpy may change between versions. Sorted, so batches read in file order.
    """
    if not 0 < batch_size <= n:
        raise ZcdbError(f"cannot draw a batch of {batch_size} from {n} images: use 1..{n}")
    keys = np.random.PCG64(seed).random_raw(n)
    return np.sort(np.argsort(keys, kind="stable")[:batch_size])


def sample_batch(dataset: str, root: PathLike, batch_size: int, seed: int,
                 split: str = "train") -> "tuple[torch.Tensor, torch.Tensor]":
    """A seeded batch: ``(x float32 (B, C, H, W) normalized, y int64 (B,))``.

    The same ``(dataset, files, split, batch_size, seed)`` gives the same batch on
    any machine. For proxies a batch of the CIFAR-10 ``test`` split may stand in for
    a training batch (the shared data has only ``test_batch``): pass ``split="test"``.
    """
    import torch

    images, labels = load(dataset, root, split)
    idx = sample_indices(len(images), batch_size, seed)
    x = torch.from_numpy(np.ascontiguousarray(normalize(images[idx], dataset)))
    y = torch.from_numpy(labels[idx].astype(np.int64))
    return x, y
