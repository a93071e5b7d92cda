"""How /console and its files are served: by ``chalice local`` (a real
socket) and as the Lambda response API Gateway receives (text as text, the
PNG icon base64 with isBase64Encoded), with the security headers, and a
guard over the sources: no inline script or style in the page, no HTML
parsing of strings in the scripts, no persistent token storage."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from chalicelib.api.routes import console as route
from chalicelib.api.static import CONTENT_TYPES

STATIC = route.STATIC
SCRIPTS = sorted(STATIC.glob("*.js"))


def test_every_file_with_its_type_and_headers(console_server):
    for path in sorted(STATIC.iterdir()):
        r = requests.get(f"{console_server.url}/console/{path.name}", headers={"Accept": "*/*"}, timeout=30)
        assert r.status_code == 200, path.name
        assert r.headers["Content-Type"] == CONTENT_TYPES[path.suffix]
        assert r.content == path.read_bytes(), path.name  # the bytes, also of the PNG
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Security-Policy"] == route.CSP
        # Unchanged: a 304 without a body.
        again = requests.get(r.url, headers={"If-None-Match": r.headers["ETag"], "Accept": "*/*"}, timeout=30)
        assert again.status_code == 304 and again.content == b""
    page = requests.get(f"{console_server.url}/console", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.content == (STATIC / "index.html").read_bytes()


def test_csp_is_strict():
    directives = dict(d.split(" ", 1) for d in route.CSP.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "unsafe" not in route.CSP  # neither unsafe-inline nor unsafe-eval anywhere
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("name", ["nope.js", "..%2Fapp.py", "%2E%2E", "index.htm", "api.js%00"])
def test_unknown_names_are_not_found(console_server, name):
    r = requests.get(f"{console_server.url}/console/{name}", timeout=30)
    assert r.status_code == 404
    assert r.json()["error_code"] == "APIG.0101"


def _event(name: str, accept: str) -> dict:
    return {"resource": "/console/{asset}", "path": f"/console/{name}", "httpMethod": "GET",
            "headers": {"accept": accept}, "multiValueHeaders": {}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": {"asset": name},
            "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": "/console/{asset}", "httpMethod": "GET",
                               "path": f"/api/console/{name}", "stage": "api", "requestId": "r1",
                               "identity": {"sourceIp": "192.0.2.1"}}}


class _Context:
    aws_request_id = "r1"
    function_name = "api_handler"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:api_handler"
    memory_limit_in_mb = 1024
    log_stream_name = "test"


def test_lambda_responses_for_api_gateway(frs_env):
    """What the Lambda hands API Gateway: the PNG base64 with isBase64Encoded
    (API Gateway turns it back into bytes, as the app lists image types
    binary), every text file as plain text."""
    from app import app
    browser_accept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    png = app(_event("icon.png", browser_accept), _Context())
    assert png["statusCode"] == 200 and png["isBase64Encoded"] is True
    assert base64.b64decode(png["body"]) == (STATIC / "icon.png").read_bytes()
    for path in SCRIPTS + [STATIC / "console.css", STATIC / "icon.svg"]:
        r = app(_event(path.name, "*/*"), _Context())
        assert r["statusCode"] == 200, path.name
        assert not r.get("isBase64Encoded")
        assert r["body"] == path.read_text(encoding="utf-8")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.data_in_script = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.data_in_script += data.strip()


def test_page_has_no_inline_script_or_style():
    parser = _Tags()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts and all(a.get("src") and a.get("type") == "module" for a in scripts)
    assert parser.data_in_script == ""
    for tag, attrs in parser.tags:
        assert not any(k.startswith("on") or k == "style" for k in attrs), (tag, attrs)
        for k in ("src", "href"):  # nothing from another origin (no CDN)
            assert not re.match(r"^(https?:)?//", attrs.get(k) or ""), (tag, attrs)
    assert not any(t == "style" for t, _ in parser.tags)


# Sinks that parse a string as HTML or code, and storage a script can read later.
FORBIDDEN = [r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"document\.write",
             r"\beval\(", r"new Function\b", r"setTimeout\(\s*['\"`]", r"localStorage",
             r"document\.cookie", r"createContextualFragment", r"DOMParser", r"\.setAttribute\(\s*['\"]on",
             r"\.setAttribute\(\s*['\"]style", r"https?://"]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: Path(p).name)
def test_scripts_never_parse_strings_as_html(path):
    code = path.read_text(encoding="utf-8")
    # Comments may name what the code avoids; only the code is checked.
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    code = re.sub(r"(?m)(^|\s)//\s.*$", "", code)
    for pattern in FORBIDDEN:
        assert not re.search(pattern, code), f"{path.name} uses {pattern}"


def test_trailing_slash_goes_to_the_page(console_server):
    r = requests.get(f"{console_server.url}/console/", allow_redirects=False, timeout=30)
    assert r.status_code == 308 and r.headers["Location"] == "../console"
    followed = requests.get(f"{console_server.url}/console/", timeout=30)
    assert followed.url == f"{console_server.url}/console"
    assert followed.content == (STATIC / "index.html").read_bytes()
