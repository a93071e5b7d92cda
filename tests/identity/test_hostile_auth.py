"""Issue 15, defects 1-4: hostile input to authentication answers a clean
FRS/IAM error (never a 500) and password guessing is locked out."""
from __future__ import annotations

import json

import pytest
from identity_helpers import raw_request, sdk_sign, to_chalice, token_body

from chalicelib.errors import FrsError
from chalicelib.identity import authorize


@pytest.fixture
def alice(store, proj):
    store.set_user("alice", "s3cret-pw", "acme")
    return proj


def post_token(client, body, ctype="application/json"):
    return client.http.post("/v3/auth/tokens", headers={"Content-Type": ctype}, body=body)


def iam_error(r):
    body = json.loads(r.body)
    assert r.headers.get("X-Request-Id"), "every answer carries X-Request-Id"
    assert body["error"]["code"] == r.status_code and body["error"]["message"]
    return r.status_code, body["error_code"]


# -- 1. non-ASCII X-Auth-Token ------------------------------------------------------
@pytest.mark.parametrize("token", ["ofrs1.\u00e9.x", "ofrs1.e30.\u00e9\u00e9", "\u00e9",
                                   "ofrs1.\u4e2d.\U0001f600", "ofrs1.a\udc80.b"])
def test_non_ascii_token_is_frs0002(store, proj, token):
    req = raw_request("GET", f"/v2/{proj['id']}/face-sets", {"x-auth-token": token})
    with pytest.raises(FrsError) as e:
        authorize(req, proj["id"])
    assert (e.value.code, e.value.status) == ("FRS.0002", 403)


def test_non_ascii_token_over_http_is_403(client, proj):
    r = client.http.get(f"/v2/{proj['id']}/face-sets", headers={"X-Auth-Token": "ofrs1.\u00e9.x"})
    assert r.status_code == 403 and json.loads(r.body)["error_code"] == "FRS.0002"


# -- 2. signed request: who the caller is comes first ----------------------------------
@pytest.mark.parametrize("declared", ["\u00e9" * 64, "caf\u00e9", "\u4e2d"])
def test_non_ascii_content_hash_and_unknown_ak_is_apig0301(store, proj, declared):
    body = b'{"a": 1}'
    signed = sdk_sign("UNKNOWNAK0000000000X", "x" * 40, proj["id"], "GET",
                      f"/v2/{proj['id']}/face-sets", body=body,
                      headers={"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"})
    req = to_chalice(signed, header_overrides={"X-Sdk-Content-Sha256": declared})
    with pytest.raises(FrsError) as e:
        authorize(req, proj["id"])
    assert (e.value.code, e.value.status) == ("APIG.0301", 401)


def test_non_ascii_content_hash_with_known_ak_is_apig0301(store, proj):
    body = b'{"a": 1}'
    signed = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets",
                      body=body, headers={"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"})
    req = to_chalice(signed, header_overrides={"X-Sdk-Content-Sha256": "\u00e9" * 64})
    with pytest.raises(FrsError) as e:
        authorize(req, proj["id"])
    assert (e.value.code, e.value.status) == ("APIG.0301", 401)


@pytest.mark.parametrize("ak", ["\u00c9LAN", "AK\u4e2d", "AK\udc80"])
def test_non_ascii_access_key_is_apig0301(store, proj, ak):
    signed = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    auth = signed.header_params["Authorization"].replace(f"Access={proj['ak']}", f"Access={ak}")
    req = to_chalice(signed, header_overrides={"Authorization": auth})
    with pytest.raises(FrsError) as e:
        authorize(req, proj["id"])
    assert (e.value.code, e.value.status) == ("APIG.0301", 401)


# -- 3. POST /v3/auth/tokens never answers Chalice's own errors --------------------------
def test_deeply_nested_json_is_400(client, alice):
    r = post_token(client, "[" * 100_000 + "]" * 100_000)
    assert iam_error(r) == (400, "FRS.0012")
    r = post_token(client, '{"auth": ' + "{\"a\": " * 50_000 + "1" + "}" * 50_001)
    assert iam_error(r) == (400, "FRS.0012")


@pytest.mark.parametrize("kw", [{"user": "al\ud800ice"}, {"password": "\ud800"},
                                {"domain": "ac\udfffme"}, {"project": {"name": "\ud800"}},
                                {"project": {"id": "\udc00"}}])
def test_lone_surrogates_are_400(client, alice, kw):
    r = post_token(client, token_body(**kw))  # json.dumps escapes them as \\ud800
    assert iam_error(r) == (400, "FRS.0012")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/xml"])
def test_non_json_content_type_is_iam_shaped(client, alice, ctype):
    r = post_token(client, token_body(), ctype=ctype)
    assert iam_error(r) == (400, "FRS.0014")


def test_invalid_utf8_body_is_400(client, alice):
    r = post_token(client, b'{"auth": "\xff\xfe"}')
    assert iam_error(r)[0] == 400


def test_unexpected_failure_is_iam_shaped_500(client, alice, monkeypatch):
    from chalicelib.identity import token_service

    def boom(raw, source=None):
        raise RuntimeError("boom")
    monkeypatch.setattr(token_service, "create_token", boom)
    r = post_token(client, token_body())
    assert iam_error(r) == (500, "FRS.0018")
    assert "boom" not in r.body.decode()


def test_success_still_201(client, alice):
    r = post_token(client, token_body())
    assert r.status_code == 201 and r.headers["X-Request-Id"] and r.headers["X-Subject-Token"]
    r = post_token(client, token_body(), ctype="application/json;charset=UTF-8")
    assert r.status_code == 201
