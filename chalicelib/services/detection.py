"""Face detection and 1:1 verification: API Reference §4.1, §4.2."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from chalicelib import errors, observability
from chalicelib.errors import FrsError
from chalicelib.services.media import MAX_MEDIA_BYTES, read_media
from chalicelib.services.params import get_str

if TYPE_CHECKING:  # the vision package is imported lazily
    from chalicelib.vision.engine import DetectedFace, FaceEngine


def engine() -> FaceEngine:
    from chalicelib.vision import get_engine  # lazy: keeps non-vision routes' cold start light
    return get_engine()


def decode(data: bytes) -> np.ndarray:
    from chalicelib.vision import decode_image
    return decode_image(data)


def faces_in(payload: dict, prefix: str = "image") -> tuple[np.ndarray, list[DetectedFace]]:
    """Decode the image given under ``prefix`` and detect every face."""
    image = decode(read_media(payload, prefix))
    faces = engine().detect(image)
    observability.note_faces(len(faces))
    return image, faces


def detect(payload: dict) -> dict:
    attributes = get_str(payload, "attributes")
    codes = [] if attributes is None else attributes.split(",")
    if not all(re.fullmatch("[0-9]+", a.strip(" ")) for a in codes):  # ASCII digits only
        raise FrsError(errors.PARAM_FORMAT, "attributes must be comma-separated attribute codes.")
    _, faces = faces_in(payload)
    return {"faces": [{"bounding_box": f.bounding_box()} for f in faces]}


def compare(payload: dict) -> dict:
    # Refuse two large base64 strings before decoding either (types are checked by read_media).
    sizes = [len(v) for v in (payload.get(f"image{i}_base64") for i in (1, 2)) if isinstance(v, str)]
    if sum(sizes) >= MAX_MEDIA_BYTES:
        raise FrsError(errors.BODY_TOO_LARGE, "The two images together must be under 8 MB.")
    data1 = read_media(payload, "image1")
    data2 = read_media(payload, "image2")
    if len(data1) + len(data2) >= MAX_MEDIA_BYTES:
        raise FrsError(errors.BODY_TOO_LARGE, "The two images together must be under 8 MB.")
    eng = engine()
    found = []
    for data in (data1, data2):
        image = decode(data)
        faces = eng.detect(image)
        observability.note_faces(len(faces))
        if not faces:
            raise FrsError(errors.COMPARE_NO_FACE, "No face is detected in one of the images.")
        found.append((faces[0], eng.embed(image, faces[0])))
    cos = float(np.dot(found[0][1], found[1][1]))
    return {
        "image1_face": {"bounding_box": found[0][0].bounding_box()},
        "image2_face": {"bounding_box": found[1][0].bounding_box()},
        "similarity": float(eng.similarity(cos)),
    }
