"""Privacy: media never reach disk or logs, only vectors, boxes, ids and
fields are stored, and a project's data can be purged completely."""
from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

import chalicelib.identity as identity
from testkit import live
from tests.api.helpers import post_json
from tests.conftest import REPO, models_built, still


def chunks(data: bytes, n=6, size=48) -> list[bytes]:
    """Distinctive slices from the middle of a file (headers are too common)."""
    step = len(data) // (n + 1)
    return [data[step * (i + 1): step * (i + 1) + size] for i in range(n)]


def files_under(*roots: Path):
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                yield Path(dirpath) / name


def test_media_are_never_written_to_disk_or_logs(tmp_path):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    media_tmp = tmp_path / "tmp"  # the server's TMPDIR: any temp file lands here
    media_tmp.mkdir()
    env = {**live.open_env(tmp_path / "data"), **live.model_dir_with_calibration(tmp_path / "m"),
           "TMPDIR": str(media_tmp)}
    srv = live.Server(env, tmp_path / "server.log").start()
    photos = [still("obama.jpg"), still("biden.jpg")]
    b64s = [base64.b64encode(p).decode() for p in photos]
    try:
        u = srv.url + "/v2/priv"
        assert requests.post(u + "/face-sets", json={"face_set_name": "p"}).status_code == 200
        assert requests.post(u + "/face-sets/p/faces", json={"image_base64": b64s[0]}).status_code == 200
        assert requests.post(u + "/face-sets/p/faces", files={"image_file": ("b.jpg", photos[1])}
                             ).status_code == 200
        assert requests.post(u + "/face-detect", json={"image_base64": b64s[1]}).status_code == 200
        requests.post(u + "/face-compare", json={"image1_base64": b64s[0], "image2_base64": b64s[1]})
        requests.post(u + "/face-sets/p/search", json={"image_base64": b64s[1]})
        # A refused image too: error paths must not dump the input either.
        assert requests.post(u + "/face-detect", json={"image_base64": b64s[0][:-7] + "!"}
                             ).status_code == 400
    finally:
        srv.stop()
    # The powertools request lines and EMF metric lines are part of the log scanned.
    log_text = (tmp_path / "server.log").read_text(errors="replace")
    assert ("route=" in log_text or '"route"' in log_text) and '"_aws"' in log_text
    needles = [c for p in photos for c in chunks(p)] + \
              [c.encode() for b in b64s for c in (b[1000:1064], b[len(b) // 2:len(b) // 2 + 64])]
    scanned = 0
    for path in files_under(tmp_path / "data", media_tmp, tmp_path / "server.log"):
        blob = path.read_bytes()
        scanned += 1
        for needle in needles:
            assert needle not in blob, f"image bytes found in {path}"
    assert scanned >= 2  # the database (and its WAL) and the log were looked at
    # Libraries may leave small session files in TMPDIR; nothing image-sized.
    assert all(p.stat().st_size < 4096 for p in files_under(media_tmp))


def test_only_vectors_boxes_ids_and_fields_are_stored(client, needs_models):
    """The embedded store's face table holds exactly what docs/hardening.md lists."""
    post_json(client, "/v2/p/face-sets", {"face_set_name": "s",
                                          "external_fields": {"n": {"type": "integer"}}})
    r = post_json(client, "/v2/p/face-sets/s/faces",
                  {"image_base64": base64.b64encode(still("obama.jpg")).decode(),
                   "external_fields": {"n": 7}})
    assert r.status_code == 200
    db = sqlite3.connect(Path(os.environ["FRS_DATA_DIR"]) / "frs.sqlite3")
    try:
        cols = [c[1] for c in db.execute("PRAGMA table_info(faces)")]
        assert cols == ["id", "project_id", "sid", "face_id", "external_image_id", "box_x", "box_y",
                        "box_w", "box_h", "fields", "vector"]
        vector = db.execute("SELECT vector FROM faces").fetchone()[0]
        assert len(vector) == 128 * 4  # one embedding, nothing image-sized
        # Whatever other tables the store keeps (counters, change logs), no
        # value anywhere is large enough to be an image.
        tables = [t[0] for t in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in db.execute(f'SELECT * FROM "{t}"'):
                assert all(len(v) < 4096 for v in row if isinstance(v, (str, bytes))), t
    finally:
        db.close()


@pytest.fixture
def two_projects(client, needs_models, monkeypatch):
    """Projects "gone" and "kept", one face set and two faces each; the raw
    vector bytes of each project's faces."""
    photo = base64.b64encode(still("obama.jpg")).decode()
    for p in ("gone", "kept"):
        assert post_json(client, f"/v2/{p}/face-sets", {"face_set_name": "s"}).status_code == 200
        for _ in range(2):
            assert post_json(client, f"/v2/{p}/face-sets/s/faces",
                             {"image_base64": photo}).status_code == 200
    db = sqlite3.connect(Path(os.environ["FRS_DATA_DIR"]) / "frs.sqlite3")
    vectors = {p: [v for (v,) in db.execute("SELECT vector FROM faces WHERE project_id=?", (p,))]
               for p in ("gone", "kept")}
    db.close()
    return vectors


def test_purge_removes_the_project_and_keeps_the_others(client, two_projects):
    from chalicelib.cli.privacy import purge_project
    out = purge_project("gone")
    assert out["face_sets"] == 1 and out["faces"] == 2 and out["compacted"]
    assert client.http.get("/v2/gone/face-sets").json_body == {"face_sets_info": []}
    kept = client.http.get("/v2/kept/face-sets").json_body["face_sets_info"]
    assert [(s["face_set_name"], s["face_number"]) for s in kept] == [("s", 2)]


def test_purged_vectors_do_not_linger_on_disk(client, needs_models):
    """Deleted rows stay in SQLite free pages and the WAL unless rewritten."""
    from chalicelib.cli.privacy import purge_project
    from chalicelib.store import get_store
    from chalicelib.store.base import FaceRecord, FaceSetInfo
    store = get_store()
    rng = np.random.default_rng(7)
    marks = {}
    for p in ("gone", "kept"):
        store.create_face_set(FaceSetInfo(project_id=p, face_set_name="s", face_set_id="x" * 8,
                                          create_date="2026-01-01 00:00:00", face_set_capacity=10000,
                                          external_fields={}, face_number=0), 10)
        v = rng.standard_normal(128).astype("<f4")
        marks[p] = v.tobytes()
        store.add_faces(p, "s", [FaceRecord(face_id="abcdefgh", external_image_id="e",
                                            bounding_box={"top_left_x": 0, "top_left_y": 0,
                                                          "width": 1, "height": 1},
                                            external_fields={}, vector=v)])
    data = Path(os.environ["FRS_DATA_DIR"])
    blob = b"".join(f.read_bytes() for f in data.glob("frs.sqlite3*"))
    assert marks["gone"] in blob and marks["kept"] in blob
    purge_project("gone", credentials=False)
    blob = b"".join(f.read_bytes() for f in data.glob("frs.sqlite3*"))
    assert marks["gone"] not in blob, "a purged vector is still readable in the database files"
    assert marks["kept"] in blob


@pytest.fixture
def cred(tmp_path, monkeypatch):
    monkeypatch.setenv("FRS_DATA_DIR", str(tmp_path / "frs-data"))
    for name in ("FRS_BOOTSTRAP_PROJECT_ID", "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK",
                 "FRS_BOOTSTRAP_USER", "FRS_BOOTSTRAP_PASSWORD", "FRS_IDENTITY_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    identity.reset()
    from chalicelib.identity.credentials import get_credential_store
    yield get_credential_store()
    identity.reset()


def test_purge_removes_the_project_record_and_its_keys(cred, frs_env):
    from chalicelib.cli.privacy import purge_project
    gone = cred.create_project("gone", "acme")
    kept = cred.create_project("kept", "acme")
    k1, k2 = cred.create_key(gone["id"]), cred.create_key(gone["id"])
    k3 = cred.create_key(kept["id"])
    out = purge_project(gone["id"])
    assert sorted(out["access_keys"]) == sorted([k1["ak"], k2["ak"]]) and out["project_record"]
    assert cred.get_project(gone["id"]) is None and cred.list_keys(gone["id"]) == []
    assert cred.secret_for(k1["ak"]) is None
    assert cred.secret_for(k3["ak"]) is not None and cred.get_project(kept["id"])


def test_a_token_issued_before_the_purge_stops_working(cred, frs_env, monkeypatch):
    from chalice.test import Client

    from app import app
    from chalicelib.cli.privacy import purge_project
    p = cred.create_project("gone", "acme")
    cred.set_user("alice", "alice-password-1", "acme")
    monkeypatch.setenv("FRS_AUTH", "iam")
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "password": "alice-password-1", "domain": {"name": "acme"}}}},
        "scope": {"project": {"id": p["id"]}}}}
    with Client(app) as c:
        r = post_json(c, "/v3/auth/tokens", body)
        assert r.status_code == 201
        token = r.headers["X-Subject-Token"]
        assert c.http.get(f"/v2/{p['id']}/face-sets", headers={"X-Auth-Token": token}).status_code == 200
        purge_project(p["id"])
        r = c.http.get(f"/v2/{p['id']}/face-sets", headers={"X-Auth-Token": token})
    assert r.status_code == 403 and r.json_body["error_code"] == "FRS.0002"


