"""The ``zcdb`` command line: a thin click layer over the Python API.

Each command parses its arguments, calls one API function and renders the result
(a table for people, ``--json`` for machines). Library errors become one line on
stderr and exit status 2.
"""

from __future__ import annotations

import functools
import math
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click

from .errors import ZcdbError
from .jsonio import dumps
from .spaces import DEFAULT_SPACE


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
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            _fail(f"the store is locked by another process ({exc}): rerun when it is done, "
                  "or set ZCDB_LOCK_TIMEOUT to more seconds to wait longer")

    return wrapper


#: Commands that write the store (and so may create it); every other command only reads, and
#: a store that does not exist is then an error instead of an empty file created as a side effect.
WRITING_COMMANDS = ("import", "tabulate", "proxies compute", "proxies combine", "search run", "search compare",
                    "study")


def open_store(ctx: click.Context):  # -> zcdb.Store
    """The store named by ``--db`` (or ``ZCDB_DB``, or the platform default).

    A reading command (not in :data:`WRITING_COMMANDS`) on a path where no store exists fails
    with one line instead of creating an empty store."""
    from . import open as open_
    from .store import resolve_path

    path = resolve_path(ctx.obj.get("db"))
    command = " ".join(ctx.command_path.split()[1:])
    writing = any(command == w or command.startswith(w + " ") for w in WRITING_COMMANDS)
    if not writing and path != ":memory:" and not Path(path).exists():
        raise ZcdbError(f"no store at {path}: import something first (see `zcdb import --help`), or check --db")
    return open_(path, on_wait=lambda message: click.echo(message, err=True))


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON (NaN as null)."""
    click.echo(dumps(obj, indent=2))


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


def echo_rows(rows: list[dict[str, Any]], as_json: bool, columns: Optional[list[str]] = None) -> None:
    """Print rows as JSON (``--json``) or as an aligned table of ``columns``."""
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, columns)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


class _Main(click.Group):
    """The ``zcdb`` group: ``--db PATH`` is accepted after the subcommand too (``zcdb info --db s.db``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        front: list[str] = []
        rest: list[str] = []
        k = 0
        while k < len(args):
            a = args[k]
            if a == "--":
                rest += args[k:]
                break
            if a == "--db" and k + 1 < len(args) and rest:
                front += [a, args[k + 1]]
                k += 2
                continue
            if a.startswith("--db=") and rest:
                front.append(a)
            else:
                rest.append(a)
            k += 1
        return super().parse_args(ctx, front + rest)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
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
                             best=d["direction"], unit=d["unit"], epochs=d["epochs"],
                             seeds=",".join(map(str, d["seeds"])), archs=d["archs"]))
    echo_table(rows)
    for b in data["benchmarks"]:
        if b["answered_by_class_representative"]:
            click.echo(f"{b['space']}/{b['dataset']} ({b['protocol']}): {b['answered_by_class_representative']} more "
                       "architectures answered by the trained member of their isomorphism class")
    if data["proxies"]:
        click.echo("")
        echo_table(data["proxies"])


@main.command(name="metrics")
@click.option("--builtin", "builtin_only", is_flag=True, help="List the metrics zcdb knows by name instead.")
@json_option
@click.pass_context
@handle_errors
def metrics_cmd(ctx: click.Context, builtin_only: bool, as_json: bool) -> None:
    """Every metric in the store: direction (max: higher is better), unit, where it is stored."""
    from . import metrics as _metrics

    if builtin_only:
        rows = [dict(metric=s.name, direction=s.direction, unit=s.unit, description=s.description)
                for s in _metrics.builtin_specs()]
        rows += [dict(metric=f"{p}<device>", direction="max" if h else "min", unit=u, description="family by prefix")
                 for p, h, u in _metrics.families()]
    else:
        rows = open_store(ctx).metric_specs()
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no metrics stored: import a table first (see `zcdb import --help`); "
                   "`zcdb metrics --builtin` lists the names zcdb knows")
    else:
        echo_table(rows)


# --------------------------------------------------------------------------- import
@main.command(name="spaces")
@json_option
@handle_errors
def spaces_cmd(as_json: bool) -> None:
    """The search spaces zcdb knows: size, choices, an example string, datasets with networks, default protocol."""
    from .spaces import describe_spaces

    rows = describe_spaces()
    echo_rows(rows, as_json, ["space", "size", "positions", "choices", "protocol", "networks", "example"])


@main.group(name="import")
def import_() -> None:
    """Import a benchmark file into the store (one transaction; re-importing changes nothing)."""


replace_option = click.option("--replace", is_flag=True,
                              help="Overwrite stored values that differ (default: refuse and change nothing).")


new_dataset_option = click.option(
    "--new-dataset", is_flag=True,
    help="Allow a dataset name the space does not know (nor the store holds): without it, a typo such as "
         "cifar-10 is refused instead of starting a second benchmark.")


allow_missing_option = click.option(
    "--allow-missing", is_flag=True,
    help="Store empty cells and non-finite values (nan, inf) as missing, counted in the report, instead of failing.")


def _report_import(batch: Any, as_json: bool) -> None:
    from .spaces import SPACES

    for w in batch.warnings:
        click.echo(f"warning: {w}", err=True)
    coverage = batch.coverage()
    if as_json:
        echo_json(dict(source=batch.source, importer=batch.importer, rows=batch.rows, changed=batch.changed,
                       missing=batch.missing, nonfinite_scores=batch.nonfinite_scores,
                       kept_as_stored=batch.kept_as_stored, warnings=batch.warnings, architectures=coverage))
        return
    notes = [f"{batch.changed} new or changed"]
    for space, n in coverage.items():
        size = SPACES[space].size if space in SPACES else None
        notes.append(f"{n:,} of the {size:,} {space} architectures" if size else f"{n:,} {space} architectures")
    if batch.kept_as_stored:
        notes.append(f"{batch.kept_as_stored} values equal to stored ones at the source's precision, kept as stored")
    if batch.missing:
        notes.append(f"{batch.missing} empty or non-finite values stored as missing")
    if batch.nonfinite_scores:
        notes.append(f"{batch.nonfinite_scores} non-finite proxy scores stored as NaN with their reason")
    click.echo(f"imported {batch.rows} rows from {batch.source} ({'; '.join(notes)})")


@import_.command(name="csv")
@click.argument("file", type=click.Path())
@click.option("--space", required=True, help="Search space, e.g. nb201.")
@click.option("--arch-column", required=True, help="Column with the architecture string or official index.")
@click.option("--column", "columns", multiple=True, required=True, metavar="COL=DATASET:METRIC",
              help="A value column and where it goes, e.g. CIFAR10TestAccuracy200Epochs=cifar10:test_acc.")
@click.option("--epoch", type=int, default=None, help="Fidelity of the training metrics (e.g. 200).")
@click.option("--seed", type=int, default=-1, show_default=True, help="Seed of the values; -1: a mean over seeds.")
@click.option("--protocol", default=None, help="Protocol name (default: the space's, 200ep for nb201).")
@click.option("--metric", "declare", multiple=True, metavar="NAME:max|min[:UNIT[:DESCRIPTION]]",
              help="Declare a metric zcdb does not know: its direction (max: higher is better) and unit.")
@new_dataset_option
@allow_missing_option
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_csv_cmd(ctx: click.Context, file: str, space: str, arch_column: str, columns: tuple[str, ...],
                   epoch: Optional[int], seed: int, protocol: Optional[str], declare: tuple[str, ...],
                   new_dataset: bool, allow_missing: bool, replace: bool, as_json: bool) -> None:
    """Import columns of a CSV table with one row per architecture."""
    from .metrics import parse_declaration
    from .tabular.csv_table import import_csv, parse_column_spec

    specs = {}
    for spec in columns:
        col, dataset, metric = parse_column_spec(spec)
        specs[col] = (dataset, metric)
    batch = import_csv(open_store(ctx), file, space, arch_column, specs, epoch=epoch, seed=seed,
                       protocol=protocol, allow_missing=allow_missing, replace=replace,
                       declare=[parse_declaration(d) for d in declare], new_dataset=new_dataset)
    _report_import(batch, as_json)


@import_.command(name="naslib-zc")
@click.argument("file", type=click.Path())
@click.option("--space", default=None,
              help=f"Search space of a JSON file (default: the space the file names first, e.g. "
                   f"nasbench101, else {DEFAULT_SPACE}); for a zip or folder, the one space to take.")
@click.option("--dataset", default=None, help="Dataset of a flat-layout file, or the one dataset to take.")
@new_dataset_option
@allow_missing_option
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_naslib_zc_cmd(ctx: click.Context, file: str, space: Optional[str], dataset: Optional[str],
                         new_dataset: bool, allow_missing: bool, replace: bool, as_json: bool) -> None:
    """Import NAS-Bench-Suite-Zero proxy scores: NASLib zc_*.json (released or flat layout), or a zip or folder
    of PROXY/benchmark--SPACE--TASK--START.json files."""
    from .tabular.naslib_zc import import_naslib_zc

    _report_import(import_naslib_zc(open_store(ctx), file, space=space, dataset=dataset, replace=replace,
                                    allow_missing=allow_missing, new_dataset=new_dataset), as_json)


def _file_importer(name: str, help_text: str, curves: bool = False) -> None:
    def command(ctx: click.Context, path: str, allow_missing: bool, replace: bool, as_json: bool,
                final_only: bool = False) -> None:
        from .tabular import importers

        kwargs = {"final_only": True} if final_only else {}
        _report_import(importers()[name](open_store(ctx), path, replace=replace, allow_missing=allow_missing,
                                         **kwargs), as_json)

    if curves:
        command = click.option("--final-only", is_flag=True,
                               help="Keep only each curve's last epoch (e.g. 200 or 12) and the costs: "
                                    "about 1/100 of the rows.")(command)
    for deco in (handle_errors, click.pass_context, json_option, replace_option, allow_missing_option,
                 click.argument("path", type=click.Path()), import_.command(name=name, help=help_text)):
        command = deco(command)


