"""Does the face quality score mean something? The error-versus-reject
curve on LFW (the way face-quality measures are judged, ISO/IEC 29794-1).

    python -m bench.quality_lfw [--cache TMPDIR] [--png docs/quality_erc.png]

Every image of the official pairs goes through the API's path (decode,
detect, the face nearest the centre, ``FaceEngine.quality`` as detect answers
it with ``attributes=12``, the default embedder). A pair's quality is the
lower ``total_score`` of its two images. Same-person pairs are sorted by
it and the lowest-quality 0-20 % rejected; the same-person rejection rate
(FRR) at FRS similarity 0.93 is measured on what remains. A quality score
that means something makes the curve fall steeply; a random one keeps it
flat. Also reported: each component alone (blur, pose, occlusion,
illumination), the curve when whole images (not pairs) are dropped by
their score, and both halves of the protocol (folds 1-5 and 6-10)
separately: nothing in the score was fitted to LFW, and the halves show
how much the figure moves between disjoint sets of people.

Writes the curve as a PNG (Pillow) and ends with a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from bench._common import (
    LFW,
    REPO,
    Pipeline,
    lfw_image_path,
    pick_central_face,
    print_summary,
    private_dir,
    read_pairs,
    require,
)

COMPONENTS = ("blur", "pose", "occlusion", "illumination")
FRACTIONS = np.round(np.arange(0.0, 0.2001, 0.01), 2)


def measure_images(pipe: Pipeline, keys: list[tuple[str, int]], cache_dir: str | None):
    """(vectors, quality table (N, 5): total, blur, pose, occlusion,
    illumination, found) for each LFW image key."""
    from chalicelib.vision import decode_image
    cache = None
    if cache_dir:
        cache = private_dir(cache_dir) / f"quality_lfw_{pipe.model_id}_{len(keys)}.npz"
        if cache.exists():
            data = np.load(cache, allow_pickle=False)
            return data["vectors"], data["quality"], data["found"]
    vectors = np.zeros((len(keys), pipe.embedding_dim), np.float32)
    table = np.zeros((len(keys), 5), np.float32)
    found = np.zeros(len(keys), bool)
    t0 = time.time()
    for i, key in enumerate(keys):
        image = decode_image(lfw_image_path(*key).read_bytes())
        face, _ = pick_central_face(pipe, image)
        if face is not None:
            qs, sface_vectors = pipe.engine.quality_and_vectors(image, [face])
            q = qs[0]
            table[i] = (q.total_score, q.blur, q.pose, q.occlusion, q.illumination)
            # The default embedder is SFace: its vector came with the quality.
            vectors[i] = sface_vectors[0] if pipe.family == "sface" else pipe.embed(image, face)
            found[i] = True
        if i % 1000 == 0:
            print(f"  {i}/{len(keys)} images, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    if cache is not None:
        np.savez(cache, vectors=vectors, quality=table, found=found)
    return vectors, table, found


def frr_after_reject(cos: np.ndarray, pair_q: np.ndarray, threshold: float) -> list[float]:
    """FRR at ``threshold`` of the same-person pairs left after rejecting
    the lowest-quality fraction (each of FRACTIONS). Ties at the cut are
    broken by pair order, so exactly that fraction goes."""
    order = np.argsort(pair_q, kind="stable")
    n = len(cos)
    out = []
    for frac in FRACTIONS:
        keep = order[int(round(frac * n)):]
        out.append(float((cos[keep] <= threshold).mean()))
    return out


def frr_after_image_reject(cos: np.ndarray, a: np.ndarray, b: np.ndarray, img_q: np.ndarray,
                           threshold: float) -> list[float]:
    """As frr_after_reject, but whole images are dropped (the lowest
    fraction of all images by score) with every pair they are in."""
    order = np.argsort(img_q, kind="stable")
    out = []
    for frac in FRACTIONS:
        dropped = np.zeros(len(img_q), bool)
        dropped[order[:int(round(frac * len(img_q)))]] = True
        keep = ~(dropped[a] | dropped[b])
        out.append(float((cos[keep] <= threshold).mean()) if keep.any() else float("nan"))
    return out


def plot(curves: dict[str, list[float]], path: Path, title: str) -> None:
    """A line chart of FRR against the rejected fraction (Pillow only)."""
    from PIL import Image, ImageDraw
    w, h, left, right, top, bottom = 900, 560, 80, 210, 50, 60
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    ymax = max(max(c) for c in curves.values()) * 1.1
    px = lambda f: left + (w - left - right) * f / FRACTIONS[-1]  # noqa: E731
    py = lambda v: top + (h - top - bottom) * (1 - v / ymax)  # noqa: E731
    d.rectangle([left, top, w - right, h - bottom], outline="black")
    for f in np.arange(0, 0.2001, 0.05):
        d.line([px(f), h - bottom, px(f), h - bottom + 5], fill="black")
        d.text((px(f) - 10, h - bottom + 8), f"{f * 100:.0f}%", fill="black")
    step = 0.005 if ymax < 0.05 else 0.01
    for v in np.arange(0, ymax, step):
        d.line([left - 5, py(v), left, py(v)], fill="black")
        d.text((left - 48, py(v) - 6), f"{v * 100:.1f}%", fill="black")
    d.text((left, 15), title, fill="black")
    d.text(((w - right + left) // 2 - 120, h - 25), "lowest-quality same-person pairs rejected",
           fill="black")
    d.text((5, top - 20), "FRR at 0.93", fill="black")
    colours = ["black", "red", "blue", "green", "orange", "purple", "grey"]
    for i, (name, ys) in enumerate(curves.items()):
        c = colours[i % len(colours)]
        pts = [(px(f), py(v)) for f, v in zip(FRACTIONS, ys, strict=True)]
        d.line(pts, fill=c, width=3 if i == 0 else 1)
        d.line([w - right + 15, top + 20 * i + 6, w - right + 40, top + 20 * i + 6], fill=c, width=3)
        d.text((w - right + 45, top + 20 * i), name, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", metavar="TMPDIR", help="keep vectors and scores between runs")
    ap.add_argument("--png", default=str(REPO / "docs" / "quality_erc.png"))
    args = ap.parse_args()
    pairs = read_pairs(require(LFW / "pairs.txt", "LFW pairs.txt"))
    keys = sorted({p.a for p in pairs} | {p.b for p in pairs})
    index = {k: i for i, k in enumerate(keys)}
    pipe = Pipeline()
    vectors, table, found = measure_images(pipe, keys, args.cache)
    threshold = float(pipe.cosine_for_similarity(0.93))
    a = np.array([index[p.a] for p in pairs])
    b = np.array([index[p.b] for p in pairs])
    same = np.array([p.same for p in pairs])
    fold = np.array([p.fold for p in pairs])
    cos = (vectors[a] * vectors[b]).sum(1)
    # Higher is better for every ranking: total_score, 1 - component.
    rank = {"total_score": table[:, 0]}
    rank.update({name: 1 - table[:, 1 + i] for i, name in enumerate(COMPONENTS)})
    g = same
    summary: dict = {"benchmark": "quality_lfw", "model": pipe.model_id,
                     "cosine_at_0.93": round(threshold, 6), "same_person_pairs": int(g.sum()),
                     "no_face_images": int((~found).sum()), "fractions": FRACTIONS.tolist()}
    curves = {}
    for name, q in rank.items():
        pair_q = np.minimum(q[a], q[b])
        curve = frr_after_reject(cos[g], pair_q[g], threshold)
        curves[name] = curve
        summary[f"frr_{name}"] = [round(v, 5) for v in curve]
    base = curves["total_score"][0]
    for frac in (0.05, 0.10):
        i = int(round(frac * 100))
        v = curves["total_score"][i]
        summary[f"frr_drop{i}"] = round(v, 5)
        summary[f"frr_change_drop{i}"] = round(v / base - 1, 4)
    images = frr_after_image_reject(cos[g], a[g], b[g], rank["total_score"], threshold)
    summary["frr_total_score_images_dropped"] = [round(v, 5) for v in images]
    halves = {}
    for label, m in (("folds_1-5", fold < 5), ("folds_6-10", fold >= 5)):
        mg = g & m
        curve = frr_after_reject(cos[mg], np.minimum(rank["total_score"][a], rank["total_score"][b])[mg],
                                 threshold)
        halves[label] = {"pairs": int(mg.sum()), "frr": round(curve[0], 5),
                         "frr_drop5": round(curve[5], 5), "frr_drop10": round(curve[10], 5),
                         "change_drop10": round(curve[10] / curve[0] - 1, 4) if curve[0] else None}
    summary["halves"] = halves
    # Distribution of the score, for reading FRS's "> 0.45" advice here.
    tot = table[found, 0]
    summary["total_score_percentiles"] = {str(p): round(float(np.percentile(tot, p)), 3)
                                          for p in (1, 5, 10, 25, 50)}
    summary["share_below_0.45"] = round(float((tot < 0.45).mean()), 4)
    plot(curves, Path(args.png), f"LFW error-versus-reject: FRR at 0.93 ({pipe.model_id}, "
                                 f"{int(g.sum())} same-person pairs)")
    summary["png"] = str(Path(args.png).resolve().relative_to(REPO)) if Path(
        args.png).resolve().is_relative_to(REPO) else args.png
    for name, curve in curves.items():
        print(f"{name:13s} FRR {curve[0] * 100:.2f}% -> drop 5% {curve[5] * 100:.2f}% "
              f"({curve[5] / curve[0] - 1:+.0%}), drop 10% {curve[10] * 100:.2f}% "
              f"({curve[10] / curve[0] - 1:+.0%})")
    print_summary(summary)


if __name__ == "__main__":
    main()
