"""Run a function over tasks in worker processes, yielding results as they finish."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_unordered(fn: Callable[[T], R], tasks: Iterable[T], workers: int,
                  initializer: Optional[Callable[..., Any]] = None, initargs: Sequence[Any] = ()) -> Iterator[R]:
    """``fn(task)`` for every task, in completion order; in this process when ``workers <= 1``.

    At most ``2 * workers`` tasks are in flight, so a caller that stores each result as it
    arrives loses only those when killed. Workers are spawned (not forked): safe with torch.
    """
    if workers <= 1:  # the caller's process keeps its own settings: no initializer
        for t in tasks:
            yield fn(t)
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=initializer, initargs=tuple(initargs)) as pool:
        it = iter(tasks)
        pending: set[Future] = set()
        for t in it:
            pending.add(pool.submit(fn, t))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(fn, nxt))
