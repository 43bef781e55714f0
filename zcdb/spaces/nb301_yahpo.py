"""YAHPO Gym's NAS-Bench-301 surrogate (Pfisterer et al., AutoML 2022), served through onnxruntime.

YAHPO Gym ships, per scenario, an ONNX network and the files that say how to feed it:
``encoding_v2.json`` (each categorical hyperparameter's levels -> integer codes, ``#na#``
for an inactive one), ``config_space_v2.json`` (the ConfigSpace) and ``param_set_v2.R``
(the same space in R: its ``ParamFct`` entries list the 34 categoricals in the order
YAHPO's ``nb301`` scenario feeds them, its ``ParamInt`` the fidelity ``epoch`` 1..98, its
``codomain`` the outputs). ``BenchmarkSet.objective_function`` sends ``x_cat``, the integer
codes in that order (int32, ``(n, 34)``), and ``x_cont``, the raw epoch (float32, ``(n, 1)``):
scaling of the epoch and de-normalisation of the outputs happen inside the ONNX graph, and
output columns are YAHPO's ``y_names`` in order: ``val_accuracy`` (0..1),
``val_cross_entropy``, ``runtime`` (seconds of training up to the epoch) and
``runtime_increase`` (not in the param set's codomain; not served).

A DARTS genotype becomes a YAHPO configuration as NAS-Bench-301's own converter does: in
each cell, node ``k`` (0..3) owns edges ``start_k + input`` with ``start = 0, 2, 5, 9``
(``edge_normal_<e>`` = the op of the edge from that input), and nodes 1..3 name their two
inputs, sorted, as ``inputs_node_<cell>_<k+2>`` = ``"a_b"``. Every other edge is inactive.

zcdb serves the outputs in its own vocabulary: ``val_acc`` (percent: 100 x
``val_accuracy``), ``val_loss`` (``val_cross_entropy``) and ``train_time`` (``runtime``, s).
Nothing here runs at import; onnxruntime is imported when a model is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import CorruptFile, UnknownArch, ZcdbError
from ..metrics import MetricSpec

#: What YAHPO's hyperparameter names start with (ConfigSpace's ``NetworkSelectorDatasetInfo:darts:``).
PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
#: First edge of each intermediate node in NAS-Bench-301's per-cell edge numbering (node k has k + 2 inputs).
EDGE_START = (0, 2, 5, 9)
CELLS = ("normal", "reduce")
#: The ONNX inputs and outputs of YAHPO's nb301 model (BenchmarkSet feeds inputs by position).
N_CAT = 34
OUTPUT_NAMES = ("val_accuracy", "val_cross_entropy", "runtime", "runtime_increase")
#: zcdb metric <- (YAHPO output column, scale).
SERVED = {"val_acc": (0, 100.0), "val_loss": (1, 1.0), "train_time": (2, 1.0)}
METRICS = {
    "val_acc": MetricSpec("val_acc", True, "%", "YAHPO Gym NAS-Bench-301 surrogate: validation accuracy (100 x "
                                                "val_accuracy) after training to the epoch"),
    "val_loss": MetricSpec("val_loss", False, "", "YAHPO Gym NAS-Bench-301 surrogate: validation cross-entropy"),
    "train_time": MetricSpec("train_time", False, "s", "YAHPO Gym NAS-Bench-301 surrogate: training time up to "
                                                       "the epoch (runtime)"),
}
#: Rows per onnxruntime call: the model's matrices stay in cache (batches of 10,000+ run slower per row).
CHUNK = 512


def companion_paths(model: Union[str, Path]) -> dict[str, Path]:
    """The files YAHPO keeps beside ``model`` (``[prefix]model[_v2].onnx``, or the folder holding it)
    that serving reads: ``[prefix]encoding[_v2].json`` and ``[prefix]param_set[_v2].R`` (the
    ConfigSpace JSON says nothing the param set does not, and is not read)."""
    p = Path(model)
    if p.is_dir():
        found = sorted(p.glob("*model*.onnx"))
        if len(found) != 1:
            raise CorruptFile(f"{p} holds {len(found)} *model*.onnx files: give the model file itself")
        p = found[0]
    m = re.fullmatch(r"(.*)model(.*)\.onnx", p.name)
    if m is None:
        raise CorruptFile(f"{p.name} is not named like YAHPO's surrogate ([prefix]model[_v2].onnx): rename it, "
                          "keeping YAHPO's encoding and param set files beside it")
    pre, post = m.groups()
    return dict(model=p, encoding=p.with_name(f"{pre}encoding{post}.json"),
                param_set=p.with_name(f"{pre}param_set{post}.R"))


def read_param_set(text: str) -> tuple[list[str], tuple[int, int], list[str]]:
    """``(categorical names in order, (epoch lower, upper), codomain names)`` of YAHPO's ``param_set.R``."""
    cats = re.findall(r'ParamFct\$new\(\s*"([^"]+)"', text)
    ep = re.search(r'ParamInt\$new\(\s*"epoch"\s*,\s*lower\s*=\s*(\d+)L?\s*,\s*upper\s*=\s*(\d+)L?', text)
    body = re.search(r"codomain\s*=\s*ps\((.*?)\n\)", text, re.S)
    if not cats or ep is None or body is None:
        raise CorruptFile("the param set names no ParamFct, no ParamInt epoch or no codomain: "
                          "use YAHPO Gym's nb301 param_set_v2.R")
    outs = [line.split("=")[0].strip() for line in body.group(1).splitlines()
            if "=" in line and not line.strip().startswith("#")]
    return cats, (int(ep.group(1)), int(ep.group(2))), outs


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CorruptFile(f"YAHPO's {what} {path} is missing: keep it beside the model file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{path} is not YAHPO's {what} (not JSON: {exc})") from None


