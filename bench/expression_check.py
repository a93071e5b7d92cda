"""Expression of the face-api.js net on a small hand-labelled set of stills.

    python -m bench.expression_check

No labelled expression dataset is available here, so this is weak
evidence: 48 stills of ../shared/datasets/stills labelled smiling
("happy") or not smiling ("neutral") by eye (bench/expression_stills.json
says how and who; one labeller, few distinct people, only two of the
seven classes). Each goes through the API's path: decode, detect, the face
nearest the centre, ``FaceApiAttributes.expression`` (the SDK's type and
probability). Reported: the predicted types per label, accuracy of
"happy" versus anything else, and of "neutral" exactly. The last line is a
one-line JSON summary.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from bench._common import STILLS, Pipeline, pick_central_face, print_summary, require

LABELS = Path(__file__).with_name("expression_stills.json")


def main() -> None:
    from chalicelib.inference.manifest import has_model, model_entry
    from chalicelib.vision import decode_image
    from chalicelib.vision.faceapi_attributes import FaceApiAttributes
    if not has_model("faceapi_expression"):
        sys.exit("the expression model is not built: make models OPT_IN=faceapi_attributes")
    labels: dict[str, str] = json.loads(LABELS.read_text())["labels"]
    root = require(STILLS, "stills")
    pipe = Pipeline()
    net = FaceApiAttributes(expression_path=model_entry("faceapi_expression")[1])
    t0 = time.time()
    per_label: dict[str, Counter] = {lab: Counter() for lab in sorted(set(labels.values()))}
    rows = []
    no_face = 0
    for name, label in sorted(labels.items()):
        image = decode_image((root / name).read_bytes())
        face, _ = pick_central_face(pipe, image)
        if face is None:
            no_face += 1
            continue
        got = net.expression(image, face)
        assert got is not None
        per_label[label][got["type"]] += 1
        rows.append((label, got["type"], got["probability"]))
        print(f"{name:40s} {label:8s} -> {got['type']:8s} {got['probability']:.3f}")
    n = len(rows)
    happy_right = sum((lab == "happy") == (typ == "happy") for lab, typ, _ in rows)
    neutral_right = sum(typ == "neutral" for lab, typ, _ in rows if lab == "neutral")
    happy_found = sum(typ == "happy" for lab, typ, _ in rows if lab == "happy")
    n_happy = sum(lab == "happy" for lab, _, _ in rows)
    n_neutral = sum(lab == "neutral" for lab, _, _ in rows)
    print_summary({
        "benchmark": "expression_check",
        "model": "face-api.js FaceExpressionNet (@vladmandic/face-api 1.7.15)",
        "stills": len(labels), "no_face": no_face, "measured": n,
        "predicted_by_label": {k: dict(v) for k, v in per_label.items()},
        "happy_vs_other_accuracy": round(happy_right / n, 4) if n else None,
        "happy_recall": round(happy_found / n_happy, 4) if n_happy else None,
        "neutral_exact_accuracy": round(neutral_right / n_neutral, 4) if n_neutral else None,
        "evidence": "weak: 48 stills labelled by eye by one person, two classes of seven, few people",
        "seconds": round(time.time() - t0, 1)})


if __name__ == "__main__":
    main()
