"""What only the embedded store promises: its files, cache coherence between
processes sharing a data directory, and the vectorised filter."""
import json
import multiprocessing
import os
import random
import sqlite3

import numpy as np
import pytest

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.parse import And, Match, Not, Or, Range
from chalicelib.store import make_store
from chalicelib.store.base import FaceRecord
from chalicelib.store.embedded import DB_NAME, EmbeddedStore
from chalicelib.store.embedded_columns import FaceColumns
from chalicelib.store.evaluate import face_values, matches
from tests.store.helpers import FIELDS, face, info, random_fields, unit_vectors


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def pair(data_dir):
    """Two stores on one directory: what two processes see."""
    a, b = EmbeddedStore(data_dir), EmbeddedStore(data_dir)
    yield a, b
    a.close()
    b.close()


def test_make_store_uses_frs_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FRS_DATA_DIR", str(tmp_path / "elsewhere"))
    s = make_store("embedded")
    try:
        assert s.path == str(tmp_path / "elsewhere" / DB_NAME)
        assert os.path.exists(s.path)
    finally:
        s.close()


def test_files_wal_and_no_images(data_dir):
    s = EmbeddedStore(data_dir)
    s.create_face_set(info("p"), 10)
    s.add_faces("p", "set1", [face(0, unit_vectors(1)[0])])
    db = sqlite3.connect(os.path.join(data_dir, DB_NAME))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = {r[1] for r in db.execute("PRAGMA table_info(faces)")}
    assert cols == {"id", "project_id", "sid", "face_id", "external_image_id", "box_x", "box_y",
                    "box_w", "box_h", "fields", "vector"}
    (blob,) = db.execute("SELECT vector FROM faces").fetchone()
    assert len(blob) == 4 * 64  # one float32 vector, nothing image-sized
    db.close()
    s.close()


