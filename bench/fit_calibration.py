"""Fit the cosine -> FRS similarity mapping on LFW; write models/calibration.json.

    python -m bench.fit_calibration [--far 1e-4] [--dry-run]

1. Embed every image named in LFW pairs.txt with the engine (same path as
   the API; face nearest the centre).
2. Impostor scores: every pair of those images showing different people
   (~30 million pairs, so a FAR of 1e-4 or 1e-5 is measurable, unlike on the
   3,000 official impostor pairs). Genuine scores: every same-person pair.
3. The cosine where similarity is 0.93 is the impostor score quantile at
   ``--far``: at most that fraction of impostor pairs score above it.
4. The curve s = 1 / (1 + exp(-k (cos - c))) passes through (that cosine,
   0.93); its slope k is the maximum-likelihood logistic fit of "same
   person" on the 6,000 official pairs under that constraint.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math

import numpy as np

from bench._common import LFW, REPO, embed_lfw_images, pair_scores, print_summary, read_pairs, require

TARGET_SIMILARITY = 0.93
OUT = REPO / "models" / "calibration.json"


def all_pair_scores(keys, vectors):
    """Cosine scores of all impostor and genuine pairs among the images."""
    keys = [k for k in keys if vectors.get(k) is not None]
    names = np.array([k[0] for k in keys])
    mat = np.stack([vectors[k] for k in keys]).astype(np.float32)
    _, ident = np.unique(names, return_inverse=True)
    impostor_chunks, genuine = [], []
    for i in range(0, len(keys), 512):
        block = mat[i:i + 512] @ mat.T  # rows i..i+511 against all
        rows = np.arange(i, min(i + 512, len(keys)))
        upper = np.arange(len(keys))[None, :] > rows[:, None]  # each pair once
        same = ident[rows][:, None] == ident[None, :]
        impostor_chunks.append(block[upper & ~same])
        genuine.append(block[upper & same])
    return np.concatenate(impostor_chunks), np.concatenate(genuine)


def fit_slope(scores, labels, cos93):
    """Max-likelihood k for p(same | cos) = sigmoid(k (cos - c)) with the
    curve pinned at (cos93, 0.93)."""
    logit93 = math.log(TARGET_SIMILARITY / (1 - TARGET_SIMILARITY))
    best = None
    for k in np.geomspace(1, 400, 800):
        c = cos93 - logit93 / k
        z = k * (scores - c)
        ll = -np.sum(np.logaddexp(0, -z) * labels + np.logaddexp(0, z) * (~labels))
        if best is None or ll > best[0]:
            best = (ll, k, c)
    return float(best[1]), float(best[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--far", type=float, default=5e-4,
                    help="impostor false-accept rate allowed at similarity 0.93 (all-pairs)")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the file")
    ap.add_argument("--cache", metavar="TMPDIR",
                    help="reuse/keep this model's LFW vectors in a temp dir between runs")
    args = ap.parse_args()
    from chalicelib.vision import get_engine
    from chalicelib.vision.embedder import DLIB_CHIP_TEMPLATE
    engine = get_engine()
    pairs_file = require(LFW / "pairs.txt", "LFW pairs.txt")
    pairs = read_pairs(pairs_file)
    keys = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors, counts = embed_lfw_images(engine, keys, cache_dir=args.cache)
    impostor, genuine = all_pair_scores(keys, vectors)
    cos93 = float(np.quantile(impostor, 1 - args.far))
    scores = pair_scores(pairs, vectors)
    labels = np.array([p.same for p in pairs])
    k, c = fit_slope(scores, labels, cos93)
    official_far = float((scores[~labels] > cos93).mean())
    official_frr = float((scores[labels] <= cos93).mean())
    data = {
        "mapping": {"form": "logistic", "k": round(k, 4), "c": round(c, 6),
                    "formula": "similarity = 1 / (1 + exp(-k * (cosine - c)))"},
        "cosine_at_0.93": round(cos93, 6),
        "recipe": {"model": engine.model_id, "flip_tta": bool(engine.FLIP_TTA),
                   "template_150": np.asarray(DLIB_CHIP_TEMPLATE, np.float64).round(2).tolist(),
                   "face_choice": "detection nearest the image centre"},
        "fitted": {
            "date": datetime.date.today().isoformat(),
            "command": "python -m bench.fit_calibration --far %g" % args.far,
            "dataset": "LFW (deep-funneled) images named in the official pairs.txt",
            "pairs_txt_md5": hashlib.md5(pairs_file.read_bytes()).hexdigest(),
            "images": len(keys),
            "no_face_images": counts["no_face"],
            "impostor_pairs_all": int(impostor.size),
            "genuine_pairs_all": int(genuine.size),
            "far_target_all_pairs": args.far,
            "far_all_pairs_at_0.93": float((impostor > cos93).mean()),
            "frr_all_genuine_pairs_at_0.93": round(float((genuine <= cos93).mean()), 5),
            "official_pairs_far_at_0.93": official_far,
            "official_pairs_frr_at_0.93": round(official_frr, 5),
            "slope_fit": "max-likelihood logistic on the 6,000 official pairs, curve pinned at (cosine_at_0.93, 0.93)",
        },
    }
    text = json.dumps(data, indent=2) + "\n"
    if args.dry_run:
        print(text)
    else:
        OUT.write_text(text)
        print(f"wrote {OUT}")
    print_summary({"benchmark": "fit_calibration", "k": data["mapping"]["k"], "c": data["mapping"]["c"],
                   "cosine_at_0.93": data["cosine_at_0.93"], **{
                       key: data["fitted"][key] for key in (
                           "far_all_pairs_at_0.93", "frr_all_genuine_pairs_at_0.93",
                           "official_pairs_far_at_0.93", "official_pairs_frr_at_0.93",
                           "impostor_pairs_all")}})


if __name__ == "__main__":
    main()
