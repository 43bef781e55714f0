"""The `zcdb` command line: thin commands, --json everywhere, one-line errors with exit status 2."""

from __future__ import annotations

import json

import click
import pytest

import zcdb
from click.testing import CliRunner

from zcdb.cli import main
from zcdb.spaces import nb201

from .conftest import require_shared, run_cli as run


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path,cmd", list(_commands(main)), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help(path, cmd):
    assert cmd.help and cmd.help.strip(), f"zcdb {' '.join(path)} lacks help text"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.db")


def _small_csv(tmp_path):
    p = tmp_path / "t.csv"
    lines = ["arch,acc"] + [f"{nb201.string_of(i)},{50 + i}" for i in range(10)]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_import_query_top_info(db, tmp_path):
    p = _small_csv(tmp_path)
    r = run(db, "import", "csv", str(p), "--space", "nb201", "--arch-column", "arch",
            "--column", "acc=cifar10:test_acc", "--epoch", "200", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["changed"] == 10
    r = run(db, "query", "--dataset", "cifar10", "--metric", "test_acc", "3", nb201.string_of(4), "--json")
    assert [row["value"] for row in json.loads(r.output)] == [53.0, 54.0]
    r = run(db, "top", "--dataset", "cifar10", "--metric", "test_acc", "-k", "2", "--json")
    assert [row["index"] for row in json.loads(r.output)] == [9, 8]
    r = run(db, "top", "--dataset", "cifar10", "--metric", "test_acc", "-k", "1")
    assert nb201.string_of(9) in r.output
    r = run(db, "info", "--json")
    info = json.loads(r.output)
    assert info["benchmarks"][0]["metrics"]["test_acc"]["archs"] == 10
    assert "test_acc" in run(db, "info").output


@pytest.mark.parametrize("args,match", [
    (["query", "--dataset", "cifar10", "--metric", "test_acc", "0"], "import one first"),
    (["top", "--dataset", "cifar10", "--metric", "test_acc"], "import one first"),
    (["import", "csv", "/nonexistent.csv", "--space", "nb201", "--arch-column", "a", "--column", "a=c:test_acc",
      "--epoch", "1"], "no such file"),
    (["import", "csv", "x.csv", "--space", "nb999", "--arch-column", "a", "--column", "a=c:test_acc"], "unknown space"),
    (["import", "naslib-zc", "/nonexistent.json"], "no such file"),
])
def test_errors_on_empty_store(db, args, match):
    zcdb.open(db).close()  # an existing, empty store (a missing one is its own error, below)
    r = run(db, *args)
    assert r.exit_code == 2
    assert match in r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args,match", [
    (["query", "--dataset", "cifar10", "--metric", "test_acc", "|bad|"], "malformed nb201"),
    (["query", "--dataset", "cifar10", "--metric", "test_acc", "99999"], "out of range"),
    (["query", "--dataset", "mnist", "--metric", "test_acc", "0"], "stored datasets are cifar10"),
    (["query", "--dataset", "cifar10", "--metric", "val_acc", "0"], "stored metrics are test_acc"),
    (["top", "--dataset", "cifar10", "--metric", "Acc"], "invalid metric name"),
    (["top", "--dataset", "cifar10", "--metric", "acc"], "has no 'acc': stored metrics are test_acc"),
])
def test_errors_name_the_fix(db, tmp_path, args, match):
    run(db, "import", "csv", str(_small_csv(tmp_path)), "--space", "nb201", "--arch-column", "arch",
        "--column", "acc=cifar10:test_acc", "--epoch", "200")
    r = run(db, *args)
    assert r.exit_code == 2, r.output
    assert match in r.output and len(r.output.strip().splitlines()) == 1


