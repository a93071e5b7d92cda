"""HTTP layer of the liveness routes (JSON and multipart), on a Chalice app
that registers only the live_detect blueprint."""
from __future__ import annotations

import base64
import importlib.util
import json
import sys

import cv2
import numpy as np
import pytest
from chalice import Chalice
from chalice.test import Client

import chalicelib.api.routes.live_detect as route_module
from testkit.clips import MissingClip, source
from testkit.liveness_cases import d3

PATHS = ["/v1/p1/live-detect", "/v2/p1/live-detect"]
FACE_PATHS = ["/v1/p1/live-detect-face", "/v2/p1/live-detect-face"]



def _private_blueprint():
    """A Chalice blueprint can be registered on one app only, and app.py may
    register the real one; so load a private copy of the route module."""
    name = "chalicelib.api.routes._live_detect_test_copy"
    spec = importlib.util.spec_from_file_location(name, route_module.__file__)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.live_detect


APP = Chalice(app_name="liveness-test")
APP.api.binary_types.extend(["multipart/form-data", "application/octet-stream"])
APP.register_blueprint(_private_blueprint())


@pytest.fixture
def live_client(frs_env):
    with Client(APP) as c:
        yield c


@pytest.fixture(scope="module")
def left_turn() -> bytes:
    try:
        return d3(4.0, 6.8).encode("route_left")
    except MissingClip as exc:
        pytest.skip(str(exc))


def post_json(client, path, body):
    r = client.http.post(path, headers={"Content-Type": "application/json"},
                         body=json.dumps(body))
    return r.status_code, json.loads(r.body)


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    b = "frsboundary123"
    out = b""
    for k, v in fields.items():
        out += (f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    for k, (name, data) in files.items():
        out += (f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


@pytest.mark.parametrize("path", PATHS)
def test_live_detect_base64(live_client, liveness_models, left_turn, path):
    status, body = post_json(live_client, path, {
        "video_base64": base64.b64encode(left_turn).decode(), "actions": "1,2",
        "action_time": "0-2800,0-2800"})
    assert status == 200, body
    vr = body["video-result"]
    assert vr["alive"] is False  # the clip turns left only
    assert [a["action"] for a in vr["actions"]] == [1, 2]
    assert vr["actions"][0]["confidence"] >= 0.5 > vr["actions"][1]["confidence"]
    assert {"warningCode": 6, "warningMsg": "The range of motion is too small."} in body["warning-list"]
    assert base64.b64decode(vr["picture"])[:3] == b"\xff\xd8\xff"


def test_live_detect_multipart(live_client, liveness_models, left_turn):
    data, ctype = multipart({"actions": "1", "nod_threshold": "12"},
                            {"video_file": ("clip.mp4", left_turn)})
    r = live_client.http.post(PATHS[1], headers={"Content-Type": ctype}, body=data)
    body = json.loads(r.body)
    assert r.status_code == 200, body
    assert body["video-result"]["alive"] is True
    assert body["warning-list"] == []


@pytest.mark.parametrize("body,code", [
    ({"actions": "1"}, "FRS.0011"),
    ({"video_base64": "!!notbase64", "actions": "1"}, "FRS.0015"),
    ({"video_base64": base64.b64encode(b"x" * 100).decode(), "actions": "7"}, "FRS.0702"),
    ({"video_base64": base64.b64encode(b"x" * 100).decode(), "actions": "1",
      "action_time": "2000-1000"}, "FRS.0703"),
    ({"video_base64": base64.b64encode(b"x" * 100).decode(), "actions": "1",
      "nod_threshold": 100}, "FRS.0012"),
    ({"video_base64": base64.b64encode(b"x" * 100).decode(), "actions": "1"}, "FRS.0701"),
])
def test_live_detect_errors(live_client, liveness_models, body, code):
    status, out = post_json(live_client, PATHS[0], body)
    assert (status, out["error_code"]) == (400, code), out
    assert "Traceback" not in out["error_msg"]


def _jpeg(img) -> str:
    return base64.b64encode(cv2.imencode(".jpg", img)[1].tobytes()).decode()


@pytest.mark.parametrize("path", FACE_PATHS)
def test_live_detect_face_shape(live_client, liveness_models, path):
    try:
        img = cv2.rotate(cv2.imread(str(source("../spoof/image_T1.jpg"))), cv2.ROTATE_90_CLOCKWISE)
    except MissingClip as exc:
        pytest.skip(str(exc))
    status, body = post_json(live_client, path, {"image_base64": _jpeg(img)})
    assert status == 200, body
    res = body["result"]
    assert set(res) == {"alive", "confidence", "picture"}
    assert isinstance(res["alive"], bool) and 0 <= res["confidence"] <= 1
    assert res["alive"] == (res["confidence"] >= 0.5)
    assert base64.b64decode(res["picture"])[:3] == b"\xff\xd8\xff"


def test_live_detect_face_no_face(live_client, liveness_models):
    img = np.full((240, 320, 3), 128, np.uint8)
    status, body = post_json(live_client, FACE_PATHS[0], {"image_base64": _jpeg(img)})
    assert (status, body["error_code"]) == (400, "FRS.0707")
