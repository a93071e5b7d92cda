"""Reference evaluator of the filter AST (``chalicelib.query.ast``) over one face.

It is deliberately scalar and obvious: tests use it as the oracle for every
backend, and backends may use it where speed does not matter. Semantics, shared
by all backends:

* a face whose field is absent (or of another type) never matches ``Match`` or
  ``Range`` on that field, so ``Not`` of such a node matches it (Lucene
  ``must_not`` semantics);
* ``Range`` ends are ``None`` for ``*``; ``include_low``/``include_high`` pick
  ``[ ]`` versus ``{ }``;
* ``face_id`` and ``external_image_id`` are ordinary string fields.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.query.ast import And, Match, Node, Not, Or, Range

if TYPE_CHECKING:
    from chalicelib.store.base import FaceRecord


def face_values(face: FaceRecord) -> dict:
    """The field values a filter sees for a ``FaceRecord`` (built-ins included)."""
    values = dict(face.external_fields or {})
    values["face_id"] = face.face_id
    values["external_image_id"] = face.external_image_id
    return values


def _same_kind(a: object, b: object) -> bool:
    # bool is an int in Python; a boolean field must not equal 1, nor a number True.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str)
    return isinstance(a, (int, float)) and isinstance(b, (int, float))


def _in_range(v: Any, node: Range) -> bool:  # v: a stored JSON value, kind checked here
    """Is the value ``v`` of the range's field within its bounds (same kind as each)?"""
    for bound in (node.low, node.high):
        if bound is not None and not _same_kind(v, bound):
            return False
    if node.low is not None and (v < node.low or (v == node.low and not node.include_low)):
        return False
    if node.high is not None and (v > node.high or (v == node.high and not node.include_high)):
        return False
    return True


def matches(node: Node | None, values: dict) -> bool:
    """Does a face with field ``values`` satisfy ``node``? ``None`` matches all."""
    if node is None:
        return True
    if isinstance(node, Match):
        if node.field not in values:
            return False
        v = values[node.field]
        return _same_kind(v, node.value) and v == node.value
    if isinstance(node, Range):
        return node.field in values and _in_range(values[node.field], node)
    if isinstance(node, And):
        return all(matches(item, values) for item in node.items)
    if isinstance(node, Or):
        return any(matches(item, values) for item in node.items)
    if isinstance(node, Not):
        return not matches(node.item, values)
    raise TypeError(f"not a filter node: {node!r}")
