"""Multi-objective comparisons: hypervolume tables (Markdown, CSV, JSON), an anytime plot and a plot of the fronts.

Per algorithm, over seeds: the hypervolume of the attained front (the feasible queries'
non-dominated set) at the budget, as mean, std and 95% confidence interval of the mean;
its share of the hypervolume of the whole table's front (what querying every architecture
attains); the hypervolume after a few query counts and its mean over all queries (the
area under the anytime curve, divided by the budget); the size of the final front; under
constraints, the share of seeds that found a feasible architecture. Hypervolumes are
against the problem's reference point (default: the worst value of each objective over the
architectures a search can end with; see :class:`~zcdb.search.problem.MultiObjectiveProblem`).

The fronts plot shows each algorithm's *median attainment surface* (Fonseca & Fleming,
1996): the boundary of what at least half of the seeds attained, with the band between
the 25% and 75% surfaces; for more than two objectives, in the first two.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import ZcdbError
from .problem import MultiObjectiveProblem
from .report import _t95, anytime_curve, default_algorithms
from .runs import SearchResult, load_multiobjective_problem, run_search
from ..plots import pyplot, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store

#: Query counts at which the table shows the hypervolume (those within the budget).
CHECKPOINTS = (10, 30, 100, 300, 1000)

MO_ROW_KEYS = ["algorithm", "config_hash", "n", "mean", "std", "ci_low", "ci_high", "share", "anytime_mean",
               "front_size", "found_feasible", "mean_queries", "cpu_seconds", "reused"]


@dataclass
class MultiObjectiveComparison:
    """The outcome of :func:`compare_multiobjective`: one row per algorithm plus the reference values."""

    problem: MultiObjectiveProblem
    budget_kind: str
    budget: float
    seeds: list[int]
    #: Hypervolume of the table's front, and the front's architectures.
    table_hypervolume: float
    table_front: np.ndarray
    rows: list[dict[str, Any]]
    results: dict[str, SearchResult] = field(repr=False, default_factory=dict)

    def title(self) -> str:
        """One line naming the benchmark, objectives, constraints, budget and seeds."""
        p = self.problem
        unit = "queries" if self.budget_kind == "queries" else "simulated s"
        under = f" under {' and '.join(p.constraints)}" if p.constraints else ""
        return (f"{p.space}/{p.dataset} ({p.protocol}): {' vs '.join(self._labels())}{under}, "
                f"{self.budget:g} {unit}, {len(self.seeds)} seeds")

    def _labels(self) -> list[str]:
        p = self.problem
        return [f"{m} ({'max' if mx else 'min'}{', ' + u if u else ''})"
                for m, mx, u in zip(p.objectives, p.maximize, p.objective_units)]

    def reference_text(self) -> str:
        """The reference point, and whether it is the default."""
        p = self.problem
        ref = ", ".join(f"{m} {v:.6g}" for m, v in zip(p.objectives, p.reference))
        return f"({ref}){' (default: the worst value of each objective)' if p.default_reference else ''}"

    def to_json(self) -> dict[str, Any]:
        """Everything in the table, for machines."""
        p = self.problem
        return dict(space=p.space, dataset=p.dataset, protocol=p.protocol, objectives=list(p.objectives),
                    maximize=list(p.maximize), reference=[float(v) for v in p.reference],
                    default_reference=p.default_reference, constraints=list(p.constraints),
                    feasible_archs=int(p.queryable.sum()), budget_kind=self.budget_kind, budget=self.budget,
                    seeds=len(self.seeds), table_hypervolume=self.table_hypervolume,
                    table_front=[int(i) for i in self.table_front], rows=self.rows)

    def checkpoints(self) -> list[int]:
        """The query counts of :data:`CHECKPOINTS` that every row reached."""
        longest = min((int(r["queries_reached"]) for r in self.rows), default=0)
        return [q for q in CHECKPOINTS if q <= longest]

    def to_markdown(self) -> str:
        """The comparison as a Markdown table with a caption."""
        p = self.problem
        cons = bool(p.constraints)
        qs = self.checkpoints()
        head = ["algorithm", "final hypervolume (mean ± std)", "95% CI", "share of the table's HV"] + [
            f"after {q}" for q in qs] + ["mean over queries", "front size"] + (
            ["found feasible"] if cons else []) + ["CPU s"]
        feas = (f" Under {' and '.join(p.constraints)}: {p.queryable.sum():,} of {int(p.available.sum()):,} "
                "architectures are feasible; infeasible queries never join a front." if cons else "")
        d = _decimals(self.table_hypervolume)

        def g(v: Optional[float]) -> str:
            return "" if v is None or not math.isfinite(v) else f"{v:.{d}f}"

        lines = [f"**{self.title()}**", "",
                 f"Reference point {self.reference_text()}; the table's front ({len(self.table_front)} "
                 f"architectures) has hypervolume {self.table_hypervolume:.6g}.{feas}", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            cells = [r["algorithm"], f"{g(r['mean'])} ± {g(r['std'])}", f"[{g(r['ci_low'])}, {g(r['ci_high'])}]",
                     f"{100 * r['share']:.2f}%"] + [g(r["at"][str(q)]) for q in qs] + [
                     g(r["anytime_mean"]), f"{r['front_size']:.1f}"]
            if cons:
                cells.append(f"{100 * r['found_feasible']:.0f}%")
            cells.append(f"{r['cpu_seconds']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """The rows as CSV (one header line); ``hv_at_Q`` columns for the checkpoints."""
        buf = io.StringIO()
        qs = self.checkpoints()
        cols = ["space", "dataset", "protocol", "objectives", "reference", "constraints", "budget_kind", "budget",
                *MO_ROW_KEYS, *(f"hv_at_{q}" for q in qs)]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        p = self.problem
        base = dict(space=p.space, dataset=p.dataset, protocol=p.protocol, objectives=",".join(p.objectives),
                    reference=",".join(f"{v:.9g}" for v in p.reference), constraints=" and ".join(p.constraints),
                    budget_kind=self.budget_kind, budget=self.budget)
        for r in self.rows:
            w.writerow({**base, **{k: r.get(k) for k in MO_ROW_KEYS}, **{f"hv_at_{q}": r["at"][str(q)] for q in qs}})
        return buf.getvalue()

    def anytime_csv(self) -> str:
        """Hypervolume over queries: one line per algorithm and query (mean and 95% interval over seeds)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["algorithm", "query", "mean", "ci_low", "ci_high"])
        for name, res in self.results.items():
            xs, mean, half = anytime_curve(res, "queries")
            for x, m, h in zip(xs.tolist(), mean.tolist(), half.tolist()):
                w.writerow([name, int(x), f"{m:.9g}", f"{m - h:.9g}", f"{m + h:.9g}"])
        return buf.getvalue()

    def plot_anytime(self, path: Union[str, Path]) -> Path:
        """Anytime plot (PNG): mean hypervolume with a 95% band against queries."""
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(8.5, 4.5), dpi=120)
        lows = []
        for name, res in self.results.items():
            xs, mean, half = anytime_curve(res, "queries")
            if xs.size == 0:
                continue
            line, = ax.plot(xs, mean, label=name, lw=1.4)
            ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
            lows.append(float(mean[min(len(mean) - 1, 9)]))
        top = self.table_hypervolume
        ax.axhline(top, color="k", ls="--", lw=0.8, label=f"table's front {top:.6g}")
        ax.set_xscale("log")
        if lows:
            lo = min(lows)
            ax.set_ylim(lo - 0.05 * (top - lo) - 1e-12, top + 0.05 * (top - lo) + 1e-12)
        ax.set_xlabel("queries")
        ax.set_ylabel("hypervolume of the attained front")
        ax.set_title(self.title(), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        return save_figure(fig, path)

    def plot_fronts(self, path: Union[str, Path]) -> Path:
        """The attained fronts (PNG): every architecture a search can end with, the table's
        front, each algorithm's median attainment surface (25-75% band) and the reference point,
        in the first two objectives."""
        plt = pyplot()
        p = self.problem
        v = p.objective_values[:2]
        mx = p.maximize[:2]
        fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=120)
        ok = p.queryable
        ax.scatter(v[1, ok], v[0, ok], s=2, c="0.8", lw=0, label="architectures", rasterized=True)
        front = self.table_front
        x0, y0 = _staircase(v[1, front], v[0, front], mx[1], p.reference[1], p.reference[0])
        ax.plot(x0, y0, color="k", lw=1.0, label="table's front")
        for name, res in self.results.items():
            surfaces = attainment_surfaces(res, (0.25, 0.5, 0.75))
            if surfaces is None:
                continue
            xs, (q25, q50, q75) = surfaces
            line, = ax.plot(xs, q50, lw=1.4, drawstyle="steps-post", label=f"{name} (median)")
            ax.fill_between(xs, q25, q75, step="post", color=line.get_color(), alpha=0.15, lw=0)
        labels = self._labels()
        ax.set_xlabel(labels[1])
        ax.set_ylabel(labels[0])
        # the interesting corner: from the reference to a little past the table's best values
        ylo = np.quantile(v[0, front], 0.1) if mx[0] else np.quantile(v[0, front], 0.9)
        best0 = v[0, front].max() if mx[0] else v[0, front].min()
        pad = 0.05 * abs(best0 - ylo)
        lim = sorted((ylo - (pad if mx[0] else -pad), best0 + (pad if mx[0] else -pad)))
        ax.set_ylim(*lim)
        inside = lim[0] <= p.reference[0] <= lim[1]
        ref = f"reference point ({p.reference[1]:.4g}, {p.reference[0]:.4g}){'' if inside else ', off the axes'}"
        ax.plot([p.reference[1]] if inside else [], [p.reference[0]] if inside else [], "x", color="r", label=ref)
        ax.set_title(self.title(), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right" if mx[0] != mx[1] else "best")
        return save_figure(fig, path)

    def write(self, out: Union[str, Path]) -> list[Path]:
        """Write ``compare.md``, ``compare.csv``, ``anytime.csv``, ``anytime.png`` and ``fronts.png`` into ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        (d / "compare.md").write_text(self.to_markdown())
        (d / "compare.csv").write_text(self.to_csv())
        (d / "anytime.csv").write_text(self.anytime_csv())
        return [d / "compare.md", d / "compare.csv", d / "anytime.csv", self.plot_anytime(d / "anytime.png"),
                self.plot_fronts(d / "fronts.png")]


def _decimals(scale: float) -> int:
    """Decimals that show a hypervolume of about ``scale`` to 5 significant digits (at least 1)."""
    return max(1, 5 - math.ceil(math.log10(scale))) if scale > 0 and math.isfinite(scale) else 4


def _staircase(x: np.ndarray, y: np.ndarray, x_max: bool, x_ref: float,
               y_ref: float) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of the region a 2-D front dominates, as a polyline from its best x to ``x_ref``."""
    order = np.argsort(-x if x_max else x, kind="stable")
    xs, ys = x[order], y[order]
    px, py = ([xs[0]], [y_ref]) if len(xs) else ([], [])
    for i in range(len(xs)):
        if i:
            px.append(xs[i])
            py.append(ys[i - 1])
        px.append(xs[i])
        py.append(ys[i])
    if len(xs):
        px.append(x_ref)
        py.append(ys[-1])
    return np.array(px), np.array(py)


def attainment_surfaces(res: SearchResult, levels: Sequence[float]) -> Optional[tuple[np.ndarray, list[np.ndarray]]]:
    """The k-attainment surfaces of a result's seeds in its first two objectives.

    A point is attained by a seed when one of its feasible queries is at least as good in
    both objectives. Returns the grid of every attained value of the second objective, best
    first, and per level ``k`` the best first objective that at least a share ``k`` of the
    seeds attained at each grid value (NaN where fewer did), to be drawn as steps; ``None``
    when no seed attained anything.
    """
    p = res.problem
    tr = res.trajectories
    if tr.objectives is None or tr.objectives.shape[1] == 0:
        return None
    s = p.objective_signs[:2]
    S, T = tr.arch.shape
    queried = np.arange(T)[None, :] < tr.length[:, None]
    feasible = queried & p.feasible[np.maximum(tr.arch, 0)]
    # oriented: larger is better in both
    a = np.where(feasible, tr.objectives[:, :, 0] * s[0], -np.inf)
    b = np.where(feasible, tr.objectives[:, :, 1] * s[1], -np.inf)
    grid = np.unique(b[np.isfinite(b)])[::-1]  # best second objective first
    if grid.size == 0:
        return None
    # per seed: the best first objective among queries at least as good as g in the second
    order = np.argsort(-b, axis=1, kind="stable")
    bs = np.take_along_axis(b, order, axis=1)
    best_a = np.maximum.accumulate(np.take_along_axis(a, order, axis=1), axis=1)
    att = np.full((S, grid.size), -np.inf)
    for k in range(S):
        j = np.searchsorted(-bs[k], -grid, side="right") - 1  # last query with b >= g
        att[k] = np.where(j >= 0, best_a[k, np.maximum(j, 0)], -np.inf)
    srt = np.sort(att, axis=0)[::-1]  # best first, per grid value
    out = []
    for level in levels:
        need = max(1, int(math.ceil(level * S)))
        v = srt[need - 1]
        out.append(np.where(np.isfinite(v), v * s[0], np.nan))
    return grid * s[1], out


def _summarize(res: SearchResult, table_hv: float) -> dict[str, Any]:
    """One comparison row (see the module docstring)."""
    from ..pareto import non_dominated

    tr = res.trajectories
    p = res.problem
    final = tr.final_report()
    final = final[np.isfinite(final)]
    n = final.size
    mean = float(final.mean()) if n else float("nan")
    std = float(final.std(ddof=1)) if n > 1 else float("nan")
    half = _t95(n) * std / math.sqrt(n) if n > 1 else float("nan")
    S, T = tr.arch.shape
    # a seed that stopped early keeps its last hypervolume
    idx = np.minimum(np.arange(T)[None, :], np.maximum(tr.length[:, None] - 1, 0))
    hv = np.where(tr.length[:, None] > 0, np.take_along_axis(tr.incumbent_report, idx, axis=1), 0.0)
    at = {str(q): (float(hv[:, q - 1].mean()) if q <= T else None) for q in CHECKPOINTS}
    sizes = []
    for k in range(S):
        m = int(tr.length[k])
        ok = p.feasible[tr.arch[k, :m]]
        pts = tr.objectives[k, :m][ok]
        sizes.append(len(np.unique(pts[non_dominated(pts, p.maximize)], axis=0)) if len(pts) else 0)
    return dict(algorithm=res.algorithm, config_hash=res.config_hash, n=n, mean=mean, std=std, ci_low=mean - half,
                ci_high=mean + half, share=mean / table_hv if table_hv > 0 else float("nan"),
                anytime_mean=float(hv.mean()) if hv.size else float("nan"), at=at,
                queries_reached=int(tr.length.min()) if S else 0,
                front_size=float(np.mean(sizes)) if sizes else 0.0,
                found_feasible=float((tr.final_arch() >= 0).mean()) if S else 0.0,
                mean_queries=float(tr.length.mean()) if S else 0.0, cpu_seconds=float(tr.cpu_seconds),
                reused=res.reused)


def compare_multiobjective(
    store: "Store", space: str, dataset: str, objectives: Union[str, Sequence[str]], algorithms: Sequence[str],
    seeds: Sequence[int], *, budget_queries: Optional[int] = None, budget_seconds: Optional[float] = None,
    protocol: Optional[str] = None, constraints: Sequence[str] = (),
    reference: Union[None, str, Sequence[float]] = None,
    configs: Optional[Mapping[str, Mapping[str, Any]]] = None, workers: int = 1,
) -> MultiObjectiveComparison:
    """Run (or read back) each multi-objective algorithm for ``seeds`` on ``objectives`` and
    summarize their hypervolumes (see the module docstring). ``algorithms`` may be ``["all"]``:
    every registered algorithm that takes several objectives."""
    problem = load_multiobjective_problem(store, space, dataset, objectives, protocol, constraints, reference)
    names = default_algorithms(problem) if list(algorithms) == ["all"] else list(dict.fromkeys(algorithms))
    if not names:
        raise ZcdbError("no algorithm to compare: name some with --algos (see `zcdb search list`)")
    table_hv = problem.table_hypervolume()
    results: dict[str, SearchResult] = {}
    rows = []
    for name in names:
        res = run_search(store, name, space, dataset, seeds, budget_queries=budget_queries,
                         budget_seconds=budget_seconds, protocol=protocol, config=(configs or {}).get(name),
                         workers=workers, problem=problem)
        results[name] = res
        rows.append(_summarize(res, table_hv))
    budget = results[names[0]].budget
    return MultiObjectiveComparison(problem, budget.kind, budget.amount, [int(s) for s in seeds], table_hv,
                                    problem.table_front(), rows, results)
