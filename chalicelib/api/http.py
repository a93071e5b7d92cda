"""The HTTP edge shared by every FRS route.

``frs_route`` registers a view on a Chalice blueprint and wraps it so that
each request gets an ``X-Request-Id``, authentication (``chalicelib.identity``)
before any lookup, a parsed body (JSON or multipart), and FRS-style errors:
``FrsError`` becomes ``{"error_code", "error_msg"}`` with its documented
status; anything unexpected becomes a logged 500 FRS.0018 without a traceback
in the response.
"""
from __future__ import annotations

import email.parser
import email.policy
import email.utils
import functools
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from chalice import Blueprint, Response

from chalicelib import errors, observability
from chalicelib.config import settings
from chalicelib.errors import FrsError
from chalicelib.text import check_text, dumps

log = logging.getLogger("openfrs")

_HOST = socket.gethostname()


def request_id() -> str:
    rid = f"{uuid.uuid4()}-{int(time.time() * 1000)}-{_HOST}"
    observability.bind_request_id(rid)  # the request's log lines carry it
    return rid


@dataclass
class RequestContext:
    """What a route handler needs from the request."""
    request: Any  # chalice.app.Request
    project_id: str
    query: dict = field(default_factory=dict)
    is_form: bool = False  # multipart: scalar fields arrive as strings
    _payload: dict | None = None

    @property
    def payload(self) -> dict:
        if self._payload is None:
            self._payload, self.is_form = parse_body(self.request)
        return self._payload


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # text.dumps cannot fail: an answer is always sent, also after a commit.
    return Response(body=dumps(body), status_code=status,
                    headers={"Content-Type": "application/json;charset=utf8", **(headers or {})})


def error_response(exc: FrsError, rid: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(exc.body(), exc.status,
                         {**exc.headers, "X-Request-Id": rid, **(headers or {})})


# A route handler: ``handler(ctx, **uri_params)``.
Handler = Callable[..., Any]


def frs_route(bp: Blueprint, path: str | list[str], methods: str | list[str],
              auth: bool = True) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, **uri_params)`` on blueprint ``bp`` under one
    path or a list of paths (API versions the SDKs use for the same operation).

    The handler answers a JSON-able dict (200), a ``(status, dict)`` tuple, or
    a ``Response``; it raises ``FrsError`` for anything the client got wrong.
    """
    if isinstance(methods, str):
        methods = [methods]

    def decorator(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def view(**uri_params: str) -> Response:
            rid = request_id()
            extra: dict = {}
            request = bp.current_request
            try:
                project_id = uri_params.pop("project_id", None)
                if auth and project_id is not None:
                    extra = authorize(request, project_id) or {}
                # Path and query text is valid Unicode before any handler sees it.
                check_text(uri_params, "path")
                query = dict(request.query_params or {})
                check_text(query, "query")
                ctx = RequestContext(request, project_id or "", query)
                result = handler(ctx, **uri_params)
                if isinstance(result, Response):
                    result.headers.update({"X-Request-Id": rid, **extra})
                    return result
                status, body = result if isinstance(result, tuple) else (200, result)
                return json_response(body, status, {"X-Request-Id": rid, **extra})
            except FrsError as exc:
                if exc.status >= 500:
                    log.error("request %s failed: %s", rid, exc.code)
                return error_response(exc, rid, extra)
            except Exception:  # never leak a traceback to the client
                log.exception("request %s: unexpected error in %s", rid, handler.__name__)
                return error_response(FrsError(errors.INTERNAL, "Internal service error."), rid, extra)

        # Content types are checked by parse_body, so that a wrong one gets an
        # FRS error instead of Chalice's bare 415.
        for p in ([path] if isinstance(path, str) else path):
            bp.route(p, methods=methods, content_types=["*/*"])(view)
        return handler

    return decorator


def authorize(request: Any, project_id: str) -> dict:
    """Authenticate the caller for ``project_id`` (no-op when FRS_AUTH=off)."""
    if settings().auth_off:
        return {}
    from chalicelib import identity  # imported lazily: routes that never need it stay light
    return identity.authorize(request, project_id)


# --------------------------------------------------------------------------
# Body parsing
def parse_body(request: Any) -> tuple[dict, bool]:
    """Answer ``(payload, is_form)``. JSON bodies must be objects; multipart
    bodies become a dict of field -> str (text parts) or bytes (file parts)."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    # A whole body above this is refused before parsing (FRS's own limits
    # are 8 MB per image/video; compare carries two images, plus fields).
    max_body = settings().max_body_bytes
    if len(raw) > max_body:
        raise FrsError(errors.BODY_TOO_LARGE,
                       f"The request body exceeds {max_body // (1024 * 1024)} MB.")
    ctype = (request.headers.get("content-type") or "").lower()
    if ctype.startswith("multipart/form-data"):
        form = parse_multipart(raw, request.headers.get("content-type"))
        check_text(form)  # text parts (a UTF-7 part can decode to a lone surrogate)
        return form, True
    if not raw.strip():
        return {}, False
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FrsError(errors.NOT_JSON, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise FrsError(errors.NOT_JSON, "The request body must be a JSON object.")
    # Every string and key, at any depth, before a handler reads (or stores) it.
    check_text(body)
    return body, False


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_multipart(raw: bytes, content_type: str) -> dict:
    if "boundary=" not in (content_type or "").lower():
        raise FrsError(errors.PARAM_FORMAT, "multipart/form-data without a boundary.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not msg.is_multipart():
        raise FrsError(errors.PARAM_FORMAT, "The multipart/form-data body cannot be parsed.")
    out: dict = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, tuple):  # RFC 2231 form, as the compat API may answer it
            name = email.utils.collapse_rfc2231_value(name)
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        if not isinstance(data, bytes):  # only a nested multipart (None: handled above)
            data = b""
        if part.get_filename() is not None or name.endswith("_file"):
            out[name] = data  # a file part (image_file, video_file...): keep the bytes
        else:
            charset = part.get_content_charset() or "utf-8"
            try:
                out[name] = data.decode(charset)
            except (LookupError, UnicodeDecodeError):
                raise FrsError(errors.PARAM_FORMAT, f"Field {name} is not valid text.") from None
    return out
