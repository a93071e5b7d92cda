"""Detection and 1:1 comparison through the API."""
import pytest

from tests.api.helpers import b64, err, no_face_jpeg, post_form, post_json
from tests.conftest import still

P = "/v2/proj-a"


@pytest.fixture
def api(client, needs_models):
    return client


def test_detect_every_face(api):
    resp = post_json(api, f"{P}/face-detect", {"image_base64": b64(still("two_people.jpg"))})
    assert resp.status_code == 200
    faces = resp.json_body["faces"]
    assert len(faces) == 2
    for f in faces:
        box = f["bounding_box"]
        assert all(isinstance(box[k], int) for k in ("top_left_x", "top_left_y", "width", "height"))
    resp = post_form(api, f"{P}/face-detect", {"image_file": ("x.png", still("32bit.png"), "image/png")})
    assert resp.status_code == 200 and len(resp.json_body["faces"]) >= 1
    resp = post_json(api, f"{P}/face-detect", {"image_base64": b64(no_face_jpeg())})
    assert resp.status_code == 200 and resp.json_body == {"faces": []}


def test_compare_same_and_different_people(api):
    same = post_json(api, f"{P}/face-compare", {"image1_base64": b64(still("obama.jpg")),
                                               "image2_base64": b64(still("obama2.jpg"))})
    assert same.status_code == 200
    assert set(same.json_body) == {"image1_face", "image2_face", "similarity"}
    assert same.json_body["similarity"] >= 0.93
    diff = post_form(api, f"{P}/face-compare", {
        "image1_file": ("a.jpg", still("obama.jpg"), "image/jpeg"),
        "image2_file": ("b.jpg", still("biden.jpg"), "image/jpeg")})
    assert diff.status_code == 200 and diff.json_body["similarity"] < 0.93


def test_compare_errors(api):
    obama = b64(still("obama.jpg"))
    assert err(post_json(api, f"{P}/face-compare", {"image1_base64": obama})) == (400, "FRS.0011")
    no_face = b64(no_face_jpeg())
    assert err(post_json(api, f"{P}/face-compare", {"image1_base64": obama,
                                                   "image2_base64": no_face})) == (400, "FRS.0501")
    big = "A" * (5 * 1024 * 1024)
    assert err(post_json(api, f"{P}/face-compare", {"image1_base64": big,
                                                   "image2_base64": big})) == (400, "FRS.0017")


@pytest.mark.parametrize("data,code", [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "FRS.0016"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "FRS.0016"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "FRS.0016"),
])
def test_detect_rejects_unsupported_images(api, data, code):
    assert err(post_json(api, f"{P}/face-detect", {"image_base64": b64(data)})) == (400, code)


def test_detect_size_limit(api):
    assert err(post_json(api, f"{P}/face-detect",
                         {"image_base64": "A" * (8 * 1024 * 1024)})) == (400, "FRS.0017")


def test_wrong_parameter_types(api):
    assert err(post_json(api, f"{P}/face-detect", {"image_base64": 12})) == (400, "FRS.0012")
    assert err(post_json(api, f"{P}/face-detect", {"image_base64": b64(still("obama.jpg")),
                                                  "attributes": "age"})) == (400, "FRS.0012")
