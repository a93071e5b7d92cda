"""AK/SK verification against requests signed by the real huaweicloudsdkcore signer."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from identity_helpers import raw_request, sdk_sign, to_chalice

from chalicelib.errors import FrsError
from chalicelib.identity import authorize, signature

BODY = json.dumps({"image_base64": "aGVsbG8=", "attributes": "2,4"}).encode()


def sdk_date(delta=timedelta(0)):
    return (datetime.now(timezone.utc) + delta).strftime("%Y%m%dT%H%M%SZ")


def refused(req, project_id, code="APIG.0301", status=401):
    with pytest.raises(FrsError) as e:
        authorize(req, project_id)
    assert (e.value.code, e.value.status) == (code, status)
    return e.value


def test_json_body_accepted(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-detect", body=BODY)
    assert authorize(to_chalice(r), proj["id"]) == {}


def test_get_with_query_string_accepted(proj):
    # Unsorted, with characters the signer percent-encodes and a repeated key.
    q = [("offset", 0), ("limit", 10), ("external_image_id", "a b+c/é~"), ("x", ["b", "a"])]
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET",
                 f"/v2/{proj['id']}/face-sets/my%20set/faces", query=q)
    assert "external_image_id=a%20b%2Bc%2F%C3%A9~" in r.uri
    assert authorize(to_chalice(r), proj["id"]) == {}
    # A client may send the pairs in any order; the server sorts them.
    path, _, query = r.uri.partition("?")
    r.uri = path + "?" + "&".join(reversed(query.split("&")))
    assert authorize(to_chalice(r), proj["id"]) == {}


def test_delete_with_query_and_json_body_accepted(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "DELETE",
                 f"/v2/{proj['id']}/face-sets/s1/faces/batch",
                 body=json.dumps({"filter": "age:[1 TO 5]"}))
    authorize(to_chalice(r), proj["id"])


def test_multipart_unsigned_payload_accepted(proj):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"a.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + bytes(range(256)) \
        + f"\r\n--{boundary}--\r\n".encode()
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-detect",
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, body=body)
    assert r.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" in r.header_params["Authorization"]
    assert authorize(to_chalice(r), proj["id"]) == {}


def test_wrong_sk_refused(proj):
    # A different last character (the random SK may already end in "x").
    wrong = proj["sk"][:-1] + ("y" if proj["sk"].endswith("x") else "x")
    r = sdk_sign(proj["ak"], wrong, proj["id"], "POST", f"/v2/{proj['id']}/face-detect", body=BODY)
    refused(to_chalice(r), proj["id"])


def test_unknown_ak_refused_like_wrong_sk(proj):
    r = sdk_sign("NOSUCHKEY0000000000A", proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    e = refused(to_chalice(r), proj["id"])
    r2 = sdk_sign(proj["ak"], "wrong", proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    assert refused(to_chalice(r2), proj["id"]).msg == e.msg


def test_body_changed_after_signing_refused(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-detect", body=BODY)
    refused(to_chalice(r, body_override=BODY.replace(b"2,4", b"2,5")), proj["id"])


def test_unsigned_content_hash_header_cannot_launder_a_changed_body(proj):
    # An attacker adds X-Sdk-Content-Sha256 = hash of the original body to a
    # changed request: the header is not among SignedHeaders, so it is ignored.
    import hashlib
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-detect", body=BODY)
    req = to_chalice(r, body_override=b'{"image_url": "x"}',
                     header_overrides={"X-Sdk-Content-Sha256": hashlib.sha256(BODY).hexdigest()})
    refused(req, proj["id"])


def test_signed_content_hash_must_match_body(proj):
    import hashlib
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-detect",
                 headers={"Content-Type": "application/json",
                          "X-Sdk-Content-Sha256": hashlib.sha256(BODY).hexdigest()}, body=BODY)
    authorize(to_chalice(r), proj["id"])
    refused(to_chalice(r, body_override=BODY + b" "), proj["id"])


def test_query_changed_after_signing_refused(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets/s/faces",
                 query=[("face_id", "abc")])
    r.uri = r.uri.replace("abc", "abd")
    refused(to_chalice(r), proj["id"])


def test_path_changed_after_signing_refused(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "DELETE", f"/v2/{proj['id']}/face-sets/a")
    r.uri = r.uri.replace("/face-sets/a", "/face-sets/b")
    refused(to_chalice(r), proj["id"])


def test_method_changed_after_signing_refused(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets/a")
    r.method = "DELETE"
    refused(to_chalice(r), proj["id"])


def test_signed_header_changed_refused(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    refused(to_chalice(r, header_overrides={"Host": "evil.example:8000"}), proj["id"])


@pytest.mark.parametrize("minutes", [-16, 16, -60 * 24])
def test_stale_or_future_date_refused(proj, minutes):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets",
                 date=sdk_date(timedelta(minutes=minutes)))
    assert "15 minutes" in refused(to_chalice(r), proj["id"]).msg


@pytest.mark.parametrize("minutes", [-14, 14])
def test_date_within_15_minutes_accepted(proj, minutes):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets",
                 date=sdk_date(timedelta(minutes=minutes)))
    authorize(to_chalice(r), proj["id"])


def test_date_must_be_signed(proj):
    # Signed without X-Sdk-Date (a header with "_" is never signed by the SDK:
    # here we sign by hand to leave the date out).
    when = datetime.now(timezone.utc).replace(tzinfo=None)
    headers = {"host": "127.0.0.1:8000", "x-sdk-date": when.strftime("%Y%m%dT%H%M%SZ")}
    req = raw_request("GET", f"/v2/{proj['id']}/face-sets", headers)
    canon = signature.canonical_request(req, req.context["path"], ["host"], signature.EMPTY_HASH)
    sig = signature.sign(proj["sk"], signature.string_to_sign(canon, when))
    req.headers._dict["authorization"] = \
        f"SDK-HMAC-SHA256 Access={proj['ak']}, SignedHeaders=host, Signature={sig}"
    assert "x-sdk-date must be signed" in refused(req, proj["id"]).msg


def test_hand_made_signature_matches_sdk(proj):
    """Our own signer helper reproduces the SDK's signature bit for bit."""
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "POST", f"/v2/{proj['id']}/face-sets", body=BODY)
    req = to_chalice(r)
    _, signed, sig = signature.parse_authorization(req.headers["authorization"])
    when = datetime.strptime(req.headers["x-sdk-date"], "%Y%m%dT%H%M%SZ")
    canon = signature.canonical_request(req, req.context["path"], signed, signature.body_hash(req, signed))
    assert signature.sign(proj["sk"], signature.string_to_sign(canon, when)) == sig


