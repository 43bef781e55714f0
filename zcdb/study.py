"""Cross-benchmark studies: proxies, or search algorithms, compared over many benchmarks, reproducibly.

* :func:`proxy_study`: per benchmark holding proxy scores, each proxy's Spearman and Kendall
  with the benchmark's *main metric* (:func:`main_metric`), with bootstrap 95% intervals, on the
  architectures common to every proxy compared there; a heat map, average ranks, and the
  Friedman test with Nemenyi's critical difference (:mod:`zcdb.ranking`).
* :func:`search_study`: every algorithm on every benchmark with the same seeds (stored runs are
  reused, through :func:`zcdb.search.compare_algorithms`); per benchmark the *normalized regret*
  at the budget (:func:`normalized_regret`), average ranks, the CD diagram and an anytime plot.
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
                     with_proxies: bool) -> list[tuple[str, str]]:
    """``all`` or ``SPACE/DATASET,...`` (or a list) as (space, dataset) pairs, each checked against the store.

    ``all`` means every benchmark with rows (and, ``with_proxies``, with proxy scores)."""
    scored = {(r["space"], r["dataset"]) for r in store.proxy_runs()} if with_proxies else None
    stored = list(dict.fromkeys((r["space"], r["dataset"]) for r in store.benchmark_rows()))
    if isinstance(benchmarks, str) and benchmarks.strip() == "all":
        out = [b for b in stored if scored is None or b in scored]
        if not out:
            what = "benchmark with proxy scores" if with_proxies else "benchmark"
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


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


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
        (d / "report.json").write_text(json.dumps(_clean(self.to_json()), indent=1, sort_keys=True) + "\n")
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
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

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
        fig.tight_layout()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p)
        plt.close(fig)
        return p

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
    m = study.matrix().T  # (benchmarks, proxies)
    labels = [b["benchmark"] for b in study.benchmarks]
    complete = np.isfinite(m).all(axis=1)
    cols = np.arange(len(study.proxies))
    if complete.sum() < 2:
        cols = np.flatnonzero(np.isfinite(m).all(axis=0))
        complete = np.ones(len(labels), dtype=bool)
        left_out = [p for k, p in enumerate(study.proxies) if k not in set(cols.tolist())]
        if left_out:
            study.notes.append(f"Fewer than two benchmarks have scores for every proxy, so the ranks cover the "
                               f"proxies with scores on every benchmark; left out: {', '.join(left_out)}.")
    else:
        skipped = [b for b, ok in zip(labels, complete) if not ok]
        if skipped:
            study.notes.append(f"Ranked over the {int(complete.sum())} benchmarks where every proxy has scores; "
                               f"left out (missing cells): {', '.join(skipped)}.")
    if len(cols) < 2 or complete.sum() < 2:
        study.notes.append("Average ranks need at least two proxies on at least two benchmarks.")
        return
    study.ranked = [study.proxies[k] for k in cols]
    study.rank_benchmarks = [b for b, ok in zip(labels, complete) if ok]
    study.friedman = friedman(m[np.ix_(complete, cols)], study.ranked, higher_is_better=True)


# --------------------------------------------------------------------------- search studies
def normalized_regret(values: np.ndarray, best: float, median: float, higher_is_better: bool = True) -> np.ndarray:
    """Report values rescaled so that 0 is the benchmark's best and 1 its median, in the metric's
    direction (below 0 is impossible; above 1 is worse than half the architectures)."""
    sign = 1.0 if higher_is_better else -1.0
    span = (best - median) * sign
    if not span > 0:
        raise ZcdbError(f"the best and the median report value coincide ({best:g}): normalized regret is undefined; "
                        "report another metric with --metric-for")
    return (best - np.asarray(values, dtype=np.float64)) * sign / span


def _inapplicable(name: str, problem: Any) -> Optional[str]:
    """Why the registered algorithm ``name`` cannot run on ``problem`` (None when it can)."""
    from .search.registry import make_algorithm

    algo = make_algorithm(name)
    label = _label(problem.space, problem.dataset)
    if not algo.single_objective:
        return f"{name} is multi-objective and a search study is single-objective"
    if type(algo).multi_fidelity and len(problem.epochs) < 2:
        return f"{name} needs learning curves and {label} stores {problem.search_metric} at one epoch"
    if type(algo).needs_product and not problem.search_space.product:
        return f"{name} needs a product space and {problem.space} is not one"
    if algo.uses_proxies():
        return f"{name} reads proxy scores, which a search study does not pass"
    return None


def _incumbent_grid(res: Any) -> np.ndarray:
    """``(S, T)`` incumbent report values; a seed that stopped early keeps its last incumbent."""
    tr = res.trajectories
    vals = tr.incumbent_report
    if vals.shape[1] == 0:
        return np.full((len(tr.seeds), 0), np.nan)
    idx = np.minimum(np.arange(vals.shape[1])[None, :], np.maximum(tr.length[:, None] - 1, 0))
    return np.take_along_axis(vals, idx, axis=1)


def _mean_ci(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the half-width of its 95% t-interval along ``axis``."""
    from scipy import stats

    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    return mean, stats.t.ppf(0.975, n - 1) * x.std(axis=axis, ddof=1) / math.sqrt(n)