_file_importer("nb201-pth", "Import the official NAS-Bench-201 file (NAS-Bench-201-v1_0/v1_1 .pth): all datasets, "
                            "12- and 200-epoch settings, per-epoch curves, per-seed results, costs.", curves=True)
_file_importer("nats-tss", "Import NATS-Bench's topology benchmark from its fast-mode directory "
                           "(NATS-tss-v1_0-3ffb9-simple/).", curves=True)
_file_importer("nats-sss", "Import NATS-Bench's size benchmark from its fast-mode directory "
                           "(NATS-sss-v1_0-50262-simple/): 01-, 12- and 90-epoch schedules.", curves=True)
_file_importer("hw-nas-bench", "Import HW-NAS-Bench latency, energy and Eyeriss arithmetic intensity from "
                               "HW-NAS-Bench-v1_0.pickle, or from hw_nas_bench_<dataset>.csv (a file or their folder).")
_file_importer("nb201-robustness", "Import Jung et al.'s NAS-Bench-201 robustness accuracies on CIFAR-10 "
                                   "(robustness_targets.csv): robust_<attack>_eps<eps> and val_acc.")
_file_importer("nas-bench-macro", "Import NAS-Bench-Macro from nas-bench-macro_cifar10.json: CIFAR-10 test accuracy "
                                  "of all 6,561 codes (seeds 0-2 and their mean, 50 epochs), params, FLOPs.")
_file_importer("nasbench-tfrecord", "Import NAS-Bench-101's official nasbench_only108.tfrecord or nasbench_full.tfrecord "
                                    "(no TensorFlow needed): accuracies and training times of every training, params.")
_file_importer("nasbench-vis", "Import a nasbench-vis NAS-Bench-101 sample (nasbench-vis_data-1k.json or -20k.json): "
                               "validation accuracy at 4/12/36/108 epochs, training time, params.")


@import_.command(name="help-latency")
@click.argument("path", type=click.Path())
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset the latencies are stored under (HELP measured NAS-Bench-201 at CIFAR resolution).")
@new_dataset_option
@allow_missing_option
@replace_option
@json_option
@click.pass_context
@handle_errors
def import_help_latency_cmd(ctx: click.Context, path: str, dataset: str, new_dataset: bool, allow_missing: bool,
                            replace: bool, as_json: bool) -> None:
    """Import HELP's NAS-Bench-201 latencies (data/nasbench201: latency/*.pt, str_arch2idx.pt), every device."""
    from .tabular.help_latency import import_help_latency

    _report_import(import_help_latency(open_store(ctx), path, dataset=dataset, replace=replace,
                                       allow_missing=allow_missing, new_dataset=new_dataset), as_json)


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
def _once(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Optional[str]:
    """An option given at most once: a repeated one is an error, not "the last one wins"."""
    if len(value) > 1:
        raise click.BadParameter(f"given {len(value)} times ({', '.join(value)}): give it once")
    return value[0] if value else None


space_option = click.option("--space", default=(DEFAULT_SPACE,), multiple=True, callback=_once, show_default=True,
                            help="Search space.")
dataset_option = click.option("--dataset", required=True, multiple=True, callback=_once,
                              help="Dataset, e.g. cifar10.")
device_option = click.option(
    "--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True,
    help="Where networks and data live; auto: cuda if torch sees a GPU, else cpu.")
protocol_option = click.option("--protocol", default=None, help="Protocol (default: the only or default one).")
where_option = click.option(
    "--where", "where", multiple=True, metavar="METRIC<OP>NUMBER",
    help="Keep only architectures satisfying this constraint, e.g. 'latency_edgegpu<5' (repeat for more; "
         "OP is <, <=, >, >=, == or !=). Architectures lacking the metric are excluded and counted on stderr.")


def _report_feasibility(bench: Any, where: tuple[str, ...], epoch: Optional[int] = None) -> Any:
    """The Feasibility of ``where`` on ``bench`` (None without constraints), its summary line on stderr."""
    if not where:
        return None
    feas = bench.feasible(where, epoch)
    click.echo(f"constraints: {feas.summary()}", err=True)
    return feas


@main.command(name="arch")
@click.argument("arch")
@space_option
@json_option
@click.pass_context
@handle_errors
def arch_cmd(ctx: click.Context, arch: str, space: str, as_json: bool) -> None:
    """Everything about one architecture: final metrics and rank per benchmark, exact costs, proxy scores, class.

    Example: zcdb arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    """
    rep = open_store(ctx).arch(arch, space)
    if as_json:
        echo_json(rep)
        return
    click.echo(f"{rep['space']} {rep['index']}: {rep['arch']}")
    click.echo(f"class: representative {rep['class_representative']}, canonical {rep['canonical']}")
    rows = []
    for b in rep["benchmarks"]:
        for m in b["metrics"]:
            rank = f"{m['rank']} of {m['ranked']}" if m["rank"] is not None else ("computed" if m["computed"] else "")
            rows.append(dict(dataset=b["dataset"], protocol=b["protocol"] or "-", metric=m["metric"],
                             value=m["value"], unit=m["unit"], rank=rank))
    if rows:
        echo_table(rows)
    if rep["proxies"]:
        click.echo("")
        echo_table(rep["proxies"], ["dataset", "proxy", "score", "seconds", "seed", "batch_size", "data"])


@main.command()
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric, e.g. test_acc.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the last stored).")
@click.option("--seed", type=int, default=None, help="Seed (default: the mean over seeds).")
@protocol_option
@where_option
@click.argument("archs", nargs=-1, required=True)
@json_option
@click.pass_context
@handle_errors
def query(ctx: click.Context, space: str, dataset: str, metric: str, epoch: Optional[int], seed: Optional[int],
          protocol: Optional[str], where: tuple[str, ...], archs: tuple[str, ...], as_json: bool) -> None:
    """Look up a metric of architectures (official strings or indices); --where drops those that fail it."""
    from .spaces import parse_arch_text

    from .archinfo import COST_METRICS, exact_cost

    bench = open_store(ctx).benchmark(space, dataset, protocol)
    feas = _report_feasibility(bench, where, epoch)
    # params and FLOPs: the space's exact count where the benchmark holds no value (marked computed)
    stored = metric not in COST_METRICS or metric in bench.metrics()
    rows = []
    for a in archs:
        i = bench.index(parse_arch_text(a, bench.search_space))
        if feas is not None and not feas.mask[i]:
            continue
        value = bench.query(i, metric, epoch, seed) if stored else math.nan
        computed = False
        if metric in COST_METRICS and math.isnan(value):
            exact = exact_cost(bench.search_space, i, dataset, metric)
            if exact is not None:
                value, computed = exact, True
            elif not stored:
                bench.query(i, metric, epoch, seed)  # the benchmark's own one-line error
        rows.append(dict(index=i, arch=bench.search_space.string_of(i), metric=metric, value=value,
                         computed=computed))
    if feas is not None:
        click.echo(f"{len(rows)} of {len(archs)} queried architectures satisfy the constraints", err=True)
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["index", "value", "arch"] + (["computed"] if any(r["computed"] for r in rows) else []))


@main.command()
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric to rank by, e.g. test_acc.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True, help="How many.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the last stored).")
@protocol_option
@where_option
@json_option
@click.pass_context
@handle_errors
def top(ctx: click.Context, space: str, dataset: str, metric: str, k: int, epoch: Optional[int],
        protocol: Optional[str], where: tuple[str, ...], as_json: bool) -> None:
    """The k best architectures by a metric (highest accuracy, lowest loss or cost), optionally under constraints."""
    bench = open_store(ctx).benchmark(space, dataset, protocol)
    _report_feasibility(bench, where, epoch)
    rows = [dict(rank=r + 1, index=i, value=v, arch=s)
            for r, (i, s, v) in enumerate(bench.top(metric, k, epoch, where=where))]
    echo_rows(rows, as_json, ["rank", "index", "value", "arch"])


@main.command()
@space_option
@dataset_option
@click.option("--objectives", required=True, metavar="METRIC,METRIC[,...]",
              help="Two or more metrics, each ranked in its declared direction, e.g. test_acc,latency_pixel3.")
@click.option("--epoch", type=int, default=None, help="Epoch of training metrics (default: the last stored).")
@click.option("--reference", default=None, metavar="NUMBER,NUMBER[,...]",
              help="Reference point of the hypervolume, one value per objective, worse than the front "
                   "(default: the worst candidate value of each objective, moved 1% of its range further).")
@protocol_option
@where_option
@click.option("--plot", type=click.Path(), default=None,
              help="Draw all architectures, the front and the reference point here (.png, .svg, .pdf, ...).")
@json_option
@click.pass_context
@handle_errors
def pareto(ctx: click.Context, space: str, dataset: str, objectives: str, epoch: Optional[int],
           reference: Optional[str], protocol: Optional[str], where: tuple[str, ...], plot: Optional[str],
           as_json: bool) -> None:
    """The Pareto front of two or more objectives (each in its own direction) and its hypervolume."""
    from .fronts import parse_reference, plot_front
    from .paths import PLOT_SUFFIXES, output_file

    if plot:
        output_file(plot, "--plot", PLOT_SUFFIXES)
    ref = parse_reference(reference) if reference is not None else None
    bench = open_store(ctx).benchmark(space, dataset, protocol)
    _report_feasibility(bench, where, epoch)
    res = bench.pareto(objectives.split(","), where=where, reference=ref, epoch=epoch)
    if plot:
        plot_front(res, plot)
    if as_json:
        echo_json(dict(res.to_json(), plot=plot))
        return
    click.echo(f"{space}/{dataset}: {res.summary()}")
    echo_table([dict(index=i, **dict(zip(res.objectives, v)), arch=a) for i, a, v in res.front],
               ["index", *res.objectives, "arch"])
    if plot:
        click.echo(f"wrote {plot}")