@pytest.mark.parametrize("auth", [
    "", "Basic dXNlcjpwdw==", "SDK-HMAC-SHA256 Access=AK, Signature=00",
    "SDK-HMAC-SM3 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;x-sdk-date, Signature=" + "0" * 64])
def test_malformed_authorization_refused(proj, auth):
    req = raw_request("GET", f"/v2/{proj['id']}/face-sets",
                      {"authorization": auth, "x-sdk-date": sdk_date(), "host": "h"})
    refused(req, proj["id"])


def test_no_credentials_refused(proj):
    refused(raw_request("GET", f"/v2/{proj['id']}/face-sets"), proj["id"])


def test_revoked_key_refused(proj, store):
    store.revoke_key(proj["ak"])
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    refused(to_chalice(r), proj["id"])


def test_key_of_other_project_refused_with_frs0028(proj, proj_b):
    # Project A's genuine key on project B's path: same answer whether or not
    # B (or a face set in it) exists, because no lookup happens.
    for path_project in (proj_b["id"], "0" * 32):
        r = sdk_sign(proj["ak"], proj["sk"], path_project, "GET",
                     f"/v2/{path_project}/face-sets/secret-set")
        e = refused(to_chalice(r), path_project, "FRS.0028", 403)
        assert e.body() == {"error_code": "FRS.0028",
                            "error_msg": "The project ID does not match the token."}


def test_api_gateway_stage_prefix(proj):
    """API Gateway (execute-api host) reports /api/v2/...; the SDK signed /v2/..."""
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    authorize(to_chalice(r, path_prefix="/api", stage="api"), proj["id"])
    # ...and a client that signed the full path including the stage works too.
    req = SdkRequest(method="GET", schema="https", host=r.host,
                     resource_path=f"/api/v2/{proj['id']}/face-sets",
                     query_params=[], header_params={"Content-Type": "application/json"}, body=b"")
    req = BasicCredentials(proj["ak"], proj["sk"], proj["id"]).sign_request(req)
    ev_req = to_chalice(r, path_prefix="/api", stage="api",
                        header_overrides={k: v for k, v in req.header_params.items()})
    authorize(ev_req, proj["id"])


def test_request_without_context_path_uses_route_template(proj):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets/s1")
    req = to_chalice(r)
    del req.context["path"]
    authorize(req, proj["id"])
