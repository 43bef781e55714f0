"""JSON as zcdb writes it (``--json`` output, reports, surrogate metadata): strict JSON, never NaN."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def json_safe(x: Any) -> Any:
    """``x`` with non-finite floats as ``None`` (JSON null), tuples as lists and numpy scalars as Python ones."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def dumps(obj: Any, **kwargs: Any) -> str:
    """:func:`json.dumps` of :func:`json_safe` ``(obj)``; refuses what is still not JSON (``allow_nan=False``)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)
