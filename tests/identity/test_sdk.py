"""The official client, unchanged but for its endpoint, against a real
``chalice local`` process with authentication on.

* every FrsClient operation OpenFRS implements, with AK/SK signatures
  (``BasicCredentials(ak, sk, project_id)``), image URLs served by a moto S3
  server reached through ``AWS_ENDPOINT_URL_S3``;
* the same flow with an ``X-Auth-Token`` from ``POST /v3/auth/tokens`` over
  plain HTTP;
* refusals: no credentials, wrong SK, body changed after signing, stale
  X-Sdk-Date, expired and forged tokens, project A's token or key on project
  B's path; each answer is identical whether the face set exists or not.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.formdata import FormFile
from huaweicloudsdkfrs.v2 import FrsClient
from huaweicloudsdkfrs.v2 import model as m
from identity_helpers import sdk_sign

from chalicelib.identity import tokens
from chalicelib.identity.credentials import SqliteCredentialStore
from testkit.server import LocalServer, free_port
from tests.conftest import STILLS, models_built

A = {"id": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "ak": "AKPROJECTA0000000001",
     "sk": "sk-of-project-a-0123456789abcdefghijklm", "user": "alice", "password": "alice-pw-12345"}
B = {"id": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "ak": "AKPROJECTB0000000002",
     "sk": "sk-of-project-b-0123456789abcdefghijklm"}
BUCKET = "photos"


def photo(name: str) -> bytes:
    path = STILLS / name
    if not path.exists():
        pytest.skip(f"dataset file {path} is absent")
    return path.read_bytes()


def b64(name: str) -> str:
    return base64.b64encode(photo(name)).decode()


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        s3.put_object(Bucket=BUCKET, Key=name, Body=photo(name))
    yield url
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, s3_endpoint):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    data = tmp_path_factory.mktemp("frs-sdk") / "data"
    # Project B exists before the server starts, made the way an admin would.
    st = SqliteCredentialStore(str(data))
    st.create_project("beta", "openfrs", project_id=B["id"])
    st.create_key(B["id"], B["ak"], B["sk"])
    env = {"FRS_DATA_DIR": str(data), "FRS_STORE": "embedded", "FRS_AUTH": "iam",
           "FRS_IDENTITY_BACKEND": "sqlite", "FRS_RATELIMIT": "",
           "FRS_BOOTSTRAP_PROJECT_ID": A["id"], "FRS_BOOTSTRAP_AK": A["ak"], "FRS_BOOTSTRAP_SK": A["sk"],
           "FRS_BOOTSTRAP_USER": A["user"], "FRS_BOOTSTRAP_PASSWORD": A["password"],
           "FRS_BOOTSTRAP_PROJECT_NAME": "alpha",
           "AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "FRS_MEDIA_BUCKETS": ""}
    srv = LocalServer(env, log_path=data / "chalice-local.log").start()
    srv.data_dir = data
    yield srv
    srv.stop()


def frs(server, who=A, sk=None) -> FrsClient:
    creds = BasicCredentials(who["ak"], sk or who["sk"], who["id"])
    return FrsClient.new_builder().with_credentials(creds).with_endpoint(server.url).build()


# --------------------------------------------------------------------------
# AK/SK through the SDK: every operation
def test_detect_by_base64_file_url(server):
    c = frs(server)
    r1 = c.detect_face_by_base64(m.DetectFaceByBase64Request(
        body=m.FaceDetectBase64Req(image_base64=b64("obama.jpg"))))
    assert r1.status_code == 200 and len(r1.faces) == 1
    box = r1.faces[0].bounding_box
    assert box.width > 80 and box.height > 80
    r2 = c.detect_face_by_file(m.DetectFaceByFileRequest(
        body=m.DetectFaceByFileRequestBody(image_file=FormFile(open(STILLS / "obama.jpg", "rb")))))
    assert r2.faces[0].bounding_box.to_dict() == box.to_dict()
    r3 = c.detect_face_by_url(m.DetectFaceByUrlRequest(
        body=m.FaceDetectUrlReq(image_url=f"/{BUCKET}/obama.jpg")))
    assert r3.faces[0].bounding_box.to_dict() == box.to_dict()
    two = c.detect_face_by_base64(m.DetectFaceByBase64Request(
        body=m.FaceDetectBase64Req(image_base64=b64("two_people.jpg"))))
    assert len(two.faces) == 2


def test_compare_by_base64_file_url(server):
    c = frs(server)
    same = c.compare_face_by_base64(m.CompareFaceByBase64Request(
        body=m.FaceCompareBase64Req(image1_base64=b64("obama.jpg"), image2_base64=b64("obama2.jpg"))))
    assert same.similarity >= 0.93 and same.image1_face.bounding_box.width > 0
    other = c.compare_face_by_file(m.CompareFaceByFileRequest(body=m.CompareFaceByFileRequestBody(
        image1_file=FormFile(open(STILLS / "obama.jpg", "rb")),
        image2_file=FormFile(open(STILLS / "biden.jpg", "rb")))))
    assert other.similarity < 0.93
    by_url = c.compare_face_by_url(m.CompareFaceByUrlRequest(body=m.FaceCompareUrlReq(
        image1_url=f"/{BUCKET}/obama.jpg", image2_url=f"s3://{BUCKET}/obama3.jpg")))
    assert by_url.similarity >= 0.93


@pytest.fixture(scope="module")
def lib(server):
    """Face set "sdk-lib" made through the SDK: obama (base64), biden (file),
    obama2 (url). Yields (client, name, ids)."""
    c = frs(server)
    name = "sdk-lib"
    fields = {"age": m.TypeInfo(type="integer"), "person": m.TypeInfo(type="string")}
    created = c.create_face_set(m.CreateFaceSetRequest(body=m.CreateFaceSetReq(
        face_set_name=name, external_fields=fields)))
    assert created.face_set_info.face_set_name == name and created.face_set_info.face_number == 0
    add_b64 = c.add_faces_by_base64(m.AddFacesByBase64Request(face_set_name=name, body=m.AddFacesBase64Req(
        image_base64=b64("obama.jpg"), external_image_id="obama1",
        external_fields={"age": 61, "person": "obama"})))
    assert add_b64.face_set_name == name and add_b64.faces[0].external_image_id == "obama1"
    add_file = c.add_faces_by_file(m.AddFacesByFileRequest(
        face_set_name=name, body=m.AddFacesByFileRequestBody(
        image_file=FormFile(open(STILLS / "biden.jpg", "rb")), external_image_id="biden1",
        external_fields=json.dumps({"age": 80, "person": "biden"}))))
    add_url = c.add_faces_by_url(m.AddFacesByUrlRequest(face_set_name=name, body=m.AddFacesUrlReq(
        image_url=f"/{BUCKET}/obama2.jpg", external_image_id="obama2",
        external_fields={"age": 55, "person": "obama"})))
    ids = {"obama": add_b64.faces[0].face_id, "biden": add_file.faces[0].face_id,
           "obama2": add_url.faces[0].face_id}
    assert len(set(ids.values())) == 3
    yield c, name, ids


def test_face_set_show_and_faces_show_update(server, lib):
    c, name, ids = lib
    shown = c.show_face_set(m.ShowFaceSetRequest(face_set_name=name))
    assert shown.face_set_info.face_number == 3 and len(shown.face_set_info.face_set_id) == 8
    all_sets = c.show_all_face_sets(m.ShowAllFaceSetsRequest()).face_sets_info
    assert [s.face_set_id for s in all_sets if s.face_set_name == name] == [shown.face_set_info.face_set_id]
    page = c.show_faces_by_limit(m.ShowFacesByLimitRequest(face_set_name=name, offset=0, limit=10))
    assert {f.face_id for f in page.faces} == set(ids.values())
    assert len(c.show_faces_by_limit(
        m.ShowFacesByLimitRequest(face_set_name=name, offset=1, limit=1)).faces) == 1
    one = c.show_faces_by_face_id(m.ShowFacesByFaceIdRequest(face_set_name=name, face_id=ids["biden"]))
    assert one.faces[0].external_image_id == "biden1" and one.faces[0].external_fields["person"] == "biden"
    upd = c.update_face(m.UpdateFaceRequest(face_set_name=name, body=m.UpdateFaceReq(
        face_id=ids["biden"], external_image_id="biden-renamed", external_fields={"age": 81})))
    assert upd.face_number == 1
    one = c.show_faces_by_face_id(m.ShowFacesByFaceIdRequest(face_set_name=name, face_id=ids["biden"]))
    assert one.faces[0].external_image_id == "biden-renamed" and one.faces[0].external_fields["age"] == 81


def test_search_by_base64_file_url_face_id(server, lib):
    c, name, ids = lib
    obama = {ids["obama"], ids["obama2"]}
    s1 = c.search_face_by_base64(m.SearchFaceByBase64Request(face_set_name=name, body=m.FaceSearchBase64Req(
        image_base64=b64("obama3.jpg"))))
    s2 = c.search_face_by_file(m.SearchFaceByFileRequest(
        face_set_name=name, body=m.SearchFaceByFileRequestBody(
        image_file=FormFile(open(STILLS / "obama3.jpg", "rb")))))
    s3 = c.search_face_by_url(m.SearchFaceByUrlRequest(face_set_name=name, body=m.FaceSearchUrlReq(
        image_url=f"/{BUCKET}/obama3.jpg", top_n=2)))
    s4 = c.search_face_by_face_id(m.SearchFaceByFaceIdRequest(face_set_name=name, body=m.FaceSearchFaceIdReq(
        face_id=ids["obama"], top_n=3)))
    for res in (s1, s2, s3):
        assert res.faces[0].face_id in obama and res.faces[0].similarity >= 0.93
        assert {f.face_id for f in res.faces[:2]} == obama
    assert len(s3.faces) == 2
    assert {f.face_id for f in s4.faces[:2]} == obama and s4.faces[0].similarity >= 0.93
    filtered = c.search_face_by_base64(m.SearchFaceByBase64Request(
        face_set_name=name, body=m.FaceSearchBase64Req(
        image_base64=b64("obama3.jpg"), filter="person:biden", return_fields=["person", "age"])))
    assert [f.face_id for f in filtered.faces] == [ids["biden"]]


def test_deletes_and_face_set_delete(server, lib):
    c, name, ids = lib
    d1 = c.delete_face_by_face_id(m.DeleteFaceByFaceIdRequest(face_set_name=name, face_id=ids["obama"]))
    assert d1.face_number == 1
    d2 = c.delete_face_by_external_image_id(m.DeleteFaceByExternalImageIdRequest(
        face_set_name=name, external_image_id="obama2"))
    assert d2.face_number == 1
    d3 = c.batch_delete_faces(m.BatchDeleteFacesRequest(face_set_name=name, body=m.DeleteFacesBatchReq(
        filter="age:[80 TO 90]")))
    assert d3.face_number == 1
    assert c.show_face_set(m.ShowFaceSetRequest(face_set_name=name)).face_set_info.face_number == 0
    gone = c.delete_face_set(m.DeleteFaceSetRequest(face_set_name=name))
    assert gone.face_set_name == name
    with pytest.raises(ClientRequestException) as e:
        c.show_face_set(m.ShowFaceSetRequest(face_set_name=name))
    assert e.value.error_code == "FRS.0302"


# --------------------------------------------------------------------------
# X-Auth-Token over plain HTTP
def get_token(server, project=None, password=A["password"]):
    return requests.post(server.url + "/v3/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": A["user"], "password": password, "domain": {"name": "openfrs"}}}},
        "scope": {"project": project or {"name": "alpha"}}}})


def test_token_flow_plain_http(server):
    r = get_token(server)
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"] == {"id": A["id"], "name": "alpha",
                                            "domain": r.json()["token"]["project"]["domain"]}
    h = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    assert get_token(server, {"id": A["id"]}).status_code == 201
    assert get_token(server, password="nope").status_code == 401
    base = f"{server.url}/v2/{A['id']}"
    lib = f"{base}/face-sets/tok-lib"

    def call(method, url, **kw):
        resp = requests.request(method, url, headers=h, timeout=120, **kw)
        assert resp.status_code == 200, (method, url, resp.text)
        return resp.json()

    assert len(call("POST", f"{base}/face-detect", json={"image_base64": b64("obama.jpg")})["faces"]) == 1
    call("POST", f"{base}/face-sets", json={"face_set_name": "tok-lib",
                                            "external_fields": {"age": {"type": "integer"}}})
    assert call("GET", lib)["face_set_info"]["face_set_name"] == "tok-lib"
    assert "tok-lib" in [s["face_set_name"] for s in call("GET", f"{base}/face-sets")["face_sets_info"]]
    oid = call("POST", f"{lib}/faces", json={"image_base64": b64("obama.jpg"), "external_image_id": "o1",
                                             "external_fields": {"age": 61}})["faces"][0]["face_id"]
    bid = call("POST", f"{lib}/faces", files={"image_file": ("b.jpg", photo("biden.jpg"))},
               data={"external_image_id": "b1", "external_fields": '{"age": 80}'})["faces"][0]["face_id"]
    o2 = call("POST", f"{lib}/faces", json={"image_url": f"/{BUCKET}/obama2.jpg",
                                            "external_image_id": "o2"})["faces"][0]["face_id"]
    assert {f["face_id"] for f in call("GET", f"{lib}/faces", params={"offset": 0, "limit": 10})["faces"]} \
        == {oid, bid, o2}
    assert call("GET", f"{lib}/faces", params={"face_id": bid})["faces"][0]["external_image_id"] == "b1"
    call("PUT", f"{lib}/faces", json={"face_id": bid, "external_fields": {"age": 81}})
    for body in ({"image_base64": b64("obama3.jpg")}, {"image_url": f"/{BUCKET}/obama3.jpg"},
                 {"face_id": oid}):
        hits = call("POST", f"{lib}/search", json=body)["faces"]
        assert hits[0]["face_id"] in {oid, o2} and hits[0]["similarity"] >= 0.93
    hits = call("POST", f"{lib}/search", files={"image_file": ("o.jpg", photo("obama3.jpg"))})["faces"]
    assert hits[0]["face_id"] in {oid, o2}
    call("DELETE", f"{lib}/faces", params={"face_id": oid})
    call("DELETE", f"{lib}/faces", params={"external_image_id": "o2"})
    call("DELETE", f"{lib}/faces/batch", json={"filter": "age:[80 TO 90]"})
    assert call("GET", lib)["face_set_info"]["face_number"] == 0
    call("DELETE", lib)
    assert call("POST", f"{base}/face-compare", files={
        "image1_file": ("a.jpg", photo("obama.jpg")), "image2_file": ("b.jpg", photo("obama2.jpg"))},
    )["similarity"] >= 0.93


# --------------------------------------------------------------------------
# Refusals against the real process
def frs_routes():
    """(method, path template, JSON body) for every project route the service
    registers (v1 and v2 alike, live-detect once it is wired): the list
    grows with app.py, so no route can be forgotten here."""
    from app import app
    body = {"image_base64": "aGVsbG8=", "face_id": "abcdefgh", "filter": "age:1", "video_base64": "aGVsbG8="}
    out = []
    for path, methods in sorted(app.routes.items()):
        if "{project_id}" not in path:
            continue
        for method in sorted(methods):
            query = {("GET", "faces"): "?offset=0&limit=5",
                     ("DELETE", "faces"): "?face_id=abcdefgh"}.get((method, path.rsplit("/", 1)[1]), "")
            out.append((method, path + query, body if method != "GET" else None))
    return out


@pytest.fixture(scope="module")
def b_has_set(server):
    """Project B owns face set "exists"; "missing" exists nowhere."""
    frs(server, B).create_face_set(m.CreateFaceSetRequest(body=m.CreateFaceSetReq(face_set_name="exists")))
    yield
    frs(server, B).delete_face_set(m.DeleteFaceSetRequest(face_set_name="exists"))


def sdk_date(minutes=0):
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%SZ")


def send_signed(server, who, method, path, body, *, sk=None, date=None, tamper=None):
    """Sign with the real SDK signer, optionally change the body, send over HTTP."""
    raw = json.dumps(body).encode() if body is not None else b""
    resource, _, query = path.partition("?")
    q = [tuple(kv.split("=", 1)) for kv in query.split("&")] if query else []
    req = sdk_sign(who["ak"], sk or who["sk"], who["id"], method, resource, query=q, body=raw,
                   date=date, host=server.url.split("//")[1])
    data = tamper(raw) if tamper else raw
    return requests.request(method, server.url + req.uri, headers=req.header_params, data=data, timeout=60)


def issued_token(server, project_id, age_seconds=0):
    """A token signed with the server's own key, issued ``age_seconds`` ago."""
    st = SqliteCredentialStore(str(server.data_dir))
    return tokens.issue(st, project_id, "u", now=time.time() - age_seconds)[0]


