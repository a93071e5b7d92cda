"""Parse and validate the LiveDetect request parameters (before any video
is decoded, so a bad request costs nothing)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import (
    ACTION_TIME_INVALID,
    ACTION_TOO_MANY,
    ACTION_UNSUPPORTED,
    PARAM_FORMAT,
    PARAM_MISSING,
    FrsError,
)

# 1 turn left, 2 turn right, 3 nod, 4 mouth movement (API Reference §4.3);
# 5 blink is listed by the SDK.
ACTIONS = {1: "turn left", 2: "turn right", 3: "nod", 4: "mouth movement", 5: "blink"}
MAX_ACTIONS = 10
MAX_MS = 15_000
DEFAULT_NOD = 10.0
# Numbers in text: ASCII digits only (str.isdigit() is also true of "²",
# which int() refuses, and of "١٠", which it reads).
_ASCII_INT = re.compile(r"[0-9]{1,9}")
_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _code_text(v: object) -> str:
    """An action code as text; an integer too long to print is no code."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) and not -10**9 < v < 10**9:
        return "?"
    return str(v)


@dataclass
class Request:
    actions: list[int]
    windows: list[tuple[float, float]] | None  # seconds, one per action
    nod_threshold: float


def parse_actions(value: object) -> list[int]:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FrsError(PARAM_MISSING, "The parameter actions is missing.")
    if isinstance(value, (list, tuple)):
        items = [_code_text(v) for v in value]
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        items = _code_text(value).split(",")
    else:
        raise FrsError(ACTION_UNSUPPORTED, "The action is not supported: actions must be a "
                                           "comma-separated list of codes.")
    out = []
    for raw in items:
        s = raw.strip()
        if not _ASCII_INT.fullmatch(s) or int(s) not in ACTIONS:
            raise FrsError(ACTION_UNSUPPORTED,
                           f"The action {s!r} is not supported (supported: 1 left, 2 right, "
                           "3 nod, 4 mouth, 5 blink).")
        out.append(int(s))
    if len(out) > MAX_ACTIONS:
        raise FrsError(ACTION_TOO_MANY, f"The number of imported actions ({len(out)}) exceeds 10.")
    return out


def parse_action_time(value: object, n_actions: int) -> list[tuple[float, float]] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FrsError(ACTION_TIME_INVALID, "The action time is invalid: expected a string "
                                            "like \"1000-3000,4000-7000\".")
    windows = []
    for part in value.split(","):
        bits = part.strip().split("-")
        if len(bits) != 2 or not all(_ASCII_INT.fullmatch(b.strip()) for b in bits):
            raise FrsError(ACTION_TIME_INVALID,
                           f"The action time {part.strip()!r} is invalid: expected start-end "
                           "in milliseconds.")
        a, b = int(bits[0]), int(bits[1])
        if a >= b or b > MAX_MS:
            raise FrsError(ACTION_TIME_INVALID,
                           f"The action time {a}-{b} is invalid: start must be before end and "
                           "end at most 15000 ms.")
        windows.append((a / 1000.0, b / 1000.0))
    if len(windows) != n_actions:
        raise FrsError(ACTION_TIME_INVALID,
                       f"The action time has {len(windows)} windows for {n_actions} actions; "
                       "give one window per action.")
    return windows


def parse_nod_threshold(value: Any) -> float:  # any JSON value; float() decides
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_NOD
    if isinstance(value, str) and not _ASCII_NUMBER.fullmatch(value.strip()):
        v = float("nan")  # float() would also read "١٠" or "1_0"
    else:
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            v = float("nan")
    if isinstance(value, bool) or not math.isfinite(v) or not 1 <= v <= 90:
        raise FrsError(PARAM_FORMAT, "The parameter nod_threshold must be a number from 1 to 90.")
    return v


def parse(actions: object, action_time: object = None, nod_threshold: object = None) -> Request:
    acts = parse_actions(actions)
    return Request(acts, parse_action_time(action_time, len(acts)),
                   parse_nod_threshold(nod_threshold))
