"""Generate a tabular benchmark by training architectures under a protocol: ``zcdb tabulate``.

Work is a list of (arch, seed) tasks. Each task is a pure function of
(arch, seed, protocol) run with one CPU thread: :func:`train_arch` returns per-epoch
curves, and the same inputs give the same numbers on any rerun (wall-clock
``train_time`` aside). Tasks run in local worker processes or on a Dask cluster;
workers only compute, and this process alone writes SQLite, one transaction per
finished task, so a killed run loses only the tasks in flight and a rerun skips
what is stored.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from zcdb.errors import ZcdbError
from zcdb.parallel import connect_scheduler, dask_unordered, run_unordered
from zcdb.progress import Progress
from zcdb.spaces import get_space, parse_arch_text
from zcdb.store import Store

from .protocols import Protocol, get_protocol

#: Metrics recorded after every epoch (epoch k = after k epochs of training).
CURVE_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "train_time")


@dataclass
class TaskResult:
    """What one (arch, seed) training run produced."""

    arch_index: int
    seed: int
    curves: dict[str, np.ndarray]
    params: float
    flops: float


@dataclass
class TabulateReport:
    """What a :func:`tabulate` call did."""

    protocol: str
    tasks: int
    skipped: int
    trained: int
    seconds: float
    aliases: int = 0
    failed: list[tuple[int, int, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- the task
@functools.lru_cache(maxsize=4)
def _splits(dataset: str, root: Optional[str]) -> dict[str, tuple[Any, Any]]:
    import torch

    from zcdb import datasets

    out = {}
    for split in ("train", "val", "test"):
        x, y = datasets.load(dataset, root, split)
        out[split] = (torch.from_numpy(datasets.normalize(x, dataset)), torch.from_numpy(y.astype(np.int64)))
    return out


def _evaluate(net: Any, x: Any, y: Any) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    net.eval()
    with torch.no_grad():
        logits = net(x)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).double().mean().item() * 100
    return loss, acc


def train_arch(arch_index: int, seed: int, protocol: Union[str, Protocol], root: Optional[str] = None,
               device: str = "cpu") -> TaskResult:
    """Train one architecture under ``protocol`` with ``seed``; per-epoch curves of :data:`CURVE_METRICS`.

    Deterministic: one thread, initialization and batch order drawn from ``seed`` only,
    the caller's torch RNG and thread count restored afterwards. On ``device="cuda"`` the
    network and the data live on the GPU (initialized on the CPU as everywhere, batch order
    drawn on the CPU) and cuDNN runs deterministic (see :func:`zcdb.proxies.engine.deterministic`).
    """
    from zcdb.proxies.engine import deterministic, resolve_device

    import torch
    import torch.nn.functional as F

    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    sp = get_space(p.space)
    data = _splits(p.dataset, root)
    dev = resolve_device(device)
    if dev.type != "cpu":
        data = {k: (x.to(dev), y.to(dev)) for k, (x, y) in data.items()}
    xtr, ytr = data["train"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with deterministic(dev):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net = sp.network(int(arch_index), p.dataset, **p.network_kwargs).to(dev)
            gen = torch.Generator().manual_seed(seed)
            steps_per_epoch = -(-len(xtr) // p.batch_size)
            opt = torch.optim.SGD(net.parameters(), lr=p.lr, momentum=p.momentum, nesterov=p.nesterov,
                                  weight_decay=p.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs * steps_per_epoch)
            curves = {m: np.zeros(p.epochs) for m in CURVE_METRICS}
            total_time = 0.0
            for epoch in range(p.epochs):
                net.train()
                t = time.perf_counter()
                order = torch.randperm(len(xtr), generator=gen)
                loss_sum = 0.0
                correct = 0
                for s in range(steps_per_epoch):
                    b = order[s * p.batch_size:(s + 1) * p.batch_size]
                    logits = net(xtr[b])
                    loss = F.cross_entropy(logits, ytr[b])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    loss_sum += loss.item() * len(b)
                    correct += int((logits.argmax(1) == ytr[b]).sum())
                total_time += time.perf_counter() - t
                curves["train_loss"][epoch] = loss_sum / len(xtr)
                curves["train_acc"][epoch] = correct / len(xtr) * 100
                curves["val_loss"][epoch], curves["val_acc"][epoch] = _evaluate(net, *data["val"])
                curves["test_loss"][epoch], curves["test_acc"][epoch] = _evaluate(net, *data["test"])
                curves["train_time"][epoch] = total_time
    finally:
        torch.set_num_threads(threads)
    params, flops = sp.cost(int(arch_index), p.dataset, **p.network_kwargs)
    return TaskResult(int(arch_index), int(seed), curves, float(params), float(flops))


def _run_task(args: tuple[int, int, Protocol, Optional[str], str]) -> TaskResult:
    return train_arch(*args)


# --------------------------------------------------------------------------- selection
_COUNT = re.compile(r"[0-9]+")


def select_archs(space: str, archs: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """The architectures to train for ``--archs all|unique|N|FILE``, and (for ``unique``) each
    architecture's class representative."""
    mod = get_space(space)
    if archs == "all":
        return np.arange(mod.require_size("--archs all")), None
    if archs == "unique":
        rep = mod.representatives()
        return np.unique(rep), np.asarray(rep)
    if _COUNT.fullmatch(archs):
        if len(archs) > 9:
            raise ZcdbError(f"--archs {archs[:12]}...: more than the {mod.size} architectures of {space}: "
                            "give a smaller number, or all")
        return np.sort(mod.sample(int(archs), seed=0)), None
    path = Path(archs)
    if not path.is_file():
        raise ZcdbError(f"--archs {archs!r}: use all, unique, a number, or a file with one architecture per line")
    out = []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                out.append(mod.index_of(parse_arch_text(line, mod)))
            except ZcdbError as exc:
                raise type(exc)(f"{path}:{k}: {exc}") from None
    return np.unique(np.asarray(out, dtype=np.int64)), None