@main.command(name="export")
@space_option
@dataset_option
@click.option("--table", type=click.Choice(["benchmark", "proxies", "runs", "trajectories"]), default=None,
              help="What to export: benchmark rows (the default), proxy scores with arch strings, stored search "
                   "runs, or their trajectories (one row per query). The naslib-zc formats export proxies.")
@click.option("--metrics", default=None, metavar="METRIC,METRIC", help="Columns (default: every stored metric).")
@click.option("--epoch", type=int, default=None, help="Epoch of training metrics (default: each one's last).")
@click.option("--wide/--long", "wide", default=True, show_default=True,
              help="Benchmark rows one per architecture (one column per metric), or one per (arch, metric, epoch, "
                   "seed) with dataset, arch_index, arch, metric, epoch, seed, value.")
@protocol_option
@where_option
@click.option("--proxies", "proxy_names", default=None, metavar="PROXY,PROXY", help="Only these proxies.")
@click.option("--seed", type=int, default=None, help="Only proxy score sets of this seed.")
@click.option("--batch-size", type=int, default=None, help="Only proxy score sets of this batch size.")
@click.option("--data", "data_label", default=None, help="Only proxy score sets of this data label.")
@click.option("--format", "fmt", default=None,
              type=click.Choice(["csv", "json", "jsonl", "parquet", "naslib-zc", "naslib-zc-benchmarks"]),
              help="Output format (default: from the --out suffix, else csv); parquet needs pyarrow "
                   "(zcdb[parquet]). naslib-zc: NAS-Bench-Suite-Zero's zc_<space>.json of zcdb's own scores; "
                   "naslib-zc-benchmarks: its PROXY/benchmark--SPACE--TASK--0.json folder (--out DIR).")
@click.option("--out", type=click.Path(), default=None, help="Write here instead of standard output.")
@click.pass_context
@handle_errors
def export_cmd(ctx: click.Context, space: str, dataset: str, table: Optional[str], metrics: Optional[str],
               epoch: Optional[int], wide: bool, protocol: Optional[str], where: tuple[str, ...],
               proxy_names: Optional[str], seed: Optional[int], batch_size: Optional[int], data_label: Optional[str],
               fmt: Optional[str], out: Optional[str]) -> None:
    """Write benchmark rows (a wide table: one row per architecture, one column per metric), proxy scores,
    or stored search runs as CSV, JSON, JSON lines or Parquet; or zcdb's proxy scores in
    NAS-Bench-Suite-Zero's layout, which `zcdb import naslib-zc` (and NASLib) reads."""
    from .frames import format_of, write_frame, write_table
    from .paths import output_file

    naslib = fmt is not None and fmt.startswith("naslib-zc")
    table = table or ("proxies" if naslib else "benchmark")
    if naslib and table != "proxies":
        raise ZcdbError(f"--format {fmt} writes proxy scores: drop --table {table} or use --table proxies")
    if table != "benchmark":
        given = [o for o, v in (("--metrics", metrics), ("--epoch", epoch), ("--long", None if wide else True),
                                ("--where", where or None), ("--protocol", protocol)) if v is not None]
        if given:
            raise ZcdbError(f"{', '.join(given)} apply to --table benchmark, not --table {table}")
    if table != "proxies":
        given = [o for o, v in (("--proxies", proxy_names), ("--seed", seed), ("--batch-size", batch_size),
                                ("--data", data_label)) if v is not None]
        if given:
            raise ZcdbError(f"{', '.join(given)} apply to --table proxies, not --table {table}")
    names = [p.strip() for p in proxy_names.split(",")] if proxy_names else None
    store = open_store(ctx)
    if naslib:
        from .tabular.naslib_zc_export import write_naslib_zc

        if out and fmt == "naslib-zc":
            output_file(out, "--out")
        res = write_naslib_zc(store, space, dataset, out, layout="zc" if fmt == "naslib-zc" else "benchmarks",
                              proxies=names, seed=seed, batch_size=batch_size, data=data_label)
        if out is None:
            click.echo(res["text"], nl=False)
        else:
            click.echo(f"wrote {len(res['proxies'])} proxies x {res['archs']} architectures ({fmt}) to {out}", err=True)
        return
    if out:
        output_file(out, "--out")
    fmt = format_of(fmt, out)
    if table == "benchmark":
        bench = store.benchmark(space, dataset, protocol)
        _report_feasibility(bench, where, epoch)
        chosen = [m.strip() for m in metrics.split(",")] if metrics else None
        if not wide:
            if where:
                raise ZcdbError("--where filters the wide table: drop --long, or filter the long rows")
            df = bench.to_frame(chosen)
            if epoch is not None:
                df = df[df["epoch"] == epoch]
            text = write_frame(df, fmt, out)
            shape = f"{len(df)} rows x {df.shape[1]} columns"
        else:  # the wide table without pandas: a reading command's start stays light
            from .frames import frame_columns

            cols = frame_columns(bench, chosen, epoch=epoch, where=where)
            text = write_table(cols, fmt, out)
            shape = f"{len(cols['arch'])} rows x {len(cols)} columns"
    else:
        from .export import proxy_table, runs_table, trajectories_table

        if table == "proxies":
            cols = proxy_table(store, space, dataset, names, seed=seed, batch_size=batch_size, data=data_label)
        else:
            cols = (runs_table if table == "runs" else trajectories_table)(store, space, dataset)
        text = write_table(cols, fmt, out)
        shape = f"{len(next(iter(cols.values())))} rows x {len(cols)} columns"
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {shape} ({fmt}) to {out}", err=True)


# --------------------------------------------------------------------------- sql
@main.group(name="sql")
def sql_group() -> None:
    """Plain SQL over the store, for any SQLite tool (sqlite3, DB Browser, datasette)."""


@sql_group.command(name="wide")
@space_option
@dataset_option
@click.option("--metrics", default=None, metavar="METRIC,METRIC", help="Columns (default: every stored metric).")
@click.option("--epoch", type=int, default=None, help="Epoch of training metrics (default: each one's last).")
@protocol_option
@click.option("--create-view", is_flag=True,
              help="Also keep it in the store as a view (wide_SPACE_DATASET_PROTOCOL, or --name), replacing one "
                   "of that name.")
@click.option("--name", "view_name", default=None, help="Name of the --create-view view.")
@click.pass_context
@handle_errors
def sql_wide(ctx: click.Context, space: str, dataset: str, metrics: Optional[str], epoch: Optional[int],
             protocol: Optional[str], create_view: bool, view_name: Optional[str]) -> None:
    """Print the SQL query that reads a benchmark wide (one row per architecture, one column per metric)
    from evaluations_view, to run in any SQLite tool; --create-view stores it as a view instead."""
    from .sql import create_wide_view, wide_sql

    chosen = [m.strip() for m in metrics.split(",")] if metrics else None
    store = open_store(ctx)
    if view_name is not None and not create_view:
        raise ZcdbError("--name names the view of --create-view: add --create-view")
    if create_view:
        res = create_wide_view(store, space, dataset, protocol, chosen, epoch, view_name)
        click.echo(f"created view {res['name']} (read it in any SQLite tool)")
    else:
        click.echo(wide_sql(store.benchmark(space, dataset, protocol), chosen, epoch) + ";")


# --------------------------------------------------------------------------- serve
@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, port: int) -> None:
    """Browse the store in datasette (pip install 'zcdb[serve]'): read-only, on 127.0.0.1 only, plugins off,
    with canned queries (top k, one architecture, its proxy scores, a Pareto front, each benchmark wide)."""
    from .datasette_app import HOST, database_name, serve as run
    from .store import resolve_path

    path = resolve_path(ctx.obj.get("db"))
    if path == ":memory:":
        raise ZcdbError("zcdb serve needs a store file: give --db PATH")
    if port:
        click.echo(f"serving {path} read-only at http://{HOST}:{port}/{database_name(path)} (Ctrl-C stops)", err=True)
    run(path, port)


# --------------------------------------------------------------------------- cost
@main.command()
@space_option
@dataset_option
@click.option("--convention", default=None,
              help="FLOP counting convention, where the space has several (nb201: naslib = NAS-Bench-Suite-Zero's "
                   "flops, the default, counting BN, ReLU and pooling; nb201 = NAS-Bench-201's own). Params agree.")
