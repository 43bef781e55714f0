"""Format-true NAS-Bench-201 and NATS-Bench (topology and size) files, built with the official classes.

Tests and benchmarks cannot download the official files (4.7 GB for NAS-Bench-201 v1_1),
so these writers build small or full stand-ins from given final accuracies, with the
official packages' own ``ArchResults`` and ``ResultsCount``: ``nas_201_api.NASBench201API``
and ``nats_bench.create(..., "tss" or "sss", fast_mode=True)`` load them and answer
``get_more_info``, ``get_cost_info`` and ``query_by_index`` as they do on the real files.

``table`` maps an official dataset name (``cifar10-valid``, ``cifar10``, ``cifar100``,
``ImageNet16-120``) to ``{"test_acc": values, "val_acc": values}`` (either or both; percent,
after the longest schedule (200 epochs; 90 for the size space), averaged over seeds),
``values[k]`` belonging to architecture ``indices[k]``. Everything else is synthesized,
deterministically:

* per seed, final accuracies are the given ones plus offsets that average to zero over the
  seeds (-0.2, 0, +0.2 for three seeds), so the official seed-mean is the given value; a
  missing split copies the other; cifar100/ImageNet16-120's ``ori-test`` (valid + test) is
  the mean of the two; the 12-epoch ("less") results are 0.9 times the 200-epoch ones (size
  space: the 01- and 12-epoch ones 0.5 and 0.9 times the 90-epoch ones);
* curves rise as ``1 - exp(-6 (e + 1) / E)`` to the final value; losses are
  ``0.05 + 2.3 (1 - acc / 100)``; training accuracy ends 5 points above the test accuracy;
* ``params`` and ``flop`` are the exact counts of NAS-Bench-201's own counter (millions,
  MFLOPs; :func:`zcdb.spaces.nb201_cost.count_cost` with ``convention="nb201"``; for the size space,
  its exact formula, ``get_space("nats-sss").cost``);
  latency (seconds) and per-epoch times are made up from those and are equal for all
  seeds, as NATS-Bench's calibrated times are.

With ``curves=False`` the per-epoch records hold the final epoch only and no times, as
NAS-Bench-201 v1_0 stores some evaluations: files are ~40 times smaller and the APIs
answer every final-epoch query (``iepoch=None``). Use it for full 15,625-architecture
tables; ``curves=True`` builds every epoch (for small tables: tests).
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from zcdb.errors import ZcdbError
from zcdb.spaces import SearchSpace, nats_sss, nb201

#: Evaluation sets of each dataset, as in the official files.
EVAL_SETS: dict[str, tuple[str, ...]] = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
NUM_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
_EPOCH_SECONDS = {"cifar10-valid": 8.0, "cifar10": 16.0, "cifar100": 16.0, "ImageNet16-120": 48.0}
_CELLS_PER_STAGE = 5
_LESS_SCALE = 0.9
_SEED_STEP = 0.2
#: The size space's schedules as its files hold them: hp -> (epochs, seeds, fraction of the final accuracy).
SSS_SCHEDULES: dict[str, tuple[int, tuple[int, ...], float]] = {
    "01": (1, (777,), 0.5), "12": (12, (777, 888, 999), 0.9), "90": (90, (777,), 1.0)}
#: Every size-space network is this cell in NAS-Bench-201's skeleton, one cell per stage (xautodl's infer.shape.tiny).
SSS_GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
#: A schedule to synthesize: (key in the file, epochs, seeds, fraction of the final accuracy).
Schedule = tuple[str, int, Sequence[int], float]

Table = Mapping[str, Mapping[str, Sequence[float]]]


def write_nb201_pth(
    path: Union[str, os.PathLike], table: Table, *, indices: Optional[Sequence[int]] = None,
    seeds: Sequence[int] = (777, 888, 999), epochs: int = 200, less_epochs: int = 12, curves: bool = True,
) -> Path:
    """Write a NAS-Bench-201 ``.pth`` file (format of ``NAS-Bench-201-v1_1-096897.pth``).

    ``indices`` defaults to all 15,625 architectures (then every ``values`` has 15,625
    entries). See the module docstring for ``table`` and what is synthesized. Returns ``path``.
    """
    import torch
    from nas_201_api import ArchResults, ResultsCount

    arch2infos = {}
    schedules = [("full", epochs, seeds, 1.0), ("less", less_epochs, seeds, _LESS_SCALE)]
    for index, results in _build(nb201.SPACE, table, indices, schedules, curves, ArchResults, ResultsCount,
                                 _nb201_costs, _nb201_config):
        arch2infos[index] = {k: r.state_dict() for k, r in results.items()}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"meta_archs": list(nb201.all_strings()), "total_archs": nb201.NUM_ARCHS,
         "arch2infos": arch2infos, "evaluated_indexes": sorted(arch2infos)},
        p,
    )
    return p


def write_nats_tss(
    root: Union[str, os.PathLike], table: Table, *, indices: Optional[Sequence[int]] = None,
    seeds: Sequence[int] = (777, 888, 999), epochs: int = 200, less_epochs: int = 12, curves: bool = True,
) -> Path:
    """Write a NATS-Bench topology archive for fast mode (format of ``NATS-tss-v1_0-3ffb9-simple/``).

    ``root`` gets ``meta.pickle.pbz2`` and one ``{index:06d}.pickle.pbz2`` per architecture
    (``{"12": ArchResults state dict, "200": ...}``), written with ``nats_bench.pickle_save``.
    See the module docstring for ``table``. Returns ``root``.
    """
    from nats_bench import ArchResults, ResultsCount, pickle_save

    r = Path(root)
    r.mkdir(parents=True, exist_ok=True)
    pickle_save({"meta_archs": list(nb201.all_strings()), "total_archs": nb201.NUM_ARCHS,
                 "arch2infos": None, "evaluated_indexes": set()}, str(r / "meta.pickle"))
    schedules = [("12", less_epochs, seeds, _LESS_SCALE), ("200", epochs, seeds, 1.0)]
    for index, results in _build(nb201.SPACE, table, indices, schedules, curves, ArchResults, ResultsCount,
                                 _nb201_costs, _nb201_config):
        data = collections.OrderedDict((k, res.state_dict()) for k, res in results.items())
        pickle_save(data, str(r / f"{index:06d}.pickle"))
    return r


def write_nats_sss(
    root: Union[str, os.PathLike], table: Table, *, indices: Optional[Sequence[int]] = None,
    schedules: Optional[Mapping[str, tuple[int, Sequence[int], float]]] = None, curves: bool = True,
) -> Path:
    """Write a NATS-Bench size archive for fast mode (format of ``NATS-sss-v1_0-50262-simple/``).

    ``root`` gets ``meta.pickle.pbz2`` (the 32,768 official strings) and one
    ``{index:06d}.pickle.pbz2`` per architecture (``{"01": ArchResults state dict, "12": ...,
    "90": ...}``), written with ``nats_bench.pickle_save``. ``schedules`` maps each hp to
    (epochs, seeds, fraction of the given final accuracies); by default the files' own,
    :data:`SSS_SCHEDULES` (seed 777 for 01 and 90; 777, 888, 999 for 12). Runs carry the
    records' ``arch_config`` (``infer.shape.tiny``), 4-digit seed strings and the exact
    costs of :mod:`zcdb.spaces.nats_sss_cost`. ``indices`` defaults to all 32,768. See the
    module docstring for ``table``. Returns ``root``.
    """
    from nats_bench import ArchResults, ResultsCount, pickle_save

    plan = [(hp, n, seeds, scale) for hp, (n, seeds, scale) in (schedules or SSS_SCHEDULES).items()]
    r = Path(root)
    r.mkdir(parents=True, exist_ok=True)
    pickle_save({"meta_archs": list(nats_sss.all_strings()), "total_archs": nats_sss.NUM_ARCHS,
                 "arch2infos": None, "evaluated_indexes": set()}, str(r / "meta.pickle"))
    for index, results in _build(nats_sss.SPACE, table, indices, plan, curves, ArchResults, ResultsCount,
                                 _sss_costs, _sss_config, seed_text=True):
        data = collections.OrderedDict((k, res.state_dict()) for k, res in results.items())
        pickle_save(data, str(r / f"{index:06d}.pickle"))
    return r


# --------------------------------------------------------------------------- synthesis
def _nb201_costs(index: int, dataset: str) -> tuple[float, float]:
    # Params and FLOPs exactly as NAS-Bench-201's own counter reports them in its files.
    from zcdb.spaces.nb201_cost import count_cost

    return count_cost(index, "cifar10" if dataset == "cifar10-valid" else dataset, convention="nb201")


def _nb201_config(arch_str: str, dataset: str) -> dict[str, Any]:
    return {"channel": 16, "num_cells": _CELLS_PER_STAGE, "arch_str": arch_str, "class_num": NUM_CLASSES[dataset]}


def _sss_costs(index: int, dataset: str) -> tuple[float, float]:
    params, flop = nats_sss.SPACE.cost(index, dataset)  # the files' own counts, exactly (docs/nats-sss-notes.md)
    return np.float64(params), float(flop)  # the records hold params as a numpy float


def _sss_config(arch_str: str, dataset: str) -> dict[str, Any]:
    return {"name": "infer.shape.tiny", "channels": arch_str, "arch_str": arch_str, "genotype": SSS_GENOTYPE,
            "class_num": NUM_CLASSES[dataset]}


def _check_table(space: SearchSpace, table: Table,
                 indices: Optional[Sequence[int]]) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    if not table:
        raise ZcdbError("the fixture table is empty: give at least one dataset with test_acc or val_acc")
    cols: dict[str, dict[str, np.ndarray]] = {}
    n = None
    for dataset, metrics in table.items():
        if dataset not in EVAL_SETS:
            raise ZcdbError(f"unknown NAS-Bench-201 dataset {dataset!r}: use one of {', '.join(EVAL_SETS)}")
        allowed = {"test_acc"} if dataset == "cifar10" else {"test_acc", "val_acc"}
        bad = set(metrics) - allowed
        if bad or not metrics:
            raise ZcdbError(
                f"{dataset}: give test_acc and/or val_acc, not {sorted(bad) or 'nothing'} "
                "(cifar10 has no validation split: give its val_acc under cifar10-valid)"
            )
        cols[dataset] = {}
        for metric, values in metrics.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim != 1 or (n is not None and arr.size != n):
                raise ZcdbError(f"{dataset} {metric}: every column needs the same number of values")
            n = arr.size
            cols[dataset][metric] = arr
    size = space.require_size("a fixture")
    idx = np.arange(size) if indices is None else np.asarray(indices, dtype=np.int64)
    if idx.size != n or np.unique(idx).size != idx.size or idx.min() < 0 or idx.max() >= size:
        raise ZcdbError(f"indices must be {n} distinct {space.name} architecture indices in 0..{size - 1} "
                        "(one per value)")
    return idx, cols


def _build(space: SearchSpace, table: Table, indices: Optional[Sequence[int]], schedules: Sequence[Schedule],
           curves: bool, arch_cls: Any, run_cls: Any, costs_of: Any, config_of: Any,
           seed_text: bool = False) -> Iterator[tuple[int, dict]]:
    """``(index, {schedule key: ArchResults})`` for each architecture, schedules in the given order.

    ``seed_text``: runs hold their seed as a 4-digit string (``"0777"``), as the size space's records do.
    """
    idx, cols = _check_table(space, table, indices)
    for _, _, seeds, _ in schedules:
        if not seeds or len(set(seeds)) != len(seeds):
            raise ZcdbError("seeds must be distinct integers, e.g. (777, 888, 999)")
    strings = space.all_strings()
    for row, index in enumerate(idx.tolist()):
        arch_str = strings[index]
        finals = {}
        for dataset, m in cols.items():
            test = m.get("test_acc", m.get("val_acc"))[row]
            val = m.get("val_acc", m.get("test_acc"))[row]
            finals[dataset] = (float(test), float(val))
        costs = {d: costs_of(index, d) for d in finals}
        results = {}
        for key, n_epochs, seeds, scale in schedules:
            offsets = [_SEED_STEP * (k - (len(seeds) - 1) / 2) for k in range(len(seeds))]
            ar = arch_cls(index, arch_str)
            for dataset, (test, val) in finals.items():
                for seed, off in zip(seeds, offsets):
                    run = _run(run_cls, dataset, config_of(arch_str, dataset), costs[dataset], int(seed), n_epochs,
                               curves, test * scale + off, val * scale + off, seed_text)
                    ar.update(dataset, int(seed), run)
            results[key] = ar
        yield index, results


def _run(run_cls: Any, dataset: str, config: dict, costs: tuple[float, float], seed: int, epochs: int,
         curves: bool, test: float, val: float, seed_text: bool = False) -> Any:
    params, flop = costs
    run = run_cls(dataset, None, None, None, params, flop, config, f"{seed:04d}" if seed_text else seed, epochs, None)
    finals = {"x-valid": val, "x-test": test, "ori-test": test}
    if dataset in ("cifar100", "ImageNet16-120"):
        finals["ori-test"] = (val + test) / 2
    train_final = min(99.0, test + 5.0)
    epoch_seconds = _EPOCH_SECONDS[dataset] * (0.5 + params)
    if curves:
        shape = _shape(epochs)
        train_acc = train_final * shape
        run.update_train_info(_per_epoch(train_acc), None, _per_epoch(_loss(train_acc)),
                              dict.fromkeys(range(epochs), epoch_seconds))
        accs, losses, times = {}, {}, {}
        for name in EVAL_SETS[dataset]:
            acc = finals[name] * shape
            keys = [f"{name}@{e}" for e in range(epochs)]
            accs.update(zip(keys, acc.tolist()))
            losses.update(zip(keys, _loss(acc).tolist()))
            times.update(dict.fromkeys(keys, 0.1 * epoch_seconds))
        run.update_eval(accs, losses, times)
    else:
        last = epochs - 1
        run.update_train_info({last: train_final}, None, {last: _loss(train_final)}, None)
        for name in EVAL_SETS[dataset]:
            run.update_OLD_eval(name, {last: finals[name]}, {last: _loss(finals[name])})
    run.update_latency([0.001 * (5.0 + flop / 20.0)])
    return run


def _shape(epochs: int) -> np.ndarray:
    rise = 1.0 - np.exp(-6.0 * np.arange(1, epochs + 1) / epochs)
    return rise / rise[-1]


def _loss(acc: Any) -> Any:
    return 0.05 + 2.3 * (1.0 - acc / 100.0)


def _per_epoch(values: np.ndarray) -> dict[int, float]:
    return dict(enumerate(values.tolist()))
