"""`zcdb import hw-nas-bench` on the CSV form (hw_nas_bench_<dataset>.csv, a file or a folder) and HELP's latencies.

Synthetic tables (every architecture, official strings, random costs) test the bad cases: each
fails in one line and leaves the store as it was. The real tables and HELP's real files are
imported once into one store (module fixture) that the shared-data tests read.
"""

from __future__ import annotations

import csv
import functools
import pickle
import zipfile

import numpy as np
import pytest

import zcdb
from zcdb.errors import CorruptFile, ImportConflict
from zcdb.spaces import nb201
from zcdb.tabular.help_latency import _values, import_help_latency, load_pt, metric_names
from zcdb.tabular.hw_nas_bench import METRICS, _read_csvs, import_hw_nas_bench

from .conftest import dump, require_shared, run_cli

N = nb201.NUM_ARCHS


def hw_table(seed: int = 0) -> np.ndarray:
    """Random positive costs, (N, 10) in METRICS order, printed as HW-NAS-Bench's CSVs do (8 digits)."""
    return np.round(np.random.default_rng(seed).uniform(0.1, 60.0, (N, len(METRICS))), 5)


@functools.lru_cache(maxsize=2)
def _hw_lines(seed: int) -> tuple[str, ...]:
    strings = nb201.all_strings()
    table = hw_table(seed)
    lines = ["index,arch," + ",".join(METRICS)]
    return tuple(lines + [f"{i},{strings[i]}," + ",".join(f"{v:.8g}" for v in table[i]) for i in range(N)])


def write_hw_csv(path, seed=0, edit=None) -> None:
    """A format-true hw_nas_bench_<dataset>.csv; ``edit(lines)`` may damage its text lines first."""
    lines = list(_hw_lines(seed))
    if edit is not None:
        edit(lines)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("hwcsv")
    write_hw_csv(d / "hw_nas_bench_cifar10.csv")
    return d / "hw_nas_bench_cifar10.csv"


