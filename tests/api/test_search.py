"""1:N search through the API: identity across input forms, filter, sort,
return_fields, top_n, threshold and their errors."""
import pytest
from moto import mock_aws

from chalicelib.services.media import reset_s3_client
from tests.api.helpers import b64, err, no_face_jpeg, post_form, post_json
from tests.conftest import still

P = "/v2/proj-a"
LIB = f"{P}/face-sets/lib"
FIELDS = {"age": {"type": "integer"}, "name": {"type": "string"}, "rank": {"type": "double"}}


@pytest.fixture
def lib(client, needs_models):
    post_json(client, f"{P}/face-sets", {"face_set_name": "lib", "external_fields": FIELDS})
    ids = {}
    for photo, name, age, rank in [("obama.jpg", "obama", 61, 1.0), ("biden.jpg", "biden", 80, 2.0),
                                   ("alex-lacamoire.png", "alex", 45, 3.0),
                                   ("lin-manuel-miranda.png", "lin", 43, 4.0),
                                   ("obama2.jpg", "obama", 55, 5.0)]:
        resp = post_json(client, f"{LIB}/faces", {"image_base64": b64(still(photo)), "single": True,
                                                  "external_image_id": photo.split(".")[0],
                                                  "external_fields": {"name": name, "age": age,
                                                                      "rank": rank}})
        assert resp.status_code == 200, resp.json_body
        ids[photo] = resp.json_body["faces"][0]["face_id"]
    return client, ids


@pytest.fixture
def s3_photos():
    with mock_aws():
        reset_s3_client()
        import boto3
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="photos")
        s3.put_object(Bucket="photos", Key="probe/obama3.jpg", Body=still("obama3.jpg"))
        yield s3
    reset_s3_client()


def search(client, **body):
    return post_json(client, f"{LIB}/search", body)


def test_same_person_found_first_across_base64_file_and_url(lib, s3_photos):
    client, ids = lib
    obama = {ids["obama.jpg"], ids["obama2.jpg"]}
    by_b64 = search(client, image_base64=b64(still("obama3.jpg"))).json_body["faces"]
    by_file = post_form(client, f"{LIB}/search", {"image_file": ("o.jpg", still("obama3.jpg"),
                                                                 "image/jpeg")}).json_body["faces"]
    by_url = search(client, image_url="/photos/probe/obama3.jpg").json_body["faces"]
    by_s3 = search(client, image_url="s3://photos/probe/obama3.jpg").json_body["faces"]
    for result in (by_b64, by_file, by_url, by_s3):
        assert {f["face_id"] for f in result[:2]} == obama
        assert all(f["similarity"] >= 0.93 for f in result[:2])
        assert all(f["similarity"] < 0.93 for f in result[2:])
        sims = [f["similarity"] for f in result]
        assert sims == sorted(sims, reverse=True)
    assert [f["face_id"] for f in by_b64] == [f["face_id"] for f in by_url]


def test_url_errors(lib, s3_photos):
    client, _ = lib
    assert err(search(client, image_url="/photos/missing.jpg")) == (400, "FRS.0024")
    assert err(search(client, image_url="/nobucket/x.jpg")) == (400, "FRS.0024")
    assert err(search(client, image_url="https://example.com/x.jpg")) == (400, "FRS.0021")
    assert err(search(client, image_url="/photos")) == (400, "FRS.0021")


def test_search_by_face_id_threshold_and_top_n(lib):
    client, ids = lib
    faces = search(client, face_id=ids["obama.jpg"]).json_body["faces"]
    assert faces[0]["face_id"] == ids["obama.jpg"] and faces[0]["similarity"] > 0.99
    assert faces[1]["face_id"] == ids["obama2.jpg"]
    faces = search(client, face_id=ids["obama.jpg"], threshold=0.93).json_body["faces"]
    assert {f["face_id"] for f in faces} == {ids["obama.jpg"], ids["obama2.jpg"]}
    assert len(search(client, face_id=ids["obama.jpg"], top_n=1).json_body["faces"]) == 1
    assert len(search(client, face_id=ids["obama.jpg"], top_n=1000).json_body["faces"]) == 5
    assert err(search(client, face_id="nothere1")) == (400, "FRS.0403")
    for bad in (0, 1001, "10", 2.5, True):
        assert err(search(client, face_id=ids["obama.jpg"], top_n=bad)) == (400, "FRS.0012"), bad
    for bad in (-0.1, 1.1, "0.9"):
        assert err(search(client, face_id=ids["obama.jpg"], threshold=bad)) == (400, "FRS.0012"), bad


def test_filter_sort_and_return_fields(lib):
    client, ids = lib
    faces = search(client, image_base64=b64(still("obama3.jpg")), filter="age:[* TO 60]").json_body["faces"]
    assert {f["external_fields"]["name"] for f in faces} == {"obama", "alex", "lin"}
    assert faces[0]["face_id"] == ids["obama2.jpg"]
    faces = search(client, face_id=ids["biden.jpg"], sort=[{"rank": "desc"}],
                   return_fields=["rank"]).json_body["faces"]
    assert [f["external_fields"]["rank"] for f in faces] == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert all(set(f["external_fields"]) == {"rank"} for f in faces)
    faces = search(client, face_id=ids["biden.jpg"], top_n=2, sort=[{"age": "asc"}]).json_body["faces"]
    assert faces[0]["face_id"] == ids["biden.jpg"] or faces[0]["external_fields"]["age"] <= 80
    assert [f["external_fields"]["age"] for f in faces] == sorted(f["external_fields"]["age"] for f in faces)


def test_search_parameter_errors(lib):
    client, ids = lib
    fid = ids["obama.jpg"]
    assert err(search(client, face_id=fid, filter="age:[1 TO")) == (400, "FRS.0029")
    assert err(search(client, face_id=fid, filter="height:1")) == (400, "FRS.0029")
    assert err(search(client, face_id=fid, return_fields=["height"])) == (400, "FRS.0030")
    assert err(search(client, face_id=fid, sort=[{"height": "asc"}])) == (400, "FRS.0031")
    assert err(search(client, face_id=fid, sort=[{"rank": "asc"}],
                      return_fields=["age"])) == (400, "FRS.0031")
    assert err(search(client, face_id=fid, sort=[{"name": "asc"}])) == (400, "FRS.0032")
    assert err(search(client, face_id=fid, sort=[{"age": "up"}])) == (400, "FRS.0012")
    assert err(search(client, face_id=fid, sort={"age": "asc"})) == (400, "FRS.0012")
    assert err(search(client, image_base64=b64(no_face_jpeg()))) == (400, "FRS.0304")
    assert err(search(client)) == (400, "FRS.0011")
    assert err(post_json(client, f"{P}/face-sets/none/search", {"face_id": fid})) == (400, "FRS.0302")


def test_multipart_search_with_json_text_fields(lib):
    client, ids = lib
    resp = post_form(client, f"{LIB}/search", {
        "image_file": ("o.jpg", still("obama3.jpg"), "image/jpeg"), "top_n": "3",
        "filter": "name:obama", "return_fields": '["age"]', "sort": '[{"age": "asc"}]',
        "threshold": "0.5"})
    assert resp.status_code == 200, resp.json_body
    faces = resp.json_body["faces"]
    assert [f["external_fields"] for f in faces] == [{"age": 55}, {"age": 61}]