def attacks(server):
    """name -> (expected status, code, send(method, path_on_B, body))."""
    valid_a_token = issued_token(server, A["id"])
    expired_b_token = issued_token(server, B["id"], age_seconds=24 * 3600 + 5)
    forged = valid_a_token.split(".")
    forged_payload = json.loads(base64.urlsafe_b64decode(forged[1] + "=="))
    forged_payload["pid"] = B["id"]
    forged[1] = base64.urlsafe_b64encode(json.dumps(forged_payload).encode()).rstrip(b"=").decode()
    forged_token = ".".join(forged)

    def plain(headers):
        return lambda method, path, body: requests.request(
            method, server.url + path, headers=headers, timeout=60,
            data=json.dumps(body) if body is not None else None)

    return {
        "no credentials": (401, "APIG.0301", plain({"Content-Type": "application/json"})),
        "wrong SK": (401, "APIG.0301",
                     lambda mt, p, b: send_signed(server, B, mt, p, b, sk=B["sk"] + "x")),
        "body changed": (401, "APIG.0301",
                         lambda mt, p, b: send_signed(server, B, mt, p, b if b is not None else {"a": 1},
                                                      tamper=lambda raw: raw + b" ")),
        "stale date": (401, "APIG.0301",
                       lambda mt, p, b: send_signed(server, B, mt, p, b, date=sdk_date(-20))),
        "expired token": (403, "FRS.0002", plain({"X-Auth-Token": expired_b_token,
                                                  "Content-Type": "application/json"})),
        "forged token": (403, "FRS.0002", plain({"X-Auth-Token": forged_token,
                                                 "Content-Type": "application/json"})),
        "A's token on B": (403, "FRS.0028", plain({"X-Auth-Token": valid_a_token,
                                                   "Content-Type": "application/json"})),
        "A's key on B": (403, "FRS.0028", lambda mt, p, b: send_signed(
            server, {**A, "id": B["id"]}, mt, p, b)),
    }


