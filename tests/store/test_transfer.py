"""Store contract, export and restore (issue 17): every backend pages a set out
with its vectors bit for bit and restores one all or nothing, face ids kept."""
import numpy as np
import pytest

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.parse import Match
from tests.store.helpers import face, info, unit_vectors


def code_of(excinfo):
    assert isinstance(excinfo.value, FrsError)
    return excinfo.value.code


def export_all(store, project, name, limit):
    out, cursor, calls = [], "", 0
    while True:
        page, cursor = store.export_faces(project, name, cursor, limit)
        calls += 1
        out += page
        if len(page) < limit:
            return out, calls


def test_export_pages_every_face_with_its_vector(store, project):
    vecs = unit_vectors(25, seed=3)
    store.create_face_set(info(project, "ex", fields={"age": "integer"}), 10)
    for lo, hi in ((0, 10), (10, 11), (11, 25)):
        store.add_faces(project, "ex", [face(i, vecs[i], {"age": i}) for i in range(lo, hi)])
    store.delete_faces(project, "ex", Match("age", 4))
    got, calls = export_all(store, project, "ex", 7)
    want = [i for i in range(25) if i != 4]
    assert [f.face_id for f in got] == [f"F{i:07d}" for i in want]  # insertion order, no gaps
    assert calls == 4  # 7 + 7 + 7 + 3
    for f, i in zip(got, want, strict=True):
        assert f.vector is not None and f.vector.dtype == np.float32
        assert f.vector.tobytes() == vecs[i].tobytes()
        assert f.external_fields == {"age": i} and f.external_image_id == f"img-{i}"
        assert f.bounding_box == face(i, None).bounding_box
    last_page, cursor = store.export_faces(project, "ex", "", 24)
    assert len(last_page) == 24
    assert store.export_faces(project, "ex", cursor, 5) == ([], cursor)
    with pytest.raises(FrsError) as e:
        store.export_faces(project, "nope", "", 5)
    assert code_of(e) == errors.FACE_SET_NOT_FOUND


def test_restore_keeps_face_ids_vectors_and_order(backend, store, project):
    vecs = unit_vectors(30, seed=5)
    faces = [face(i, vecs[i], {"age": i, "name": f"p{i % 3}"}) for i in range(30)][::-1]
    src = info(project, "back", capacity=40, fields={"age": "integer", "name": "string"},
               model="sface-test")
    made = store.restore_face_set(src, faces, 10)
    assert made.face_number == 30 and made.embedding_model == "sface-test"
    again = backend.open()  # another process over the same storage
    got = again.get_face_set(project, "back")
    assert (got.face_set_id, got.create_date, got.face_set_capacity, got.face_number) == \
        (src.face_set_id, src.create_date, 40, 30)
    assert got.external_fields == {"age": "integer", "name": "string"}
    assert [f.face_id for f in again.list_faces(project, "back", 0, 100)] == [f.face_id for f in faces]
    one = again.get_face(project, "back", "F0000007", with_vector=True)
    assert one is not None and one.vector is not None and one.vector.tobytes() == vecs[7].tobytes()
    hits = again.search(project, "back", vecs[7], 3)
    assert hits[0].face.face_id == "F0000007" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    filtered = again.search(project, "back", vecs[7], 30, where=Match("name", "p1"))
    assert {h.face.face_id for h in filtered} == {f"F{i:07d}" for i in range(30) if i % 3 == 1}
    # Capacity keeps counting the restored faces.
    again.add_faces(project, "back", [face(100 + i, vecs[i]) for i in range(10)])
    with pytest.raises(FrsError) as e:
        again.add_faces(project, "back", [face(200, vecs[0])])
    assert code_of(e) == errors.FACE_SET_FULL
    exported, _ = export_all(again, project, "back", 1000)
    assert [f.face_id for f in exported][:30] == [f.face_id for f in faces]


def test_restore_refusals_leave_nothing(backend, store, projects):
    project = projects()
    vecs = unit_vectors(12, seed=9)
    faces = [face(i, vecs[i]) for i in range(12)]
    store.create_face_set(info(project, "taken", fields={}), 10)
    cases = {
        errors.FACE_SET_EXISTS: (info(project, "taken", fields={}), faces, 10),
        errors.FACE_SET_FULL: (info(project, "small", capacity=10, fields={}), faces, 10),
        errors.FACE_SET_LIMIT: (info(project, "one-more", fields={}), faces, 1),
    }
    for code, (src, fs, limit) in cases.items():
        with pytest.raises(FrsError) as e:
            store.restore_face_set(src, fs, limit)
        assert code_of(e) == code
    fresh = backend.open()
    assert [s.face_set_name for s in fresh.list_face_sets(project)] == ["taken"]
    assert fresh.get_face_set(project, "taken").face_number == 0
    for name in ("small", "one-more"):
        with pytest.raises(FrsError) as e:
            fresh.get_face_set(project, name)
        assert code_of(e) == errors.FACE_SET_NOT_FOUND


def test_restore_empty_set_then_add(store, project):
    made = store.restore_face_set(info(project, "empty", fields={}), [], 10)
    assert made.face_number == 0
    store.add_faces(project, "empty", [face(1, unit_vectors(1)[0])])
    assert store.get_face_set(project, "empty").face_number == 1
    assert export_all(store, project, "empty", 10)[0][0].face_id == "F0000001"