def _cut_line(lines):  # a download that stopped inside line 3001
    del lines[3001:]
    lines[-1] = lines[-1][: len(lines[-1]) // 2]


def _cut_rows(lines):  # ... or at the end of line 3001
    del lines[3001:]


def _bad_number(lines):
    lines[7] = lines[7].rsplit(",", 1)[0] + ",5.8x"


def _wrong_arch(lines):
    a, b = lines[3].split(",", 2), lines[4].split(",", 2)
    lines[3] = ",".join([a[0], b[1], a[2]])


def _duplicate(lines):
    lines[9] = lines[8]


def _missing_column(lines):
    lines[0] = lines[0].replace("pixel3_latency", "pixel3")


def _empty_cell(lines):
    lines[12] = lines[12].rsplit(",", 1)[0] + ","


@pytest.mark.parametrize("edit,match", [
    (_cut_line, r"hw_nas_bench_cifar10.csv:3001: \d+ fields where the header has 12"),
    (_cut_rows, r"has 3000 of the 15625 architectures \(architecture \d+ is missing\): the file is truncated"),
    (_bad_number, r"hw_nas_bench_cifar10.csv:8: column 'fpga_energy' holds '5.8x', not a number"),
    (_wrong_arch, r"hw_nas_bench_cifar10.csv:4: architecture 2 is '\|.*', not the official"),
    (_duplicate, r"hw_nas_bench_cifar10.csv:10: architecture 7 appears twice \(first on line 9\)"),
    (_missing_column, r"has no column 'pixel3_latency'"),
    (_empty_cell, r"hw_nas_bench_cifar10.csv:13: column 'fpga_energy' is empty"),
])
def test_malformed_csv_is_one_line_and_changes_nothing(store, tmp_path, edit, match):
    path = tmp_path / "hw_nas_bench_cifar10.csv"
    write_hw_csv(path, edit=edit)
    before = dump(store)
    with pytest.raises(CorruptFile, match=match) as err:
        import_hw_nas_bench(store, path)
    assert "\n" not in str(err.value)
    assert dump(store) == before


def test_a_bad_file_in_a_folder_fails_the_whole_import(store, tmp_path, good):
    d = tmp_path / "tables"
    d.mkdir()
    (d / good.name).write_bytes(good.read_bytes())  # read first: sorted, cifar10 comes before cifar100
    write_hw_csv(d / "hw_nas_bench_cifar100.csv", 1, _wrong_arch)
    before = dump(store)
    with pytest.raises(CorruptFile, match="hw_nas_bench_cifar100.csv:4: architecture 2 is") as err:
        import_hw_nas_bench(store, d)
    assert "\n" not in str(err.value)
    assert dump(store) == before


def test_folder_and_file_names(store, tmp_path):
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(CorruptFile, match="is a directory without hw_nas_bench_<dataset>.csv"):
        import_hw_nas_bench(store, tmp_path)
    odd = tmp_path / "hw_nas_bench_svhn.csv"
    odd.write_text("index,arch\n")
    with pytest.raises(CorruptFile, match="cannot tell the dataset from the file name"):
        import_hw_nas_bench(store, odd)
    empty = tmp_path / "hw_nas_bench_cifar100.csv"
    empty.write_text("")
    with pytest.raises(CorruptFile, match="is empty"):
        import_hw_nas_bench(store, empty)
    assert store.info()["benchmarks"] == []


# --------------------------------------------------------------------------- HELP
def write_pt(path, obj) -> None:
    """What ``torch.save(obj, path)`` writes for plain data: a zip with archive/data.pkl (protocol 2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        z.writestr("archive/version", "3\n")


def help_folder(root, devices=("titan_rtx_1", "titan_rtx_32"), seed=0):
    """Two devices: floats, and whole milliseconds as ints (as HELP's phone files hold)."""
    rng = np.random.default_rng(seed)
    write_pt(root / "str_arch2idx.pt", {s: i for i, s in enumerate(nb201.all_strings())})
    lat = {}
    for d in devices:
        lat[d] = rng.uniform(1.0, 30.0, N).tolist() if d != "titan_rtx_32" else rng.integers(3, 40, N).tolist()
        write_pt(root / "latency" / f"{d}.pt", lat[d])
    return lat


def test_help_names_devices_and_batch_sizes():
    stems = ["titan_rtx_1", "titan_rtx_32", "titan_rtx_256", "gold_6226", "gold_6240", "essential_ph_1", "pixel3"]
    names = {s: m.name for s, m in metric_names(stems).items()}
    assert names == {"titan_rtx_1": "latency_titan_rtx_bs1", "titan_rtx_32": "latency_titan_rtx_bs32",
                     "titan_rtx_256": "latency_titan_rtx_bs256", "gold_6226": "latency_gold_6226",
                     "gold_6240": "latency_gold_6240", "essential_ph_1": "latency_essential_ph_1",
                     "pixel3": "latency_pixel3"}


def test_help_import_reimport_and_dataset(tmp_path):
    lat = help_folder(tmp_path / "nasbench201")
    db = tmp_path / "help.db"
    # the folder above nasbench201/ works too
    r = run_cli(db, "import", "help-latency", str(tmp_path), "--dataset", "cifar100", "--json")
    assert r.exit_code == 0 and '"rows": 31250' in r.output, r.output
    with zcdb.open(db) as s:
        bench = s.benchmark("nb201", "cifar100")
        assert bench.metrics() == ["latency_titan_rtx_bs1", "latency_titan_rtx_bs32"]
        np.testing.assert_array_equal(bench.values("latency_titan_rtx_bs1"), lat["titan_rtx_1"])
        np.testing.assert_array_equal(bench.values("latency_titan_rtx_bs32"), lat["titan_rtx_32"])  # ints
        assert bench.metric_spec("latency_titan_rtx_bs32").unit == "ms"
        assert not bench.higher_is_better("latency_titan_rtx_bs1")
        count = "SELECT COUNT(*), SUM(value) FROM evaluations"
        before = s.conn.execute(count).fetchone()
        assert import_help_latency(s, tmp_path / "nasbench201", dataset="cifar100").changed == 0
        assert s.conn.execute(count).fetchone() == before


def _system_gadget(marker):
    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    return Payload()


@pytest.mark.parametrize("damage,match", [
    ("gadget", r"fpga.pt holds a pickled \w+\.system, which is not benchmark data"),
    ("index", r"str_arch2idx.pt maps '\|avg_pool_3x3~0\|.* to 1, not to its official index 0"),
    ("short", r"titan_rtx_1.pt must hold a list of 15625 latencies by architecture index, got 10 values"),
    ("text", r"titan_rtx_32.pt: the latency of architecture 3 must be a number, got 'fast'"),
    ("cut", r"titan_rtx_1.pt is not a zip-format torch.save file"),
    ("tensor", r"fpga.pt is truncated or holds more than a plain list"),
])
def test_tampered_or_damaged_help_file_is_one_line_and_stores_nothing(tmp_path, damage, match):
    root = tmp_path / "nasbench201"
    help_folder(root)
    marker = tmp_path / "ran"
    if damage == "gadget":
        write_pt(root / "latency" / "fpga.pt", [1.0] * 5 + [_system_gadget(marker)] + [1.0] * (N - 6))
    elif damage == "index":
        write_pt(root / "str_arch2idx.pt", {s: (i + 1) % N for i, s in enumerate(nb201.all_strings())})
    elif damage == "short":
        write_pt(root / "latency" / "titan_rtx_1.pt", [1.0] * 10)
    elif damage == "text":
        write_pt(root / "latency" / "titan_rtx_32.pt", [1.0, 2.0, 3.0, "fast"] + [1.0] * (N - 4))
    elif damage == "cut":
        p = root / "latency" / "titan_rtx_1.pt"
        p.write_bytes(p.read_bytes()[:-200])
    else:  # a tensor's storage is a persistent id (BINPERSID), which plain data never needs
        (root / "latency").mkdir(exist_ok=True)
        with zipfile.ZipFile(root / "latency" / "fpga.pt", "w") as z:
            z.writestr("archive/data.pkl", b"\x80\x02X\x01\x00\x00\x000Q.")
    with zcdb.open(":memory:") as s:
        before = dump(s)
        with pytest.raises(CorruptFile, match=match) as err:
            import_help_latency(s, root)
        assert "\n" not in str(err.value)
        assert dump(s) == before
    assert not marker.exists()
    r = run_cli(tmp_path / "cli.db", "import", "help-latency", str(root))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


# --------------------------------------------------------------------------- the real files
HELP_SUBSET = ("fpga", "pixel3", "titan_rtx_1", "titan_rtx_256")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A store holding the real cifar10 table and then HELP's real fpga, pixel3 and two Titan RTX files
    (all 27 would add 23 x 15,625 rows and seconds of writing; every one is read below)."""
    hw = require_shared("hw-nas-bench", "hw_nas_bench_cifar10.csv")
    src = require_shared("help-latency", "nasbench201")
    root = tmp_path_factory.mktemp("help") / "nasbench201"
    (root / "latency").mkdir(parents=True)
    (root / "str_arch2idx.pt").symlink_to(src / "str_arch2idx.pt")
    for d in HELP_SUBSET:
        (root / "latency" / f"{d}.pt").symlink_to(src / "latency" / f"{d}.pt")
    s = zcdb.open(":memory:")
    hw_batch = import_hw_nas_bench(s, hw)
    help_batch = import_help_latency(s, root)
    yield s, hw_batch, help_batch
    s.close()


def _csv_columns(dataset):
    """The table's ten value columns, read by numpy (independently of the importer)."""
    path = require_shared("hw-nas-bench", f"hw_nas_bench_{dataset}.csv")
    with open(path) as fh:
        header = next(csv.reader(fh))
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(2, 12))
    idx = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, dtype=np.int64)
    assert idx.tolist() == list(range(N))
    return {k: table[:, header.index(k) - 2] for k in METRICS}


