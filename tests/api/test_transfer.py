"""Export and restore routes (issue 17, docs/transfer.md): the file a set pages
out, restored as it was (face ids, vectors, fields), and every bad file refused
with an FRS code and nothing written. Vectors are synthetic: no image work."""
import base64
import hashlib
import json

import numpy as np
import pytest

from tests.api.helpers import err, post_json

P = "/v2/proj-t"
X = "/openfrs/v1/proj-t/face-sets"
FIELDS = {"age": {"type": "integer"}, "name": {"type": "string"}, "vip": {"type": "boolean"}}


def unit(n, dim, seed):
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def filled(client, needs_models):
    """Face set "src" with 20 faces (synthetic vectors of the engine's model)."""
    from chalicelib.store import get_store
    from chalicelib.store.base import FaceRecord
    assert post_json(client, f"{P}/face-sets", {"face_set_name": "src", "external_fields": FIELDS,
                                                "face_set_capacity": 10000}).status_code == 200
    store = get_store()
    info = store.get_face_set("proj-t", "src")
    from chalicelib.services.detection import engine
    dim = engine().recognizer(info.embedding_model).dim
    vecs = unit(20, dim, 1)
    store.add_faces("proj-t", "src", [
        FaceRecord(face_id=f"face{i:04d}", external_image_id=f"person-{i % 4}",
                   bounding_box={"top_left_x": i, "top_left_y": 2 * i, "width": 40, "height": 50},
                   external_fields={"age": 20 + i, "name": f"n{i}", "vip": i % 2 == 0}, vector=vecs[i])
        for i in range(20)])
    return vecs


def export(client, name, limit=None):
    """The whole file, page by page, continuation lines dropped; and the page count."""
    out, cursor, pages = [], None, 0
    while True:
        q = "&".join(f"{k}={v}" for k, v in (("limit", limit), ("cursor", cursor)) if v is not None)
        resp = client.http.get(f"{X}/{name}/export" + (f"?{q}" if q else ""))
        assert resp.status_code == 200, resp.body
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        pages += 1
        lines = resp.body.splitlines(keepends=True)
        last = json.loads(lines[-1])
        if "next_cursor" in last:
            out += lines[:-1]
            cursor = last["next_cursor"]
        else:
            return b"".join(out + lines), pages


def rechain(lines):
    """Lines (header + faces, each ending in \\n) with a correct trailer."""
    digest = None
    for raw in lines:
        digest = hashlib.sha256(raw if digest is None else digest + raw).digest()
    return b"".join(lines) + (json.dumps({"end": True, "faces": len(lines) - 1,
                                          "sha256": digest.hex()}) + "\n").encode()


def restore(client, name, data):
    return client.http.post(f"{X}/{name}/import", headers={"Content-Type": "application/x-ndjson"},
                            body=data)


def names(client):
    return [i["face_set_name"] for i in client.http.get(f"{P}/face-sets").json_body["face_sets_info"]]


def test_export_is_the_documented_file(client, filled):
    data, pages = export(client, "src", limit=7)
    assert pages == 3
    lines = data.splitlines(keepends=True)
    header, faces, trailer = json.loads(lines[0]), [json.loads(x) for x in lines[1:-1]], json.loads(lines[-1])
    assert header["format"] == "openfrs-face-set" and header["version"] == 1
    assert header["dim"] == filled.shape[1] and header["vector_encoding"] == "float32-le-base64"
    assert header["embedding_model"] and header["face_number"] == 20
    assert header["face_set"]["external_fields"] == FIELDS
    assert header["face_set"]["face_set_capacity"] == 10000
    assert [f["face_id"] for f in faces] == [f"face{i:04d}" for i in range(20)]
    for i, f in enumerate(faces):
        assert np.frombuffer(base64.b64decode(f["vector"]), "<f4").tobytes() == filled[i].tobytes()
        assert f["external_fields"] == {"age": 20 + i, "name": f"n{i}", "vip": i % 2 == 0}
    assert trailer == json.loads(rechain(lines[:-1]).splitlines()[-1])  # the chain of docs/transfer.md
    # One page or three: the same bytes but for the export time.
    whole, one = export(client, "src")
    assert one == 1 and whole.splitlines()[1:-1] == data.splitlines()[1:-1]


