"""`image_url` from S3 under a deployable stage's media settings, with moto.

The deployed function may read only the buckets in FRS_MEDIA_BUCKETS (its
IAM policy grants exactly those); the API answers FRS's OBS errors."""
from __future__ import annotations

import json

import boto3
import pytest
from chalice.cli.factory import CLIFactory
from moto import mock_aws

from deploy import policy
from tests.conftest import still

P = "/v2/0123456789abcdef0123456789abcdef"


def post(client, path, body):
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(body))


@pytest.fixture
def media(client, monkeypatch):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    env = CLIFactory(str(repo)).create_config_obj(chalice_stage_name="prod").environment_variables
    (bucket,) = policy.buckets(env["FRS_MEDIA_BUCKETS"])
    monkeypatch.setenv("FRS_MEDIA_BUCKETS", env["FRS_MEDIA_BUCKETS"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    from chalicelib.services import media as inputs
    with mock_aws():
        inputs.reset_s3_client()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        s3.create_bucket(Bucket="not-configured")
        yield client, s3, bucket
        inputs.reset_s3_client()


def test_image_url_round_trip(media, needs_models):
    client, s3, bucket = media
    photo = still("obama.jpg")
    s3.put_object(Bucket=bucket, Key="people/obama.jpg", Body=photo)
    by_url = post(client, f"{P}/face-detect", {"image_url": f"s3://{bucket}/people/obama.jpg"})
    by_obs = post(client, f"{P}/face-detect", {"image_url": f"/{bucket}/people/obama.jpg"})
    import base64
    by_b64 = post(client, f"{P}/face-detect", {"image_base64": base64.b64encode(photo).decode()})
    assert by_url.status_code == by_obs.status_code == by_b64.status_code == 200
    assert by_url.json_body["faces"] and by_url.json_body == by_b64.json_body == by_obs.json_body


def test_image_url_errors(media):
    client, s3, bucket = media
    s3.put_object(Bucket="not-configured", Key="x.jpg", Body=b"\xff\xd8\xff")
    code = lambda r: (r.status_code, r.json_body["error_code"])  # noqa: E731
    assert code(post(client, f"{P}/face-detect",
                     {"image_url": "s3://not-configured/x.jpg"})) == (400, "FRS.0027")
    assert code(post(client, f"{P}/face-detect",
                     {"image_url": f"s3://{bucket}/missing.jpg"})) == (400, "FRS.0024")
    s3.put_object(Bucket=bucket, Key="big.jpg", Body=b"\xff\xd8\xff" + b"\0" * (8 * 2**20))
    assert code(post(client, f"{P}/face-detect",
                     {"image_url": f"s3://{bucket}/big.jpg"})) == (400, "FRS.0023")