@dataclass
class SearchStudy(Study):
    """The outcome of :func:`search_study`."""

    spec: dict[str, Any]
    benchmarks: list[dict[str, Any]]
    algorithms: list[str]
    rows: list[dict[str, Any]]
    #: algorithm -> ``(T,)`` mean normalized regret over benchmarks and seeds, and the 95% half-width over seeds.
    anytime: dict[str, tuple[np.ndarray, np.ndarray]]
    friedman: Optional[FriedmanResult]
    notes: list[str]
    fingerprints: dict[str, str]
    generated: str = field(default_factory=_now)
    kind = "search"

    def to_json(self) -> dict[str, Any]:
        return dict(kind=self.kind, zcdb_version=__version__, spec=self.spec, benchmarks=self.benchmarks,
                    algorithms=self.algorithms, rows=self.rows,
                    friedman=self.friedman.to_json() if self.friedman else None, notes=self.notes,
                    anytime={a: dict(mean=m.tolist(), half_width=h.tolist()) for a, (m, h) in self.anytime.items()})

    def _budget(self) -> str:
        return f"{self.spec['budget_queries']} queries"

    def to_markdown(self) -> str:
        lines = self._header("Search study")
        lines += ["## Benchmarks", "",
                  f"Every algorithm runs on every benchmark with the same {len(parse_seeds(self.spec['seeds']))} seeds "
                  f"and a budget of {self._budget()}. Normalized regret of the final incumbent: 0 = the benchmark's "
                  "best report value, 1 = its median over the searchable architectures, in the metric's direction "
                  "(lower is better).", "",
                  "| benchmark | search metric | report metric | best | median | data fingerprint |",
                  "|---|---|---|---|---|---|"]
        for b in self.benchmarks:
            lines.append(f"| {b['benchmark']} | {b['search_metric']} | {b['report_metric']} | {b['best']:.4f} | "
                         f"{b['median']:.4f} | `{b['fingerprint']}` |")
        lines += ["", f"## Normalized regret at {self._budget()} (mean [95% CI] over seeds)", "",
                  "| benchmark | " + " | ".join(self.algorithms) + " |", "|---|" + "---|" * len(self.algorithms)]
        for b in self.benchmarks:
            cells = []
            for a in self.algorithms:
                r = next(r for r in self.rows if r["benchmark"] == b["benchmark"] and r["algorithm"] == a)
                cells.append(_ci(r["regret"], [r["regret_lo"], r["regret_hi"]]))
            lines.append(f"| {b['benchmark']} | " + " | ".join(cells) + " |")
        lines += ["", "## Average rank (by mean normalized regret, 1 = best)", ""]
        lines += _friedman_lines(self.friedman, "algorithms", self.notes)
        lines += ["", "## Figures", "", "![anytime normalized regret](anytime.png)", ""]
        if self.friedman is not None:
            lines += ["![critical-difference diagram](cd.png)", ""]
        return "\n".join(lines)

    def to_csv(self) -> str:
        buf = io.StringIO()
        cols = ["benchmark", "space", "dataset", "protocol", "search_metric", "report_metric", "algorithm",
                "config_hash", "seeds", "budget_queries", "final_mean", "regret", "regret_lo", "regret_hi"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: r[k] for k in cols})
        return buf.getvalue()

    def summary_text(self) -> str:
        """A plain-text summary for the terminal."""
        lines = [f"{len(self.algorithms)} algorithms on {len(self.benchmarks)} benchmarks, "
                 f"{len(parse_seeds(self.spec['seeds']))} seeds, {self._budget()}; normalized regret (0 = best, "
                 "1 = median):"]
        for b in self.benchmarks:
            cells = [f"{r['algorithm']} {r['regret']:.3f}" for r in self.rows if r["benchmark"] == b["benchmark"]]
            lines.append(f"  {b['benchmark']}: " + ", ".join(cells))
        if self.friedman is not None:
            f = self.friedman
            order = np.argsort(f.average_ranks, kind="stable")
            lines.append(f"average rank over {f.n} benchmarks: " +
                         ", ".join(f"{f.names[i]} {f.average_ranks[i]:.2f}" for i in order))
            lines.append(f"Friedman p = {f.p:.3g}; Nemenyi CD = {f.cd:.3f}")
        lines += self.notes
        return "\n".join(lines)

    def plot_anytime(self, path: PathLike) -> Path:
        """Mean normalized regret over benchmarks and seeds against queries, with 95% bands over seeds."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
        for a in self.algorithms:
            mean, half = self.anytime[a]
            xs = np.arange(1, mean.size + 1)
            line, = ax.plot(xs, mean, label=a, lw=1.4)
            ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_xlabel("queries")
        ax.set_ylabel("normalized regret (0 = best, 1 = median)")
        ax.set_title(f"Mean over {len(self.benchmarks)} benchmarks and {len(parse_seeds(self.spec['seeds']))} seeds "
                     "(bands: 95% CI over seeds)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p)
        plt.close(fig)
        return p

    def _plots(self, d: Path) -> list[Path]:
        out = [self.plot_anytime(d / "anytime.png")]
        if self.friedman is not None:
            out.append(plot_cd(self.friedman, d / "cd.png", f"Search: Friedman p = {self.friedman.p:.3g} "
                                                            f"over {self.friedman.n} benchmarks"))
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


def search_study(store: "Store", algorithms: Union[str, Sequence[str], Mapping[str, Any]] = "all",
                 benchmarks: Union[str, Sequence[str]] = "all", seeds: Union[str, Sequence[int]] = "0-9",
                 budget_queries: int = 100, metrics: Union[None, Sequence[str], Mapping] = None,
                 workers: int = 1) -> SearchStudy:
    """Every algorithm on every benchmark with the same seeds: see the module docstring.

    ``algorithms``: ``all`` (every registered single-objective algorithm that applies to every
    benchmark; the others are skipped with a note), names, or a mapping name -> settings; an
    algorithm named explicitly that does not apply to a benchmark is an error. Each benchmark is
    searched on its :func:`main_metric` (``metrics`` overrides: ``SPACE/DATASET=METRIC``, or a
    mapping to ``{"search": M, "report": M}``), which is also the report metric unless given."""
    from .search.registry import ALGORITHMS
    from .search.report import compare_algorithms
    from .search.runs import load_problem

    if not isinstance(budget_queries, int) or budget_queries < 1:
        raise ZcdbError(f"budget_queries must be a positive integer, not {budget_queries!r}")
    every, configs = _algorithm_configs(algorithms)
    for name in configs:
        if name not in ALGORITHMS:
            raise ZcdbError(f"unknown search algorithm {name!r}: known are {', '.join(ALGORITHMS)}")
    seed_list = parse_seeds(seeds)
    pairs = parse_benchmarks(store, benchmarks, with_proxies=False)
    overrides = parse_metric_for(metrics)
    known_labels = {_label(*b) for b in pairs}
    for label in overrides:
        if label not in known_labels:
            raise ZcdbError(f"--metric-for names {label}, which is not among the benchmarks of this study")
    problems = []
    for space, dataset in pairs:
        label = _label(space, dataset)
        bench = store.benchmark(space, dataset)
        given = overrides.get(label)
        if isinstance(given, Mapping):
            search_m = main_metric(bench, given.get("search"))[0]
            report_m = main_metric(bench, given.get("report", search_m))[0]
        else:
            search_m = report_m = main_metric(bench, given)[0]
        problems.append((label, bench, load_problem(store, space, dataset, search_m, report_m)))
    notes: list[str] = []
    if every:
        names = []
        for name in ALGORITHMS:
            reasons = [r for r in (_inapplicable(name, p) for _, _, p in problems) if r]
            if reasons:
                notes.append(f"skipped {name}: {reasons[0]}")
            else:
                names.append(name)
        configs = {n: {} for n in names}
    else:
        for name in configs:
            for _, _, p in problems:
                why = _inapplicable(name, p)
                if why:
                    raise ZcdbError(f"{why}: drop {name} from --algos, or {_label(p.space, p.dataset)} from "
                                    "--benchmarks")
    names = list(configs)
    if not names:
        raise ZcdbError("no algorithm applies to every benchmark of this study: name some with --algos")
    spec = dict(kind="search", benchmarks=[_label(*b) for b in pairs],
                algorithms={n: dict(sorted(configs[n].items())) for n in names},
                metrics={k: overrides[k] for k in sorted(overrides)},
                seeds=seeds if isinstance(seeds, str) else seed_list, budget_queries=budget_queries)
    bench_rows, rows, fingerprints = [], [], {}
    grids: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for label, bench, problem in problems:
        cmp = compare_algorithms(store, bench.space, bench.dataset, names, seed_list, budget_queries=budget_queries,
                                 search_metric=problem.search_metric, report_metric=problem.report_metric,
                                 configs=configs, workers=workers)
        hib = problem.report_sign > 0
        best = cmp.best
        median = float(np.median(problem.report[problem.queryable]))
        fingerprints[label] = store.data_fingerprint(bench.space, bench.dataset, bench.protocol)
        bench_rows.append(dict(benchmark=label, space=bench.space, dataset=bench.dataset, protocol=bench.protocol,
                               search_metric=problem.search_metric, report_metric=problem.report_metric,
                               best=best, median=median, fingerprint=fingerprints[label]))
        for name in names:
            res = cmp.results[name]
            grid = normalized_regret(_incumbent_grid(res), best, median, hib)
            grids[name].append(grid)
            final = grid[:, -1]
            mean, half = _mean_ci(final)
            rows.append(dict(benchmark=label, space=bench.space, dataset=bench.dataset, protocol=bench.protocol,
                             search_metric=problem.search_metric, report_metric=problem.report_metric,
                             algorithm=name, config_hash=res.config_hash, seeds=len(seed_list),
                             budget_queries=budget_queries, final_mean=float(np.mean(res.trajectories.final_report())),
                             regret=float(mean), regret_lo=float(mean - half), regret_hi=float(mean + half)))
    anytime = {n: _mean_ci(np.mean(np.stack(grids[n]), axis=0)) for n in names}  # (B,S,T) -> over benchmarks, seeds
    res_f = None
    if len(names) >= 2 and len(problems) >= 2:
        table = np.array([[next(r["regret"] for r in rows if r["benchmark"] == b["benchmark"] and r["algorithm"] == a)
                           for a in names] for b in bench_rows])
        res_f = friedman(table, names, higher_is_better=False)
    else:
        notes.append("Average ranks need at least two algorithms on at least two benchmarks.")
    return SearchStudy(spec, bench_rows, names, rows, anytime, res_f, notes, fingerprints)


# --------------------------------------------------------------------------- specs
#: Keys a spec may hold, per kind (``out``: where `zcdb study run` writes the report).
SPEC_KEYS = {"proxies": {"kind", "benchmarks", "proxies", "metrics", "bootstrap", "seed", "out"},
             "search": {"kind", "benchmarks", "algorithms", "metrics", "seeds", "budget_queries", "out"}}


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


def run_spec(store: "Store", spec: Mapping[str, Any], workers: int = 1) -> Study:
    """Run the study ``spec`` describes (see :data:`SPEC_KEYS`; the report records it)."""
    kind = spec.get("kind")
    if kind not in SPEC_KEYS:
        raise ZcdbError(f"a spec's kind is proxies or search, not {kind!r}")
    extra = sorted(set(spec) - SPEC_KEYS[kind])
    if extra:
        raise ZcdbError(f"a {kind} spec has no key {extra[0]!r}: its keys are {', '.join(sorted(SPEC_KEYS[kind]))}")
    if kind == "proxies":
        return proxy_study(store, spec.get("benchmarks", "all"), spec.get("proxies", "all"), spec.get("metrics"),
                           spec.get("bootstrap", DEFAULT_BOOTSTRAP), spec.get("seed", 0))
    if "budget_queries" not in spec or "seeds" not in spec:
        raise ZcdbError("a search spec needs seeds (e.g. \"0-99\") and budget_queries")
    return search_study(store, spec.get("algorithms", "all"), spec.get("benchmarks", "all"), spec["seeds"],
                        spec["budget_queries"], spec.get("metrics"), workers)