def test_restore_round_trip_keeps_ids_vectors_and_answers(client, filled):
    data, _ = export(client, "src", limit=6)
    resp = restore(client, "copy", data)
    assert resp.status_code == 200, resp.body
    body = resp.json_body
    assert body["restored_faces"] == 20 and body["face_set_info"]["face_number"] == 20
    src_info = client.http.get(f"{P}/face-sets/src").json_body["face_set_info"]
    assert body["face_set_info"]["face_set_id"] != src_info["face_set_id"]  # --as: another set
    again, _ = export(client, "copy")
    assert again.splitlines()[1:-1] == data.splitlines()[1:-1]  # faces, fields, vectors bit for bit
    listed = client.http.get(f"{P}/face-sets/copy/faces?offset=0&limit=20").json_body["faces"]
    assert [f["face_id"] for f in listed] == [f"face{i:04d}" for i in range(20)]
    by_id = post_json(client, f"{P}/face-sets/copy/search", {"face_id": "face0007", "top_n": 3})
    assert by_id.json_body["faces"][0]["face_id"] == "face0007"
    # Under its own name (after a loss) it is the same set: id and date kept.
    assert client.http.delete(f"{P}/face-sets/src").status_code == 200
    assert restore(client, "src", data).status_code == 200
    back = client.http.get(f"{P}/face-sets/src").json_body["face_set_info"]
    assert back == src_info
    assert err(restore(client, "src", data)) == (400, "FRS.0301")


def refused(client, data, before):
    resp = restore(client, "target", data)
    assert names(client) == before and err(client.http.get(f"{P}/face-sets/target"))[1] == "FRS.0302"
    assert "Traceback" not in resp.body.decode(errors="replace")
    return err(resp), resp.json_body["error_msg"]


def test_bad_files_are_refused_and_nothing_is_written(client, filled):
    data, _ = export(client, "src")
    lines = data.splitlines(keepends=True)
    before = names(client)
    header = json.loads(lines[0])

    def with_header(**change):
        return rechain([(json.dumps({**header, **change}) + "\n").encode()] + lines[1:-1])

    (code, msg) = refused(client, with_header(embedding_model="arcface-r100+other"), before)
    assert code == (400, "FRS.0012") and "arcface-r100+other" in msg and "does not have" in msg
    code, msg = refused(client, with_header(dim=header["dim"] * 2), before)
    assert code == (400, "FRS.0012") and "values" in msg
    damaged = bytearray(data)
    at = data.index(b'"vector":"') + 20
    damaged[at] = ord("A") if damaged[at] != ord("A") else ord("B")
    code, msg = refused(client, bytes(damaged), before)
    assert code == (400, "FRS.0012") and "checksum" in msg
    for cut in (b"".join(lines[:-1]), data[: len(data) // 2], data[:-1], b"".join(lines[:-2] + lines[-1:])):
        code, msg = refused(client, cut, before)
        assert code == (400, "FRS.0012") and ("truncated" in msg or "not JSON" in msg), msg
    code, msg = refused(client, with_header(version=2), before)
    assert code == (400, "FRS.0012") and "version" in msg
    code, _ = refused(client, b"not a face set file\n" + data, before)
    assert code == (400, "FRS.0012")
    # A wrong custom field value, a duplicate face id, a vector that is not unit length.
    face = json.loads(lines[3])
    bad_field = (json.dumps({**face, "external_fields": {"age": "old"}}) + "\n").encode()
    assert refused(client, rechain(lines[:3] + [bad_field] + lines[4:-1]), before)[0] == (400, "FRS.0406")
    assert refused(client, rechain(lines[:-1] + [lines[3]]), before)[0] == (400, "FRS.0012")
    vec = np.frombuffer(base64.b64decode(face["vector"]), "<f4") * 2
    long_vec = (json.dumps({**face, "vector": base64.b64encode(vec.tobytes()).decode()}) + "\n").encode()
    code, msg = refused(client, rechain(lines[:3] + [long_vec] + lines[4:-1]), before)
    assert code == (400, "FRS.0012") and "normalised" in msg


def test_over_capacity_is_refused(client, filled):
    data, _ = export(client, "src")
    lines = data.splitlines(keepends=True)
    face = json.loads(lines[1])
    extra = [(json.dumps({**face, "face_id": f"x{i:07d}"}) + "\n").encode() for i in range(10001 - 20)]
    before = names(client)
    code, msg = refused(client, rechain(lines[:-1] + extra), before)
    assert code == (403, "FRS.0306") and "10001" in msg


def test_export_errors(client, filled):
    assert err(client.http.get(f"{X}/nope/export")) == (400, "FRS.0302")
    assert err(client.http.get(f"{X}/src/export?cursor=zzz")) == (400, "FRS.0012")
    assert err(client.http.get(f"{X}/src/export?limit=0")) == (400, "FRS.0012")
    assert err(client.http.get(f"{X}/bad%20name/export"))[0] == 400


def test_routes_need_credentials(client, filled, monkeypatch):
    monkeypatch.setenv("FRS_AUTH", "iam")
    resp = client.http.get(f"{X}/src/export")
    assert resp.status_code in (401, 403) and b"face0001" not in resp.body
    assert restore(client, "other", b"x\n").status_code in (401, 403)
