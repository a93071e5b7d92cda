"""Face detection recall on Caltech 10k Web Faces (every 5th image).

    python -m bench.detect_caltech [--limit N]

Ground truth is points (eyes, nose, mouth centre), not boxes. A labelled
face counts as found when one detection box contains both eyes and the mouth
and the box width is 1.2-5x the eye distance (a box that merely covers the
whole picture does not count). Each detection can find one face. Recall is
split by eye distance (< 20 px, >= 20 px). Unmatched detections are reported
per image as false positives, which is only indicative: many background
faces are unlabelled. Latency is the engine's ``detect`` on the decoded
image. The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from bench._common import CALTECH, percentile_ms, print_summary, require

MIN_WIDTH_PER_EYE_DIST = 1.2
MAX_WIDTH_PER_EYE_DIST = 5.0
SMALL_EYE_DIST = 20.0


def read_ground_truth(path):
    faces = defaultdict(list)
    for line in path.read_text().splitlines():
        p = line.split()
        if len(p) != 9:
            continue
        pts = np.array([float(v) for v in p[1:]]).reshape(4, 2)  # leye, reye, nose, mouth
        faces[p[0]].append(pts)
    return faces


def box_finds(box, pts) -> bool:
    x, y, w, h = box
    eye_dist = float(np.linalg.norm(pts[0] - pts[1]))
    needed = pts[[0, 1, 3]]  # both eyes and the mouth
    inside = np.all((needed[:, 0] >= x) & (needed[:, 0] <= x + w)
                    & (needed[:, 1] >= y) & (needed[:, 1] <= y + h))
    fits = MIN_WIDTH_PER_EYE_DIST * eye_dist <= w <= MAX_WIDTH_PER_EYE_DIST * max(eye_dist, 1.0)
    return bool(inside and fits)


def match(boxes, truths):
    """Greedy one-to-one matching; answer found flags per truth and the
    number of unmatched boxes."""
    used = set()
    found = []
    for pts in truths:
        centre = pts[[0, 1, 3]].mean(0)
        cands = [(np.hypot(b[0] + b[2] / 2 - centre[0], b[1] + b[3] / 2 - centre[1]), i)
                 for i, b in enumerate(boxes) if i not in used and box_finds(b, pts)]
        if cands:
            used.add(min(cands)[1])
            found.append(True)
        else:
            found.append(False)
    return found, len(boxes) - len(used)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N images")
    args = ap.parse_args()
    from chalicelib.vision import decode_image, get_engine
    engine = get_engine()
    truth = read_ground_truth(require(CALTECH / "ground_truth.txt", "Caltech ground truth"))
    files = sorted(truth)
    if args.limit:
        files = files[: args.limit]
    stats = {"small": [0, 0], "large": [0, 0]}  # found, total
    fps, latencies, missed = 0, [], []
    engine.detect(decode_image((CALTECH / files[0]).read_bytes()))  # load the model first
    for name in files:
        image = decode_image((CALTECH / name).read_bytes())
        t0 = time.perf_counter()
        faces = engine.detect(image)
        latencies.append(time.perf_counter() - t0)
        found, unmatched = match([f.box for f in faces], truth[name])
        fps += unmatched
        for pts, ok in zip(truth[name], found, strict=True):
            bucket = "small" if np.linalg.norm(pts[0] - pts[1]) < SMALL_EYE_DIST else "large"
            stats[bucket][0] += ok
            stats[bucket][1] += 1
            if not ok and bucket == "large":
                missed.append(name)
    recall = {k: (v[0] / v[1] if v[1] else None) for k, v in stats.items()}
    total_found = stats["small"][0] + stats["large"][0]
    total = stats["small"][1] + stats["large"][1]
    print(f"Caltech: recall eye>=20px {recall['large'] * 100:.2f}% "
          f"({stats['large'][0]}/{stats['large'][1]}), "
          f"eye<20px {recall['small'] * 100 if recall['small'] is not None else float('nan'):.2f}% "
          f"({stats['small'][0]}/{stats['small'][1]}), FP/image {fps / len(files):.3f}, "
          f"detect p50 {percentile_ms(latencies, 50)} ms")
    if missed:
        print("missed (eye >= 20 px):", " ".join(sorted(set(missed))[:40]))
    print_summary({
        "benchmark": "caltech_detection",
        "images": len(files),
        "labelled_faces": total,
        "recall_all": round(total_found / total, 5),
        "recall_eye_ge_20px": round(recall["large"], 5),
        "recall_eye_lt_20px": round(recall["small"], 5) if recall["small"] is not None else None,
        "faces_eye_ge_20px": stats["large"][1],
        "faces_eye_lt_20px": stats["small"][1],
        "false_positives_per_image": round(fps / len(files), 4),
        "detect_ms_p50": percentile_ms(latencies, 50),
        "detect_ms_p95": percentile_ms(latencies, 95),
    })


if __name__ == "__main__":
    main()
