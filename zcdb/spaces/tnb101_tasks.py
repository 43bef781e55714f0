"""The seven TransNAS-Bench-101 tasks, shared by its two spaces (``tnb101-micro``, ``tnb101-macro``).

TransNAS-Bench-101 (Duan et al., CVPR 2021) trains every architecture of both spaces on seven
tasks of the Taskonomy data, each with its own decoder, loss, metric and schedule. NASLib,
and so NAS-Bench-Suite-Zero's files, report one number per task under the name
``val_accuracy``: TransNAS-Bench's metric that NASLib maps to its ``VAL_ACCURACY``
(``naslib/search_spaces/transbench101/graph.py``, ``query``), read at the final epoch
(``get_single_metric(..., mode='final')`` in the NASLib version that built the
Suite-Zero networks from TransNAS-Bench strings; older NASLib versions read the best epoch).
That number is a different quantity per task; :data:`TASKS` says which, and zcdb stores it
under a metric name that says so, with the direction its sign calls for:

================  ===================  ==============  ===============================================
task              released metric      zcdb metric     meaning (higher is better for all seven)
================  ===================  ==============  ===============================================
class_scene       ``valid_top1``       ``val_acc``     top-1 accuracy, percent (63 scene classes)
class_object      ``valid_top1``       ``val_acc``     top-1 accuracy, percent (100 object classes)
jigsaw            ``valid_top1``       ``val_acc``     top-1 accuracy, percent (1,000 tile permutations)
room_layout       ``valid_neg_loss``   ``val_neg_loss`` the validation MSE loss negated (<= 0)
segmentsemantic   ``valid_acc``        ``val_pixel_acc`` pixel accuracy, percent (not mIoU)
normal            ``valid_ssim``       ``val_ssim``    SSIM of the predicted surface normals (-1..1)
autoencoder       ``valid_ssim``       ``val_ssim``    SSIM of the reconstructed image (-1..1)
================  ===================  ==============  ===============================================

The epochs are the lengths of TransNAS-Bench-101's schedules (its ``configs/train_from_scratch``):
the final epoch is where the released value is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import UnknownDataset


@dataclass(frozen=True)
class Task:
    """One TransNAS-Bench-101 task and the quantity NAS-Bench-Suite-Zero's ``val_accuracy`` holds for it."""

    name: str
    #: What the network predicts.
    description: str
    #: TransNAS-Bench-101's metric that NASLib reads as ``val_accuracy``.
    released: str
    #: zcdb's metric name for it (:mod:`zcdb.store` knows its direction and range).
    metric: str
    #: The unit, in words.
    unit: str
    #: Length of the task's schedule: the released value is the last epoch's.
    epochs: int


#: Task name -> :class:`Task`, in TransNAS-Bench-101's order (``api.task_list``).
TASKS: dict[str, Task] = {t.name: t for t in (
    Task("class_scene", "scene classification", "valid_top1", "val_acc", "top-1 accuracy, percent", 25),
    Task("class_object", "object classification", "valid_top1", "val_acc", "top-1 accuracy, percent", 25),
    Task("room_layout", "room layout regression", "valid_neg_loss", "val_neg_loss",
         "negative MSE (L2) loss, <= 0", 25),
    Task("jigsaw", "jigsaw puzzle (self-supervised)", "valid_top1", "val_acc", "top-1 accuracy, percent", 10),
    Task("segmentsemantic", "semantic segmentation", "valid_acc", "val_pixel_acc", "pixel accuracy, percent", 30),
    Task("normal", "surface normal estimation", "valid_ssim", "val_ssim", "SSIM, -1..1", 30),
    Task("autoencoder", "image reconstruction (autoencoding)", "valid_ssim", "val_ssim", "SSIM, -1..1", 30),
)}


def get_task(name: str) -> Task:
    """The task ``name``; :class:`UnknownDataset` naming the seven otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise UnknownDataset(f"TransNAS-Bench-101 has no task {name!r}: use one of {', '.join(TASKS)}") from None


def suite_zero_metric(dataset: str) -> tuple[str, int]:
    """Metric name and (final) epoch of NAS-Bench-Suite-Zero's ``val_accuracy`` on task ``dataset``."""
    t = get_task(dataset)
    return t.metric, t.epochs


def protocol_epochs(protocol: str, dataset: str) -> Optional[int]:
    """The last epoch of TransNAS-Bench-101's schedule for task ``dataset`` (None for another task)."""
    t = TASKS.get(dataset)
    return t.epochs if t is not None and protocol == "tnb101" else None


class TaskDatasets:
    """What both TransNAS-Bench-101 spaces (micro and macro) share: the seven tasks as their
    datasets, trained by the ``tnb101`` protocol (each task's own schedule, :data:`TASKS`) and
    read by NAS-Bench-Suite-Zero at the final epoch. Listed first among a space's bases."""

    #: TransNAS-Bench-101's own per-task recipes, read at each task's final epoch.
    default_protocol = "tnb101"
    #: The seven tasks (the benchmark's datasets).
    tasks = tuple(TASKS)
    benchmark_datasets = tasks

    def protocol_epochs(self, protocol: str, dataset: str) -> Optional[int]:
        """``tnb101``: the task's schedule (:data:`TASKS`); any other protocol as the base class says."""
        if protocol == "tnb101":
            return protocol_epochs(protocol, dataset)
        return super().protocol_epochs(protocol, dataset)  # type: ignore[misc]

    def suite_zero_metric(self, dataset: str) -> tuple[str, int]:
        return suite_zero_metric(dataset)
