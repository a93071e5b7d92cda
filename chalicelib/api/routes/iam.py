"""``POST /v3/auth/tokens``: IAM password authentication scoped to a project
(the service is chalicelib/identity/token_service.py). Answers like Huawei
IAM: 201 and the token in ``X-Subject-Token``; refusals in IAM's error shape
plus FRS's two fields, so either kind of client reads them. Every answer,
refusals and unexpected failures included, carries ``X-Request-Id``."""
from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response

from chalicelib import errors
from chalicelib.api.http import request_id
from chalicelib.identity import token_service
from chalicelib.text import dumps

log = logging.getLogger("openfrs")

_TITLES = {400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests",
           500: "Internal Server Error"}


def _error(status: int, message: str, code: str, rid: str,
           headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": status, "message": message, "title": _TITLES.get(status, "Error")},
            "error_code": code, "error_msg": message}
    return Response(body=dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", "X-Request-Id": rid,
                             **(headers or {})})


def _is_json(request: Any) -> bool:
    """application/json (any parameters), or no Content-Type at all."""
    ctype = (getattr(request, "headers", None) or {}).get("content-type") or ""
    return ctype.split(";")[0].strip().lower() in ("", "application/json")


def source_ip(request: Any) -> str:
    """The caller's address as the platform saw it (API Gateway or chalice
    local), never a client-supplied header such as X-Forwarded-For."""
    ctx = getattr(request, "context", None) or {}
    return str((ctx.get("identity") or {}).get("sourceIp") or "")


def create_token(request: Any) -> Response:
    rid = request_id()
    try:
        if not _is_json(request):
            return _error(400, "The request body must be application/json.", errors.NOT_JSON, rid)
        issued = token_service.create_token(getattr(request, "raw_body", None),
                                            source=source_ip(request))
    except token_service.TokenRefused as e:
        return _error(e.status, e.message, e.code, rid, e.headers)
    except Exception:  # never Chalice's bare 500, never a traceback
        log.exception("request %s: unexpected error in POST /v3/auth/tokens", rid)
        return _error(500, "Internal service error.", errors.INTERNAL, rid)
    return Response(body=dumps(issued.body), status_code=201,
                    headers={"X-Subject-Token": issued.token, "Content-Type": "application/json",
                             "X-Request-Id": rid})


def make_blueprint() -> Blueprint:
    """A fresh blueprint: chalice consumes a blueprint's route options when it
    is registered, so each app (the service, a test app) needs its own."""
    bp = Blueprint(__name__)

    # Any content type reaches the handler, which refuses a non-JSON one in
    # IAM's shape (Chalice's own 415 body has neither shape nor request id).
    @bp.route("/v3/auth/tokens", methods=["POST"], content_types=["*/*"])
    def auth_tokens() -> Response:
        return create_token(bp.current_request)

    return bp


# The service registers this one: ``app.register_blueprint(iam)``.
iam = make_blueprint()
