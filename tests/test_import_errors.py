"""Every importer error says what to do (issue 11, item 9).

A broad set of bad inputs goes through ``zcdb import ...``; each must exit with status 2,
print exactly one line on stderr and no traceback, leave the store as it was, and name the
fix. The convention, which the messages follow: ``problem: what to do``, i.e. after a ``:``
(or ``;`` / ``,`` within the fix) comes an imperative from :data:`FIX_VERBS`, or the line
names a backticked ``zcdb`` command.
"""

from __future__ import annotations

import json
import re

import pytest

import zcdb
from zcdb.spaces import nb201

from .conftest import dump, run_cli

FIX_VERBS = ("pass", "give", "use", "check", "fix", "correct", "write", "keep", "fill", "save", "name", "export",
             "re-export", "re-download", "reinstall", "run", "import", "remove", "end", "ask", "choose", "install",
             "upgrade", "move")
FIX = re.compile(r"[:;,] (?:or |and |then )?(?:" + "|".join(map(re.escape, FIX_VERBS)) + r")\b|`zcdb [^`]+`")

# architectures the store does not hold: a bad value must fail on its own, not as a conflict
A0, A1 = nb201.string_of(9), nb201.string_of(10)
COL = ("--column", "acc=cifar10:test_acc")


def _csv_case(text, *extra, encoding="utf-8"):
    return ("csv", text.encode(encoding) if isinstance(text, str) else text, extra)


CSV_CASES = {
    "empty file": _csv_case(""),
    "header, no rows": _csv_case("arch,acc\n"),
    "no arch column": _csv_case(f"name,acc\n{A0},50\n"),
    "no value column": _csv_case(f"arch,accuracy\n{A0},50\n"),
    "too few fields": _csv_case(f"arch,acc,x\n{A0},50,1\n{A1},60\n"),
    "too many fields": _csv_case(f"arch,acc\n{A0},50\n{A1},60,7\n"),
    "malformed arch": _csv_case("arch,acc\n|nor_conv_3x3~0|,50\n"),
    "unknown op": _csv_case("arch,acc\n" + A0.replace(A0.split("|")[1].split("~")[0], "conv_7x7", 1) + ",50\n"),
    "index out of range": _csv_case("arch,acc\n99999,50\n"),
    "superscript index": _csv_case("arch,acc\n²,50\n"),
    "5000-digit index": _csv_case("arch,acc\n" + "1" * 5000 + ",50\n"),
    "not a number": _csv_case(f"arch,acc\n{A0},abc\n"),
    "underscore number": _csv_case(f"arch,acc\n{A0},9_4.1\n"),
    "empty cell": _csv_case(f"arch,acc\n{A0},50\n{A1},\n"),
    "nan": _csv_case(f"arch,acc\n{A0},nan\n"),
    "inf": _csv_case(f"arch,acc\n{A0},inf\n"),
    "1e400": _csv_case(f"arch,acc\n{A0},1e400\n"),
    "accuracy -5": _csv_case(f"arch,acc\n{A0},-5\n"),
    "accuracy 150": _csv_case(f"arch,acc\n{A0},150\n"),
    "duplicate arch": _csv_case(f"arch,acc\n{A0},50\n{A0},51\n"),
    "duplicate by index": _csv_case(f"arch,acc\n{A0},50\n{nb201.index_of(A0)},50\n"),
    "unterminated quote": _csv_case(f'arch,acc\n{A0},"50\n'),
    "stray quote": _csv_case(f'arch,acc\n{A0},"5"0\n'),
    "NUL byte": _csv_case(f"arch,acc\n{A0},5\x000\n"),
    "not UTF-8": _csv_case(b"arch,acc\n\xff\xfe,50\n"),
    "UTF-16": _csv_case(f"arch,acc\n{A0},50\n", encoding="utf-16"),
    "bad column spec": ("csv", f"arch,acc\n{A0},50\n".encode(), ("--column", "acc")),
    "bad metric": ("csv", f"arch,acc\n{A0},50\n".encode(), ("--column", "acc=cifar10:accuracy")),
    "no epoch": ("csv", f"arch,acc\n{A0},50\n".encode(), ("--column", "acc=cifar10:test_acc", "--no-epoch")),
    "unknown space": ("csv", f"arch,acc\n{A0},50\n".encode(), ("--space", "nb999")),
    "changed value": _csv_case(f"arch,acc\n{nb201.string_of(0)},51\n"),
}


