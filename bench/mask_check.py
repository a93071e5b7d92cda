"""The mask attribute on synthetic masked faces, per group and mask style.

    python -m bench.mask_check [--per-group N] [--lfw N] [--cache DIR]

No labelled masked-face data set exists here, so one is made (bench/mask_synth.py):
UTKFace adults (18-60, ``--per-group`` chips of each race x gender group,
spread evenly over the group's sorted names) and LFW (the first image of
``--lfw`` identities spread over the sorted names), each as it is (label
"none"), with each of four drawn mask styles (label "yes"), and with two
hard negatives that cover the lower face but are not masks (a hand over the
mouth, a beard: label "none"). Generated images are cached as PNG under
``--cache`` (default /tmp/openfrs-mask-check, owner-only, one folder per
version of mask_synth.py), never in the repo.

Two ways of asking, both reported:
- ``model``: the mask model on the face box detected in the unmasked image
  (what the model can tell, without the detector's misses);
- ``pipeline``: detect on the generated image as the API does (default
  threshold, the detection overlapping the original box most), then the
  mask model on that box; accuracy over the detected faces, and
  ``end-to-end`` with a missed face counted as wrong (a masked face the
  detector misses gets no mask answer at all). Detection rates and the
  median detector-score ratio (styled / unmasked) are reported per style.

This is weak evidence: pasted-on flat masks are easier (and different) than
real ones, and the model's training recipe uses pasted-on masks itself.
Also reported: every face detected in the still photos (real people,
none masked), the only real images here, for false "yes" answers.
The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from bench import mask_synth
from bench._common import LFW, STILLS, percentile_ms, print_summary, private_dir, require, utk_chips
from bench.mask_synth import MASK_STYLES, NEGATIVE_STYLES, draw_occluder, mesh_points

UNMASKED = "unmasked"
STYLES = (UNMASKED,) + MASK_STYLES + NEGATIVE_STYLES
GENDER = {0: "male", 1: "female"}


def expected(style: str) -> str:
    return "yes" if style in MASK_STYLES else "none"


def utk_sources(per_group: int) -> list[tuple[str, Path, str]]:
    """(key, path, group) of UTKFace adults, ``per_group`` per race x gender."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for chip in utk_chips():
        if 18 <= chip.age <= 60:
            groups[f"{chip.race} {GENDER[chip.gender]}"].append(chip.path)
    out = []
    for group, paths in sorted(groups.items()):
        pick = np.unique(np.linspace(0, len(paths) - 1, min(per_group, len(paths))).round().astype(int))
        out += [(f"utk/{paths[i].name}", paths[i], group) for i in pick]
    return out


def lfw_sources(count: int) -> list[tuple[str, Path, str]]:
    people = sorted(p for p in require(LFW / "images", "LFW").iterdir() if p.is_dir())
    pick = np.unique(np.linspace(0, len(people) - 1, min(count, len(people))).round().astype(int))
    out = []
    for i in pick:
        first = sorted(people[i].glob("*.jpg"))[0]
        out.append((f"lfw/{first.name}", first, "LFW"))
    return out


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter) if inter else 0.0


def same_face(engine, image, box):
    """The detection (default threshold) that is the original face, or None."""
    faces = [f for f in engine.detect(image) if iou(f.box, box) > 0.3]
    return max(faces, key=lambda f: iou(f.box, box)) if faces else None


def variants(key: str, image: np.ndarray, face, cache: Path) -> dict[str, np.ndarray]:
    """The source image under each style, from the cache when made before."""
    from chalicelib.vision import decode_image
    out = {UNMASKED: image}
    points = None
    for style in STYLES[1:]:
        path = cache / style / (key.replace("/", "__") + ".png")
        if path.is_file():
            out[style] = decode_image(path.read_bytes())
            continue
        if points is None:
            points = mesh_points(image, face.landmarks, face.box)
        out[style] = draw_occluder(image, points, style, key)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(out[style][..., ::-1]).save(buf, format="PNG")  # lossless: the cache is exact
        path.write_bytes(buf.getvalue())
        path.chmod(0o600)
    return out


