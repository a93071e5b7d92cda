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
from typing import Any, Literal, overload

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.text import check_text

NAME_RE = re.compile(r"[A-Za-z0-9_-]+")  # patterns are always matched in full
# Numbers in text (forms, query strings): ASCII digits only (int() and
# float() also read "١٠", "1_0" and full-width digits).
INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def parse_int_text(text: str) -> int | None:
    """The integer an ASCII decimal string spells (surrounding spaces allowed), or None."""
    s = text.strip(" \t")
    return int(s) if INT_TEXT.fullmatch(s) else None


def finite_float(val: object) -> float | None:
    """``val`` as a finite float when it is a JSON number (not a bool), else None."""
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return None
    try:
        f = float(val)
    except OverflowError:  # an integer beyond any float
        return None
    return f if math.isfinite(f) else None


def missing(name: str) -> FrsError:
    return FrsError(errors.PARAM_MISSING, f"The parameter {name} is missing.")


def bad(name: str, why: str) -> FrsError:
    return FrsError(errors.PARAM_FORMAT, f"The parameter {name} is invalid: {why}.")


@overload
def get_str(payload: dict, name: str, *, required: Literal[True], pattern: re.Pattern | None = ...,
            min_len: int = ..., max_len: int | None = ..., default: None = ...) -> str: ...
@overload
def get_str(payload: dict, name: str, *, required: bool = ..., pattern: re.Pattern | None = ...,
            min_len: int = ..., max_len: int | None = ..., default: str | None = ...) -> str | None: ...
def get_str(payload: dict, name: str, *, required: bool = False, pattern: re.Pattern | None = None,
            min_len: int = 1, max_len: int | None = None, default: str | None = None) -> str | None:
    if name not in payload or payload[name] is None:
        if required:
            raise missing(name)
        return default
    val = payload[name]
    if not isinstance(val, str):
        raise bad(name, "a string is expected")
    if len(val) < min_len or (max_len is not None and len(val) > max_len):
        raise bad(name, f"length must be {min_len} to {max_len} characters")
    check_text(val, name)
    if pattern is not None and not pattern.fullmatch(val):
        raise bad(name, "only letters, digits, '_' and '-' are allowed")
    return val


@overload
def get_int(payload: dict, name: str, *, form: bool = ..., default: int, lo: int | None = ...,
            hi: int | None = ..., required: bool = ...) -> int: ...
@overload
def get_int(payload: dict, name: str, *, form: bool = ..., default: None = ..., lo: int | None = ...,
            hi: int | None = ..., required: bool = ...) -> int | None: ...
def get_int(payload: dict, name: str, *, form: bool = False, default: int | None = None,
            lo: int | None = None, hi: int | None = None, required: bool = False) -> int | None:
    if name not in payload or payload[name] is None:
        if required:
            raise missing(name)
        return default
    val = payload[name]
    if form and isinstance(val, str):
        parsed = parse_int_text(val)
        if parsed is None:
            raise bad(name, "an integer is expected")
        val = parsed
    if isinstance(val, bool) or not isinstance(val, int):
        raise bad(name, "an integer is expected")
    if (lo is not None and val < lo) or (hi is not None and val > hi):
        raise bad(name, f"must be between {lo} and {hi}")
    return val


@overload
def get_float(payload: dict, name: str, *, form: bool = ..., default: float,
              lo: float | None = ..., hi: float | None = ...) -> float: ...
@overload
def get_float(payload: dict, name: str, *, form: bool = ..., default: None = ...,
              lo: float | None = ..., hi: float | None = ...) -> float | None: ...
def get_float(payload: dict, name: str, *, form: bool = False, default: float | None = None,
              lo: float | None = None, hi: float | None = None) -> float | None:
    if name not in payload or payload[name] is None:
        return default
    val = payload[name]
    if form and isinstance(val, str):
        s = val.strip(" \t")
        if not FLOAT_TEXT.fullmatch(s):
            raise bad(name, "a number is expected")
        val = float(s)
    number = finite_float(val)
    if number is None:
        raise bad(name, "a number is expected")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise bad(name, f"must be between {lo} and {hi}")
    return number


@overload
def get_bool(payload: dict, name: str, *, form: bool = ..., default: bool) -> bool: ...
@overload
def get_bool(payload: dict, name: str, *, form: bool = ..., default: None = ...) -> bool | None: ...
def get_bool(payload: dict, name: str, *, form: bool = False, default: bool | None = None) -> bool | None:
    if name not in payload or payload[name] is None:
        return default
    val = payload[name]
    if form and isinstance(val, str) and val.lower() in ("true", "false"):
        return val.lower() == "true"
    if not isinstance(val, bool):
        raise bad(name, "true or false is expected")
    return val


def get_json(payload: dict, name: str, kind: type[dict] | type[list], *, form: bool = False,
             default: Any = None) -> Any:
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
    check_text(val, name)  # JSON (or JSON text in a form) may spell "\ud800"
    return val
