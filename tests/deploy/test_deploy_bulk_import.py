"""Bulk import from S3 (chalicelib/jobs/bulk_import.py), against moto's S3."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.errors import FrsError
from chalicelib.jobs import bulk_import
from tests.conftest import still

BUCKET = "openfrs-test-import"
PROJECT = "0123456789abcdef0123456789abcdef"


def s3_event(*keys, bucket=BUCKET):
    # S3 notifications URL-encode the key (a space arrives as '+').
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket}, "object": {"key": k.replace(" ", "+")}}}
                        for k in keys]}


def eventbridge_event(key, bucket=BUCKET):
    return {"source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": bucket}, "object": {"key": key}}}


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    from chalicelib.services import media as inputs
    with mock_aws():
        inputs.reset_s3_client()  # the process-wide client must be created inside moto
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
        inputs.reset_s3_client()


def env(**extra):
    return {"FRS_IMPORT_PROJECT_ID": PROJECT, "FRS_IMPORT_BUCKET": BUCKET, **extra}


def test_key_parsing_and_report_names():
    assert bulk_import.parse_key("import/staff/emp-001.jpg") == ("staff", "emp-001")
    assert bulk_import.parse_key("import/staff/E_2.PNG") == ("staff", "E_2")
    for bad in ("import/staff/a b.jpg", "import/staff/x.gif", "import/x.jpg",
                "import/staff/sub/x.jpg", "other/staff/x.jpg", "import/staff/" + "a" * 37 + ".jpg",
                "import/staff/x.jpg\n", "import/st\u0661ff/x.jpg"):
        with pytest.raises(FrsError):
            bulk_import.parse_key(bad)
    assert bulk_import.report_key("import/staff/emp-001.jpg") == "import-reports/staff/emp-001.json"


def test_event_shapes():
    assert bulk_import.object_refs(s3_event("import/a/b c.jpg")) == [(BUCKET, "import/a/b c.jpg")]
    assert bulk_import.object_refs(eventbridge_event("import/a/b.jpg")) == [(BUCKET, "import/a/b.jpg")]
    assert bulk_import.object_refs({"detail-type": "Scheduled Event"}) == []


def test_reports_failures_and_clears_them_on_success(s3):
    calls = []

    def fake_add(project_id, face_set, external_image_id, data):
        calls.append((project_id, face_set, external_image_id, data))
        if data == b"noface":
            raise FrsError("FRS.0404", "Detect no face, can not add it to face set.")
        return {"faces": [{"face_id": "AbCdEfGh"}]}

    s3.put_object(Bucket=BUCKET, Key="import/staff/ok-1.jpg", Body=b"img")
    s3.put_object(Bucket=BUCKET, Key="import/staff/bad-1.jpg", Body=b"noface")
    s3.put_object(Bucket=BUCKET, Key="import/staff/not allowed.jpg", Body=b"img")
    s3.put_object(Bucket=BUCKET, Key="import/staff/", Body=b"")
    event = s3_event("import/staff/ok-1.jpg", "import/staff/bad-1.jpg",
                     "import/staff/not allowed.jpg", "import/staff/", "elsewhere/x.jpg")
    summary = bulk_import.handle_event(event, s3=s3, add=fake_add, environ=env())

    assert summary["added"] == 1 and summary["failed"] == 2 and summary["ignored"] == 2
    assert calls[0] == (PROJECT, "staff", "ok-1", b"img")
    assert len(calls) == 2  # the badly named object never reaches the service
    bad = json.loads(s3.get_object(Bucket=BUCKET, Key="import-reports/staff/bad-1.json")["Body"].read())
    assert bad["status"] == "failed" and bad["error_code"] == "FRS.0404"
    assert bad["face_set_name"] == "staff" and bad["external_image_id"] == "bad-1"
    named = json.loads(
        s3.get_object(Bucket=BUCKET, Key="import-reports/staff/not allowed.json")["Body"].read())
    assert named["error_code"] == "FRS.0012"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="import-reports/")["Contents"]}
    assert keys == {"import-reports/staff/bad-1.json", "import-reports/staff/not allowed.json"}

    # The user fixes the image and uploads it again: the stale report goes.
    s3.put_object(Bucket=BUCKET, Key="import/staff/bad-1.jpg", Body=b"img")
    summary = bulk_import.handle_event(s3_event("import/staff/bad-1.jpg"), s3=s3, add=fake_add, environ=env())
    assert summary["added"] == 1
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="import-reports/")["Contents"]}
    assert keys == {"import-reports/staff/not allowed.json"}


def test_other_buckets_and_missing_project_are_refused(s3):
    s3.create_bucket(Bucket="someone-elses")
    s3.put_object(Bucket="someone-elses", Key="import/staff/x.jpg", Body=b"img")
    summary = bulk_import.handle_event(s3_event("import/staff/x.jpg", bucket="someone-elses"),
                                       s3=s3, add=lambda *a: pytest.fail("must not import"), environ=env())
    assert summary == {"added": 0, "failed": 0, "ignored": 1, "reports": []}
    with pytest.raises(RuntimeError):
        bulk_import.handle_event(s3_event("import/staff/x.jpg"), s3=s3, environ={})


def test_storage_faults_become_reports(s3):
    # The object vanished between the event and the read (NoSuchKey).
    summary = bulk_import.handle_event(s3_event("import/staff/gone.jpg"), s3=s3,
                                       add=lambda *a: pytest.fail("no bytes to add"), environ=env())
    assert summary["failed"] == 1
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="import-reports/staff/gone.json")["Body"].read())
    assert report["error_code"] == "FRS.0018" and "NoSuchKey" in report["error_msg"]


def test_real_import_into_an_embedded_face_set(s3, frs_env, needs_models):
    """End to end through the add-faces service: detection, embedding, store."""
    from chalicelib.services import face_sets, faces
    face_sets.create(PROJECT, {"face_set_name": "staff"})
    s3.put_object(Bucket=BUCKET, Key="import/staff/obama.jpg", Body=still("obama.jpg"))
    s3.put_object(Bucket=BUCKET, Key="import/staff/biden.jpg", Body=still("biden.jpg"))
    s3.put_object(Bucket=BUCKET, Key="import/nosuchset/obama.jpg", Body=still("obama.jpg"))
    summary = bulk_import.handle_event(
        s3_event("import/staff/obama.jpg", "import/staff/biden.jpg", "import/nosuchset/obama.jpg"),
        environ=env())
    assert (summary["added"], summary["failed"]) == (2, 1)
    listed = faces.query(PROJECT, "staff", {"offset": "0", "limit": "10"})["faces"]
    assert sorted(f["external_image_id"] for f in listed) == ["biden", "obama"]
    report = json.loads(
        s3.get_object(Bucket=BUCKET, Key="import-reports/nosuchset/obama.json")["Body"].read())
    assert report["error_code"] == "FRS.0302"
