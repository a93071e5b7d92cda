"""Filter AST -> OpenSearch DSL and score-scale conversions (no server needed)."""
import math

import pytest

from chalicelib.query.parse import And, Match, Not, Or, Range
from chalicelib.store.opensearch_query import cosine_to_score, field_path, score_to_cosine, to_dsl


def test_builtin_fields_stay_top_level_custom_fields_go_under_ext():
    assert field_path("face_id") == "face_id"
    assert field_path("external_image_id") == "external_image_id"
    assert field_path("seq") == "ext.seq"  # a custom field can never hit an internal one
    assert field_path("age") == "ext.age"


@pytest.mark.parametrize("node,dsl", [
    (Match("name", "alice"), {"term": {"ext.name": "alice"}}),
    (Match("vip", True), {"term": {"ext.vip": True}}),
    (Match("ts", 2**60 + 1), {"term": {"ext.ts": 2**60 + 1}}),
    (Match("face_id", "F1"), {"term": {"face_id": "F1"}}),
    (Range("age", 18, 65, True, True), {"range": {"ext.age": {"gte": 18, "lte": 65}}}),
    (Range("age", 18, 65, False, False), {"range": {"ext.age": {"gt": 18, "lt": 65}}}),
    (Range("w", None, 2.5, False, True), {"range": {"ext.w": {"lte": 2.5}}}),
    (Range("w", 2.5, None, False, False), {"range": {"ext.w": {"gt": 2.5}}}),
    (Range("w", None, None, True, True), {"exists": {"field": "ext.w"}}),
])
def test_leaves(node, dsl):
    assert to_dsl(node) == dsl


def test_boolean_structure():
    node = And((Or((Match("a", 1), Match("a", 2))), Not(Match("b", "x"))))
    assert to_dsl(node) == {"bool": {"filter": [
        {"bool": {"should": [{"term": {"ext.a": 1}}, {"term": {"ext.a": 2}}],
                  "minimum_should_match": 1}},
        {"bool": {"must_not": [{"term": {"ext.b": "x"}}]}},
    ]}}


def test_unknown_node_is_rejected():
    with pytest.raises(TypeError):
        to_dsl("age:1")


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct"])
@pytest.mark.parametrize("cos", [-1.0, -0.73, -1e-9, 0.0, 0.25, 0.8411, 1.0])
def test_score_conversion_round_trips(space, cos):
    score = cosine_to_score(space, cos)
    assert score >= 0  # the engine never scores below 0
    assert math.isclose(score_to_cosine(space, score), cos, abs_tol=1e-12)


def test_score_formulas_match_the_knn_plugin():
    # cosinesimil: (1 + cos) / 2 ; innerproduct: ip + 1 (ip >= 0) or 1 / (1 - ip)
    assert cosine_to_score("cosinesimil", 0.0) == 0.5
    assert cosine_to_score("innerproduct", 0.6) == pytest.approx(1.6)
    assert cosine_to_score("innerproduct", -1.0) == 0.5
    assert score_to_cosine("innerproduct", 0.5) == -1.0
    with pytest.raises(ValueError):
        score_to_cosine("l2", 1.0)


def test_score_conversion_is_monotonic():
    for space in ("cosinesimil", "innerproduct"):
        xs = [i / 50 - 1 for i in range(101)]
        ys = [cosine_to_score(space, x) for x in xs]
        assert ys == sorted(ys) and len(set(ys)) == len(ys)
