"""Translate the FRS filter AST (``chalicelib.query.ast``) into OpenSearch query DSL,
and convert between raw cosine similarity and the k-NN engine's score scale.

Custom fields live under the ``ext`` object of a face document, so a custom
field can never collide with a built-in one (``face_id``, ``seq``, ...).
"""
from __future__ import annotations

from chalicelib.query.ast import BUILTIN_FIELDS, And, Match, Node, Not, Or, Range

EXT = "ext"


def field_path(name: str) -> str:
    """Document path of a filterable/sortable field."""
    return name if name in BUILTIN_FIELDS else f"{EXT}.{name}"


def to_dsl(node: Node) -> dict:
    """A filter-context query equivalent to ``node`` (no scoring)."""
    if isinstance(node, Match):
        return {"term": {field_path(node.field): node.value}}
    if isinstance(node, Range):
        bounds = {}
        if node.low is not None:
            bounds["gte" if node.include_low else "gt"] = node.low
        if node.high is not None:
            bounds["lte" if node.include_high else "lt"] = node.high
        if not bounds:  # [* TO *]: any document that has the field
            return {"exists": {"field": field_path(node.field)}}
        return {"range": {field_path(node.field): bounds}}
    if isinstance(node, And):
        return {"bool": {"filter": [to_dsl(i) for i in node.items]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_dsl(i) for i in node.items], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_dsl(node.item)]}}
    raise TypeError(f"not a filter node: {node!r}")


# -- scores ------------------------------------------------------------------
# The k-NN plugin turns each space's similarity into a positive, monotonic
# score (k-NN docs, "Spaces"); these are exact inverses of those formulas.

def score_to_cosine(space: str, score: float) -> float:
    if space == "cosinesimil":  # score = (1 + cos) / 2
        return 2.0 * score - 1.0
    if space == "innerproduct":  # score = ip + 1 if ip >= 0 else 1 / (1 - ip)
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    raise ValueError(f"unsupported space_type {space!r}")


def cosine_to_score(space: str, cos: float) -> float:
    if space == "cosinesimil":
        return (1.0 + cos) / 2.0
    if space == "innerproduct":
        return cos + 1.0 if cos >= 0.0 else 1.0 / (1.0 - cos)
    raise ValueError(f"unsupported space_type {space!r}")
