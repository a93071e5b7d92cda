"""OpenSearch-specific behaviour of OpenSearchStore on a real node (the shared
contract lives in tests/store). Skipped without OPENSEARCH_URL; start a node
with `make opensearch-start`."""
import os
import threading
import uuid

import numpy as np
import pytest

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.parse import Match, Range
from chalicelib.store import opensearch as osmod
from chalicelib.store.base import FaceRecord, FaceSetInfo
from chalicelib.store.opensearch import OpenSearchStore
from chalicelib.store.opensearch_client import OpenSearchSettings, make_client

pytestmark = pytest.mark.skipif(not os.environ.get("OPENSEARCH_URL"),
                                reason="OPENSEARCH_URL not set: needs a running OpenSearch node")
FIELDS = {"name": "string", "age": "integer", "ts": "long", "score": "float", "w": "double", "vip": "boolean"}
BOX = {"top_left_x": 1, "top_left_y": 2, "width": 3, "height": 4}


@pytest.fixture(scope="module")
def client():
    c = make_client()
    yield c
    c.close()


@pytest.fixture
def make(client):
    """``make(**settings)`` -> a store under a private index prefix, wiped afterwards."""
    prefixes = []

    def new(**kw):
        prefixes.append(f"ostest-{uuid.uuid4().hex[:10]}")
        return OpenSearchStore(client, OpenSearchSettings(prefix=prefixes[-1], **kw))

    yield new
    for p in prefixes:
        client.indices.delete(index=f"{p}-*", ignore_unavailable=True, expand_wildcards="all")


