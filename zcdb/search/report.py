"""Comparison reports: several algorithms on one benchmark, as a table (Markdown, CSV, JSON) and an anytime plot.

Per algorithm, over seeds: the final incumbent's report value (mean, std, 95% confidence
interval of the mean), its gap to the *ceiling* (the report value of the architecture with
the best search value: the best a search by that metric can report) and its regret (to the
best report value of any architecture), and the queries (and, with costs, simulated
seconds) the incumbent needed to reach a target report value (median over seeds; a seed that
never reaches it counts as infinite).

Under constraints the ceiling, the best value and the default target are taken over the
feasible architectures only (the *feasible ceiling*), the final value is averaged over the
seeds that found a feasible architecture, and each row says which share of seeds did and
which share of queries were infeasible. Multi-objective comparisons are in
:mod:`zcdb.search.mo_report`.
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
from .problem import SearchProblem
from .registry import ALGORITHMS, make_algorithm
from .runs import SearchResult, load_problem, run_search
from ..plots import pyplot, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store

#: Default target: this quantile of the report metric over available architectures (the top 1%).
TARGET_QUANTILE = 0.99


@dataclass
class Comparison:
    """The outcome of :func:`compare_algorithms`: one row per algorithm plus the reference values."""

    problem: SearchProblem
    budget_kind: str
    budget: float
    seeds: list[int]
    ceiling: float
    ceiling_arch: int
    best: float
    target: float
    rows: list[dict[str, Any]]
    results: dict[str, SearchResult] = field(repr=False, default_factory=dict)
    #: One line each: what a reader must know to read a row right (e.g. a proxy-aware algorithm
    #: that samples from the scored architectures only).
    notes: list[str] = field(default_factory=list)

    def title(self) -> str:
        """One line naming the benchmark, metrics, budget and seeds."""
        p = self.problem
        unit = "queries" if self.budget_kind == "queries" else "simulated s"
        under = f" under {' and '.join(p.constraints)}" if p.constraints else ""
        return (f"{p.space}/{p.dataset} ({p.protocol}): search {p.search_metric}, report {p.report_metric}{under}, "
                f"{self.budget:g} {unit}, {len(self.seeds)} seeds")

    def fmt(self, v: float) -> str:
        """A report value as the tables print it: 2 decimals for accuracies in percent, 4 for metrics of
        order 1 (SSIM, a negated loss), where 2 would hide the differences."""
        return f"{v:.{2 if abs(self.ceiling) >= 10 else 4}f}"

    def to_json(self) -> dict[str, Any]:
        """Everything in the table, for machines."""
        p = self.problem
        return dict(space=p.space, dataset=p.dataset, protocol=p.protocol,
                    search_metric=p.search_metric, report_metric=p.report_metric,
                    constraints=list(p.constraints), feasible_archs=int(p.queryable.sum()),
                    budget_kind=self.budget_kind, budget=self.budget, seeds=len(self.seeds),
                    ceiling=self.ceiling, ceiling_arch=self.ceiling_arch, best=self.best, target=self.target,
                    rows=self.rows, notes=list(self.notes))

    def to_markdown(self) -> str:
        """The comparison as a Markdown table with a caption."""
        p = self.problem
        m = p.report_metric
        timed = any(r.get("seconds_to_target") is not None for r in self.rows)
        cons = bool(p.constraints)
        head = ["algorithm", f"final {m} (mean ± std)", "95% CI", "gap to ceiling", "regret",
                "queries to target (reached)"] + (["sim. s to target"] if timed else []) + (
                ["found feasible", "infeasible queries"] if cons else []) + ["CPU s"]
        feas = (f"Under {' and '.join(p.constraints)}: {p.queryable.sum():,} of {int(p.available.sum()):,} "
                "architectures are feasible. Feasible ceiling" if cons else "Ceiling")
        best = "best feasible" if cons else "best"
        lines = [f"**{self.title()}**", "",
                 f"{feas} (report value of the best-{p.search_metric} architecture, index "
                 f"{self.ceiling_arch}): {self.fmt(self.ceiling)}; {best} {m}: {self.fmt(self.best)}; "
                 f"target: {self.fmt(self.target)}.",
                 "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            f = self.fmt
            cells = [r["algorithm"], f"{f(r['mean'])} ± {f(r['std'])}", f"[{f(r['ci_low'])}, {f(r['ci_high'])}]",
                     f(r["gap"]), f(r["regret"]),
                     f"{_num(r['queries_to_target'])} ({100 * r['reached']:.0f}%)"]
            if timed:
                cells.append(_num(r.get("seconds_to_target")))
            if cons:
                cells += [f"{100 * r['found_feasible']:.0f}%", f"{100 * r['infeasible_queries']:.0f}%"]
            cells.append(f"{r['cpu_seconds']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines += [""] + [f"Note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """The rows as CSV (one header line)."""
        buf = io.StringIO()
        cols = ["space", "dataset", "protocol", "search_metric", "report_metric", "budget_kind", "budget", *ROW_KEYS]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        base = dict(space=self.problem.space, dataset=self.problem.dataset, protocol=self.problem.protocol,
                    search_metric=self.problem.search_metric, report_metric=self.problem.report_metric,
                    budget_kind=self.budget_kind, budget=self.budget)
        for r in self.rows:
            w.writerow({**base, **{k: ("" if r.get(k) is None else r.get(k)) for k in ROW_KEYS}})
        return buf.getvalue()

    def plot(self, path: Union[str, Path], x: Optional[str] = None) -> Path:
        """Anytime plot (PNG): mean incumbent report value with a 95% band, against queries or
        simulated time (``x``: ``queries`` or ``time``; default: the budget's unit)."""
        plt = pyplot()

        x = x or ("queries" if self.budget_kind == "queries" else "time")
        fig, ax = plt.subplots(figsize=(8.5, 4.5), dpi=120)
        lows, highs = [], []
        for name, res in self.results.items():
            xs, mean, half = anytime_curve(res, x)
            if xs.size == 0:
                continue
            line, = ax.plot(xs, mean, label=name, lw=1.4)
            ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
            finite = mean[np.isfinite(mean)]
            if finite.size:
                lows.append(np.quantile(finite, 0.1))
                highs.append(finite.max())  # above the ceiling only where it is a sample's (a served space)
        label = "feasible ceiling" if self.problem.constraints else "ceiling"
        ax.axhline(self.ceiling, color="k", ls="--", lw=0.8, label=f"{label} {self.fmt(self.ceiling)}")
        ax.set_xscale("log")  # the early queries are where proxies and warm starts differ
        if lows:
            ax.set_ylim(min(lows) - 0.1 * abs(self.ceiling - min(lows)) - 1e-9,
                        max(self.ceiling, self.best, *highs) + 0.1 * abs(self.ceiling - min(lows)) + 1e-9)
        ax.set_xlabel("queries" if x == "queries" else "simulated seconds")
        ax.set_ylabel(f"incumbent {self.problem.report_metric}")
        ax.set_title(self.title(), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        return save_figure(fig, path)

    def write(self, out: Union[str, Path]) -> list[Path]:
        """Write ``compare.md``, ``compare.csv`` and ``anytime.png`` into folder ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        (d / "compare.md").write_text(self.to_markdown())
        (d / "compare.csv").write_text(self.to_csv())
        return [d / "compare.md", d / "compare.csv", self.plot(d / "anytime.png")]


ROW_KEYS = ["algorithm", "config_hash", "n", "mean", "std", "ci_low", "ci_high", "gap", "regret",
            "queries_to_target", "reached", "seconds_to_target", "mean_queries", "found_feasible",
            "infeasible_queries", "cpu_seconds", "reused"]


def _num(v: Optional[float]) -> str:
    if v is None:
        return ""
    return "∞" if math.isinf(v) else f"{v:.0f}" if v >= 10 else f"{v:.2g}"


def _t95(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")


def anytime_curve(res: SearchResult, x: str = "queries",
                  points: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean incumbent report value and the half-width of its 95% interval, against queries
    (1..T) or simulated time (a log grid); only where every seed has an incumbent. Under
    constraints, where at least half of the seeds have a feasible incumbent, over those."""
    tr = res.trajectories
    vals = tr.incumbent_report
    S = len(tr.seeds)
    if S == 0 or vals.shape[1] == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    if x == "queries":
        # a seed that stopped early keeps its last incumbent
        idx = np.minimum(np.arange(vals.shape[1])[None, :], np.maximum(tr.length[:, None] - 1, 0))
        grid = np.take_along_axis(vals, idx, axis=1)
        grid = np.where(tr.length[:, None] > 0, grid, np.nan)
        xs = np.arange(1, vals.shape[1] + 1, dtype=np.float64)
    else:
        t = np.where(np.isfinite(tr.time), tr.time, np.inf)
        pos = t[np.isfinite(t) & (t > 0)]
        if pos.size == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        hi = res.budget.amount if res.budget.kind == "seconds" else float(pos.max())
        xs = np.geomspace(float(pos.min()), hi, points)
        grid = np.full((S, points), np.nan)
        for k in range(S):
            n = int(tr.length[k])
            j = np.searchsorted(t[k, :n], xs, side="right") - 1
            grid[k] = np.where(j >= 0, vals[k, np.maximum(j, 0)], np.nan)
    if res.problem.constraints:
        from scipy import stats

        have = np.isfinite(grid).sum(axis=0)
        ok = 2 * have >= max(S, 2)
        cnt = np.maximum(have, 2)
        mean = np.nansum(grid, axis=0) / np.maximum(have, 1)
        var = np.nansum((grid - mean[None, :]) ** 2, axis=0) / (cnt - 1)
        half = stats.t.ppf(0.975, cnt - 1) * np.sqrt(var / cnt)
        return xs[ok], mean[ok], np.nan_to_num(half[ok])
    ok = np.isfinite(grid).all(axis=0)
    mean = np.nanmean(np.where(ok[None, :], grid, 0.0), axis=0)
    half = _t95(S) * np.std(grid, axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(grid.shape[1])
    return xs[ok], mean[ok], np.nan_to_num(half[ok])


def _first_reach(res: SearchResult, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Queries (1-based) and simulated seconds at which each seed's incumbent reached ``target`` (inf: never)."""
    tr = res.trajectories
    if tr.arch.shape[1] == 0:
        return np.full(len(tr.seeds), np.inf), np.full(len(tr.seeds), np.inf)
    sign = res.problem.report_sign
    hit = np.nan_to_num(tr.incumbent_report * sign, nan=-np.inf) >= target * sign
    any_hit = hit.any(axis=1)
    first = np.argmax(hit, axis=1)
    q = np.where(any_hit, first + 1.0, np.inf)
    rows = np.arange(len(tr.seeds))
    s = np.where(any_hit, tr.time[rows, first], np.inf)
    return q, s


def summarize(res: SearchResult, ceiling: float, best: float, target: float) -> dict[str, Any]:
    """One comparison row (see the module docstring)."""
    final = res.trajectories.final_report()
    final = final[np.isfinite(final)]
    n = final.size  # 0 when proxy lookups alone exhaust a time budget: the row shows NaN
    mean = float(final.mean()) if n else float("nan")
    std = float(final.std(ddof=1)) if n > 1 else float("nan")
    half = _t95(n) * std / math.sqrt(n) if n > 1 else float("nan")
    sign = res.problem.report_sign
    q, s = _first_reach(res, target)
    timed = res.problem.has_cost
    tr = res.trajectories
    found = tr.final_arch() >= 0
    queried = np.arange(tr.arch.shape[1])[None, :] < tr.length[:, None]
    infeasible = queried & ~res.problem.feasible_at(np.maximum(tr.arch, 0))
    return dict(
        algorithm=res.algorithm, config_hash=res.config_hash, n=n, mean=mean, std=std, ci_low=mean - half,
        ci_high=mean + half, gap=(ceiling - mean) * sign, regret=(best - mean) * sign,
        queries_to_target=float(np.median(q)) if len(q) else float("inf"),
        reached=float(np.isfinite(q).mean()) if len(q) else 0.0,
        seconds_to_target=float(np.median(s)) if timed and len(s) else None,
        mean_queries=float(res.trajectories.length.mean()),
        found_feasible=float(found.mean()) if found.size else 0.0,
        infeasible_queries=float(infeasible.sum() / max(int(queried.sum()), 1)),
        cpu_seconds=float(res.trajectories.cpu_seconds), reused=res.reused,
    )


def default_algorithms(problem: SearchProblem) -> list[str]:
    """Every registered algorithm that applies: those needing curves only when the table has
    several epochs, those reading proxies only when proxy sets are given, those needing a
    product space only on one."""
    out = []
    for name, entry in ALGORITHMS.items():
        algo = make_algorithm(name)
        if not (algo.multi_objective if problem.num_objectives > 1 else algo.single_objective):
            continue
        if type(algo).multi_fidelity and len(problem.epochs) < 2:
            continue
        if type(algo).needs_product and not problem.search_space.product:
            continue
        if algo.uses_proxies() and not problem.proxy_sets:
            continue
        try:
            problem.check_algorithm(algo, name)
        except ZcdbError:
            continue
        out.append(name)
    return out


def compare_algorithms(
    store: "Store", space: str, dataset: str, algorithms: Sequence[str], seeds: Sequence[int], *,
    budget_queries: Optional[int] = None, budget_seconds: Optional[float] = None, search_metric: str = "val_acc",
    report_metric: str = "test_acc", protocol: Optional[str] = None, proxies: Sequence[str] = (),
    target: Optional[float] = None, configs: Optional[Mapping[str, Mapping[str, Any]]] = None, workers: int = 1,
    constraints: Sequence[str] = (), loops: Sequence[str] = (), problem: Optional[SearchProblem] = None,
) -> Comparison:
    """Run (or read back) each algorithm for ``seeds`` and summarize: see the module docstring.
    ``algorithms`` may be ``["all"]`` (:func:`default_algorithms`); ``configs`` maps a name to overrides;
    ``constraints`` (``latency_edgegpu<5``) apply to every algorithm. ``loops`` names stored
    plain-loop runs (:mod:`zcdb.search.loops`, ``NAME`` or ``NAME@HASH``), read back for the same
    seeds, metrics and budget and summarized alike (rows ``loop:NAME``). ``problem``, when given (a
    :class:`~zcdb.search.served.ServedProblem`), replaces the stored benchmark, metrics and constraints."""
    from .loops import stored_loop
    from .runner import Budget

    if problem is None:
        problem = load_problem(store, space, dataset, search_metric, report_metric, protocol, proxies, constraints)
    names = default_algorithms(problem) if list(algorithms) == ["all"] else list(dict.fromkeys(algorithms))
    loop_names = list(dict.fromkeys(str(n) for n in loops))
    if not names and not loop_names:
        raise ZcdbError("no algorithm to compare: name some with --algos (see `zcdb search list`) or --loops")
    ceiling_arch, ceiling = problem.ceiling()
    _, best = problem.best_report()
    avail = problem.report_pool()
    if target is None:
        q = TARGET_QUANTILE if problem.report_sign > 0 else 1 - TARGET_QUANTILE
        target = float(np.quantile(avail, q))
    results: dict[str, SearchResult] = {}
    rows = []
    for name in names:
        res = run_search(store, name, space, dataset, seeds, budget_queries=budget_queries,
                         budget_seconds=budget_seconds, search_metric=search_metric, report_metric=report_metric,
                         protocol=protocol, proxies=proxies, config=(configs or {}).get(name), workers=workers,
                         problem=problem)
        results[name] = res
        rows.append(summarize(res, ceiling, best, target))
    budget = results[names[0]].budget if names else Budget(budget_queries, budget_seconds)
    for name in loop_names:
        res = stored_loop(store, name, problem, budget, seeds)
        results[res.algorithm] = res
        rows.append(summarize(res, ceiling, best, target))
    return Comparison(problem, budget.kind, budget.amount, [int(s) for s in seeds], ceiling, ceiling_arch, best,
                      float(target), rows, results,
                      notes=proxy_pool_notes(problem, names, configs) + problem.comparison_notes())


def proxy_pool_notes(problem: SearchProblem, names: Sequence[str],
                     configs: Optional[Mapping[str, Mapping[str, Any]]] = None) -> list[str]:
    """A note for each proxy-aware algorithm whose proxy samples cover every scored architecture:
    it then ranks the same pool on every seed (its spread over seeds says little), and it never
    looks beyond the architectures that have proxy scores."""
    notes = []
    pool = int(problem.proxy_available_index.size) if problem.proxy_sets else 0
    for name in names:
        algo = make_algorithm(name, (configs or {}).get(name))
        if not algo.uses_proxies() or not pool:
            continue
        avail = int(problem.available.sum())
        cfg = algo.config()
        n = cfg.get("n_samples", cfg.get("n_proxy_samples"))
        restricted = pool < avail
        if n is not None and n >= pool:
            notes.append(f"{name} ranks all {pool:,} architectures with proxy scores ({100 * pool / avail:.1f}% of the "
                         f"{avail:,} available) on every seed: the seeds differ only after that; score more "
                         "architectures (zcdb proxies compute) for a sample of the space")
        elif restricted:
            notes.append(f"{name} samples from the {pool:,} architectures with proxy scores only "
                         f"({100 * pool / avail:.1f}% of the {avail:,} available)")
    return notes
