"""Custom fields ("external fields", API Reference §5.3): the schema declared
when a face set is created, and the values given with each face."""
from __future__ import annotations

import re

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.ast import FIELD_TYPES, FLOAT_MAX, INT_BOUNDS
from chalicelib.services.params import finite_float
from chalicelib.text import check_text

MAX_FIELDS = 10
KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,36}")  # matched in full (no trailing "\n")
RESERVED = {"vector", "bounding_box", "external_image_id", "face_id", "create_time",
            "similarity", "_id", "_all", "_source"}
MAX_STRING = 256


def parse_schema(raw: object) -> dict[str, str]:
    """``{"name": {"type": "integer"}, ...}`` -> ``{"name": "integer"}``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FrsError(errors.PARAM_FORMAT, "external_fields must be a JSON object.")
    if len(raw) > MAX_FIELDS:
        raise FrsError(errors.PARAM_FORMAT, f"At most {MAX_FIELDS} external fields may be defined.")
    check_text(raw, "external_fields")
    schema = {}
    for key, spec in raw.items():
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            raise FrsError(errors.PARAM_FORMAT, f"Invalid external field name {key!r}: 1 to 36 "
                           "letters, digits, '_' or '-'.")
        if key in RESERVED:
            raise FrsError(errors.PARAM_FORMAT, f"{key!r} is a built-in field and cannot be defined.")
        ftype = spec.get("type") if isinstance(spec, dict) else None
        if not isinstance(ftype, str) or ftype.lower() not in FIELD_TYPES:
            raise FrsError(errors.PARAM_FORMAT, f"External field {key!r} needs a type among "
                           f"{', '.join(FIELD_TYPES)}.")
        schema[key] = ftype.lower()
    return schema


def schema_json(schema: dict[str, str]) -> dict:
    return {k: {"type": t} for k, t in schema.items()}


def check_values(values: object, schema: dict[str, str]) -> dict:
    """Validate the custom-field values of a face against the schema."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise FrsError(errors.PARAM_FORMAT, "external_fields must be a JSON object.")
    check_text(values, "external_fields")  # before anything is stored
    out = {}
    for key, val in values.items():
        ftype = schema.get(key)
        if ftype is None:
            raise FrsError(errors.FIELD_UNDEFINED, f"The external field {key!r} is not defined "
                           "in this face set.")
        out[key] = _check_value(key, ftype, val)
    return out


def _check_value(key: str, ftype: str, val: object) -> str | bool | int | float:
    wrong = FrsError(errors.FIELD_TYPE_MISMATCH, f"The external field {key!r} must be of type {ftype}.")
    if ftype == "string":
        if not isinstance(val, str):
            raise wrong
        if not 1 <= len(val) <= MAX_STRING or any(ord(c) < 32 for c in val):
            raise FrsError(errors.FIELD_TYPE_MISMATCH, f"The string field {key!r} must have 1 to "
                           f"{MAX_STRING} printable characters.")
        return val
    if ftype == "boolean":
        if not isinstance(val, bool):
            raise wrong
        return val
    if ftype in INT_BOUNDS:
        if isinstance(val, bool) or not isinstance(val, int):
            raise wrong
        lo, hi = INT_BOUNDS[ftype]
        if not lo <= val <= hi:
            raise FrsError(errors.FIELD_TYPE_MISMATCH, f"The field {key!r} is out of the {ftype} range.")
        return val
    number = finite_float(val)
    if number is None:
        raise wrong
    if abs(number) > FLOAT_MAX.get(ftype, FLOAT_MAX["double"]):
        raise FrsError(errors.FIELD_TYPE_MISMATCH, f"The field {key!r} is out of the {ftype} range.")
    return number
