"""face_angle and the rotation fallback: the geometry (no model) and real
photos turned four ways (LFW, the spoof samples stored sideways)."""
from __future__ import annotations

import numpy as np
import pytest

from chalicelib.vision import rotation
from chalicelib.vision.sface import ARCFACE_TEMPLATE
from tests.conftest import dataset_file


@pytest.mark.parametrize("angle", rotation.ANGLES)
def test_points_map_back_through_every_turn(angle):
    rng = np.random.default_rng(angle)
    img = np.zeros((37, 53, 3), np.uint8)
    ys, xs = rng.integers(0, 37, 20), rng.integers(0, 53, 20)
    img[ys, xs] = 255
    turned = rotation.rotate_cw(img, angle)
    ty, tx = np.nonzero(turned[..., 0])
    # Pixel centres of the turned image map onto lit pixel centres of the original.
    back = rotation.unrotate_points(np.stack([tx + 0.5, ty + 0.5], 1), angle, img.shape)
    bx, by = np.floor(back[:, 0]).astype(int), np.floor(back[:, 1]).astype(int)
    assert (img[by, bx, 0] == 255).all()
    assert sorted(zip(bx, by, strict=True)) == sorted(set(zip(xs, ys, strict=True)))


def test_rotate_cw_is_clockwise():
    img = np.zeros((2, 3), np.uint8)
    img[0, 0] = 1  # top-left goes to top-right under a clockwise quarter turn
    assert rotation.rotate_cw(img, 90)[0, -1] == 1
    assert rotation.rotate_cw(img, 270)[-1, 0] == 1
    assert rotation.rotate_cw(img, 180)[-1, -1] == 1


@pytest.mark.parametrize("turn", rotation.ANGLES)
def test_face_angle_undoes_the_turn(turn):
    """A face turned clockwise by ``turn`` needs ``360 - turn`` to be upright."""
    shape = (112, 112)
    lm = ARCFACE_TEMPLATE.copy()
    img = np.zeros(shape, np.uint8)
    # Where the template's points land in the turned image: invert the map.
    turned_shape = rotation.rotate_cw(img, turn).shape
    inverse = (360 - turn) % 360
    moved = rotation.unrotate_points(lm, inverse, turned_shape)
    assert rotation.face_angle(moved) == (360 - turn) % 360
    # A tilted head (25 degrees of roll) keeps its quarter turn.
    c = moved.mean(0)
    t = np.radians(25)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    assert rotation.face_angle((moved - c) @ rot.T + c) == (360 - turn) % 360


def test_box_maps_onto_box():
    box = rotation.unrotate_box(np.array([10, 20, 30, 60]), 90, (100, 200, 3))
    # Sent 200 wide, 100 high; turned clockwise, a sent point (x, y) is at (100 - y, x).
    assert box.tolist() == [20.0, 70.0, 60.0, 90.0]


def _lfw_faces(n):
    people = sorted(p for p in dataset_file("lfw", "images").iterdir() if p.is_dir())
    return [sorted(p.glob("*.jpg"))[0] for p in people[:n]]


def stored_pixels(*parts) -> np.ndarray:
    """A photo's pixels as stored, its EXIF orientation ignored (BGR)."""
    from PIL import Image
    with Image.open(dataset_file(*parts)) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])


def test_sideways_spoof_photos_are_found_and_mapped_back(engine, load):
    """The Silent-Face samples are stored a quarter turn off (with an EXIF
    tag the decoder applies; here the stored pixels, as a client that drops
    EXIF sends them): the fallback finds the face, its angle is the EXIF
    turn, and the box lies where the face is in the photo as sent."""
    for name in ("image_F1.jpg", "image_F2.jpg", "image_T1.jpg"):
        assert engine.detect_any_rotation(load("spoof", name))[0].angle == 0  # EXIF applied
        img = stored_pixels("spoof", name)
        faces = engine.detect_any_rotation(img)
        assert faces, name
        f = faces[0]
        assert f.angle == 90, (name, f.angle)  # EXIF orientation 6: turn 90 clockwise
        x, y, w, h = f.box
        assert 0 <= x and 0 <= y and x + w <= img.shape[1] and y + h <= img.shape[0]
        inside = ((f.landmarks[:, 0] >= x) & (f.landmarks[:, 0] <= x + w)
                  & (f.landmarks[:, 1] >= y) & (f.landmarks[:, 1] <= y + h))
        assert inside.all(), name
        # The same face found again after undoing the rotation, upright.
        upright = engine.detect(rotation.rotate_cw(img, f.angle))
        assert upright and rotation.face_angle(upright[0].landmarks) == 0


