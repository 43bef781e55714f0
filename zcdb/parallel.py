"""Worker processes that die with their parent, and running a function over tasks in them.

A ``ProcessPoolExecutor`` worker blocks on a queue whose pipe it holds both ends of, so it
never sees its parent die: after ``kill -9`` of a ``zcdb`` command its workers (and
multiprocessing's resource tracker, which waits for them) lived on, holding gigabytes and
the command's stdout and stderr. Workers made by :func:`process_pool` ask Linux to kill
them when their parent exits (``prctl(PR_SET_PDEATHSIG)``), watch their parent's pid as
well (other platforms, and a parent that died before the ``prctl``), and are started with
their stdout and stderr on the null device, so a pipe reading the command's output ends
with the command.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: Seconds between a worker's checks that its parent is alive (where no death signal is set).
_POLL_SECONDS = 0.5


def _die_with(parent: int, death_signal: bool) -> None:
    """Make this process exit when ``parent`` does."""
    if death_signal and sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl in this libc: the poll below still works
            pass
    if os.getppid() != parent:  # the parent died before the death signal was set
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="zcdb-parent-watch", daemon=True).start()


def _start_worker(parent: int, death_signal: bool, initializer: Optional[Callable[..., Any]],
                  initargs: tuple) -> None:
    _die_with(parent, death_signal)
    if initializer is not None:
        initializer(*initargs)


def _ready() -> None:
    """A task that does nothing: submitting it starts a worker."""


@contextlib.contextmanager
def _output_to_devnull() -> Iterator[None]:
    """Point this process's file descriptors 1 and 2 at the null device for the block, so that
    the processes it starts meanwhile do not inherit them."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    saved: list[tuple[int, int]] = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # not open: nothing to hide
                continue
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def process_pool(workers: int, initializer: Optional[Callable[..., Any]] = None,
                 initargs: Sequence[Any] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned (not forked: safe with torch) processes that die with this one.

    ``initializer(*initargs)`` runs in each worker after it is set up. Create and use the
    pool in one thread: Linux's death signal fires when the thread that started a worker
    ends, so from any thread but the main one the workers only poll for their parent.
    """
    import multiprocessing as mp

    main = threading.current_thread() is threading.main_thread()
    # Every worker, and multiprocessing's resource tracker, is started now, with stdout and
    # stderr on the null device: a worker that is still starting up (importing, seconds on a
    # busy machine) when the parent dies cannot keep the parent's output pipe open either.
    # Results and task errors come back through the pool; what a worker prints is dropped.
    with _output_to_devnull():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_start_worker,
                                   initargs=(os.getpid(), main, initializer, tuple(initargs)))
        for _ in range(workers):
            pool.submit(_ready)
    return pool


def run_unordered(fn: Callable[[T], R], tasks: Iterable[T], workers: int,
                  initializer: Optional[Callable[..., Any]] = None, initargs: Sequence[Any] = ()) -> Iterator[R]:
    """``fn(task)`` for every task, in completion order; in this process when ``workers <= 1``.

    At most ``2 * workers`` tasks are in flight, so a caller that stores each result as it
    arrives loses only those when killed. Workers come from :func:`process_pool`.
    """
    if workers <= 1:  # the caller's process keeps its own settings: no initializer
        for t in tasks:
            yield fn(t)
        return
    with process_pool(workers, initializer, initargs) as pool:
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


# --------------------------------------------------------------------------- Dask
def connect_scheduler(address: str, timeout: Optional[float] = None) -> Any:
    """A ``dask.distributed.Client`` for ``address``; :class:`ZcdbError` if it cannot be reached.

    ``timeout`` (seconds to wait for the scheduler) defaults to ``ZCDB_SCHEDULER_TIMEOUT`` or 10."""
    from zcdb.errors import ZcdbError

    if timeout is None:
        try:
            timeout = float(os.environ.get("ZCDB_SCHEDULER_TIMEOUT", "10"))
        except ValueError:
            raise ZcdbError("ZCDB_SCHEDULER_TIMEOUT must be a number of seconds") from None

    try:
        from dask.distributed import Client
    except ImportError:
        raise ZcdbError("--scheduler needs dask.distributed: pip install 'zcdb[distributed]'") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ZcdbError(
            f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}): start one "
            "(`dask scheduler`, or dask-jobqueue on SLURM) or drop --scheduler to run locally"
        ) from None


def dask_unordered(fn: Callable[[T], R], tasks: Sequence[T], client: Any, name: str) -> Iterator[R]:
    """``fn(task)`` for every task on the Dask cluster of ``client``, in completion order.

    Every task is submitted at once (the scheduler queues them); each result is released
    once yielded. Keys are ``{name}-{k}-{token}``, unique to this call, so two runs on one
    cluster never share a result.
    """
    import uuid

    from dask.distributed import as_completed

    token = uuid.uuid4().hex[:12]
    with client.as_current():
        futures = [client.submit(fn, t, pure=False, key=f"{name}-{k}-{token}") for k, t in enumerate(tasks)]
        for fut in as_completed(futures):
            yield fut.result()
            fut.release()
