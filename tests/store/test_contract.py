"""The FaceSetStore contract (chalicelib/store/base.py), run against every backend.

Expected results come from first principles: numpy float64 dot products for
ranking and the scalar reference evaluator (itself checked by hand-written
cases in test_evaluate.py) for filters.
"""
import random
import threading

import numpy as np
import pytest

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query import parse as flt
from chalicelib.query.parse import And, Match, Not, Or, Range
from chalicelib.store.base import SortKey
from chalicelib.store.evaluate import face_values, matches
from tests.store.helpers import BIG, FIELDS, box, face, info, random_fields, unit_vectors


def code_of(excinfo):
    return excinfo.value.code


# -- face sets ----------------------------------------------------------------------------

def test_create_list_get_delete_face_set(store, project):
    created = store.create_face_set(info(project, "a"), 10)
    assert created.face_set_name == "a" and created.face_number == 0
    store.create_face_set(info(project, "b", capacity=20000, fields={"x": "long"}), 10)
    sets = store.list_face_sets(project)
    assert [s.face_set_name for s in sets] == ["a", "b"]  # oldest first
    b = store.get_face_set(project, "b")
    assert (b.face_set_id, b.create_date, b.face_set_capacity, b.external_fields, b.face_number) \
        == ("AbCdEfGh", "2026-11-25 12:00:00", 20000, {"x": "long"}, 0)
    store.delete_face_set(project, "a")
    assert [s.face_set_name for s in store.list_face_sets(project)] == ["b"]
    with pytest.raises(FrsError) as e:
        store.get_face_set(project, "a")
    assert code_of(e) == errors.FACE_SET_NOT_FOUND


def test_embedding_model_round_trips(backend, store, project):
    model = "dlib_resnet-8c2ba98e+tacb336-flip"
    created = store.create_face_set(info(project, "a", model=model), 10)
    store.create_face_set(info(project, "legacy"), 10)  # recorded as unknown
    assert created.embedding_model == model
    assert store.get_face_set(project, "a").embedding_model == model
    assert store.get_face_set(project, "legacy").embedding_model == ""
    assert [(s.face_set_name, s.embedding_model) for s in store.list_face_sets(project)] == \
        [("a", model), ("legacy", "")]
    store.add_faces(project, "a", [face(0, unit_vectors(1)[0])])  # writes keep it
    store.close()
    again = backend.open()
    assert again.get_face_set(project, "a").embedding_model == model
    assert again.get_face_set(project, "legacy").embedding_model == ""


def test_duplicate_name_and_limit(store, projects):
    p, other = projects(), projects()
    store.create_face_set(info(p, "a"), 3)
    with pytest.raises(FrsError) as e:
        store.create_face_set(info(p, "a"), 3)
    assert code_of(e) == errors.FACE_SET_EXISTS and e.value.status == 400
    store.create_face_set(info(other, "a"), 3)  # names are per project
    store.create_face_set(info(p, "b"), 3)
    store.create_face_set(info(p, "c"), 3)
    with pytest.raises(FrsError) as e:
        store.create_face_set(info(p, "d"), 3)
    assert code_of(e) == errors.FACE_SET_LIMIT
    assert len(store.list_face_sets(p)) == 3


def test_unknown_face_set_everywhere(store, project):
    v = unit_vectors(1)[0]
    calls = [
        lambda: store.get_face_set(project, "nope"),
        lambda: store.delete_face_set(project, "nope"),
        lambda: store.add_faces(project, "nope", [face(1, v)]),
        lambda: store.list_faces(project, "nope", 0, 5),
        lambda: store.get_face(project, "nope", "F0000001"),
        lambda: store.update_face(project, "nope", "F0000001", "x", None),
        lambda: store.delete_faces(project, "nope", Match("face_id", "F0000001")),
        lambda: store.search(project, "nope", v, 10),
    ]
    for call in calls:
        with pytest.raises(FrsError) as e:
            call()
        assert code_of(e) == errors.FACE_SET_NOT_FOUND


def test_delete_face_set_removes_faces(store, project):
    store.create_face_set(info(project), 10)
    store.add_faces(project, "set1", [face(i, v) for i, v in enumerate(unit_vectors(3))])
    store.delete_face_set(project, "set1")
    store.create_face_set(info(project), 10)
    assert store.get_face_set(project, "set1").face_number == 0
    assert store.list_faces(project, "set1", 0, 10) == []
    assert store.search(project, "set1", unit_vectors(1)[0], 10) == []


