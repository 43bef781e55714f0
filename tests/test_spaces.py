"""The search-space interface: every registered space keeps the checklist of docs/spaces.md,
and no generic module names a concrete space."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zcdb.errors import MissingCapability, UnknownArch, ZcdbError
from zcdb.spaces import DEFAULT_SPACE, SPACES, SearchSpace, get_space

REPO = Path(__file__).resolve().parent.parent
NAMES = list(SPACES)
#: The checklist's enumeration items apply to spaces with a size (nb301's own tests cover it).
ENUMERABLE = [n for n in NAMES if SPACES[n].size is not None]


@pytest.fixture(params=ENUMERABLE)
def space(request) -> SearchSpace:
    return SPACES[request.param]


def test_registry_holds_instances_by_name():
    assert {"nb201", "macro", "nats-sss", "tnb101-micro", "tnb101-macro", "nb101", "nb301"} <= set(SPACES) and DEFAULT_SPACE in SPACES
    for name, sp in SPACES.items():
        assert isinstance(sp, SearchSpace) and sp.name == name and get_space(name) is sp
    with pytest.raises(ZcdbError, match="unknown space 'nb999': use one of nb201, macro, nats-sss, tnb101-micro, "
                                        "tnb101-macro, nb101"):
        get_space("nb999")


@pytest.mark.parametrize("name", NAMES)
def test_a_store_without_the_spaces_benchmark_names_its_importers(name, tmp_path):
    import zcdb
    from zcdb.errors import EmptyStore
    from zcdb.tabular import importers

    sp = SPACES[name]
    assert sp.importers and set(sp.importers) <= set(importers())
    with zcdb.open(tmp_path / "s.db") as s:
        with pytest.raises(EmptyStore, match=f"holds no {name} benchmark: import one first, e.g. `zcdb import "
                                             f"{sp.importers[0]} ...`") as e:
            s.benchmark(name, "cifar10")
    assert "\n" not in str(e.value)


def test_arch_text_is_the_official_string_or_an_index(space):
    """What a command line or a file gives: the space's string wins over digits read as an index
    (macro's codes are digits: ``00000012`` is index 5, not 12)."""
    from zcdb.spaces import parse_arch_text

    for i in (0, 5, 12, space.size - 1):
        s = space.string_of(i)
        assert space.index_of(parse_arch_text(f" {s} ", space)) == i
        assert space.index_of(parse_arch_text(str(i), space)) == i
    assert parse_arch_text("00000012") == 12  # without the space: an index, as before


@pytest.mark.parametrize("text, says", [
    ("0000001", "leading zero"),  # a code one digit short is not index 1
    ("000000012", "leading zero"),  # one digit long is not index 12
    ("00000013", "leading zero"),  # a 3 is not a block
    ("22222223", "out of range 0..6560"),
    ("1000000", "out of range 0..6560"),
])
def test_a_mistyped_macro_code_is_refused_not_read_as_an_index(text, says):
    from zcdb.errors import UnknownArch
    from zcdb.spaces import get_space, parse_arch_text

    with pytest.raises(UnknownArch, match=f"malformed macro architecture '{text}'.*{says}") as e:
        parse_arch_text(text, get_space("macro"))
    assert "\n" not in str(e.value)


def test_a_macro_index_written_as_an_index_is_still_one():
    from zcdb.spaces import get_space, parse_arch_text

    assert parse_arch_text("12", get_space("macro")) == 12
    assert parse_arch_text("0", get_space("macro")) == 0


def test_importing_the_spaces_reads_no_file_and_imports_no_torch():
    code = ("import sys, builtins; opened = []; real = builtins.open\n"
            "builtins.open = lambda *a, **k: (opened.append(a[0]), real(*a, **k))[1]\n"
            "import zcdb.spaces as s; [sp.name for sp in s.SPACES.values()]\n"
            "assert 'torch' not in sys.modules, 'torch imported'; assert not opened, opened")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_space_module_is_imported_when_its_space_is_first_asked_for():
    """The registry names every space, but `import zcdb.cli` (every command's start) imports none of
    their modules; asking for one imports that one."""
    code = ("import sys; import zcdb.cli, zcdb.spaces as s\n"
            "mods = [m for m in sys.modules if m.startswith('zcdb.spaces.') and m not in ('zcdb.spaces.base', 'zcdb.spaces._radix')]\n"
            "assert not mods, mods; assert set(s.SPACES) >= {'nb201', 'nb301'} and 'nb301' in s.SPACES\n"
            "s.get_space('nb301'); assert 'zcdb.spaces.nb301' in sys.modules and 'zcdb.spaces.nb101' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_round_trips_on_every_architecture(space):
    strings = space.all_strings()
    assert len(strings) == space.size and len(set(strings)) == space.size
    ops = space.ops_matrix()
    assert ops.shape == (space.size, len(space.positions)) and not ops.flags.writeable
    assert len(space.choices) == len(space.positions)
    for k, names in enumerate(space.choices):
        assert ops[:, k].min() == 0 and ops[:, k].max() == len(names) - 1
    step = max(1, space.size // 2000)
    for i in range(0, space.size, step):
        s = strings[i]
        assert space.index_of(s) == i and space.string_of(i) == s
        assert space.format_arch(space.parse(s)) == s
        assert space.ops_of(i) == tuple(int(v) for v in ops[i])
    assert space.index_map()[strings[-1]] == space.size - 1


def test_index_dtype_sampling_and_neighbours(space):
    assert np.iinfo(space.index_dtype).max >= space.size - 1
    a, b = space.sample(50, seed=3), space.sample(50, seed=3)
    assert np.array_equal(a, b) and len(set(a.tolist())) == 50 and a.max() < space.size
    rows = space.neighbour_rows(a)
    assert rows.shape == (a.size, space.neighbour_width) and (rows >= -1).all()
    for k, i in enumerate(a[:10].tolist()):
        nb = space.neighbours(i)
        assert nb and i not in nb and all(0 <= j < space.size for j in nb)
        assert rows[k][rows[k] >= 0].tolist() == nb
        if space.product:  # elsewhere a move is checked by the space's own tests (pruning, isomorphism)
            diff = (space.ops_matrix()[nb] != space.ops_matrix()[i]).sum(axis=1)
            assert (diff == 1).all()


def test_onehot_has_a_column_per_choice(space):
    idx = space.sample(20, seed=0)
    cols, X = space.encode(idx, "onehot")
    assert len(cols) == X.shape[1] == sum(len(c) for c in space.choices)
    assert (X.sum(axis=1) == len(space.positions)).all()
    with pytest.raises(MissingCapability, match="has no 'bogus' encoding"):
        space.encode(idx, "bogus")


def test_representatives_are_the_smallest_of_their_class(space):
    rep = space.representatives()
    assert rep.shape == (space.size,) and (rep <= np.arange(space.size)).all()
    for i in space.sample(200, seed=1).tolist():
        assert space.canonical(i) == space.canonical(int(rep[i]))
        assert rep[int(rep[i])] == rep[i]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), ints=st.lists(st.one_of(st.integers(-3, 70), st.booleans(), st.floats(),
                                                         st.text(max_size=2)), max_size=9))
def test_odd_input_only_ever_raises_unknown_arch(text, ints):
    for sp in SPACES.values():
        for arch in (text, tuple(ints), ints):
            try:
                i = sp.index_of(arch)
            except UnknownArch:
                continue
            assert 0 <= i < (sp.size if sp.size is not None else 2**63) and isinstance(i, int)
        try:
            sp.parse(text)
        except UnknownArch:
            pass


#: A chain 0 -> 1 -> ... -> 6 and edges from the input to 2..5: 10 edges, all on input-output paths.
NB101_TEN_EDGES = [[int(j == i + 1 or (i == 0 and 2 <= j <= 5)) for j in range(7)] for i in range(7)]


@pytest.mark.parametrize("name,bad", [("nb201", (True,) * 6), ("macro", "0201210"), ("macro", "0201210x"),
                                      ("macro", "02012²00"), ("nats-sss", "64:64:64:64:65"),
                                      ("nats-sss", "64:64:64:64"), ("nats-sss", (64.0,) * 5),
                                      ("nb101", "0" * 64 + "|" + ",".join(["input"] + ["maxpool3x3"] * 6 + ["output"])),
                                      ("nb101", (NB101_TEN_EDGES, ["input"] + ["maxpool3x3"] * 5 + ["output"])),
                                      ("nb101", "011001000|input,conv5x5-bn-relu,output"),
                                      ("nb101", "011101000|input,conv3x3-bn-relu,output"),
                                      ("nb101", "0123456789abcdef0123456789abcdef")])
def test_bad_architectures_are_one_line_errors(name, bad):
    with pytest.raises(UnknownArch) as e:
        get_space(name).index_of(bad)
    assert "\n" not in str(e.value)


def test_missing_capabilities_name_the_space():
    with pytest.raises(MissingCapability, match="space macro has no network for dataset ImageNet16-120"):
        get_space("macro").network(0, "ImageNet16-120")
    with pytest.raises(MissingCapability, match="space macro has no cost counter for dataset digits"):
        get_space("macro").cost(0, "digits")
    with pytest.raises(ZcdbError, match="unknown dataset 'mnist'"):
        get_space("nats-sss").cost(0, "mnist")


@pytest.mark.parametrize("name,dataset,shape", [("nb201", "cifar10", (2, 3, 32, 32)),
                                                ("macro", "cifar10", (2, 3, 32, 32)),
                                                ("nats-sss", "ImageNet16-120", (2, 3, 16, 16)),
                                                ("nb101", "cifar10", (2, 3, 32, 32))])
def test_networks_give_logits_and_their_params_match_the_cost(name, dataset, shape):
    import torch

    sp = get_space(name)
    arch = int(sp.sample(1, seed=7)[0])
    net = sp.network(arch, dataset)
    with torch.no_grad():
        out = net(torch.zeros(shape))
    from zcdb.datasets import DATASETS

    classes = {"cifar10": 10, "ImageNet16-120": 120}[dataset]
    assert out.shape == (2, classes) and DATASETS[dataset].num_classes == classes
    params = sum(p.numel() for p in net.parameters())
    assert params / 1e6 == pytest.approx(sp.cost(arch, dataset)[0], abs=1e-12)
    p_table, f_table = sp.cost_table(dataset)
    assert (p_table[arch], f_table[arch]) == pytest.approx(sp.cost(arch, dataset))


# Generic modules ask the space; only a space's own modules, importers of one space's
# official files and registries of data about one space (tabular/protocols.py's recipes,
# tabular/builtin.py's shipped tables) may name it.
_GENERIC = ["zcdb/store.py", "zcdb/cli.py", "zcdb/study.py", "zcdb/ranking.py", "zcdb/parallel.py", "zcdb/datasets.py", "zcdb/search", "proxies",
            "surrogates", "tabular/tabulate.py", "tabular/builtin.py", "tabular/csv_table.py",
            "tabular/naslib_zc.py", "tabular/__init__.py", "tabular/_arch_results.py", "tabular/_nats_fast.py"]
_SPACE_NAMES = r"nb201|macro|nats-sss|tnb101-micro|tnb101-macro|nb101|nb301"
_NAMES = re.compile(r"""(import\s+(nb201|macro|nats_sss|nb101|nb301|tnb101_\w+)\b|spaces\.(nb201|macro|nats_sss|nb101|nb301|tnb101_\w+)\b|"""
                    r"""build_nb201|==\s*["'](""" + _SPACE_NAMES + r""")["']|["'](""" + _SPACE_NAMES
                    + r""")["']\s*[:,)\]]|NUM_ARCHS)""")
#: An importer's name may be its space's (``nats-sss`` reads that space's official files): the
#: importer registry and the CLI's importer commands list it as an importer, not as a space.
_IMPORTER_NAME = re.compile(r"""_file_importer\("[\w-]+"|"[\w-]+": import_\w+|"import [\w-]+"|zcdb import [\w-]+""")


def test_no_generic_module_names_a_concrete_space():
    offenders = []
    for entry in _GENERIC:
        p = REPO / entry
        for f in ([p] if p.is_file() else sorted(p.rglob("*.py"))):
            for k, line in enumerate(f.read_text().splitlines(), 1):
                code = _IMPORTER_NAME.sub("", line.split("#")[0])
                if _NAMES.search(code) and '"""' not in code and "e.g." not in code:
                    offenders.append(f"{f.relative_to(REPO)}:{k}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_cli_lists_one_line_per_space(tmp_path):
    import json

    from .conftest import run_cli

    r = run_cli(tmp_path / "s.db", "spaces", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["space"] for x in rows] == list(SPACES)
    assert {x["space"]: x["size"] for x in rows} == {n: sp.size for n, sp in SPACES.items()}
    r = run_cli(tmp_path / "s.db", "spaces")
    assert len(r.output.strip().splitlines()) == 1 + len(SPACES)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=8).flatmap(
    lambda radix: st.tuples(st.just(radix), st.tuples(*[st.integers(0, r - 1) for r in radix]))))
def test_mixed_radix_codes_round_trip(case):
    """The product spaces' codes (zcdb.spaces._radix): first position slowest, one digit per position."""
    from zcdb.spaces import _radix

    radix, digits = case
    place = _radix.powers(radix)
    assert place[-1] == 1 and all(place[k] == place[k + 1] * radix[k + 1] for k in range(len(radix) - 1))
    c = int(np.dot(digits, place))
    assert 0 <= c < int(np.prod(radix))
    assert tuple(_radix.digit_matrix(np.array([c]), place, radix)[0].tolist()) == digits
    if len(set(radix)) == 1:  # one base for all positions
        assert _radix.code(digits, radix[0]) == c and _radix.decode(c, radix[0], len(radix)) == digits
