"""Fixtures for the identity tests: an isolated credentials store per test and
helpers that sign requests with the REAL huaweicloudsdkcore signer and turn
them into chalice Requests exactly as ``chalice local`` does."""
from __future__ import annotations

import pytest
from chalice.app import Request
from chalice.local import LambdaEventConverter, RouteMatcher
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

import chalicelib.identity as identity
from chalicelib.identity.credentials import get_store

ROUTES = [
    "/v2/{project_id}/face-detect",
    "/v2/{project_id}/face-compare",
    "/v2/{project_id}/face-sets",
    "/v2/{project_id}/face-sets/{face_set_name}",
    "/v2/{project_id}/face-sets/{face_set_name}/faces",
    "/v2/{project_id}/face-sets/{face_set_name}/faces/batch",
    "/v2/{project_id}/face-sets/{face_set_name}/search",
]
HOST = "127.0.0.1:8000"

_ENV = ["FRS_IDENTITY_BACKEND", "FRS_RATELIMIT", "FRS_RATELIMIT_OVERRIDES", "FRS_RATELIMIT_WINDOW",
        "FRS_RATELIMIT_BACKEND", "FRS_RATELIMIT_TABLE", "FRS_AUTH", "FRS_BOOTSTRAP_PROJECT_ID",
        "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK", "FRS_BOOTSTRAP_USER", "FRS_BOOTSTRAP_PASSWORD",
        "FRS_BOOTSTRAP_PROJECT_NAME", "FRS_BOOTSTRAP_DOMAIN", "FRS_ADMIN_PASSWORD"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    d = tmp_path / "frs-data"
    monkeypatch.setenv("FRS_DATA_DIR", str(d))
    identity.reset()
    yield d
    identity.reset()


@pytest.fixture
def store():
    return get_store()


@pytest.fixture
def proj(store):
    """Project A with an active key pair: dict(id, ak, sk)."""
    p = store.create_project("alpha", "acme")
    k = store.create_key(p["id"])
    return {"id": p["id"], "ak": k["ak"], "sk": k["sk"]}


@pytest.fixture
def proj_b(store):
    p = store.create_project("beta", "acme")
    k = store.create_key(p["id"])
    return {"id": p["id"], "ak": k["ak"], "sk": k["sk"]}


def sdk_sign(ak, sk, project_id, method, path, query=None, headers=None, body=b"",
             date=None, host=HOST):
    """Sign like FrsClient does: BasicCredentials.sign_request on an SdkRequest."""
    header_params = {"User-Agent": "huaweicloud-usdk-python/3.0",
                     "Content-Type": "application/json", **(headers or {})}
    if date:
        header_params["X-Sdk-Date"] = date
    req = SdkRequest(method=method, schema="http", host=host, resource_path=path,
                     query_params=list(query or []), header_params=header_params, body=body)
    return BasicCredentials(ak, sk, project_id).sign_request(req)


def to_chalice(sdk_req, body_override=None, path_prefix="", stage=None,
               header_overrides=None, drop_headers=()):
    """The chalice Request a ``chalice local`` server builds for this request."""
    headers = {k: v for k, v in sdk_req.header_params.items() if k.lower() not in drop_headers}
    headers.update(header_overrides or {})
    body = sdk_req.body if body_override is None else body_override
    if isinstance(body, str):
        body = body.encode()
    conv = LambdaEventConverter(RouteMatcher(ROUTES), binary_types=["multipart/form-data"])
    event = conv.create_lambda_event(sdk_req.method, sdk_req.uri, headers, body or None)
    if path_prefix:
        event["requestContext"]["path"] = path_prefix + event["requestContext"]["path"]
    if stage:
        event["requestContext"]["stage"] = stage
    return Request(event)


def raw_request(method, path, headers=None, body=b""):
    conv = LambdaEventConverter(RouteMatcher(ROUTES))
    return Request(conv.create_lambda_event(method, path, headers or {}, body or None))
