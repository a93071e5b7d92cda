"""The filter grammar: every table case parses (or fails with FRS.0029) and
matches exactly the expected faces under the reference evaluator."""
import pytest

from chalicelib.errors import FrsError
from chalicelib.query.parse import And, Match, Not, Or, Range, parse_filter
from chalicelib.store.base import FaceRecord
from chalicelib.store.evaluate import face_values, matches
from tests.filter_cases import FACES, INVALID, SCHEMA, VALID


def _faces():
    return [FaceRecord(fid, img, {}, fields) for fid, (img, fields) in FACES.items()]


def test_table_is_large_enough():
    assert len(VALID) + len(INVALID) >= 60


@pytest.mark.parametrize("expr,expected", VALID, ids=[v[0] for v in VALID])
def test_valid_expression_matches_expected_faces(expr, expected):
    node = parse_filter(expr, SCHEMA)
    got = {f.face_id for f in _faces() if matches(node, face_values(f))}
    assert got == expected


@pytest.mark.parametrize("expr", INVALID, ids=[v[:40] for v in INVALID])
def test_invalid_expression_is_frs_0029(expr):
    with pytest.raises(FrsError) as info:
        parse_filter(expr, SCHEMA)
    assert info.value.code == "FRS.0029"
    assert info.value.status == 400


def test_ast_shape_and_types():
    node = parse_filter("(age:[1 TO *} || ts:5) && (!vip:true) && city:x", SCHEMA)
    assert node == And((Or((Range("age", 1, None, True, False), Match("ts", 5))),
                        Not(Match("vip", True)), Match("city", "x")))


def test_error_message_says_where():
    with pytest.raises(FrsError) as info:
        parse_filter("age:18 && city:", SCHEMA)
    assert "column 16" in info.value.msg
    with pytest.raises(FrsError) as info:
        parse_filter("age:18 && nope:1", SCHEMA)
    assert "nope" in info.value.msg and "column 11" in info.value.msg
