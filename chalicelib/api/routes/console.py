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

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.static import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "console" / "static"
INDEX = "index.html"

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


FILES = StaticFiles(STATIC, headers=SECURITY_HEADERS)


def serve(name: str) -> Response:
    return FILES.response(name, console.current_request, console.current_app.api.binary_types)


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
