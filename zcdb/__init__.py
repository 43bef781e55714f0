"""zcdb: zero-cost proxies, tabular and surrogate benchmarks for neural architecture search.

The front door is :func:`open`::

    import zcdb
    store = zcdb.open("zcdb.db")
    bench = store.benchmark("nb201", "cifar10")
    bench.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                "test_acc")
"""

from __future__ import annotations

__version__ = "0.1.0"

import os
from typing import Callable, Optional, Union

from .errors import ZcdbError
from .store import Benchmark, Store

__all__ = ["open", "Store", "Benchmark", "ZcdbError", "__version__"]


def open(path: Union[str, "os.PathLike[str]", None] = None, *,  # noqa: A001 - the front door
         lock_timeout: Optional[float] = None, on_wait: Optional[Callable[[str], None]] = None) -> Store:
    """Open (or create) a zcdb store: ``path``, else ``$ZCDB_DB``, else a platform data dir.

    ``lock_timeout``: seconds a write waits for another process's (default ``$ZCDB_LOCK_TIMEOUT``,
    else an hour); ``on_wait(message)`` is called once when a write has had to wait a few seconds.
    """
    return Store(path, lock_timeout=lock_timeout, on_wait=on_wait)