# -- faces -----------------------------------------------------------------------------------

def test_add_list_get_update_delete(store, project):
    store.create_face_set(info(project), 1000)
    vecs = unit_vectors(12, seed=1)
    store.add_faces(project, "set1", [face(i, vecs[i], {"age": i, "name": "n"}) for i in range(7)])
    store.add_faces(project, "set1", [face(i, vecs[i]) for i in range(7, 12)])
    assert store.get_face_set(project, "set1").face_number == 12

    listed = store.list_faces(project, "set1", 0, 100)
    assert [f.face_id for f in listed] == [f"F{i:07d}" for i in range(12)]  # insertion order
    assert all(f.vector is None for f in listed)
    assert listed[3].bounding_box == box(3) and listed[3].external_fields == {"age": 3, "name": "n"}
    page = store.list_faces(project, "set1", 5, 4)
    assert [f.face_id for f in page] == [f"F{i:07d}" for i in range(5, 9)]
    assert store.list_faces(project, "set1", 12, 5) == []

    got = store.get_face(project, "set1", "F0000004", with_vector=True)
    assert got.external_image_id == "img-4" and got.bounding_box == box(4)
    assert got.vector.dtype == np.float32 and np.array_equal(got.vector, vecs[4])
    assert store.get_face(project, "set1", "F0000004").vector is None
    assert store.get_face(project, "set1", "NoSuchId") is None

    upd = store.update_face(project, "set1", "F0000004", "new-ext", {"age": 99, "vip": True})
    assert upd.external_image_id == "new-ext"
    assert upd.external_fields == {"age": 99, "name": "n", "vip": True}  # merged
    upd = store.update_face(project, "set1", "F0000004", None, {"name": "m"})
    assert upd.external_image_id == "new-ext" and upd.external_fields["name"] == "m"
    again = store.get_face(project, "set1", "F0000004")
    assert (again.external_image_id, again.external_fields) == ("new-ext", upd.external_fields)
    # searches see the update (no stale cache)
    hits = store.search(project, "set1", vecs[0], 20, where=Match("age", 99))
    assert [h.face.face_id for h in hits] == ["F0000004"]
    hits = store.search(project, "set1", vecs[0], 20, where=Match("external_image_id", "new-ext"))
    assert [h.face.face_id for h in hits] == ["F0000004"]
    with pytest.raises(FrsError) as e:
        store.update_face(project, "set1", "NoSuchId", "x", None)
    assert code_of(e) == errors.FACE_ID_NOT_FOUND

    assert store.delete_faces(project, "set1", Match("face_id", "F0000002")) == 1
    assert store.delete_faces(project, "set1", Match("face_id", "F0000002")) == 0
    assert store.get_face(project, "set1", "F0000002") is None
    assert store.get_face_set(project, "set1").face_number == 11
    assert "F0000002" not in [h.face.face_id for h in store.search(project, "set1", vecs[2], 20)]


def test_capacity_is_all_or_nothing(store, project):
    store.create_face_set(info(project, capacity=5), 10)
    vecs = unit_vectors(8, seed=2)
    store.add_faces(project, "set1", [face(i, vecs[i]) for i in range(3)])
    with pytest.raises(FrsError) as e:
        store.add_faces(project, "set1", [face(i, vecs[i]) for i in range(3, 6)])
    assert code_of(e) == errors.FACE_SET_FULL and e.value.status == 403
    assert store.get_face_set(project, "set1").face_number == 3
    assert len(store.list_faces(project, "set1", 0, 10)) == 3
    assert store.get_face(project, "set1", "F0000003") is None
    assert len(store.search(project, "set1", vecs[0], 10)) == 3
    store.add_faces(project, "set1", [face(i, vecs[i]) for i in range(3, 5)])  # exactly full
    with pytest.raises(FrsError) as e:
        store.add_faces(project, "set1", [face(5, vecs[5])])
    assert code_of(e) == errors.FACE_SET_FULL
    assert store.delete_faces(project, "set1", Match("face_id", "F0000000")) == 1
    store.add_faces(project, "set1", [face(5, vecs[5])])  # a delete frees a slot
    assert store.get_face_set(project, "set1").face_number == 5


