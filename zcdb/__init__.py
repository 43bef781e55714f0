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
from typing import Optional, Union

from .errors import ZcdbError
from .store import Benchmark, Store

__all__ = ["open", "Store", "Benchmark", "ZcdbError", "__version__"]


def open(path: Union[str, "os.PathLike[str]", None] = None) -> Store:  # noqa: A001 - the front door
    """Open (or create) a zcdb store: ``path``, else ``$ZCDB_DB``, else a platform data dir."""
    return Store(path)
