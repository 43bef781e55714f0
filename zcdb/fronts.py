"""The Pareto front of a benchmark for two or more objectives, its hypervolume, and its plot.

:func:`pareto_front` reads each objective from a benchmark (any :class:`zcdb.bench.BaseBenchmark`)
in its declared direction, keeps the architectures that satisfy the constraints and have a
value of every objective (the others are counted, not silently dropped), and returns the
non-dominated ones with the hypervolume they dominate up to a reference point. The array
work is :mod:`zcdb.pareto`'s; :func:`plot_front` draws the result.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np

from .bench import metric_epoch
from .errors import ZcdbError
from .pareto import hypervolume, non_dominated
from .plots import pyplot, save_figure

__all__ = ["ParetoFront", "pareto_front", "plot_front", "default_reference", "REFERENCE_MARGIN"]

#: How far past the worst candidate value the default reference point lies, as a share of the
#: objective's range over the candidates (so that the extreme points of the front add volume).
REFERENCE_MARGIN = 0.01


@dataclass(frozen=True)
class ParetoFront:
    """A benchmark's non-dominated architectures for ``objectives``, with their hypervolume."""

    space: str
    dataset: str
    objectives: list[str]
    #: Per objective: whether larger is better (its declaration).
    maximize: list[bool]
    units: list[str]
    #: The front: (index, arch string, objective values), sorted by the first objective, best first.
    front: list[tuple[int, str, tuple[float, ...]]]
    hypervolume: float
    reference: tuple[float, ...]
    #: How the reference point was chosen, in words.
    reference_rule: str
    #: Architectures on which the front was computed: feasible, with every objective known.
    candidates: int
    #: Per objective: feasible architectures excluded because they lack its value.
    lacking: dict[str, int]
    #: The constraints' one-line summary ("" without constraints).
    constraints: str = ""
    #: For plots: index and objective values of every architecture with all objectives known,
    #: and which of them satisfy the constraints.
    indices: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    points: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    feasible: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @property
    def hypervolume_unit(self) -> str:
        """The unit of the hypervolume: the product of the objectives' units."""
        return "·".join(u or "1" for u in self.units)

    def summary(self) -> str:
        """One line: front size, hypervolume and reference point, and what was excluded."""
        ref = ", ".join(f"{o}={r:.6g}" for o, r in zip(self.objectives, self.reference))
        lacking = [f"{n} lack {m}" for m, n in self.lacking.items() if n]
        return (f"{len(self.front)} non-dominated of {self.candidates} architectures; hypervolume "
                f"{self.hypervolume:.6g} {self.hypervolume_unit} against ({ref}), {self.reference_rule}"
                + (f"; excluded: {', '.join(lacking)}" if lacking else ""))

    def to_json(self) -> dict[str, Any]:
        """Everything but the plotting arrays, as JSON-ready types."""
        return dict(
            space=self.space, dataset=self.dataset, objectives=self.objectives,
            directions=["max" if m else "min" for m in self.maximize], units=self.units,
            hypervolume=self.hypervolume, hypervolume_unit=self.hypervolume_unit,
            reference=list(self.reference), reference_rule=self.reference_rule, candidates=self.candidates,
            lacking=self.lacking, constraints=self.constraints,
            front=[dict(index=i, arch=a, **dict(zip(self.objectives, v))) for i, a, v in self.front],
        )