def test_project_isolation(store, projects):
    p1, p2 = projects(), projects()
    vecs = unit_vectors(6, seed=3)
    for p, rng in ((p1, range(0, 3)), (p2, range(3, 6))):
        store.create_face_set(info(p), 10)
        store.add_faces(p, "set1", [face(i, vecs[i]) for i in rng])
    assert [f.face_id for f in store.list_faces(p1, "set1", 0, 10)] == ["F0000000", "F0000001", "F0000002"]
    assert store.get_face(p1, "set1", "F0000004") is None
    assert {h.face.face_id for h in store.search(p2, "set1", vecs[0], 10)} == \
        {"F0000003", "F0000004", "F0000005"}
    assert store.delete_faces(p1, "set1", Match("face_id", "F0000004")) == 0
    assert store.delete_project(p1) == 1
    assert store.list_face_sets(p1) == []
    assert store.get_face_set(p2, "set1").face_number == 3
    assert store.delete_project(p1) == 0


# -- search ----------------------------------------------------------------------------------

@pytest.fixture
def populated(store, project):
    """300 faces with every field type; answers (vectors, records by face id)."""
    store.create_face_set(info(project), 1000)
    rng = random.Random(7)
    vecs = unit_vectors(300, seed=4)
    faces = [face(i, vecs[i], random_fields(rng, i), ext=f"img-{i % 40}") for i in range(300)]
    for k in range(0, 300, 64):
        store.add_faces(project, "set1", faces[k:k + 64])
    return vecs, {f.face_id: f for f in faces}


def truth(vecs, records, query, where=None, min_score=None):
    """(score, face_id) of every eligible face, best first, from float64 numpy."""
    ids = list(records)
    scores = vecs.astype(np.float64) @ query.astype(np.float64)
    out = [(s, fid) for s, fid in zip(scores, ids, strict=True)
           if matches(where, face_values(records[fid])) and (min_score is None or s >= min_score)]
    return sorted(out, key=lambda t: -t[0])


def test_search_ranking_matches_numpy(store, project, populated):
    vecs, records = populated
    rng = np.random.default_rng(11)
    for q in range(20):
        # near a stored face (a genuine match) or a fresh embedding-like vector
        if q % 2:
            query = vecs[q * 7] + 0.3 * unit_vectors(1, seed=100 + q)[0]
        else:
            query = unit_vectors(1, seed=200 + q)[0]
        query = (query / np.linalg.norm(query)).astype(np.float32)
        top_n = int(rng.integers(1, 40))
        hits = store.search(project, "set1", query, top_n)
        want = truth(vecs, records, query)[:top_n]
        assert [h.face.face_id for h in hits] == [fid for _, fid in want]
        assert np.allclose([h.score for h in hits], [s for s, _ in want], atol=1e-4)
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    hit = store.search(project, "set1", vecs[17], 1)[0]
    assert hit.face.face_id == "F0000017" and hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.face.bounding_box == box(17)
    assert hit.face.external_fields == records["F0000017"].external_fields
    assert hit.face.external_image_id == "img-17"
    assert len(store.search(project, "set1", vecs[0], 1000)) == 300


def test_min_score(store, project, populated):
    vecs, records = populated
    query = vecs[5]
    all_scores = [s for s, _ in truth(vecs, records, query)]
    cut = float(np.median(all_scores))
    hits = store.search(project, "set1", query, 1000, min_score=cut)
    want = truth(vecs, records, query, min_score=cut)
    assert 100 < len(want) < 200
    assert [h.face.face_id for h in hits] == [fid for _, fid in want]
    assert all(h.score >= cut - 1e-6 for h in hits)
    assert len(store.search(project, "set1", query, 5, min_score=cut)) == 5
    assert store.search(project, "set1", query, 10, min_score=1.01) == []


