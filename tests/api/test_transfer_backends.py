"""Moving a face set between backends (issue 17): exported from the embedded
store and restored into OpenSearch, then back, the FRS search answers (top 10
by face_id for 50 probes: face ids, order, similarity) are the same. Needs a
real OpenSearch node (OPENSEARCH_URL); skipped without one."""
import json
import os
import uuid

import numpy as np
import pytest

from tests.api.helpers import post_json

N_FACES = 3000
N_PROBES = 50


def use(monkeypatch, kind):
    from chalicelib.store import reset_store
    monkeypatch.setenv("FRS_STORE", kind)
    reset_store()


def export(client, project, name):
    out, cursor = [], None
    while True:
        q = f"?limit=1000&cursor={cursor}" if cursor else "?limit=1000"
        resp = client.http.get(f"/openfrs/v1/{project}/face-sets/{name}/export{q}")
        assert resp.status_code == 200, resp.body
        lines = resp.body.splitlines(keepends=True)
        last = json.loads(lines[-1])
        if "next_cursor" not in last:
            return b"".join(out + lines)
        out += lines[:-1]
        cursor = last["next_cursor"]


def answers(client, project, name, probes):
    got = []
    for fid in probes:
        resp = post_json(client, f"/v2/{project}/face-sets/{name}/search", {"face_id": fid, "top_n": 10})
        assert resp.status_code == 200, resp.body
        got.append([(h["face_id"], h["external_image_id"], h["similarity"]) for h in resp.json_body["faces"]])
    return got


def same(a, b):
    for qa, qb in zip(a, b, strict=True):
        assert [x[:2] for x in qa] == [x[:2] for x in qb]
        assert np.allclose([x[2] for x in qa], [x[2] for x in qb], rtol=0, atol=1e-6)


def test_embedded_to_opensearch_and_back(client, needs_models, monkeypatch):
    if not os.environ.get("OPENSEARCH_URL"):
        pytest.skip("OPENSEARCH_URL not set: moving a set to OpenSearch needs a running node")
    from chalicelib.services.detection import engine
    from chalicelib.store import get_store
    from chalicelib.store.base import FaceRecord
    project = "xfer-" + uuid.uuid4().hex[:12]
    use(monkeypatch, "embedded")
    assert post_json(client, f"/v2/{project}/face-sets", {
        "face_set_name": "gallery", "external_fields": {"group": {"type": "integer"}}}).status_code == 200
    store = get_store()
    dim = engine().recognizer(store.get_face_set(project, "gallery").embedding_model).dim
    # Embedding-like vectors: a shared direction plus noise, and people with several photos.
    rng = np.random.default_rng(17)
    people = rng.normal(size=(N_FACES // 3, dim)) / np.sqrt(dim) + rng.normal(size=dim) * 0.08
    v = np.repeat(people, 3, axis=0) + rng.normal(size=(N_FACES, dim)) * 0.6 / np.sqrt(dim)
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    store.add_faces(project, "gallery", [
        FaceRecord(face_id=f"g{i:07d}", external_image_id=f"p{i // 3}", external_fields={"group": i % 7},
                   bounding_box={"top_left_x": 1, "top_left_y": 2, "width": 3, "height": 4}, vector=v[i])
        for i in range(N_FACES)])
    probes = [f"g{i:07d}" for i in rng.choice(N_FACES, N_PROBES, replace=False)]
    before = answers(client, project, "gallery", probes)
    data = export(client, project, "gallery")

    use(monkeypatch, "opensearch")
    try:
        resp = client.http.post(f"/openfrs/v1/{project}/face-sets/gallery/import", body=data,
                                headers={"Content-Type": "application/x-ndjson"})
        assert resp.status_code == 200, resp.body
        in_opensearch = answers(client, project, "gallery", probes)
        same(before, in_opensearch)
        back = export(client, project, "gallery")
        assert back.splitlines()[1:-1] == data.splitlines()[1:-1]  # faces bit for bit, same order

        use(monkeypatch, "embedded")
        resp = client.http.post(f"/openfrs/v1/{project}/face-sets/returned/import", body=back,
                                headers={"Content-Type": "application/x-ndjson"})
        assert resp.status_code == 200, resp.body
        same(before, answers(client, project, "returned", probes))
    finally:
        use(monkeypatch, "opensearch")
        get_store().delete_project(project)
