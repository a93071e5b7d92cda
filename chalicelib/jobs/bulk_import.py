"""Bulk import from object storage (an OpenFRS extension; FRS has no batch add).

An image stored as ``import/<face_set>/<external_image_id>.<ext>`` in the
import bucket is added to face set ``<face_set>`` of project
``FRS_IMPORT_PROJECT_ID`` by the same service call as the add-faces route
(``chalicelib.services.faces.add``), largest face only. Every object that could not be
added is listed, with its FRS error, in a report object
``import-reports/<face_set>/<external_image_id>.json`` beside it, so a failed
import can be found without reading logs; a success deletes a stale report.

The handler accepts S3 event notifications and EventBridge "Object Created"
events, so it works with either way of wiring a bucket.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import unquote_plus

from chalicelib import errors, observability
from chalicelib.config import Settings, settings
from chalicelib.errors import FrsError

log = logging.getLogger(__name__)

PREFIX = "import/"
REPORT_PREFIX = "import-reports/"
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
MAX_BYTES = 8 * 1024 * 1024
_KEY = re.compile(r"import/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9_-]{1,36})\.([A-Za-z]{3,4})")


def object_refs(event: dict) -> list[tuple[str, str]]:
    """(bucket, key) pairs of every created object in an S3 or EventBridge event."""
    refs = []
    for rec in event.get("Records") or []:
        s3 = rec.get("s3") or {}
        if s3.get("bucket", {}).get("name") and s3.get("object", {}).get("key") is not None:
            # S3 notifications URL-encode keys (spaces as '+').
            refs.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    detail = event.get("detail") or {}
    if event.get("source") == "aws.s3" and detail.get("bucket") and detail.get("object"):
        refs.append((detail["bucket"]["name"], detail["object"]["key"]))
    return refs


def parse_key(key: str) -> tuple[str, str]:
    """(face_set, external_image_id) from ``import/<set>/<id>.<ext>``."""
    m = _KEY.fullmatch(key)  # in full: "x.jpg\n" is not a key
    if not m or f".{m.group(3).lower()}" not in EXTENSIONS:
        raise FrsError(errors.PARAM_FORMAT,
                       "Import keys must be import/<face_set>/<external_image_id>.jpg|jpeg|png|bmp "
                       "(names of letters, digits, '_' and '-').")
    return m.group(1), m.group(2)


def report_key(key: str) -> str:
    return REPORT_PREFIX + key[len(PREFIX):].rsplit(".", 1)[0] + ".json"


def _s3() -> Any:
    from chalicelib.services.media import s3_client  # one client per process, shared with image_url
    return s3_client()


def _add(project_id: str, face_set: str, external_image_id: str, data: bytes) -> dict:
    from chalicelib.services import faces  # the add-faces route's own service function
    return faces.add(project_id, face_set,
                     {"image_file": data, "external_image_id": external_image_id, "single": "true"},
                     form=True)


def import_object(bucket: str, key: str, project_id: str, s3: Any = None,
                  add: Callable[[str, str, str, bytes], dict] = _add) -> dict:
    """Add one object's face; answer a result record (never raises)."""
    s3 = s3 or _s3()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    result: dict[str, Any] = {"bucket": bucket, "key": key, "time": now}
    try:
        face_set, external_image_id = parse_key(key)
        result.update(face_set_name=face_set, external_image_id=external_image_id)
        with observability.span("s3.get_object"):
            obj = s3.get_object(Bucket=bucket, Key=key)
            if obj.get("ContentLength", 0) >= MAX_BYTES:
                raise FrsError(errors.OBS_TOO_LARGE, "The object exceeds 8 MB.")
            data = obj["Body"].read(MAX_BYTES + 1)
        answer = add(project_id, face_set, external_image_id, data)
        result.update(status="added", face_ids=[f["face_id"] for f in answer.get("faces", [])])
    except FrsError as exc:
        result.update(status="failed", **exc.body())
    except Exception as exc:  # a storage or engine fault must not stop the batch
        log.exception("bulk import of s3://%s/%s failed", bucket, key)
        result.update(status="failed", error_code=errors.INTERNAL, error_msg=f"{type(exc).__name__}: {exc}")
    return result


def handle_event(event: dict, context: Any = None, s3: Any = None, add: Callable[..., Any] = _add,
                 environ: Mapping[str, str] | None = None) -> dict:
    """Lambda entry point logic: import each object, write a report per failure."""
    cfg = settings() if environ is None else Settings.from_env(environ)
    project_id = cfg.import_project_id
    if not project_id:
        raise RuntimeError("FRS_IMPORT_PROJECT_ID is not set: the import has no project to add to")
    # Only the configured import bucket may feed a face set, whatever else
    # gets wired to this function.
    only_bucket = cfg.import_bucket
    s3 = s3 or _s3()
    counts = {"added": 0, "failed": 0, "ignored": 0}
    reports: list[str] = []
    for bucket, key in object_refs(event):
        if (only_bucket and bucket != only_bucket) or not key.startswith(PREFIX) or key.endswith("/"):
            counts["ignored"] += 1  # e.g. a "folder" placeholder
            continue
        result = import_object(bucket, key, project_id, s3=s3, add=add)
        rkey = report_key(key)
        if result["status"] == "added":
            counts["added"] += 1
            s3.delete_object(Bucket=bucket, Key=rkey)  # a retry succeeded: drop the stale report
        else:
            counts["failed"] += 1
            s3.put_object(Bucket=bucket, Key=rkey, ContentType="application/json",
                          Body=json.dumps(result, indent=2).encode())
            reports.append(f"s3://{bucket}/{rkey}")
    summary = {**counts, "reports": reports}
    log.info("bulk import: %s", json.dumps(summary))
    return summary
