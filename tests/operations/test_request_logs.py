"""The powertools middleware against a real ``chalice local`` with JSON logs:
one request line per request carrying exactly the documented keys, the EMF
metric lines the issue lists, and nothing secret or biometric in either (the
secret-leak checks of tests/identity and tests/hardening, extended to these
lines)."""
from __future__ import annotations

import base64
import json
import re

import pytest
import requests

from testkit import live
from tests.conftest import models_built, still

# Every key a request line may carry: powertools' own, the Lambda context's,
# and the middleware's. A new key must be added here on purpose.
REQUEST_KEYS = {"level", "location", "message", "timestamp", "service", "sampling_rate",
                "cold_start", "function_name", "function_memory_size", "function_arn",
                "function_request_id", "correlation_id", "xray_trace_id",
                "request_id", "route", "project_id", "status", "error_code", "latency_ms"}
# Fifteen or more numbers in a row: an embedding (128/512 floats) or pixels.
VECTOR = re.compile(r"(-?\d+(\.\d+)?(e-?\d+)?\s*,\s*){15,}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Drive every kind of request once; answer (responses, log lines, EMF docs, raw output)."""
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    tmp = tmp_path_factory.mktemp("obs")
    env = {**live.auth_env(tmp / "data"), **live.model_dir_with_calibration(tmp / "m"),
           "FRS_LOG_FORMAT": "json"}
    srv = live.Server(env, tmp / "server.log").start()
    photos = [base64.b64encode(still(n)).decode() for n in ("obama.jpg", "biden.jpg", "obama2.jpg")]
    u = f"{srv.url}/v2/{live.PROJECT}"
    got: dict[str, requests.Response] = {}
    try:
        hdr = live.token_headers(srv.url)
        got["wrong_password"] = requests.post(srv.url + "/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"name": live.USER, "password": "not-the-pw-4711",
                                                           "domain": {"name": "openfrs"}}}},
            "scope": {"project": {"id": live.PROJECT}}}}, timeout=30)
        got["detect"] = requests.post(u + "/face-detect", json={"image_base64": photos[0]}, headers=hdr,
                                      timeout=60)
        got["create"] = requests.post(u + "/face-sets", json={"face_set_name": "obs"}, headers=hdr,
                                      timeout=30)
        got["add"] = requests.post(u + "/face-sets/obs/faces", json={"image_base64": photos[1]},
                                   headers=hdr, timeout=60)
        got["search"] = requests.post(u + "/face-sets/obs/search", json={"image_base64": photos[2]},
                                      headers=hdr, timeout=60)
        got["compare"] = requests.post(u + "/face-compare", json={"image1_base64": photos[0],
                                                                  "image2_base64": photos[2]},
                                       headers=hdr, timeout=60)
        got["bad_json"] = requests.post(u + "/face-detect", data=b"{nope", headers={
            **hdr, "Content-Type": "application/json"}, timeout=30)
        bad = {"X-Auth-Token": hdr["X-Auth-Token"][:-4] + "AAAA"}
        got["bad_token"] = requests.get(u + "/face-sets", headers=bad, timeout=30)
        got["health"] = requests.get(srv.url + "/health", timeout=30)
    finally:
        srv.stop()
    out = srv.output()
    docs = []
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    logs = [d for d in docs if "_aws" not in d]
    emf = [d for d in docs if "_aws" in d]
    return got, hdr, photos, logs, emf, out


def by_request_id(logs, response):
    rid = response.headers["X-Request-Id"]
    lines = [d for d in logs if d.get("message") == "request" and d.get("request_id") == rid]
    assert len(lines) == 1, f"one request line for {rid}, found {len(lines)}"
    return lines[0]