def _zc(obj):
    return obj if isinstance(obj, bytes) else json.dumps(obj).encode() if not isinstance(obj, str) else obj.encode()


K0 = str(nb201.to_naslib(9))
NASLIB_CASES = {
    "not JSON": _zc("not json"),
    "truncated": _zc('{"cifar10": {"(0, 1, 2, 3, 4, 0)": {"synflow": {"score": 1.'),
    "a list": _zc([1, 2]),
    "empty object": _zc({}),
    "bad arch key": _zc({"cifar10": {"(9, 9)": {"synflow": 1.0}}}),
    "op out of range": _zc({"cifar10": {"(0, 1, 2, 3, 4, 9)": {"synflow": 1.0}}}),
    "malformed arch": _zc({"cifar10": {"|x~0|": {"synflow": 1.0}}}),
    "record not an object": _zc({"cifar10": {K0: [1, 2]}}),
    "no score": _zc({"cifar10": {K0: {"synflow": {"time": 1.0}}}}),
    "score a string": _zc({"cifar10": {K0: {"synflow": {"score": "high"}}}}),
    "score a bool": _zc({"cifar10": {K0: {"synflow": True}}}),
    "score a list": _zc({"cifar10": {K0: {"synflow": {"score": [1]}}}}),
    "time a string": _zc({"cifar10": {K0: {"synflow": {"score": 1.0, "time": "1s"}}}}),
    "huge score": _zc('{"cifar10": {"%s": {"synflow": %s}}}' % (K0, "9" * 401)),
    "huge time": _zc('{"cifar10": {"%s": {"synflow": {"score": 1, "time": %s}}}}' % (K0, "9" * 401)),
    "val_accuracy 150": _zc({"cifar10": {K0: {"synflow": 1.0, "val_accuracy": 150}}}),
    "val_accuracy -5": _zc({"cifar10": {K0: {"synflow": 1.0, "val_accuracy": -5}}}),
    "val_accuracy NaN": _zc('{"cifar10": {"%s": {"synflow": 1.0, "val_accuracy": NaN}}}' % K0),
    "val_accuracy a string": _zc({"cifar10": {K0: {"val_accuracy": "80%"}}}),
    "params Infinity": _zc('{"cifar10": {"%s": {"params": {"score": Infinity, "time": 0}}}}' % K0),
    "deep nesting": _zc("[" * 100_000 + "]" * 100_000),
    "not UTF-8": b'{"cifar10": {"\xff": 1}}',
    "changed score": _zc({"cifar10": {str(nb201.to_naslib(i)): {"synflow": {"score": 99.0, "time": 0.1}}
                                      for i in range(3)}}),
}


def _official_cases(tmp_path):
    """Damaged files for the other importers: (command, path)."""
    d = tmp_path / "official"
    d.mkdir()
    (d / "text.pth").write_text("not a torch file")
    (d / "cut.pth").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (d / "text.pickle").write_text("not a pickle")
    (d / "cut.pickle").write_bytes(b"\x80\x04\x95")
    (d / "nats-file").write_text("a file, not a folder")
    (d / "nats-empty").mkdir()
    return [("nb201-pth", d / "text.pth"), ("nb201-pth", d / "cut.pth"), ("nb201-pth", d / "missing.pth"),
            ("nb201-pth", d), ("hw-nas-bench", d / "text.pickle"), ("hw-nas-bench", d / "cut.pickle"),
            ("hw-nas-bench", d), ("nats-tss", d / "nats-file"), ("nats-tss", d / "nats-empty"),
            ("nats-tss", d / "missing"), ("nats-sss", d / "nats-file"), ("nats-sss", d / "nats-empty"),
            ("nats-sss", d / "missing")]


@pytest.fixture
def db(tmp_path):
    """A store with cifar10 test_acc and NASLib synflow scores of architectures 0..2."""
    d = tmp_path / "s.db"
    p = tmp_path / "good.csv"
    p.write_text("arch,acc\n" + "".join(f"{nb201.string_of(i)},{50 + i}\n" for i in range(3)))
    assert run_cli(d, "import", "csv", str(p), "--space", "nb201", "--arch-column", "arch", *COL,
                   "--epoch", "200").exit_code == 0
    z = tmp_path / "good.json"
    z.write_text(json.dumps({"cifar10": {str(nb201.to_naslib(i)): {"synflow": {"score": float(i), "time": 0.1}}
                                         for i in range(3)}}))
    assert run_cli(d, "import", "naslib-zc", str(z)).exit_code == 0
    return d


