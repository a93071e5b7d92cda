"""FRS filter expressions (API Reference §5.5): the grammar and binding.

``parse_filter(text, schema)`` turns an expression such as
``age:[18 TO *] && (!city:Paris)`` into the typed AST of
``chalicelib.query.ast``, checked against the face set's custom-field schema.
Each store backend translates the same AST into its own query language.
"""
from __future__ import annotations

import math
import re
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput, v_args

from chalicelib.errors import FILTER_INVALID, FrsError
from chalicelib.query.ast import (
    BUILTIN_FIELDS,
    FLOAT_MAX,
    INT_BOUNDS,
    And,
    Match,
    Node,
    Not,
    Or,
    Range,
    Value,
)
from chalicelib.text import check_text

__all__ = ["BUILTIN_FIELDS", "INT_BOUNDS", "And", "Match", "Node", "Not", "Or", "Range",
           "coerce_value", "parse_filter"]

# ---------------------------------------------------------------------------
# Grammar. Negation must be written inside its own parentheses, as FRS
# requires: ``(!city:Paris)``; ``!city:Paris`` alone is a syntax error.
# Range brackets may be mixed (``[1 TO 10}``), as in Lucene.
_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: atom (_AND atom)*
?atom: "(" "!" or_expr ")"   -> negation
     | "(" or_expr ")"
     | clause
clause: NAME ":" (range | value)
range: LOW bound _TO bound HIGH
bound: STAR | value
value: QUOTED | WORD
LOW: "[" | "{"
HIGH: "]" | "}"
STAR.2: "*"
_TO.2: "TO"
_AND: "&&"
_OR: "||"
NAME: /[A-Za-z0-9_-]+/
WORD: /[^\s()\[\]{}:&|!"*]+/
QUOTED: /"([^"\\]|\\.)*"/
%ignore /[ \t\r\n]+/
"""

_parser = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

# Number literals: ASCII digits only (int() and float() also read "١٢",
# "1_2" and full-width digits).
_INT_LITERAL = re.compile(r"[+-]?[0-9]{1,20}")
_FLOAT_LITERAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")

MAX_LENGTH = 4096
MAX_DEPTH = 32


class _Raw:
    """Parse-tree leaves before binding: the field name and its source column."""

    def __init__(self, field: str, column: int | None, value: str | None = None, low: str | None = None,
                 high: str | None = None, include_low: bool = True, include_high: bool = True,
                 is_range: bool = False) -> None:
        self.field, self.column, self.value = field, column, value
        self.low, self.high = low, high
        self.include_low, self.include_high, self.is_range = include_low, include_high, is_range


@v_args(inline=True)
class _ToAst(Transformer):
    def value(self, tok: Token) -> str:
        s = str(tok)
        if tok.type == "QUOTED":
            s = s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return s

    def bound(self, item: Token | str) -> str | None:
        return None if isinstance(item, Token) and item.type == "STAR" else item

    def range(self, low: Token, lo: str | None, hi: str | None,
              high: Token) -> tuple[str, str | None, str | None, bool, bool]:
        return ("range", lo, hi, str(low) == "[", str(high) == "]")

    def clause(self, name: Token, rhs: str | tuple) -> _Raw:
        if isinstance(rhs, tuple):
            _, lo, hi, il, ih = rhs
            return _Raw(str(name), name.column, low=lo, high=hi, include_low=il,
                        include_high=ih, is_range=True)
        return _Raw(str(name), name.column, value=rhs)

    def negation(self, item: Any) -> Not:  # a parse-tree child, bound later
        return Not(item)

    def and_expr(self, *items: Any) -> And:
        return And(_flatten(And, items))

    def or_expr(self, *items: Any) -> Or:
        return Or(_flatten(Or, items))


def _flatten(kind: type[And] | type[Or], items: tuple) -> tuple:
    out: list = []
    for it in items:
        out.extend(it.items if isinstance(it, kind) else [it])
    return tuple(out)


def _depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def parse_filter(text: object, schema: dict[str, str]) -> Node:
    """Parse and type-check a filter expression against a face set schema
    (custom field name -> FRS type). Raises FRS.0029 saying where it failed."""
    if not isinstance(text, str):
        raise FrsError(FILTER_INVALID, "filter must be a string")
    check_text(text, "filter")
    if not text.strip():
        raise FrsError(FILTER_INVALID, "filter is empty")
    if len(text) > MAX_LENGTH:
        raise FrsError(FILTER_INVALID, f"filter is longer than {MAX_LENGTH} characters")
    if _depth(text) > MAX_DEPTH:
        raise FrsError(FILTER_INVALID, f"filter nests parentheses deeper than {MAX_DEPTH}")
    try:
        tree = _parser.parse(text)
    except UnexpectedInput as exc:
        col = getattr(exc, "column", "?")
        found = getattr(exc, "token", None) or getattr(exc, "char", None)
        what = f"unexpected {str(found)!r}" if found not in (None, "") else "unexpected end of expression"
        if what == "unexpected end of expression" or getattr(found, "type", "") == "$END":
            what, col = "unexpected end of expression", len(text.rstrip()) + 1
        raise FrsError(FILTER_INVALID, f"invalid filter at column {col}: {what}") from None
    ast = _ToAst().transform(tree)
    return _bind(ast, {**schema, **BUILTIN_FIELDS})


def _bind(node: Any, types: dict[str, str]) -> Node:
    if isinstance(node, _Raw):
        ftype = types.get(node.field)
        if ftype is None:
            raise FrsError(FILTER_INVALID,
                           f"invalid filter at column {node.column}: field {node.field!r} is not defined")
        if node.is_range:
            if ftype not in INT_BOUNDS and ftype not in ("float", "double"):
                raise FrsError(FILTER_INVALID, f"invalid filter at column {node.column}: "
                               f"ranges need a numeric field, {node.field!r} is {ftype}")
            low = None if node.low is None else coerce_value(node.field, ftype, node.low, node.column)
            high = None if node.high is None else coerce_value(node.field, ftype, node.high, node.column)
            return Range(node.field, low, high, node.include_low, node.include_high)
        assert node.value is not None  # a clause without a range always has its value
        return Match(node.field, coerce_value(node.field, ftype, node.value, node.column))
    if isinstance(node, Not):
        return Not(_bind(node.item, types))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_bind(i, types) for i in node.items))
    raise TypeError(node)  # pragma: no cover


def coerce_value(field: str, ftype: str, raw: str, column: int | None = None) -> Value:
    """Convert a filter (or query-string) literal to the field's type."""
    where = f"invalid filter at column {column}: " if column is not None else ""
    bad = FrsError(FILTER_INVALID, f"{where}{raw!r} is not a valid {ftype} for field {field!r}")
    check_text(raw, field)
    if ftype == "string":
        if not raw:
            raise FrsError(FILTER_INVALID, f"{where}empty value for field {field!r}")
        return raw
    if ftype == "boolean":
        low = raw.lower()
        if low not in ("true", "false"):
            raise bad
        return low == "true"
    if ftype in INT_BOUNDS:
        if not _INT_LITERAL.fullmatch(raw):
            raise bad
        val = int(raw, 10)
        lo, hi = INT_BOUNDS[ftype]
        if not lo <= val <= hi:
            raise bad
        return val
    # float / double; Python accepts "inf"/"nan" (and non-ASCII digits), FRS does not
    if not _FLOAT_LITERAL.fullmatch(raw):
        raise bad
    number = float(raw)
    if not math.isfinite(number) or abs(number) > FLOAT_MAX.get(ftype, FLOAT_MAX["double"]):
        raise bad
    return number