def test_lfw_turned_four_ways(engine, load):
    """30 LFW faces in each rotation: every one is found (the fallback when
    upright detection finds nothing) and the checked angle undoes the turn.
    (The 4 x 250 figure is bench/face_angle.py's, on other people.)"""
    from chalicelib.vision import decode_image
    wrong = []
    for path in _lfw_faces(30):
        img = decode_image(path.read_bytes())
        for turn in rotation.ANGLES:
            turned = rotation.rotate_cw(img, turn)
            faces = engine.detect_any_rotation(turned)
            h, w = turned.shape[:2]
            if not faces:
                wrong.append((path.name, turn, None))
                continue
            f = min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
                    + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)
            angle = engine.face_angles(turned, [f])[0]
            if angle != (360 - turn) % 360:
                wrong.append((path.name, turn, angle))
    assert len(wrong) <= 1, wrong


# LFW photos whose turned copy CenterFace "finds" with landmarks placed as if
# upright (found on LFW people 0-119 while choosing the check).
_TURNED_WITH_UPRIGHT_LANDMARKS = [("AJ_Cook", 180), ("Abdullah_al-Attiyah", 90),
                                  ("Abdullah_al-Attiyah", 180), ("Adam_Scott", 90),
                                  ("Adam_Scott", 180), ("Abbas_Kiarostami", 270)]


def test_sideways_faces_embed_as_their_upright_selves(engine, load):
    """What add, search and compare embed from a turned photo matches the
    upright photo at FRS's 0.93 (FaceEngine.upright re-aligns the chip on
    the landmarks found in the upright turn); the detector's own landmarks
    for these faces do not (so the test holds the repair, not luck)."""
    from chalicelib.vision import decode_image

    def central(faces, shape):
        h, w = shape[:2]
        return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
                   + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)

    repaired = raw_kept = 0
    for person, turn in _TURNED_WITH_UPRIGHT_LANDMARKS:
        img = decode_image(dataset_file("lfw", "images", person, f"{person}_0001.jpg").read_bytes())
        ref = engine.embed(img, engine.upright(img, [central(engine.detect(img), img.shape)])[0])
        turned = rotation.rotate_cw(img, turn)
        face = central(engine.detect_any_rotation(turned), turned.shape)
        fixed = engine.upright(turned, [face])[0]
        assert rotation.face_angle(fixed.landmarks) == (360 - turn) % 360, (person, turn)
        assert engine.similarity(float(engine.embed(turned, fixed) @ ref)) >= 0.93, (person, turn)
        repaired += int(fixed is not face)
        raw_kept += int(engine.similarity(float(engine.embed(turned, face) @ ref)) >= 0.93)
    assert repaired == len(_TURNED_WITH_UPRIGHT_LANDMARKS)
    assert raw_kept <= 1, raw_kept


def test_crop_points_map_back_to_the_image():
    box = (40, 30, 50, 60)
    m = rotation.crop_transform(box)
    pts = np.array([[45.0, 40.0], [80.0, 85.0]], np.float32)
    in_crop = pts @ m[:, :2].T + m[:, 2]
    for angle in rotation.ANGLES:
        # A point at crop (x, y) is at these pixels of the crop turned by ``angle``.
        turned = {0: in_crop, 90: np.stack([rotation.ANGLE_SIDE - in_crop[:, 1], in_crop[:, 0]], 1),
                  180: rotation.ANGLE_SIDE - in_crop,
                  270: np.stack([in_crop[:, 1], rotation.ANGLE_SIDE - in_crop[:, 0]], 1)}[angle]
        np.testing.assert_allclose(rotation.crop_points_to_image(turned, angle, box), pts, atol=1e-3)


@pytest.mark.parametrize("angle", rotation.ANGLES)
def test_upright_view_carries_the_face_with_it(angle):
    """The face's box and landmarks in the turned image cover the same
    pixels as in the image as sent."""
    rng = np.random.default_rng(angle)
    img = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)
    box = (20, 10, 30, 25)
    lm = np.array([[25.0, 15.0], [45.0, 15.0], [35.0, 22.0], [27.0, 30.0], [43.0, 30.0]], np.float32)
    turned, tbox, tlm = rotation.upright_view(img, box, lm, angle)
    x, y, w, h = box
    tx, ty, tw, th = tbox
    crop = img[y:y + h, x:x + w]
    np.testing.assert_array_equal(turned[ty:ty + th, tx:tx + tw], rotation.rotate_cw(crop, angle))
    back = rotation.unrotate_points(tlm, angle, img.shape)
    np.testing.assert_allclose(back, lm, atol=1e-4)
