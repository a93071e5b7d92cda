"""The typed AST of FRS filter expressions (API Reference §5.5), shared by
the services that parse them and the store backends that run them. Stores
import this module, never the parser (``chalicelib.query.parse``).

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
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Union[Match, Range, And, Or, Not]


# Custom-field types a face set may declare (API Reference §5.3).
FIELD_TYPES = ("string", "integer", "long", "float", "double", "boolean")
NUMERIC_TYPES = ("integer", "long", "float", "double")
INT_BOUNDS = {"integer": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1)}
# Largest magnitude of each floating type (float is stored as float32 by
# OpenSearch: a larger value would become infinity there).
FLOAT_MAX = {"float": 3.4028234663852886e38, "double": 1.7976931348623157e308}
