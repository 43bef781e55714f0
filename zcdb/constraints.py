"""Constraints on metrics: ``latency_edgegpu<5``, ``params<=1.0``, ``test_acc>=90``.

A constraint is ``METRIC OP NUMBER`` with OP one of ``<``, ``<=``, ``>``, ``>=``, ``==``,
``!=`` (spaces allowed around it). :func:`feasible` evaluates a list of them on a benchmark:
an architecture must satisfy all; one that lacks a constrained metric (NaN) is infeasible
and counted in the report, never silently kept. Metrics that do not depend on training
(params, FLOPs, latency) are read at their only epoch; others at the benchmark's last one
unless the query's ``epoch`` is given.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .bench import metric_epoch
from .errors import ZcdbError
from .metrics import check_name

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}
_EXPR = re.compile(r"\s*([A-Za-z0-9_]+)\s*(<=|>=|==|!=|<|>)\s*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*")


@dataclass(frozen=True)
class Constraint:
    """``metric op value`` (see the module docstring)."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask of ``values`` satisfying the constraint (NaN never does)."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.asarray(_OPS[self.op](v, self.value), dtype=bool) & ~np.isnan(v)


def parse(text: Union[str, Constraint]) -> Constraint:
    """One constraint from its text (``latency_edgegpu<5``); one-line :class:`ZcdbError` otherwise."""
    if isinstance(text, Constraint):
        return text
    m = _EXPR.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ZcdbError(
            f"malformed constraint {text!r}: write METRIC OP NUMBER with OP one of <, <=, >, >=, ==, != "
            "(e.g. --where 'latency_edgegpu<5')"
        )
    value = float(m.group(3))
    if not math.isfinite(value):
        raise ZcdbError(f"malformed constraint {text!r}: the bound must be a finite number")
    return Constraint(check_name(m.group(1)), m.group(2), value)


def parse_all(texts: Sequence[Union[str, Constraint]]) -> list[Constraint]:
    """Every constraint of ``texts`` (see :func:`parse`)."""
    return [parse(t) for t in texts]


@dataclass(frozen=True)
class Feasibility:
    """Which architectures satisfy every constraint, and why the others do not."""

    mask: np.ndarray
    #: Per constraint: architectures lacking the metric (NaN), excluded.
    missing: dict[str, int]
    #: Per constraint: architectures with the metric that violate it.
    violated: dict[str, int]

    @property
    def n_feasible(self) -> int:
        return int(self.mask.sum())

    def summary(self) -> str:
        """One line: how many satisfy the constraints, how many were excluded for lacking a metric."""
        line = f"{self.n_feasible} of {self.mask.size} architectures satisfy {' and '.join(self.missing) or 'no constraint'}"
        lacking = [f"{n} lack the metric of {c}" for c, n in self.missing.items() if n]
        return line + (f" (excluded: {', '.join(lacking)})" if lacking else "")


def feasible(bench: Any, constraints: Sequence[Union[str, Constraint]], epoch: Optional[int] = None,
             size: Optional[int] = None) -> Feasibility:
    """Evaluate ``constraints`` on every architecture of ``bench`` (a :class:`zcdb.bench.BaseBenchmark`).

    ``epoch`` applies to training metrics (default: each metric's last stored epoch); metrics
    stored at epoch 0 only (costs) are read there (:func:`zcdb.bench.metric_epoch`). Unknown
    metrics raise the benchmark's one-line :class:`~zcdb.errors.UnknownMetric`.
    """
    cons = parse_all(constraints)
    mask: Optional[np.ndarray] = None
    missing: dict[str, int] = {}
    violated: dict[str, int] = {}
    for c in cons:
        v = np.asarray(bench.values(c.metric, metric_epoch(bench, c.metric, epoch)), dtype=np.float64)
        ok = c.holds(v)
        missing[str(c)] = int(np.isnan(v).sum())
        violated[str(c)] = int((~np.isnan(v) & ~ok).sum())
        mask = ok if mask is None else (mask & ok)
    if mask is None:
        n = size if size is not None else bench.search_space.require_size("constraints")
        mask = np.ones(int(n), dtype=bool)
    return Feasibility(mask=mask, missing=missing, violated=violated)
