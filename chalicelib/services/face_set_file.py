"""The face-set file (``.ofrs``, version 1): lines, vectors and the checksum
chain. Format and reasons in docs/transfer.md; this module only encodes and
decodes, ``services.transfer`` decides what a line means for a face set."""
from __future__ import annotations

import base64
import hashlib
import json
import re

import numpy as np

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.store.base import FaceRecord

FORMAT = "openfrs-face-set"
VERSION = 1
VECTOR_ENCODING = "float32-le-base64"
CURSOR_RE = re.compile(r"([0-9]{0,20})\.([0-9a-f]{64})\.([0-9]{1,9})")


def bad_file(why: str) -> FrsError:
    return FrsError(errors.PARAM_FORMAT, f"The face-set file is not valid: {why}.")


def line(obj: dict) -> bytes:
    """One line: compact JSON, UTF-8 (no lone surrogates get this far), newline."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8") + b"\n"


def chain(previous: bytes | None, raw_line: bytes) -> bytes:
    """The checksum chain: c0 = H(header), ci = H(c(i-1) || line i)."""
    return hashlib.sha256(raw_line if previous is None else previous + raw_line).digest()


def encode_vector(v: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(v, dtype="<f4").ravel().tobytes()).decode("ascii")


def decode_vector(text: object, dim: int, where: str) -> np.ndarray:
    if not isinstance(text, str):
        raise bad_file(f"{where}: vector must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise bad_file(f"{where}: vector is not base64") from None
    if len(raw) != 4 * dim:
        raise bad_file(f"{where}: vector has {len(raw) // 4} values, the header says {dim}")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


BOX_KEYS = ("top_left_x", "top_left_y", "width", "height")


def face_line(face: FaceRecord) -> bytes:
    """Keys in a fixed order, so a set gives the same bytes from every backend."""
    assert face.vector is not None, "exported faces carry their vectors"
    return line({"face_id": face.face_id, "external_image_id": face.external_image_id,
                 "bounding_box": {k: int(face.bounding_box[k]) for k in BOX_KEYS},
                 "external_fields": dict(sorted(face.external_fields.items())),
                 "vector": encode_vector(face.vector)})


def encode_cursor(position: str, digest: bytes, count: int) -> str:
    """Where the next page starts and the chain so far (the server keeps no state)."""
    return f"{position}.{digest.hex()}.{count}"


def decode_cursor(text: str) -> tuple[str, bytes, int]:
    m = CURSOR_RE.fullmatch(text)
    if not m:
        raise FrsError(errors.PARAM_FORMAT, "cursor is not one this server handed out.")
    return m.group(1), bytes.fromhex(m.group(2)), int(m.group(3))


def parse_line(raw: bytes, number: int) -> dict:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_file(f"line {number} is not JSON") from None
    if not isinstance(obj, dict):
        raise bad_file(f"line {number} is not a JSON object")
    return obj
