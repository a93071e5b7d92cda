"""Per-stage latency of the face pipeline against face_recognition.

    python -m bench.pipeline_speed [--runs N] [--no-baseline] [--attributes]

Test images are built from real photos (no synthetic faces): the 1-face
images are Obama portraits from ``stills/face_recognition`` fitted to
640x480 and 1920x1080; the 5-face images are five LFW photos of different
people laid out on a canvas of that size. Each image is JPEG-encoded once;
every run then times, per stage:

- ours: decode (``decode_image``), detect (CenterFace), align (5-point
  similarity warp, all faces), embed (the default embedder, SFace, or
  ``--embedder NAME``; all faces);
- face_recognition 1.3.0 (dlib HOG detector with its default one upsample,
  5-point shape predictor + face chip, the same ResNet through dlib):
  decode (PIL, as ``load_image_file``), detect (``face_locations``),
  align (``pose_predictor_5_point`` + chip extraction), embed
  (``compute_face_descriptor`` on the chips).

``--attributes`` also times what each set of detect ``attributes`` codes
adds after detection on the 640x480 one-face image (quality, face_angle,
age+gender, expression, mask, the "unknown" ones; interleaved; the
opt-in attribute backends are those chalicelib/vision/attributes.py picks).

Reports p50/p95 per stage and the ratio of total p50 (theirs / ours), in
wall time and in process CPU time (``total_cpu``; with ``FRS_ORT_THREADS=1``
both sides use one core, and CPU time is what a busy machine cannot
distort). Run on a quiet machine for README wall-time figures. The
last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import io
import time

import cv2
import numpy as np
from PIL import Image

from bench._common import LFW, STILLS, Pipeline, percentile_ms, print_summary, require

FIVE_PEOPLE = ["Aaron_Eckhart_0001", "Colin_Powell_0001", "Serena_Williams_0001",
               "Hugo_Chavez_0001", "Gloria_Macapagal_Arroyo_0001"]


def fit_portrait(path, size):
    """Scale-and-crop a portrait photo to exactly ``size`` (w, h)."""
    img = cv2.imread(str(path))
    w, h = size
    s = max(w / img.shape[1], h / img.shape[0])
    img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return img[y0:y0 + h, x0:x0 + w]


def five_faces(size):
    """Five LFW photos of different people side by side on a grey canvas."""
    w, h = size
    canvas = np.full((h, w, 3), 110, np.uint8)
    tile = min(w // 3, h // 2)
    for i, stem in enumerate(FIVE_PEOPLE):
        name = stem.rsplit("_", 1)[0]
        img = cv2.imread(str(require(LFW / "images" / name / f"{stem}.jpg", "LFW image")))
        img = cv2.resize(img, (tile, tile), interpolation=cv2.INTER_AREA)
        r, c = divmod(i, 3)
        y0 = (h - 2 * tile) // 2 + r * tile
        x0 = (w - 3 * tile) // 2 + c * tile + (tile // 2 if r == 1 else 0)
        canvas[y0:y0 + tile, x0:x0 + tile] = img
    return canvas


def test_images():
    portrait_small = require(STILLS / "face_recognition" / "obama-480p.jpg", "stills")
    portrait_big = require(STILLS / "face_recognition" / "obama-1080p.jpg", "stills")
    images = {
        "640x480_1face": (fit_portrait(portrait_small, (640, 480)), 1),
        "640x480_5faces": (five_faces((640, 480)), 5),
        "1920x1080_1face": (fit_portrait(portrait_big, (1920, 1080)), 1),
        "1920x1080_5faces": (five_faces((1920, 1080)), 5),
    }
    out = {}
    for key, (img, n) in images.items():
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out[key] = (buf.tobytes(), n)
    return out


def time_ours(engine, data, runs):
    from chalicelib.vision import decode_image
    st = {k: [] for k in ("decode", "detect", "align", "embed")}
    faces_found = 0
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        image = decode_image(data)
        t1 = time.perf_counter()
        faces = engine.detect(image)
        t2 = time.perf_counter()
        chips = [engine.rec.align(image, f) for f in faces]
        t3 = time.perf_counter()
        if chips:
            engine.rec.embedder.embed_chips(chips)
        t4 = time.perf_counter()
        record(st, c0, t0, t1, t2, t3, t4)
        faces_found = len(faces)
    return st, faces_found


def record(st, c0, t0, t1, t2, t3, t4):
    """One run's stage times (decode, detect, align, embed), wall total and
    process CPU since ``c0``."""
    for k, a, b in (("decode", t0, t1), ("detect", t1, t2), ("align", t2, t3), ("embed", t3, t4)):
        st[k].append(b - a)
    st.setdefault("total", []).append(t4 - t0)
    st.setdefault("total_cpu", []).append(time.process_time() - c0)


def time_face_recognition(data, runs):
    import dlib
    import face_recognition
    from face_recognition import api
    st = {k: [] for k in ("decode", "detect", "align", "embed")}
    faces_found = 0
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        image = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
        t1 = time.perf_counter()
        locations = face_recognition.face_locations(image)
        t2 = time.perf_counter()
        rects = [api._css_to_rect(loc) for loc in locations]
        shapes = [api.pose_predictor_5_point(image, r) for r in rects]
        chips = [dlib.get_face_chip(image, s, size=150, padding=0.25) for s in shapes]
        t3 = time.perf_counter()
        for chip in chips:
            api.face_encoder.compute_face_descriptor(chip)
        t4 = time.perf_counter()
        record(st, c0, t0, t1, t2, t3, t4)
        faces_found = len(locations)
    return st, faces_found


ATTRIBUTE_SETS = {"quality (12)": "12", "face_angle (21)": "21", "quality+face_angle (12,21)": "12,21",
                  "age+gender (1,2)": "1,2", "expression (13)": "13", "mask (6)": "6",
                  "unknown-only (4,7,8,11)": "4,7,8,11",
                  "all (1,2,4,6,7,8,11,12,13,21)": "1,2,4,6,7,8,11,12,13,21"}


def time_attributes(data, runs):
    """Per-attribute cost on detect: the time ``face_attributes`` adds after
    detection for each set of codes, interleaved over the same decoded image
    and faces (so load hits every set alike); p50/p95 ms."""
    from chalicelib.services.attributes import face_attributes
    from chalicelib.vision import decode_image, get_engine
    engine = get_engine()
    image = decode_image(data)
    faces = engine.detect_any_rotation(image)
    sets = {k: frozenset(int(c) for c in v.split(",")) for k, v in ATTRIBUTE_SETS.items()}
    for codes in sets.values():
        face_attributes(image, faces, codes)  # load every model first
    st: dict[str, list[float]] = {k: [] for k in sets}
    cpu: dict[str, list[float]] = {k: [] for k in sets}
    for _ in range(runs):
        for k, codes in sets.items():
            c0, t0 = time.process_time(), time.perf_counter()
            face_attributes(image, faces, codes)
            st[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    # CPU time (all threads) is what a loaded machine does not inflate.
    return {k: {"p50": percentile_ms(v, 50), "p95": percentile_ms(v, 95),
                "cpu_p50": percentile_ms(cpu[k], 50)} for k, v in st.items()}


def summarise(st):
    return {k: {"p50": percentile_ms(v, 50), "p95": percentile_ms(v, 95)} for k, v in st.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-baseline", action="store_true", help="skip face_recognition")
    ap.add_argument("--embedder", help="registered embedder family (default: the service's default)")
    ap.add_argument("--attributes", action="store_true",
                    help="also the cost of each detect attribute (640x480, one face)")
    args = ap.parse_args()
    from chalicelib.vision import decode_image
    engine = Pipeline(args.embedder)
    images = test_images()
    # Load both models before timing.
    warm = decode_image(images["640x480_1face"][0])
    engine.embed(warm, engine.detect(warm)[0])
    result = {"benchmark": "pipeline_speed", "runs": args.runs, "model": engine.model_id}
    for key, (data, expected) in images.items():
        ours, n_ours = time_ours(engine, data, args.runs)
        row = {"faces_expected": expected, "ours_faces": n_ours, "ours": summarise(ours)}
        row["ours_detect_embed_p50"] = percentile_ms(
            np.array(ours["detect"]) + np.array(ours["align"]) + np.array(ours["embed"]), 50)
        line = (f"{key}: ours {n_ours} faces, decode {row['ours']['decode']['p50']} / detect "
                f"{row['ours']['detect']['p50']} / align {row['ours']['align']['p50']} / embed "
                f"{row['ours']['embed']['p50']} ms, total p50 {row['ours']['total']['p50']} p95 "
                f"{row['ours']['total']['p95']}")
        if not args.no_baseline:
            theirs, n_theirs = time_face_recognition(data, max(5, args.runs // 3))
            row["face_recognition_faces"] = n_theirs
            row["face_recognition"] = summarise(theirs)
            row["speedup_total_p50"] = round(row["face_recognition"]["total"]["p50"]
                                             / row["ours"]["total"]["p50"], 2)
            row["speedup_cpu_p50"] = round(row["face_recognition"]["total_cpu"]["p50"]
                                           / row["ours"]["total_cpu"]["p50"], 2)
            line += (f" | face_recognition {n_theirs} faces, total p50 "
                     f"{row['face_recognition']['total']['p50']} ms -> {row['speedup_total_p50']}x "
                     f"(cpu {row['ours']['total_cpu']['p50']} vs "
                     f"{row['face_recognition']['total_cpu']['p50']} ms "
                     f"-> {row['speedup_cpu_p50']}x)")
        print(line, flush=True)
        result[key] = row
    if args.attributes:
        cost = time_attributes(images["640x480_1face"][0], args.runs)
        result["attributes_640x480_1face"] = cost
        for k, v in cost.items():
            print(f"attribute {k}: +{v['p50']} ms p50 (p95 {v['p95']}, cpu p50 {v['cpu_p50']})",
                  flush=True)
        result["attributes_12_21_overhead_p50_ms"] = cost["quality+face_angle (12,21)"]["p50"]
    one = result["640x480_1face"]
    result["detect_embed_640x480_1face_p50_ms"] = one["ours_detect_embed_p50"]
    if not args.no_baseline:
        result["min_speedup"] = min(result[k]["speedup_total_p50"] for k in images)
        result["min_speedup_cpu"] = min(result[k]["speedup_cpu_p50"] for k in images)
    print_summary(result)


if __name__ == "__main__":
    main()