@click.argument("archs", nargs=-1, required=True)
@json_option
@handle_errors
def cost(space: str, dataset: str, convention: Optional[str], archs: tuple[str, ...], as_json: bool) -> None:
    """Params (millions) and FLOPs (MFLOPs) of architectures (official strings or indices)."""
    from .spaces import get_space, parse_arch_text

    sp = get_space(space)
    kwargs = {} if convention is None else {"convention": convention}
    rows = []
    for a in archs:
        key = parse_arch_text(a, sp)
        params, flops = sp.cost(key, dataset, **kwargs)
        rows.append(dict(index=sp.index_of(key), arch=sp.string_of(key), params=params, flops=flops))
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
@device_option
@click.option("--data", "root", default=None, type=click.Path(), help="Dataset folder (not needed for digits).")
@click.option("--limit", type=int, default=None, help="Train at most this many (arch, seed) pairs now.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
@handle_errors
def tabulate(ctx: click.Context, space: str, dataset: str, protocol: str, archs: str, seeds: str, workers: int,
             scheduler: Optional[str], device: str, root: Optional[str], limit: Optional[int], quiet: bool,
             as_json: bool) -> None:
    """Train architectures under a protocol and store every epoch's metrics (resumable)."""
    import dataclasses

    from .tabular.tabulate import tabulate as run

    report = run(open_store(ctx), space, dataset, protocol, archs=archs, seeds=_parse_seeds(seeds), workers=workers,
                 scheduler=scheduler, root=root, progress=not quiet, limit=limit, device=device)
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
    echo_rows(rows, as_json, ["name", "group", "data", "higher_is_better", "paper"])


@proxies.command(name="compute")
@space_option
@dataset_option
@click.option("--data", "root", default=None, type=click.Path(), help="Dataset folder (not needed for digits).")
@click.option("--split", default="train", show_default=True, help="Split the batch is drawn from.")
@click.option("--proxies", "names", default="all", show_default=True,
              help="all, or a comma-separated list (it may name --proxy-module proxies; list only those to "
                   "compute only yours).")
@click.option("--proxy-module", "proxy_modules", multiple=True, metavar="MODULE:NAME",
              help="Your own proxy, computed too (repeatable): a ProxySpec or a function fn(model, batch, seed) "
                   "-> float in an importable module. Importing it RUNS ITS CODE: name only modules you trust.")
@click.option("--sample", type=int, default=None, help="Score N architectures sampled uniformly with --seed.")
@click.option("--archs-file", type=click.Path(), default=None,
              help="File of architectures (strings or indices, one per line), or `unique` (one representative "
                   "per isomorphism class, the ones `tabulate --archs unique` trains) or `all`.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the batch and the initialization.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Score on this Dask scheduler's workers instead (this process alone writes the store).")
@device_option
@click.option("--recompute", is_flag=True,
              help="Compute stored scores again and overwrite them (not resumable: a rerun starts over).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
@handle_errors
def proxies_compute(ctx: click.Context, space: str, dataset: str, root: Optional[str], split: str, names: str,
                    proxy_modules: tuple[str, ...], sample: Optional[int], archs_file: Optional[str], seed: int, batch_size: int, workers: int,
                    scheduler: Optional[str], device: str, recompute: bool, quiet: bool, as_json: bool) -> None:
    """Compute proxies for architectures and store every score (resumable)."""
    import dataclasses

    from .proxies.stored import compute_and_store
    from .proxies.user import load_proxy
    from .spaces import get_space
    from .tabular.tabulate import select_archs

    mod = get_space(space)
    extra = [load_proxy(ref) for ref in proxy_modules]
    if (sample is None) == (archs_file is None):
        raise click.UsageError("give exactly one of --sample N and --archs-file FILE")
    if archs_file is not None and archs_file not in ("unique", "all") and not Path(archs_file).is_file():
        raise ZcdbError(f"--archs-file {archs_file!r}: no such file; give a file of architectures (one per line), "
                        "unique or all, or --sample N")
    archs = mod.sample(sample, seed=seed) if sample is not None else select_archs(space, archs_file)[0]
    report = compute_and_store(open_store(ctx), space, dataset, names, archs.tolist(), seed=seed,
                               batch_size=batch_size, root=root, split=split, workers=workers, progress=not quiet,
                               recompute=recompute, device=device, scheduler=scheduler, extra=extra)
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
    from .paths import output_file
    from .proxies.stored import export_rows, export_text

    target = output_file(out, "--out") if out else None
    text = export_text(export_rows(open_store(ctx), space, dataset), fmt)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(text)
        except OSError as exc:
            raise ZcdbError(f"cannot write --out {target} ({exc.strerror}): give a path you can write") from None
    else:
        click.echo(text, nl=False)


@proxies.command(name="eval")
@space_option
@dataset_option
@click.option("--metric", default=None,
              help="Ground-truth metric (default: test_acc where stored, else the benchmark's own, as "
                   "`zcdb study proxies` picks it: nb301's val_acc).")
@click.option("--epoch", type=int, default=None, help="Epoch of the metric (default: the last).")
@click.option("--metric-dataset", default=None, help="Take the metric from another dataset's benchmark.")
@protocol_option
@click.option("--proxies", "names", default=None, help="Only these (comma-separated).")
@click.option("--plot", type=click.Path(), default=None,
              help="Write a bar chart here (the suffix picks the format: .png, .svg, .pdf, ...).")
@click.option("--all-available", is_flag=True,
              help="Evaluate each score set on every architecture it covers (default: on those all sets cover).")
@click.option("--by-class", is_flag=True,
              help="Answer every architecture without a score by a scored member of its isomorphism class (a table "
                   "of class representatives, `--archs-file unique`, is then evaluated on the whole space).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=200, show_default=True,
              help="Resamples for the 95%% intervals of Spearman and Kendall (0: none).")
@where_option
@json_option
@click.pass_context
@handle_errors
def proxies_eval(ctx: click.Context, space: str, dataset: str, metric: Optional[str], epoch: Optional[int],
                 metric_dataset: Optional[str], protocol: Optional[str], names: Optional[str], plot: Optional[str],
                 all_available: bool, by_class: bool, bootstrap: int, where: tuple[str, ...], as_json: bool) -> None:
    """Spearman and Kendall (with bootstrap 95% intervals), top-10% precision and n of every stored
    score set against a metric, all on the architectures every set covers unless --all-available."""
    from .paths import PLOT_SUFFIXES, output_file
    from .proxies.stored import default_eval_metric, evaluate, plot_evaluation

    if plot:
        output_file(plot, "--plot", PLOT_SUFFIXES)
    wanted = [n.strip() for n in names.split(",")] if names else None
    store = open_store(ctx)
    if metric is None:
        metric = default_eval_metric(store.benchmark(space, metric_dataset or dataset, protocol))
    if where:
        _report_feasibility(store.benchmark(space, metric_dataset or dataset, protocol), where, epoch)
    rows = evaluate(store, space, dataset, metric, epoch=epoch, protocol=protocol, metric_dataset=metric_dataset,
                    proxies=wanted, common=not all_available, bootstrap=bootstrap, where=where, by_class=by_class)
    if plot:
        plot_evaluation(rows, plot, f"{space}/{metric_dataset or dataset} {metric}: proxies on {dataset}")
    if as_json:
        echo_json(rows)
        return
    shown = []
    for r in rows:
        d = dict(r)
        for k in ("spearman_ci", "kendall_ci"):
            if k in d:
                d[k] = "[{:.3f}, {:.3f}]".format(*d[k])
        shown.append(d)
    cols = ["proxy", "spearman"] + (["spearman_ci"] if bootstrap else []) + ["kendall"] + \
        (["kendall_ci"] if bootstrap else []) + ["top10", "n", "seed", "batch_size", "data"]
    echo_table(shown, cols)
    if rows and not all_available:
        n = max(r["n"] for r in rows)
        none = sum(r["n"] == 0 for r in rows)
        left_out = f"; {none} set{'s' if none > 1 else ''} scoring none of them shown with n 0" if none and n else ""
        click.echo(f"all on the same {n} architectures (those every {'other ' if left_out else ''}score set "
                   f"covers{left_out}; --all-available evaluates each on all it covers)")


@proxies.command(name="combine")
@space_option
@dataset_option
@click.option("--proxies", "names", default=None, help="Members, comma-separated.")
@click.option("--select-on", default=None, metavar="SPACE/DATASET[/METRIC]",
              help="Choose the members on this other benchmark (by Spearman with METRIC, default test_acc).")
@click.option("--select-sample", type=int, default=None, metavar="N",
              help="Or choose them on N labelled architectures of the target itself (drawn with --select-seed; "
                   "they are stored as NaN, held out, so an evaluation sees only the others).")
@click.option("--select-metric", default="test_acc", show_default=True, help="The labels --select-sample reads.")
@click.option("--select-seed", type=int, default=0, show_default=True, help="Seed of the --select-sample draw.")
@click.option("--max-members", type=click.IntRange(min=1), default=3, show_default=True,
              help="At most this many members with --select-on or --select-sample.")
@click.option("--select-search", type=click.Choice(["greedy", "exhaustive"]), default="greedy", show_default=True,
              help="How --select-on/--select-sample choose: greedy forward selection, or the best of every subset "
                   "of at most --max-members proxies (1,159 for 19 and 3).")
@click.option("--method", type=click.Choice(["mean-rank", "log-rank", "mean-zscore"]), default="log-rank",
              show_default=True, help="How the members' scores are aggregated.")
@click.option("--name", default=None, help="Proxy name of the ensemble (default ens:METHOD:A.B.C).")
@json_option
@click.pass_context
@handle_errors
def proxies_combine(ctx: click.Context, space: str, dataset: str, names: Optional[str], select_on: Optional[str],
                    select_sample: Optional[int], select_metric: str, select_seed: int, max_members: int,
                    select_search: str, method: str, name: Optional[str], as_json: bool) -> None:
    """Store an ensemble of stored proxies as a proxy score set of its own (with its recipe)."""
    import dataclasses

    from .proxies.ensemble import combine_and_store

    members = names.split(",") if names is not None else None
    report = combine_and_store(open_store(ctx), space, dataset, members, method, name=name, select_on=select_on,
                               max_members=max_members, select_sample=select_sample, select_metric=select_metric,
                               select_seed=select_seed, select_search=select_search)
    if as_json:
        echo_json(dataclasses.asdict(report))
    else:
        chosen = f" (chosen on {report.select_on})" if report.select_on else ""
        held = f", {report.held_out} held out (their labels chose the members)" if report.held_out else ""
        if report.class_mates:
            held += f" with {report.class_mates} isomorphic copies"
        click.echo(f"stored {report.proxy}: {report.archs} architectures, {report.incomplete} skipped (not scored "
                   f"by every member){held}; members{chosen}: " + ", ".join(m["proxy"] for m in report.members))


# --------------------------------------------------------------------------- surrogates
@main.group()
def surrogate() -> None:
    """Surrogate benchmarks: fit gradient-boosted models on encodings and proxies, evaluate, study."""


def _int_list(text: str) -> list[int]:
    try:
        out = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise ZcdbError(f"bad --n-train {text!r}: write positive integers separated by commas, e.g. 25,50,100")
    return out


target_option = click.option("--target-transform", "target", type=click.Choice(["quantile", "raw"]),
                             default="quantile", show_default=True,
                             help="Fit on the target's quantile-normal scores (robust to collapsed networks) or raw.")

zc_options = [
    click.option("--zc-seed", type=int, default=None, help="Use proxy score sets of this seed."),
    click.option("--zc-batch-size", type=int, default=None, help="Use proxy score sets of this batch size."),
    click.option("--zc-data", default=None, help="Use proxy score sets of this data label, e.g. naslib-zc."),
    click.option("--zc-by-class", is_flag=True,
                 help="Give an architecture without a score its class member's (a table of one member per class); "
                      "such architectures are predicted, never trained or tested on."),
]


def _with(options: list) -> Callable:
    def deco(fn: Callable) -> Callable:
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return deco


@surrogate.command(name="features")
@json_option
def surrogate_features(as_json: bool) -> None:
    """List the feature sets (combine them with commas: --features onehot,zc)."""
    from .surrogates.features import describe

    rows = describe()
    echo_rows(rows, as_json, ["name", "reads_store", "description"])


@surrogate.command(name="fit")
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric to predict, e.g. test_acc.")
@click.option("--epoch", type=int, default=None, help="Epoch of the metric (default: the last).")
@protocol_option
@click.option("--features", default="onehot", show_default=True,
              help="Feature spec, e.g. onehot,zc or zc:nwot+synflow.")
@click.option("--n-train", type=click.IntRange(min=2), required=True, help="Training architectures, drawn with --seed.")
@click.option("--n-test", type=click.IntRange(min=3), default=None,
              help="Held-out architectures scored (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split and the model.")
@click.option("--model", "model_name", default="hgb", show_default=True, help="Regressor: hgb, rf or gbr.")
@click.option("--uncertainty", type=click.Choice(["none", "bootstrap", "quantile"]), default="none",
              show_default=True, help="Uncertainty model (bootstrap ensemble or quantile models).")
@click.option("--members", type=click.IntRange(min=2), default=10, show_default=True, help="Bootstrap ensemble size.")
@target_option
@_with(zc_options)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Write the fitted surrogate here.")
@json_option
@click.pass_context
@handle_errors
def surrogate_fit(ctx: click.Context, space: str, dataset: str, metric: str, epoch: Optional[int],
                  protocol: Optional[str], features: str, n_train: int, n_test: Optional[int], seed: int,
                  model_name: str, uncertainty: str, members: int, target: str, zc_seed: Optional[int],
                  zc_batch_size: Optional[int], zc_data: Optional[str], zc_by_class: bool, out: str,
                  as_json: bool) -> None:
    """Fit a surrogate on N architectures sampled from the table, score the held-out rest, save it."""
    from .paths import output_file
    from .surrogates import fit_sample

    output_file(out, "--out")
    sur = fit_sample(open_store(ctx).benchmark(space, dataset, protocol), metric, features, n_train, seed,
                     n_test=n_test, epoch=epoch, model=model_name,
                     uncertainty=None if uncertainty == "none" else uncertainty, members=members, target=target,
                     zc_seed=zc_seed, zc_batch_size=zc_batch_size, zc_data=zc_data, zc_by_class=zc_by_class)
    sur.save(out)
    covered = sur.covered()
    report = dict(out=out, space=sur.space, dataset=sur.dataset, metric=sur.metric, epoch=sur.epoch,
                  features=sur.spec, columns=len(sur.columns), n_train=sur.meta["train"]["n"],
                  train_sha256=sur.meta["train"]["sha256"], covered=int(covered.sum()), archs=int(covered.size),
                  notes=list(sur.meta["features"]["notes"]), **sur.metrics)
    answered = sur.answered_by_class()
    if answered:
        report["notes"].append(f"zc features of {answered:,} architectures answered by a scored member of their "
                               "class (--zc-by-class)")
    if as_json:
        echo_json(report)
    else:
        test = sur.metrics.get("test", {})
        click.echo(f"fitted {sur.metric}@{sur.epoch} of {sur.space}/{sur.dataset} on {report['n_train']} archs "
                   f"({sur.spec}, {report['columns']} columns) in {sur.metrics['fit_seconds']:.2f} s -> {out}")
        if test:
            echo_table([dict(n=test["n"], spearman=test["spearman"], kendall=test["kendall"], r2=test["r2"],
                             top10=test["top10"])])
        for note in report["notes"]:
            click.echo(f"note: {note}")
        if report["covered"] < report["archs"]:
            click.echo(f"note: features complete for {report['covered']:,} of {report['archs']:,} architectures: as a "
                       "benchmark it answers NaN for the others (SurrogateBenchmark.missing_features)")


@surrogate.command(name="eval")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--n-test", type=click.IntRange(min=3), default=None,
              help="Score this many held-out archs (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --n-test sample.")
@click.option("--trust", is_flag=True, help="Unpickle without restriction (for non-scikit-learn models you made).")
@json_option
@click.pass_context
@handle_errors
def surrogate_eval(ctx: click.Context, file: str, n_test: Optional[int], seed: int, trust: bool,
                   as_json: bool) -> None:
    """Spearman, Kendall, R2 and top-10% precision of a saved surrogate on architectures it was not trained on."""
    from .surrogates import open_surrogate

    store = open_store(ctx)
    sur = open_surrogate(store, file, trust=trust)
    res = dict(file=file, metric=sur.metric, epoch=sur.epoch, features=sur.spec, n_train=sur.meta["train"]["n"],
               **sur.evaluate(store.benchmark(sur.space, sur.dataset, sur.protocol), n_test=n_test, seed=seed))
    if as_json:
        echo_json(res)
    else:
        echo_table([res], ["metric", "features", "n_train", "n", "spearman", "kendall", "r2", "top10"])


@surrogate.command(name="study")
@space_option
@dataset_option
@click.option("--metric", required=True, help="Metric to predict, e.g. test_acc.")
@click.option("--epoch", type=int, default=None, help="Epoch of the metric (default: the last).")
@protocol_option
@click.option("--features", "feature_sets", multiple=True, default=["onehot"], show_default=True,
              help="A feature spec; repeat to compare several, e.g. --features onehot --features onehot,zc.")
@click.option("--n-train", default="100", show_default=True, help="Training sizes, comma-separated, e.g. 25,50,100.")
@click.option("--n-test", type=click.IntRange(min=3), default=None,
              help="Test architectures per trial (default: the rest of the pool).")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True, help="Seeded splits per size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the study.")
