"""Face quality: each component reacts to its own problem on a real face
(and not to the others), and total_score follows the recogniser's
descriptor length. The LFW error-versus-reject proof is bench/quality_lfw.py."""
from __future__ import annotations

import numpy as np
import pytest

from chalicelib.vision import quality
from chalicelib.vision.sface import ARCFACE_TEMPLATE


def test_template_is_frontal():
    yaw, pitch, roll = quality.head_pose(ARCFACE_TEMPLATE)
    assert abs(yaw) < 0.01 and abs(pitch) < 1e-6 and abs(roll) < 1


def test_turned_nose_is_yaw_and_roll_is_not_yaw():
    lm = ARCFACE_TEMPLATE.astype(np.float64).copy()
    lm[2, 0] += 12  # nose towards one side: a head turn
    yaw, pitch, _ = quality.head_pose(lm)
    assert yaw > 0.3 and abs(pitch) < 0.05
    c = ARCFACE_TEMPLATE.mean(0)
    t = np.radians(30)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    yaw, pitch, roll = quality.head_pose((ARCFACE_TEMPLATE - c) @ rot.T + c)
    assert abs(yaw) < 0.01 and abs(pitch) < 1e-3 and abs(roll - 30) < 0.5


def test_exposure():
    rng = np.random.default_rng(0)
    normal = np.clip(rng.normal(130, 45, (80, 72)), 0, 255)
    assert quality.exposure(normal) == 0.0
    assert quality.exposure(normal * 0.15) > 0.8          # dark
    assert quality.exposure(np.clip(normal + 150, 0, 255)) > 0.8  # blown out
    assert quality.exposure(np.full((80, 72), 128.0)) == 1.0       # flat
    side = normal.copy()
    side[:, 36:] *= 0.3
    assert quality.exposure(side) > 0.5                    # lit from one side


@pytest.fixture(scope="module")
def face(load, engine):
    img = load("stills", "face_recognition", "obama.jpg")
    return img, engine.detect(img)[0]


def test_components_react_to_their_own_problem(face):
    from chalicelib.vision import pixels
    img, f = face
    base = quality.measure(img, f.landmarks, f.score, 13.0)
    assert max(base.blur, base.pose, base.occlusion, base.illumination) < 0.5
    # Blur: the face shrunk to 1/6 and blown back up.
    h, w = img.shape[:2]
    soft = pixels.resize(pixels.resize(img, (w // 6, h // 6)), (w, h), interpolation="linear")
    q = quality.measure(soft, f.landmarks, f.score, 13.0)
    assert q.blur > base.blur + 0.3 and q.illumination <= base.illumination + 0.1
    # Occlusion: the photo ends at the nose.
    x = int(f.landmarks[2, 0])
    q = quality.measure(img[:, :x], f.landmarks, f.score, 13.0)
    assert q.occlusion > 0.5 and q.occlusion > base.occlusion
    # Illumination: a dark photo.
    q = quality.measure((img * 0.15).astype(np.uint8), f.landmarks, f.score, 13.0)
    assert q.illumination > 0.7 and abs(q.pose - base.pose) < 1e-9


def test_total_score_follows_the_descriptor_length(face):
    img, f = face
    scores = [quality.measure(img, f.landmarks, f.score, n).total_score for n in (7, 9, 11, 13, 16)]
    assert scores[0] == 0.0 and scores[-1] > 0.9
    assert all(a < b for a, b in zip(scores, scores[1:-1], strict=False))
    # The detector's confidence on the chip shifts it: none found on the chip is 0.
    shifted = [quality.measure(img, f.landmarks, f.score, 13.0, chip_score=c).total_score
               for c in (0.0, 0.90, quality.CHIP_REF, 0.95)]
    assert shifted[0] == 0.0 and shifted[1] < shifted[2] < shifted[3]
    assert shifted[2] == pytest.approx(quality.measure(img, f.landmarks, f.score, 13.0).total_score)


def test_engine_quality_is_sfaces(face, engine):
    img, f = face
    q, vectors = engine.quality_and_vectors(img, [f])
    assert q[0].total_score > 0.45
    # A black face: no descriptor length or chip confidence worth the name.
    assert engine.quality(np.zeros_like(img), [f])[0].total_score == 0.0
    np.testing.assert_allclose(vectors[0], engine.recognizer_of_family("sface").embed_many(img, [f])[0],
                               atol=1e-5)