def default_reference(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """The worst value of each objective over ``points``, moved :data:`REFERENCE_MARGIN` of its range
    further (by that share of its magnitude, or by 1, when all values are equal)."""
    p = np.asarray(points, dtype=np.float64)
    mx = np.asarray(maximize, dtype=bool)
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = hi - lo
    span = np.where(span > 0, span, np.where(np.abs(lo) > 0, np.abs(lo), 1.0))
    return np.where(mx, lo - REFERENCE_MARGIN * span, hi + REFERENCE_MARGIN * span)


def pareto_front(bench: Any, objectives: Union[str, Sequence[str]], where: Optional[Sequence[Any]] = None,
                 reference: Optional[Sequence[float]] = None, epoch: Optional[int] = None) -> ParetoFront:
    """The Pareto front of ``bench`` for ``objectives`` (names, or one comma-separated string).

    Each objective is read at ``epoch`` (costs at their epoch 0; see
    :func:`zcdb.bench.metric_epoch`) and ranked in its declared direction. Candidates are the
    architectures that satisfy ``where`` and have every objective; the hypervolume is measured
    against ``reference`` (one value per objective, worse than the front) or, by default,
    :func:`default_reference` of the candidates. One-line :class:`~zcdb.errors.ZcdbError` for
    fewer than two objectives, a repeated one, an unknown metric, or a reference point that
    no candidate is better than in every objective.
    """
    names = [o.strip() for o in objectives.split(",")] if isinstance(objectives, str) else [str(o) for o in objectives]
    if len(names) < 2 or not all(names):
        raise ZcdbError(f"a Pareto front needs two or more objectives, got {','.join(names) or 'none'}: "
                        "give them comma-separated, e.g. --objectives test_acc,latency_pixel3")
    if len(set(names)) != len(names):
        raise ZcdbError(f"objective {next(n for n in names if names.count(n) > 1)} is given twice: list each once")
    maximize = [bench.higher_is_better(m) for m in names]
    units = [bench.metric_spec(m).unit for m in names]
    cols = np.column_stack([np.asarray(bench.values(m, metric_epoch(bench, m, epoch)), dtype=np.float64)
                            for m in names])
    feas = bench.feasible(where, epoch) if where else None
    ok = feas.mask if feas is not None else np.ones(cols.shape[0], dtype=bool)
    finite = np.isfinite(cols).all(axis=1)
    lacking = {m: int((ok & ~np.isfinite(cols[:, j])).sum()) for j, m in enumerate(names)}
    cand = np.flatnonzero(ok & finite)
    if cand.size == 0:
        why = f" ({feas.summary()})" if feas is not None else ""
        raise ZcdbError(f"no architecture of {bench.space}/{bench.dataset} has every objective "
                        f"({', '.join(names)}){' and satisfies the constraints' if feas is not None else ''}{why}: "
                        "import the missing metrics or relax the constraints")
    pts = cols[cand]
    if reference is None:
        ref = default_reference(pts, maximize)
        rule = (f"default: the worst value of each objective over the {cand.size} candidates, moved "
                f"{REFERENCE_MARGIN:.0%} of its range further")
    else:
        ref = np.asarray([float(r) for r in reference], dtype=np.float64)
        if ref.size != len(names) or not np.isfinite(ref).all():
            raise ZcdbError(f"the reference point needs {len(names)} finite values (one per objective: "
                            f"{', '.join(names)}), got {list(reference)}")
        rule = "given"
        better = np.where(maximize, pts > ref, pts < ref).all(axis=1)
        if not better.any():
            hint = ", ".join(f"{r:.6g}" for r in default_reference(pts, maximize))
            raise ZcdbError(
                f"the reference point ({', '.join(f'{r:g}' for r in ref)}) dominates nothing: no architecture is "
                f"better than it in every objective, so the hypervolume would be 0; give a point worse than the "
                f"front (lower for max objectives, higher for min ones), e.g. the default {hint}")
    on_front = non_dominated(pts, maximize)
    hv = hypervolume(pts[on_front], ref, maximize)
    order = np.lexsort(tuple((-pts[on_front][:, j] if maximize[j] else pts[on_front][:, j])
                             for j in reversed(range(len(names)))))
    front_idx = cand[on_front][order]
    front_pts = pts[on_front][order]
    strings = bench.search_space
    front = [(int(i), strings.string_of(int(i)), tuple(float(x) for x in v)) for i, v in zip(front_idx, front_pts)]
    allfin = np.flatnonzero(finite)
    return ParetoFront(
        space=bench.space, dataset=bench.dataset, objectives=names, maximize=maximize, units=units, front=front,
        hypervolume=float(hv), reference=tuple(float(r) for r in ref), reference_rule=rule,
        candidates=int(cand.size), lacking=lacking, constraints=feas.summary() if feas is not None else "",
        indices=allfin, points=cols[allfin], feasible=ok[allfin],
    )


def plot_front(result: ParetoFront, path: Union[str, os.PathLike]) -> None:
    """Draw every architecture with all objectives known, the constrained-out ones paler, the front
    highlighted as its attainment staircase, and the reference point; axes labelled with units.
    With more than two objectives the plot shows the first two."""
    plt = pyplot()

    def label(j: int) -> str:
        unit = f" ({result.units[j]})" if result.units[j] else ""
        return f"{result.objectives[j]}{unit}, {'higher' if result.maximize[j] else 'lower'} is better"

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
        p, f = result.points, result.feasible
        if (~f).any():
            ax.scatter(p[~f, 0], p[~f, 1], s=4, c="#dddddd", label=f"excluded by constraints ({int((~f).sum())})",
                       rasterized=True)
        ax.scatter(p[f, 0], p[f, 1], s=4, c="#8c8c8c", alpha=0.6, label=f"architectures ({int(f.sum())})",
                   rasterized=True)
        fp = np.array([v[:2] for _, _, v in result.front])
        o = np.argsort(fp[:, 0])
        # the boundary of the dominated region between front points (x ascending)
        ax.step(fp[o, 0], fp[o, 1], where="pre" if result.maximize[0] else "post", c="#d62728", lw=1)
        ax.scatter(fp[:, 0], fp[:, 1], s=18, c="#d62728", zorder=3, label=f"Pareto front ({len(result.front)})")
        ax.scatter([result.reference[0]], [result.reference[1]], marker="x", s=50, c="black", zorder=4,
                   label="reference point")
        ax.set_xlabel(label(0))
        ax.set_ylabel(label(1))
        more = f" (first 2 of {len(result.objectives)} objectives)" if len(result.objectives) > 2 else ""
        ax.set_title(f"{result.space}/{result.dataset}: hypervolume {result.hypervolume:.4g} "
                     f"{result.hypervolume_unit}{more}", fontsize=10)
        ax.legend(fontsize=8, loc="best", markerscale=2)
        ax.grid(alpha=0.3)
        save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)  # also when drawing failed


def parse_reference(text: str) -> list[float]:
    """``"0,10"`` (the CLI's ``--reference``) to floats; one-line :class:`ZcdbError` otherwise."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise ZcdbError(f"bad --reference {text!r}: give one number per objective, comma-separated, e.g. 0,10")
    return values