@click.option("--model", "model_name", default="hgb", show_default=True, help="Regressor: hgb, rf or gbr.")
@click.option("--no-baseline", is_flag=True, help="Do not score the best single proxy on the same test sets.")
@target_option
@_with(zc_options)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
@handle_errors
def surrogate_study(ctx: click.Context, space: str, dataset: str, metric: str, epoch: Optional[int],
                    protocol: Optional[str], feature_sets: tuple[str, ...], n_train: str, n_test: Optional[int],
                    trials: int, seed: int, model_name: str, no_baseline: bool, target: str, zc_seed: Optional[int],
                    zc_batch_size: Optional[int], zc_data: Optional[str], zc_by_class: bool, quiet: bool,
                    as_json: bool) -> None:
    """Fit and score surrogates over many seeded splits and training sizes; print mean and std."""
    from .progress import Progress
    from .surrogates import study

    sizes = _int_list(n_train)
    bench = open_store(ctx).benchmark(space, dataset, protocol)
    bar = Progress(len(sizes) * trials * len(feature_sets), "surrogate study", enabled=not quiet and not as_json)
    try:
        rows = study(bench, metric, list(feature_sets), n_train=sizes, trials=trials, n_test=n_test, seed=seed,
                     epoch=epoch, model=model_name, baseline=not no_baseline, target=target,
                     progress=lambda done, total: bar.update(), zc_seed=zc_seed, zc_batch_size=zc_batch_size,
                     zc_data=zc_data, zc_by_class=zc_by_class)
    finally:
        bar.close()
    if as_json:
        echo_json(rows)
        return

    def pm(r: dict[str, Any], k: str) -> str:
        m, s = r[f"{k}_mean"], r[f"{k}_std"]
        return "" if m != m else f"{m:.3f}" + ("" if s != s else f" ± {s:.3f}")

    echo_table([dict(features=r["features"], n_train=r["n_train"], n_test=r["n_test"], trials=r["trials"],
                     spearman=pm(r, "spearman"), kendall=pm(r, "kendall"), r2=pm(r, "r2"), top10=pm(r, "top10"),
                     fit_s=r["fit_seconds"]) for r in rows])


@surrogate.command(name="info")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@handle_errors
def surrogate_info(file: str, as_json: bool) -> None:
    """Describe a saved surrogate (reads its JSON header only; nothing is unpickled)."""
    from .surrogates import read_meta

    meta = read_meta(file)
    if as_json:
        echo_json({k: v for k, v in meta.items() if k != "train"} | {"train": {k: v for k, v in meta["train"].items()
                                                                               if k != "indices"}})
        return
    test = meta["metrics"].get("test") or {}
    echo_table([dict(space=meta["space"], dataset=meta["dataset"], metric=f"{meta['metric']}@{meta['epoch']}",
                     features=meta["features"]["spec"], columns=len(meta["features"]["columns"]),
                     n_train=meta["train"]["n"], uncertainty=meta["uncertainty"]["kind"] or "none",
                     sklearn=meta["versions"]["sklearn"], test_spearman=test.get("spearman", float("nan")))])


# --------------------------------------------------------------------------- search
@main.group()
def search() -> None:
    """Search algorithms on tabular benchmarks: run (stored, reproducible), compare, list.

    Single-objective by default (--search-metric, --report-metric); --objectives A,B makes
    it multi-objective (hypervolume against --reference); --where adds constraints.
    """


