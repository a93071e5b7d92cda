"""Face attributes on detect (API Reference §4.1): the ``attributes``
parameter's codes and the per-face ``attributes`` object, field for field
as the SDK's ``Attributes``, ``Dress``, ``FaceQuality`` and
``AttributesExpression`` models read it.

Computed for every face asked about: ``quality`` (12) and ``face_angle``
(21), from the detector's landmarks and the face's pixels. ``age`` (2),
``gender`` (1), ``expression`` (13) and ``mask`` (6) come from the opt-in
attribute models (chalicelib/vision/attributes.py); without them ``age``
and ``gender`` are left out (the SDK has no "unknown" for them) and
``expression`` and ``mask`` are ``unknown``. Hat, glasses (4), hair (7),
beard (8) and phototype (11) have no model here and answer ``unknown``.
Attributes cost time only when asked: a detect without codes measures
nothing.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.services.params import get_str

if TYPE_CHECKING:  # the vision package is imported lazily
    from chalicelib.vision.attributes import AttributeModels
    from chalicelib.vision.engine import DetectedFace

GENDER, AGE, DRESS, MASK, HAIR, BEARD, PHOTOTYPE, QUALITY, EXPRESSION, FACE_ANGLE = (
    1, 2, 4, 6, 7, 8, 11, 12, 13, 21)
# Codes some SDK versions list that no model here answers (9 skin colour,
# 10 ethnicity) are accepted and ignored, like codes of future versions.
UNKNOWN = "unknown"


def parse_codes(payload: dict) -> frozenset[int]:
    """The ``attributes`` codes asked for: comma-separated ASCII digits
    (spaces around a code allowed); FRS.0012 otherwise."""
    raw = get_str(payload, "attributes")
    if raw is None or raw.strip(" ") == "":
        return frozenset()
    codes = [c.strip(" ") for c in raw.split(",")]
    if not all(re.fullmatch("[0-9]{1,3}", c) for c in codes):  # ASCII digits only
        raise FrsError(errors.PARAM_FORMAT, "attributes must be comma-separated attribute codes.")
    return frozenset(int(c) for c in codes)


def face_attributes(image: np.ndarray, faces: list[DetectedFace], codes: frozenset[int]) -> list[dict]:
    """One ``attributes`` object per face (only the fields asked for)."""
    from chalicelib.vision import get_engine
    out: list[dict] = [{} for _ in faces]
    if not codes or not faces:
        return out
    engine = get_engine()
    qualities = engine.quality(image, faces) if QUALITY in codes else None
    modelled = engine.attribute_models() if codes & {AGE, GENDER, EXPRESSION, MASK} else None
    # The attribute models know upright faces only: they see each face turned
    # by its checked angle (a sideways photo's face is otherwise read sideways).
    angles = engine.face_angles(image, faces) if FACE_ANGLE in codes or modelled else None
    unknowns = _unknowns(codes)
    for i, (face, attrs) in enumerate(zip(faces, out, strict=True)):
        if qualities is not None:
            attrs["quality"] = qualities[i].as_json()
        if angles is not None and FACE_ANGLE in codes:
            attrs["face_angle"] = int(angles[i])
        if modelled is not None:
            assert angles is not None
            attrs.update(_modelled(modelled, *_upright(image, face, int(angles[i])), codes))
        attrs.update(unknowns)
    return out


def _upright(image: np.ndarray, face: DetectedFace, angle: int) -> tuple[np.ndarray, DetectedFace]:
    """The image and face as the attribute models should see them: upright."""
    from chalicelib.vision import rotation
    from chalicelib.vision.engine import DetectedFace
    if angle == 0:
        return image, face
    turned, box, landmarks = rotation.upright_view(image, face.box, face.landmarks, angle)
    return turned, DetectedFace(box, landmarks, face.score, 0)


def _modelled(models: AttributeModels, image: np.ndarray, face: DetectedFace,
              codes: frozenset[int]) -> dict:
    """The fields answered by the attribute models."""
    out: dict = {}
    if codes & {AGE, GENDER}:
        estimate = models.age_gender(image, face)
        if estimate is not None:
            if AGE in codes:
                out["age"] = estimate.age
            if GENDER in codes:
                out["gender"] = estimate.gender
    if EXPRESSION in codes:
        expression = models.expression(image, face)
        out["expression"] = expression if expression is not None else {"type": UNKNOWN,
                                                                         "probability": 0.0}
    if MASK in codes:
        mask = models.mask(image, face)
        out["mask"] = mask[0] if mask is not None else UNKNOWN
    return out


def _unknowns(codes: frozenset[int]) -> dict:
    """The fields no model here answers, as the SDK's "unknown"."""
    out: dict = {}
    if DRESS in codes:
        out.update({"dress": {"glass": UNKNOWN, "hat": UNKNOWN}, "glass": UNKNOWN, "hat": UNKNOWN})
    for code, name in ((HAIR, "hair"), (BEARD, "beard"), (PHOTOTYPE, "phototype")):
        if code in codes:
            out[name] = UNKNOWN
    return out
