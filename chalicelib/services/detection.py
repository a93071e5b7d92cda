"""Face detection and 1:1 verification: API Reference §4.1, §4.2."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chalicelib import errors, observability
from chalicelib.errors import FrsError
from chalicelib.services.attributes import face_attributes, parse_codes
from chalicelib.services.media import MAX_MEDIA_BYTES, read_media

if TYPE_CHECKING:  # the vision package is imported lazily
    from chalicelib.vision.engine import DetectedFace, FaceEngine


def engine() -> FaceEngine:
    from chalicelib.vision import get_engine  # lazy: keeps non-vision routes' cold start light
    return get_engine()


def decode(data: bytes) -> np.ndarray:
    from chalicelib.vision import decode_image
    return decode_image(data)


def faces_in(payload: dict, prefix: str = "image") -> tuple[np.ndarray, list[DetectedFace]]:
    """Decode the image given under ``prefix`` and detect every face; a
    photo stored sideways or upside down is searched in its other three
    rotations before answering none (boxes in the sent image's pixels)."""
    image = decode(read_media(payload, prefix))
    faces = engine().detect_any_rotation(image)
    observability.note_faces(len(faces))
    return image, faces


def upright(image: np.ndarray, faces: list[DetectedFace]) -> list[DetectedFace]:
    """The faces about to be embedded, each with landmarks from its upright
    turn (FaceEngine.upright: a sideways face's chip is otherwise aligned on
    landmarks the detector placed as if it were upright)."""
    return engine().upright(image, faces)


def detect(payload: dict) -> dict:
    codes = parse_codes(payload)  # before the costly image work
    image, faces = faces_in(payload)
    if not codes:
        return {"faces": [{"bounding_box": f.bounding_box()} for f in faces]}
    attrs = face_attributes(image, faces, codes)
    return {"faces": [{"bounding_box": f.bounding_box(), "attributes": a}
                      for f, a in zip(faces, attrs, strict=True)]}


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
        faces = eng.detect_any_rotation(image)
        observability.note_faces(len(faces))
        if not faces:
            raise FrsError(errors.COMPARE_NO_FACE, "No face is detected in one of the images.")
        face = eng.upright(image, faces[:1])[0]
        found.append((face, eng.embed(image, face)))
    cos = float(np.dot(found[0][1], found[1][1]))
    return {
        "image1_face": {"bounding_box": found[0][0].bounding_box()},
        "image2_face": {"bounding_box": found[1][0].bounding_box()},
        "similarity": float(eng.similarity(cos)),
    }
