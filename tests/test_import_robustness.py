"""`zcdb import nb201-robustness`: Jung et al.'s robustness_targets.csv (real file, and bad fixtures)."""

from __future__ import annotations

import csv
import functools

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile
from zcdb.spaces import nb201
from zcdb.tabular.nb201_robustness import import_nb201_robustness, metric_of, read_robustness

from .conftest import dump, require_shared, run_cli

N = nb201.NUM_ARCHS
HEADER = ["net", "val_accs", "aa_apgd-ce@Linf_eps-0.5", "fgsm@Linf_eps-1.0"]


@pytest.mark.parametrize("column,name", [
    ("fgsm@Linf_eps-1.0", "robust_fgsm_eps1"),
    ("aa_apgd-ce@Linf_eps-0.5", "robust_aa_apgd_ce_eps0p5"),
    ("aa_square@Linf_eps-0.1", "robust_aa_square_eps0p1"),
    ("pgd@Linf_eps-8.0", "robust_pgd_eps8"),
    ("fgsm@Linf_eps-255.0", "robust_fgsm_eps255"),
])
def test_metric_names(column, name):
    spec = metric_of(column)
    assert (spec.name, spec.higher_is_better, spec.unit) == (name, True, "%")
    assert "/255" in spec.description


@functools.lru_cache(maxsize=1)
def _lines() -> tuple[str, ...]:
    rng = np.random.default_rng(0)
    rows = [",".join(HEADER)]
    for i in range(N):
        vals = ",".join(f"{v:.1f}" for v in rng.uniform(0, 95, len(HEADER) - 1))
        rows.append(f'"{nb201.to_naslib(i)}",{vals}')
    return tuple(rows)


def _write(path, edit=None):
    lines = list(_lines())
    if edit is not None:
        edit(lines)
    path.write_text("\n".join(lines) + "\n")


def _set(line_no, text):
    def edit(lines):
        lines[line_no - 1] = text
    return edit


def _value(line_no, col, text):
    def edit(lines):
        key, _, rest = lines[line_no - 1].partition('",')
        vals = rest.split(",")
        vals[col] = text
        lines[line_no - 1] = f'{key}",' + ",".join(vals)
    return edit


def _header(lines):
    lines[0] = lines[0].replace("fgsm@Linf_eps-1.0", "fgsm@L2_eps-1.0")


def _cut(lines):
    del lines[2001:]
    lines[-1] = lines[-1][:12]


@pytest.mark.parametrize("edit,match", [
    (_header, r"unexpected column 'fgsm@L2_eps-1.0': attack columns are ATTACK@Linf_eps-EPS"),
    (_set(5, '"(4, 0, 3, 1, 4)",1,2,3'), r"t.csv:5: net '\(4, 0, 3, 1, 4\)' is not a NASLib op tuple"),
    (_set(6, '"(4, 0, 3, 1, 4, 9)",1,2,3'), r"t.csv:6: a NASLib nb201 tuple must be 6 integers in 0..4"),
    (_value(7, 2, "103.5"), r"t.csv:7: cifar10:robust_fgsm_eps1 .* is 103.5, outside 0..100"),
    (_value(8, 2, "x"), r"t.csv:8: column 'fgsm@Linf_eps-1.0' holds 'x', not a number"),
    (_cut, r"t.csv:2001: malformed CSV \(unexpected end of data; a line cut inside a quoted field\?\)"),
    (lambda lines: lines.__delitem__(slice(3001, None)), r"has 3000 of the 15625 architectures"),
])
def test_bad_file_is_one_line_and_changes_nothing(store, tmp_path, edit, match):
    p = tmp_path / "t.csv"
    _write(p, edit)
    before = dump(store)
    with pytest.raises(CorruptFile, match=match) as err:
        import_nb201_robustness(store, p)
    assert "\n" not in str(err.value)
    assert dump(store) == before


def test_duplicate_row_and_cli(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, lambda lines: lines.__setitem__(10, lines[9]))
    r = run_cli(tmp_path / "s.db", "import", "nb201-robustness", str(p))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "t.csv:11: architecture" in r.output and "appears twice (first on line 10)" in r.output


def test_import_reimport_and_declarations(tmp_path):
    p = tmp_path / "t.csv"
    _write(p)
    with zcdb.open(":memory:") as s:
        assert import_nb201_robustness(s, p).rows == 3 * N
        bench = s.benchmark("nb201", "cifar10")
        assert bench.metrics() == ["robust_aa_apgd_ce_eps0p5", "robust_fgsm_eps1", "val_acc"]
        assert bench.protocol == "200ep" and bench.epochs("robust_fgsm_eps1") == [200]
        line = _lines()[1 + 1234].split('",')
        i = nb201.index_of(nb201.from_naslib([int(x) for x in line[0].strip('"()').split(",")]))
        assert [bench.query(i, m) for m in ("val_acc", "robust_aa_apgd_ce_eps0p5")] == \
            [float(v) for v in line[1].split(",")[:2]]
        spec = s.metric("robust_fgsm_eps1")
        assert spec.higher_is_better and spec.unit == "%" and "eps 1/255" in spec.description
        count = "SELECT COUNT(*), SUM(value) FROM evaluations"
        before = s.conn.execute(count).fetchone()
        assert import_nb201_robustness(s, p).changed == 0
        assert s.conn.execute(count).fetchone() == before


@pytest.mark.shared
def test_real_file():
    """The real file, as the importer reads it (the store writes are tested above: storing its
    15,625 x 33 values takes several seconds)."""
    path = require_shared("nb201", "robustness_targets.csv")
    with open(path) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        picked = [row for k, row in enumerate(reader) if k in (0, 1, 7777, 15624)]
    assert len(header) == 34  # net, val_accs and 32 attack columns
    table = read_robustness(path)
    assert table.values.shape == (N, 33) and np.isfinite(table.values).all()
    names = [m.name for m in table.metrics]
    assert names[0] == "val_acc" and names[1:] == [metric_of(c).name for c in header[2:]]
    assert {"robust_fgsm_eps1", "robust_aa_apgd_ce_eps0p5", "robust_fgsm_eps255", "robust_pgd_eps8",
            "robust_aa_square_eps0p1"} <= set(names)
    assert all(m.higher_is_better and m.unit == "%" for m in table.metrics)
    for row in picked:
        i = nb201.index_of(nb201.from_naslib([int(x) for x in row[0].strip("()").split(",")]))
        assert table.values[i].tolist() == [float(v) for v in row[1:]]
    # val_accs is NAS-Bench-201's cifar10-valid validation accuracy: NASLib's table, value for value
    with open(require_shared("nb201", "naslib_val_accuracy_200ep.csv")) as fh:
        naslib = np.array([float(r["cifar10"]) for r in csv.DictReader(fh)])
    np.testing.assert_array_equal(table.values[:, 0], naslib)