FILTERS = [
    Match("name", "alice"),
    Match("name", "dave-x"),
    Match("name", "nobody"),
    Match("age", 30),
    Match("ts", BIG),
    Match("ts", BIG + 1),
    Match("score", 0.5),
    Match("score", -1.25),
    Match("weight", 50.25),
    Match("vip", True),
    Match("vip", False),
    Match("face_id", "F0000042"),
    Match("external_image_id", "img-3"),
    Range("age", 18, 65, True, True),
    Range("age", 18, 65, False, False),
    Range("age", 30, None, True, False),
    Range("age", None, 30, False, True),
    Range("age", None, 0, False, False),
    Range("ts", BIG - 1, BIG + 1, True, False),
    Range("ts", BIG, None, False, True),
    Range("score", -0.5, 0.5, True, True),
    Range("score", -0.5, 0.5, False, False),
    Range("weight", None, 25.0, True, True),
    Range("weight", 99.75, None, False, True),
    Range("age", 200, None, True, True),
    And((Range("age", 18, None, True, True), Match("vip", True))),
    And((Match("name", "bob"), Range("weight", 10.0, 90.0, True, False), Not(Match("vip", True)))),
    Or((Match("name", "alice"), Match("name", "carol"))),
    Or((Match("age", 1), Match("age", 2), Range("score", 1.5, None, True, True))),
    Not(Match("name", "alice")),  # includes faces without a name
    Not(Range("age", 10, 80, True, True)),
    Not(Or((Match("vip", True), Match("vip", False)))),  # exactly the faces lacking vip
    And((Or((Match("name", "bob"), Match("name", "Eve_1"))),
         Not(And((Range("age", None, 40, True, True), Match("vip", False)))))),
    Or((Match("face_id", "F0000001"), Match("face_id", "F0000299"), Match("external_image_id", "img-39"))),
    And((Match("external_image_id", "img-5"), Not(Match("face_id", "F0000005")))),
]


@pytest.mark.parametrize("where", FILTERS, ids=[repr(f)[:70] for f in FILTERS])
def test_filter(store, project, populated, where):
    vecs, records = populated
    query = vecs[9]
    want = truth(vecs, records, query, where=where)
    hits = store.search(project, "set1", query, 1000, where=where)
    assert [h.face.face_id for h in hits] == [fid for _, fid in want]
    top = store.search(project, "set1", query, 3, where=where)
    assert [h.face.face_id for h in top] == [fid for _, fid in want[:3]]


def test_filter_oracle_spot_checks(populated):
    """The oracle itself, on hand-picked facts of the generated data."""
    _, records = populated
    values = {fid: face_values(f) for fid, f in records.items()}
    lacking_vip = {fid for fid, v in values.items() if "vip" not in v}
    assert lacking_vip and {fid for fid, v in values.items()
                            if matches(Not(Or((Match("vip", True), Match("vip", False)))), v)} == lacking_vip
    assert {fid for fid, v in values.items() if matches(Match("external_image_id", "img-3"), v)} \
        == {"F0000003", "F0000043", "F0000083", "F0000123", "F0000163", "F0000203", "F0000243", "F0000283"}
    assert 0 < sum(matches(Match("ts", BIG + 1), v) for v in values.values()) < 300


def test_filter_with_min_score_and_small_top_n(store, project, populated):
    vecs, records = populated
    where = Or((Match("name", "alice"), Range("age", 50, None, True, True)))
    want = truth(vecs, records, vecs[3], where=where, min_score=0.3)
    hits = store.search(project, "set1", vecs[3], 7, min_score=0.3, where=where)
    assert [h.face.face_id for h in hits] == [fid for _, fid in want[:7]]


@pytest.mark.parametrize("keys", [
    [SortKey("age", False)],
    [SortKey("age", True)],
    [SortKey("weight", True)],
    [SortKey("score", False), SortKey("ts", True)],
    [SortKey("vip_count", True)],  # defined nowhere: score order stays
])
def test_sort(store, project, populated, keys):
    vecs, records = populated
    top_n = 25
    hits = store.search(project, "set1", vecs[12], top_n, sort=keys)
    ranked = truth(vecs, records, vecs[12])[:top_n]
    rank = {fid: k for k, (_, fid) in enumerate(ranked)}
    assert {h.face.face_id for h in hits} == set(rank)  # the same hits, reordered

    def expected_key(fid):
        parts = []
        for k in keys:
            v = records[fid].external_fields.get(k.field)
            parts.append((1, 0) if v is None else (0, -v if k.descending else v))
        return parts + [rank[fid]]

    assert [h.face.face_id for h in hits] == sorted(rank, key=expected_key)


