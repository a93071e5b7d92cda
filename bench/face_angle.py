"""face_angle on real photos turned four ways, and what the turn does to
the embedding.

    python -m bench.face_angle [--people N] [--skip K] [--utk-per-group M]

Photos: the first image of each LFW person (people ``K`` to ``K+N`` in name
order; the default skips the first 120, on which the check was chosen),
and ``M`` UTKFace chips of each race x gender group (every n-th chip of the
group, adults 18-60). Each is turned clockwise by 0, 90, 180 and 270
degrees and sent through the API's path: ``detect_any_rotation`` (the
rotation fallback when nothing is found upright), the face nearest the
centre, ``face_angles`` (the per-face check detect answers
``attributes=21`` with). Right when the angle undoes the turn. Also the
Silent-Face samples of ``spoof/``, stored a quarter turn off (their EXIF
tag ignored, as a client that strips EXIF sends them).

Embedding: for each turned LFW photo, the similarity between the face
embedded from the turned photo and from the upright one, as add/search/
compare embed it (``FaceEngine.upright``: landmarks from the upright turn)
and as they did before (the detector's own landmarks); "kept" is the share
at or above FRS's 0.93. Reported per rotation and group, with the cost of
the check per face (p50). The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from bench._common import DATASETS, LFW, percentile_ms, print_summary, require, utk_chips

THRESHOLD = 0.93


def central(faces, shape):
    h, w = shape[:2]
    return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
               + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)


class Tally:
    def __init__(self):
        self.faces = self.right = self.no_face = self.fallback = 0
        self.wrong: list[str] = []
        self.kept_upright: list[bool] = []
        self.kept_raw: list[bool] = []

    def as_json(self) -> dict:
        out = {"faces": self.faces, "right": self.right, "no_face": self.no_face,
               "fallback_used": self.fallback, "accuracy": round(self.right / max(self.faces, 1), 5),
               "wrong": self.wrong[:10]}
        if self.kept_upright:
            out["embedding_kept_at_0.93"] = round(float(np.mean(self.kept_upright)), 5)
            out["embedding_kept_at_0.93_without_upright"] = round(float(np.mean(self.kept_raw)), 5)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=250)
    ap.add_argument("--skip", type=int, default=120)
    ap.add_argument("--utk-per-group", type=int, default=40)
    args = ap.parse_args()
    from PIL import Image

    from chalicelib.vision import decode_image, get_engine, rotation
    engine = get_engine()
    people = sorted(p for p in require(LFW / "images", "LFW").iterdir() if p.is_dir())
    people = people[args.skip:args.skip + args.people]
    photos = [(p.name, "LFW", sorted(p.glob("*.jpg"))[0]) for p in people]
    if args.utk_per_group:
        groups = defaultdict(list)
        for c in utk_chips():
            if 18 <= c.age <= 60:
                groups[f"UTKFace {c.race} {'male' if c.gender == 0 else 'female'}"].append(c)
        for g, chips in sorted(groups.items()):
            step = max(1, len(chips) // args.utk_per_group)
            photos += [(c.path.name, g, c.path) for c in chips[::step][:args.utk_per_group]]
    per_turn = {a: Tally() for a in rotation.ANGLES}
    per_group: dict[str, Tally] = defaultdict(Tally)
    cost = []
    for name, group, path in photos:
        img = decode_image(path.read_bytes())
        upright_vec = None
        for turn in rotation.ANGLES:
            rows = (per_turn[turn], per_group[group])
            turned = rotation.rotate_cw(img, turn)
            for r in rows:
                r.faces += 1
            faces = engine.detect_any_rotation(turned)
            if not faces:
                for r in rows:
                    r.no_face += 1
                continue
            fallback = int(not engine.detect(turned))
            face = central(faces, turned.shape)
            t0 = time.perf_counter()
            angle = engine.face_angles(turned, [face])[0]
            cost.append(time.perf_counter() - t0)
            right = angle == (360 - turn) % 360
            for r in rows:
                r.fallback += fallback
                r.right += int(right)
                if not right:
                    r.wrong.append(f"{name}:{turn}->{angle}")
            if group != "LFW":
                continue
            vec = engine.embed(turned, engine.upright(turned, [face])[0])
            raw = engine.embed(turned, face)
            if turn == 0:
                upright_vec = vec
            elif upright_vec is not None:
                for r in rows:
                    r.kept_upright.append(bool(engine.similarity(float(vec @ upright_vec)) >= THRESHOLD))
                    r.kept_raw.append(bool(engine.similarity(float(raw @ upright_vec)) >= THRESHOLD))
    spoof = {}
    for fname in ("image_F1.jpg", "image_F2.jpg", "image_T1.jpg"):
        spath = DATASETS / "spoof" / fname
        if not spath.exists():
            continue
        with Image.open(spath) as im:
            stored = np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])
        faces = engine.detect_any_rotation(stored)
        spoof[fname] = engine.face_angles(stored, faces[:1])[0] if faces else None
    lfw = per_group["LFW"]
    utk = [t for g, t in per_group.items() if g != "LFW"]
    utk_faces, utk_right = sum(t.faces for t in utk), sum(t.right for t in utk)
    worst = min(per_group.items(), key=lambda kv: kv[1].right / max(kv[1].faces, 1))
    summary = {"benchmark": "face_angle", "people": len(people), "skip": args.skip,
               "faces": lfw.faces, "right": lfw.right, "accuracy": round(lfw.right / max(lfw.faces, 1), 5),
               "utkface_faces": utk_faces, "utkface_right": utk_right,
               "utkface_accuracy": round(utk_right / utk_faces, 5) if utk_faces else None,
               "worst_group": worst[0],
               "worst_group_accuracy": round(worst[1].right / max(worst[1].faces, 1), 5),
               "per_rotation": {str(a): t.as_json() for a, t in per_turn.items()},
               "per_group": {g: t.as_json() for g, t in sorted(per_group.items())},
               "check_cost_ms_p50": percentile_ms(cost, 50), "check_cost_ms_p95": percentile_ms(cost, 95),
               "spoof_stored_sideways": spoof, "spoof_expected": 90}
    for a, t in per_turn.items():
        print(f"turned {a:3d}: {t.right}/{t.faces} right, no face {t.no_face}, fallback used {t.fallback}"
              + (f", embedding kept at 0.93 {np.mean(t.kept_upright):.3f} (without upright "
                 f"{np.mean(t.kept_raw):.3f})" if t.kept_upright else ""))
    for g, t in sorted(per_group.items()):
        print(f"{g:28s} {t.right}/{t.faces} = {t.right / max(t.faces, 1) * 100:.2f}%")
    print(f"LFW: {lfw.right}/{lfw.faces}; UTKFace: {utk_right}/{utk_faces}; spoof {spoof}")
    print_summary(summary)


if __name__ == "__main__":
    main()
