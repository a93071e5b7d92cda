"""Does the face engine answer the same without OpenCV? The engine's pixel
operations live in chalicelib/pixels.py (numpy + Pillow); this runs the
engine twice on real photos - once as shipped, once with those operations
swapped back to the OpenCV calls they replace - and compares the answers.

    python -m bench.pillow_for_opencv [--lfw N] [--runs N]

Photos: every still in stills/face_recognition and stills/deepface, plus
one image each of N LFW people (every 140th person, default 40). Reports
per photo the face count and box IoU, per face the embedding cosine, and
the median time of detect + embed on a 640x480 portrait both ways
(interleaved runs, so machine load hits both alike). OpenCV is a dev
dependency only: evidence for docs/deploy.md "Package size" (OpenCV, 144 MB
installed, is what put the Lambda package over 250 MB). Last line one-line
JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("FRS_DATASETS") or REPO.parent / "shared" / "datasets")


@contextmanager
def opencv_ops():
    """chalicelib.vision.pixels's operations replaced by the OpenCV calls the
    engine made before (callers look them up at call time)."""
    import cv2

    from chalicelib.vision import pixels
    borders = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}
    modes = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}
    ours = {k: getattr(pixels, k) for k in ("warp_affine", "invert_affine", "resize")}
    pixels.warp_affine = lambda img, m, size, border="constant": cv2.warpAffine(
        img, m, tuple(size), flags=cv2.INTER_LINEAR, borderMode=borders[border])
    pixels.invert_affine = cv2.invertAffineTransform
    pixels.resize = lambda img, size, interpolation="area": cv2.resize(
        img, tuple(size), interpolation=modes[interpolation])
    try:
        yield
    finally:
        for k, f in ours.items():
            setattr(pixels, k, f)


def photos(lfw_count: int) -> list[Path]:
    stills = [p for d in ("face_recognition", "deepface") for p in sorted((DATASETS / "stills" / d).glob("*"))
              if p.suffix.lower() in (".jpg", ".png")]
    people = sorted(p for p in (DATASETS / "lfw" / "images").glob("*") if p.is_dir())
    lfw = [sorted(p.glob("*.jpg"))[0] for p in people[::140][:lfw_count]]
    return stills + lfw


def run(engine, paths):
    from chalicelib.errors import FrsError
    from chalicelib.vision import decode_image
    out = {}
    for p in paths:
        try:
            img = decode_image(p.read_bytes())
        except FrsError:  # e.g. over the service's resolution limit
            continue
        out[p] = [(f.box, engine.embed(img, f)) for f in engine.detect(img)]
    return out


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / float(aw * ah + bw * bh - w * h)


def portrait_640x480():
    from PIL import Image
    img = Image.open(DATASETS / "stills" / "face_recognition" / "obama.jpg").convert("RGB")
    s = max(640 / img.width, 480 / img.height)
    img = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.BOX)
    x0, y0 = (img.width - 640) // 2, (img.height - 480) // 2
    return np.ascontiguousarray(np.asarray(img.crop((x0, y0, x0 + 640, y0 + 480)))[:, :, ::-1])


def timing(engine, runs: int) -> dict:
    img = portrait_640x480()

    def once():
        t = time.perf_counter()
        faces = engine.detect(img)
        engine.embed(img, faces[0])
        return time.perf_counter() - t
    ours, theirs = [], []
    for _ in range(3):
        once()
    for _ in range(runs):
        ours.append(once())
        with opencv_ops():
            theirs.append(once())
    return {"ms_numpy": round(1000 * float(np.median(ours)), 2),
            "ms_opencv": round(1000 * float(np.median(theirs)), 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfw", type=int, default=40)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    paths = photos(args.lfw)
    if not paths:
        sys.exit(f"no photos under {DATASETS}")
    from chalicelib.vision.engine import FaceEngine
    engine = FaceEngine()
    alt = run(engine, paths)
    with opencv_ops():
        ref = run(engine, paths)
    cosines, ious, count_changed = [], [], []
    paths = [p for p in paths if p in ref]
    for p in paths:
        r, a = ref[p], alt[p]
        count_changed.append(len(r) != len(a))
        pi = [iou(x[0], y[0]) for x, y in zip(r, a, strict=False)]
        pc = [float(x[1] @ y[1] / (np.linalg.norm(x[1]) * np.linalg.norm(y[1])))
              for x, y in zip(r, a, strict=False)]
        ious += pi
        cosines += pc
        print(f"{p.parent.name + '/' + p.name:48s} faces {len(r)} vs {len(a)}  min IoU "
              f"{min(pi or [1]):.4f}  min cosine {min(pc or [1]):.5f}")
    summary = {"bench": "pillow_for_opencv", "photos": len(paths), "faces": len(cosines),
               "photos_with_count_change": int(sum(count_changed)),
               "min_cosine": round(min(cosines), 5), "median_cosine": round(float(np.median(cosines)), 5),
               "min_iou": round(min(ious), 4), "median_iou": round(float(np.median(ious)), 4)}
    summary.update(timing(engine, args.runs))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
