"""The one exception root of zcdb.

Every error a user can cause derives from :class:`ZcdbError`; its message is one
line that says what went wrong and how to fix it. The CLI prints that line and
exits with status 2.
"""

from __future__ import annotations


class ZcdbError(Exception):
    """Root of every error zcdb raises on bad input or missing data."""


class UnknownArch(ZcdbError):
    """An architecture string, index or tuple that the space does not have."""


class UnknownSpace(ZcdbError):
    """A search space name that zcdb has no definition for."""


class UnknownDataset(ZcdbError):
    """A dataset that the store (or a loader) does not know."""


class UnknownMetric(ZcdbError):
    """A metric that the benchmark has no rows for, or an invalid metric name."""


class CorruptFile(ZcdbError):
    """A file that is missing, truncated or not in the expected format."""


class EmptyStore(ZcdbError):
    """A query against a store that holds nothing for that space and dataset."""


class ImportConflict(ZcdbError):
    """An import that would overwrite different values already in the store."""


class MissingCapability(ZcdbError):
    """A search space lacks what was asked of it (a network for a dataset, enumeration, ...)."""


def short_repr(x: object, limit: int = 60) -> str:
    """``repr(x)`` cut to ``limit`` characters, for quoting bad input in a one-line message."""
    try:
        text = repr(x)
    except (ValueError, RecursionError):  # an int past Python's 4,300-digit str limit, deep nesting
        return f"a {type(x).__name__} too long to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StoreLocked(ZcdbError):
    """Another process kept the store's write lock for longer than this one would wait."""
