"""Issue 15 against a live ``chalice local``: non-ASCII header bytes, lone
surrogates and deep JSON get an FRS/IAM answer with X-Request-Id over a real
socket, never a 500 or a dropped connection."""
from __future__ import annotations

import base64
import datetime
import http.client
import json
from urllib.parse import urlsplit

import pytest

from testkit import live
from tests.conftest import models_built, still

P = f"/v2/{live.PROJECT}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    d = tmp_path_factory.mktemp("live-unicode")
    srv = live.Server(live.auth_env(d / "data"), d / "server.log").start()
    yield srv
    srv.stop()


def send(server, method, path, headers, body=b""):
    """One request with header values sent as raw bytes (UTF-8 where given)."""
    u = urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest(method, path)
        for k, v in headers.items():
            conn.putheader(k, v.encode("utf-8") if isinstance(v, str) else v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()  # raises if the server dropped the connection
        data = r.read()
        assert r.getheader("X-Request-Id"), (r.status, data)
        return r.status, json.loads(data.decode("utf-8"))
    finally:
        conn.close()


def test_non_ascii_headers(server):
    status, body = send(server, "GET", f"{P}/face-sets", {"X-Auth-Token": "ofrs1.\u00e9.x"})
    assert (status, body["error_code"]) == (403, "FRS.0002")
    auth = ("SDK-HMAC-SHA256 Access=NOSUCHAK000000000000, SignedHeaders=host;x-sdk-content-sha256;"
            "x-sdk-date, Signature=" + "0" * 64)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    status, body = send(server, "POST", f"{P}/face-detect",
                        {"Authorization": auth, "X-Sdk-Date": date, "Content-Type": "application/json",
                         "X-Sdk-Content-Sha256": "\u00e9" * 64}, b'{"image_url": "x"}')
    assert (status, body["error_code"]) == (401, "APIG.0301")


@pytest.mark.parametrize("body,ctype", [
    (b"[" * 100_000, "application/json"),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "\ud800", "password": "\udfff", "domain": {"name": "openfrs"}}}},
        "scope": {"project": {"id": live.PROJECT}}}}).encode(), "application/json"),
    (b"auth=1", "application/x-www-form-urlencoded"),
])
def test_token_route(server, body, ctype):
    status, answer = send(server, "POST", "/v3/auth/tokens", {"Content-Type": ctype}, body)
    assert status == 400 and answer["error"]["code"] == 400


def test_surrogate_field_is_refused_and_listing_still_answers(server):
    token = live.token_headers(server.url)["X-Auth-Token"]
    h = {"X-Auth-Token": token, "Content-Type": "application/json"}
    status, _ = send(server, "POST", f"{P}/face-sets", h, json.dumps(
        {"face_set_name": "uni", "external_fields": {"s": {"type": "string"}}}).encode())
    assert status == 200
    photo = base64.b64encode(still("obama.jpg")).decode()
    status, body = send(server, "POST", f"{P}/face-sets/uni/faces", h,
                        f'{{"image_base64": "{photo}", "external_fields": {{"s": "x\\ud800"}}}}'.encode())
    assert (status, body["error_code"]) == (400, "FRS.0406")
    status, body = send(server, "GET", f"{P}/face-sets/uni/faces?offset=0&limit=5", h)
    assert status == 200 and body["faces"] == []
