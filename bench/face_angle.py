"""face_angle on real photos turned four ways.

    python -m bench.face_angle [--people N] [--skip K]

The first image of each LFW person (people ``K`` to ``K+N`` in name
order; the default skips the first 120, on which the method was chosen)
is turned clockwise by 0, 90, 180 and 270 degrees and sent through the
API's path: ``detect_any_rotation`` (the rotation fallback when nothing is
found upright), the face nearest the centre, ``face_angles`` (the per-face
check detect answers ``attributes=21`` with). Right when the angle undoes
the turn. Also the Silent-Face samples of ``spoof/``, stored a quarter turn
off (their EXIF tag ignored, as a client that strips EXIF sends them).
Reported per rotation, with the cost of the check per face (p50). The
last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench._common import DATASETS, LFW, percentile_ms, print_summary, require


def central(faces, shape):
    h, w = shape[:2]
    return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
               + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=250)
    ap.add_argument("--skip", type=int, default=120)
    args = ap.parse_args()
    from PIL import Image

    from chalicelib.vision import decode_image, get_engine, rotation
    engine = get_engine()
    people = sorted(p for p in require(LFW / "images", "LFW").iterdir() if p.is_dir())
    people = people[args.skip:args.skip + args.people]
    per: dict[int, dict] = {a: {"faces": 0, "right": 0, "no_face": 0, "fallback_used": 0, "wrong": []}
                            for a in rotation.ANGLES}
    cost = []
    for person in people:
        img = decode_image(sorted(person.glob("*.jpg"))[0].read_bytes())
        for turn in rotation.ANGLES:
            row = per[turn]
            turned = rotation.rotate_cw(img, turn)
            row["faces"] += 1
            faces = engine.detect_any_rotation(turned)
            if not faces:
                row["no_face"] += 1
                continue
            row["fallback_used"] += int(not engine.detect(turned))
            face = central(faces, turned.shape)
            t0 = time.perf_counter()
            angle = engine.face_angles(turned, [face])[0]
            cost.append(time.perf_counter() - t0)
            if angle == (360 - turn) % 360:
                row["right"] += 1
            else:
                row["wrong"].append(f"{person.name}:{angle}")
    spoof = {}
    for name in ("image_F1.jpg", "image_F2.jpg", "image_T1.jpg"):
        path = DATASETS / "spoof" / name
        if not path.exists():
            continue
        with Image.open(path) as im:
            stored = np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])
        faces = engine.detect_any_rotation(stored)
        spoof[name] = engine.face_angles(stored, faces[:1])[0] if faces else None
    total = sum(r["faces"] for r in per.values())
    right = sum(r["right"] for r in per.values())
    summary = {"benchmark": "face_angle", "people": len(people), "skip": args.skip,
               "faces": total, "right": right, "accuracy": round(right / max(total, 1), 5),
               "per_rotation": {str(a): {**{k: v for k, v in r.items() if k != "wrong"},
                                         "accuracy": round(r["right"] / max(r["faces"], 1), 5),
                                         "wrong": r["wrong"][:10]} for a, r in per.items()},
               "check_cost_ms_p50": percentile_ms(cost, 50), "check_cost_ms_p95": percentile_ms(cost, 95),
               "spoof_stored_sideways": spoof, "spoof_expected": 90}
    for a, r in per.items():
        print(f"turned {a:3d}: {r['right']}/{r['faces']} right, no face {r['no_face']}, "
              f"fallback used {r['fallback_used']}")
    print(f"all: {right}/{total} = {right / max(total, 1) * 100:.2f}%; spoof {spoof}")
    print_summary(summary)


if __name__ == "__main__":
    main()
