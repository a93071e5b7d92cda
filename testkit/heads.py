"""Synthetic heads for the pose solver and its OpenCV oracle, shared by
tests/liveness/test_pose.py and bench/head_pose_speed.py.

``head_pose_cv2`` is the OpenCV-based head_pose() that
chalicelib/liveness/geometry.py used before it went numpy-only, kept
verbatim apart from the names (OpenCV is a test-only dependency).
"""
from __future__ import annotations

import cv2
import numpy as np

from chalicelib.liveness.geometry import _MODEL, MESH_IDX, turn_ratio

NAN = float("nan")


# --- the oracle: geometry.head_pose as it was with OpenCV -------------------

def angles_cv2(rvec) -> tuple[float, float]:
    r, _ = cv2.Rodrigues(rvec)
    fwd = r @ np.array([0.0, 0.0, -1.0])
    yaw = np.degrees(np.arctan2(fwd[0], -fwd[2]))
    pitch = np.degrees(np.arctan2(fwd[1], np.hypot(fwd[0], fwd[2])))
    return float(yaw), float(pitch)


def head_pose_cv2(points: np.ndarray, frame_size) -> tuple[float, float]:
    w, h = frame_size
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    img = points[MESH_IDX, :2].astype(np.float64)
    if not np.all(np.isfinite(img)):
        return NAN, NAN
    try:
        ok, rvec, tvec = cv2.solvePnP(_MODEL, img, cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
    except cv2.error:
        ok = False
    if not ok:
        return NAN, NAN
    yaw, pitch = angles_cv2(rvec)
    if abs(yaw) > 90:
        return NAN, NAN
    cue = turn_ratio(points)
    if abs(cue) > 0.15 and np.sign(cue) != np.sign(yaw):
        guess = np.degrees(np.arcsin(np.clip(cue, -1, 1)))
        rv0 = np.array([[0.0], [-np.radians(guess)], [0.0]])
        try:
            ok2, rv2, _ = cv2.solvePnP(_MODEL, img, cam, None, rv0, tvec.copy(),
                                       useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        except cv2.error:
            ok2 = False
        y2, p2 = angles_cv2(rv2) if ok2 else (NAN, NAN)
        if ok2 and np.sign(y2) == np.sign(cue):
            return y2, p2
        return float(np.sign(cue) * abs(yaw)), NAN
    return yaw, pitch


# --- synthetic heads ---------------------------------------------------------

W, H = 640, 480
CAM = np.array([[W, 0, W / 2], [0, W, H / 2], [0, 0, 1]], np.float64)
# Cheeks (mesh 234 image-left, 454 image-right) for the 2-D turn cue, in the
# solver's frame (y down, z away from the camera).
CHEEKS = np.array([[-330.0, 0.0, 250.0], [330.0, 0.0, 250.0]])


def rot(axis: int, deg: float) -> np.ndarray:
    v = np.zeros(3)
    v[axis] = np.radians(deg)
    return cv2.Rodrigues(v)[0]


def head(rng, noise=1.0, shape=0.0):
    """A random head: yaw -60..60, pitch -40..40, roll -30..30 degrees, 0.8-2.5
    m away, anywhere in the frame; ``noise`` px of landmark noise and a
    ``shape`` (relative) deviation of the face from the generic model.
    Answers the 6 model points and 2 cheeks in the image, and the true
    (yaw, pitch) in head_pose's convention (where the face points)."""
    yaw, pitch, roll = rng.uniform(-60, 60), rng.uniform(-40, 40), rng.uniform(-30, 30)
    r = rot(2, roll) @ rot(0, pitch) @ rot(1, yaw)
    z = rng.uniform(800, 2500)
    t = np.array([rng.uniform(-0.15, 0.15) * z, rng.uniform(-0.1, 0.1) * z, z])
    model = np.vstack([_MODEL, CHEEKS])
    model = model * (1 + shape * rng.normal(size=model.shape))
    cam_pts = model @ r.T + t
    img = cam_pts[:, :2] / cam_pts[:, 2:] * W + [W / 2, H / 2]
    img += rng.normal(size=img.shape) * noise
    fwd = r @ np.array([0.0, 0.0, -1.0])
    true = (np.degrees(np.arctan2(fwd[0], -fwd[2])),
            np.degrees(np.arctan2(fwd[1], np.hypot(fwd[0], fwd[2]))))
    return img[:6], img[6:], true


def scene(rng, noise=1.0, shape=0.0):
    img6, cheeks, _ = head(rng, noise, shape)
    return img6, cheeks


def mesh_points(img6, cheeks) -> np.ndarray:
    pts = np.zeros((468, 3))
    pts[MESH_IDX, :2] = img6
    pts[[234, 454], :2] = cheeks
    return pts