def _budget_options(fn: Callable) -> Callable:
    fn = click.option("--budget-seconds", type=float, default=None,
                      help="Budget in simulated seconds (the table's train_time; needs curves with times).")(fn)
    fn = click.option("--budget-queries", type=int, default=None, help="Budget in queries (default 300).")(fn)
    return fn


surrogate_option = click.option(
    "--surrogate", default=None, envvar="ZCDB_SURROGATE", metavar="PATH",
    help="Answer the space by this surrogate model file instead of a stored table (nb301: YAHPO Gym's "
         "model_v2.onnx, with its encoding and param set beside it; needs zcdb[onnx]); env ZCDB_SURROGATE.")


def _served_problem(space: str, dataset: str, surrogate: Optional[str], search_metric: str,
                    report_metric: Optional[str], constraints: tuple[str, ...], objectives: Optional[str],
                    fidelities: Optional[str]) -> Any:
    if surrogate is None:
        if fidelities is not None:
            raise ZcdbError("--fidelities picks the epochs a surrogate is asked at: give --surrogate PATH with it")
        return None
    from .search.served import open_served_problem

    return open_served_problem(space, dataset, surrogate, search_metric, report_metric, constraints=constraints,
                               objectives=objectives, epochs=fidelities)


#: Where search runs are computed: local processes, or a Dask cluster (`search` and `study` commands).
workers_option = click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                              help="Processes to split the seeds over (same results as one).")
scheduler_option = click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                                help="Compute missing runs on this Dask scheduler's workers instead (this process "
                                     "alone writes the store; same results).")


def _search_options(fn: Callable) -> Callable:
    for opt in reversed([
        space_option, dataset_option, protocol_option,
        click.option("--search-metric", default="val_acc", show_default=True, help="What the search sees."),
        click.option("--report-metric", default=None,
                     help="What the report shows (default test_acc; with --surrogate, the search metric)."),
        surrogate_option,
        click.option("--fidelities", default=None, metavar="E1,E2,...",
                     help="With --surrogate: the epochs it is asked at (default: its last only); two or more let "
                          "sh and hyperband run, e.g. 1,4,11,33,98."),
        click.option("--seeds", default="0-9", show_default=True, help="Search seeds, e.g. 0-499 or 0,3,7."),
        click.option("--proxies", "proxy_names", default=None,
                     help="Proxy score sets for proxy-aware algorithms: NAME[,NAME] or NAME/SEED/BATCH/DATA."),
        workers_option,
        click.option("--where", "constraints", multiple=True, metavar="EXPR",
                     help="Constraint METRIC OP NUMBER, e.g. 'latency_edgegpu<5' (repeatable): infeasible queries "
                          "are paid but never become the incumbent or join a front."),
        click.option("--objectives", default=None, metavar="A,B[,...]",
                     help="Two or more metrics, each in its own direction: a multi-objective search "
                          "(replaces --search-metric and --report-metric)."),
        click.option("--reference", default=None, metavar="X,Y[,...]",
                     help="Hypervolume reference point, one number per objective in its units "
                          "(default: the worst value of each objective over the feasible architectures)."),
    ]):
        fn = opt(fn)
    return _budget_options(fn)


def _budget(queries: Optional[int], seconds: Optional[float]) -> tuple[Optional[int], Optional[float]]:
    return (300 if queries is None and seconds is None else queries), seconds


@search.command(name="list")
@json_option
@handle_errors
def search_list(as_json: bool) -> None:
    """List the search algorithms with their default settings."""
    from .search.runs import algorithm_table

    rows = algorithm_table()
    if as_json:
        echo_json(rows)
    else:
        echo_table([dict(name=r["name"], objectives=r["objectives"], curves="yes" if r["curves"] else "",
                         proxies="yes" if r["proxies"] else "", summary=r["summary"],
                         settings=" ".join(f"{k}={v}" for k, v in r["config"].items())) for r in rows])


@search.command(name="run")
@click.option("--algo", required=True, help="Algorithm (see `zcdb search list`).")
@_search_options
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. sample_size=5.")
@json_option
@click.pass_context
@handle_errors
def search_run(ctx: click.Context, algo: str, space: str, dataset: str, protocol: Optional[str], search_metric: str,
               report_metric: Optional[str], surrogate: Optional[str], fidelities: Optional[str], seeds: str,
               proxy_names: Optional[str], workers: int,
               constraints: tuple[str, ...], objectives: Optional[str], reference: Optional[str],
               budget_queries: Optional[int], budget_seconds: Optional[float], settings: tuple[str, ...],
               as_json: bool) -> None:
    """Run one algorithm for many seeds; store every run and trajectory (stored runs are reused)."""
    from .search.registry import parse_config
    from .search.runs import run_search

    _check_reference(objectives, reference)
    q, s = _budget(budget_queries, budget_seconds)
    served = _served_problem(space, dataset, surrogate, search_metric, report_metric, constraints, objectives,
                             fidelities)
    report_metric = served.report_metric if served is not None else report_metric or "test_acc"
    res = run_search(open_store(ctx), algo, space, dataset, _parse_seeds(seeds), budget_queries=q, budget_seconds=s,
                     search_metric=search_metric, report_metric=report_metric, protocol=protocol,
                     proxies=proxy_names.split(",") if proxy_names else (), config=parse_config(settings),
                     workers=workers, constraints=constraints, objectives=objectives, reference=reference,
                     problem=served)
    summary = res.summary()
    p = res.problem
    if as_json:
        echo_json(dict(summary, config=res.config, budget_kind=res.budget.kind, budget=res.budget.amount,
                       constraints=list(p.constraints), objectives=list(getattr(p, "objectives", ())),
                       reference=[float(v) for v in getattr(p, "reference", ())]))
        return
    what = (f"final hypervolume of {','.join(p.objectives)} {summary['mean']:.6g} ± {summary['std']:.3g}"
            if objectives else f"final {report_metric} {summary['mean']:.2f} ± {summary['std']:.2f}")
    under = (f" under {' and '.join(p.constraints)} ({100 * summary['found_feasible']:.0f}% of seeds found a feasible "
             "architecture)" if p.constraints else "")
    click.echo(f"{algo} on {space}/{dataset}: {what}{under} over {summary['n']} seeds ({summary['computed']} run, "
               f"{summary['reused']} reused from the store; {res.seconds:.2f} s; config {res.config_hash})")


def _check_reference(objectives: Optional[str], reference: Optional[str]) -> None:
    if reference is not None and objectives is None:
        raise ZcdbError("--reference is the hypervolume's reference point: give --objectives A,B with it")


@search.command(name="compare")
@click.option("--algos", default="all", show_default=True, help="Comma-separated algorithms, or all that apply.")
@click.option("--loops", default=None, metavar="NAME[,NAME]",
              help="Also stored plain-loop runs (zcdb.search.loop, stored as loop:NAME) for the same seeds, metrics "
                   "and budget; NAME@HASH picks one configuration.")
@_search_options
@click.option("--target", type=float, default=None, help="Report value to reach (default: the top 1% of the table).")
@click.option("--set", "settings", multiple=True, metavar="ALGO.KEY=VALUE", help="Override a setting of one algorithm.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write compare.md, compare.csv and anytime.png into this folder.")
@json_option
@click.pass_context
@handle_errors
def search_compare(ctx: click.Context, algos: str, loops: Optional[str], space: str, dataset: str,
                   protocol: Optional[str], search_metric: str, report_metric: Optional[str], surrogate: Optional[str],
                   fidelities: Optional[str], seeds: str, proxy_names: Optional[str], workers: int,
                   constraints: tuple[str, ...], objectives: Optional[str], reference: Optional[str],
                   budget_queries: Optional[int], budget_seconds: Optional[float], target: Optional[float],
                   settings: tuple[str, ...], out: Optional[str], as_json: bool) -> None:
    """Compare algorithms over seeds: final report value (mean, std, 95% CI), gap to the ceiling, regret, time
    to target; with --objectives, hypervolume (mean, std, 95% CI) at the budget and over queries."""
    from .search.mo_report import compare_multiobjective
    from .search.registry import parse_config
    from .search.report import compare_algorithms

    _check_reference(objectives, reference)
    configs: dict[str, dict[str, Any]] = {}
    for item in settings:
        key_part = item.split("=", 1)[0]
        # ALGO.KEY=VALUE; a user's module:Class may hold dots itself, so split at the last dot before '='
        name, dot, rest = (key_part.rpartition(".")[0], ".", item[len(key_part.rpartition(".")[0]) + 1:]) \
            if "." in key_part else (item, "", "")
        if not dot:
            raise ZcdbError(f"bad --set {item!r}: write ALGO.KEY=VALUE, e.g. rea.sample_size=5")
        configs.setdefault(name, {}).update(parse_config([rest]))
    q, s = _budget(budget_queries, budget_seconds)
    names = [a.strip() for a in algos.split(",") if a.strip()]
    served = _served_problem(space, dataset, surrogate, search_metric, report_metric, constraints, objectives,
                             fidelities)
    report_metric = served.report_metric if served is not None else report_metric or "test_acc"
    loop_names = [a.strip() for a in (loops or "").split(",") if a.strip()]
    if objectives is not None:
        if loop_names:
            raise ZcdbError("--loops compares single-objective loops: drop it with --objectives")
        if target is not None:
            raise ZcdbError("--target is a report value for single-objective comparisons: drop it with --objectives")
        mo = compare_multiobjective(open_store(ctx), space, dataset, objectives, names, _parse_seeds(seeds),
                                    budget_queries=q, budget_seconds=s, protocol=protocol, constraints=constraints,
                                    reference=reference, configs=configs, workers=workers)
        files = mo.write(out) if out else []
        if as_json:
            echo_json(dict(mo.to_json(), files=[str(f) for f in files]))
            return
        click.echo(mo.title())
        click.echo(f"reference point {mo.reference_text()}; the table's front: {len(mo.table_front)} architectures, "
                   f"hypervolume {mo.table_hypervolume:.6g}")
        echo_table([dict(algorithm=r["algorithm"], hypervolume=f"{r['mean']:.6g}", std=f"{r['std']:.3g}",
                         ci95=f"[{r['ci_low']:.6g}, {r['ci_high']:.6g}]", share=f"{100 * r['share']:.2f}%",
                         front=f"{r['front_size']:.1f}", cpu_s=f"{r['cpu_seconds']:.2f}", reused=r["reused"])
                    | ({"found_feasible": f"{100 * r['found_feasible']:.0f}%"} if constraints else {})
                    for r in mo.rows])
        for f in files:
            click.echo(f"wrote {f}")
        return
    cmp = compare_algorithms(open_store(ctx), space, dataset, names,
                             _parse_seeds(seeds), budget_queries=q, budget_seconds=s, search_metric=search_metric,
                             report_metric=report_metric, protocol=protocol,
                             proxies=proxy_names.split(",") if proxy_names else (), target=target, configs=configs,
                             workers=workers, constraints=constraints, loops=loop_names, problem=served)
    files = cmp.write(out) if out else []
    if as_json:
        echo_json(dict(cmp.to_json(), files=[str(f) for f in files]))
        return
    click.echo(cmp.title())
    fmt = cmp.fmt
    feasible = "feasible " if constraints else ""
    click.echo(f"{feasible}ceiling {fmt(cmp.ceiling)} (arch {cmp.ceiling_arch}), {feasible}best {fmt(cmp.best)}, "
               f"target {fmt(cmp.target)}")
    timed = any(r["seconds_to_target"] is not None for r in cmp.rows)
    echo_table([dict(algorithm=r["algorithm"], mean=fmt(r["mean"]), std=fmt(r["std"]),
                     ci95=f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]", gap=fmt(r["gap"]), regret=fmt(r["regret"]),
                     to_target=f"{r['queries_to_target']:g} q ({100 * r['reached']:.0f}%)"
                     + (f", {r['seconds_to_target']:.0f} s" if timed else ""),
                     cpu_s=f"{r['cpu_seconds']:.2f}", reused=r["reused"])
                | ({"found_feasible": f"{100 * r['found_feasible']:.0f}%",
                    "infeasible_q": f"{100 * r['infeasible_queries']:.0f}%"} if constraints else {})
                for r in cmp.rows])
    for note in cmp.notes:
        click.echo(f"note: {note}")
    for f in files:
        click.echo(f"wrote {f}")


