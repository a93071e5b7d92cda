"""Per-frame measurements from Face Mesh points: head yaw and pitch, mouth
opening and eye openness.

Conventions (documented in docs/liveness.md):
- yaw > 0: the subject turns the head to THEIR OWN left. In an unmirrored
  recording (what a camera sees) their nose then moves toward the image's
  right (+x).
- pitch > 0: the head turns down (chin toward the chest).
"""
from __future__ import annotations

import numpy as np

from chalicelib.liveness.pose import rodrigues, solve_pnp

# Generic 3-D face (mm-like units, x to the subject's left as seen in the
# image = image +x, y up, z toward the camera), a widely used head model for
# solvePnP. Mesh indices: nose tip, chin, eye outer corners (image-left eye =
# subject's right), mouth corners.
MESH_IDX = [1, 152, 33, 263, 61, 291]
MODEL_3D = np.array([
    [0.0, 0.0, 0.0],
    [0.0, -330.0, -65.0],
    [-225.0, 170.0, -135.0],
    [225.0, 170.0, -135.0],
    [-150.0, -150.0, -125.0],
    [150.0, -150.0, -125.0],
], np.float64)
# The pose solver wants y down like the image.
_MODEL = MODEL_3D * np.array([1.0, -1.0, -1.0])

# Inner lips (upper 13, lower 14), mouth corners (61, 291).
LIP_UP, LIP_DOWN, MOUTH_L, MOUTH_R = 13, 14, 61, 291
# Eye contours: outer corner, two upper lids, inner corner, two lower lids.
EYE_R = [33, 160, 158, 133, 153, 144]   # subject's right eye (image left)
EYE_L = [263, 387, 385, 362, 380, 373]  # subject's left eye


def turn_ratio(points: np.ndarray) -> float:
    """2-D turn cue in [-1, 1]: how far the nose tip sits from the middle of
    the face contour (234 = image-left cheek, 454 = image-right cheek);
    positive when the nose moves toward the image's right."""
    dl = np.linalg.norm(points[1, :2] - points[454, :2])
    dr = np.linalg.norm(points[1, :2] - points[234, :2])
    return float((dr - dl) / max(float(dr + dl), 1e-6))


def _angles(rvec: np.ndarray) -> tuple[float, float]:
    r = rodrigues(rvec)
    # Direction the face points (nose outward) in camera coordinates; the
    # camera looks along +z, so a frontal face points along -z.
    fwd = r @ np.array([0.0, 0.0, -1.0])
    yaw = np.degrees(np.arctan2(fwd[0], -fwd[2]))
    pitch = np.degrees(np.arctan2(fwd[1], np.hypot(fwd[0], fwd[2])))
    return float(yaw), float(pitch)


def head_pose(points: np.ndarray, frame_size: tuple[int, int]) -> tuple[float, float]:
    """(yaw, pitch) in degrees from 6 mesh points and a generic head model,
    with a pinhole camera of focal length = frame width (typical webcam/phone
    field of view, ~55 degrees).

    Past ~40 degrees the 6-point fit has a mirror solution (yaw with the
    wrong sign); the 2-D turn cue is unambiguous there, so when the two
    disagree the fit is restarted from a pose on the cue's side."""
    w, h = frame_size
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    img = points[MESH_IDX, :2].astype(np.float64)
    if not np.all(np.isfinite(img)):
        return float("nan"), float("nan")
    ok, rvec, tvec = solve_pnp(_MODEL, img, cam)  # ok=False: degenerate point set
    if not ok or rvec is None or tvec is None:
        return float("nan"), float("nan")
    cue = turn_ratio(points)
    if tvec.ravel()[2] <= 0:
        # The head placed behind the camera: the wrong branch of the fit
        # (common near profile). Restart in front, on the cue's side.
        guess = np.degrees(np.arcsin(np.clip(cue, -1, 1)))
        rv0 = np.array([[0.0], [-np.radians(guess)], [0.0]])
        tv0 = np.abs(tvec.reshape(3, 1))
        ok, rvec, tvec = solve_pnp(_MODEL, img, cam, rv0, tv0)
        if not ok or rvec is None or tvec is None or tvec.ravel()[2] <= 0:
            return float("nan"), float("nan")
    yaw, pitch = _angles(rvec)
    if abs(yaw) > 90:  # facing away from the camera: a failed fit
        return float("nan"), float("nan")
    if abs(cue) > 0.15 and np.sign(cue) != np.sign(yaw):
        guess = np.degrees(np.arcsin(np.clip(cue, -1, 1)))
        rv0 = np.array([[0.0], [-np.radians(guess)], [0.0]])
        ok2, rv2, _ = solve_pnp(_MODEL, img, cam, rv0, tvec.copy())
        y2, p2 = _angles(rv2) if ok2 and rv2 is not None else (float("nan"), float("nan"))
        if ok2 and np.sign(y2) == np.sign(cue):
            return y2, p2
        # No consistent fit: keep the magnitude, trust the cue's side, and
        # drop the pitch of a fit known to be wrong.
        return float(np.sign(cue) * abs(yaw)), float("nan")
    return yaw, pitch


def mouth_open(points: np.ndarray) -> float:
    """Inner-lip gap over mouth width (0 closed, ~0.3 talking, >0.5 wide)."""
    gap = np.linalg.norm(points[LIP_DOWN, :2] - points[LIP_UP, :2])
    width = np.linalg.norm(points[MOUTH_R, :2] - points[MOUTH_L, :2])
    return float(gap / max(float(width), 1e-6))


def _ear(points: np.ndarray, idx: list[int]) -> float:
    p = points[idx, :2]
    v = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    return float(v / (2 * max(float(np.linalg.norm(p[0] - p[3])), 1e-6)))


def eye_open(points: np.ndarray) -> float:
    """Eye aspect ratio averaged over both eyes (~0.25-0.35 open, <0.15 shut)."""
    return 0.5 * (_ear(points, EYE_R) + _ear(points, EYE_L))


def lid_open(lids: np.ndarray) -> float:
    """Eye openness from the iris model's lids (16 points: lower 0-8 corner
    to corner, upper 9-15): mean gap at the three central lid pairs over the
    corner distance."""
    width = np.linalg.norm(lids[0] - lids[8])
    gaps = [np.linalg.norm(lids[u] - lids[d]) for u, d in ((11, 3), (12, 4), (13, 5))]
    return float(np.mean(gaps) / max(width, 1e-6))
