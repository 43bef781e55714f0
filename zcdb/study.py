"""Cross-benchmark studies: proxies, or search algorithms, compared over many benchmarks, reproducibly.

* :func:`proxy_study`: per benchmark holding proxy scores, each proxy's Spearman and Kendall
  with the benchmark's *main metric* (:func:`main_metric`), with bootstrap 95% intervals, on the
  architectures common to every proxy compared there; a heat map, average ranks, and the
  Friedman test with Nemenyi's critical difference (:mod:`zcdb.ranking`).
* :func:`search_study`: every algorithm on every benchmark with the same seeds and budget (in
  queries, or a fraction of each benchmark), through stored runs (:func:`zcdb.search.runs.plan_run`:
  what the store holds is reused, the rest computed over worker processes or a Dask cluster); per
  benchmark the *normalized regret* (:func:`normalized_regret`), or for a multi-objective study the
  *normalized hypervolume*, at chosen budgets, each with average ranks, the Friedman test and a
  CD diagram, and an anytime plot.
* :func:`run_spec`: a study from a spec (JSON or TOML, :func:`load_spec`); the report records the
  spec, the zcdb version and the data fingerprint of every benchmark read
  (:meth:`zcdb.Store.data_fingerprint`), so the same spec on the same store writes the same
  report, byte for byte, except for the line that starts with ``Generated``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from . import __version__
from .errors import CorruptFile, ZcdbError
from .jsonio import dumps
from .plots import pyplot, save_figure
from .ranking import FriedmanResult, friedman, plot_cd

if TYPE_CHECKING:  # pragma: no cover
    from .store import Benchmark, Store

#: Bootstrap resamples of a proxy study's intervals unless a spec says otherwise.
DEFAULT_BOOTSTRAP = 200
#: The metrics a benchmark's main metric falls back to, in order, when its space names none stored.
FALLBACK_METRICS = ("val_acc", "test_acc")

PathLike = Union[str, Path]


# --------------------------------------------------------------------------- benchmarks and metrics
def parse_seeds(seeds: Union[str, Sequence[int]]) -> list[int]:
    """``0-99``, ``0,3,7`` (or a list of ints) as a list of seeds."""
    if not isinstance(seeds, str):
        return [int(s) for s in seeds]
    out: list[int] = []
    for part in seeds.split(","):
        a, dash, b = part.strip().partition("-")
        try:
            out.extend(range(int(a), int(b) + 1) if dash else [int(a)])
        except ValueError:
            raise ZcdbError(f"bad seeds {seeds!r}: write them as 0-99 or 0,3,7") from None
    if not out:
        raise ZcdbError("no seeds: give some, e.g. 0-99")
    return out


def _label(space: str, dataset: str) -> str:
    return f"{space}/{dataset}"


def parse_benchmarks(store: "Store", benchmarks: Union[str, Sequence[str]],
                     with_proxies: bool, needs: Optional[Sequence[str]] = None) -> list[tuple[str, str]]:
    """``all`` or ``SPACE/DATASET,...`` (or a list) as (space, dataset) pairs, each checked against the store.

    ``all`` means every benchmark with rows (and, ``with_proxies``, with proxy scores; with ``needs``,
    storing every one of those metrics)."""
    scored = {(r["space"], r["dataset"]) for r in store.proxy_runs()} if with_proxies else None
    rows = store.benchmark_rows()
    stored = list(dict.fromkeys((r["space"], r["dataset"]) for r in rows))
    if isinstance(benchmarks, str) and benchmarks.strip() == "all":
        out = [b for b in stored if scored is None or b in scored]
        if needs:
            holding = {(r["space"], r["dataset"]) for r in rows
                       if set(needs) <= {s.metric for s in store.series(r["id"])}}
            out = [b for b in out if b in holding]
        if not out:
            what = ("benchmark with proxy scores" if with_proxies else
                    f"benchmark storing {', '.join(needs)}" if needs else "benchmark")
            raise ZcdbError(f"the store {store.path} holds no {what}: import some first (see `zcdb import --help`)")
        return out
    items = [b.strip() for b in benchmarks.split(",")] if isinstance(benchmarks, str) else [str(b) for b in benchmarks]
    out = []
    for item in (i for i in items if i):
        space, slash, dataset = item.partition("/")
        if not slash or not space or not dataset:
            raise ZcdbError(f"bad benchmark {item!r}: write SPACE/DATASET (see `zcdb info`)")
        store.benchmark(space, dataset)  # one-line errors for an unknown space or dataset
        if scored is not None and (space, dataset) not in scored:
            raise ZcdbError(f"{item} has no proxy scores: import or compute some (`zcdb proxies compute`), "
                            "or leave it out of --benchmarks")
        out.append((space, dataset))
    if not out:
        raise ZcdbError("no benchmark named: use --benchmarks all or SPACE/DATASET,...")
    return list(dict.fromkeys(out))


def parse_metric_for(items: Union[None, Sequence[str], Mapping[str, Any]]) -> dict[str, Any]:
    """``SPACE/DATASET=METRIC`` overrides (or a mapping) as a dict label -> metric."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        label, eq, metric = item.partition("=")
        if not eq or "/" not in label or not metric.strip():
            raise ZcdbError(f"bad --metric-for {item!r}: write SPACE/DATASET=METRIC, e.g. nb201/cifar10=test_acc")
        out[label.strip()] = metric.strip()
    return out


def main_metric(bench: "Benchmark", override: Optional[str] = None) -> tuple[str, int]:
    """The metric (and epoch) a study correlates with or searches: ``override`` at its last epoch, else
    the space's :meth:`~zcdb.spaces.base.SearchSpace.suite_zero_metric` of the dataset when stored (at
    its epoch when stored there), else ``val_acc``, else ``test_acc``, at their last epochs."""
    metrics = bench.metrics()
    if override is not None:
        if override not in metrics:
            raise ZcdbError(f"{_label(bench.space, bench.dataset)} has no {override}: stored metrics are "
                            f"{', '.join(metrics)}")
        return override, max(bench.epochs(override))
    name, epoch = bench.search_space.suite_zero_metric(bench.dataset)
    if name in metrics:
        eps = bench.epochs(name)
        return name, (epoch if epoch in eps else max(eps))
    for m in FALLBACK_METRICS:
        if m in metrics:
            return m, max(bench.epochs(m))
    raise ZcdbError(f"{_label(bench.space, bench.dataset)} has none of {name}, {', '.join(FALLBACK_METRICS)}: "
                    f"name its metric with --metric-for {_label(bench.space, bench.dataset)}=METRIC")


# --------------------------------------------------------------------------- common report parts
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")




def _f(v: Optional[float], digits: int = 3) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _ci(v: float, ci: Sequence[float]) -> str:
    return f"{_f(v)} [{_f(ci[0])}, {_f(ci[1])}]"


def _friedman_lines(res: Optional[FriedmanResult], what: str, notes: Sequence[str]) -> list[str]:
    lines = []
    if res is None:
        lines.append(f"No average ranks: {' '.join(notes) or 'too few ' + what + ' or benchmarks.'}")
        return lines
    order = np.argsort(res.average_ranks, kind="stable")
    lines += [f"| {what} | average rank |", "|---|---|"]
    lines += [f"| {res.names[i]} | {res.average_ranks[i]:.3f} |" for i in order]
    lines += ["", f"Friedman test over N = {res.n} benchmarks and k = {len(res.names)} {what}: "
              f"chi2_F = {res.chi2:.3f} (p = {res.chi2_p:.3g}), Iman-Davenport F_F = {res.f:.3f}, "
              f"**p = {res.p:.3g}**. Nemenyi critical difference at alpha = {res.alpha:g}: CD = {res.cd:.3f} "
              "(two average ranks closer than CD are not significantly different; Demšar 2006)."]
    lines += [""] + [f"- {n}" for n in notes] if notes else []
    return lines


