"""The ``zcdb`` command line: a thin click layer over the Python API.

Each command parses its arguments, calls one API function and renders the result
(a table for people, ``--json`` for machines). Library errors become one line on
stderr and exit status 2.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any, Callable, Optional

import click

from .errors import ZcdbError


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def handle_errors(fn: Callable) -> Callable:
    """Turn :class:`ZcdbError` (and a missing file) into one line and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZcdbError as exc:
            _fail(str(exc))
        except FileNotFoundError as exc:
            _fail(f"no such file: {exc.filename}: check the path")
        except KeyboardInterrupt:
            _fail("interrupted; nothing was half-written (imports are transactions; rerun to continue)")

    return wrapper


def open_store(ctx: click.Context):  # -> zcdb.Store
    """The store named by ``--db`` (or ``ZCDB_DB``, or the platform default)."""
    from . import open as open_

    return open_(ctx.obj.get("db"))


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON (NaN as null)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    click.echo(json.dumps(clean(obj), indent=2))


def echo_table(rows: list[dict[str, Any]], columns: Optional[list[str]] = None) -> None:
    """Print rows as an aligned plain-text table."""
    if not rows:
        click.echo("(no rows)")
        return
    cols = columns or list(rows[0])

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.4g}" if abs(v) < 1e-3 or abs(v) >= 1e6 else f"{v:.4f}".rstrip("0").rstrip(".")
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False), default=None, envvar="ZCDB_DB",
              help="Store file (default: $ZCDB_DB, else the platform data dir).")
