"""The scalar reference evaluator, against hand-written expectations."""
import pytest

from chalicelib.query.parse import And, Match, Not, Or, Range
from chalicelib.store.base import FaceRecord
from chalicelib.store.evaluate import face_values, matches

FACE = {"name": "alice", "age": 30, "ts": 2**60, "w": 2.5, "vip": False,
        "face_id": "AbCdEfGh", "external_image_id": "img-1"}


@pytest.mark.parametrize("node,expected", [
    (None, True),
    (Match("name", "alice"), True),
    (Match("name", "Alice"), False),           # case-sensitive, exact
    (Match("name", "ali"), False),             # no prefix match
    (Match("age", 30), True),
    (Match("age", 30.0), True),
    (Match("age", 31), False),
    (Match("age", "30"), False),               # types never mix
    (Match("ts", 2**60), True),
    (Match("ts", 2**60 + 1), False),           # exact beyond 2**53
    (Match("w", 2.5), True),
    (Match("vip", False), True),
    (Match("vip", 0), False),                  # a bool is not a number
    (Match("age", True), False),
    (Match("missing", "x"), False),
    (Match("face_id", "AbCdEfGh"), True),
    (Match("external_image_id", "img-1"), True),
    (Range("age", 30, 40, True, True), True),
    (Range("age", 30, 40, False, True), False),  # exclusive low end
    (Range("age", 20, 30, True, False), False),  # exclusive high end
    (Range("age", 20, 30, True, True), True),
    (Range("age", None, None, True, True), True),
    (Range("age", 31, None, True, True), False),
    (Range("age", None, 29, True, True), False),
    (Range("w", 2.5, None, False, True), False),
    (Range("w", 2.4, 2.6, False, False), True),
    (Range("ts", 2**60 - 1, 2**60, False, False), False),
    (Range("missing", None, None, True, True), False),  # absent never in range
    (Range("name", "a", "b", True, True), True),        # strings order lexically
    (Range("age", "a", None, True, True), False),
    (And((Match("name", "alice"), Range("age", 18, None, True, True))), True),
    (And((Match("name", "alice"), Match("vip", True))), False),
    (Or((Match("name", "bob"), Match("vip", False))), True),
    (Or((Match("name", "bob"), Match("vip", True))), False),
    (Not(Match("name", "bob")), True),
    (Not(Match("missing", "x")), True),        # negation matches absent fields
    (Not(Not(Match("age", 30))), True),
    (And(()), True),
    (Or(()), False),
])
def test_matches(node, expected):
    assert matches(node, FACE) is expected


def test_face_values_adds_builtins():
    f = FaceRecord("Id123456", "ext", {}, {"age": 1})
    assert face_values(f) == {"age": 1, "face_id": "Id123456", "external_image_id": "ext"}


def test_rejects_non_nodes():
    with pytest.raises(TypeError):
        matches("age:1", FACE)