class YahpoEncoder:
    """DARTS genotypes -> YAHPO's ``x_cat`` rows, built from the encoding and param set files.

    ``op_names``: the space's op names in its code order (genotype op codes index it)."""

    def __init__(self, encoding: dict[str, dict[str, int]], cat_names: Sequence[str],
                 op_names: Sequence[str]) -> None:
        self.cat_names = list(cat_names)
        if len(self.cat_names) != N_CAT:
            raise CorruptFile(f"the param set lists {len(self.cat_names)} categoricals, YAHPO's nb301 has {N_CAT}: "
                              "use YAHPO Gym's nb301 files (v2)")
        col = {name: k for k, name in enumerate(self.cat_names)}
        missing = [n for n in self.cat_names if n not in encoding]
        if missing:
            raise CorruptFile(f"the encoding file lacks {missing[0][len(PREFIX):]}: use the encoding of the same "
                              "YAHPO version as the param set")
        self.na = np.array([int(encoding[n].get("#na#", 0)) for n in self.cat_names], dtype=np.int32)
        n_ops = len(op_names)
        # edge_col[c, k, i]: column of the edge into node k from input i; op_code[col, op]: its code
        self.edge_col = np.full((2, 4, 5), -1, dtype=np.int64)
        self.op_code = np.full((N_CAT, n_ops), -1, dtype=np.int32)
        # pair_code[c, k, a, b]: code of inputs "a_b" (a < b) of node k >= 1; inputs_col[c, k]: its column
        self.pair_code = np.full((2, 4, 5, 5), -1, dtype=np.int32)
        self.inputs_col = np.full((2, 4), -1, dtype=np.int64)
        for c, cell in enumerate(CELLS):
            for k, start in enumerate(EDGE_START):
                for i in range(k + 2):
                    name = f"{PREFIX}edge_{cell}_{start + i}"
                    if name not in col:
                        raise CorruptFile(f"the param set lacks edge_{cell}_{start + i}: use YAHPO Gym's nb301 files")
                    j = self.edge_col[c, k, i] = col[name]
                    for o, op in enumerate(op_names):
                        if op not in encoding[name]:
                            raise CorruptFile(f"the encoding has no op {op} for edge_{cell}_{start + i}: use YAHPO "
                                              "Gym's nb301 encoding")
                        self.op_code[j, o] = encoding[name][op]
                if k == 0:
                    continue
                name = f"{PREFIX}inputs_node_{cell}_{k + 2}"
                if name not in col:
                    raise CorruptFile(f"the param set lacks inputs_node_{cell}_{k + 2}: use YAHPO Gym's nb301 files")
                self.inputs_col[c, k] = col[name]
                for a in range(k + 2):
                    for b in range(a + 1, k + 2):
                        code = encoding[name].get(f"{a}_{b}")
                        if code is None:
                            raise CorruptFile(f"the encoding has no level {a}_{b} for inputs_node_{cell}_{k + 2}")
                        self.pair_code[c, k, a, b] = code
        #: Largest input node k may read (k + 1), and the inputs columns of nodes 1..3 (cell-major).
        self._max_input = np.arange(1, 5)[None, None, :]
        self._pair_cols = self.inputs_col[:, 1:].reshape(-1)

    def encode(self, genotypes: np.ndarray) -> np.ndarray:
        """``(n, 34)`` int32 ``x_cat`` of genotypes ``(n, 2, 8, 2)``: cell (normal, reduce), edge
        (two per node, nodes in order), (input, op code) as in NASLib's genotype tuple."""
        g = np.asarray(genotypes, dtype=np.int64)
        if g.ndim != 4 or g.shape[1:] != (2, 8, 2):
            raise UnknownArch(f"genotypes must be an (n, 2, 8, 2) array of (input, op) pairs, got shape {g.shape}")
        n = g.shape[0]
        inp = g[..., 0].reshape(n, 2, 4, 2)  # (n, cell, node, edge)
        ops = g[..., 1].reshape(n, 2, 4, 2)
        # elementwise on the two edges' slices: reductions over an axis of length 2 are slow
        a, b = np.minimum(inp[..., 0], inp[..., 1]), np.maximum(inp[..., 0], inp[..., 1])
        n_ops = self.op_code.shape[1]
        bad = (a < 0) | (b > self._max_input) | (a == b)
        if n and (ops.min() < 0 or ops.max() >= n_ops):
            bad |= (np.minimum(ops[..., 0], ops[..., 1]) < 0) | (np.maximum(ops[..., 0], ops[..., 1]) >= n_ops)
        if bad.any():
            r, c, k = (int(v[0]) for v in np.nonzero(bad))
            raise UnknownArch(f"genotype {r}: node {k} of the {CELLS[c]} cell needs two different inputs in "
                              f"0..{k + 1} and ops in 0..{n_ops - 1}, got "
                              f"{[tuple(int(v) for v in e) for e in g[r, c, 2 * k:2 * k + 2]]}")
        x = np.broadcast_to(self.na, (n, N_CAT)).copy()
        cell = np.arange(2)[None, :, None, None]
        node = np.arange(4)[None, None, :, None]
        cols = self.edge_col[cell, node, inp].reshape(n, 16)
        np.put_along_axis(x, cols, self.op_code[cols, ops.reshape(n, 16)], axis=1)
        x[:, self._pair_cols] = self.pair_code[np.arange(2)[None, :, None], np.arange(1, 4)[None, None, :],
                                               a[:, :, 1:], b[:, :, 1:]].reshape(n, 6)
        return x


