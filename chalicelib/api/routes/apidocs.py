"""``GET /docs``: the OpenAPI document (``GET /openapi.json``) as a page for
people, rendered by Swagger UI from assets the app serves itself.

Our page (docs_ui/index.html, init.js, docs.css) plus Swagger UI's files from
the pinned npm package ``swagger-ui-dist`` (``make docs-ui`` copies them to
docs_ui/vendor/, scripts/fetch_swagger_ui.py). No CDN, no inline script: the
Content-Security-Policy allows scripts, styles and fetches from this origin
only, images also as data: URIs (Swagger UI's icons). No authentication: the
files and the document hold no data; "Try it out" sends the caller's own
credentials to this same origin.
"""
from __future__ import annotations

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.http import error_response, request_id
from chalicelib.api.static import StaticFiles
from chalicelib.errors import INTERNAL, FrsError

DOCS_UI = Path(__file__).resolve().parents[1] / "docs_ui"
VENDOR = DOCS_UI / "vendor"
INDEX = "index.html"

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
FILES = StaticFiles(DOCS_UI, VENDOR, headers={
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
})

apidocs = Blueprint(__name__)


@apidocs.route("/docs", methods=["GET"])
def docs_index() -> Response:
    if "swagger-ui-bundle.js" not in FILES.assets:
        return error_response(FrsError(INTERNAL, "The API reference page is not built: run `make docs-ui`."),
                              request_id())
    return FILES.response(INDEX, apidocs.current_request, apidocs.current_app.api.binary_types)


@apidocs.route("/docs/{asset}", methods=["GET"])
def docs_asset(asset: str) -> Response:
    return FILES.response(asset, apidocs.current_request, apidocs.current_app.api.binary_types)
