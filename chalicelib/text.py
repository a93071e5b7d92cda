"""Text the service accepts and answers: valid Unicode only.

A Python ``str`` can hold lone UTF-16 surrogates (JSON's ``"\\ud800"``, a
UTF-7 form field), which are not Unicode scalar values: they cannot be
encoded as UTF-8, so a response or a store that meets one fails. Every
string a client sends is checked with ``check_text`` before anything is
written, and responses are encoded with ``dumps``, which cannot fail.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib import errors
from chalicelib.errors import FrsError


def is_scalar_text(s: str) -> bool:
    """True when ``s`` is a sequence of Unicode scalar values (no surrogates)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_invalid(value: Any) -> str | None:
    """The path (``a.b[2]``) of the first string (or object key) in a JSON-like
    value that is not valid Unicode, or None. Iterative: any nesting depth."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not is_scalar_text(item):
                return path or "value"
        elif isinstance(item, dict):
            for k, v in item.items():
                key = k if isinstance(k, str) else str(k)
                if not is_scalar_text(key):
                    return f"{path}.<key>" if path else "<key>"
                stack.append((f"{path}.{key}" if path else key, v))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return None


def invalid_text(where: str) -> FrsError:
    return FrsError(errors.TEXT_INVALID, f"The parameter {where} is not valid Unicode text "
                    "(it contains a lone surrogate).")


def check_text(value: Any, name: str = "") -> None:
    """FRS.0406 when any string in ``value`` (named ``name``) is not valid Unicode."""
    bad = find_invalid(value)
    if bad is not None:
        where = (f"{name}.{bad}" if bad != "value" else name) if name else bad
        raise invalid_text(where.replace(".<key>", " (a key)").replace("<key>", "(a key)"))


def dumps(body: object) -> str:
    """JSON text that can always be encoded as UTF-8: non-ASCII characters
    are kept as they are, unless the value holds a lone surrogate (data
    stored before the check existed), which is then written as ``\\udXXX``."""
    text = json.dumps(body, ensure_ascii=False)
    if is_scalar_text(text):
        return text
    return json.dumps(body, ensure_ascii=True)