class Study:
    """What both kinds of study share: a report (Markdown, CSV, JSON) and its files."""

    kind = ""
    spec: dict[str, Any]
    fingerprints: dict[str, str]
    generated: str

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_markdown(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_csv(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _plots(self, d: Path) -> list[Path]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _header(self, title: str) -> list[str]:
        return [f"# {title}", "", f"Generated {self.generated} by zcdb {__version__}.", "",
                "Spec (`zcdb study run` reads this back):", "", "```json",
                json.dumps(self.spec, indent=1, sort_keys=True), "```", ""]

    def write(self, out: PathLike) -> list[Path]:
        """Write ``report.md``, ``report.json``, ``results.csv`` and the figures into folder ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        (d / "report.md").write_text(self.to_markdown())
        (d / "report.json").write_text(dumps(self.to_json(), indent=1, sort_keys=True) + "\n")
        (d / "results.csv").write_text(self.to_csv())
        return [d / "report.md", d / "report.json", d / "results.csv", *self._plots(d)]


# --------------------------------------------------------------------------- proxy studies
@dataclass
class ProxyStudy(Study):
    """The outcome of :func:`proxy_study`."""

    spec: dict[str, Any]
    benchmarks: list[dict[str, Any]]
    proxies: list[str]
    rows: list[dict[str, Any]]
    ranked: list[str]
    rank_benchmarks: list[str]
    friedman: Optional[FriedmanResult]
    notes: list[str]
    fingerprints: dict[str, str]
    generated: str = field(default_factory=_now)
    kind = "proxies"

    def cell(self, benchmark: str, proxy: str) -> Optional[dict[str, Any]]:
        """The row of ``proxy`` on ``benchmark`` (None where it has no scores there)."""
        for r in self.rows:
            if r["benchmark"] == benchmark and r["proxy"] == proxy:
                return r
        return None

    def matrix(self, key: str = "spearman") -> np.ndarray:
        """``(proxies, benchmarks)`` array of ``key`` (NaN where a proxy has no scores)."""
        labels = [b["benchmark"] for b in self.benchmarks]
        out = np.full((len(self.proxies), len(labels)), np.nan)
        for r in self.rows:
            out[self.proxies.index(r["proxy"]), labels.index(r["benchmark"])] = r[key]
        return out

    def to_json(self) -> dict[str, Any]:
        return dict(kind=self.kind, zcdb_version=__version__, spec=self.spec, benchmarks=self.benchmarks,
                    proxies=self.proxies, rows=self.rows, ranked_proxies=self.ranked,
                    rank_benchmarks=self.rank_benchmarks,
                    friedman=self.friedman.to_json() if self.friedman else None, notes=self.notes)

    def to_markdown(self) -> str:
        lines = self._header("Proxy study")
        lines += ["## Benchmarks", "",
                  "Main metric: the space's NAS-Bench-Suite-Zero metric for the dataset where stored, else "
                  "`val_acc`, else `test_acc` (overridden by the spec's `metrics`). `n`: architectures with a finite "
                  "metric and a finite score from every proxy compared on that benchmark (all correlations of a "
                  "benchmark are on the same `n`).", "",
                  "| benchmark | metric (epoch) | n | proxies | data fingerprint |", "|---|---|---|---|---|"]
        for b in self.benchmarks:
            lines.append(f"| {b['benchmark']} | {b['metric']} ({b['epoch']}) | {b['n']} | {len(b['proxies'])} | "
                         f"`{b['fingerprint']}` |")
        for key, title in (("spearman", "Spearman"), ("kendall", "Kendall")):
            lines += ["", f"## {title} rank correlation (95% bootstrap interval, "
                      f"{self.spec['bootstrap']} resamples)", "",
                      "| proxy | " + " | ".join(b["benchmark"] for b in self.benchmarks) + " |",
                      "|---|" + "---|" * len(self.benchmarks)]
            for p in self.proxies:
                cells = []
                for b in self.benchmarks:
                    r = self.cell(b["benchmark"], p)
                    cells.append("–" if r is None else _ci(r[key], r[f"{key}_ci"]))
                lines.append(f"| {p} | " + " | ".join(cells) + " |")
        lines += ["", "## Average rank (by Spearman, 1 = best)", ""]
        lines += _friedman_lines(self.friedman, "proxies", self.notes)
        lines += ["", "## Figures", "", "![Spearman heat map](heatmap.png)", ""]
        if self.friedman is not None:
            lines += ["![critical-difference diagram](cd.png)", ""]
        return "\n".join(lines)

    def to_csv(self) -> str:
        buf = io.StringIO()
        cols = ["benchmark", "space", "dataset", "protocol", "metric", "epoch", "proxy", "score_set", "n",
                "spearman", "spearman_lo", "spearman_hi", "kendall", "kendall_lo", "kendall_hi"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({**{k: r[k] for k in cols if k in r},
                        "spearman_lo": r["spearman_ci"][0], "spearman_hi": r["spearman_ci"][1],
                        "kendall_lo": r["kendall_ci"][0], "kendall_hi": r["kendall_ci"][1]})
        return buf.getvalue()

    def plot_heatmap(self, path: PathLike) -> Path:
        """Proxies x benchmarks heat map of Spearman's rho (grey: no scores)."""
        plt = pyplot()

        m = self.matrix()
        B, P = len(self.benchmarks), len(self.proxies)
        fig, ax = plt.subplots(figsize=(1.2 + 0.62 * B, 1.4 + 0.36 * P), dpi=120)
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
        im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=-1, vmax=1, aspect="auto")
        for i in range(P):
            for j in range(B):
                if np.isfinite(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6.5,
                            color="white" if abs(m[i, j]) > 0.6 else "black")
        ax.set_xticks(range(B), [b["benchmark"] for b in self.benchmarks], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(P), self.proxies, fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="Spearman")
        ax.set_title("Spearman rank correlation with each benchmark's main metric (grey: no scores)", fontsize=8)
        return save_figure(fig, path)

    def summary_text(self) -> str:
        """A plain-text summary for the terminal: Spearman per proxy and benchmark, then the ranks."""
        width = max(len(p) for p in self.proxies) if self.proxies else 5
        lines = [f"{len(self.proxies)} proxies on {len(self.benchmarks)} benchmarks; Spearman (n per benchmark):"]
        for b in self.benchmarks:
            cells = [f"{r['proxy']} {r['spearman']:.3f}" for r in self.rows if r["benchmark"] == b["benchmark"]]
            lines.append(f"  {b['benchmark']} [{b['metric']}, n={b['n']}]: " + ", ".join(cells))
        if self.friedman is not None:
            f = self.friedman
            order = np.argsort(f.average_ranks, kind="stable")
            lines.append(f"average rank over {f.n} benchmarks: " +
                         ", ".join(f"{f.names[i]} {f.average_ranks[i]:.2f}".ljust(width) for i in order))
            lines.append(f"Friedman p = {f.p:.3g}; Nemenyi CD = {f.cd:.3f}")
        lines += self.notes
        return "\n".join(lines)

    def _plots(self, d: Path) -> list[Path]:
        out = [self.plot_heatmap(d / "heatmap.png")]
        if self.friedman is not None:
            out.append(plot_cd(self.friedman, d / "cd.png", f"Proxies: Friedman p = {self.friedman.p:.3g} "
                                                            f"over {self.friedman.n} benchmarks"))
        return out


def _choose_sets(store: "Store", space: str, dataset: str, wanted: Optional[set[str]],
                 truth: np.ndarray, blind: Optional[list[str]] = None) -> dict[str, tuple[str, np.ndarray]]:
    """Per proxy, its stored score set covering most architectures with a finite metric (ties: the first
    by seed, batch size, data), oriented so that higher predicts better: proxy -> (set label, scores).

    A proxy none of whose sets scores an architecture with a finite metric (nb301's zen: other
    architectures than the trained ones) says nothing about the benchmark: it is left out, and
    named in ``blind``."""
    from .proxies.stored import oriented_scores

    best: dict[str, tuple[int, str, np.ndarray]] = {}
    sets = sorted(store.proxy_runs(space, dataset), key=lambda s: (s["proxy"], s["seed"], s["batch_size"], s["data"]))
    for st in sets:
        if wanted is not None and st["proxy"] not in wanted:
            continue
        sc = oriented_scores(store, space, dataset, st)
        n = int((np.isfinite(sc) & np.isfinite(truth)).sum())
        if st["proxy"] not in best or n > best[st["proxy"]][0]:
            best[st["proxy"]] = (n, f"{st['proxy']}/{st['seed']}/{st['batch_size']}/{st['data']}", sc)
    if blind is not None:
        blind += sorted(p for p, (n, _, _) in best.items() if n == 0)
    return {p: (label, sc) for p, (n, label, sc) in sorted(best.items()) if n > 0}


def proxy_study(store: "Store", benchmarks: Union[str, Sequence[str]] = "all",
                proxies: Union[str, Sequence[str]] = "all", metrics: Union[None, Sequence[str], Mapping] = None,
                bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> ProxyStudy:
    """Every proxy on every benchmark: see the module docstring.

    ``benchmarks``: ``all`` (those with proxy scores) or ``SPACE/DATASET`` names; ``proxies``: ``all``
    or names; ``metrics``: ``SPACE/DATASET=METRIC`` overrides of :func:`main_metric`; ``bootstrap``
    resamples (seeded by ``seed``, shared by the proxies of a benchmark) give the 95% intervals.

    Average ranks and the Friedman test need every ranked proxy on every ranked benchmark: they
    rank all compared proxies over the benchmarks where all of them have scores, or, where fewer
    than two benchmarks have them all, the proxies that have scores on every benchmark (a note says
    which). Missing cells are never filled in. TE-NAS's two components are compared as stored
    (``tenas_ntk``, ``tenas_lr``); their rank combination (``zcdb proxies eval``'s ``tenas``) is not."""
    from .proxies.stored import rank_metrics_with_draws

    if not isinstance(bootstrap, int) or bootstrap < 0:
        raise ZcdbError(f"bootstrap must be a non-negative integer, not {bootstrap!r}")
    pairs = parse_benchmarks(store, benchmarks, with_proxies=True)
    overrides = parse_metric_for(metrics)
    wanted: Optional[set[str]] = None
    if not (isinstance(proxies, str) and proxies.strip() == "all"):
        names = [p.strip() for p in proxies.split(",")] if isinstance(proxies, str) else list(proxies)
        wanted = {p for p in names if p}
        if not wanted:
            raise ZcdbError("no proxy named: use --proxies all or a comma-separated list")
    known_labels = {_label(*b) for b in pairs}
    for label in overrides:
        if label not in known_labels:
            raise ZcdbError(f"--metric-for names {label}, which is not among the benchmarks of this study")
    spec = dict(kind="proxies", benchmarks=[_label(*b) for b in pairs],
                proxies="all" if wanted is None else sorted(wanted), metrics=dict(sorted(overrides.items())),
                bootstrap=bootstrap, seed=seed)
    bench_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    fingerprints: dict[str, str] = {}
    absent: list[str] = []
    blind_notes: list[str] = []
    for space, dataset in pairs:
        label = _label(space, dataset)
        bench = store.benchmark(space, dataset)
        metric, epoch = main_metric(bench, overrides.get(label))
        truth = np.asarray(bench.values(metric, epoch), dtype=np.float64) * (
            1.0 if bench.higher_is_better(metric) else -1.0)
        blind: list[str] = []
        chosen = _choose_sets(store, space, dataset, wanted, truth, blind)
        if blind:
            blind_notes.append(f"Left out on {label}: {', '.join(blind)}, which score none of its architectures "
                               f"with a finite {metric}.")
        if not chosen:
            absent.append(label)
            continue
        mask = np.isfinite(truth)
        for _, sc in chosen.values():
            mask &= np.isfinite(sc)
        n = int(mask.sum())
        if n < 3:
            raise ZcdbError(f"the proxies of {label} ({', '.join(chosen)}) have {n} architectures in common with a "
                            f"finite {metric}: pass --proxies to compare fewer, or leave {label} out of --benchmarks")
        fingerprints[label] = store.data_fingerprint(space, dataset, bench.protocol)
        bench_rows.append(dict(benchmark=label, space=space, dataset=dataset, protocol=bench.protocol, metric=metric,
                               epoch=int(epoch), n=n, proxies=list(chosen), fingerprint=fingerprints[label]))
        results = rank_metrics_with_draws([sc[mask] for _, sc in chosen.values()], truth[mask], bootstrap, seed)
        for (proxy, (set_label, _)), r in zip(chosen.items(), results):
            rows.append(dict(benchmark=label, space=space, dataset=dataset, protocol=bench.protocol, metric=metric,
                             epoch=int(epoch), proxy=proxy, score_set=set_label, n=r["n"], spearman=r["spearman"],
                             spearman_ci=r.get("spearman_ci", [math.nan, math.nan]), kendall=r["kendall"],
                             kendall_ci=r.get("kendall_ci", [math.nan, math.nan])))
    if wanted is not None:
        missing = sorted(wanted - {r["proxy"] for r in rows})
        if missing:
            raise ZcdbError(f"no scores for {', '.join(missing)} on the benchmarks of this study: see `zcdb info` "
                            "for the stored proxies")
    names = sorted({r["proxy"] for r in rows})
    notes = [f"Left out, none of the proxies compared has scores there: {', '.join(absent)}."] if absent else []
    notes += blind_notes
    study = ProxyStudy(spec, bench_rows, names, rows, [], [], None, notes, fingerprints)
    _rank_proxies(study)
    return study


def _rank_proxies(study: ProxyStudy) -> None:
    ranked, benches, res, notes = rank_table(study.matrix().T, [b["benchmark"] for b in study.benchmarks],
                                             study.proxies, True, ("proxy", "proxies"), "has scores")
    study.ranked, study.rank_benchmarks, study.friedman = ranked, benches, res
    study.notes += notes


def rank_table(m: np.ndarray, labels: Sequence[str], names: Sequence[str], higher_is_better: bool,
               what: tuple[str, str], has: str) -> tuple[list[str], list[str], Optional[FriedmanResult], list[str]]:
    """Average ranks and the Friedman test of a ``(benchmarks, methods)`` table with missing (NaN) cells:
    over the benchmarks where every method ``has`` a value, or, where fewer than two are complete, over
    the methods with a value on every benchmark. Missing cells are never filled in. Returns the ranked
    methods, the benchmarks ranked over, the test (None when too few are left) and notes saying which."""
    one, many = what
    notes: list[str] = []
    complete = np.isfinite(m).all(axis=1)
    cols = np.arange(len(names))
    if complete.sum() < 2:
        cols = np.flatnonzero(np.isfinite(m).all(axis=0))
        complete = np.ones(len(labels), dtype=bool)
        left_out = [p for k, p in enumerate(names) if k not in set(cols.tolist())]
        if left_out:
            notes.append(f"Fewer than two benchmarks have a value for every {one}, so the ranks cover the "
                         f"{many} with a value on every benchmark; left out: {', '.join(left_out)}.")
    else:
        skipped = [b for b, ok in zip(labels, complete) if not ok]
        if skipped:
            notes.append(f"Ranked over the {int(complete.sum())} benchmarks where every {one} {has}; "
                         f"left out (missing cells): {', '.join(skipped)}.")
    if len(cols) < 2 or complete.sum() < 2:
        notes.append(f"Average ranks need at least two {many} on at least two benchmarks.")
        return [], [], None, notes
    ranked = [names[k] for k in cols]
    res = friedman(m[np.ix_(complete, cols)], ranked, higher_is_better=higher_is_better)
    return ranked, [b for b, ok in zip(labels, complete) if ok], res, notes


# --------------------------------------------------------------------------- search studies
#: What a search study measures per run: the normalized regret (single objective) or hypervolume (several).
REGRET, HYPERVOLUME = "normalized_regret", "normalized_hypervolume"
#: Points of the anytime curve of a study whose budget is a fraction of each benchmark.
FRACTION_POINTS = 200


def normalized_regret(values: np.ndarray, best: float, median: float, higher_is_better: bool = True) -> np.ndarray:
    """Report values rescaled so that 0 is the benchmark's best and 1 its median, in the metric's
    direction (below 0 is impossible; above 1 is worse than half the architectures)."""
    sign = 1.0 if higher_is_better else -1.0
    span = (best - median) * sign
    if not span > 0:
        raise ZcdbError(f"the best and the median report value coincide ({best:g}): normalized regret is undefined; "
                        "report another metric with --metric-for")
    return (best - np.asarray(values, dtype=np.float64)) * sign / span


def _inapplicable(name: str, problem: Any, config: Optional[Mapping[str, Any]] = None,
                  proxies_given: bool = True) -> Optional[str]:
    """Why the algorithm ``name`` (with ``config``) cannot run on ``problem`` (None when it can)."""
    from .search.registry import make_algorithm

    algo = make_algorithm(name, config)
    label = _label(problem.space, problem.dataset)
    if problem.num_objectives > 1 and not algo.multi_objective:
        return f"{name} is single-objective and this study has --objectives"
    if problem.num_objectives == 1 and not algo.single_objective:
        return f"{name} is multi-objective: give the study --objectives A,B"
    if type(algo).multi_fidelity and len(problem.epochs) < 2:
        return f"{name} needs learning curves and {label} stores {problem.search_metric} at one epoch"
    if type(algo).needs_product and not problem.search_space.product:
        return f"{name} needs a product space and {problem.space} is not one"
    if algo.uses_proxies() and not problem.proxy_sets:
        if not proxies_given:
            return f"{name} reads proxy scores: name them with --proxies NAME[,NAME]"
        return f"{name} reads proxy scores and {label} has none of this study's --proxies"
    return None


def _incumbent_grid(traj: Any) -> np.ndarray:
    """``(S, T)`` incumbent report values; a seed that stopped early keeps its last incumbent."""
    vals = traj.incumbent_report
    if vals.shape[1] == 0:
        return np.full((len(traj.seeds), 0), np.nan)
    idx = np.minimum(np.arange(vals.shape[1])[None, :], np.maximum(traj.length[:, None] - 1, 0))
    return np.take_along_axis(vals, idx, axis=1)


def _mean_ci(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the half-width of its 95% t-interval along ``axis``."""
    from scipy import stats

    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    return mean, stats.t.ppf(0.975, n - 1) * x.std(axis=axis, ddof=1) / math.sqrt(n)


def _budget_text(spec: Mapping[str, Any], at: Optional[float] = None) -> str:
    if "budget_fraction" in spec:
        f = spec["budget_fraction"] if at is None else at
        return f"{f:g} of each benchmark's searchable architectures"
    return f"{spec['budget_queries'] if at is None else int(at)} queries"


@dataclass
class SearchStudy(Study):
    """The outcome of :func:`search_study`."""

    spec: dict[str, Any]
    benchmarks: list[dict[str, Any]]
    algorithms: list[str]
    #: One row per (benchmark, algorithm, checkpoint) where the algorithm ran.
    rows: list[dict[str, Any]]
    #: algorithm -> ``(x, mean, half-width)``: x in queries (or fractions of each benchmark), the mean over
    #: benchmarks and seeds of the measure, and the 95% half-width over seeds.
    anytime: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    #: Per checkpoint (``at``, in the budget's unit): ranked algorithms, benchmarks, Friedman test, notes.
    checkpoints: list[dict[str, Any]]
    notes: list[str]
    fingerprints: dict[str, str]
    generated: str = field(default_factory=_now)
    #: algorithm -> CPU seconds its runs took (when computed, now or before; not in the report files).
    cpu_seconds: dict[str, float] = field(default_factory=dict, repr=False)
    #: How many benchmarks the anytime curves average over (those where every algorithm ran).
    anytime_over: int = 0
    #: Runs (seeds) computed by this call, and read back from the store (not in the report files).
    runs_computed: int = 0
    runs_reused: int = 0
    kind = "search"

    @property
    def measure(self) -> str:
        """``normalized_regret`` (lower is better) or ``normalized_hypervolume`` (higher is better)."""
        return HYPERVOLUME if self.spec.get("objectives") else REGRET

    @property
    def friedman(self) -> Optional[FriedmanResult]:
        """The Friedman test at the final budget."""
        return self.checkpoints[-1]["friedman"] if self.checkpoints else None

    def cell(self, benchmark: str, algorithm: str, at: Optional[float] = None) -> Optional[dict[str, Any]]:
        """The row of ``algorithm`` on ``benchmark`` at checkpoint ``at`` (default: the budget); None where it
        did not run."""
        at = self.checkpoints[-1]["at"] if at is None else at
        for r in self.rows:
            if r["benchmark"] == benchmark and r["algorithm"] == algorithm and r["at"] == at:
                return r
        return None

    def to_json(self) -> dict[str, Any]:
        return dict(kind=self.kind, zcdb_version=__version__, spec=self.spec, measure=self.measure,
                    benchmarks=self.benchmarks, algorithms=self.algorithms, rows=self.rows,
                    checkpoints=[dict(at=c["at"], ranked=c["ranked"], rank_benchmarks=c["rank_benchmarks"],
                                      friedman=c["friedman"].to_json() if c["friedman"] else None, notes=c["notes"])
                                 for c in self.checkpoints],
                    friedman=self.friedman.to_json() if self.friedman else None, notes=self.notes,
                    anytime={a: dict(x=x.tolist(), mean=m.tolist(), half_width=h.tolist())
                             for a, (x, m, h) in self.anytime.items()})

    def _definition(self) -> str:
        if self.measure == HYPERVOLUME:
            return ("Normalized hypervolume of the attained front (the non-dominated queries so far): its "
                    "hypervolume divided by that of the whole table's front, both against the benchmark's "
                    "reference point (the worst value of each objective over the searchable architectures); "
                    "1 = the table's front, 0 = nothing dominated (higher is better).")
        return ("Normalized regret of the incumbent (the best query so far by the search metric): "
                "(best - value) / (best - median) of the report metric, in its direction, where best and median are "
                "over the benchmark's searchable architectures; 0 = the benchmark's best architecture, 1 = its median "
                "one, above 1 worse than half of them (lower is better).")

    def to_markdown(self) -> str:
        lines = self._header("Search study")
        hv = self.measure == HYPERVOLUME
        what = "normalized hypervolume" if hv else "normalized regret"
        lines += ["## Benchmarks", "",
                  f"Every algorithm runs on every benchmark it applies to with the same "
                  f"{len(parse_seeds(self.spec['seeds']))} seeds and a budget of {_budget_text(self.spec)}. "
                  + self._definition(), ""]
        if hv:
            lines += ["| benchmark | objectives | searchable | budget (queries) | reference point | table front HV | "
                      "data fingerprint |", "|---|---|---|---|---|---|---|"]
            for b in self.benchmarks:
                ref = ", ".join(f"{v:.6g}" for v in b["reference"])
                lines.append(f"| {b['benchmark']} | {b['search_metric']} | {b['searchable']} | {b['queries']} | "
                             f"({ref}) | {b['table_hypervolume']:.6g} | `{b['fingerprint']}` |")
        else:
            lines += ["| benchmark | search metric | report metric | searchable | budget (queries) | best | median | "
                      "data fingerprint |", "|---|---|---|---|---|---|---|---|"]
            for b in self.benchmarks:
                lines.append(f"| {b['benchmark']} | {b['search_metric']} | {b['report_metric']} | {b['searchable']} | "
                             f"{b['queries']} | {b['best']:.4f} | {b['median']:.4f} | `{b['fingerprint']}` |")
        for c in reversed(self.checkpoints):
            lines += ["", f"## {what.capitalize()} at {_budget_text(self.spec, c['at'])} (mean [95% CI] over seeds)",
                      "", "| benchmark | " + " | ".join(self.algorithms) + " |",
                      "|---|" + "---|" * len(self.algorithms)]
            for b in self.benchmarks:
                cells = []
                for a in self.algorithms:
                    r = self.cell(b["benchmark"], a, c["at"])
                    cells.append("–" if r is None else _ci(r["value"], [r["value_lo"], r["value_hi"]]))
                lines.append(f"| {b['benchmark']} | " + " | ".join(cells) + " |")
        lines += ["", f"## Average rank (by mean {what}, 1 = best)", ""]
        ranked = [c for c in self.checkpoints if c["friedman"] is not None]
        if ranked:
            unit = "" if "budget_fraction" in self.spec else " queries"
            lines += ["| algorithm | " + " | ".join(f"at {c['at']:g}{unit}" for c in ranked) + " |",
                      "|---|" + "---|" * len(ranked)]
            names = ranked[-1]["friedman"].names
            order = np.argsort(ranked[-1]["friedman"].average_ranks, kind="stable")
            for i in order:
                cells = []
                for c in ranked:
                    f = c["friedman"]
                    cells.append(f"{f.average_ranks[f.names.index(names[i])]:.3f}" if names[i] in f.names else "–")
                lines.append(f"| {names[i]} | " + " | ".join(cells) + " |")
        for c in self.checkpoints:
            lines += ["", f"### At {_budget_text(self.spec, c['at'])}", ""]
            f = c["friedman"]
            if f is None:
                lines.append(f"No average ranks: {' '.join(c['notes'])}")
                continue
            lines.append(f"Friedman test over N = {f.n} benchmarks and k = {len(f.names)} algorithms: "
                         f"chi2_F = {f.chi2:.3f} (p = {f.chi2_p:.3g}), Iman-Davenport F_F = {f.f:.3f}, "
                         f"**p = {f.p:.3g}**. Nemenyi critical difference at alpha = {f.alpha:g}: CD = {f.cd:.3f} "
                         "(two average ranks closer than CD are not significantly different; Demšar 2006).")
            lines += [""] + [f"- {n}" for n in c["notes"]] if c["notes"] else []
            lines += ["", f"![critical-difference diagram at {_budget_text(self.spec, c['at'])}]"
                          f"({self._cd_name(c['at'])})"]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        lines += ["", "## Figures", "", f"![anytime {what}](anytime.png)", ""]
        return "\n".join(lines)

    def _cd_name(self, at: float) -> str:
        return "cd.png" if at == self.checkpoints[-1]["at"] else f"cd-{at:g}.png"

    def to_csv(self) -> str:
        buf = io.StringIO()
        cols = ["benchmark", "space", "dataset", "protocol", "search_metric", "report_metric", "algorithm",
                "config_hash", "seeds", "budget_kind", "at", "queries", "measure", "value", "value_lo", "value_hi",
                "final_mean"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: r[k] for k in cols})
        return buf.getvalue()

    def summary_text(self) -> str:
        """A plain-text summary for the terminal."""
        what = "normalized hypervolume (1 = the table's front)" if self.measure == HYPERVOLUME else \
            "normalized regret (0 = best, 1 = median)"
        lines = [f"{len(self.algorithms)} algorithms on {len(self.benchmarks)} benchmarks, "
                 f"{len(parse_seeds(self.spec['seeds']))} seeds, {_budget_text(self.spec)}; {what}:"]
        for b in self.benchmarks:
            cells = [f"{a} {r['value']:.3f}" for a in self.algorithms
                     for r in [self.cell(b["benchmark"], a)] if r is not None]
            lines.append(f"  {b['benchmark']}: " + ", ".join(cells))
        for c in self.checkpoints:
            f = c["friedman"]
            if f is None:
                continue
            order = np.argsort(f.average_ranks, kind="stable")
            lines.append(f"at {_budget_text(self.spec, c['at'])}: average rank over {f.n} benchmarks: " +
                         ", ".join(f"{f.names[i]} {f.average_ranks[i]:.2f}" for i in order) +
                         f"; Friedman p = {f.p:.3g}; Nemenyi CD = {f.cd:.3f}")
        lines += self.notes
        for c in self.checkpoints:
            lines += c["notes"]
        return "\n".join(lines)

    def plot_anytime(self, path: PathLike) -> Path:
        """Mean of the measure over benchmarks and seeds against queries (or the fraction of each benchmark
        queried), with 95% bands over seeds."""
        plt = pyplot()

        hv = self.measure == HYPERVOLUME
        fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
        for a in self.algorithms:
            xs, mean, half = self.anytime[a]
            line, = ax.plot(xs, mean, label=a, lw=1.4)
            ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
        for c in self.checkpoints:
            ax.axvline(c["at"], color="0.6", lw=0.6, ls=":")
        ax.set_xscale("log")
        if not hv:
            ax.set_yscale("symlog", linthresh=0.01)
            ax.set_ylim(bottom=0)  # regret is never below 0
        ax.set_xlabel("fraction of each benchmark's searchable architectures queried"
                      if "budget_fraction" in self.spec else "queries")
        ax.set_ylabel("normalized hypervolume (1 = the table's front)" if hv else
                      "normalized regret (0 = best, 1 = median)")
        ax.set_title(f"Mean over {self.anytime_over} benchmarks and {len(parse_seeds(self.spec['seeds']))} seeds "
                     "(bands: 95% CI over seeds)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return save_figure(fig, path)

    def _plots(self, d: Path) -> list[Path]:
        out = [self.plot_anytime(d / "anytime.png")]
        for c in self.checkpoints:
            if c["friedman"] is not None:
                out.append(plot_cd(c["friedman"], d / self._cd_name(c["at"]),
                                   f"Search at {_budget_text(self.spec, c['at'])}: Friedman p = {c['friedman'].p:.3g} "
                                   f"over {c['friedman'].n} benchmarks"))
        return out


def _algorithm_configs(algorithms: Union[str, Sequence[str], Mapping[str, Any]]) -> tuple[bool, dict[str, dict]]:
    if isinstance(algorithms, Mapping):
        return False, {str(k): dict(v or {}) for k, v in algorithms.items()}
    if isinstance(algorithms, str):
        if algorithms.strip() == "all":
            return True, {}
        algorithms = [a.strip() for a in algorithms.split(",") if a.strip()]
    out = {str(a): {} for a in algorithms}
    if not out:
        raise ZcdbError("no algorithm named: use --algos all or a comma-separated list (see `zcdb search list`)")
    return False, out


def parse_budgets(at: Union[None, str, float, Sequence[float]], budget: float, fraction: bool) -> list[float]:
    """Checkpoints ``50,100,300`` (or numbers) in the budget's unit, ascending, each within ``budget``;
    default: the budget alone. Query checkpoints are integers."""
    if at is None:
        return [budget]
    items = at.split(",") if isinstance(at, str) else (list(at) if isinstance(at, (list, tuple)) else [at])
    out = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            v = float(item)
        except (TypeError, ValueError):
            raise ZcdbError(f"bad --at {at!r}: write budgets as 50,100,300 (or fractions with --budget-fraction)") \
                from None
        if not (v > 0 and v <= budget) or (not fraction and v != int(v)):
            unit = "fractions" if fraction else "whole query counts"
            raise ZcdbError(f"--at {item} is outside the budget: checkpoints are {unit} in (0, {budget:g}]")
        out.append(v if fraction else float(int(v)))
    if not out:
        raise ZcdbError("--at names no budget: write e.g. 50,100,300")
    return sorted(set(out))


def _queries(amount: float, fraction: bool, searchable: int) -> int:
    """Queries of a budget (a query count, or a fraction of ``searchable`` architectures, rounded up)."""
    return max(1, int(math.ceil(amount * searchable - 1e-9))) if fraction else int(amount)


def _simulate_task(task: tuple) -> tuple:
    """One chunk of a plan's missing seeds, in a worker (module level: picklable)."""
    from .search.runner import simulate

    key, problem, algorithm, seeds, budget = task
    return key, simulate(problem, algorithm, seeds, budget)


def _compute_missing(store: "Store", plans: Mapping[Any, Any], workers: int, scheduler: Optional[str],
                     progress: bool) -> dict[Any, Any]:
    """Run every plan's missing seeds (split over ``workers`` processes or the Dask ``scheduler``), store
    each plan's runs as soon as all its chunks are in, and return plan key -> the trajectories computed."""
    from .parallel import connect_scheduler, dask_unordered, run_unordered
    from .progress import Progress
    from .search.runs import _split, store_runs
    from .search.runner import Trajectories

    parts = max(workers, 1) if scheduler is None else 4
    tasks = [(k, p.problem, p.algorithm, chunk, p.budget) for k, p in plans.items() if p.missing
             for chunk in _split(p.missing, parts)]
    if not tasks:
        return {}
    left = {k: sum(1 for t in tasks if t[0] == k) for k in plans}
    got: dict[Any, list] = {k: [] for k in plans}
    done: dict[Any, Any] = {}
    bar = Progress(len(tasks), "study search runs", enabled=progress)
    if scheduler is not None:
        client = connect_scheduler(scheduler)
        results = dask_unordered(_simulate_task, tasks, client, "zcdb-study")
    else:
        client = None
        results = run_unordered(_simulate_task, tasks, workers)
    try:
        for key, traj in results:
            got[key].append(traj)
            left[key] -= 1
            bar.update()
            if left[key] == 0:
                both = Trajectories.concat(got.pop(key))
                plan = plans[key]
                saved = store_runs(store, plan, both)
                # another process may have stored some meanwhile: those are read back from the store
                done[key] = both.select(saved) if len(saved) < len(plan.missing) else both
                done[key].cpu_seconds = both.cpu_seconds
    finally:
        bar.close()
        if client is not None:
            client.close()
    return done


def search_study(store: "Store", algorithms: Union[str, Sequence[str], Mapping[str, Any]] = "all",
                 benchmarks: Union[str, Sequence[str]] = "all", seeds: Union[str, Sequence[int]] = "0-9",
                 budget_queries: Optional[int] = None, metrics: Union[None, Sequence[str], Mapping] = None,
                 workers: int = 1, *, budget_fraction: Optional[float] = None,
                 at: Union[None, str, float, Sequence[float]] = None,
                 objectives: Union[None, str, Sequence[str]] = None,
                 proxies: Union[None, str, Sequence[str]] = None, allow_missing: bool = False,
                 scheduler: Optional[str] = None, progress: bool = False,
                 loops: Union[str, Sequence[str]] = ()) -> SearchStudy:
    """Every algorithm on every benchmark with the same seeds: see the module docstring.

    ``loops`` names stored plain-loop runs (:mod:`zcdb.search.loops`, ``NAME`` or ``NAME@HASH``)
    ranked beside the algorithms as ``loop:NAME`` (single-objective studies): each needs a stored
    run per benchmark and seed, with the benchmark's metrics and the study's query budget.

    ``algorithms``: ``all`` (every registered algorithm of the study's kind that applies to every
    benchmark; the others are skipped with a note), names, or a mapping name -> settings; an
    algorithm named explicitly that does not apply to a benchmark is an error. ``allow_missing``
    keeps such algorithms (with ``all``: every one that applies somewhere) and leaves their cells
    empty; ranks then use the benchmarks where every algorithm ran (as in :func:`rank_table`).

    Budget: ``budget_queries`` (default 100), or ``budget_fraction`` of each benchmark's searchable
    architectures (rounded up); ``at`` lists checkpoints in the same unit, each with its own average
    ranks, Friedman test and CD diagram (default: the budget). Each benchmark is searched on its
    :func:`main_metric` (``metrics`` overrides: ``SPACE/DATASET=METRIC``, or a mapping to
    ``{"search": M, "report": M}``), which is also the report metric unless given; ``objectives``
    (two or more metrics, on every benchmark) make it a multi-objective study, measured by
    normalized hypervolume. ``proxies`` (names or ``NAME/SEED/BATCH/DATA`` sets) are what the
    proxy-aware algorithms read, on the benchmarks that hold them. Missing runs are computed over
    ``workers`` processes or on the Dask ``scheduler``; stored runs are reused, so a study resumes."""
    from .search.registry import ALGORITHMS, algorithm_entry, make_algorithm
    from .search.report import proxy_pool_notes
    from .search.runner import Budget
    from .search.runs import load_multiobjective_problem, load_problem, load_trajectories, plan_run

    if (budget_queries is None) == (budget_fraction is None):
        if budget_queries is None:
            budget_queries = 100
        else:
            raise ZcdbError("give one budget: --budget-queries N or --budget-fraction F")
    fraction = budget_fraction is not None
    if fraction:
        if not isinstance(budget_fraction, (int, float)) or not 0 < budget_fraction <= 1:
            raise ZcdbError(f"budget_fraction must be in (0, 1], not {budget_fraction!r}")
        budget = float(budget_fraction)
    else:
        if isinstance(budget_queries, bool) or not isinstance(budget_queries, int) or budget_queries < 1:
            raise ZcdbError(f"budget_queries must be a positive integer, not {budget_queries!r}")
        budget = float(budget_queries)
    checkpoints: list[Any] = parse_budgets(at, budget, fraction)
    if checkpoints[-1] != budget:
        checkpoints.append(budget)
    if not fraction:
        checkpoints = [int(c) for c in checkpoints]
    every, configs = _algorithm_configs(algorithms)
    for name in configs:
        algorithm_entry(name)  # a one-line error for an unknown name
    seed_list = parse_seeds(seeds)
    objective_names = None
    if objectives is not None:
        from .search.problem import parse_objectives

        objective_names = list(parse_objectives(objectives))
        if metrics:
            raise ZcdbError("--metric-for names a single-objective study's metric: drop it with --objectives")
    proxy_names: list[str] = []
    if proxies:
        proxy_names = [p.strip() for p in (proxies.split(",") if isinstance(proxies, str) else proxies) if p.strip()]
        if objective_names:
            raise ZcdbError("--proxies is for proxy-aware single-objective algorithms: drop it with --objectives")
    pairs = parse_benchmarks(store, benchmarks, with_proxies=False, needs=objective_names)
    notes: list[str] = []
    if isinstance(benchmarks, str) and benchmarks.strip() == "all":
        from .spaces import get_space

        surrogate = [b for b in pairs if get_space(b[0]).size is None]
        pairs = [b for b in pairs if b not in surrogate]
        if surrogate:
            notes.append(f"Left out, not enumerable (a tabular search needs every architecture's row): "
                         f"{', '.join(_label(*b) for b in surrogate)}.")
        if not pairs:
            raise ZcdbError("the store holds no tabular benchmark to search: import one (see `zcdb import --help`)")
    overrides = parse_metric_for(metrics)
    known_labels = {_label(*b) for b in pairs}
    for label in overrides:
        if label not in known_labels:
            raise ZcdbError(f"--metric-for names {label}, which is not among the benchmarks of this study")
    problems = []
    for space, dataset in pairs:
        label = _label(space, dataset)
        bench = store.benchmark(space, dataset)
        if objective_names:
            problem = load_multiobjective_problem(store, space, dataset, objective_names)
            if not problem.table_hypervolume() > 0:
                raise ZcdbError(f"the table's front of {label} has hypervolume 0 against the worst values of "
                                f"{', '.join(objective_names)}: normalized hypervolume is undefined there; leave "
                                f"{label} out of --benchmarks")
        else:
            given = overrides.get(label)
            if isinstance(given, Mapping):
                search_m = main_metric(bench, given.get("search"))[0]
                report_m = main_metric(bench, given.get("report", search_m))[0]
            else:
                search_m = report_m = main_metric(bench, given)[0]
            held = _held_proxies(store, space, dataset, proxy_names)
            problem = load_problem(store, space, dataset, search_m, report_m, proxies=held)
            if problem.proxy_sets and problem.proxy_available_index.size == 0:
                raise ZcdbError(f"the {', '.join(held)} scores of {label} have 0 architectures in common with its "
                                f"searchable ones ({search_m} and {report_m}): score those (`zcdb proxies compute`), "
                                f"or leave {label} out of --benchmarks")
        problems.append((label, bench, problem))
    if proxy_names:
        lacking = [lb for lb, _, p in problems if not p.proxy_sets]
        if lacking:
            notes.append(f"No scores for {', '.join(proxy_names)} on {', '.join(lacking)}: proxy-aware algorithms "
                         "do not run there.")
    if every:
        configs = {}
        for name in ALGORITHMS:
            reasons = {lb: _inapplicable(name, p, None, bool(proxy_names)) for lb, _, p in problems}
            bad = [lb for lb, r in reasons.items() if r]
            if not bad or (allow_missing and len(bad) < len(problems)):
                configs[name] = {}
            elif not _inapplicable_kind(name, objective_names is not None):
                notes.append(f"skipped {name}: {reasons[bad[0]]}")
    applies: dict[str, set[str]] = {}
    for name, cfg in configs.items():
        applies[name] = set()
        for lb, _, p in problems:
            why = _inapplicable(name, p, cfg, bool(proxy_names))
            if why and not allow_missing:
                raise ZcdbError(f"{why}: drop {name} from --algos, or {lb} from --benchmarks "
                                "(or pass --allow-missing to leave its cells empty)")
            if not why:
                applies[name].add(lb)
        if not applies[name]:
            raise ZcdbError(f"{name} applies to none of the benchmarks of this study "
                            f"({_inapplicable(name, problems[0][2], cfg, bool(proxy_names))}): drop it from --algos")
    names = list(configs)
    labels_all = [lb for lb, _, _ in problems]
    loop_names = list(dict.fromkeys(a.strip() for a in (loops.split(",") if isinstance(loops, str) else loops)
                                    if str(a).strip()))
    if loop_names and objective_names:
        raise ZcdbError("--loops ranks single-objective plain-loop runs: drop it with --objectives")
    if not names and not loop_names:
        raise ZcdbError("no algorithm applies to every benchmark of this study: name some with --algos "
                        "(or pass --allow-missing)")
    for name in names:
        missing_on = [lb for lb, _, _ in problems if lb not in applies[name]]
        if missing_on:
            why = _inapplicable(name, problems[labels_all.index(missing_on[0])][2], configs[name], True)
            notes.append(f"{name} does not run on {', '.join(missing_on)} ({why}).")
    spec: dict[str, Any] = dict(kind="search", benchmarks=[_label(*b) for b in pairs],
                                algorithms={n: dict(sorted(configs[n].items())) for n in names},
                                metrics={k: overrides[k] for k in sorted(overrides)},
                                seeds=seeds if isinstance(seeds, str) else seed_list)
    if fraction:
        spec["budget_fraction"] = budget
    else:
        spec["budget_queries"] = int(budget)
    if at is not None:
        spec["at"] = list(checkpoints)
    if loop_names:
        spec["loops"] = loop_names
    if objective_names:
        spec["objectives"] = objective_names
    if proxy_names:
        spec["proxies"] = proxy_names
    if allow_missing:
        spec["allow_missing"] = True
    # plan every (benchmark, algorithm), compute what the store lacks (in parallel), then read back
    plans = {}
    for bi, (label, bench, problem) in enumerate(problems):
        T = _queries(budget, fraction, int(problem.queryable.sum()))
        for name in names:
            if label in applies[name]:
                algo = make_algorithm(name, configs[name])
                plans[(bi, name)] = plan_run(store, name, algo, problem, seed_list, Budget(T))
    computed = _compute_missing(store, plans, workers, scheduler, progress)
    # stored plain-loop runs: read back, never run (their rows are loop:NAME)
    loop_runs: dict[tuple[int, str], Any] = {}
    if loop_names:
        from .search.loops import stored_loop

        for bi, (label, bench, problem) in enumerate(problems):
            T = _queries(budget, fraction, int(problem.queryable.sum()))
            for ln in loop_names:
                res = stored_loop(store, ln, problem, Budget(T), seed_list)
                loop_runs[(bi, res.algorithm)] = res
    algo_names = list(names)
    names = algo_names + list(dict.fromkeys(k[1] for k in loop_runs))
    present = set(plans) | set(loop_runs)
    bench_rows, rows, fingerprints = [], [], {}
    grids: dict[tuple[int, str], np.ndarray] = {}
    cpu = {n: 0.0 for n in names}
    for bi, (label, bench, problem) in enumerate(problems):
        searchable = int(problem.queryable.sum())
        T = _queries(budget, fraction, searchable)
        fingerprints[label] = store.data_fingerprint(bench.space, bench.dataset, bench.protocol)
        row = dict(benchmark=label, space=bench.space, dataset=bench.dataset, protocol=bench.protocol,
                   search_metric=problem.search_metric, report_metric=problem.report_metric, searchable=searchable,
                   queries=T, fingerprint=fingerprints[label])
        if objective_names:
            table_hv = float(problem.table_hypervolume())
            row.update(reference=[float(v) for v in problem.reference], table_hypervolume=table_hv)
        else:
            hib = problem.report_sign > 0
            vals = problem.report[problem.queryable]
            best = float(vals.max() if hib else vals.min())
            median = float(np.median(vals))
            row.update(best=best, median=median)
        bench_rows.append(row)
        for name in names:
            plan = plans.get((bi, name))
            if (bi, name) in loop_runs:
                plan = loop_runs[(bi, name)]
                traj = plan.trajectories
            elif plan is None:
                continue
            else:
                traj = _read_back(store, plan, computed.get((bi, name)), load_trajectories)
            cpu[name] += float(traj.cpu_seconds)
            raw = _incumbent_grid(traj)
            grid = raw / table_hv if objective_names else normalized_regret(raw, best, median, hib)
            grids[(bi, name)] = grid
            for c in checkpoints:
                q = _queries(c, fraction, searchable)
                mean, half = _mean_ci(grid[:, q - 1])
                rows.append(dict(benchmark=label, space=bench.space, dataset=bench.dataset, protocol=bench.protocol,
                                 search_metric=problem.search_metric, report_metric=problem.report_metric,
                                 algorithm=name, config_hash=plan.config_hash if (bi, name) in loop_runs else plan.cfg_hash,
                                 seeds=len(seed_list),
                                 budget_kind="fraction" if fraction else "queries", at=c, queries=q,
                                 measure=HYPERVOLUME if objective_names else REGRET, value=float(mean),
                                 value_lo=float(mean - half), value_hi=float(mean + half),
                                 final_mean=float(np.mean(raw[:, q - 1]))))
        if not objective_names:
            notes += [f"{label}: {n}" for n in proxy_pool_notes(problem, [n for n in algo_names if (bi, n) in plans],
                                                                configs)]
    # anytime: over the benchmarks where every algorithm ran (all of them without missing cells)
    common = [bi for bi in range(len(problems)) if all((bi, n) in present for n in names)]
    over = common or list(range(len(problems)))
    sizes = [int(p.queryable.sum()) for _, _, p in problems]
    # a fraction budget: one grid of fractions, from one query of the largest benchmark averaged to the budget
    xs = (np.unique(np.geomspace(1.0 / max(sizes[bi] for bi in over), budget, FRACTION_POINTS)) if fraction else None)
    anytime = {}
    for n in names:
        curves = []
        for bi in over:
            if (bi, n) in grids:
                g = grids[(bi, n)]
                curves.append(g[:, [_queries(x, True, sizes[bi]) - 1 for x in xs]] if fraction else g)
        stacked = np.mean(np.stack(curves), axis=0)  # (S, T): the mean over benchmarks, per seed
        mean, half = _mean_ci(stacked)
        anytime[n] = (xs if fraction else np.arange(1, stacked.shape[1] + 1, dtype=np.float64), mean, half)
    if not common:
        notes.append("No benchmark has every algorithm: each anytime curve averages the benchmarks it ran on.")
    elif len(common) < len(problems):
        notes.append(f"The anytime curves average the {len(common)} benchmarks where every algorithm ran.")
    labels = [b["benchmark"] for b in bench_rows]
    points = []
    for c in checkpoints:
        m = np.full((len(labels), len(names)), np.nan)
        for r in rows:
            if r["at"] == c:
                m[labels.index(r["benchmark"]), names.index(r["algorithm"])] = r["value"]
        ranked, rank_benchmarks, res_f, cnotes = rank_table(m, labels, names, objective_names is not None,
                                                            ("algorithm", "algorithms"), "ran")
        points.append(dict(at=c, ranked=ranked, rank_benchmarks=rank_benchmarks, friedman=res_f, notes=cnotes))
    computed_now = sum(len(p.missing) for p in plans.values())
    return SearchStudy(spec, bench_rows, names, rows, anytime, points, notes, fingerprints, cpu_seconds=cpu,
                       anytime_over=len(over), runs_computed=computed_now,
                       runs_reused=sum(len(p.seeds) for p in plans.values()) - computed_now)


def _inapplicable_kind(name: str, multi: bool) -> bool:
    """Whether ``name`` is of the other kind than the study (multi- vs single-objective): not worth a note."""
    from .search.registry import make_algorithm

    algo = make_algorithm(name)
    return not (algo.multi_objective if multi else algo.single_objective)


def _held_proxies(store: "Store", space: str, dataset: str, names: Sequence[str]) -> list[str]:
    """``names`` when the benchmark holds a score set for each (one-line error when a name picks among
    several sets ambiguously), else none."""
    from .search.problem import parse_proxy_sets

    if not names:
        return []
    runs = store.proxy_runs(space, dataset)
    have = {r["proxy"] for r in runs} | {f"{r['proxy']}/{r['seed']}/{r['batch_size']}/{r['data']}" for r in runs}
    if not all(n in have for n in names):
        return []
    parse_proxy_sets(store, space, dataset, names)  # one-line error where a name fits several sets
    return list(names)


def _read_back(store: "Store", plan: Any, computed: Any, load_trajectories: Any) -> Any:
    """The trajectories of ``plan``'s seeds: those stored before the study, and those it computed."""
    from .search.runner import Trajectories
    from .search.runs import _stored_runs

    stored = plan.stored
    have = set() if computed is None else {int(s) for s in computed.seeds.tolist()}
    if len(have) + len(stored) < len(plan.seeds):  # another process stored some meanwhile
        stored = _stored_runs(store, plan.key, plan.seeds)
    reused = load_trajectories(store, [stored[s] for s in plan.seeds if s not in have])
    parts = [reused] + ([computed] if computed is not None else [])
    both = Trajectories.concat(parts)
    traj = both.select(plan.seeds)
    traj.cpu_seconds = both.cpu_seconds
    return traj


# --------------------------------------------------------------------------- specs
#: Keys a spec may hold, per kind (``out``: where `zcdb study run` writes the report).
SPEC_KEYS = {"proxies": {"kind", "benchmarks", "proxies", "metrics", "bootstrap", "seed", "out"},
             "search": {"kind", "benchmarks", "algorithms", "metrics", "seeds", "budget_queries", "budget_fraction",
                        "at", "objectives", "proxies", "allow_missing", "loops", "out"}}


def load_spec(path: PathLike) -> dict[str, Any]:
    """A study spec from a JSON file, or a TOML one (by its ``.toml`` suffix)."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except FileNotFoundError:
        raise CorruptFile(f"no spec file {p}: check the path") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            doc = tomllib.loads(text.decode())
        else:
            doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{p} is not a valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} spec: "
                          f"{str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise CorruptFile(f"{p} holds no spec: write a table (object) with kind = \"proxies\" or \"search\"")
    return doc


def spec_studies(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The studies of a spec file: the spec itself, or each table of its ``studies`` list (a file
    holding several studies, each with its own ``out``, as ``docs/study/all.toml``)."""
    if "studies" not in doc:
        return [doc]
    extra = sorted(set(doc) - {"studies"})
    items = doc["studies"]
    if extra or not isinstance(items, list) or not items or not all(isinstance(i, Mapping) for i in items):
        raise ZcdbError("a spec of several studies holds only `studies`, a list of study tables ([[studies]] in "
                        "TOML), each with its kind" + (f"; {extra[0]!r} is not one of its keys" if extra else ""))
    return list(items)


def run_spec(store: "Store", spec: Mapping[str, Any], workers: int = 1, scheduler: Optional[str] = None,
             progress: bool = False) -> Study:
    """Run the study ``spec`` describes (see :data:`SPEC_KEYS`; the report records it). ``workers`` and
    ``scheduler`` (search studies) say where missing runs are computed; they do not change the report."""
    kind = spec.get("kind")
    if kind not in SPEC_KEYS:
        raise ZcdbError(f"a spec's kind is proxies or search, not {kind!r} (several studies go in a `studies` list)")
    extra = sorted(set(spec) - SPEC_KEYS[kind])
    if extra:
        raise ZcdbError(f"a {kind} spec has no key {extra[0]!r}: its keys are {', '.join(sorted(SPEC_KEYS[kind]))}")
    if kind == "proxies":
        return proxy_study(store, spec.get("benchmarks", "all"), spec.get("proxies", "all"), spec.get("metrics"),
                           spec.get("bootstrap", DEFAULT_BOOTSTRAP), spec.get("seed", 0))
    if "seeds" not in spec or ("budget_queries" in spec) == ("budget_fraction" in spec):
        raise ZcdbError("a search spec needs seeds (e.g. \"0-99\") and one of budget_queries, budget_fraction")
    return search_study(store, spec.get("algorithms", "all"), spec.get("benchmarks", "all"), spec["seeds"],
                        spec.get("budget_queries"), spec.get("metrics"), workers,
                        budget_fraction=spec.get("budget_fraction"), at=spec.get("at"),
                        objectives=spec.get("objectives"), proxies=spec.get("proxies"),
                        allow_missing=bool(spec.get("allow_missing", False)), scheduler=scheduler, progress=progress,
                        loops=spec.get("loops", ()))
