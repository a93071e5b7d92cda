"""Add / query / update / delete faces through the API with real photos."""
import re

import numpy as np
import pytest

from chalicelib.store import get_store
from chalicelib.store.base import FaceRecord
from tests.api.helpers import b64, err, no_face_jpeg, post_form, post_json
from tests.conftest import still

P = "/v2/proj-a"
FACES = f"{P}/face-sets/people/faces"
FIELDS = {"age": {"type": "integer"}, "name": {"type": "string"}, "vip": {"type": "boolean"},
          "ts": {"type": "long"}, "score": {"type": "double"}}


@pytest.fixture
def people(client, needs_models):
    resp = post_json(client, f"{P}/face-sets", {"face_set_name": "people", "external_fields": FIELDS})
    assert resp.status_code == 200
    return client


def add(client, photo, **extra):
    return post_json(client, FACES, {"image_base64": b64(still(photo)), **extra})


def count(client):
    return client.http.get(f"{P}/face-sets/people").json_body["face_set_info"]["face_number"]


def test_add_every_face_or_only_the_largest(people):
    resp = add(people, "two_people.jpg", external_image_id="group-1")
    assert resp.status_code == 200
    body = resp.json_body
    assert body["face_set_name"] == "people" and len(body["faces"]) == 2
    for face in body["faces"]:
        assert re.fullmatch(r"[A-Za-z]{8}", face["face_id"])
        assert face["external_image_id"] == "group-1"
        assert set(face["bounding_box"]) == {"top_left_x", "top_left_y", "width", "height"}
    resp = add(people, "two_people.jpg", single=True)
    assert len(resp.json_body["faces"]) == 1
    areas = [f["bounding_box"]["width"] * f["bounding_box"]["height"] for f in body["faces"]]
    one = resp.json_body["faces"][0]["bounding_box"]
    assert one["width"] * one["height"] == max(areas)
    assert re.fullmatch(r"[A-Za-z0-9]{8}", resp.json_body["faces"][0]["external_image_id"])
    assert count(people) == 3


def test_add_by_file_with_form_fields(people):
    resp = post_form(people, FACES, {"image_file": ("obama.jpg", still("obama.jpg"), "image/jpeg"),
                                     "external_image_id": "ob-1", "single": "true",
                                     "external_fields": '{"age": 61, "name": "Barack"}'})
    assert resp.status_code == 200, resp.json_body
    face = resp.json_body["faces"][0]
    assert face["external_fields"] == {"age": 61, "name": "Barack"}


@pytest.mark.parametrize("extra,code", [
    ({"external_fields": {"height": 180}}, "FRS.0405"),
    ({"external_fields": {"age": "61"}}, "FRS.0406"),
    ({"external_fields": {"age": 1.5}}, "FRS.0406"),
    ({"external_fields": {"age": 2**31}}, "FRS.0406"),
    ({"external_fields": {"vip": 1}}, "FRS.0406"),
    ({"external_fields": {"name": ""}}, "FRS.0406"),
    ({"external_fields": {"name": "x" * 257}}, "FRS.0406"),
    ({"external_fields": {"score": "high"}}, "FRS.0406"),
    ({"external_fields": "age=1"}, "FRS.0012"),
    ({"external_image_id": "has space"}, "FRS.0012"),
    ({"external_image_id": "x" * 37}, "FRS.0012"),
    ({"external_image_id": "../../etc/passwd"}, "FRS.0012"),
    ({"external_image_id": 7}, "FRS.0012"),
    ({"single": "yes"}, "FRS.0012"),
])
def test_add_rejects_bad_parameters_and_stores_nothing(people, extra, code):
    assert err(add(people, "obama.jpg", **extra)) == (400, code)
    assert count(people) == 0


@pytest.mark.parametrize("body,code", [
    ({}, "FRS.0011"),
    ({"image_base64": "not base64!"}, "FRS.0015"),
    ({"image_base64": "data:image/jpeg;base64,/9j/4AAQ"}, "FRS.0015"),
    ({"image_base64": "R0lGODlhAQABAAAAACw="}, "FRS.0016"),
    ({"image_base64": b64(b"%PDF-1.4 hello")}, "FRS.0016"),
])
def test_add_rejects_bad_images(people, body, code):
    assert err(post_json(people, FACES, body)) == (400, code)
    assert count(people) == 0


def test_add_without_a_face_is_frs_0404(people):
    assert err(post_json(people, FACES, {"image_base64": b64(no_face_jpeg())})) == (400, "FRS.0404")
    assert count(people) == 0


