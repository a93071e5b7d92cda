"""Face quality (the FRS ``FaceQuality`` object) of one detected face:
blur, pose, occlusion, illumination in [0, 1] (higher = worse) and
``total_score`` in [0, 1] (higher = better; FRS recommends > 0.45).

The four components are read from the face's own pixels and geometry on
the ArcFace 112x112 five-point chip (the chip SFace sees):

- blur: Laplacian variance of the grey face region (a small face upscaled
  to the chip, defocus and motion blur all lower it), on a log scale;
- pose: yaw and pitch from the five landmarks in the roll-corrected frame
  (nose offset from the eye/mouth mid-line over the eye distance; nose
  height between the eye and mouth lines), relative to the template's
  frontal values; roll is undone by alignment and counts little;
- occlusion: the part of the face region that falls outside the photo (a
  face cut by the frame) and the detector's confidence (a partly hidden
  face scores lower);
- illumination: under/over-exposure, low contrast and left/right imbalance
  of the face region.

``total_score`` is what predicts recognition failures: the recogniser's
own verdict on the chip, the length of SFace's descriptor before it is
normalised (feature-norm quality, as in MagFace/AdaFace: a face the net
finds little identity in gets a short descriptor), shifted by the
detector's confidence that the aligned chip holds a face (YuNet on the
same chip: a badly aligned or non-face chip scores low), scaled to
[0, 1]. On LFW (bench/quality_lfw.py, docs/vision.md) the descriptor
length alone cut the same-person rejections left after dropping the
lowest 10 % of pairs by 35 %, the four components alone by 1-7 %; the
chip confidence's weight was chosen on folds 1-5 (a third of a standard
deviation of each) and cut folds 6-10's by 33 % against 27 % without it.
The components are not folded into ``total_score``: scaling it down for
an extreme component (as an earlier version did) made the folds 1-5 curve
worse (-34 % against -40 %); a face with no detail, a black face or one
the detector cannot find on its chip already gets a short descriptor or
a low chip confidence. The constants are reference points (the
template's frontal geometry, 8-bit exposure ranges, the descriptor-length
range SFace produces, the chip confidence's median on folds 1-5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chalicelib.vision import pixels
from chalicelib.vision.align import similarity_transform, warp_chip
from chalicelib.vision.sface import ARCFACE_TEMPLATE

CHIP = 112
NORM_FAMILY = "sface"  # whose descriptor length total_score reads
# The template's frontal geometry: nose height between eye and mouth lines.
_T = ARCFACE_TEMPLATE.astype(np.float64)
FRONTAL_PITCH = float((_T[2, 1] - _T[:2, 1].mean()) / (_T[3:, 1].mean() - _T[:2, 1].mean()))
# The face region of the chip the exposure is read on (forehead to chin,
# cheek to cheek), and its two halves for side lighting.
_ROWS, _COLS = slice(24, 104), slice(20, 92)

# log10 Laplacian variance of the grey chip: at or below BLUR_LO the chip
# has no usable detail (blur 1), at or above BLUR_HI it is sharp (blur 0).
BLUR_LO, BLUR_HI = 1.3, 2.6
# Yaw ratio (nose offset / eye distance) of about 0.5 is a near-profile
# view; pitch ratio off its frontal value by 0.35 is a strong nod.
YAW_FULL, PITCH_FULL, ROLL_FULL = 0.5, 0.35, 90.0
# SFace's raw descriptor length: ~9.5-15 on LFW's faces (1st-99th
# percentile 9.8-14.9); at or below NORM_LO nothing is recognisable.
NORM_LO, NORM_HI = 8.0, 15.0
# YuNet's confidence on the aligned chip: median 0.922, sd 0.011 on LFW
# folds 1-5 (descriptor length sd 1.06 there); each unit of confidence
# counts as CHIP_WEIGHT of descriptor length (a third of a standard
# deviation of length per standard deviation of confidence). No face found
# on the chip is confidence 0: total_score 0.
CHIP_REF, CHIP_WEIGHT = 0.922, 29.0
CHIP_MIN_SCORE = 0.01


@dataclass(frozen=True)
class Quality:
    blur: float
    pose: float
    occlusion: float
    illumination: float
    total_score: float
    # Geometry behind ``pose`` (kept for callers and tests).
    yaw: float
    pitch: float
    roll: float

    def as_json(self) -> dict:
        return {"total_score": _r(self.total_score), "blur": _r(self.blur), "pose": _r(self.pose),
                "occlusion": _r(self.occlusion), "illumination": _r(self.illumination)}


def _r(v: float) -> float:
    return round(float(v), 4)


def _clip01(v: float) -> float:
    return float(min(1.0, max(0.0, v)))


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw ratio, pitch ratio offset, roll degrees) from five landmarks
    (eyes, nose tip, mouth corners, image order). Yaw: the nose's offset
    from the eye/mouth mid-line over the eye distance, in the frame where
    the eye line is horizontal; pitch: the nose's height between the eye and
    mouth lines minus the frontal value; roll: the eye line's angle."""
    p = np.asarray(landmarks, np.float64)
    eye_l, eye_r, nose = p[0], p[1], p[2]
    mouth = (p[3] + p[4]) / 2
    eyes = (eye_l + eye_r) / 2
    ex = eye_r - eye_l
    dist = float(np.hypot(*ex))
    if dist < 1e-6:
        return 1.0, 1.0, 0.0
    roll = float(np.degrees(np.arctan2(ex[1], ex[0])))
    ux = ex / dist                      # along the eye line
    uy = np.array([-ux[1], ux[0]])      # towards the mouth
    mid_x = ((eyes + mouth) / 2 - eyes) @ ux
    yaw = float(((nose - eyes) @ ux - mid_x) / dist)
    span = float((mouth - eyes) @ uy)
    pitch = float((nose - eyes) @ uy / span - FRONTAL_PITCH) if span > 1e-6 else 1.0
    return yaw, pitch, roll


