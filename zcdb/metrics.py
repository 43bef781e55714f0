"""The metric vocabulary: every metric has a name, a direction (higher or lower is better) and a unit.

zcdb knows a few metrics by name (accuracies, losses, training and evaluation times, params,
FLOPs) and two families by prefix (``latency_<device>`` in ms, ``energy_<device>`` in mJ).
Any other name is open: an importer (or ``zcdb import csv --metric NAME:max:unit``) declares
its direction and unit, and the store keeps the declaration in its ``metrics`` table, so that
``top``, ``pareto``, constraints and search rank it the right way. Nothing here reads a file.

Names are lower-case identifiers (``[a-z][a-z0-9_]*``, at most 64 characters) so that a
constraint such as ``latency_edgegpu<5`` parses without quoting.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from .errors import UnknownMetric

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class MetricSpec:
    """A metric's declaration: ``higher_is_better`` decides how every ranking reads it."""

    name: str
    higher_is_better: bool
    unit: str = ""
    description: str = ""
    #: The range every value must lie in (a value outside is a sign, unit or parsing error), with
    #: what to check; ``%`` metrics are always bounded by 0..100.
    bounds: Optional[tuple[float, float, str]] = None

    @property
    def direction(self) -> str:
        """``max`` or ``min`` (the word declarations use)."""
        return "max" if self.higher_is_better else "min"


_BUILTIN = {
    s.name: s for s in (
        MetricSpec("test_acc", True, "%", "top-1 accuracy on the test split"),
        MetricSpec("val_acc", True, "%", "top-1 accuracy on the validation split"),
        MetricSpec("train_acc", True, "%", "top-1 accuracy on the training split"),
        MetricSpec("train_loss", False, "", "cross-entropy on the training split"),
        MetricSpec("val_loss", False, "", "cross-entropy on the validation split"),
        MetricSpec("test_loss", False, "", "cross-entropy on the test split"),
        MetricSpec("train_time", False, "s", "training time up to the epoch"),
        MetricSpec("val_time", False, "s", "evaluation time on the validation split up to the epoch"),
        MetricSpec("test_time", False, "s", "evaluation time on the test split up to the epoch"),
        MetricSpec("params", False, "M", "trainable parameters, millions"),
        MetricSpec("flops", False, "MFLOPs", "multiply-accumulates of one forward pass, millions"),
        MetricSpec("val_pixel_acc", True, "%", "pixels labelled correctly on the validation split (dense tasks)"),
        MetricSpec("val_ssim", True, "", "structural similarity on the validation split (-1..1)",
                   (-1.0, 1.0, "SSIM lies in -1..1: check the column")),
        MetricSpec("val_neg_loss", True, "", "a validation loss its source negated (never positive)",
                   (-math.inf, 0.0, "a negated loss is never positive: store a loss as val_loss instead")),
    )
}
#: Families known by prefix: (prefix, higher_is_better, unit, what).
_FAMILIES = (
    ("latency_", False, "ms", "latency of one forward pass on"),
    ("energy_", False, "mJ", "energy of one forward pass on"),
)
#: Metrics in percent: a value outside 0..100 is a unit or parsing error in the source.
PERCENT_METRICS = tuple(n for n, s in _BUILTIN.items() if s.unit == "%")


def check_name(metric: str) -> str:
    """Validate the syntax of a metric name; return it."""
    if not isinstance(metric, str) or not NAME.fullmatch(metric):
        raise UnknownMetric(
            f"invalid metric name {metric!r}: use lower-case letters, digits and underscores, starting with a "
            "letter (e.g. latency_pixel3, robust_fgsm_eps1)"
        )
    return metric


def builtin(metric: str) -> Optional[MetricSpec]:
    """The built-in declaration of ``metric`` (by name or family prefix), or ``None``."""
    spec = _BUILTIN.get(metric)
    if spec is not None:
        return spec
    for prefix, hib, unit, what in _FAMILIES:
        if metric.startswith(prefix) and len(metric) > len(prefix) and NAME.fullmatch(metric):
            return MetricSpec(metric, hib, unit, f"{what} {metric[len(prefix):]}")
    return None


def builtin_specs() -> list[MetricSpec]:
    """The metrics zcdb knows by name (the families are listed by :func:`families`)."""
    return list(_BUILTIN.values())


def families() -> list[tuple[str, bool, str]]:
    """(prefix, higher_is_better, unit) of the metric families zcdb knows by prefix."""
    return [(p, h, u) for p, h, u, _ in _FAMILIES]


def parse_declaration(text: str) -> MetricSpec:
    """``NAME:max|min[:UNIT[:DESCRIPTION]]`` (the CLI's ``--metric``) to a :class:`MetricSpec`."""
    parts = text.split(":", 3)
    if len(parts) < 2 or parts[1] not in ("max", "min"):
        raise UnknownMetric(
            f"invalid metric declaration {text!r}: write NAME:max or NAME:min, optionally :UNIT[:DESCRIPTION] "
            "(e.g. robust_fgsm:max:%)"
        )
    name = check_name(parts[0])
    return MetricSpec(name, parts[1] == "max", parts[2] if len(parts) > 2 else "",
                      parts[3] if len(parts) > 3 else "")


def unknown(metric: str) -> UnknownMetric:
    """The error for a metric that is neither built in nor declared (naming the fix)."""
    check_name(metric)
    return UnknownMetric(
        f"metric {metric!r} is not declared: give its direction when importing it (e.g. --metric {metric}:max:UNIT, "
        "or `direction` in the Python API); see `zcdb metrics`"
    )