def test_add_beyond_capacity_is_frs_0306_and_adds_nothing(people):
    post_json(people, f"{P}/face-sets", {"face_set_name": "small", "face_set_capacity": 10000})
    rng = np.random.default_rng(0)
    filler = []
    for i in range(9999):
        v = rng.normal(size=128).astype(np.float32)
        filler.append(FaceRecord(f"fill{i:04d}", "filler", {"top_left_x": 0, "top_left_y": 0,
                                 "width": 1, "height": 1}, {}, v / np.linalg.norm(v)))
    get_store().add_faces("proj-a", "small", filler)
    resp = post_json(people, f"{P}/face-sets/small/faces", {"image_base64": b64(still("two_people.jpg"))})
    assert err(resp) == (403, "FRS.0306")
    assert people.http.get(f"{P}/face-sets/small").json_body["face_set_info"]["face_number"] == 9999
    resp = post_json(people, f"{P}/face-sets/small/faces",
                     {"image_base64": b64(still("obama.jpg")), "single": True})
    assert resp.status_code == 200


def test_query_faces_by_page_and_by_id(people):
    ids = []
    for i in range(7):
        ids.append(add(people, "obama_small.jpg", external_image_id=f"img{i}",
                       external_fields={"age": i}).json_body["faces"][0]["face_id"])
    page = people.http.get(FACES).json_body
    assert [f["face_id"] for f in page["faces"]] == ids[:5]  # default offset 0, limit 5
    page = people.http.get(f"{FACES}?offset=5&limit=5").json_body
    assert [f["face_id"] for f in page["faces"]] == ids[5:]
    one = people.http.get(f"{FACES}?face_id={ids[3]}").json_body["faces"]
    assert one[0]["external_image_id"] == "img3" and one[0]["external_fields"] == {"age": 3}
    assert err(people.http.get(f"{FACES}?face_id=nothere")) == (400, "FRS.0403")
    for q in ("offset=9999&limit=2", "offset=-1", "limit=0", "limit=abc", "offset=1.5"):
        assert err(people.http.get(f"{FACES}?{q}")) == (400, "FRS.0012"), q
    assert people.http.get(f"{FACES}?offset=9995&limit=5").json_body["faces"] == []


def test_update_face(people):
    fid = add(people, "obama.jpg", external_fields={"age": 1}).json_body["faces"][0]["face_id"]
    resp = post_json(people, FACES, {"face_id": fid, "external_image_id": "renamed",
                                     "external_fields": {"name": "Barack"}}, method="put")
    assert resp.status_code == 200
    assert resp.json_body["face_number"] == 1 and resp.json_body["face_set_name"] == "people"
    face = people.http.get(f"{FACES}?face_id={fid}").json_body["faces"][0]
    assert face["external_image_id"] == "renamed"
    assert face["external_fields"] == {"age": 1, "name": "Barack"}
    assert err(post_json(people, FACES, {"face_id": "nothere1", "external_image_id": "x"},
                         method="put")) == (400, "FRS.0403")
    assert err(post_json(people, FACES, {"face_id": fid}, method="put")) == (400, "FRS.0011")
    assert err(post_json(people, FACES, {"external_image_id": "x"}, method="put")) == (400, "FRS.0011")
    assert err(post_json(people, FACES, {"face_id": fid, "external_fields": {"age": "old"}},
                         method="put")) == (400, "FRS.0406")


def test_delete_by_face_id_external_image_id_and_custom_field(people):
    a = add(people, "two_people.jpg", external_image_id="grp", external_fields={"age": 30}).json_body
    b = add(people, "obama.jpg", external_image_id="solo", external_fields={"age": 40, "vip": True}).json_body
    assert count(people) == 3
    resp = people.http.delete(f"{FACES}?face_id={a['faces'][0]['face_id']}")
    assert resp.status_code == 200 and resp.json_body["face_number"] == 1
    assert people.http.delete(f"{FACES}?vip=true").json_body["face_number"] == 1
    assert people.http.delete(f"{FACES}?external_image_id=grp").json_body["face_number"] == 1
    assert count(people) == 0
    assert b["faces"]
    assert err(people.http.delete(f"{FACES}?external_image_id=grp")) == (400, "FRS.0401")
    assert err(people.http.delete(f"{FACES}?height=3")) == (400, "FRS.0402")
    assert err(people.http.delete(f"{FACES}?age=old")) == (400, "FRS.0012")
    assert err(people.http.delete(FACES)) == (400, "FRS.0011")


def test_batch_delete_by_filter(people):
    for age in (10, 20, 30):
        add(people, "obama_small.jpg", external_fields={"age": age, "name": f"n{age}"})
    resp = post_json(people, FACES + "/batch", {"filter": "age:[15 TO *] && (!name:n30)"},
                     method="delete")
    assert resp.status_code == 200 and resp.json_body["face_number"] == 1
    assert count(people) == 2
    assert err(post_json(people, FACES + "/batch", {"filter": "age:99"},
                         method="delete")) == (400, "FRS.0407")
    assert err(post_json(people, FACES + "/batch", {"filter": "age:[1 TO"},
                         method="delete")) == (400, "FRS.0029")
    assert err(post_json(people, FACES + "/batch", {}, method="delete")) == (400, "FRS.0011")
    assert count(people) == 2
