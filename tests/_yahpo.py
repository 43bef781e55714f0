"""Format-true YAHPO Gym nb301 files made by the tests, and YAHPO's documented input procedure
written independently of zcdb (for checking zcdb's serving against it).

YAHPO Gym (slds-lmu/yahpo_gym, ``BenchmarkSet._config_to_xs``) feeds its nb301 ONNX model
``x_cat``: each of the scenario's ``cat_names`` in order, integer-encoded by
``encoding_v2.json`` (``#na#`` for an inactive hyperparameter), and ``x_cont``: the raw
epoch; output columns are its ``y_names`` in order. A DARTS genotype becomes a
configuration by NAS-Bench-301's ``convert_genotype_to_config``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
#: YAHPO Gym's ``cat_names`` of the nb301 scenario, in its order.
CAT_NAMES = ([f"{PREFIX}edge_normal_{i}" for i in range(14)] + [f"{PREFIX}edge_reduce_{i}" for i in range(14)]
             + [f"{PREFIX}inputs_node_{c}_{k}" for c in ("normal", "reduce") for k in (3, 4, 5)])
OPS = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
Y_NAMES = ["val_accuracy", "val_cross_entropy", "runtime", "runtime_increase"]
INPUT_LEVELS = {3: ["0_1", "0_2", "1_2"], 4: ["0_1", "0_2", "0_3", "1_2", "1_3", "2_3"],
                5: ["0_1", "0_2", "0_3", "0_4", "1_2", "1_3", "1_4", "2_3", "2_4", "3_4"]}


def yahpo_config(naslib: tuple) -> dict[str, str]:
    """NAS-Bench-301's genotype -> configuration, from NASLib's ``((input, op) x 8, (input, op) x 8)``."""
    cfg = {}
    for cell, edges in zip(("normal", "reduce"), naslib):
        start, n = 0, 2
        for node in range(4):
            pair = edges[2 * node:2 * node + 2]
            for inp, op in pair:
                cfg[f"{PREFIX}edge_{cell}_{start + inp}"] = OPS[op]
            if node:
                a, b = sorted(inp for inp, _ in pair)
                cfg[f"{PREFIX}inputs_node_{cell}_{node + 2}"] = f"{a}_{b}"
            start += n
            n += 1
    return cfg


def x_cat(configs: list[dict[str, str]], encoding: dict) -> np.ndarray:
    """YAHPO's integer encoding of configurations, in ``CAT_NAMES`` order."""
    return np.array([[encoding[k][c.get(k, "#na#")] for k in CAT_NAMES] for c in configs], dtype=np.int32)


def encoding() -> dict:
    """An encoding file as YAHPO writes it: levels in sorted order after ``#na#`` = 0."""
    out = {}
    for name in sorted(CAT_NAMES):
        levels = sorted(OPS) if "_edge_" in name else INPUT_LEVELS[int(name[-1])]
        out[name] = {"#na#": 0, **{lv: k + 1 for k, lv in enumerate(levels)}}
    return out


def param_set() -> str:
    """A ``param_set_v2.R`` in YAHPO's form (categoricals, the epoch, the codomain)."""
    lines = ["ps = ParamSet$new(list("]
    for name in CAT_NAMES:
        levels = OPS if "_edge_" in name else INPUT_LEVELS[int(name[-1])]
        lv = ", ".join(f'"{x}"' for x in levels)
        lines.append(f'  ParamFct$new("{name}",\n    levels = c({lv}),\n    default = "{levels[0]}"),')
    lines.append('  ParamInt$new("epoch", lower = 1L, upper = 98L, default = 1L, tags = "budget"))\n)')
    lines.append("codomain = ps(\n  val_accuracy = p_dbl(lower = 0, upper = 1, tags = \"maximize\"),\n"
                 "  val_cross_entropy = p_dbl(lower = 0, upper = Inf, tags = \"minimize\"),\n"
                 "  runtime = p_dbl(lower = 0, upper = Inf, tags = \"minimize\")\n"
                 "  #model_parameters = p_int(lower = 1, upper = Inf, tags = \"minimize\")\n)")
    return "\n".join(lines) + "\n"


#: The synthetic model's weights: outputs = float(x_cat) @ W + epoch * V + B (fixed numbers).
_RNG = np.random.default_rng(301)
W = (_RNG.normal(size=(34, 4)) * np.array([0.002, 0.01, 3.0, 0.1])).astype(np.float32)
V = np.array([[0.003, -0.01, 50.0, 0.2]], dtype=np.float32)
B = np.array([0.5, 1.0, 100.0, 40.0], dtype=np.float32)


def linear_outputs(xc: np.ndarray, epoch: int) -> np.ndarray:
    """What the synthetic model returns, in numpy."""
    return xc.astype(np.float32) @ W + np.float32(epoch) * V + B


def onnx_model(path: Path, cat_width: int = 34, input_names: tuple[str, str] = ("x_cat", "x_cont"),
               out_width: int = 4) -> Path:
    """Write the synthetic linear model with YAHPO nb301's interface (or a variant of it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.resize(W, (cat_width, out_width)).astype(np.float32)
    v = np.resize(V, (1, out_width)).astype(np.float32)
    b = np.resize(B, (out_width,)).astype(np.float32)
    cat, cont = input_names
    graph = helper.make_graph(
        [helper.make_node("Cast", [cat], ["xf"], to=TensorProto.FLOAT),
         helper.make_node("MatMul", ["xf", "W"], ["xw"]),
         helper.make_node("MatMul", [cont, "V"], ["ev"]),
         helper.make_node("Add", ["xw", "ev"], ["sum"]),
         helper.make_node("Add", ["sum", "B"], ["output"])],
        "synthetic_yahpo_nb301",
        [helper.make_tensor_value_info(cat, TensorProto.INT32, ["batch_size", cat_width]),
         helper.make_tensor_value_info(cont, TensorProto.FLOAT, ["batch_size", 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", out_width])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(v, "V"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def write_files(folder: Path, **model_kw) -> Path:
    """A folder with ``yahpo_model_v2.onnx`` (synthetic), ``yahpo_encoding_v2.json`` and
    ``yahpo_param_set_v2.R``; returns the model's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "yahpo_encoding_v2.json").write_text(json.dumps(encoding()))
    (folder / "yahpo_param_set_v2.R").write_text(param_set())
    return onnx_model(folder / "yahpo_model_v2.onnx", **model_kw)
