"""Strict import targets: a dataset the space does not know needs --new-dataset; an epoch must lie in its protocol.

Every importer adds rows through ``ImportBatch.add_evaluations`` / ``add_proxy_scores`` /
``add_aliases``, which run the one check (``ImportBatch.check_dataset`` and ``check_epoch``);
the last tests make sure no importer writes past them.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest

from zcdb.errors import UnknownDataset, ZcdbError
from zcdb.spaces import get_space, nb201
from zcdb.tabular import importers
from zcdb.tabular.csv_table import import_csv
from zcdb.tabular.naslib_zc import import_naslib_zc

from .conftest import dump, run_cli

A, B = nb201.string_of(10), nb201.string_of(20)


def write_csv(path: Path, rows=((A, 91.5), (B, 88.25))) -> Path:
    path.write_text("arch,acc\n" + "".join(f"{a},{v}\n" for a, v in rows))
    return path


@pytest.fixture
def db(tmp_path):
    """A store file holding one cifar10 import (so that refusals have something to leave unchanged)."""
    path = tmp_path / "strict.db"
    res = run_cli(path, "import", "csv", str(write_csv(tmp_path / "a.csv")), "--space", "nb201",
                  "--arch-column", "arch", "--epoch", "200", "--column", "acc=cifar10:test_acc")
    assert res.exit_code == 0, res.output
    return path


def snapshot(path):
    import zcdb

    with zcdb.open(path) as s:
        return dump(s)


@pytest.mark.parametrize("dataset,hint", [("cifar-10", "did you mean cifar10?"), ("CIFAR100", "did you mean cifar100?"),
                                          ("imagenet", ""), ("svhn", "")])
def test_an_unknown_dataset_is_refused_in_one_line(db, tmp_path, dataset, hint):
    before = snapshot(db)
    res = run_cli(db, "import", "csv", str(write_csv(tmp_path / "b.csv")), "--space", "nb201",
                  "--arch-column", "arch", "--epoch", "200", "--column", f"acc={dataset}:test_acc")
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"space nb201 has no dataset {dataset!r}" in line and hint in line
    for known in get_space("nb201").known_datasets():
        assert known in line
    assert "--new-dataset" in line
    assert snapshot(db) == before


def test_new_dataset_flag_then_the_store_knows_it(db, tmp_path):
    csv = write_csv(tmp_path / "b.csv")
    res = run_cli(db, "import", "csv", str(csv), "--space", "nb201", "--arch-column", "arch", "--epoch", "200",
                  "--column", "acc=my-cifar:test_acc", "--new-dataset")
    assert res.exit_code == 0, res.output
    # a later import into it needs no flag: the store holds it now
    res = run_cli(db, "import", "csv", str(csv), "--space", "nb201", "--arch-column", "arch", "--epoch", "200",
                  "--column", "acc=my-cifar:val_acc")
    assert res.exit_code == 0, res.output
    res = run_cli(db, "query", "--dataset", "my-cifar", "--metric", "val_acc", A, "--json")
    assert res.exit_code == 0 and "91.5" in res.output
    # ... but only for that space
    macro = write_csv(tmp_path / "m.csv", rows=(("00000000", 90.0), ("00000001", 91.0)))
    res = run_cli(db, "import", "csv", str(macro), "--space", "macro", "--arch-column", "arch",
                  "--epoch", "50", "--column", "acc=my-cifar:test_acc")
    assert res.exit_code == 2 and "space macro has no dataset 'my-cifar'" in res.output


def test_api_keyword(store, tmp_path):
    csv = write_csv(tmp_path / "b.csv")
    with pytest.raises(UnknownDataset, match="new_dataset=True"):
        import_csv(store, csv, "nb201", "arch", {"acc": ("cifar-10", "test_acc")}, epoch=200)
    assert store.benchmark_rows() == []
    import_csv(store, csv, "nb201", "arch", {"acc": ("cifar-10", "test_acc")}, epoch=200, new_dataset=True)
    assert store.benchmark("nb201", "cifar-10").query(A, "test_acc") == 91.5
    for add in ("add_evaluations", "add_proxy_scores", "add_aliases"):
        before = dump(store)
        with pytest.raises(UnknownDataset, match="space nb201 has no dataset 'toy'"):
            with store.importing("t", "test") as batch:
                args = {"add_evaluations": ("nb201", "toy", "200ep", "test_acc", 200, -1, [0], [1.0]),
                        "add_proxy_scores": ("nb201", "toy", "nwot", 0, 64, "none", [0], [1.0], [0.0]),
                        "add_aliases": ("nb201", "toy", "200ep", [1], [0])}[add]
                getattr(batch, add)(*args)
        assert dump(store) == before


def test_naslib_zc_dataset_is_checked(store, tmp_path):
    p = tmp_path / "flat.json"
    p.write_text(json.dumps({nb201.string_of(5): {"nwot": 700.5, "val_accuracy": 88.0}}))
    before = dump(store)
    with pytest.raises(UnknownDataset, match="'cifar-100'.*did you mean cifar100"):
        import_naslib_zc(store, p, dataset="cifar-100")
    assert dump(store) == before
    import_naslib_zc(store, p, dataset="cifar100")
    res_db = tmp_path / "n.db"
    res = run_cli(res_db, "import", "naslib-zc", str(p), "--dataset", "cifar-100")
    assert res.exit_code == 2 and "--new-dataset" in res.output
    res = run_cli(res_db, "import", "naslib-zc", str(p), "--dataset", "cifar-100", "--new-dataset")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args,span", [
    (["--epoch", "201"], "0..200"),
    (["--epoch", "13", "--protocol", "12ep"], "0..12"),
    (["--epoch", "-1"], "0..200"),
])
def test_an_epoch_outside_the_protocol_is_refused(db, tmp_path, args, span):
    before = snapshot(db)
    res = run_cli(db, "import", "csv", str(write_csv(tmp_path / "b.csv")), "--space", "nb201",
                  "--arch-column", "arch", "--column", "acc=cifar10:test_acc", *args)
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and f"range {span}" in line and "--epoch" in line
    assert snapshot(db) == before


def test_epoch_ranges_of_each_kind_of_protocol(store):
    cases = [("nb201", "cifar10", "200ep", 200), ("nb201", "cifar10", "12ep", 12), ("nats-sss", "cifar10", "01ep", 1),
             ("macro", "cifar10", "50ep", 50), ("nb101", "cifar10", "nasbench", 108),
             ("tnb101-micro", "jigsaw", "tnb101", 10), ("tnb101-macro", "normal", "tnb101", 30),
             ("nb201", "digits", "digits-v1", 12)]
    for space, dataset, protocol, last in cases:
        with store.importing("ok", "test") as batch:
            batch.add_evaluations(space, dataset, protocol, "val_acc", last, -1, [0], [50.0])
        with pytest.raises(ZcdbError, match=f"outside protocol {protocol}'s range 0..{last}"):
            with store.importing("bad", "test") as batch:
                batch.add_evaluations(space, dataset, protocol, "val_acc", last + 1, -1, [0], [50.0])
    # a protocol zcdb does not know has no upper bound, only a lower one; its stored recipe gives one
    with store.importing("own", "test") as batch:
        batch.add_evaluations("nb201", "cifar10", "my-recipe", "val_acc", 5000, -1, [0], [50.0])
    with pytest.raises(ZcdbError, match="range 0 or more"):
        with store.importing("own", "test") as batch:
            batch.add_evaluations("nb201", "cifar10", "my-recipe", "val_acc", -3, -1, [0], [50.0])
    with pytest.raises(ZcdbError, match="outside protocol short's range 0..4"):
        with store.importing("own", "test") as batch:
            batch.add_protocol("short", json.dumps({"epochs": 4}))
            batch.add_evaluations("nb201", "cifar10", "short", "val_acc", 5, -1, [0], [50.0])


# --------------------------------------------------------------------------- one check for every importer
def test_no_importer_writes_past_the_batch():
    """Importers (and the modules they are built from) reach the store only through ImportBatch's add_* methods,
    which check: no SQL of their own."""
    folder = Path(inspect.getsourcefile(importers)).parent
    modules = sorted(folder.glob("*.py"))
    assert {Path(inspect.getsourcefile(fn)).name for fn in importers().values()} <= {m.name for m in modules}
    for m in modules:
        src = m.read_text()
        assert not re.search(r"\b(INSERT|UPDATE|DELETE)\b|\.conn\b|executemany", src), m.name


def test_official_importers_meet_the_check(store, tmp_path, monkeypatch):
    """Format-true files of the official importers fail when the check is made to know no dataset:
    their rows do pass it (with the real lists they import, as their own tests show)."""
    pytest.importorskip("nas_201_api")
    pytest.importorskip("nats_bench")
    from zcdb.tabular.fixtures import write_nats_tss, write_nb201_pth

    table = {"cifar10": {"test_acc": [90.0, 80.0]}}
    pth = write_nb201_pth(tmp_path / "a.pth", table, indices=[0, 1], epochs=3, less_epochs=2)
    tss = write_nats_tss(tmp_path / "tss", table, indices=[0, 1], epochs=3, less_epochs=2)
    sp = get_space("nb201")
    monkeypatch.setattr(type(sp), "datasets", ())
    monkeypatch.setattr(type(sp), "benchmark_datasets", ())
    for name, path in (("nb201-pth", pth), ("nats-tss", tss)):
        with pytest.raises(UnknownDataset, match="--new-dataset"):
            importers()[name](store, path)
    assert store.benchmark_rows() == []
    monkeypatch.undo()
    assert importers()["nb201-pth"](store, pth).rows > 0
    assert np.isfinite(store.benchmark("nb201", "cifar10", "200ep").query(0, "test_acc"))
