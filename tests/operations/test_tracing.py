"""X-Ray tracing: on (as on Lambda) every traced stage sends its subsegment to
the X-Ray daemon address, here a UDP socket of the test on loopback, which is
exactly what the SDK sends to the daemon on Lambda; off (locally by default)
the traced functions are the undecorated ones and aws_xray_sdk never loads."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, STILLS, models_built

TRACE_ID = "1-67a0c0de-0123456789abcdef01234567"

CHILD = r"""
import base64, json, sys
import boto3
from moto import mock_aws
from bench.cold_start import proxy_event

class Context:
    function_name = "openfrs-test"; function_version = "$LATEST"; memory_limit_in_mb = 3008
    aws_request_id = "trace-test"; log_group_name = log_stream_name = "test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:openfrs-test"
    def get_remaining_time_in_millis(self): return 29000

stills = sys.argv[1]
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="media")
    s3.put_object(Bucket="media", Key="obama2.jpg", Body=open(stills + "/obama2.jpg", "rb").read())
    import app
    pid = {"project_id": "0123456789abcdef0123456789abcdef"}
    b64 = base64.b64encode(open(stills + "/obama.jpg", "rb").read()).decode()
    calls = [proxy_event("POST", "/v2/{project_id}/face-sets", pid, {"face_set_name": "t"}),
             proxy_event("POST", "/v2/{project_id}/face-sets/{face_set_name}/faces",
                         {**pid, "face_set_name": "t"}, {"image_base64": b64}),
             proxy_event("POST", "/v2/{project_id}/face-sets/{face_set_name}/search",
                         {**pid, "face_set_name": "t"}, {"image_url": "/media/obama2.jpg"})]
    print(json.dumps([app.app(e, Context())["statusCode"] for e in calls]))
"""


def run_child(env_extra: dict, code: str, tmp_path, args=()) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "FRS_AUTH": "off", "FRS_STORE": "embedded", "FRS_DATA_DIR": str(tmp_path / "data"),
           "FRS_MODEL_DIR": os.environ.get("FRS_MODEL_DIR", str(REPO / "models")),
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", **env_extra}
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if k in os.environ:
            env[k] = os.environ[k]
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_subsegments_reach_the_xray_daemon(tmp_path):
    if not models_built() or not (STILLS / "obama.jpg").exists():
        pytest.skip("needs built models and the stills dataset")
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(0.5)
    port = daemon.getsockname()[1]
    try:
        r = run_child({"AWS_LAMBDA_FUNCTION_NAME": "openfrs-test", "LAMBDA_TASK_ROOT": str(REPO),
                       "FRS_TRACING": "on", "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
                       "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1"},
                      CHILD, tmp_path, [str(STILLS)])
        assert r.returncode == 0, r.stderr[-3000:]
        assert json.loads(r.stdout.strip().splitlines()[-1]) == [200, 200, 200]
        docs, deadline = [], time.time() + 5
        while time.time() < deadline:
            try:
                data = daemon.recv(65535)
            except TimeoutError:
                break
            # Each datagram: a JSON header line, then the (sub)segment document.
            docs.append(json.loads(data.decode().split("\n", 1)[1]))
    finally:
        daemon.close()
    names = set()

    def walk(d):
        names.add(d.get("name"))
        for sub in d.get("subsegments", []):
            walk(sub)
    for d in docs:
        assert d["trace_id"] == TRACE_ID
        walk(d)
    assert {"decode", "detect", "embed", "store.search", "s3.get_object"} <= names, names
    # Nothing of the request or answer is recorded (capture_response=False, no metadata).
    blob = json.dumps(docs)
    assert "image_base64" not in blob and "bounding_box" not in blob


def test_tracing_off_costs_nothing(tmp_path):
    code = (
        "import sys, json\n"
        "import app\n"
        "from chalicelib.vision import decode_image\n"
        "from chalicelib.vision.detector import CenterFace\n"
        "from chalicelib.vision.embedder import ChipEmbedder\n"
        "print(json.dumps({'xray': 'aws_xray_sdk' in sys.modules,\n"
        "  'wrapped': [hasattr(f, '__wrapped__') for f in (decode_image, CenterFace.detect,\n"
        "              ChipEmbedder.embed_chips)],\n"
        "  'powertools': 'aws_lambda_powertools' in sys.modules}))\n")
    r = run_child({}, code, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"xray": False, "wrapped": [False, False, False], "powertools": True}
    # FRS_OBSERVABILITY=off: no powertools at all.
    r = run_child({"FRS_OBSERVABILITY": "off"}, code, tmp_path)
    assert json.loads(r.stdout.strip().splitlines()[-1])["powertools"] is False