@search.command(name="runs")
@click.option("--space", default=None, help="Only this space.")
@click.option("--dataset", default=None, help="Only this dataset.")
@json_option
@click.pass_context
@handle_errors
def search_runs(ctx: click.Context, space: Optional[str], dataset: Optional[str], as_json: bool) -> None:
    """List stored search runs, grouped by algorithm configuration, benchmark and budget."""
    from .search.runs import stored_runs

    rows = stored_runs(open_store(ctx), space, dataset)
    echo_rows(rows, as_json)


# --------------------------------------------------------------------------- study
@main.group()
def study() -> None:
    """Cross-benchmark studies: proxies or search algorithms over many benchmarks, with average ranks,
    the Friedman test and a critical-difference diagram; `study run SPEC` reruns one from a spec file."""


def _render_study(st: Any, out: Optional[str], as_json: bool) -> None:
    files = st.write(out) if out else []
    if as_json:
        echo_json(dict(st.to_json(), files=[str(f) for f in files]))
        return
    click.echo(st.summary_text())
    if getattr(st, "runs_computed", 0) or getattr(st, "runs_reused", 0):
        click.echo(f"runs: {st.runs_computed} computed now, {st.runs_reused} read back from the store")
    for f in files:
        click.echo(f"wrote {f}")


@study.command(name="proxies")
@click.option("--benchmarks", default="all", show_default=True,
              help="all (every benchmark with proxy scores) or SPACE/DATASET,...")
@click.option("--proxies", "proxy_names", default="all", show_default=True, help="all or a comma-separated list.")
@click.option("--metric-for", "metric_for", multiple=True, metavar="SPACE/DATASET=METRIC",
              help="Correlate with this metric on that benchmark instead of its main metric (repeatable).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=200, show_default=True,
              help="Bootstrap resamples for the 95% intervals (0: none).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write report.md, report.json, results.csv, heatmap.png and cd.png into this folder.")
@json_option
@click.pass_context
@handle_errors
def study_proxies(ctx: click.Context, benchmarks: str, proxy_names: str, metric_for: tuple[str, ...],
                  bootstrap: int, out: Optional[str], as_json: bool) -> None:
    """Every proxy's Spearman and Kendall with each benchmark's main metric, average ranks, Friedman/Nemenyi."""
    from .study import proxy_study

    _render_study(proxy_study(open_store(ctx), benchmarks, proxy_names, list(metric_for), bootstrap), out, as_json)


@study.command(name="search")
@click.option("--algos", default="all", show_default=True,
              help="Comma-separated algorithms, or all that apply to every benchmark (the others skipped, noted).")
@click.option("--loops", default=None, metavar="NAME[,NAME]",
              help="Also stored plain-loop runs (zcdb.search.loop) on every benchmark, for the same seeds and budget.")
@click.option("--benchmarks", default="all", show_default=True,
              help="all (with --objectives: those storing them) or SPACE/DATASET,...")