def test_every_route_refuses_and_leaks_nothing(server, b_has_set):
    routes = frs_routes()
    assert len(routes) >= 14 and any("/face-sets/{face_set_name}/search" in r[1] for r in routes)
    failures = []
    for name, (status, code, send) in attacks(server).items():
        for method, tmpl, body in routes:
            answers = []
            for face_set in ("exists", "missing"):
                path = tmpl.replace("{project_id}", B["id"]).replace("{face_set_name}", face_set)
                r = send(method, path, body)
                answers.append((r.status_code, r.text))
                if (r.status_code, r.json().get("error_code")) != (status, code):
                    failures.append(f"{name}: {method} {tmpl} ({face_set}) -> {r.status_code} {r.text}")
            if answers[0] != answers[1]:
                failures.append(f"{name}: {method} {tmpl} answers differ: {answers}")
    assert not failures, "\n".join(failures)
    # B's set is intact and B's own key still works: nothing above touched it.
    assert frs(server, B).show_face_set(m.ShowFaceSetRequest(face_set_name="exists")).face_set_info


def test_sdk_with_wrong_sk_gets_apig0301(server):
    with pytest.raises(ClientRequestException) as e:
        frs(server, sk="definitely-not-the-sk").show_all_face_sets(m.ShowAllFaceSetsRequest())
    assert (e.value.status_code, e.value.error_code) == (401, "APIG.0301")


def test_server_log_holds_no_secret(server):
    """chalice local's whole output for this module (request lines, log
    records): no SK, password or token in it. Runs last in the module."""
    tok = get_token(server).headers["X-Subject-Token"]
    requests.get(f"{server.url}/v2/{A['id']}/face-sets", headers={"X-Auth-Token": tok}, timeout=30)
    requests.get(f"{server.url}/v2/{B['id']}/face-sets", headers={"X-Auth-Token": tok}, timeout=30)
    time.sleep(0.5)
    out = server.output()
    assert "/v3/auth/tokens" in out and "/face-sets" in out  # the log is really captured
    # The powertools request lines and EMF metric lines are part of what is checked.
    assert ("route=" in out or '"route"' in out) and '"_aws"' in out
    for secret in (A["sk"], B["sk"], A["password"], tok):
        assert secret not in out
