"""``device=`` of compute_proxies, compute_and_store, tabulate and the CLI, on a machine without a GPU.

The proxies' CUDA path cannot run here; these tests pin what can be checked on the CPU:
an explicit ``device="cpu"`` equals the default path bit for bit, ``auto`` picks the CPU,
and asking for CUDA without one is a one-line error naming the fix.
"""

from __future__ import annotations

import math

import pytest
import torch

import zcdb
from zcdb.datasets import sample_batch
from zcdb.errors import ZcdbError
from zcdb.proxies import REGISTRY, compute_proxies, resolve_device, stored as runs
from zcdb.proxies.engine import deterministic
from zcdb.spaces import nb201

from .conftest import run_cli as run

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")


def _same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


def test_explicit_cpu_equals_the_default_bit_for_bit():
    batch = sample_batch("digits", None, 16, 0, split="train")
    archs = [int(nb201.sample(1, seed=3)[0])]
    names = list(REGISTRY)  # every proxy: each one's tensors and generators follow the device
    default = compute_proxies(archs, names, "digits", batch, 0)
    other = compute_proxies(archs, names, "digits", batch, 0, device="cpu")
    assert [(r.arch, r.proxy) for r in other] == [(r.arch, r.proxy) for r in default]
    assert all(_same(r.score, d.score) for r, d in zip(other, default))


@no_gpu
def test_auto_picks_the_cpu_here():
    assert resolve_device("auto") == torch.device("cpu")


@no_gpu
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_a_one_line_error_naming_the_fix(device):
    with pytest.raises(ZcdbError, match="no CUDA GPU: use --device cpu") as info:
        compute_proxies([0], ["params"], "digits", None, 0, device=device)
    assert "\n" not in str(info.value)


def test_an_unknown_device_is_refused():
    with pytest.raises(ZcdbError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@no_gpu
def test_cli_cuda_without_a_gpu_fails_in_one_line_and_stores_nothing(tmp_path):
    db = tmp_path / "p.db"
    r = run(db, "proxies", "compute", "--dataset", "digits", "--proxies", "params", "--sample", "2", "--device", "cuda")
    assert r.exit_code == 2 and "no CUDA GPU" in r.output and len(r.output.strip().splitlines()) == 1
    with zcdb.open(db) as s:
        assert s.proxy_runs("nb201", "digits") == []
    r = run(db, "tabulate", "--dataset", "digits", "--protocol", "digits-v1", "--archs", "1", "--device", "cuda")
    assert r.exit_code == 2 and "no CUDA GPU" in r.output


def test_stored_cpu_scores_are_the_same_whatever_the_device_name(tmp_path):
    a, b = zcdb.open(tmp_path / "a.db"), zcdb.open(tmp_path / "b.db")
    archs = [int(x) for x in nb201.sample(2, seed=1)]
    runs.compute_and_store(a, "nb201", "digits", ["params", "nwot"], archs, progress=False)
    runs.compute_and_store(b, "nb201", "digits", ["params", "nwot"], archs, progress=False, device="auto"
                           if not torch.cuda.is_available() else "cpu")
    for p, label in (("params", "none"), ("nwot", "digits:train")):
        assert a.proxy_scores("nb201", "digits", p, 0, 64, label)[1].tolist() == \
            b.proxy_scores("nb201", "digits", p, 0, 64, label)[1].tolist()


def test_deterministic_leaves_the_cudnn_flags_as_they_were():
    cudnn = torch.backends.cudnn
    before = (cudnn.deterministic, cudnn.benchmark)
    with deterministic(torch.device("cpu")):
        assert (cudnn.deterministic, cudnn.benchmark) == before
    with deterministic(torch.device("cuda")):  # only flips flags: runs without a GPU
        assert cudnn.deterministic and not cudnn.benchmark
    assert (cudnn.deterministic, cudnn.benchmark) == before