def vectors(n, dim=32, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def faces(vecs, start=0, fields=lambda i: {}):
    return [FaceRecord(f"F{start + i:06d}", f"img-{start + i}", BOX, fields(start + i), v)
            for i, v in enumerate(vecs)]


def new_set(store, capacity=10000, fields=FIELDS, name="s"):
    store.create_face_set(FaceSetInfo("p1", name, "ID1", "2026-11-25 00:00:00", capacity, dict(fields)), 10)
    return store._entry("p1", name)["index"]


def counter(store, index):
    return store.client.get(index=store.registry, id=f"counter:{index}")["_source"]


def test_index_mapping_on_the_node(make, client):
    store = make()
    index = new_set(store)
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert {k: v["type"] for k, v in props["ext"]["properties"].items()} == \
        {"name": "keyword", "age": "integer", "ts": "long", "score": "float", "w": "double", "vip": "boolean"}
    assert "vector" not in props  # dimension comes from the first vectors added
    store.add_faces("p1", "s", faces(vectors(2, dim=48)))
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["vector"]["dimension"] == 48
    assert props["vector"]["method"]["engine"] == "lucene"
    assert props["vector"]["method"]["space_type"] == "innerproduct"
    with pytest.raises(FrsError) as e:  # another model's vectors cannot join the set
        store.add_faces("p1", "s", faces(vectors(1, dim=64), start=10))
    assert e.value.code == errors.INTERNAL
    assert store.get_face_set("p1", "s").face_number == 2
    assert counter(store, index)["reserved"] == 2


def test_configured_dimension_maps_the_vector_at_creation(make, client):
    store = make(dim=24)
    index = new_set(store)
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["vector"]["dimension"] == 24
    assert store.search("p1", "s", vectors(1, dim=24)[0], 5) == []


@pytest.mark.parametrize("refresh", ["true", "wait_for"])
def test_writes_are_visible_to_the_next_read_without_explicit_refresh(make, client, refresh):
    store = make(refresh=refresh)
    index = new_set(store)
    vecs = vectors(30, seed=1)
    store.add_faces("p1", "s", faces(vecs, fields=lambda i: {"age": i}))
    assert client.count(index=index)["count"] == 30  # a plain _count, no _refresh call
    store.update_face("p1", "s", "F000007", None, {"age": 1000})
    assert client.count(index=index, body={"query": {"term": {"ext.age": 1000}}})["count"] == 1
    assert store.delete_faces("p1", "s", Range("age", None, 9, True, True)) == 9  # 0..9 minus the updated 7
    assert client.count(index=index)["count"] == 21


def test_filtered_knn_still_returns_top_n(make):
    """Efficient filtering: the filter is applied inside the graph search, so a
    selective filter far from the query still yields top_n hits (a post-filter
    on the k nearest would yield ~none)."""
    store = make()
    new_set(store)
    rng = np.random.default_rng(2)
    centre = vectors(1, seed=3)[0]
    near = centre + 0.05 * rng.normal(size=(1960, 32))  # the query's neighbourhood
    far = -centre + 0.3 * rng.normal(size=(40, 32))  # the only faces that match
    vecs = np.concatenate([near, far])
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    store.add_faces("p1", "s", faces(vecs, fields=lambda i: {"vip": i >= 1960}))
    hits = store.search("p1", "s", centre, 10, where=Match("vip", True))
    exact = np.argsort(-(vecs[1960:].astype(np.float64) @ centre))[:10] + 1960
    assert [h.face.face_id for h in hits] == [f"F{i:06d}" for i in exact]
    assert np.allclose([h.score for h in hits], vecs[exact].astype(np.float64) @ centre, atol=1e-5)


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct"])
def test_scores_are_raw_cosine_in_both_spaces(make, space):
    store = make(space=space)
    new_set(store)
    vecs = vectors(200, seed=4)
    store.add_faces("p1", "s", faces(vecs))
    q = vectors(1, seed=5)[0]
    truth = vecs.astype(np.float64) @ q
    order = np.argsort(-truth)
    hits = store.search("p1", "s", q, 200)
    assert [h.face.face_id for h in hits] == [f"F{i:06d}" for i in order]
    assert np.allclose([h.score for h in hits], truth[order], atol=1e-5)
    assert min(h.score for h in hits) < 0 < max(h.score for h in hits)  # negative cosines survive
    cut = float(truth[order[50]])
    got = store.search("p1", "s", q, 200, min_score=cut)
    assert [h.face.face_id for h in got] == [f"F{i:06d}" for i in order[:51]]


def test_failed_bulk_rolls_back_and_releases_capacity(make):
    store = make()
    index = new_set(store, capacity=4)
    vecs = vectors(6, seed=6)
    store.add_faces("p1", "s", faces(vecs[:1]))
    bad = faces(vecs[1:4], start=1, fields=lambda i: {"age": "not-a-number"} if i == 3 else {"age": i})
    with pytest.raises(FrsError) as e:
        store.add_faces("p1", "s", bad)
    assert e.value.code == errors.FIELD_TYPE_MISMATCH
    assert [f.face_id for f in store.list_faces("p1", "s", 0, 10)] == ["F000000"]
    assert counter(store, index)["reserved"] == 1
    dup = faces(vecs[1:3], start=1) + faces(vecs[:1])  # F000000 already exists
    with pytest.raises(FrsError):
        store.add_faces("p1", "s", dup)
    assert store.get_face_set("p1", "s").face_number == 1 and counter(store, index)["reserved"] == 1
    store.add_faces("p1", "s", faces(vecs[1:4], start=1))  # the released slots are usable: 4/4
    with pytest.raises(FrsError) as e:
        store.add_faces("p1", "s", faces(vecs[4:5], start=4))
    assert e.value.code == errors.FACE_SET_FULL


def test_counter_matches_count_after_concurrent_adds_and_deletes(make):
    store = make()
    index = new_set(store, capacity=10000)
    vecs = vectors(400, seed=7)

    def worker(t):
        for b in range(5):
            start = t * 100 + b * 20
            store.add_faces("p1", "s",
                            faces(vecs[start:start + 20], start=start, fields=lambda i: {"age": i}))
            store.delete_faces("p1", "s", Range("age", start, start + 4, True, True))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get_face_set("p1", "s").face_number == 4 * 5 * 15
    assert counter(store, index)["reserved"] == 300
    seqs = [h["_source"]["seq"] for h in store.client.search(
        index=index, body={"size": 1000, "_source": ["seq"]})["hits"]["hits"]]
    assert len(set(seqs)) == 300  # every face got its own insertion sequence number


def test_paging_beyond_the_result_window_and_multi_page_delete(make, monkeypatch):
    store = make()
    new_set(store)
    vecs = vectors(40, seed=8)
    for k in range(0, 40, 10):
        store.add_faces("p1", "s", faces(vecs[k:k + 10], start=k, fields=lambda i: {"age": i % 3}))
    monkeypatch.setattr(osmod, "MAX_WINDOW", 5)  # force the search_after path
    monkeypatch.setattr(osmod, "PAGE", 3)
    assert [f.face_id for f in store.list_faces("p1", "s", 7, 20)] == [f"F{i:06d}" for i in range(7, 27)]
    assert [f.face_id for f in store.list_faces("p1", "s", 35, 20)] == [f"F{i:06d}" for i in range(35, 40)]
    assert store.list_faces("p1", "s", 40, 5) == []
    assert store.delete_faces("p1", "s", Match("age", 0)) == 14  # several pages of 3 ids
    left = [f.face_id for f in store.list_faces("p1", "s", 0, 100)]
    assert left == [f"F{i:06d}" for i in range(40) if i % 3]


def test_delete_face_set_and_project_drop_indices_and_counters(make, client):
    store = make()
    a = new_set(store, name="a")
    b = new_set(store, name="b")
    store.add_faces("p1", "a", faces(vectors(3, seed=9)))
    store.delete_face_set("p1", "a")
    assert not client.indices.exists(index=a)
    assert not client.exists(index=store.registry, id=f"counter:{a}")
    assert store.delete_project("p1") == 1
    assert not client.indices.exists(index=b)
    assert not client.exists(index=store.registry, id="project:p1")


def test_racing_creates_of_one_name_leave_one_set_and_no_orphan_index(make, client):
    store = make()
    results = []

    def create(_):
        try:
            store.create_face_set(FaceSetInfo("p1", "same", "ID", "2026-11-25 00:00:00", 10, {}), 10)
            results.append("ok")
        except FrsError as e:
            results.append(e.code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(["ok"] + [errors.FACE_SET_EXISTS] * 5)
    prefix = store.s.prefix
    assert list(client.indices.get(index=f"{prefix}-fs-*")) == [store._entry("p1", "same")["index"]]


def test_face_set_entry_without_embedding_model_reads_as_unknown(make, client):
    """Registry entries written before the model was recorded have no
    ``embedding_model`` key: they read back as "" (unknown), and keep working."""
    store = make()
    store.create_face_set(FaceSetInfo("p1", "s", "ID1", "2026-11-25 00:00:00", 10000, {},
                                      embedding_model="model-A"), 10)
    doc_id = "project:p1"
    src = client.get(index=store.registry, id=doc_id)["_source"]
    assert src["face_sets"]["s"]["embedding_model"] == "model-A"
    del src["face_sets"]["s"]["embedding_model"]  # what the older code wrote
    client.index(index=store.registry, id=doc_id, body=src, refresh="true")
    assert store.get_face_set("p1", "s").embedding_model == ""
    assert [i.embedding_model for i in store.list_face_sets("p1")] == [""]
    store.add_faces("p1", "s", faces(vectors(2)))
    assert store.get_face_set("p1", "s").face_number == 2