def test_corrupt_db_file(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    r = CliRunner().invoke(main, ["--db", str(bad), "info"])
    assert r.exit_code == 2 and "not a zcdb database" in r.output


@pytest.mark.shared
def test_top_names_the_94_37_architecture(db):
    path = require_shared("nb201", "nats_tss_test_accuracy_200ep.csv")
    r = run(db, "import", "csv", str(path), "--space", "nb201", "--arch-column", "ArchitectureString",
            "--column", "CIFAR10TestAccuracy200Epochs=cifar10:test_acc", "--epoch", "200")
    assert r.exit_code == 0, r.output
    r = run(db, "top", "--space", "nb201", "--dataset", "cifar10", "--metric", "test_acc", "-k", "1", "--json")
    (row,) = json.loads(r.output)
    assert round(row["value"], 2) == 94.37
    assert row["arch"] == nb201.string_of(row["index"])


def test_import_official_formats_through_the_cli(db, tmp_path):
    from zcdb.tabular.fixtures import write_nb201_pth

    table = {"cifar10-valid": {"val_acc": [80.0, 85.0, 90.0]}, "cifar10": {"test_acc": [81.0, 86.0, 91.0]}}
    pth = write_nb201_pth(tmp_path / "NAS-Bench-201-mini.pth", table, indices=[3, 5, 8], epochs=4, less_epochs=2)
    r = run(db, "import", "nb201-pth", str(pth), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["changed"] > 0
    r = run(db, "query", "--dataset", "cifar10", "--metric", "test_acc", "8", "--json")
    assert json.loads(r.output)[0]["value"] == pytest.approx(91.0)
    r = run(db, "query", "--dataset", "cifar10-valid", "--metric", "val_acc", "--epoch", "2", "--protocol", "12ep",
            "5", "--json")
    assert r.exit_code == 0, r.output
    assert run(db, "import", "nb201-pth", str(pth), "--json").output.count('"changed": 0') == 1
    bad = tmp_path / "bad.pth"
    bad.write_bytes(pth.read_bytes()[:1000])
    r = run(db, "import", "nb201-pth", str(bad))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    for cmd in ("nats-tss", "nats-sss", "hw-nas-bench"):
        r = run(db, "import", cmd, str(tmp_path / "missing"))
        assert r.exit_code == 2 and "Traceback" not in r.output


def test_metrics_lists_declared_and_builtin(db, tmp_path):
    r = run(db, "import", "csv", str(_small_csv(tmp_path)), "--space", "nb201", "--arch-column", "arch",
            "--column", "acc=cifar10:robust_fgsm", "--epoch", "200", "--metric", "robust_fgsm:max:%:FGSM accuracy")
    assert r.exit_code == 0, r.output
    rows = json.loads(run(db, "metrics", "--json").output)
    assert rows == [dict(metric="robust_fgsm", direction="max", unit="%", benchmarks=1, where="nb201/cifar10",
                         description="FGSM accuracy")]
    builtin = {r["metric"]: r for r in json.loads(run(db, "metrics", "--builtin", "--json").output)}
    assert builtin["flops"]["direction"] == "min" and builtin["latency_<device>"]["unit"] == "ms"
    info = json.loads(run(db, "info", "--json").output)
    assert info["benchmarks"][0]["metrics"]["robust_fgsm"]["direction"] == "max"


@pytest.mark.parametrize("args", [["info"], ["metrics"], ["top", "--dataset", "cifar10", "--metric", "test_acc"],
                                  ["query", "--dataset", "cifar10", "--metric", "test_acc", "0"],
                                  ["proxies", "eval", "--dataset", "cifar10"]])
def test_reading_commands_do_not_create_a_store(tmp_path, args):
    db = tmp_path / "missing.db"
    r = run(db, *args)
    assert r.exit_code == 2 and f"no store at {db}: import something first" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and not db.exists()


def test_writing_commands_create_the_store(tmp_path):
    db = tmp_path / "new" / "s.db"
    r = run(db, "import", "csv", str(_small_csv(tmp_path)), "--space", "nb201", "--arch-column", "arch",
            "--column", "acc=cifar10:test_acc", "--epoch", "200")
    assert r.exit_code == 0 and db.exists(), r.output


def test_every_command_help_ends_with_an_example_of_itself():
    from zcdb.cli import _walk_commands

    missing = []
    for path, cmd in _walk_commands(main):
        r = CliRunner().invoke(main, [*path.split(), "--help"])
        tail = r.output.split("Examples:")[-1] if "Examples:" in r.output else ""
        if r.exit_code != 0 or f"zcdb {path}" not in tail:
            missing.append(path)
    assert not missing, f"commands without an example in their help: {missing}"


def test_every_example_parses_against_its_command():
    import shlex

    from zcdb.cli import EXAMPLES, _walk_commands

    cmds = dict(_walk_commands(main))
    assert set(EXAMPLES) == set(cmds)
    for path, lines in EXAMPLES.items():
        for line in lines:
            words = shlex.split(line.split(" #")[0].split(" > ")[0])
            assert words[0] == "zcdb"
            words = words[1:]
            if words[:1] == ["--db"]:
                words = words[2:]
            n = len(path.split())
            assert " ".join(words[:n]) == path, line
            cmds[path].make_context(path, words[n:])  # unknown options or missing required ones raise


def test_db_after_the_subcommand(tmp_path):
    db = tmp_path / "late.db"
    r = CliRunner().invoke(main, ["import", "csv", str(_small_csv(tmp_path)), "--space", "nb201", "--arch-column",
                                  "arch", "--column", "acc=cifar10:test_acc", "--epoch", "200", "--db", str(db)])
    assert r.exit_code == 0 and db.exists(), r.output
    r = CliRunner().invoke(main, ["top", "--dataset", "cifar10", f"--db={db}", "--metric", "test_acc", "-k", "1",
                                  "--json"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["value"] == 59.0, r.output


def test_a_repeated_dataset_or_space_is_an_error(db, tmp_path):
    r = run(db, "top", "--dataset", "cifar10", "--dataset", "cifar100", "--metric", "test_acc")
    assert r.exit_code == 2 and "given 2 times (cifar10, cifar100): give it once" in r.output
    r = run(db, "cost", "--space", "nb201", "--space", "macro", "--dataset", "cifar10", "0")
    assert r.exit_code == 2 and "'--space': given 2 times" in r.output


def test_combine_choice_lists_are_the_registries_keys():
    """The CLI keeps its imports lazy, so it spells the choices of `proxies combine`; they must stay the registries'."""
    from zcdb.cli import proxies_combine
    from zcdb.proxies.combine import METHODS
    from zcdb.proxies.ensemble import SEARCHES

    choices = {p.name: sorted(p.type.choices) for p in proxies_combine.params if isinstance(p.type, click.Choice)}
    assert choices["method"] == sorted(METHODS)
    assert choices["select_search"] == sorted(SEARCHES)