@click.version_option(package_name="zcdb")
@click.pass_context
def main(ctx: click.Context, db: Optional[str]) -> None:
    """zcdb: zero-cost proxies, tabular and surrogate benchmarks for NAS, in one SQLite store."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


# --------------------------------------------------------------------------- info
@main.command()
@json_option
@click.pass_context
@handle_errors
def info(ctx: click.Context, as_json: bool) -> None:
    """Show what the store holds: benchmarks, metrics, proxies, imports."""
    store = open_store(ctx)
    data = store.info()
    if as_json:
        echo_json(data)
        return
    click.echo(f"store: {data['path']} (schema {data['schema_version']}, zcdb {data['zcdb_version']}, "
               f"{data['imports']} imports)")
    if not data["benchmarks"] and not data["proxies"]:
        click.echo("empty: import a table first, e.g. `zcdb import csv FILE --space nb201 ...` "
                   "(see `zcdb import --help`)")
        return
    rows = []
    for b in data["benchmarks"]:
        for m, d in b["metrics"].items():
            rows.append(dict(space=b["space"], dataset=b["dataset"], protocol=b["protocol"], metric=m,
                             epochs=d["epochs"], seeds=",".join(map(str, d["seeds"])), archs=d["archs"]))
    echo_table(rows)
    if data["proxies"]:
        click.echo("")
        echo_table(data["proxies"])


# --------------------------------------------------------------------------- import
@main.group(name="import")
def import_() -> None:
    """Import a benchmark file into the store (one transaction; re-importing changes nothing)."""


replace_option = click.option("--replace", is_flag=True,
                              help="Overwrite stored values that differ (default: refuse and change nothing).")


def _report_import(batch: Any, as_json: bool) -> None:
    if as_json:
        echo_json(dict(source=batch.source, importer=batch.importer, rows=batch.rows, changed=batch.changed))
    else:
        click.echo(f"imported {batch.rows} rows from {batch.source} ({batch.changed} new or changed)")


@import_.command(name="csv")
@click.argument("file", type=click.Path())
@click.option("--space", required=True, help="Search space, e.g. nb201.")
@click.option("--arch-column", required=True, help="Column with the architecture string or official index.")
@click.option("--column", "columns", multiple=True, required=True, metavar="COL=DATASET:METRIC",
              help="A value column and where it goes, e.g. CIFAR10TestAccuracy200Epochs=cifar10:test_acc.")
@click.option("--epoch", type=int, default=None, help="Fidelity of the training metrics (e.g. 200).")
@click.option("--seed", type=int, default=-1, show_default=True, help="Seed of the values; -1: a mean over seeds.")
@click.option("--protocol", default=None, help="Protocol name (default: the space's, 200ep for nb201).")
@click.option("--allow-missing", is_flag=True, help="Store empty cells as NaN instead of failing.")
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_csv_cmd(ctx: click.Context, file: str, space: str, arch_column: str, columns: tuple[str, ...],
                   epoch: Optional[int], seed: int, protocol: Optional[str], allow_missing: bool, replace: bool,
                   as_json: bool) -> None:
    """Import columns of a CSV table with one row per architecture."""
    from .tabular.csv_table import import_csv, parse_column_spec

    specs = {}
    for spec in columns:
        col, dataset, metric = parse_column_spec(spec)
        specs[col] = (dataset, metric)
    batch = import_csv(open_store(ctx), file, space, arch_column, specs, epoch=epoch, seed=seed,
                       protocol=protocol, allow_missing=allow_missing, replace=replace)
    _report_import(batch, as_json)


@import_.command(name="naslib-zc")
@click.argument("file", type=click.Path())
@click.option("--space", default="nb201", show_default=True, help="Search space of the file.")
@click.option("--dataset", default=None, help="Dataset of a flat-layout file, or the one dataset to take.")
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_naslib_zc_cmd(ctx: click.Context, file: str, space: str, dataset: Optional[str], replace: bool,
                         as_json: bool) -> None:
    """Import NAS-Bench-Suite-Zero proxy scores (NASLib zc_*.json, released or flat layout)."""
    from .tabular.naslib_zc import import_naslib_zc

    _report_import(import_naslib_zc(open_store(ctx), file, space=space, dataset=dataset, replace=replace), as_json)


def _file_importer(name: str, help_text: str) -> None:
    @import_.command(name=name, help=help_text)
    @click.argument("path", type=click.Path())
    @replace_option
    @json_option
    @click.pass_context
    @handle_errors
    def command(ctx: click.Context, path: str, replace: bool, as_json: bool) -> None:
        from .tabular import importers

        _report_import(importers()[name](open_store(ctx), path, replace=replace), as_json)


_file_importer("nb201-pth", "Import the official NAS-Bench-201 file (NAS-Bench-201-v1_0/v1_1 .pth): all datasets, "
                            "12- and 200-epoch settings, per-epoch curves, per-seed results, costs.")
_file_importer("nats-tss", "Import NATS-Bench's topology benchmark from its fast-mode directory "
                           "(NATS-tss-v1_0-3ffb9-simple/).")
_file_importer("hw-nas-bench", "Import HW-NAS-Bench latency and energy from HW-NAS-Bench-v1_0.pickle.")


@import_.command(name="builtin")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the tables this installation ships.")
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_builtin_cmd(ctx: click.Context, name: Optional[str], list_: bool, replace: bool, as_json: bool) -> None:
    """Load a table that zcdb computed itself and ships (see --list)."""
    from .tabular.builtin import available, import_builtin

    if list_ or not name:
        rows = available()
        if as_json:
            echo_json(rows)
        else:
            echo_table([dict(name=r["name"], kind=r["kind"], present="yes" if r["present"] else "no",
                             kB=r["bytes"] // 1024, description=r["description"]) for r in rows])
        return
    _report_import(import_builtin(open_store(ctx), name, replace=replace), as_json)


# --------------------------------------------------------------------------- queries
space_option = click.option("--space", default="nb201", show_default=True, help="Search space.")
dataset_option = click.option("--dataset", required=True, help="Dataset, e.g. cifar10.")
protocol_option = click.option("--protocol", default=None, help="Protocol (default: the only or default one).")


@main.command()
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric, e.g. test_acc.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the last stored).")
@click.option("--seed", type=int, default=None, help="Seed (default: the mean over seeds).")
@protocol_option
@click.argument("archs", nargs=-1, required=True)
@json_option
@click.pass_context
@handle_errors
def query(ctx: click.Context, space: str, dataset: str, metric: str, epoch: Optional[int], seed: Optional[int],
          protocol: Optional[str], archs: tuple[str, ...], as_json: bool) -> None:
    """Look up a metric of architectures (official strings or indices)."""
    bench = open_store(ctx).benchmark(space, dataset, protocol)
    rows = []
    for a in archs:
        key: Any = int(a) if a.strip().isdigit() else a
        i = bench.index(key)
        rows.append(dict(index=i, arch=bench.space_module.string_of(i), metric=metric,
                         value=bench.query(i, metric, epoch, seed)))
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["index", "value", "arch"])


@main.command()
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric to rank by, e.g. test_acc.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True, help="How many.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the last stored).")
@protocol_option
@json_option
@click.pass_context
@handle_errors
def top(ctx: click.Context, space: str, dataset: str, metric: str, k: int, epoch: Optional[int],
        protocol: Optional[str], as_json: bool) -> None:
    """The k best architectures by a metric (highest accuracy, lowest loss or cost)."""
    bench = open_store(ctx).benchmark(space, dataset, protocol)
    rows = [dict(rank=r + 1, index=i, value=v, arch=s) for r, (i, s, v) in enumerate(bench.top(metric, k, epoch))]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["rank", "index", "value", "arch"])


# --------------------------------------------------------------------------- cost
@main.command()
@space_option
@dataset_option
# the choices are zcdb.models.CONVENTIONS, spelled out: importing zcdb.models imports torch
@click.option("--convention", type=click.Choice(["naslib", "nb201"]), default="naslib", show_default=True,
              help="FLOP counting: naslib = NAS-Bench-Suite-Zero's flops (counts BN, ReLU, pooling too); "
                   "nb201 = NAS-Bench-201's own (convolutions and classifier only). Params agree.")
@click.argument("archs", nargs=-1, required=True)
@json_option
@handle_errors
def cost(space: str, dataset: str, convention: str, archs: tuple[str, ...], as_json: bool) -> None:
    """Params (millions) and FLOPs (MFLOPs) of architectures (official strings or indices)."""
    from .errors import UnknownSpace
    from .models import count_cost  # imports torch: keep it out of `import zcdb.cli`
    from .spaces import get_space

    space_module = get_space(space)
    if space != "nb201":
        raise UnknownSpace(f"cost counting is implemented for nb201 only, not {space!r}")
    rows = []
    for a in archs:
        key: Any = int(a) if a.strip().isdigit() else a
        params, flops = count_cost(key, dataset, convention=convention)
        rows.append(dict(index=space_module.index_of(key), arch=space_module.string_of(key),
                         params=params, flops=flops))
    if as_json:
        echo_json(rows)
    else:
        # six decimals: the counts are exact integers over 1e6
        echo_table([dict(index=r["index"], params=f"{r['params']:.6f}", flops=f"{r['flops']:.6f}", arch=r["arch"])
                    for r in rows], ["index", "params", "flops", "arch"])


# --------------------------------------------------------------------------- tabulate
def _parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        a, dash, b = part.partition("-")
        try:
            seeds.extend(range(int(a), int(b) + 1) if dash else [int(a)])
        except ValueError:
            raise click.BadParameter(f"{text!r}: write seeds as 0,1 or 0-4") from None
    return seeds


@main.command()
@space_option
@dataset_option
@click.option("--protocol", required=True, help="Training protocol, e.g. digits-v1.")
@click.option("--archs", default="unique", show_default=True,
              help="all, unique (one per isomorphism class), N (a seeded sample) or a file of architectures.")
@click.option("--seeds", default="0", show_default=True, help="Training seeds, e.g. 0,1 or 0-2.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Local worker processes.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help="Run on this Dask scheduler instead.")
@click.option("--data", "root", default=None, type=click.Path(), help="Dataset folder (not needed for digits).")
@click.option("--limit", type=int, default=None, help="Train at most this many (arch, seed) pairs now.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
@handle_errors
def tabulate(ctx: click.Context, space: str, dataset: str, protocol: str, archs: str, seeds: str, workers: int,
             scheduler: Optional[str], root: Optional[str], limit: Optional[int], quiet: bool, as_json: bool) -> None:
    """Train architectures under a protocol and store every epoch's metrics (resumable)."""
    import dataclasses

    from .tabular.tabulate import tabulate as run

    report = run(open_store(ctx), space, dataset, protocol, archs=archs, seeds=_parse_seeds(seeds), workers=workers,
                 scheduler=scheduler, root=root, progress=not quiet, limit=limit)
    if as_json:
        echo_json(dataclasses.asdict(report))
    else:
        click.echo(f"{report.protocol}: trained {report.trained}, already stored {report.skipped}, "
                   f"{report.aliases} architectures answered by their class representative, {report.seconds:.1f} s")