def _acc(rows: list[dict], how: str) -> float | None:
    got = [r[how] == r["truth"] for r in rows if r[how] is not None]
    return round(100.0 * float(np.mean(got)), 1) if got else None


def _e2e(rows: list[dict]) -> float | None:
    """Pipeline accuracy with a missed detection counted as a wrong answer."""
    return round(100.0 * float(np.mean([r["pipeline"] == r["truth"] for r in rows])), 1) if rows else None


def _table(rows: list[dict]) -> dict:
    masked = [r for r in rows if r["style"] in MASK_STYLES]
    bare = [r for r in rows if r["style"] == UNMASKED]
    neg = [r for r in rows if r["style"] in NEGATIVE_STYLES]
    return {"n_faces": len(bare),
            "masked_model_acc": _acc(masked, "model"), "unmasked_model_acc": _acc(bare, "model"),
            "negatives_model_acc": _acc(neg, "model"),
            "masked_pipeline_acc": _acc(masked, "pipeline"), "masked_end_to_end_acc": _e2e(masked),
            "unmasked_pipeline_acc": _acc(bare, "pipeline"),
            "masked_detect_rate": round(100.0 * float(np.mean([r["detected"] for r in masked])), 1)
            if masked else None}


def threshold_curve(rows: list[dict], thresholds=(0.5, 0.7, 0.9, 0.97, 0.99)) -> dict:
    """Per threshold on p(with_mask): the share of masked images answered
    "yes" and of unmasked / hand / beard images answered "none"."""
    def share(style_set, above: bool, t: float) -> float:
        ps = [r["p_mask"] for r in rows if r["style"] in style_set and r["p_mask"] is not None]
        return round(100.0 * float(np.mean([(p > t) == above for p in ps])), 1) if ps else float("nan")
    return {f"{t:g}": {"masked": share(MASK_STYLES, True, t), "unmasked": share((UNMASKED,), False, t),
                       "hand_over_mouth": share(("hand_over_mouth",), False, t),
                       "beard": share(("beard",), False, t)} for t in thresholds}


