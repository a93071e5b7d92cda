"""FRS filter expressions (API Reference §5.5): grammar, AST and binding.

``parse_filter(text, schema)`` turns an expression such as
``age:[18 TO *] && (!city:Paris)`` into a typed AST of the node classes below,
checked against the face set's custom-field schema. Each store backend
translates the same AST into its own query language.

Node classes (all frozen dataclasses):

* ``Match(field, value)``            ``field:value``
* ``Range(field, low, high, include_low, include_high)``  ``[a TO b]`` / ``{a TO b}``;
  ``low``/``high`` is ``None`` for an open end (``*``)
* ``And(items)`` / ``Or(items)``     ``&&`` / ``||`` (tuples of nodes, flattened)
* ``Not(item)``                      ``(!expr)``

Values are typed by the field: ``str`` for string fields and the built-ins
``face_id`` and ``external_image_id``, ``int`` for integer/long, ``float`` for
float/double, ``bool`` for boolean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Value = Union[str, int, float, bool]

BUILTIN_FIELDS = {"face_id": "string", "external_image_id": "string"}


@dataclass(frozen=True)
class Match:
    field: str
    value: Value


@dataclass(frozen=True)
class Range:
    field: str
    low: Value | None
    high: Value | None
    include_low: bool
    include_high: bool


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


Node = Union[Match, Range, And, Or, Not]