@pytest.mark.shared
def test_real_tables_all_ten_columns(real):
    s, batch, _ = real
    assert batch.rows == 10 * N and not batch.warnings
    bench = s.benchmark("nb201", "cifar10")
    cols = _csv_columns("cifar10")
    for key, metric in METRICS.items():
        np.testing.assert_array_equal(bench.values(metric), cols[key], err_msg=key)
    spec = s.metric("arithmetic_intensity_eyeriss")
    assert spec.higher_is_better and spec.unit == "ops/byte"
    # the first row of the table, as printed there
    assert (bench.query(0, "latency_edgegpu"), bench.query(0, "arithmetic_intensity_eyeriss")) == (5.8074185, 6.2892976)


@pytest.mark.shared
def test_real_folder_reads_the_other_tables(tmp_path):
    """The folder form on the real cifar100 and ImageNet16-120 tables (read, not stored: see above for a
    stored table); their first and last rows as the csv module reads them."""
    for dataset in ("cifar100", "ImageNet16-120"):
        (tmp_path / f"hw_nas_bench_{dataset}.csv").symlink_to(require_shared("hw-nas-bench",
                                                                            f"hw_nas_bench_{dataset}.csv"))
    columns, _, warnings = _read_csvs(tmp_path, allow_missing=False)
    assert not warnings and sorted({d for d, _ in columns}) == ["ImageNet16-120", "cifar100"]
    for dataset in ("cifar100", "ImageNet16-120"):
        with open(tmp_path / f"hw_nas_bench_{dataset}.csv") as fh:
            rows = list(csv.DictReader(fh))
        for row in (rows[0], rows[-1]):
            i = int(row["index"])
            assert {k: columns[(dataset, m)][i] for k, m in METRICS.items()} == {k: float(row[k]) for k in METRICS}


