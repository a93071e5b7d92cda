"""``POST /v3/auth/tokens``: IAM password authentication scoped to a project
(the service is chalicelib/identity/token_service.py). Answers like Huawei
IAM: 201 and the token in ``X-Subject-Token``; refusals in IAM's error shape
plus FRS's two fields, so either kind of client reads them."""
from __future__ import annotations

import json

from chalice import Blueprint, Response

from chalicelib.api.http import request_id
from chalicelib.identity import token_service

_TITLES = {400: "Bad Request", 401: "Unauthorized"}


def _error(status: int, message: str, code: str) -> Response:
    body = {"error": {"code": status, "message": message, "title": _TITLES[status]},
            "error_code": code, "error_msg": message}
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", "X-Request-Id": request_id()})


def create_token(request: object) -> Response:
    try:
        issued = token_service.create_token(getattr(request, "raw_body", None))
    except token_service.TokenRefused as e:
        return _error(e.status, e.message, e.code)
    return Response(body=json.dumps(issued.body), status_code=201,
                    headers={"X-Subject-Token": issued.token, "Content-Type": "application/json",
                             "X-Request-Id": request_id()})


def make_blueprint() -> Blueprint:
    """A fresh blueprint: chalice consumes a blueprint's route options when it
    is registered, so each app (the service, a test app) needs its own."""
    bp = Blueprint(__name__)

    @bp.route("/v3/auth/tokens", methods=["POST"], content_types=["application/json"])
    def auth_tokens() -> Response:
        return create_token(bp.current_request)

    return bp


# The service registers this one: ``app.register_blueprint(iam)``.
iam = make_blueprint()