# --------------------------------------------------------------------------- execution
# --------------------------------------------------------------------------- storing
def _write_result(store: Store, p: Protocol, r: TaskResult, device: Any = "cpu") -> None:
    options = {"protocol": p.name, "seed": r.seed}
    if str(device) not in ("None", "cpu"):  # CPU runs keep the options they always had
        options["device"] = str(device)
    # allow_missing: a run that diverged has NaN losses, a result to keep as missing, not bad input
    with store.importing(f"zcdb tabulate {p.name}", "tabulate", options, allow_missing=True) as batch:
        batch.add_protocol(p.name, p.to_json())
        one = np.array([r.arch_index])
        for metric, values in r.curves.items():
            for epoch in range(p.epochs):
                batch.add_evaluations(p.space, p.dataset, p.name, metric, epoch + 1, r.seed, one,
                                      values[epoch:epoch + 1])
        batch.add_evaluations(p.space, p.dataset, p.name, "params", 0, -1, one, [r.params])
        batch.add_evaluations(p.space, p.dataset, p.name, "flops", 0, -1, one, [r.flops])


def stored_tasks(store: Store, p: Protocol, seed: int) -> set[int]:
    """Architectures whose training under ``p`` with ``seed`` is already in the store."""
    try:
        bench = store.benchmark(p.space, p.dataset, p.name)
    except ZcdbError:  # nothing of this benchmark stored yet
        return set()
    return bench.stored_archs("test_acc", p.epochs, seed)


def tabulate(
    store: Store, space: str, dataset: str, protocol: Union[str, Protocol], archs: str = "unique", seeds: Sequence[int] = (0,),
    workers: int = 1, scheduler: Optional[str] = None, root: Optional[str] = None, progress: bool = True,
    limit: Optional[int] = None, device: str = "cpu",
) -> TabulateReport:
    """Train ``archs`` under ``protocol`` for each seed and store every epoch's metrics.

    ``archs``: ``all``, ``unique`` (one member per isomorphism class, recorded as answering
    for the whole class), a number N (a seeded sample), or a file of architectures.
    ``limit`` caps the number of tasks run in this call (to work in chunks).
    Resumable: (arch, seed) pairs already stored are skipped. ``device`` (``cpu``, ``cuda``,
    ``auto``) is where each task trains: with ``--scheduler``, on the workers, which must
    have it (``auto`` is resolved here, on the client).
    """
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    get_space(space)
    if (space, dataset) != (p.space, p.dataset):
        raise ZcdbError(f"protocol {p.name} trains {p.space} on {p.dataset}, not {space} on {dataset}")
    from zcdb import datasets

    datasets.dataset_info(dataset)
    _splits(dataset, root)  # a dataset without data fails here, before anything is written
    chosen, rep = select_archs(space, archs)
    from zcdb.proxies.engine import check_device_name, resolve_device

    dev = resolve_device(device) if not scheduler else check_device_name(device)
    client = connect_scheduler(scheduler) if scheduler else None
    start = time.perf_counter()
    n_alias = 0
    if rep is not None:
        with store.importing(f"zcdb tabulate {p.name}", "tabulate-aliases", {"protocol": p.name}) as batch:
            batch.add_protocol(p.name, p.to_json())
            batch.add_aliases(space, dataset, p.name, np.arange(len(rep)), rep)
        n_alias = int((rep != np.arange(len(rep))).sum())
    tasks: list[tuple] = []
    skipped = 0
    for seed in seeds:
        done = stored_tasks(store, p, seed)
        for a in chosen.tolist():
            if a in done:
                skipped += 1
            else:
                tasks.append((a, int(seed), p, root, str(dev)))
    if limit is not None:
        tasks = tasks[:limit]
    bar = Progress(len(tasks), f"tabulate {p.name}", enabled=progress)
    trained = 0
    try:
        results = (dask_unordered(_run_task, tasks, client, f"zcdb-train-{p.name}") if client is not None
                   else run_unordered(_run_task, tasks, workers))
        for r in results:
            _write_result(store, p, r, dev)
            trained += 1
            bar.update()
    finally:
        bar.close()
        if client is not None:
            client.close()
    return TabulateReport(p.name, len(tasks) + skipped, skipped, trained, time.perf_counter() - start, n_alias)
