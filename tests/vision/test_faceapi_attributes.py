"""The face-api.js age/gender and expression nets as the service runs them
(opt-in: ``make models OPT_IN=faceapi_attributes``; skipped when not built).
Numbers checked against face-api itself come from
models/verify_faceapi_attributes.py (recorded in models/verification_faceapi.json)."""
from __future__ import annotations

import numpy as np
import pytest

from chalicelib.vision.engine import DetectedFace
from chalicelib.vision.faceapi_attributes import (
    EXPRESSIONS,
    FaceApiAttributes,
    crop_region,
    face_input,
    pad_to_square,
    resize_bilinear_tf,
)
from tests.vision.conftest import central_face


def test_pad_to_square_centres_with_the_extra_column_after():
    img = np.ones((6, 3, 3), np.float32)
    sq = pad_to_square(img)
    assert sq.shape == (6, 6, 3)
    # diff 3: Math.round(1.5) = 2 columns after, 1 before (padToSquare(x, true)).
    assert sq[:, 0].sum() == 0 and sq[:, 1:4].min() == 1 and sq[:, 4:].sum() == 0


def test_resize_is_tensorflows_legacy_bilinear():
    img = np.array([[0, 10], [20, 30]], np.float32)[..., None].repeat(3, 2)
    out = resize_bilinear_tf(img, 4)[..., 0]
    # Source coordinate dst * in / out, no half-pixel shift, edge clamped.
    np.testing.assert_allclose(out[0], [0, 5, 10, 10])
    np.testing.assert_allclose(out[:, 0], [0, 10, 20, 20])
    np.testing.assert_allclose(out[1, 1], 15)


def test_crop_region_is_clipped_and_empty_outside():
    assert crop_region((100, 100, 3), (-10, 20, 40, 40), 1.0) == (0, 20, 30, 40)
    assert crop_region((100, 100, 3), (10, 5, 20, 40), 1.5) == (5, 0, 30, 55)
    assert crop_region((100, 100, 3), (200, 200, 20, 20), 1.0) is None


def test_net_input_is_the_rgb_face_region():
    image = np.random.default_rng(5).integers(0, 256, (60, 80, 3), dtype=np.uint8)  # BGR, as decoded
    face = DetectedFace(box=(10, 5, 30, 40), landmarks=np.zeros((5, 2), np.float32), score=0.9)
    x = FaceApiAttributes.net_input(image, face, 1.0)
    assert x is not None and x.shape == (1, 3, 112, 112)
    np.testing.assert_array_equal(x, face_input(image[5:45, 10:40, ::-1].astype(np.float32)))


@pytest.fixture(scope="module")
def nets():
    from chalicelib.inference.manifest import has_model, model_entry
    if not (has_model("faceapi_age_gender") and has_model("faceapi_expression")):
        pytest.skip("opt-in face-api attribute models are not built: make models OPT_IN=faceapi_attributes")
    return FaceApiAttributes(model_entry("faceapi_age_gender")[1], model_entry("faceapi_expression")[1])


def test_graph_gives_face_apis_own_answer_on_a_fixed_input(nets):
    # models/verify_faceapi_attributes.py case random_0: face-api 1.7.15 in node
    # (tfjs 4.22.0 CPU) answered age 71.347, P(male) 0.8768, top class neutral.
    img = np.random.default_rng(16).uniform(0, 255, (112, 112, 3)).astype(np.float32)
    x = face_input(img)
    age, gender = nets._age_gender.run(["age", "gender"], {"input": x})
    (expr,) = nets._expression.run(["expression"], {"input": x})
    assert age.shape == (1,) and gender.shape == (1, 2) and expr.shape == (1, 7)
    assert age[0] == pytest.approx(71.347, abs=2e-3)
    assert gender[0, 0] == pytest.approx(0.8768, abs=1e-4)
    assert gender.sum() == pytest.approx(1, abs=1e-5) and expr.sum() == pytest.approx(1, abs=1e-5)
    assert int(np.argmax(expr[0])) == 0