def test_one_request_line_per_request_with_the_documented_keys(run):
    got, _, _, logs, _, _ = run
    for name, r in got.items():
        line = by_request_id(logs, r)
        assert line["status"] == r.status_code, name
        assert line["latency_ms"] > 0
        assert line["service"] == "openfrs" and line["level"] == "INFO"
        assert line["function_name"] and "cold_start" in line  # the Lambda context
        assert set(line) <= REQUEST_KEYS, f"{name}: unexpected keys {set(line) - REQUEST_KEYS}"
    detect = by_request_id(logs, got["detect"])
    assert detect["route"] == "POST /v2/{project_id}/face-detect"
    assert detect["project_id"] == live.PROJECT and "error_code" not in detect
    assert by_request_id(logs, got["search"])["route"] == \
        "POST /v2/{project_id}/face-sets/{face_set_name}/search"
    assert by_request_id(logs, got["bad_json"])["error_code"] == got["bad_json"].json()["error_code"]
    assert by_request_id(logs, got["bad_token"])["error_code"] == got["bad_token"].json()["error_code"]
    assert by_request_id(logs, got["health"])["route"] == "GET /health"
    # IAM's own error shape: the code is still found.
    assert by_request_id(logs, got["wrong_password"])["status"] == got["wrong_password"].status_code
    assert by_request_id(logs, got["wrong_password"]).get("error_code")


def test_other_log_lines_of_a_request_carry_its_request_id(run):
    """The identity layer's "auth refused" line, logged inside the request,
    is found by the X-Request-Id the client got, like the request line."""
    got, _, _, logs, _, _ = run
    for name in ("bad_token", "wrong_password"):
        rid = got[name].headers["X-Request-Id"]
        inner = [d for d in logs if d.get("request_id") == rid and d.get("message") != "request"]
        assert inner and all("refused" in d["message"] for d in inner), (name, inner)
    # Lines outside any request (start-up) carry none.
    assert all(d.get("request_id") for d in logs if d.get("message") == "request")


def metric_values(emf, name, **dims):
    """Every value of metric ``name`` in EMF docs whose dimensions include ``dims``."""
    out = []
    for d in emf:
        names = {m["Name"] for block in d["_aws"]["CloudWatchMetrics"] for m in block["Metrics"]}
        if name in names and all(d.get(k) == v for k, v in dims.items()):
            v = d[name]
            out += v if isinstance(v, list) else [v]
    return out


def test_emf_metrics(run):
    got, _, _, _, emf, _ = run
    for d in emf:  # the embedded metric format CloudWatch reads
        block = d["_aws"]["CloudWatchMetrics"][0]
        assert block["Namespace"] == "OpenFRS" and isinstance(d["_aws"]["Timestamp"], int)
        for dims in block["Dimensions"]:
            assert all(k in d for k in dims)
    detect = "POST /v2/{project_id}/face-detect"
    assert len(metric_values(emf, "Latency", route=detect)) == 2  # the good one and bad_json
    assert metric_values(emf, "Requests", route=detect, status_class="2xx") == [1.0]
    assert metric_values(emf, "Requests", route=detect, status_class="4xx") == [1.0]
    n_faces = len(got["detect"].json()["faces"])
    assert metric_values(emf, "FacesDetected", route=detect) == [float(n_faces)]
    assert metric_values(emf, "FacesDetected", route="POST /v2/{project_id}/face-compare") == [2.0]
    search = metric_values(emf, "SearchLatency", backend="embedded")
    assert len(search) == 1 and search[0] > 0
    loads = {d["model"] for d in emf if "ModelLoadTime" in d}
    assert {"centerface"} <= loads and any(m.startswith(("sface", "dlib")) for m in loads), loads
    assert metric_values(emf, "FrsErrors", error_code=got["bad_json"].json()["error_code"]) == [1.0]
    assert metric_values(emf, "ColdStart") == [1.0]


def test_no_secret_image_or_vector_in_logs_or_metrics(run):
    got, hdr, photos, logs, emf, out = run
    assert '"message":"request"' in out.replace(" ", "") and '"_aws"' in out  # really looked at
    secrets = [live.PASSWORD, live.SK, hdr["X-Auth-Token"], "not-the-pw-4711",
               hdr["X-Auth-Token"][:-4] + "AAAA"]
    for s in secrets:
        assert s not in out, "a secret reached the server output"
    for b in photos:  # distinctive slices of each image's base64
        for i in (1000, len(b) // 2, len(b) - 200):
            assert b[i:i + 48] not in out, "image bytes reached the server output"
    assert not VECTOR.search(out), "a vector (or pixel row) reached the server output"
