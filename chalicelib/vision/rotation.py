"""Image rotation for the FRS ``face_angle`` attribute: the clockwise
rotation (0, 90, 180 or 270 degrees) that makes a face upright.

A face's angle is read from its landmarks (the direction from the mouth to
the eyes, snapped to the nearest quarter turn); a photo stored sideways, in
which the detector finds nothing upright, is searched in the other three
rotations (``FaceEngine.detect_any_rotation``), and what is found there is
mapped back to the coordinates of the image as sent.
"""
from __future__ import annotations

import numpy as np

ANGLES = (0, 90, 180, 270)
# The order the other rotations are tried in when nothing is found upright:
# phones store sideways photos a quarter turn either way far more often
# than upside down.
FALLBACK_ORDER = (90, 270, 180)
# The per-face check (FaceEngine.orientations): a square crop of this many
# times the face box's longer side, at this many pixels, searched by YuNet
# in all four turns (4 x ~0.8 ms). Chosen on LFW people 0-119 (bench/
# face_angle.py --skip 0 --people 120) for its cost: YuNet alone was right
# on 477/480 faces there, YuNet + CenterFace (the earlier check, 8 detector
# runs, ~24 ms) on 478/480.
ANGLE_CROP, ANGLE_SIDE = 1.6, 160
ANGLE_MIN_SCORE = 0.05


def rotate_cw(image: np.ndarray, angle: int) -> np.ndarray:
    """``image`` turned clockwise by ``angle`` (a multiple of 90)."""
    return np.ascontiguousarray(np.rot90(image, k=-(angle // 90) % 4, axes=(0, 1)))


def unrotate_points(points: np.ndarray, angle: int, shape: tuple[int, ...]) -> np.ndarray:
    """Map (..., 2) x, y points of the image turned clockwise by ``angle``
    back to the image as sent (``shape``: the sent image's shape). Pixel
    edges map onto pixel edges, so a box maps onto a box."""
    h, w = shape[:2]
    p = np.asarray(points, np.float32)
    x, y = p[..., 0], p[..., 1]
    a = angle % 360
    if a == 0:
        return p.copy()
    if a == 90:     # sent (x, y) -> turned (h - y, x)
        out = np.stack([y, h - x], -1)
    elif a == 180:  # sent (x, y) -> turned (w - x, h - y)
        out = np.stack([w - x, h - y], -1)
    elif a == 270:  # sent (x, y) -> turned (y, w - x)
        out = np.stack([w - y, x], -1)
    else:
        raise ValueError(f"angle must be a multiple of 90, not {angle}")
    return out.astype(np.float32)


def unrotate_box(box: np.ndarray, angle: int, shape: tuple[int, ...]) -> np.ndarray:
    """x1, y1, x2, y2 of the turned image back to the image as sent."""
    b = np.asarray(box, np.float32)
    corners = unrotate_points(np.array([[b[0], b[1]], [b[2], b[3]]], np.float32), angle, shape)
    return np.concatenate([corners.min(0), corners.max(0)])


def face_angle(landmarks: np.ndarray) -> int:
    """The clockwise turn (0/90/180/270) that puts the face's eyes above its
    mouth, from five landmarks (eyes, nose tip, mouth corners)."""
    p = np.asarray(landmarks, np.float64)
    up = (p[0] + p[1]) / 2 - (p[3] + p[4]) / 2  # mouth -> eyes
    # Clockwise angle of ``up`` from the image's up (0, -1); y points down.
    tilt = float(np.degrees(np.arctan2(up[0], -up[1]))) % 360.0
    return int(round((360.0 - tilt) / 90.0)) % 4 * 90


def crop_transform(box: tuple[int, int, int, int]) -> np.ndarray:
    """The 2x3 map from image pixels to the square ANGLE_SIDE px crop around
    a face box (the face's longer side times ANGLE_CROP)."""
    x, y, w, h = (float(v) for v in box)
    s = ANGLE_SIDE / (ANGLE_CROP * max(w, h, 1.0))
    cx, cy = x + w / 2, y + h / 2
    return np.array([[s, 0, ANGLE_SIDE / 2 - s * cx], [0, s, ANGLE_SIDE / 2 - s * cy]])


def face_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The square ANGLE_SIDE px crop around a face box (zero outside the
    image), for the per-face orientation check."""
    from chalicelib.vision import pixels
    return pixels.warp_affine(image, crop_transform(box), (ANGLE_SIDE, ANGLE_SIDE),
                              border="constant")


def central(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, ...]) -> int | None:
    """Index of the best-scoring detection whose centre lies in the middle
    third of the (square) crop; None when there is none."""
    if not len(scores):
        return None
    side = float(shape[0])
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    near = (np.abs(cx - side / 2) < side / 6) & (np.abs(cy - side / 2) < side / 6)
    if not near.any():
        return None
    return int(np.flatnonzero(near)[np.argmax(scores[near])])


def central_score(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, ...]) -> float:
    """The score of ``central``'s detection; 0 when there is none."""
    i = central(boxes, scores, shape)
    return 0.0 if i is None else float(scores[i])


def crop_points_to_image(points: np.ndarray, angle: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """(..., 2) points found in the face crop turned clockwise by ``angle``
    back to the pixels of the image the crop was cut from."""
    from chalicelib.vision import pixels
    p = unrotate_points(points, angle, (ANGLE_SIDE, ANGLE_SIDE))
    inv = pixels.invert_affine(crop_transform(box))
    return (p @ inv[:, :2].T + inv[:, 2]).astype(np.float32)


def upright_view(image: np.ndarray, box: tuple[int, int, int, int], landmarks: np.ndarray,
                 angle: int) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
    """``image`` turned clockwise by ``angle`` (the turn that makes the face
    upright), with the face's box (x, y, w, h) and landmarks in the turned
    image's pixels, for the models that only know upright faces."""
    if angle % 360 == 0:
        return image, box, landmarks
    turned = rotate_cw(image, angle)
    back = (360 - angle) % 360  # the sent image is the turned one turned by ``back``
    x, y, w, h = box
    corners = unrotate_points(np.array([[x, y], [x + w, y + h]], np.float32), back, turned.shape)
    (x1, y1), (x2, y2) = corners.min(0), corners.max(0)
    new_box = (int(round(x1)), int(round(y1)), int(round(x2 - x1)), int(round(y2 - y1)))
    return turned, new_box, unrotate_points(landmarks, back, turned.shape)
