"""Static files served by the app itself (no CDN): a flat folder read once,
looked up by exact name (never joined onto a path), served with its content
type, an ETag (304 on If-None-Match) and the security headers its page needs.
Used by ``GET /docs`` (routes/apidocs.py) and ``GET /console`` (routes/console.py)."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice import Response

from chalicelib.api.http import error_response, request_id
from chalicelib.errors import API_NOT_FOUND, FrsError

# Only these kinds of file are served; anything else in a folder is not.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


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


class StaticFiles:
    """The servable files of ``folders`` (later folders may not shadow earlier ones)."""

    def __init__(self, *folders: Path, headers: dict[str, str] | None = None):
        self.folders = folders
        self.headers = dict(headers or {})

    @functools.cached_property
    def assets(self) -> dict[str, Asset]:
        out: dict[str, Asset] = {}
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                ctype = CONTENT_TYPES.get(path.suffix)
                if ctype is None or not path.is_file() or path.name in out:
                    continue
                body = path.read_bytes()
                out[path.name] = Asset(body, ctype, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        return out

    def response(self, name: str, request: Any, binary_types: list[str]) -> Response:
        """The file ``name`` for ``request``; ``binary_types`` are the app's."""
        asset = self.assets.get(name)
        if asset is None:
            missing = FrsError(API_NOT_FOUND, "The API does not exist or has not been published.")
            return error_response(missing, request_id())
        headers: dict[str, str | list[str]] = {
            "Content-Type": asset.content_type, "ETag": asset.etag,
            # Revalidate each time: a new release shows at once, an unchanged file costs a 304.
            "Cache-Control": "no-cache", **self.headers}
        # Chalice wants bytes for a binary type and text for any other, also
        # when the body is empty (a 304).
        binary = is_binary(asset.content_type, binary_types)
        if (request.headers or {}).get("if-none-match") == asset.etag:
            return Response(body=b"" if binary else "", status_code=304, headers=headers)
        body: str | bytes = asset.body if binary else asset.body.decode("utf-8")
        return Response(body=body, status_code=200, headers=headers)