def test_batches_are_answered_row_by_row(nets):
    rng = np.random.default_rng(3)
    xs = np.concatenate([face_input(rng.uniform(0, 255, (90, 70, 3)).astype(np.float32)) for _ in range(3)])
    age, gender = nets._age_gender.run(["age", "gender"], {"input": xs})
    assert age.shape == (3,) and gender.shape == (3, 2)
    one_age, _ = nets._age_gender.run(["age", "gender"], {"input": xs[1:2]})
    assert one_age[0] == pytest.approx(age[1], abs=1e-4)



@pytest.mark.parametrize("parts, gender, lo, hi", [
    (("stills", "face_recognition", "obama.jpg"), "male", 35, 70),
    (("stills", "face_recognition", "biden.jpg"), "male", 50, 90),
    (("stills", "deepface", "img2.jpg"), "female", 20, 50),
    (("stills", "deepface", "img42.jpg"), "female", 20, 50),
])
def test_known_faces(nets, engine, load, parts, gender, lo, hi):
    image = load(*parts)
    est = nets.age_gender(image, central_face(engine, image))
    assert est is not None and est.gender == gender and lo <= est.age <= hi, est


def test_a_mirrored_face_is_nearly_the_same_age_and_the_same_gender(nets, engine, load):
    # The runner averages the face and its mirror, but the detector's box on the
    # mirrored photo is not the mirrored box: 0-3 years apart on these stills.
    gaps = []
    for parts in (("face_recognition", "obama.jpg"), ("face_recognition", "biden.jpg"),
                  ("deepface", "img2.jpg"), ("deepface", "img12.jpg"), ("deepface", "img42.jpg")):
        image = load("stills", *parts)
        a = nets.age_gender(image, central_face(engine, image))
        flipped = np.ascontiguousarray(image[:, ::-1])
        b = nets.age_gender(flipped, central_face(engine, flipped))
        assert a is not None and b is not None and a.gender == b.gender, parts
        gaps.append(abs(a.age - b.age))
    assert max(gaps) <= 6 and float(np.mean(gaps)) <= 4, gaps


def test_another_crop_changes_the_answer(nets, engine, load):
    image = load("stills", "deepface", "img1.jpg")
    face = central_face(engine, image)
    x1 = nets.net_input(image, face, 1.0)
    x2 = nets.net_input(image, face, 1.8)
    a1, _ = nets._age_gender.run(["age", "gender"], {"input": x1})
    a2, _ = nets._age_gender.run(["age", "gender"], {"input": x2})
    assert abs(float(a1[0]) - float(a2[0])) > 0.5


def test_expression_answers_in_the_sdk_vocabulary(nets, engine, load):
    image = load("stills", "face_recognition", "obama.jpg")  # a broad smile
    got = nets.expression(image, central_face(engine, image))
    assert got is not None and got["type"] == "happy" and 0.5 < got["probability"] <= 1.0
    image = load("stills", "deepface", "img30.jpg")  # closed mouth, no smile
    got = nets.expression(image, central_face(engine, image))
    assert got is not None and got["type"] == "neutral"
    assert set(EXPRESSIONS) == {"neutral", "happy", "fear", "surprise", "sad", "angry", "disgust"}


def test_a_face_outside_the_image_gets_no_answer(nets):
    image = np.zeros((50, 50, 3), np.uint8)
    face = DetectedFace(box=(80, 80, 20, 20), landmarks=np.zeros((5, 2), np.float32), score=0.9)
    assert nets.age_gender(image, face) is None and nets.expression(image, face) is None


def test_the_built_graphs_are_the_ones_compared_with_face_api(nets):
    # The converter copies models/verification_faceapi.json into the entry only
    # while its ONNX sha256 matches; a changed graph needs the node comparison again.
    from chalicelib.inference.manifest import model_entry
    for role, outputs in (("faceapi_age_gender", ("age", "gender")), ("faceapi_expression", ("expression",))):
        ver = model_entry(role)[0]["verification"]
        assert "max_abs_diff" in ver, ver.get("status")
        for kind in ("graph", "with_preprocessing"):
            for out in outputs:
                assert ver["max_abs_diff"][kind][out] < 1e-3
