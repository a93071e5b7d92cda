"""Helpers for the identity tests: sign requests with the REAL huaweicloudsdkcore
signer and turn them into chalice Requests exactly as ``chalice local`` does.
(A separate module because ``conftest`` is an ambiguous module name across
the test directories.)"""
from __future__ import annotations

import json

from chalice import Chalice, Response
from chalice.app import Request
from chalice.local import LambdaEventConverter, RouteMatcher
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from chalicelib.api.routes.iam import make_blueprint
from chalicelib.errors import FrsError
from chalicelib.identity import authorize

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


def make_app():
    app = Chalice("identity-test")
    app.register_blueprint(make_blueprint())

    @app.route("/v2/{project_id}/face-sets", methods=["GET"])
    def face_sets(project_id):
        try:
            headers = authorize(app.current_request, project_id)
        except FrsError as e:
            return Response(json.dumps(e.body()), status_code=e.status,
                            headers={"Content-Type": "application/json", **getattr(e, "headers", {})})
        return Response(json.dumps({"face_sets_info": []}), status_code=200,
                        headers={"Content-Type": "application/json", **headers})
    return app


def token_body(user="alice", password="s3cret-pw", domain="acme", project=None):
    return json.dumps({"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}}},
        "scope": {"project": project or {"name": "alpha"}}}})


# One app per process: chalice consumes route options at registration.
APP = make_app()