def face_chip(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 BGR chip the quality signals are read on."""
    return warp_chip(image, landmarks, ARCFACE_TEMPLATE, (CHIP, CHIP))


def outside_fraction(image_shape: tuple[int, ...], landmarks: np.ndarray) -> float:
    """Share of the chip's face region that maps outside the photo."""
    m = similarity_transform(landmarks, ARCFACE_TEMPLATE)
    inv = pixels.invert_affine(m)
    ys, xs = np.mgrid[_ROWS.start:_ROWS.stop:8, _COLS.start:_COLS.stop:8]
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)], 1) @ inv.T
    h, w = image_shape[:2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    return float(1.0 - inside.mean())


def measure(image: np.ndarray, landmarks: np.ndarray, det_score: float, feature_norm: float,
            chip_score: float | None = None, chip: np.ndarray | None = None) -> Quality:
    """Quality of one face of ``image`` (BGR uint8). ``feature_norm``: the
    raw length of SFace's descriptor of the face's chip; ``chip_score``:
    the detector's confidence on that chip (None: not measured, no shift);
    ``chip``: that 112x112 ArcFace-template chip when the caller has it."""
    if chip is None:
        chip = face_chip(image, landmarks)
    grey = pixels.bgr_to_gray(chip).astype(np.float32)
    face = grey[_ROWS, _COLS]
    lap = max(pixels.laplacian_variance(face), 1e-3)
    blur = _clip01((BLUR_HI - np.log10(lap)) / (BLUR_HI - BLUR_LO))

    yaw, pitch, roll = head_pose(landmarks)
    pose = _clip01(max(abs(yaw) / YAW_FULL, abs(pitch) / PITCH_FULL) + 0.25 * abs(roll) / ROLL_FULL)

    outside = outside_fraction(image.shape, landmarks)
    occlusion = _clip01(max(2.0 * outside, (0.9 - float(det_score)) / 0.4))

    illumination = exposure(face)
    length = float(feature_norm)
    if chip_score is not None:
        length += CHIP_WEIGHT * (float(chip_score) - CHIP_REF)
    total = _clip01((length - NORM_LO) / (NORM_HI - NORM_LO))
    return Quality(blur, pose, occlusion, illumination, total, yaw, pitch, roll)


def exposure(face_grey: np.ndarray) -> float:
    """Illumination problem of the face region (grey, float): too dark, too
    bright, too flat, or lit from one side."""
    mean = float(face_grey.mean())
    std = float(face_grey.std())
    half = face_grey.shape[1] // 2
    left, right = float(face_grey[:, :half].mean()), float(face_grey[:, half:].mean())
    dark = (70.0 - mean) / 50.0
    bright = (mean - 200.0) / 40.0
    flat = (25.0 - std) / 20.0
    side = (abs(left - right) / max(mean, 1.0) - 0.25) / 0.5
    return _clip01(max(dark, bright, flat, side))