# --------------------------------------------------------------------------- proxies
@main.group()
def proxies() -> None:
    """Zero-cost proxies: list, compute into the store, export, evaluate against ground truth."""


@proxies.command(name="list")
@json_option
@handle_errors
def proxies_list(as_json: bool) -> None:
    """List the proxies zcdb computes, with their data needs and papers."""
    from .proxies.engine import spec_table

    rows = [dict(r) for r in spec_table()]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["name", "group", "data", "higher_is_better", "paper"])


@proxies.command(name="compute")
@space_option
@dataset_option
@click.option("--data", "root", default=None, type=click.Path(), help="Dataset folder (not needed for digits).")
@click.option("--split", default="train", show_default=True, help="Split the batch is drawn from.")
@click.option("--proxies", "names", default="all", show_default=True, help="all, or a comma-separated list.")
@click.option("--sample", type=int, default=None, help="Score N architectures sampled uniformly with --seed.")
@click.option("--archs-file", type=click.Path(), default=None, help="File of architectures (strings or indices).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the batch and the initialization.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
@handle_errors
def proxies_compute(ctx: click.Context, space: str, dataset: str, root: Optional[str], split: str, names: str,
                    sample: Optional[int], archs_file: Optional[str], seed: int, batch_size: int, workers: int,
                    quiet: bool, as_json: bool) -> None:
    """Compute proxies for architectures and store every score (resumable)."""
    import dataclasses

    from .proxies.runs import compute_and_store
    from .spaces import get_space
    from .tabular.tabulate import select_archs

    mod = get_space(space)
    if (sample is None) == (archs_file is None):
        raise click.UsageError("give exactly one of --sample N and --archs-file FILE")
    archs = mod.sample(sample, seed=seed) if sample is not None else select_archs(space, archs_file)[0]
    report = compute_and_store(open_store(ctx), space, dataset, names, archs.tolist(), seed=seed,
                               batch_size=batch_size, root=root, split=split, workers=workers, progress=not quiet)
    if as_json:
        echo_json(dataclasses.asdict(report))
    else:
        click.echo(f"scored {report.computed} architectures ({report.skipped} already stored) with "
                   f"{len(report.proxies)} proxies in {report.seconds:.1f} s; {report.nan_scores} NaN scores")


@proxies.command(name="export")
@space_option
@dataset_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write here instead of standard output.")
@click.pass_context
@handle_errors
def proxies_export(ctx: click.Context, space: str, dataset: str, fmt: str, out: Optional[str]) -> None:
    """Export every stored score with its arch string, proxy, seed, batch size and data."""
    from .proxies.runs import export_rows, export_text

    text = export_text(export_rows(open_store(ctx), space, dataset), fmt)
    if out:
        with open(out, "w") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@proxies.command(name="eval")
@space_option
@dataset_option
@click.option("--metric", default="test_acc", show_default=True, help="Ground-truth metric.")
@click.option("--epoch", type=int, default=None, help="Epoch of the metric (default: the last).")
@click.option("--metric-dataset", default=None, help="Take the metric from another dataset's benchmark.")
@protocol_option
@click.option("--proxies", "names", default=None, help="Only these (comma-separated).")
@click.option("--plot", type=click.Path(), default=None, help="Write a bar chart (PNG) here.")
@json_option
@click.pass_context
@handle_errors
def proxies_eval(ctx: click.Context, space: str, dataset: str, metric: str, epoch: Optional[int],
                 metric_dataset: Optional[str], protocol: Optional[str], names: Optional[str], plot: Optional[str],
                 as_json: bool) -> None:
    """Spearman, Kendall, top-10% precision and n of every stored score set against a metric."""
    from .proxies.runs import evaluate, plot_evaluation

    wanted = [n.strip() for n in names.split(",")] if names else None
    rows = evaluate(open_store(ctx), space, dataset, metric, epoch=epoch, protocol=protocol,
                    metric_dataset=metric_dataset, proxies=wanted)
    if plot:
        plot_evaluation(rows, plot, f"{space}/{metric_dataset or dataset} {metric}: proxies on {dataset}")
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["proxy", "spearman", "kendall", "top10", "n", "seed", "batch_size", "data"])
