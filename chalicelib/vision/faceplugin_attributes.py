"""Age and gender from the faceplugin attribute models (manifest roles
``age`` and ``gender``, built by ``make models OPT_IN=attributes`` from npm
``faceplugin-face-recognition-js@0.0.1``; see models/convert_attributes.py
for why they are opt-in). Both are SSR-Net-style networks (Yang et al.
2018: three stages of 3 soft bins with learnt bin shifts and widths) on a
64x64 RGB crop of 1.4x the face box, ImageNet-normalised, as the package's
``lib/fr_age.js`` and ``lib/fr_gender.js`` feed them. Measured on UTKFace
per group by ``bench/attributes_utkface.py``: they fail the service's
targets by far (worst adult group: age MAE 10.7 years, gender accuracy
28 %; docs/vision.md), so they stay opt-in and are not recommended.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.vision import pixels
from chalicelib.vision.attributes import MALE_ABOVE, AgeGender

if TYPE_CHECKING:
    from chalicelib.vision.engine import DetectedFace

SIDE = 64
CROP_SCALE = 1.4
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
AGE_RANGE = 101  # SSR-Net's V for age; 1 for gender
OUTPUTS = ["prob_stage_1", "prob_stage_2", "prob_stage_3", "stage1_delta_k", "stage2_delta_k",
           "stage3_delta_k", "index_offset_stage1", "index_offset_stage2", "index_offset_stage3"]


def ssr_merge(out: list[np.ndarray], v: float) -> np.ndarray:
    """SSR-Net's stagewise soft regression: (N,) values from the nine
    outputs (stage probabilities, width deltas, index offsets)."""
    p = out[0:3]
    dk = [o.reshape(-1) for o in out[3:6]]
    off = out[6:9]
    s = 3
    idx = np.arange(s, dtype=np.float32)
    total = np.zeros(len(dk[0]), np.float32)
    denom = np.ones(len(dk[0]), np.float32)
    for k in range(3):
        denom = denom * (s * (1 + dk[k]))
        total = total + ((idx + off[k]) * p[k]).sum(1) / denom
    return total * v


def crop_box(shape: tuple[int, ...], box: tuple[int, int, int, int],
             scale: float = CROP_SCALE) -> tuple[int, int, int, int]:
    """x, y, w, h of ``scale`` times the face box, kept inside the image
    (shifted, then shrunk), as lib/fr_age.js crops."""
    h_img, w_img = shape[:2]
    x, y, bw, bh = (float(v) for v in box)
    s = min((h_img - 1) / bh, (w_img - 1) / bw, scale)
    nw, nh = bw * s, bh * s
    cx, cy = x + bw / 2, y + bh / 2
    left, top, right, bottom = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if left < 0:
        right, left = right - left, 0.0
    if top < 0:
        bottom, top = bottom - top, 0.0
    if right > w_img - 1:
        left, right = left - (right - w_img + 1), w_img - 1.0
    if bottom > h_img - 1:
        top, bottom = top - (bottom - h_img + 1), h_img - 1.0
    x0, y0 = max(int(left), 0), max(int(top), 0)
    return x0, y0, max(1, min(int(right - left), w_img - x0)), max(1, min(int(bottom - top), h_img - y0))


class FacepluginAgeGender:
    """The two SSR-Net-style networks (age, gender)."""

    def __init__(self, age_path: Path, gender_path: Path):
        # Tiny batch-1 nets: one thread (sessions.session_options).
        self.age = create_session(age_path, small=True)
        self.gender = create_session(gender_path, small=True)

    def _input(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        x, y, w, h = crop_box(image.shape, face.box)
        crop = pixels.resize(image[y:y + h, x:x + w], (SIDE, SIDE), interpolation="linear")
        rgb = crop[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((rgb - MEAN) / STD).transpose(2, 0, 1)[None])

    def age_gender(self, image: np.ndarray, face: DetectedFace) -> AgeGender | None:
        x = self._input(image, face)
        age = float(ssr_merge(self.age.run(OUTPUTS, {"input": x}), AGE_RANGE)[0])
        male = float(ssr_merge(self.gender.run(OUTPUTS, {"input": x}), 1.0)[0])
        return AgeGender(int(round(min(max(age, 0.0), 100.0))),
                         "male" if male > MALE_ABOVE else "female", male)
