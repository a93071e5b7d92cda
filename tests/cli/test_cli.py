"""The installed ``openfrs`` command against a real ``chalice local`` with
authentication on (issue 17): bulk import killed (SIGKILL, Ctrl-C, a server
restart) and resumed without a duplicate, lost answers recovered, the error
report, export/restore, detect/compare/search with drawings, AK/SK and token."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from testkit.server import LocalServer
from tests.conftest import DATASETS, STILLS, models_built

OPENFRS = Path(sys.executable).parent / "openfrs"
LFW = DATASETS / "lfw" / "images"
PROJECT = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
AK, SK = "AKCLITEST00000000001", "sk-of-the-cli-test-0123456789abcdefghij"
PEOPLE = ["Aaron_Eckhart", "Abdullah_Gul", "Adam_Sandler", "Al_Gore", "Alejandro_Toledo"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    if not OPENFRS.exists():
        pytest.skip("the openfrs console script is not installed: run `make venv`")
    if not LFW.exists():
        pytest.skip(f"{LFW} is absent (../shared/datasets is only on dev/CI machines)")
    data = tmp_path_factory.mktemp("frs-cli") / "data"
    env = {"FRS_DATA_DIR": str(data), "FRS_STORE": "embedded", "FRS_AUTH": "iam",
           "FRS_IDENTITY_BACKEND": "sqlite", "FRS_RATELIMIT": "", "FRS_ORT_THREADS": "1",
           "FRS_BOOTSTRAP_PROJECT_ID": PROJECT, "FRS_BOOTSTRAP_AK": AK, "FRS_BOOTSTRAP_SK": SK,
           "FRS_BOOTSTRAP_USER": "cli", "FRS_BOOTSTRAP_PASSWORD": "cli-password-123",
           "FRS_BOOTSTRAP_PROJECT_NAME": "cli", "OPENBLAS_NUM_THREADS": "1"}
    srv = LocalServer(env, log_path=data.parent / "chalice-local.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Five people of LFW (up to 6 photos each), an unreadable file and a copy."""
    root = tmp_path_factory.mktemp("photos")
    for person in PEOPLE:
        (root / person).mkdir()
        for p in sorted((LFW / person).glob("*.jpg"))[:6]:
            shutil.copy(p, root / person / p.name)
    (root / "Al_Gore" / "broken.jpg").write_bytes(b"this is not a picture")
    first = sorted((root / "Adam_Sandler").glob("*.jpg"))[0]
    shutil.copy(first, root / "Adam_Sandler" / "same_bytes_again.jpg")
    return root


def env_for(server, **extra) -> dict:
    return {**os.environ, "OPENFRS_ENDPOINT": server.url, "OPENFRS_PROJECT_ID": PROJECT,
            "OPENFRS_AK": AK, "OPENFRS_SK": SK, **extra}


