"""Age, gender and expression from the face-api.js nets (manifest roles
``faceapi_age_gender`` and ``faceapi_expression``, built by
``make models OPT_IN=faceapi_attributes`` from npm
``@vladmandic/face-api@1.7.15``; models/convert_faceapi_attributes.py says
why they are opt-in and how the graphs were rebuilt).

Input as face-api makes it: the face region (clipped at the image
borders), zero-padded to a centred square (padToSquare), resized to
112x112 with TF's legacy bilinear sampling (tf.image.resizeBilinear,
align_corners and half_pixel_centers false), RGB 0-255; the graph itself
subtracts the mean RGB and divides by 255. face-api crops its own
detector's box (SSD MobileNet, or 68 landmarks' box + 20 %); ours comes
from the service detector, scaled by ``CROP_SCALE`` about its centre, and
age/gender average the face and its mirror image (``MIRROR_AVERAGE``); both
choices were read on the fitting half of UTKFace (bench/attributes_utkface.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.vision import pixels
from chalicelib.vision.attributes import MALE_ABOVE, AgeGender

if TYPE_CHECKING:
    from chalicelib.vision.engine import DetectedFace

SIDE = 112
# Chosen on the fitting half of UTKFace (even chips of each group) among
# 0.9-1.6 x the service detector's box: 1.25 had the lowest worst-group
# adult age MAE (6.17 y) with worst-group gender 91.5 % (1.0: 6.84 y, 89.7 %).
CROP_SCALE = 1.25
# Age and P(male) are averaged over the input and its mirror image (one
# batch of two): on the fitting half this lowered the worst group's age MAE
# to 6.04 y and raised its gender accuracy to 92.7 % (face-api answers from
# the input alone; expression is not averaged, nothing measured it).
MIRROR_AVERAGE = True
# face-api's FACE_EXPRESSION_LABELS order, mapped to the SDK's names.
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")


def crop_region(shape: tuple[int, ...], box: tuple[int, int, int, int],
                scale: float = CROP_SCALE) -> tuple[int, int, int, int] | None:
    """x, y, w, h of ``scale`` x the box about its centre, clipped at the
    image borders and floored as Box.clipAtImageBorders does; None when
    nothing of it is inside the image."""
    h_img, w_img = shape[:2]
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2, y + h / 2
    w, h = w * scale, h * scale
    x, y = cx - w / 2, cy - h / 2
    x0, y0 = max(x, 0.0), max(y, 0.0)
    cw = min(x + w - x0, w_img - x0)
    ch = min(y + h - y0, h_img - y0)
    out = (math.floor(x0), math.floor(y0), math.floor(cw), math.floor(ch))
    return out if out[2] > 0 and out[3] > 0 else None


def pad_to_square(rgb: np.ndarray) -> np.ndarray:
    """padToSquare(x, isCenterImage=true): zeros on the short side,
    Math.round(diff / 2) after and the rest before."""
    h, w = rgb.shape[:2]
    if h == w:
        return rgb
    diff = abs(h - w)
    after = math.floor(diff * 0.5 + 0.5)  # JS Math.round
    before = diff - after
    pads = ((0, 0), (before, after), (0, 0)) if h > w else ((before, after), (0, 0), (0, 0))
    return np.pad(rgb, pads)


def resize_bilinear_tf(img: np.ndarray, side: int) -> np.ndarray:
    """tf.image.resizeBilinear(img, [side, side], false, false) of an
    (H, W, 3) float32 image, as tfjs's CPU kernel samples: source
    coordinate = dst * in / out, neighbours floor and min(ceil, in - 1)."""
    def taps(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.arange(side, dtype=np.float64) * (n_in / side)
        lo = np.floor(src).astype(np.intp)
        hi = np.minimum(np.ceil(src).astype(np.intp), n_in - 1)
        return lo, hi, (src - lo)

    h, w = img.shape[:2]
    y0, y1, fy = taps(h)
    x0, x1, fx = taps(w)
    fx = fx[None, :, None]
    src = img.astype(np.float64)
    top = src[y0][:, x0] + (src[y0][:, x1] - src[y0][:, x0]) * fx
    bottom = src[y1][:, x0] + (src[y1][:, x1] - src[y1][:, x0]) * fx
    return (top + (bottom - top) * fy[:, None, None]).astype(np.float32)


def face_input(rgb: np.ndarray) -> np.ndarray:
    """(1, 3, 112, 112) float32 net input from an RGB face region."""
    square = pad_to_square(rgb.astype(np.float32))
    if square.shape[0] != SIDE:
        square = resize_bilinear_tf(square, SIDE)
    return np.ascontiguousarray(square.transpose(2, 0, 1)[None])


class FaceApiAttributes:
    """The face-api.js age/gender and expression nets; either may be absent."""

    def __init__(self, age_gender_path: Path | None = None, expression_path: Path | None = None):
        # Small batch-1 nets (1.7 and 1.3 MB): one thread (sessions.session_options).
        self._age_gender = create_session(age_gender_path, small=True) if age_gender_path else None
        self._expression = create_session(expression_path, small=True) if expression_path else None

    @staticmethod
    def net_input(image: np.ndarray, face: DetectedFace, scale: float = CROP_SCALE) -> np.ndarray | None:
        region = crop_region(image.shape, face.box, scale)
        if region is None:
            return None
        x, y, w, h = region
        return face_input(pixels.bgr_to_rgb(image[y:y + h, x:x + w]))

    def age_gender(self, image: np.ndarray, face: DetectedFace) -> AgeGender | None:
        if self._age_gender is None:
            return None
        x = self.net_input(image, face)
        if x is None:
            return None
        if MIRROR_AVERAGE:
            x = np.concatenate([x, x[..., ::-1]])
        age, gender = self._age_gender.run(["age", "gender"], {"input": x})
        years = float(age.mean())
        male = float(gender[:, 0].mean())  # AgeGenderNet.ts: probMale is the first softmax output
        return AgeGender(int(round(min(max(years, 0.0), 100.0))),
                         "male" if male > MALE_ABOVE else "female", male)

    def expression(self, image: np.ndarray, face: DetectedFace) -> dict | None:
        """{"type": SDK expression name, "probability": float}, or None."""
        probs = self.expression_probabilities(image, face)
        if probs is None:
            return None
        best = int(np.argmax(probs))
        return {"type": EXPRESSIONS[best], "probability": float(probs[best])}

    def expression_probabilities(self, image: np.ndarray, face: DetectedFace) -> np.ndarray | None:
        """(7,) softmax in ``EXPRESSIONS`` order, or None."""
        if self._expression is None:
            return None
        x = self.net_input(image, face)
        if x is None:
            return None
        return self._expression.run(["expression"], {"input": x})[0][0]


def age_gender_backend(path: Path) -> FaceApiAttributes:
    """Factory for chalicelib.vision.attributes.BACKENDS (age/gender)."""
    return FaceApiAttributes(age_gender_path=path)


def expression_backend(path: Path) -> FaceApiAttributes:
    """Factory for chalicelib.vision.attributes.BACKENDS (expression)."""
    return FaceApiAttributes(expression_path=path)