@pytest.mark.shared
def test_real_help_every_device_file(real):
    files = sorted(require_shared("help-latency", "nasbench201", "latency").glob("*.pt"))
    assert len(files) == 27
    names = metric_names([f.stem for f in files])
    assert len({m.name for m in names.values()}) == 27
    assert {"latency_titan_rtx_bs256", "latency_1080ti_bs1", "latency_gold_6226", "latency_essential_ph_1",
            "latency_pixel2", "latency_samsung_a50"} <= {m.name for m in names.values()}
    for f in files:  # what the importer reads of each: a list of 15,625 finite latencies
        lat = _values(f, load_pt(f), N)
        assert np.isfinite(lat).all() and lat.min() > 0, f.name
    bench = real[0].benchmark("nb201", "cifar10")
    assert {names[d].name for d in HELP_SUBSET} <= set(bench.metrics())


@pytest.mark.shared
def test_real_help_fpga_and_pixel3_equal_hw_nas_bench(real):
    s, _, batch = real
    assert batch.rows == len(HELP_SUBSET) * N
    src = require_shared("help-latency", "nasbench201", "latency")
    hw = _csv_columns("cifar10")
    fpga = np.array(load_pt(src / "fpga.pt"), dtype=float)
    pixel3 = np.array(load_pt(src / "pixel3.pt"), dtype=float)
    np.testing.assert_array_equal(fpga, hw["fpga_latency"])  # bit for bit
    # pixel3: the CSV holds HELP's doubles as text with at most 8 digits; equal, or one double ulp
    # apart where the double needs more digits than the text (3.6058499999999998 for 3.60585)
    assert np.all(np.abs(pixel3 - hw["pixel3_latency"]) <= np.spacing(pixel3))
    # so the store kept HW-NAS-Bench's values where HELP's agree to 8 digits, and counted them
    bench = s.benchmark("nb201", "cifar10")
    np.testing.assert_array_equal(bench.values("latency_pixel3"), hw["pixel3_latency"])
    np.testing.assert_array_equal(bench.values("latency_titan_rtx_bs256"),
                                  np.array(load_pt(src / "titan_rtx_256.pt"), dtype=float))
    assert batch.kept_as_stored >= int((pixel3 != hw["pixel3_latency"]).sum()) > 0


@pytest.mark.shared
def test_real_help_differing_values_still_conflict(real, tmp_path):
    """Agreement to 8 digits is not a licence: a value changed past it is a conflict, as before."""
    s = real[0]
    root = tmp_path / "nasbench201"
    src = require_shared("help-latency", "nasbench201")
    (root / "latency").mkdir(parents=True)
    (root / "str_arch2idx.pt").symlink_to(src / "str_arch2idx.pt")
    fpga = load_pt(src / "latency" / "fpga.pt")
    fpga[5] *= 1.001
    write_pt(root / "latency" / "fpga.pt", fpga)
    before = s.conn.execute("SELECT COUNT(*), SUM(value) FROM evaluations").fetchone()
    with pytest.raises(ImportConflict, match="would change 1 values"):
        import_help_latency(s, root)
    assert s.conn.execute("SELECT COUNT(*), SUM(value) FROM evaluations").fetchone() == before