def real_unmasked_stills(engine, clf) -> dict:
    """Every face detected in the still photos (real, unmasked people):
    how many the model calls unmasked. Real false positives, small set."""
    from chalicelib.errors import FrsError
    from chalicelib.vision import decode_image
    faces = none = 0
    for path in sorted(p for p in STILLS.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        try:
            image = decode_image(path.read_bytes())
        except FrsError:
            continue  # over the API's size limit: the API would refuse it too
        for face in engine.detect(image):
            answer = clf.mask_state(image, face)
            faces += 1
            none += answer is not None and answer[0] == "none"
    return {"faces": faces, "none_acc": round(100.0 * none / faces, 1) if faces else None}


def main() -> None:
    from chalicelib.vision import decode_image, get_engine
    from chalicelib.vision.attributes import MASK
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-group", type=int, default=40, help="UTKFace adults per race x gender group")
    ap.add_argument("--lfw", type=int, default=200, help="LFW identities (first image of each)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/openfrs-mask-check"))
    args = ap.parse_args()
    engine = get_engine()
    clf = engine.attribute_models().runner(MASK)
    if clf is None:
        sys.exit("the mask model is not built: make models OPT_IN=mask")
    # a change to the drawing code starts a fresh cache
    synth = hashlib.sha256(Path(mask_synth.__file__).read_bytes()).hexdigest()[:12]
    cache = private_dir(args.cache / synth)
    sources = utk_sources(args.per_group) + lfw_sources(args.lfw)
    rows: list[dict] = []
    no_face = 0
    times: list[float] = []
    t0 = time.time()
    for i, (key, path, group) in enumerate(sources):
        image = decode_image(path.read_bytes())
        faces = engine.detect(image)
        if not faces:
            no_face += 1
            continue
        h, w = image.shape[:2]
        face = min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
                   + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)
        for style, img in variants(key, image, face, cache).items():
            t = time.perf_counter()
            model = clf.mask_state(img, face)
            times.append(time.perf_counter() - t)
            p_mask = (model[1] if model[0] == "yes" else 1.0 - model[1]) if model else None
            found = face if style == UNMASKED else same_face(engine, img, face.box)
            pipe = clf.mask_state(img, found) if found is not None else None
            rows.append({"group": group, "style": style, "truth": expected(style),
                         "model": model[0] if model else None, "pipeline": pipe[0] if pipe else None,
                         "detected": found is not None, "p_mask": p_mask,
                         "score_ratio": (found.score / face.score) if found is not None else 0.0})
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(sources)} faces, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)

    print(f"mask check: {len(sources)} source faces ({no_face} without a detected face, skipped), "
          f"{len(rows)} images; model {percentile_ms(times, 50)} ms/face (median)")
    print("\nper style (model: original box; pipeline: detected on the styled image)")
    print(f"{'style':18s} {'truth':5s} {'n':>5s} {'model %':>8s} {'pipeline %':>10s} {'end-to-end %':>12s} "
          f"{'detected %':>10s} {'score ratio':>11s}")
    per_style = {}
    for style in STYLES:
        rs = [r for r in rows if r["style"] == style]
        if not rs:
            continue
        det = [r for r in rs if r["detected"]]
        per_style[style] = {"n": len(rs), "model_acc": _acc(rs, "model"),
                            "pipeline_acc": _acc(rs, "pipeline"), "end_to_end_acc": _e2e(rs),
                            "detect_rate": round(100.0 * len(det) / len(rs), 1),
                            "median_score_ratio": round(float(np.median([r["score_ratio"] for r in det])), 3)
                            if det else None}
        s = per_style[style]
        print(f"{style:18s} {expected(style):5s} {s['n']:5d} {s['model_acc']!s:>8s} "
              f"{s['pipeline_acc']!s:>10s} {s['end_to_end_acc']!s:>12s} "
              f"{s['detect_rate']:>10.1f} {s['median_score_ratio']!s:>11s}")

    print("\nper group (masked = the four mask styles pooled; negatives = hand + beard)")
    print(f"{'group':24s} {'faces':>5s} {'masked %':>8s} {'unmasked %':>10s} {'negatives %':>11s} "
          f"{'masked pipe %':>13s} {'masked det %':>12s}")
    per_group = {}
    for group in sorted({r["group"] for r in rows}):
        t = per_group[group] = _table([r for r in rows if r["group"] == group])
        print(f"{group:24s} {t['n_faces']:5d} {t['masked_model_acc']!s:>8s} "
              f"{t['unmasked_model_acc']!s:>10s} {t['negatives_model_acc']!s:>11s} "
              f"{t['masked_pipeline_acc']!s:>13s} {t['masked_detect_rate']!s:>12s}")
    curve = threshold_curve(rows)
    print("\nif 'yes' needed p(with_mask) above (model; the service keeps the publisher's 0.5):")
    print(f"{'threshold':>9s} {'masked yes %':>12s} {'unmasked none %':>15s} {'hand none %':>11s} "
          f"{'beard none %':>12s}")
    for t, c in curve.items():
        print(f"{t:>9s} {c['masked']:>12.1f} {c['unmasked']:>15.1f} {c['hand_over_mouth']:>11.1f} "
              f"{c['beard']:>12.1f}")
    stills = real_unmasked_stills(engine, clf)
    if stills["faces"]:
        print(f"\nreal photos, nobody masked (../shared/datasets/stills, every detected face): "
              f"{stills['faces']} faces, {stills['none_acc']} % answered none")
    utk = {g: t for g, t in per_group.items() if g != "LFW"}
    worst = {k: min((t[k] for t in utk.values() if t[k] is not None), default=None)
             for k in ("masked_model_acc", "unmasked_model_acc", "negatives_model_acc", "masked_detect_rate")}
    print_summary({"bench": "mask_check", "source_faces": len(sources), "no_face": no_face,
                   "images": len(rows), "overall": _table(rows), "per_style": per_style,
                   "utk_worst_group": worst, "stills_unmasked": stills, "threshold_curve": curve,
                   "lfw": per_group.get("LFW"),
                   "model_ms_median": percentile_ms(times, 50), "seconds": round(time.time() - t0, 1)})


if __name__ == "__main__":
    main()
