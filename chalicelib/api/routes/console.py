"""``GET /console`` and ``GET /console/{asset}``: the web console, plain
JavaScript modules, CSS and HTML from chalicelib/console/static (inside
chalicelib so that ``chalice package`` ships them with the code).

The console is a client of the public FRS API like any other (it signs in
with ``POST /v3/auth/tokens``); these routes only hand out its files, so
they need no authentication. Every answer carries a strict
Content-Security-Policy: scripts and styles only from these files, no inline
script, no eval, and the API of this origin as the only place to connect to.
Text assets go out as text; the PNG icon is a type the app declares binary,
so Chalice base64-encodes it for API Gateway (which turns it back into
bytes) and ``chalice local`` sends its bytes.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.http import error_response, request_id
from chalicelib.errors import API_NOT_FOUND, FrsError

STATIC = Path(__file__).resolve().parents[2] / "console" / "static"
INDEX = "index.html"

# Only these kinds of file are served; anything else in the folder is not.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# media-src/img-src blob: and data: are the user's own files, recordings and
# the liveness picture (base64 in the API answer); nothing else is allowed.
CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # The liveness page records from the camera; nothing asks for anything else.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}

console = Blueprint(__name__)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def is_binary(content_type: str, binary_types: list[str]) -> bool:
    """Whether Chalice treats this response type as binary: it then wants a
    bytes body (base64 for API Gateway), and a str body for any other type.
    Chalice matches the listed types literally (``image/*`` does not cover
    ``image/svg+xml``), and so does this."""
    types = {t.lower() for t in binary_types}
    return "*/*" in types or content_type.split(";")[0].strip().lower() in types


@functools.lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """Every servable file by name, read once. The folder is flat, so a name
    is looked up in this table and never joined onto a path."""
    out = {}
    for path in sorted(STATIC.iterdir()):
        ctype = CONTENT_TYPES.get(path.suffix)
        if ctype is None or not path.is_file():
            continue
        body = path.read_bytes()
        out[path.name] = Asset(body, ctype, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return out


def serve(name: str) -> Response:
    asset = assets().get(name)
    if asset is None:
        return error_response(FrsError(API_NOT_FOUND, "The API does not exist or has not been published."),
                              request_id())
    headers: dict[str, str | list[str]] = {"Content-Type": asset.content_type, "ETag": asset.etag,
               # Revalidate every time: a new release is picked up at once,
               # an unchanged file costs a 304.
               "Cache-Control": "no-cache", **SECURITY_HEADERS}
    # Chalice wants bytes for a binary type and text for any other, also when
    # the body is empty (a 304).
    binary = is_binary(asset.content_type, console.current_app.api.binary_types)
    if console.current_request.headers.get("if-none-match") == asset.etag:
        return Response(body=b"" if binary else "", status_code=304, headers=headers)
    body: str | bytes = asset.body if binary else asset.body.decode("utf-8")
    return Response(body=body, status_code=200, headers=headers)


@console.route("/console", methods=["GET"])
def console_index() -> Response:
    # /console/ reaches this route too, but the page's relative URLs would then
    # resolve under /console/console/: send the browser to /console (relative,
    # so a stage prefix is kept).
    path = (console.current_request.context or {}).get("path") or ""
    if path.endswith("/"):
        return Response(body="", status_code=308, headers={"Location": "../console", **SECURITY_HEADERS})
    return serve(INDEX)


@console.route("/console/{asset}", methods=["GET"])
def console_asset(asset: str) -> Response:
    return serve(asset)
