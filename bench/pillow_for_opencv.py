"""Can the face engine drop OpenCV? Replace its three cv2 calls with Pillow
(resize INTER_AREA -> BOX, INTER_LINEAR -> BILINEAR; warpAffine -> Image.transform
AFFINE, pixel centres matched) and compare the engine's answers on real photos.

    python bench/pillow_for_opencv.py

Evidence for docs/deploy.md "Package size": OpenCV (144 MB installed) is what
puts the Lambda package over 250 MB. Prints per-photo box IoU and embedding
cosine; last line one-line JSON.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
STILLS = Path(os.environ.get("FRS_DATASETS") or REPO.parent / "shared" / "datasets") / "stills" / "face_recognition"


def pil_resize(img, size, interpolation=None):
    import cv2
    method = Image.Resampling.BOX if interpolation == cv2.INTER_AREA else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(img).resize(tuple(size), method))


def pil_warp_affine(img, m, size, flags=None, borderMode=None):
    # cv2: src = A @ dst + t with pixel centres on integers; Pillow samples
    # src = A @ (dst + 0.5) + t' with centres on +0.5, so t' = t + 0.5 - A @ 0.5.
    full = np.vstack([m, [0, 0, 1]])
    inv = np.linalg.inv(full)[:2]
    a = inv[:, :2]
    t = inv[:, 2] + 0.5 - a @ np.array([0.5, 0.5])
    coeffs = (a[0, 0], a[0, 1], t[0], a[1, 0], a[1, 1], t[1])
    return np.asarray(Image.fromarray(img).transform(tuple(size), Image.Transform.AFFINE, coeffs,
                                                     resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0)))


def pil_invert_affine(m):
    return np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]


def run(engine, photos):
    from chalicelib.vision import decode_image
    out = {}
    for name in photos:
        img = decode_image((STILLS / name).read_bytes())
        faces = engine.detect(img)
        out[name] = [(f.box, engine.embed(img, f)) for f in faces]
    return out


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / float(aw * ah + bw * bh - w * h)


def main() -> int:
    photos = sorted(p.name for p in STILLS.glob("*") if p.suffix.lower() in (".jpg", ".png"))
    if not photos:
        sys.exit(f"no photos in {STILLS}")
    from chalicelib.vision import align, detector
    from chalicelib.vision.engine import FaceEngine
    ref = run(FaceEngine(), photos)
    align.cv2.warpAffine, align.cv2.resize, align.cv2.invertAffineTransform = (
        pil_warp_affine, pil_resize, pil_invert_affine)
    detector.cv2.resize = pil_resize
    alt = run(FaceEngine(), photos)
    cosines, ious, count_diff = [], [], []
    for name in photos:
        r, p = ref[name], alt[name]
        count_diff.append(len(r) != len(p))
        for (rb, rv), (pb, pv) in zip(r, p):
            ious.append(iou(rb, pb))
            cosines.append(float(rv @ pv / (np.linalg.norm(rv) * np.linalg.norm(pv))))
        print(f"{name:28s} faces {len(r)} vs {len(p)}  min IoU "
              f"{min([iou(a[0], b[0]) for a, b in zip(r, p)] or [1]):.3f}  min cosine "
              f"{min([float(a[1] @ b[1]) for a, b in zip(r, p)] or [1]):.4f}")
    print(json.dumps({"bench": "pillow_for_opencv", "photos": len(photos), "faces": len(cosines),
                      "photos_with_count_change": int(sum(count_diff)),
                      "min_cosine": round(min(cosines), 5), "median_cosine": round(float(np.median(cosines)), 5),
                      "min_iou": round(min(ious), 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
