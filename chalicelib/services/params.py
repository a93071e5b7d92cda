"""Typed request parameters.

JSON bodies carry native types and are checked strictly (a string where an
integer belongs is FRS.0012). Multipart forms carry every field as text, so
scalars are parsed from strings and ``external_fields``/``sort``/
``return_fields`` arrive as JSON text.
"""
from __future__ import annotations

import json
import math
import re

from chalicelib import errors
from chalicelib.errors import FrsError

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def missing(name: str) -> FrsError:
    return FrsError(errors.PARAM_MISSING, f"The parameter {name} is missing.")


def bad(name: str, why: str) -> FrsError:
    return FrsError(errors.PARAM_FORMAT, f"The parameter {name} is invalid: {why}.")


def get_str(payload: dict, name: str, *, required=False, pattern=None, min_len=1,
            max_len=None, default=None):
    if name not in payload or payload[name] is None:
        if required:
            raise missing(name)
        return default
    val = payload[name]
    if not isinstance(val, str):
        raise bad(name, "a string is expected")
    if len(val) < min_len or (max_len is not None and len(val) > max_len):
        raise bad(name, f"length must be {min_len} to {max_len} characters")
    if pattern is not None and not pattern.match(val):
        raise bad(name, "only letters, digits, '_' and '-' are allowed")
    return val


def get_int(payload: dict, name: str, *, form=False, default=None, lo=None, hi=None, required=False):
    if name not in payload or payload[name] is None:
        if required:
            raise missing(name)
        return default
    val = payload[name]
    if form and isinstance(val, str):
        if not re.fullmatch(r"[+-]?\d{1,18}", val.strip()):
            raise bad(name, "an integer is expected")
        val = int(val)
    if isinstance(val, bool) or not isinstance(val, int):
        raise bad(name, "an integer is expected")
    if (lo is not None and val < lo) or (hi is not None and val > hi):
        raise bad(name, f"must be between {lo} and {hi}")
    return val


def get_float(payload: dict, name: str, *, form=False, default=None, lo=None, hi=None):
    if name not in payload or payload[name] is None:
        return default
    val = payload[name]
    if form and isinstance(val, str):
        try:
            val = float(val)
        except ValueError:
            raise bad(name, "a number is expected") from None
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
        raise bad(name, "a number is expected")
    if (lo is not None and val < lo) or (hi is not None and val > hi):
        raise bad(name, f"must be between {lo} and {hi}")
    return float(val)


def get_bool(payload: dict, name: str, *, form=False, default=None):
    if name not in payload or payload[name] is None:
        return default
    val = payload[name]
    if form and isinstance(val, str) and val.lower() in ("true", "false"):
        return val.lower() == "true"
    if not isinstance(val, bool):
        raise bad(name, "true or false is expected")
    return val


def get_json(payload: dict, name: str, kind, *, form=False, default=None):
    """A structured parameter (object or array); in forms it is JSON text."""
    if name not in payload or payload[name] is None:
        return default
    val = payload[name]
    if form and isinstance(val, str):
        try:
            val = json.loads(val)
        except (ValueError, RecursionError):
            raise bad(name, "valid JSON is expected") from None
    if not isinstance(val, kind):
        raise bad(name, f"a JSON {'object' if kind is dict else 'array'} is expected")
    return val