def run(server, *args, check=True, **extra) -> subprocess.CompletedProcess:
    r = subprocess.run([str(OPENFRS), *args], env=env_for(server, **extra), capture_output=True,
                       text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def journal_states(path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall())


def exported(server, name, tmp_path) -> list[dict]:
    out = tmp_path / f"{name}.ofrs"
    run(server, "export", name, "-o", str(out), "--page-size", "7")
    lines = out.read_text().splitlines()
    return [json.loads(x) for x in lines[1:-1]]


def test_help_documents_every_command():
    if not OPENFRS.exists():
        pytest.skip("the openfrs console script is not installed: run `make venv`")
    top = subprocess.run([str(OPENFRS), "--help"], capture_output=True, text=True, env={**os.environ})
    assert top.returncode == 0
    for cmd in ("import", "export", "restore", "detect", "compare", "search", "face-sets"):
        assert cmd in top.stdout
        sub = subprocess.run([str(OPENFRS), cmd, "--help"], capture_output=True, text=True,
                             env={**os.environ, "OPENFRS_PROJECT_ID": ""})
        assert sub.returncode == 0 and "Usage: openfrs " + cmd in sub.stdout, sub.stderr


def wait_for_done(journal, n, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if journal.exists():
            try:
                if journal_states(journal).get("done", 0) >= n:
                    return
            except sqlite3.OperationalError:  # table not created yet
                pass
        assert proc.poll() is None, "import ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("import made no progress")


def test_import_killed_and_resumed_adds_each_image_once(server, photos, tmp_path):
    journal = tmp_path / "journal.sqlite3"
    report = tmp_path / "errors.csv"
    args = ["import", str(photos), "--face-set", "people", "--workers", "2", "--journal", str(journal),
            "--errors", str(report), "--no-progress", "--resume-grace", "3"]
    images = [p for p in photos.rglob("*.jpg")]
    distinct = {p.read_bytes() for p in images}
    # 1. SIGKILL half-way (adds in flight lose their answers).
    proc = subprocess.Popen([str(OPENFRS), *args], env=env_for(server), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_done(journal, 8, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = journal_states(journal)
    assert killed_at.get("done", 0) < len(distinct) - 1
    # 2. The server restarts too, then Ctrl-C half-way through the rest.
    server.stop()
    server.start()
    proc = subprocess.Popen([str(OPENFRS), "--json", *args], env=env_for(server), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_done(journal, killed_at.get("done", 0) + 4, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert json.loads(out)["interrupted"] is True
    # 3. The rerun finishes; a fourth run has nothing left to do.
    done = json.loads(run(server, "--json", *args).stdout)
    assert done["interrupted"] is False and done["failed"] == 0
    again = json.loads(run(server, "--json", *args).stdout)
    assert again["added"] == 0 and again["skipped_done"] == len(distinct)
    # Exactly one face per distinct image with a face, whatever was interrupted.
    faces = exported(server, "people", tmp_path)
    hashes = [f["external_fields"]["import_sha256"] for f in faces]
    assert len(hashes) == len(set(hashes)), "an image was added twice"
    states = journal_states(journal)
    assert len(faces) == states["done"] == len(distinct) - 1  # all but the unreadable file
    assert {f["external_image_id"] for f in faces} == set(PEOPLE)
    with open(report, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(Path(r["path"]).name, r["error_code"]) for r in rows] == [("broken.jpg", "FRS.0016")]
    assert again["duplicate_content"] == 1  # same_bytes_again.jpg: sent once


def test_a_lost_answer_is_recovered_not_resent(server, photos, tmp_path):
    journal = tmp_path / "journal.sqlite3"
    args = ["--json", "import", str(photos / "Abdullah_Gul"), "--face-set", "lost", "--journal", str(journal),
            "--errors", str(tmp_path / "e.csv"), "--no-progress", "--resume-grace", "0"]
    first = json.loads(run(server, *args).stdout)
    n = first["added"]
    assert n >= 4
    with sqlite3.connect(journal) as db:
        (one, two) = [r[0] for r in db.execute("SELECT sha256 FROM entries LIMIT 2")]
        # As after a kill between the server's commit and the journal's: state "sending".
        db.execute("UPDATE entries SET state='sending', updated=0 WHERE sha256 IN (?, ?)", (one, two))
        (gone,) = db.execute("SELECT face_ids FROM entries WHERE sha256=?", (two,)).fetchone()
    # The second one never reached the set (a request lost with a server restart).
    face_id = json.loads(gone)[0]
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkfrs.v2 import FrsClient
    from huaweicloudsdkfrs.v2 import model as m
    client = FrsClient.new_builder().with_credentials(BasicCredentials(AK, SK, PROJECT)) \
        .with_endpoint(server.url).build()
    client.batch_delete_faces(m.BatchDeleteFacesRequest(face_set_name="lost", body=m.DeleteFacesBatchReq(
        filter=f"face_id:{face_id}")))
    second = json.loads(run(server, *args).stdout)
    assert (second["recovered"], second["added"], second["skipped_done"]) == (1, 1, n - 2)
    faces = exported(server, "lost", tmp_path)
    assert len(faces) == n and len({f["external_fields"]["import_sha256"] for f in faces}) == n


def test_csv_import_with_custom_fields(server, photos, tmp_path):
    rows = [("Abdullah_Gul/" + p.name, f"gul-{i}", str(30 + i), "blue" if i % 2 else "")
            for i, p in enumerate(sorted((photos / "Abdullah_Gul").glob("*.jpg")))]
    sheet = photos / "staff.csv"
    with open(sheet, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "external_image_id", "age", "team"])
        w.writerows(rows)
    out = run(server, "--json", "import", str(sheet), "--face-set", "staff", "--field", "age:integer",
              "--field", "team:string", "--journal", str(tmp_path / "j.sqlite3"),
              "--errors", str(tmp_path / "e.csv"), "--no-progress")
    assert json.loads(out.stdout)["added"] == len(rows)
    faces = {f["external_image_id"]: f["external_fields"] for f in exported(server, "staff", tmp_path)}
    assert faces["gul-1"]["age"] == 31 and faces["gul-1"]["team"] == "blue"
    assert "team" not in faces["gul-0"]  # an empty cell is no value
    bad = run(server, "import", str(sheet), "--face-set", "people", "--journal", str(tmp_path / "j.sqlite3"),
              check=False)
    assert bad.returncode == 1 and "not custom fields" in bad.stderr and "Traceback" not in bad.stderr


def test_export_restore_detect_compare_search(server, photos, tmp_path):
    run(server, "import", str(photos / "Al_Gore"), "--face-set", "gore", "--journal", str(tmp_path / "j.db"),
        "--errors", str(tmp_path / "e.csv"), "--no-progress")
    file = tmp_path / "gore.ofrs"
    run(server, "export", "gore", "-o", str(file))
    assert file.stat().st_mode & 0o777 == 0o600
    restored = run(server, "restore", str(file), "--as", "gore2")
    assert "restored gore2:" in restored.stdout
    again = run(server, "restore", str(file), "--as", "gore2", check=False)
    assert again.returncode == 1 and again.stderr.startswith("error FRS.0301")
    damaged = tmp_path / "damaged.ofrs"
    damaged.write_bytes(file.read_bytes().replace(b'"vector":"', b'"vector":"AAAA', 1)[:-1] + b"\n")
    bad = run(server, "restore", str(damaged), "--as", "gore3", check=False)
    assert bad.returncode == 1 and "FRS.0012" in bad.stderr
    assert "gore3" not in run(server, "face-sets").stdout
    probe = sorted((photos / "Al_Gore").glob("Al_Gore_*.jpg"))[0]
    table = run(server, "search", str(probe), "--face-set", "gore2", "--top-n", "3").stdout.splitlines()
    assert table[0].split()[:3] == ["rank", "similarity", "same"] and "Al_Gore" in table[1]
    hits = json.loads(run(server, "--json", "search", str(probe), "--face-set", "gore2").stdout)["faces"]
    assert hits[0]["similarity"] > 0.99
    drawn = tmp_path / "det.png"
    det = json.loads(run(server, "--json", "detect", str(STILLS / "two_people.jpg"),
                         "--draw", str(drawn)).stdout)
    assert len(det["faces"]) == 2
    with Image.open(STILLS / "two_people.jpg") as src, Image.open(drawn) as img:
        assert img.size == src.size and list(img.getdata()) != list(src.convert("RGB").getdata())
    side = tmp_path / "cmp.png"
    same = run(server, "compare", str(STILLS / "obama.jpg"), str(STILLS / "obama2.jpg"), "--draw", str(side))
    assert "same person (threshold 0.93)" in same.stdout and Image.open(side).width > 100
    other = json.loads(run(server, "--json", "compare", str(STILLS / "obama.jpg"),
                           str(STILLS / "biden.jpg")).stdout)
    assert other["same_person"] is False and other["similarity"] < 0.93


def test_token_and_credential_errors(server):
    tok = requests.post(server.url + "/v3/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "cli", "password": "cli-password-123", "domain": {"name": "openfrs"}}}},
        "scope": {"project": {"id": PROJECT}}}}).headers["X-Subject-Token"]
    listed = run(server, "face-sets", OPENFRS_AK="", OPENFRS_SK="", OPENFRS_TOKEN=tok)
    assert listed.stdout.startswith("name")
    wrong = run(server, "face-sets", check=False, OPENFRS_SK="not-the-secret-key-at-all")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error APIG.0301")
    none = run(server, "face-sets", check=False, OPENFRS_AK="", OPENFRS_SK="")
    assert none.returncode == 1 and "credentials missing" in none.stderr
