"""Face-set routes: formats, validation and limits (no vision needed)."""
import re

import pytest

from tests.api.helpers import err, post_form, post_json

P = "/v2/proj-a"


def create(client, name="lib", **extra):
    return post_json(client, f"{P}/face-sets", {"face_set_name": name, **extra})


def test_create_show_list_delete(client):
    fields = {"age": {"type": "integer"}, "city": {"type": "string"}, "ts": {"type": "long"},
              "vip": {"type": "boolean"}, "w": {"type": "double"}, "s": {"type": "float"}}
    resp = create(client, "lib-1", face_set_capacity=30000, external_fields=fields)
    assert resp.status_code == 200
    info = resp.json_body["face_set_info"]
    assert info["face_set_name"] == "lib-1" and info["face_set_capacity"] == 30000
    assert info["face_number"] == 0 and info["external_fields"] == fields
    assert re.fullmatch(r"[A-Za-z0-9]{8}", info["face_set_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", info["create_date"])
    shown = client.http.get(f"{P}/face-sets/lib-1").json_body["face_set_info"]
    assert shown == info
    create(client, "lib-2")
    names = [i["face_set_name"] for i in client.http.get(f"{P}/face-sets").json_body["face_sets_info"]]
    assert names == ["lib-1", "lib-2"]
    resp = client.http.delete(f"{P}/face-sets/lib-1")
    assert resp.status_code == 200 and resp.json_body == {"face_set_name": "lib-1"}
    assert err(client.http.get(f"{P}/face-sets/lib-1")) == (400, "FRS.0302")


def test_defaults_and_string_capacity_from_the_reference_example(client):
    assert create(client, "a").json_body["face_set_info"]["face_set_capacity"] == 100000
    resp = create(client, "b", face_set_capacity="20000")
    assert resp.json_body["face_set_info"]["face_set_capacity"] == 20000


def test_multipart_create(client):
    resp = post_form(client, f"{P}/face-sets", {"face_set_name": "form-lib",
                                                "external_fields": '{"age": {"type": "integer"}}'})
    assert resp.status_code == 200
    assert resp.json_body["face_set_info"]["external_fields"] == {"age": {"type": "integer"}}


def test_duplicate_name_and_project_limit(client):
    assert create(client, "dup").status_code == 200
    assert err(create(client, "dup")) == (400, "FRS.0301")
    for i in range(9):
        assert create(client, f"s{i}").status_code == 200
    assert err(create(client, "eleventh")) == (400, "FRS.0305")
    # another project is not affected
    assert post_json(client, "/v2/proj-b/face-sets", {"face_set_name": "dup"}).status_code == 200


def test_projects_are_isolated(client):
    create(client, "mine")
    assert err(client.http.get("/v2/proj-b/face-sets/mine")) == (400, "FRS.0302")
    assert client.http.get("/v2/proj-b/face-sets").json_body == {"face_sets_info": []}


@pytest.mark.parametrize("body,code", [
    ({}, "FRS.0011"),
    ({"face_set_name": ""}, "FRS.0012"),
    ({"face_set_name": "x" * 65}, "FRS.0012"),
    ({"face_set_name": "bad name"}, "FRS.0012"),
    ({"face_set_name": "../etc"}, "FRS.0012"),
    ({"face_set_name": "名字"}, "FRS.0012"),
    ({"face_set_name": 12}, "FRS.0012"),
    ({"face_set_name": "c", "face_set_capacity": 15000}, "FRS.0012"),
    ({"face_set_name": "c", "face_set_capacity": 110000}, "FRS.0012"),
    ({"face_set_name": "c", "face_set_capacity": 0}, "FRS.0012"),
    ({"face_set_name": "c", "face_set_capacity": True}, "FRS.0012"),
    ({"face_set_name": "c", "face_set_capacity": "lots"}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": []}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"a": {"type": "date"}}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"a": "integer"}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"face_id": {"type": "string"}}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"vector": {"type": "string"}}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"bad key": {"type": "string"}}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {"k" * 37: {"type": "string"}}}, "FRS.0012"),
    ({"face_set_name": "c", "external_fields": {f"f{i}": {"type": "long"} for i in range(11)}},
     "FRS.0012"),
])
def test_create_rejects_bad_parameters(client, body, code):
    assert err(post_json(client, f"{P}/face-sets", body)) == (400, code)
    assert client.http.get(f"{P}/face-sets").json_body == {"face_sets_info": []}


def test_ten_fields_are_allowed(client):
    fields = {f"f{i}": {"type": "long"} for i in range(10)}
    assert create(client, "ten", external_fields=fields).status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"{\"a\": NaN}",
                                 b"[" * 100000 + b"]" * 100000])
def test_body_must_be_a_json_object(client, raw):
    resp = client.http.post(f"{P}/face-sets", headers={"Content-Type": "application/json"}, body=raw)
    assert err(resp) == (400, "FRS.0014")


def test_unknown_face_set_and_route(client):
    assert err(client.http.delete(f"{P}/face-sets/none")) == (400, "FRS.0302")
    assert err(client.http.get(f"{P}/face-sets/none/faces")) == (400, "FRS.0302")
    assert err(client.http.get(f"{P}/no-such-route")) == (404, "APIG.0101")
    assert err(client.http.patch(f"{P}/face-sets")) == (404, "APIG.0101")


def test_every_response_has_a_request_id(client):
    for resp in (create(client, "rid"), create(client, "rid"), client.http.get(f"{P}/nope")):
        rid = resp.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f-]{36}-\d{13}-.+", rid), rid


def test_v1_paths_are_accepted(client):
    assert post_json(client, "/v1/proj-a/face-sets", {"face_set_name": "v1"}).status_code == 200
    assert client.http.get("/v2/proj-a/face-sets/v1").status_code == 200
