"""GET /health and GET /ready: unauthenticated, no project data, 503 with the
failing check named when a model does not load or the store does not answer;
the bulk_import function goes through the same middleware."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from testkit.server import free_port
from tests.api.helpers import post_json
from tests.conftest import REPO


def test_health_answers_without_credentials(client, monkeypatch):
    monkeypatch.setenv("FRS_AUTH", "iam")
    r = client.http.get("/health")
    assert r.status_code == 200 and r.json_body == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Request-Id"]


def test_ready_names_backend_and_models_and_no_project_data(client, needs_models):
    assert post_json(client, "/v2/secretproject0001/face-sets",
                     {"face_set_name": "hidden-set-name"}).status_code == 200
    r = client.http.get("/ready")
    assert r.status_code == 200, r.body
    body = r.json_body
    assert body["status"] == "ready"
    assert body["store"]["ok"] and body["store"]["backend"] == "embedded"
    assert body["models"]["ok"] and body["models"]["detector"] and body["models"]["embedder"]
    assert set(body) == {"status", "models", "store"}
    assert set(body["store"]) == {"ok", "ms", "backend"}
    assert set(body["models"]) == {"ok", "ms", "detector", "embedder"}
    text = r.body.decode()
    assert "secretproject0001" not in text and "hidden-set-name" not in text


CHILD = r"""
import json, sys
from chalice.test import Client
import app
with Client(app.app) as c:
    r = c.http.get("/ready")
    print(json.dumps({"status": r.status_code, "body": r.json_body}))
"""


def ready_in_child(tmp_path, **env) -> dict:
    full = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
            "FRS_DATA_DIR": str(tmp_path / "data"), "FRS_OBSERVABILITY": "off", **env}
    r = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=full, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_not_ready_without_models(tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    out = ready_in_child(tmp_path, FRS_MODEL_DIR=str(empty))
    assert out["status"] == 503 and out["body"]["status"] == "not_ready"
    assert out["body"]["models"]["ok"] is False and out["body"]["models"]["error"]
    assert out["body"]["store"]["ok"] is True
    assert str(empty) not in json.dumps(out["body"])  # no path revealed


def test_not_ready_when_the_store_does_not_answer(tmp_path, needs_models):
    # Nothing listens on a port just found free: the OpenSearch store cannot connect.
    out = ready_in_child(tmp_path, FRS_STORE="opensearch", OPENSEARCH_URL=f"http://127.0.0.1:{free_port()}",
                         FRS_OPENSEARCH_TIMEOUT="2",
                         FRS_MODEL_DIR=os.environ.get("FRS_MODEL_DIR", str(REPO / "models")))
    assert out["status"] == 503
    store = out["body"]["store"]
    assert store["ok"] is False and store["backend"] == "opensearch" and store["error"]
    assert "127.0.0.1" not in json.dumps(out["body"])  # no host revealed
    assert out["body"]["models"]["ok"] is True


def test_bulk_import_goes_through_the_middleware(tmp_path):
    code = (
        "import json\n"
        "import app\n"
        "class Ctx:\n"
        "    function_name = 'openfrs-bulk_import'; memory_limit_in_mb = 3008; aws_request_id = 'r1'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:0:function:openfrs-bulk_import'\n"
        "app.bulk_import({'Records': []}, Ctx())\n")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "FRS_DATA_DIR": str(tmp_path / "data"), "FRS_LOG_FORMAT": "json",
           "FRS_IMPORT_BUCKET": "imports", "FRS_IMPORT_PROJECT_ID": "p1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    docs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    line = next(d for d in docs if d.get("message") == "invocation")
    assert line["route"] == "openfrs-bulk_import" and line["status"] == 200
    assert line["function_request_id"] == "r1"  # the Lambda context, injected by powertools
    latency = [d for d in docs if "Latency" in d]
    assert latency and latency[0]["route"] == "openfrs-bulk_import"