class YahpoNB301:
    """The served model: ``predict(ids, epoch)`` -> ``(n, 3)`` float64 ``val_acc``, ``val_loss``, ``train_time``
    of nb301 global ids. ``sessions``: onnxruntime sessions run side by side on chunks of
    ``chunk`` rows (it releases the GIL; default: one per usable core, at most 8), each with
    ``threads`` intra-op threads (default 1). On these small matrices, sessions side by side
    beat one session's intra-op threads, and much more so on a shared machine, where
    spinning worker threads wait for cores (``scripts/bench_served.py`` compares them)."""

    space = "nb301"
    dataset = "cifar10"
    protocol = "yahpo-v2"

    def __init__(self, path: Union[str, Path], threads: Optional[int] = None, sessions: Optional[int] = None,
                 chunk: int = CHUNK) -> None:
        from . import nb301

        self._rows_of_ids = nb301.rows_of_ids
        files = companion_paths(path)
        self.path = files["model"]
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            raise CorruptFile(f"no surrogate model at {self.path}: give the path of YAHPO's nb301 model_v2.onnx "
                              "(--surrogate PATH)") from None
        try:
            text = files["param_set"].read_text()
        except FileNotFoundError:
            raise CorruptFile(f"YAHPO's param set {files['param_set']} is missing: keep it beside the model file") \
                from None
        cats, (lo, hi), outs = read_param_set(text)
        if list(outs[:3]) != list(OUTPUT_NAMES[:3]):
            raise CorruptFile(f"the param set's codomain is {', '.join(outs)}, not YAHPO nb301's "
                              f"{', '.join(OUTPUT_NAMES[:3])}: use YAHPO Gym's nb301 files (v2)")
        self.epochs = tuple(range(lo, hi + 1))
        encoding = _load_json(files["encoding"], "encoding")
        self.encoder = YahpoEncoder(encoding, cats, nb301.OPS)
        if sessions is None:
            sessions = min(_usable_cores(), 8)
        self.sessions = [_session(blob, self.path, 1 if threads is None else threads)
                         for _ in range(max(int(sessions), 1))]
        self.session = self.sessions[0]
        self.chunk = max(int(chunk), 1)
        self._pool: Any = None
        h = hashlib.sha256(blob)
        h.update(files["encoding"].read_bytes())
        h.update(text.encode())
        #: What stored runs on this model are keyed by: the model and the files that feed it.
        self.fingerprint = h.hexdigest()[:16]
        self.metric_specs = dict(METRICS)
        self._cols = np.array([SERVED[m][0] for m in METRICS])
        self._scale = np.array([SERVED[m][1] for m in METRICS])

    def __repr__(self) -> str:
        return f"<YAHPO Gym nb301 surrogate {self.path}>"

    def check_epoch(self, epoch: int) -> int:
        """``epoch`` if the model answers it; otherwise a one-line error naming the range."""
        if type(epoch) is bool or not isinstance(epoch, (int, np.integer)) or not \
                self.epochs[0] <= int(epoch) <= self.epochs[-1]:
            raise ZcdbError(f"YAHPO's nb301 surrogate answers epochs {self.epochs[0]}..{self.epochs[-1]}, "
                            f"not {epoch!r}")
        return int(epoch)

    def raw(self, x_cat: np.ndarray, epoch: int) -> np.ndarray:
        """The ONNX outputs ``(n, 4)`` for YAHPO rows ``x_cat`` at ``epoch``, in chunks of ``chunk`` rows."""
        n, c = x_cat.shape[0], self.chunk
        out = np.empty((n, len(OUTPUT_NAMES)), dtype=np.float32)
        x_cont = np.full((min(n, c), 1), float(epoch), dtype=np.float32)
        starts = range(0, n, c)

        def run(k: int) -> None:
            i = starts[k]
            part = x_cat[i:i + c]
            sess = self.sessions[k % len(self.sessions)]
            out[i:i + len(part)] = sess.run(None, {"x_cat": part, "x_cont": x_cont[:len(part)]})[0]

        if len(self.sessions) > 1 and len(starts) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(len(self.sessions))
            # chunk k on session k mod s: each session runs one call at a time
            groups = [list(range(j, len(starts), len(self.sessions))) for j in range(len(self.sessions))]
            list(self._pool.map(lambda g: [run(k) for k in g], groups))
        else:
            for k in range(len(starts)):
                run(k)
        return out

    def predict(self, ids: np.ndarray, epoch: int) -> np.ndarray:
        """``(n, 3)`` served metrics (``metric_specs`` order) of architectures ``ids`` at ``epoch``."""
        epoch = self.check_epoch(epoch)
        x = self.encoder.encode(self._rows_of_ids(np.asarray(ids, dtype=np.int64)).reshape(-1, 2, 8, 2))
        return self.raw(x, epoch)[:, self._cols].astype(np.float64) * self._scale


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _session(blob: bytes, path: Path, threads: Optional[int]) -> Any:
    """An onnxruntime CPU session of ``blob`` whose inputs and outputs are YAHPO nb301's, or a one-line error."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ZcdbError("serving YAHPO's surrogate needs onnxruntime: pip install 'zcdb[onnx]'") from None
    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind classes (InvalidProtobuf, Fail, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CorruptFile(f"{path} is not an ONNX model onnxruntime can load ({first[:120]}): give YAHPO's nb301 "
                          "model_v2.onnx") from None
    ins = {i.name: i for i in sess.get_inputs()}
    outs = sess.get_outputs()
    want = "inputs x_cat (int32, n x 34) and x_cont (float, n x 1), one output (float, n x 4)"
    ok = (set(ins) == {"x_cat", "x_cont"} and ins["x_cat"].type == "tensor(int32)"
          and ins["x_cat"].shape[1:] == [N_CAT] and ins["x_cont"].type == "tensor(float)"
          and ins["x_cont"].shape[1:] == [1] and len(outs) == 1 and outs[0].type == "tensor(float)"
          and outs[0].shape[1:] == [len(OUTPUT_NAMES)])
    if not ok:
        have = ", ".join(f"{i.name} ({i.type}, {i.shape})" for i in sess.get_inputs())
        got = ", ".join(f"{o.name} ({o.type}, {o.shape})" for o in outs)
        raise CorruptFile(f"{path} is not YAHPO's nb301 surrogate: it has inputs {have} and outputs {got}, "
                          f"expected {want}")
    return sess


def open_model(path: Union[str, Path], threads: Optional[int] = None, sessions: Optional[int] = None,
               chunk: int = CHUNK) -> YahpoNB301:
    """:class:`YahpoNB301` of the model at ``path`` (the .onnx file or its folder)."""
    return YahpoNB301(path, threads, sessions, chunk)