def test_delete_by_filter(store, project, populated):
    vecs, records = populated
    where = And((Range("age", 20, 40, True, False), Not(Match("vip", True))))
    doomed = {fid for fid, f in records.items() if matches(where, face_values(f))}
    assert 5 < len(doomed) < 150
    assert store.delete_faces(project, "set1", where) == len(doomed)
    assert store.delete_faces(project, "set1", where) == 0
    assert store.get_face_set(project, "set1").face_number == 300 - len(doomed)
    left = [f.face_id for f in store.list_faces(project, "set1", 0, 1000)]
    assert left == [fid for fid in records if fid not in doomed]
    hits = store.search(project, "set1", vecs[0], 1000)
    assert {h.face.face_id for h in hits} == set(records) - doomed
    assert store.delete_faces(project, "set1", Match("name", "nobody")) == 0


def test_restart_durability(backend, store, project):
    store.create_face_set(info(project), 100)
    vecs = unit_vectors(5, seed=5)
    store.add_faces(project, "set1", [face(i, vecs[i], {"age": i}) for i in range(5)])
    store.update_face(project, "set1", "F0000001", "renamed", {"vip": True})
    store.delete_faces(project, "set1", Match("face_id", "F0000004"))
    store.close()

    again = backend.open()
    assert again.get_face_set(project, "set1").face_number == 4
    assert [f.face_id for f in again.list_faces(project, "set1", 0, 10)] == \
        ["F0000000", "F0000001", "F0000002", "F0000003"]
    f1 = again.get_face(project, "set1", "F0000001", with_vector=True)
    assert f1.external_image_id == "renamed" and f1.external_fields == {"age": 1, "vip": True}
    assert np.array_equal(f1.vector, vecs[1])
    assert again.search(project, "set1", vecs[2], 1)[0].face.face_id == "F0000002"


def test_concurrent_adds_respect_capacity(store, project):
    capacity = 60
    store.create_face_set(info(project, capacity=capacity), 10)
    vecs = unit_vectors(8 * 12 * 3, seed=6)
    acknowledged, failures, unexpected = [], [], []
    lock = threading.Lock()

    def worker(t):
        rng = random.Random(t)
        for b in range(12):
            size = rng.randint(1, 3)
            batch = [face(t * 1000 + b * 10 + k, vecs[(t * 12 + b) * 3 + k]) for k in range(size)]
            try:
                store.add_faces(project, "set1", batch)
            except FrsError as e:
                with lock:
                    (failures if e.code == errors.FACE_SET_FULL else unexpected).append(e)
            except Exception as e:  # noqa: BLE001 - any other error fails the test
                with lock:
                    unexpected.append(e)
            else:
                with lock:
                    acknowledged.extend(f.face_id for f in batch)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unexpected
    assert failures  # 8 x 12 batches of >= 1 face cannot all fit in 60
    assert len(acknowledged) <= capacity
    assert store.get_face_set(project, "set1").face_number == len(acknowledged)
    stored = [f.face_id for f in store.list_faces(project, "set1", 0, 1000)]
    assert sorted(stored) == sorted(acknowledged)
    assert len(acknowledged) >= capacity - 2  # failures only once (nearly) full


# -- the same through the real parser, once it exists ---------------------------------------

@pytest.mark.parametrize("text,node", [
    ("age:[18 TO 65]", Range("age", 18, 65, True, True)),
    ("age:{18 TO *}", Range("age", 18, None, False, False)),
    ("name:alice && (!vip:true)", And((Match("name", "alice"), Not(Match("vip", True))))),
    ("weight:[* TO 25.0] || external_image_id:img-3",
     Or((Range("weight", None, 25.0, True, True), Match("external_image_id", "img-3")))),
])
def test_parsed_filter(store, project, populated, text, node):
    parse = getattr(flt, "parse_filter", None)
    if parse is None:
        pytest.skip("chalicelib.query.parse.parse_filter not written yet")
    vecs, records = populated
    schema = dict(FIELDS)
    hits = store.search(project, "set1", vecs[1], 1000, where=parse(text, schema))
    want = truth(vecs, records, vecs[1], where=node)
    assert [h.face.face_id for h in hits] == [fid for _, fid in want]
