"""`chalice package` ships the console: every static file is in the Lambda
deployment zip byte for byte, the /console routes are in the API, and the
PNG's type (and image/*, for browsers) are among the API's binary media types."""
from __future__ import annotations

import json
import zipfile

from chalicelib.api.routes.console import STATIC
from deploy import package as pkg


def test_console_files_are_in_the_deployment_package(tmp_path, monkeypatch):
    monkeypatch.setenv("FRS_MEDIA_BUCKETS", "photos")  # prod refuses to build without it
    template = json.loads(pkg.package("prod", tmp_path).read_text())
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert {"/console", "/console/{asset}"} <= set(api["paths"])
    binary = api["x-amazon-apigateway-binary-media-types"]
    # API Gateway goes by the first Accept type: image/png from a client that
    # asks for it, image/avif (covered by image/*) from a browser.
    assert "image/png" in binary and "image/*" in binary
    with zipfile.ZipFile(tmp_path / "deployment.zip") as z:
        for path in STATIC.iterdir():
            assert z.read(f"chalicelib/console/static/{path.name}") == path.read_bytes(), path.name