def _snapshot(db):
    with zcdb.open(db) as s:
        return dump(s)


def assert_clean_error(result, before, db):
    """Exit 2, one line on stderr naming a fix, no traceback, the store unchanged."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: ")
    message = line[len("Error: "):]
    assert FIX.search(message), f"no fix named in: {message}"
    assert _snapshot(db) == before


@pytest.mark.parametrize("case", CSV_CASES, ids=list(CSV_CASES))
def test_csv_errors_name_the_fix(db, tmp_path, case):
    _, data, extra = CSV_CASES[case]
    p = tmp_path / "bad.csv"
    p.write_bytes(data)
    args = {"--space": "nb201", "--arch-column": "arch", "--epoch": "200"}
    extra = list(extra)
    if "--no-epoch" in extra:
        extra.remove("--no-epoch")
        del args["--epoch"]
    if "--space" in extra:
        args["--space"] = extra[extra.index("--space") + 1]
        del extra[extra.index("--space"):extra.index("--space") + 2]
    if "--column" not in extra:
        extra = [*COL, *extra]
    before = _snapshot(db)
    flat = [x for kv in args.items() for x in kv]
    assert_clean_error(run_cli(db, "import", "csv", str(p), *flat, *extra), before, db)


def test_csv_missing_file_names_the_fix(db, tmp_path):
    before = _snapshot(db)
    for path in (tmp_path / "missing.csv", tmp_path):
        assert_clean_error(run_cli(db, "import", "csv", str(path), "--space", "nb201", "--arch-column", "arch", *COL,
                                   "--epoch", "200"), before, db)


@pytest.mark.parametrize("case", NASLIB_CASES, ids=list(NASLIB_CASES))
def test_naslib_zc_errors_name_the_fix(db, tmp_path, case):
    p = tmp_path / "zc_bad.json"
    p.write_bytes(NASLIB_CASES[case])
    before = _snapshot(db)
    assert_clean_error(run_cli(db, "import", "naslib-zc", str(p)), before, db)


def test_naslib_zc_missing_file_and_dataset(db, tmp_path):
    before = _snapshot(db)
    assert_clean_error(run_cli(db, "import", "naslib-zc", str(tmp_path / "missing.json")), before, db)
    p = tmp_path / "zc.json"
    p.write_text(json.dumps({"cifar10": {K0: {"synflow": 1.0}}}))
    assert_clean_error(run_cli(db, "import", "naslib-zc", str(p), "--dataset", "cifar100"), before, db)


def test_official_format_errors_name_the_fix(db, tmp_path):
    before = _snapshot(db)
    for command, path in _official_cases(tmp_path):
        assert_clean_error(run_cli(db, "import", command, str(path)), before, db)
    assert_clean_error(run_cli(db, "import", "builtin", "nope"), before, db)


def test_nats_archive_of_the_other_space_names_the_fix(db, tmp_path):
    """The likeliest mix-up: a topology archive given to nats-sss, a size archive to nats-tss."""
    from zcdb.tabular.fixtures import write_nats_sss, write_nats_tss

    tss = write_nats_tss(tmp_path / "NATS-tss-v1_0-3ffb9-simple", {"cifar10": {"test_acc": [90.0]}}, indices=[9],
                         epochs=2, less_epochs=1)
    sss = write_nats_sss(tmp_path / "NATS-sss-v1_0-50262-simple", {"cifar10": {"test_acc": [90.0]}}, indices=[9],
                         schedules={"01": (1, (777,), 0.5), "12": (2, (777,), 0.9), "90": (3, (777,), 1.0)})
    before = _snapshot(db)
    for command, path, fix in (("nats-sss", tss, "pass the NATS-sss-v1_0-50262-simple directory"),
                               ("nats-tss", sss, "pass the NATS-tss-v1_0-3ffb9-simple directory")):
        r = run_cli(db, "import", command, str(path))
        assert_clean_error(r, before, db)
        assert "'meta_archs' must list" in r.stderr and fix in r.stderr