@click.option("--seeds", default="0-9", show_default=True, help="Search seeds, the same on every benchmark.")
@click.option("--budget-queries", type=click.IntRange(min=1), default=None, help="Budget in queries (default 100).")
@click.option("--budget-fraction", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Budget as a fraction of each benchmark's searchable architectures (rounded up), e.g. 0.02.")
@click.option("--at", default=None, metavar="B,B,...",
              help="Budgets to rank at, in the budget's unit (e.g. 50,100,300 or 0.005,0.01,0.02): each gets "
                   "average ranks, a Friedman test and a CD diagram (default: the budget).")
@click.option("--objectives", default=None, metavar="A,B[,...]",
              help="A multi-objective study: these metrics on every benchmark, measured by normalized hypervolume.")
@click.option("--proxies", "proxy_names", default=None, metavar="NAME[,NAME]",
              help="Proxy score sets the proxy-aware algorithms read (on the benchmarks that hold them).")
@click.option("--allow-missing", is_flag=True,
              help="Keep algorithms that do not apply to some benchmarks, with empty cells there (ranks use the "
                   "benchmarks where every algorithm ran).")
@click.option("--metric-for", "metric_for", multiple=True, metavar="SPACE/DATASET=METRIC",
              help="Search and report this metric on that benchmark instead of its main metric (repeatable).")
@workers_option
@scheduler_option
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write report.md, report.json, results.csv, anytime.png and the CD diagrams into this folder.")
@json_option
@click.pass_context
@handle_errors
def study_search(ctx: click.Context, algos: str, loops: Optional[str], benchmarks: str, seeds: str,
                 budget_queries: Optional[int],
                 budget_fraction: Optional[float], at: Optional[str], objectives: Optional[str],
                 proxy_names: Optional[str], allow_missing: bool, metric_for: tuple[str, ...], workers: int,
                 scheduler: Optional[str], out: Optional[str], as_json: bool) -> None:
    """Every algorithm on every benchmark with the same seeds (stored runs reused): normalized regret
    (or hypervolume), average ranks and Friedman/Nemenyi at chosen budgets, anytime plot."""
    from .study import search_study

    st = search_study(open_store(ctx), algos, benchmarks, seeds, budget_queries, list(metric_for), workers,
                      budget_fraction=budget_fraction, at=at, objectives=objectives, proxies=proxy_names,
                      allow_missing=allow_missing, scheduler=scheduler, progress=not as_json, loops=loops or ())
    _render_study(st, out, as_json)


@study.command(name="run")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write the report files here (default: the spec's `out`, else none).")
@workers_option
@scheduler_option
@json_option
@click.pass_context
@handle_errors
def study_run(ctx: click.Context, spec: str, out: Optional[str], workers: int, scheduler: Optional[str],
              as_json: bool) -> None:
    """Run the study a spec file (JSON, or TOML by its .toml suffix) describes, or each of its `studies`."""
    from .study import load_spec, run_spec, spec_studies

    doc = load_spec(spec)
    items = spec_studies(doc)
    store = open_store(ctx)
    if len(items) == 1:
        _render_study(run_spec(store, items[0], workers=workers, scheduler=scheduler, progress=not as_json),
                      out or items[0].get("out"), as_json)
        return
    done = []
    for k, item in enumerate(items):
        st = run_spec(store, item, workers=workers, scheduler=scheduler, progress=not as_json)
        where = str(Path(out) / f"{k + 1}-{item.get('kind')}") if out else item.get("out")
        files = st.write(where) if where else []
        if as_json:
            done.append(dict(st.to_json(), files=[str(f) for f in files]))
            continue
        click.echo(f"== study {k + 1} of {len(items)} ({item.get('kind')}){': ' + where if where else ''}")
        _render_study(st, None, False)
        for f in files:
            click.echo(f"wrote {f}")
    if as_json:
        echo_json(done)


# --------------------------------------------------------------------------- examples
#: One or two copy-pasteable examples per command, printed at the end of its --help
#: (``tests/test_cli.py`` checks every command has one that names it).
@main.group()
def served() -> None:
    """Benchmarks answered by a surrogate model on demand (nb301: YAHPO Gym's NAS-Bench-301 model).

    The model file is always yours (--surrogate PATH or ZCDB_SURROGATE); nothing is downloaded.
    """


def _open_served(space: str, surrogate: Optional[str], threads: Optional[int] = None) -> Any:
    from .served import open_served

    return open_served(space, surrogate, threads=threads)


@served.command(name="query")
@space_option
@surrogate_option
@click.option("--metric", required=True, help="Metric, e.g. val_acc.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the model's last).")
@click.argument("archs", nargs=-1, required=True)
@json_option
@handle_errors
def served_query(space: str, surrogate: Optional[str], metric: str, epoch: Optional[int], archs: tuple[str, ...],
                 as_json: bool) -> None:
    """Predict a metric of architectures (official strings, NASLib keys or ids), in one batch."""
    from .served import parse_arch_list

    bench = _open_served(space, surrogate)
    ids = bench.ids(parse_arch_list(archs, bench.search_space))
    values = bench.values(metric, epoch, archs=ids)
    rows = [dict(index=int(i), value=float(v), arch=bench.search_space.string_of(int(i))) for i, v in zip(ids, values)]
    echo_rows(rows, as_json, ["index", "value", "arch"])


@served.command(name="top")
@space_option
@surrogate_option
@click.option("--metric", required=True, help="Metric to rank by, e.g. val_acc.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True, help="How many.")
@click.option("--epoch", type=int, default=None, help="Epoch (default: the model's last).")
@click.option("--sample", "n_sample", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Candidates: this many architectures drawn uniformly by the space.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the candidate sample.")
@json_option
@handle_errors
def served_top(space: str, surrogate: Optional[str], metric: str, k: int, epoch: Optional[int], n_sample: int,
               seed: int, as_json: bool) -> None:
    """The k best of a uniform sample of candidates by a predicted metric (the space cannot be enumerated)."""
    bench = _open_served(space, surrogate)
    rows = [dict(rank=r + 1, index=i, value=v, arch=a)
            for r, (i, a, v) in enumerate(bench.top(metric, k, epoch, archs=bench.sample(n_sample, seed)))]
    echo_rows(rows, as_json, ["rank", "index", "value", "arch"])


EXAMPLES: dict[str, tuple[str, ...]] = {
    "info": ("zcdb info", "zcdb --db my.db info --json"),
    "metrics": ("zcdb metrics", "zcdb metrics --builtin"),
    "spaces": ("zcdb spaces",),
    "import csv": ("zcdb import csv acc.csv --space nb201 --arch-column arch --epoch 200 "
                   "--column c10=cifar10:test_acc",
                   "zcdb import csv robust.csv --space nb201 --arch-column arch --epoch 200 "
                   "--column fgsm=cifar10:robust_fgsm --metric robust_fgsm:max:%"),
    "import naslib-zc": ("zcdb import naslib-zc zc_nasbench201.json",
                         "zcdb import naslib-zc tnb101_micro_zen.zip"),
    "import nb201-pth": ("zcdb import nb201-pth NAS-Bench-201-v1_1-096897.pth",),
    "import nats-tss": ("zcdb import nats-tss NATS-tss-v1_0-3ffb9-simple/",),
    "import nats-sss": ("zcdb import nats-sss NATS-sss-v1_0-50262-simple/ --final-only",),
    "import hw-nas-bench": ("zcdb import hw-nas-bench HW-NAS-Bench-v1_0.pickle",
                            "zcdb import hw-nas-bench hw-nas-bench/   # the three CSV tables"),
    "import nb201-robustness": ("zcdb import nb201-robustness robustness_targets.csv",),
    "import nas-bench-macro": ("zcdb import nas-bench-macro nas-bench-macro_cifar10.json",),
    "import help-latency": ("zcdb import help-latency HELP/data/nasbench201/",),
    "import nasbench-tfrecord": ("zcdb import nasbench-tfrecord nasbench_only108.tfrecord",),
    "import nasbench-vis": ("zcdb import nasbench-vis nasbench-vis_data-1k.json",),
    "import builtin": ("zcdb import builtin --list", "zcdb import builtin nb201-digits"),
    "arch": ("zcdb arch 1459", "zcdb arch 02012100 --space macro --json"),
    "query": ("zcdb query --dataset cifar10 --metric test_acc 1459 "
              "'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'",
              "zcdb query --dataset cifar10 --metric params 1459   # exact count if no row holds it"),
    "top": ("zcdb top --dataset cifar10 --metric test_acc -k 5",
            "zcdb top --dataset cifar10 --metric test_acc --where 'latency_edgegpu<5' --where 'params<=1.0'"),
    "pareto": ("zcdb pareto --dataset cifar10 --objectives test_acc,latency_pixel3 --plot front.png",),
    "export": ("zcdb export --dataset cifar10 --metrics test_acc,params --format csv --out nb201-c10.csv",
               "zcdb export --dataset cifar10 --table proxies --format parquet --out scores.parquet",
               "zcdb export --dataset cifar10 --table trajectories --format jsonl > runs.jsonl",
               "zcdb export --dataset cifar10 --format naslib-zc --out zc_nasbench201.json"),
    "serve": ("zcdb serve --port 8001   # then open the address it prints",),
    "sql wide": ("zcdb sql wide --dataset cifar10 --metrics test_acc,params > wide.sql   # sqlite3 STORE < wide.sql",
                 "zcdb sql wide --dataset cifar10 --create-view   # then: SELECT * FROM wide_nb201_cifar10_200ep"),
    "cost": ("zcdb cost --dataset cifar10 1459", "zcdb cost --space macro --dataset cifar10 00000012 --json"),
    "tabulate": ("zcdb tabulate --dataset digits --protocol digits-v1 --archs unique --seeds 0,1 --workers 2",),
    "proxies list": ("zcdb proxies list",),
    "proxies compute": ("zcdb proxies compute --dataset cifar10 --data cifar10/ --split test --proxies all "
                        "--sample 100 --workers 2",
                        "zcdb proxies compute --dataset digits --proxies nwot,synflow --archs-file unique"),
    "proxies export": ("zcdb proxies export --dataset cifar10 --format csv > scores.csv",),
    "proxies eval": ("zcdb proxies eval --dataset cifar10 --metric test_acc --plot eval.png",
                     "zcdb proxies eval --dataset cifar10 --metric test_acc --where 'latency_edgegpu<5'",
                     "zcdb proxies eval --dataset cifar10 --metric test_acc --by-class"),
    "proxies combine": ("zcdb proxies combine --dataset cifar10 --proxies meco,zen,epe_nas --method log-rank",
                        "zcdb proxies combine --dataset cifar10 --select-on nb201/digits",
                        "zcdb proxies combine --dataset cifar10 --select-sample 100 --select-search exhaustive"),
    "surrogate features": ("zcdb surrogate features", "zcdb surrogate features --json"),
    "surrogate fit": ("zcdb surrogate fit --dataset cifar10 --metric val_acc --n-train 200 --out s.zcs",),
    "surrogate eval": ("zcdb surrogate eval s.zcs",),
    "surrogate study": ("zcdb surrogate study --dataset cifar10 --metric test_acc --features onehot --features onehot,zc --trials 3",),
    "surrogate info": ("zcdb surrogate info s.zcs",),
    "search list": ("zcdb search list",),
    "search run": ("zcdb search run --algo rea --dataset cifar10 --budget-queries 300 --seeds 0-9",
                   "zcdb search run --algo rea --space nb301 --dataset cifar10 --surrogate yahpo_model_v2.onnx "
                   "--budget-seconds 2000000 --seeds 0-9"),
    "search compare": ("zcdb search compare --algos random,rea,bananas --dataset cifar10 --seeds 0-99 "
                       "--budget-queries 300 --out cmp/",
                       "zcdb search compare --space nb301 --dataset cifar10 --surrogate yahpo_model_v2.onnx "
                       "--algos random,rea,local --seeds 0-99 --budget-seconds 2000000 --out nb301-cmp/",
                       "zcdb search compare --algos random,mo-rea --dataset cifar10 "
                       "--objectives test_acc,latency_pixel3 --seeds 0-99 --budget-queries 300",
                       "zcdb search compare --algos random,rea --loops my-random --dataset digits --seeds 0-9 "
                       "--budget-seconds 2000   # beside a plain loop's stored runs"),
    "search runs": ("zcdb search runs --dataset cifar10",),
    "served query": ("zcdb served query --space nb301 --surrogate yahpo_model_v2.onnx --metric val_acc "
                     "\"[[(0,3),(1,3),(1,0),(2,5),(0,3),(1,2),(3,2),(0,0)],[(0,3),(1,3),(1,0),(2,5),(0,3),(1,2),"
                     "(3,2),(0,0)]]\"",
                     "zcdb served query --space nb301 --metric train_time --epoch 50 351726107243905673   "
                     "# ZCDB_SURROGATE set"),
    "served top": ("zcdb served top --space nb301 --surrogate yahpo_model_v2.onnx --metric val_acc "
                   "--sample 100000 -k 5",),
    "study proxies": ("zcdb study proxies --out study-proxies/",
                      "zcdb study proxies --benchmarks nb201/cifar10,macro/cifar10 --proxies synflow,zen,nwot --json"),
    "study search": ("zcdb study search --algos random,rea,local --seeds 0-49 --budget-queries 300 --at 50,100,300 "
                     "--out study-search/",
                     "zcdb study search --algos random,mo-rea,parego --objectives test_acc,latency_edgegpu "
                     "--budget-fraction 0.02 --workers 2",
                     "zcdb study search --algos all --proxies zen --allow-missing --seeds 0-99 --budget-queries 300"),
    "study run": ("zcdb study run docs/study/all.toml", "zcdb study run study.toml --out report/ --workers 2"),
}


def _walk_commands(group: click.Group, prefix: str = "") -> Any:
    for name, cmd in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _walk_commands(cmd, path + " ")
        else:
            yield path, cmd


def _add_examples() -> None:
    for path, cmd in _walk_commands(main):
        lines = EXAMPLES.get(path)
        if lines:
            cmd.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_add_examples()
