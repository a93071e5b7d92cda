"""The filter-syntax table run through each store backend: search and
delete-by-filter must select exactly the faces the reference evaluator picks,
so every backend agrees with every other."""
import numpy as np
import pytest

from chalicelib.query.parse import parse_filter
from chalicelib.store.base import FaceRecord, FaceSetInfo
from tests.filter_cases import FACES, SCHEMA, VALID


@pytest.fixture
def table_set(store, project):
    store.create_face_set(FaceSetInfo(project, "filters", "fltrs001", "2026-11-25 00:00:00",
                                      10_000, dict(SCHEMA)), 10)
    rng = np.random.default_rng(7)
    records = []
    for fid, (img, fields) in FACES.items():
        vec = rng.normal(size=128).astype(np.float32)
        records.append(FaceRecord(fid, img, {"top_left_x": 0, "top_left_y": 0, "width": 9,
                                             "height": 9}, dict(fields), vec / np.linalg.norm(vec)))
    store.add_faces(project, "filters", records)
    return records


@pytest.mark.parametrize("expr,expected", VALID, ids=[v[0] for v in VALID])
def test_search_honours_filter(store, project, table_set, expr, expected):
    where = parse_filter(expr, SCHEMA)
    hits = store.search(project, "filters", table_set[0].vector, top_n=100, where=where)
    assert {h.face.face_id for h in hits} == expected


@pytest.mark.parametrize("expr,expected", VALID[::5], ids=[v[0] for v in VALID[::5]])
def test_delete_by_filter_removes_exactly_the_matches(store, project, table_set, expr, expected):
    where = parse_filter(expr, SCHEMA)
    assert store.delete_faces(project, "filters", where) == len(expected)
    left = {f.face_id for f in store.list_faces(project, "filters", 0, 100)}
    assert left == set(FACES) - expected
