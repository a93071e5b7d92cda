"""Media inputs: every image (or video) parameter comes three ways.

``<prefix>_base64`` in a JSON body, ``<prefix>_file`` as a multipart part, or
``<prefix>_url`` naming an object in object storage (OBS style
``/BucketName/ObjectName`` or ``s3://bucket/key``), read with boto3. The media
bytes are only held in memory: nothing is written to disk or logged.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Literal, overload

from chalicelib import errors, observability
from chalicelib.config import settings
from chalicelib.errors import FrsError
from chalicelib.lazy import Lazy

MAX_MEDIA_BYTES = 8 * 1024 * 1024  # FRS: 8 MB per image/video (base64 text)

def _make_s3_client() -> Any:
    import boto3
    from botocore.config import Config
    return boto3.client("s3", config=Config(retries={"max_attempts": 2},
                                            connect_timeout=5, read_timeout=20))


# One client per process, made on first use: cold starts of routes that
# never read URLs don't pay for boto3.
_s3: Lazy[Any] = Lazy(_make_s3_client)


def s3_client() -> Any:
    return _s3.get()


def reset_s3_client() -> None:
    _s3.reset()


def present(payload: dict, prefix: str) -> bool:
    return any(payload.get(f"{prefix}_{kind}") not in (None, "", b"")
               for kind in ("base64", "file", "url"))


@overload
def read_media(payload: dict, prefix: str = ..., *, max_bytes: int = ...,
               required: Literal[True] = ...) -> bytes: ...
@overload
def read_media(payload: dict, prefix: str = ..., *, max_bytes: int = ...,
               required: bool) -> bytes | None: ...
def read_media(payload: dict, prefix: str = "image", *, max_bytes: int = MAX_MEDIA_BYTES,
               required: bool = True) -> bytes | None:
    """The raw bytes of ``prefix`` given as base64, file or URL (first found
    in that order); FRS errors for missing, malformed or oversized input."""
    b64 = payload.get(f"{prefix}_base64")
    if b64 is not None:
        return decode_base64(b64, f"{prefix}_base64", max_bytes)
    data = payload.get(f"{prefix}_file")
    if data is not None:
        if isinstance(data, str):
            raise FrsError(errors.PARAM_FORMAT, f"{prefix}_file must be sent as a file part.")
        if len(data) >= max_bytes:
            raise FrsError(errors.BODY_TOO_LARGE, f"{prefix}_file exceeds {max_bytes // 2**20} MB.")
        if not data:
            raise FrsError(errors.FORMAT_UNSUPPORTED, f"{prefix}_file is empty.")
        return data
    url = payload.get(f"{prefix}_url")
    if url is not None:
        return read_url(url, f"{prefix}_url", max_bytes)
    if required:
        raise FrsError(errors.PARAM_MISSING,
                       f"One of {prefix}_base64, {prefix}_file or {prefix}_url is required.")
    return None


def decode_base64(text: object, name: str, max_bytes: int) -> bytes:
    if not isinstance(text, str):
        raise FrsError(errors.PARAM_FORMAT, f"{name} must be a string.")
    if len(text) >= max_bytes:
        raise FrsError(errors.BODY_TOO_LARGE, f"{name} exceeds {max_bytes // 2**20} MB.")
    try:
        # validate=True: no line breaks, no data-URL prefix, correct padding.
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FrsError(errors.BASE64_INVALID, f"{name} is not valid base64 "
                       "(no line breaks or data-URL prefix; check the padding).") from None
    if not data:
        raise FrsError(errors.BASE64_INVALID, f"{name} is empty.")
    return data


def parse_object_url(url: object) -> tuple[str, str]:
    if not isinstance(url, str) or not url:
        raise FrsError(errors.OBS_URL_INVALID, "The object storage URL is invalid.")
    if url.startswith("s3://"):
        rest = url[5:]
    elif url.startswith("/"):
        rest = url[1:]
    else:
        raise FrsError(errors.OBS_URL_INVALID,
                       "The URL must be /BucketName/ObjectName or s3://bucket/key.")
    bucket, _, key = rest.partition("/")
    if not bucket or not key or ".." in key.split("/"):
        raise FrsError(errors.OBS_URL_INVALID,
                       "The URL must be /BucketName/ObjectName or s3://bucket/key.")
    return bucket, key


def read_url(url: object, name: str, max_bytes: int) -> bytes:
    bucket, key = parse_object_url(url)
    allowed = settings().media_buckets
    if allowed and bucket not in allowed:
        raise FrsError(errors.OBS_UNAUTHORIZED, f"The service may not read bucket {bucket}.")
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        with observability.span("s3.get_object"):
            obj = s3_client().get_object(Bucket=bucket, Key=key)
            if obj.get("ContentLength", 0) >= max_bytes:
                raise FrsError(errors.OBS_TOO_LARGE, f"The object exceeds {max_bytes // 2**20} MB.")
            data = obj["Body"].read(max_bytes + 1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
            raise FrsError(errors.OBS_NOT_FOUND, "The object does not exist.") from None
        if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId"):
            raise FrsError(errors.OBS_UNAUTHORIZED,
                           "The service is not allowed to read the object.") from None
        raise FrsError(errors.OBS_GET_FAILED, f"Failed to obtain the object ({code}).") from None
    except BotoCoreError:
        raise FrsError(errors.OBS_GET_FAILED, "Failed to obtain the object from storage.") from None
    if len(data) >= max_bytes:
        raise FrsError(errors.OBS_TOO_LARGE, f"The object exceeds {max_bytes // 2**20} MB.")
    if not data:
        raise FrsError(errors.FORMAT_UNSUPPORTED, "The object is empty.")
    return data
