"""Every image route accepts the image as base64, as a multipart file and as
an object-storage URL (moto S3), and answers the same for all three."""
import pytest
from moto import mock_aws

from chalicelib.services.media import reset_s3_client
from tests.api.helpers import b64, err, post_form, post_json
from tests.conftest import still

P = "/v2/proj-a"


@pytest.fixture
def bucket(client, needs_models):
    with mock_aws():
        reset_s3_client()
        import boto3
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="obs")
        for name in ("obama.jpg", "obama2.jpg", "two_people.jpg"):
            s3.put_object(Bucket="obs", Key=f"in/{name}", Body=still(name))
        s3.put_object(Bucket="obs", Key="in/huge.jpg", Body=b"\xff\xd8" + b"0" * (8 * 1024 * 1024))
        yield client
    reset_s3_client()


def send(client, path, form, images: dict, **fields):
    """``images`` maps a parameter prefix (image, image1, ...) to a still's name."""
    if form == "base64":
        return post_json(client, path,
                         {**{f"{k}_base64": b64(still(v)) for k, v in images.items()}, **fields})
    if form == "url":
        return post_json(client, path, {**{f"{k}_url": f"/obs/in/{v}" for k, v in images.items()}, **fields})
    parts = {f"{k}_file": (v, still(v), "image/jpeg") for k, v in images.items()}
    return post_form(client, path, {**parts, **{k: str(v).lower() if isinstance(v, bool) else str(v)
                                                for k, v in fields.items()}})


FORMS = ["base64", "file", "url"]


@pytest.mark.parametrize("form", FORMS)
def test_detect(bucket, form):
    resp = send(bucket, f"{P}/face-detect", form, {"image": "two_people.jpg"})
    assert resp.status_code == 200 and len(resp.json_body["faces"]) == 2


@pytest.mark.parametrize("form", FORMS)
def test_compare(bucket, form):
    resp = send(bucket, f"{P}/face-compare", form, {"image1": "obama.jpg", "image2": "obama2.jpg"})
    assert resp.status_code == 200 and resp.json_body["similarity"] >= 0.93


@pytest.mark.parametrize("form", FORMS)
def test_add_and_search(bucket, form):
    post_json(bucket, f"{P}/face-sets", {"face_set_name": "forms"})
    added = send(bucket, f"{P}/face-sets/forms/faces", form, {"image": "obama.jpg"},
                 external_image_id="ob", single=True)
    assert added.status_code == 200, added.json_body
    found = send(bucket, f"{P}/face-sets/forms/search", form, {"image": "obama2.jpg"}, top_n=1)
    assert found.status_code == 200
    assert found.json_body["faces"][0]["face_id"] == added.json_body["faces"][0]["face_id"]


def test_object_too_large_and_bucket_allow_list(bucket, monkeypatch):
    assert err(post_json(bucket, f"{P}/face-detect", {"image_url": "/obs/in/huge.jpg"})) == (400, "FRS.0023")
    monkeypatch.setenv("FRS_MEDIA_BUCKETS", "other-bucket")
    assert err(post_json(bucket, f"{P}/face-detect", {"image_url": "/obs/in/obama.jpg"})) == (400, "FRS.0027")
