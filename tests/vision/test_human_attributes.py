"""Age, gender and expression from the Human models as the service runs them
(opt-in: ``make models OPT_IN=human_attributes``; the model tests skip when
they are not built). Numbers checked against tfjs itself come from
``python -m models.verify_human_attributes`` (models/verification_human_attributes.json)."""
from __future__ import annotations

import numpy as np
import pytest

from chalicelib.vision import human_attributes as ha
from chalicelib.vision.engine import DetectedFace
from tests.vision.conftest import central_face


def _face(box: tuple[int, int, int, int]) -> DetectedFace:
    return DetectedFace(box=box, landmarks=np.zeros((5, 2), np.float32), score=0.9)


def test_face_tensor_is_the_square_of_1_4_boxes_in_rgb_with_black_outside():
    img = np.zeros((200, 300, 3), np.uint8)
    img[:, :, 2] = 200                      # red in BGR
    img[90:110, 140:160] = (255, 0, 0)      # a blue square at the box centre
    t = ha.face_tensor(img, _face((120, 70, 60, 60)))   # centre (150, 100)
    assert t.shape == (192, 192, 3) and t.dtype == np.float32
    np.testing.assert_allclose(t[96, 96], [0, 0, 1], atol=1e-6)        # blue, as RGB
    np.testing.assert_allclose(t[20, 20], [200 / 255, 0, 0], atol=1e-6)
    # Side 1.4 * 60 = 84 px: the 20 px square spans 20/84 of the tensor.
    blue = (t[..., 2] > 0.5).sum(axis=1).max()
    assert abs(blue - 192 * 20 / 84) <= 2


def test_face_tensor_is_black_where_the_square_leaves_the_image():
    img = np.full((100, 100, 3), 255, np.uint8)
    t = ha.face_tensor(img, _face((0, 0, 50, 50)))      # square from -10 to 60
    assert t[2, 2].max() == 0 and t[150, 150].min() == pytest.approx(1.0)
    # Box on a wide face: the square follows the longer side.
    wide = ha.face_tensor(np.full((400, 400, 3), 90, np.uint8), _face((100, 150, 200, 100)))
    assert wide.min() == pytest.approx(90 / 255)        # 280 px square fits in the image


def test_grey_input_weights_and_range():
    t = np.zeros((192, 192, 3), np.float32)
    t[..., 0] = 1.0                                     # pure red
    g = ha.grey_input(t)
    assert g.shape == (1, 64, 64, 1)
    np.testing.assert_allclose(g, (0.2989 - 0.5) * 2, atol=1e-6)


def test_gear_input_takes_humans_sub_crop():
    t = np.zeros((192, 192, 3), np.float32)
    t[:, :19] = 1.0                                     # left 10 %: cut away
    t[173:] = 0.5                                       # bottom 10 %: cut away
    g = ha.gear_input(t)
    assert g.shape == (1, 198, 198, 3)
    assert g.max() == 0.0


def test_gear_age_is_humans_weighted_walk():
    assert ha.gear_age(np.eye(7, dtype=np.float32)[3]) == pytest.approx(35.5)
    p = np.array([0, 0.6, 0.4, 0, 0, 0, 0], np.float32)
    assert ha.gear_age(p) == pytest.approx(23 + 0.4 * (28 - 23))
    p = np.array([0.1, 0, 0, 0.2, 0, 0.7, 0], np.float32)  # 55.5, then 35.5 (0.2), then 15 (0.1)
    a = 55.5 + 0.2 * (35.5 - 55.5)
    assert ha.gear_age(p) == pytest.approx(a + 0.1 * (15 - a))


@pytest.fixture(scope="module")
def roles():
    from chalicelib.inference.manifest import has_model, model_entry
    wanted = ("human_gear", "human_ssrnet_age", "human_gender", "human_emotion")
    if not all(has_model(r) for r in wanted):
        pytest.skip("opt-in Human attribute models are not built: make models OPT_IN=human_attributes")
    return {r: model_entry(r)[1] for r in wanted}


# tfjs 4.22.0 (CPU backend) on the first random input of
# models/verify_human_attributes.py (uniform over each model's range, seed 16).
TFJS_RANDOM_0 = {
    "human_gear": ("age", [0.993929, 4.8e-05, 0.00079, 0.000884, 0.000176, 0.004131, 4.2e-05], 1e-5),
    "human_ssrnet_age": ("age", [41.445835], 1e-3),
    "human_gender": ("gender", [0.440922, 0.559078], 1e-5),
    "human_emotion": ("emotion", [0.0, 0.0, 0.0, 0.0, 0.000206, 0.999794, 0.0], 1e-5),
}


@pytest.mark.parametrize("role", sorted(TFJS_RANDOM_0))
def test_graph_gives_tfjs_own_answer_on_a_fixed_input(roles, role):
    from chalicelib.inference.sessions import create_session
    from models.verify_human_attributes import FEEDS, random_inputs
    output, want, tol = TFJS_RANDOM_0[role]
    session = create_session(roles[role], small=True)
    inp = session.get_inputs()[0]
    lo, hi = FEEDS[role][1]
    x = random_inputs(tuple(inp.shape[1:]), lo, hi)[:1]
    got = session.run([output], {inp.name: x})[0][0]
    np.testing.assert_allclose(got.reshape(-1), want, atol=tol)



def test_real_faces_get_plausible_answers(roles, engine, load):
    gear = ha.HumanGearAgeGender(roles["human_gear"])
    ssr = ha.HumanSsrnetAgeGender(roles["human_ssrnet_age"], roles["human_gender"])
    emotion = ha.HumanEmotion(roles["human_emotion"])
    for name in ("obama.jpg", "biden.jpg"):
        image = load("stills", "face_recognition", name)
        face = central_face(engine, image)
        for runner in (gear, ssr):
            est = runner.age_gender(image, face)
            assert est is not None and est.gender == "male" and est.male_score > 0.5, (name, runner)
            assert 30 <= est.age <= 80, (name, runner, est)
        expr = emotion.expression(image, face)
        assert expr is not None and expr["type"] in ha.EMOTIONS and 0 < expr["probability"] <= 1
        probs = emotion.probabilities(image, face)
        assert sum(probs.values()) == pytest.approx(1, abs=1e-4)


def test_a_member_that_is_not_the_pinned_file_is_refused(tmp_path):
    import io
    import tarfile

    from models import convert_human_attributes as conv
    archive = tmp_path / "human-models.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in (("package/models/age.json", b'{"modelTopology": {}}'),
                           ("package/models/age.bin", b"\0" * 16)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    with pytest.raises(RuntimeError, match="sha256"):
        conv.convert_role(archive, "human_ssrnet_age")