def test_purge_command_line(tmp_path, needs_models):
    env = {**os.environ, "FRS_DATA_DIR": str(tmp_path / "data"), "FRS_STORE": "embedded"}
    from chalicelib.store.base import FaceSetInfo
    from chalicelib.store.embedded import EmbeddedStore
    s = EmbeddedStore(str(tmp_path / "data"))
    s.create_face_set(FaceSetInfo(project_id="cli", face_set_name="s", face_set_id="y" * 8,
                                  create_date="2026-01-01 00:00:00", face_set_capacity=10000,
                                  external_fields={}, face_number=0), 10)
    s.close()
    cmd = [sys.executable, "-m", "chalicelib.cli.privacy", "purge", "--project", "cli"]
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "--yes" in r.stderr  # no accidental purge
    r = subprocess.run(cmd + ["--yes"], cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert '"face_sets": 1' in r.stdout
    s = EmbeddedStore(str(tmp_path / "data"))
    assert s.list_face_sets("cli") == []
    s.close()


def test_admin_cli_purges_a_project(tmp_path, monkeypatch):
    """`python -m chalicelib.cli.admin project purge` removes the project's face sets."""
    import subprocess
    import sys

    from tests.conftest import REPO
    env = {**__import__("os").environ, "FRS_DATA_DIR": str(tmp_path), "FRS_STORE": "embedded"}
    code = ("from chalicelib.store import get_store; from chalicelib.store.base import FaceSetInfo;"
            "get_store().create_face_set(FaceSetInfo('gone', 'a', 'abcdefgh', '2026-01-01 00:00:00',"
            " 10000, {}), 10)")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    refused = subprocess.run([sys.executable, "-m", "chalicelib.cli.admin",
                              "project", "purge", "--id", "gone"],
                             cwd=REPO, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli.admin", "project", "purge", "--id", "gone",
                           "--yes"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"face_sets": 1' in done.stdout
    check = subprocess.run([sys.executable, "-c", "from chalicelib.store import get_store;"
                            "print(len(get_store().list_face_sets('gone')))"],
                           cwd=REPO, env=env, capture_output=True, text=True)
    assert check.stdout.strip() == "0"