# The schema-1 DDL exactly as the store wrote it before face sets recorded
# their embedding model (chalicelib/store/embedded.py before schema 2).
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS face_sets (
    sid INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: a cache key for this set's life
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    face_set_id TEXT NOT NULL,
    create_date TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    fields TEXT NOT NULL,                    -- JSON {field name: FRS type}
    face_number INTEGER NOT NULL DEFAULT 0,
    dim INTEGER,                             -- vector length, fixed by the first face
    version INTEGER NOT NULL DEFAULT 0,      -- bumped by every write to the set's faces
    epoch INTEGER NOT NULL DEFAULT 0,        -- versions <= epoch are missing from `changes`
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,    -- insertion order, monotonic
    project_id TEXT NOT NULL,
    sid INTEGER NOT NULL,
    face_id TEXT NOT NULL,
    external_image_id TEXT NOT NULL,
    box_x INTEGER NOT NULL, box_y INTEGER NOT NULL,
    box_w INTEGER NOT NULL, box_h INTEGER NOT NULL,
    fields TEXT NOT NULL,                    -- JSON object, as given
    vector BLOB NOT NULL,                    -- float32, little-endian
    UNIQUE (project_id, sid, face_id)
);
CREATE INDEX IF NOT EXISTS faces_by_set ON faces (project_id, sid, id);
CREATE TABLE IF NOT EXISTS changes (         -- rows updated or deleted, per set version
    sid INTEGER NOT NULL,
    version INTEGER NOT NULL,
    face_row INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_set ON changes (sid, version);
"""


def make_v1_database(data_dir, vec):
    """A data directory as the schema-1 code left it: one set with one face."""
    os.makedirs(data_dir, exist_ok=True)
    db = sqlite3.connect(os.path.join(data_dir, DB_NAME))
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA_V1)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO face_sets (project_id, name, face_set_id, create_date, capacity, fields,"
               " face_number, dim, version) VALUES ('p', 'old', 'OldSetId', '2026-01-02 03:04:05',"
               " 10000, ?, 1, ?, 1)", (json.dumps({"age": "integer"}), len(vec)))
    db.execute("INSERT INTO faces (project_id, sid, face_id, external_image_id, box_x, box_y,"
               " box_w, box_h, fields, vector) VALUES ('p', 1, 'OldFace1', 'img', 1, 2, 3, 4, ?, ?)",
               (json.dumps({"age": 7}), np.asarray(vec, "<f4").tobytes()))
    db.commit()
    db.close()


def test_schema_1_database_is_migrated_in_place(data_dir):
    vecs = unit_vectors(3, seed=9)
    make_v1_database(data_dir, vecs[0])
    s = EmbeddedStore(data_dir)
    try:
        old = s.get_face_set("p", "old")
        assert (old.face_set_id, old.face_number, old.external_fields, old.embedding_model) \
            == ("OldSetId", 1, {"age": "integer"}, "")  # unknown model, not an error
        [hit] = s.search("p", "old", vecs[0], 5)
        assert hit.face.face_id == "OldFace1" and hit.face.external_fields == {"age": 7}
        s.add_faces("p", "old", [face(1, vecs[1])])
        s.create_face_set(info("p", "new", model="model-B"), 10)
        assert s.get_face_set("p", "new").embedding_model == "model-B"
    finally:
        s.close()
    db = sqlite3.connect(os.path.join(data_dir, DB_NAME))
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    assert "embedding_model" in {r[1] for r in db.execute("PRAGMA table_info(face_sets)")}
    db.close()
    again = EmbeddedStore(data_dir)  # an already migrated directory opens as is
    try:
        assert [(i.face_set_name, i.face_number, i.embedding_model)
                for i in again.list_face_sets("p")] == [("old", 2, ""), ("new", 0, "model-B")]
    finally:
        again.close()


def test_two_stores_opening_a_schema_1_database(data_dir):
    """Processes starting together: one migrates, the other sees schema 2."""
    make_v1_database(data_dir, unit_vectors(1)[0])
    a, b = EmbeddedStore(data_dir), EmbeddedStore(data_dir)
    try:
        assert a.get_face_set("p", "old").embedding_model == b.get_face_set("p", "old").embedding_model == ""
    finally:
        a.close()
        b.close()


def test_unknown_schema_version_is_refused(data_dir):
    make_v1_database(data_dir, unit_vectors(1)[0])
    db = sqlite3.connect(os.path.join(data_dir, DB_NAME))
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="store schema 99"):
        EmbeddedStore(data_dir)


def test_second_process_sees_adds_updates_deletes(pair):
    a, b = pair
    vecs = unit_vectors(10, seed=1)
    a.create_face_set(info("p"), 10)
    a.add_faces("p", "set1", [face(i, vecs[i], {"age": i}) for i in range(5)])
    assert len(b.search("p", "set1", vecs[0], 10)) == 5  # b caches 5 rows
    a.add_faces("p", "set1", [face(i, vecs[i], {"age": i}) for i in range(5, 8)])
    assert [h.face.face_id for h in b.search("p", "set1", vecs[6], 1)] == ["F0000006"]
    assert len(b.search("p", "set1", vecs[0], 10)) == 8
    a.update_face("p", "set1", "F0000002", None, {"age": 77})
    assert [h.face.face_id for h in b.search("p", "set1", vecs[0], 10, where=Match("age", 77))] \
        == ["F0000002"]
    assert b.delete_faces("p", "set1", Range("age", 6, None, True, True)) == 3  # 6, 7, 77
    assert len(a.search("p", "set1", vecs[0], 10)) == 5
    a.delete_face_set("p", "set1")
    with pytest.raises(FrsError):
        b.search("p", "set1", vecs[0], 10)
    a.create_face_set(info("p"), 10)  # same name, new set: b must not reuse its cache
    assert b.search("p", "set1", vecs[0], 10) == []


def test_failed_batch_leaves_nothing(data_dir):
    s = EmbeddedStore(data_dir)
    s.create_face_set(info("p"), 10)
    vecs = unit_vectors(4)
    s.add_faces("p", "set1", [face(0, vecs[0])])
    with pytest.raises(FrsError) as e:  # the third row collides with a stored face_id
        s.add_faces("p", "set1", [face(1, vecs[1]), face(2, vecs[2]), face(0, vecs[3])])
    assert e.value.code == errors.INTERNAL
    with pytest.raises(ValueError):  # another vector length
        s.add_faces("p", "set1", [face(3, np.ones(32, np.float32) / np.sqrt(32))])
    with pytest.raises(ValueError):
        s.add_faces("p", "set1", [face(3, None)])
    assert [f.face_id for f in s.list_faces("p", "set1", 0, 10)] == ["F0000000"]
    assert s.get_face_set("p", "set1").face_number == 1
    assert len(s.search("p", "set1", vecs[0], 10)) == 1
    with pytest.raises(ValueError):
        s.delete_faces("p", "set1", None)  # never "delete everything" by omission
    s.close()


def _add_in_process(args):
    data_dir, worker, vectors = args
    store = EmbeddedStore(data_dir)
    acknowledged, full = [], 0
    for b in range(10):
        batch = [FaceRecord(f"W{worker}B{b}K{k}", "x", {"top_left_x": 0, "top_left_y": 0,
                                                        "width": 1, "height": 1}, {}, vectors[b * 2 + k])
                 for k in range(2)]
        try:
            store.add_faces("p", "set1", batch)
            acknowledged += [f.face_id for f in batch]
        except FrsError as e:
            assert e.code == errors.FACE_SET_FULL
            full += 1
    store.close()
    return acknowledged, full


def test_capacity_across_processes(data_dir):
    s = EmbeddedStore(data_dir)
    s.create_face_set(info("p", capacity=31), 10)
    vecs = unit_vectors(20, seed=3)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_add_in_process, [(data_dir, w, vecs) for w in range(4)])
    acknowledged = [fid for ack, _ in results for fid in ack]
    assert sum(full for _, full in results) == 40 - 15  # 80 faces offered, 15 batches fit
    assert len(acknowledged) == 30
    assert sorted(f.face_id for f in s.list_faces("p", "set1", 0, 100)) == sorted(acknowledged)
    assert s.get_face_set("p", "set1").face_number == 30
    s.close()


def _random_node(rng, depth=0):
    kind = rng.random()
    if depth < 3 and kind < 0.35:
        items = tuple(_random_node(rng, depth + 1) for _ in range(rng.randint(1, 3)))
        return (And if rng.random() < 0.5 else Or)(items)
    if depth < 3 and kind < 0.45:
        return Not(_random_node(rng, depth + 1))
    field = rng.choice(list(FIELDS) + ["face_id", "external_image_id", "undefined"])
    sample = random_fields(rng, 0) | {"face_id": f"F{rng.randint(0, 99):07d}",
                                      "external_image_id": f"img-{rng.randint(0, 9)}",
                                      "undefined": "u"}
    value = sample.get(field, random_fields(random.Random(rng.random()), 0).get(field, 1))
    if rng.random() < 0.5 or isinstance(value, bool):
        return Match(field, value)
    other = sample.get(field, value)
    low, high = sorted([value, other]) if type(value) is type(other) else (value, value)
    return Range(field, None if rng.random() < 0.2 else low, None if rng.random() < 0.2 else high,
                 rng.random() < 0.5, rng.random() < 0.5)


def test_vectorised_filter_equals_reference():
    rng = random.Random(5)
    vecs = unit_vectors(100, seed=9)
    faces = [face(i, vecs[i], random_fields(rng, i), ext=f"img-{i % 10}") for i in range(100)]
    cols = FaceColumns(FIELDS, None)
    cols.append([(i + 1, f.face_id, f.external_image_id, 0, 0, 1, 1,
                  json.dumps(f.external_fields), f.vector.tobytes())
                 for i, f in enumerate(faces)])
    view = cols.view()
    checked = nonempty = 0
    for _ in range(600):
        node = _random_node(rng)
        want = [matches(node, face_values(f)) for f in faces]
        assert view.mask(node).tolist() == want, node
        checked += 1
        nonempty += 0 < sum(want) < 100
    assert nonempty > checked // 4  # the random filters are not trivial


def test_wrongly_typed_values_are_absent_to_filters():
    """The service rejects them (FRS.0406); if one slips through, the columns
    treat it as absent rather than failing or coercing it."""
    fields = [{"age": "thirty"}, {"age": 30}, {"vip": 1}, {"vip": True}, {"age": 2**70}]
    cols = FaceColumns(FIELDS, None)
    cols.append([(i + 1, f"F{i}", "x", 0, 0, 1, 1, json.dumps(f), np.ones(4, np.float32).tobytes())
                 for i, f in enumerate(fields)])
    view = cols.view()
    assert view.mask(Range("age", None, None, True, True)).tolist() == [False, True, False, False, False]
    assert view.mask(Match("vip", True)).tolist() == [False, False, False, True, False]
    assert view.mask(Not(Match("vip", True))).tolist() == [True, True, True, False, True]


@pytest.mark.parametrize("log_versions,log_max_rows", [(1000, 5000), (3, 4), (0, 0)])
def test_caches_catch_up_through_random_writes(data_dir, monkeypatch, log_versions, log_max_rows):
    """Two stores on one directory take turns writing; after every write both
    must search exactly like a model of the set. Small log limits exercise the
    full-reload paths, the defaults the incremental ones."""
    import chalicelib.store.embedded as emb
    monkeypatch.setattr(emb, "LOG_VERSIONS", log_versions)
    monkeypatch.setattr(emb, "LOG_MAX_ROWS", log_max_rows)
    stores = [EmbeddedStore(data_dir), EmbeddedStore(data_dir)]
    rng = random.Random(log_versions)
    stores[0].create_face_set(info("p"), 10_000)
    vecs = unit_vectors(400, seed=12)
    model = {}  # face_id -> FaceRecord as it should be
    next_i = 0
    for step in range(120):
        s = rng.choice(stores)
        op = rng.random()
        if op < 0.4 or not model:
            k = rng.randint(1, 6)
            batch = [face(next_i + j, vecs[(next_i + j) % 400], {"age": rng.randint(0, 9)})
                     for j in range(k)]
            s.add_faces("p", "set1", batch)
            model.update((f.face_id, f) for f in batch)
            next_i += k
        elif op < 0.7:
            fid = rng.choice(sorted(model))
            age = rng.randint(0, 9)
            s.update_face("p", "set1", fid, f"upd-{step}", {"age": age})
            f = model[fid]
            model[fid] = FaceRecord(fid, f"upd-{step}", f.bounding_box, {"age": age}, f.vector)
        else:
            where = (Match("face_id", rng.choice(sorted(model))) if rng.random() < 0.5
                     else Range("age", rng.randint(0, 9), None, True, True))
            doomed = [fid for fid, f in model.items() if matches(where, face_values(f))]
            assert s.delete_faces("p", "set1", where) == len(doomed)
            for fid in doomed:
                del model[fid]
        query = vecs[rng.randrange(400)]
        where = rng.choice([None, Range("age", None, 4, True, True), Not(Match("age", 3))])
        ids = [fid for fid, f in model.items() if matches(where, face_values(f))]
        scores = np.array([model[fid].vector @ query for fid in ids], dtype=np.float64)
        want = [ids[i] for i in np.argsort(-scores, kind="stable")]
        for st in stores:
            hits = st.search("p", "set1", query, 10_000, where=where)
            assert [h.face.face_id for h in hits] == want, (step, st is stores[0])
            assert all(h.face.external_image_id == model[h.face.face_id].external_image_id
                       and h.face.external_fields == model[h.face.face_id].external_fields
                       for h in hits)
    for st in stores:
        st.close()


def test_change_log_is_bounded(data_dir, monkeypatch):
    import chalicelib.store.embedded as emb
    monkeypatch.setattr(emb, "LOG_VERSIONS", 5)
    monkeypatch.setattr(emb, "LOG_MAX_ROWS", 3)
    s = EmbeddedStore(data_dir)
    s.create_face_set(info("p"), 100)
    s.add_faces("p", "set1", [face(i, v, {"age": i}) for i, v in enumerate(unit_vectors(10))])
    for k in range(20):
        s.update_face("p", "set1", "F0000001", f"e{k}", None)
    db = sqlite3.connect(s.path)
    assert db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == 5
    s.delete_faces("p", "set1", Range("age", 5, None, True, True))  # 5 rows > LOG_MAX_ROWS
    assert db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == 0
    s.delete_face_set("p", "set1")
    db.close()
    s.close()


def test_threads_search_while_writing(data_dir):
    """Searches racing adds, updates and deletes in one process never fail or
    return a face that was never added, and the cache ends equal to the disk.
    (A stress test: it catches gross errors, it cannot prove there is no race.)"""
    import threading
    s = EmbeddedStore(data_dir)
    s.create_face_set(info("p"), 10_000)
    vecs = unit_vectors(600, seed=21)
    s.add_faces("p", "set1", [face(i, vecs[i], {"age": i % 10}) for i in range(100)])
    errors_seen = []

    def writer(w):
        rng = random.Random(w)
        try:
            for k in range(25):
                base = 100 + w * 125 + k * 5
                s.add_faces("p", "set1", [face(i, vecs[i], {"age": i % 10}) for i in range(base, base + 5)])
                try:
                    s.update_face("p", "set1", f"F{rng.randrange(100):07d}", None,
                                  {"age": rng.randrange(10)})
                except FrsError as e:  # another writer may have deleted it
                    assert e.code == errors.FACE_ID_NOT_FOUND
                s.delete_faces("p", "set1", Match("face_id", f"F{rng.randrange(base + 5):07d}"))
        except Exception as e:  # noqa: BLE001
            errors_seen.append(e)

    def searcher(r):
        rng = random.Random(100 + r)
        try:
            for _ in range(60):
                hits = s.search("p", "set1", vecs[rng.randrange(600)], 50,
                                where=rng.choice([None, Range("age", 3, 7, True, False)]))
                assert all(int(h.face.face_id[1:]) < 600 for h in hits)
                assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
        except Exception as e:  # noqa: BLE001
            errors_seen.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=searcher, args=(r,)) for r in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen
    stored = {f.face_id: f for f in s.list_faces("p", "set1", 0, 10_000)}
    q = vecs[0]
    want = sorted(stored, key=lambda fid: -float(vecs[int(fid[1:])] @ q))
    hits = s.search("p", "set1", q, 10_000)
    assert [h.face.face_id for h in hits] == want
    assert all(h.face.external_fields == stored[h.face.face_id].external_fields for h in hits)
    fresh = EmbeddedStore(data_dir)  # and another process agrees
    assert [h.face.face_id for h in fresh.search("p", "set1", q, 10_000)] == want
    fresh.close()
    s.close()
