"""GET /docs in a real headless Chromium (Debian's package, testkit/browser.py)
against a real ``chalice local``: Swagger UI renders this service's OpenAPI
document from files the app serves itself, every request stays on this
origin (no CDN), and the Content-Security-Policy reports no violation."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from testkit import live
from tests.conftest import REPO

VENDOR = REPO / "chalicelib" / "api" / "docs_ui" / "vendor"
SCREENSHOT = REPO / "docs" / "images" / "api-reference.png"

# Recorded before any page script runs (init scripts are not subject to the page's CSP).
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (VENDOR / "swagger-ui-bundle.js").exists():
        pytest.skip("Swagger UI assets not built: run `make docs-ui`")
    tmp = tmp_path_factory.mktemp("docs")
    srv = live.Server(live.auth_env(tmp / "data"), tmp / "server.log").start()
    yield srv
    srv.stop()


def test_docs_renders_the_served_openapi_document(server, page, tmp_path):
    seen, failed, console_errors = [], [], []
    page.on("request", lambda r: seen.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(RECORD_CSP)

    resp = page.goto(server.url + "/docs", wait_until="networkidle")
    assert resp is not None and resp.status == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in resp.headers["content-security-policy"]

    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    title = page.inner_text(".swagger-ui .info .title")
    spec = requests.get(server.url + "/openapi.json", timeout=30).json()
    assert spec["info"]["title"] in title
    # One block per operation and tag of the served document, all rendered.
    n_ops = sum(max(1, len(op.get("tags", []))) for ops in spec["paths"].values()
                for m, op in ops.items() if m in {"get", "post", "put", "delete", "patch"})
    page.locator(".opblock-tag").first.wait_for()
    tags = page.locator(".opblock-tag-section")
    for i in range(tags.count()):  # expand every tag (docExpansion is "none")
        tags.nth(i).locator(".opblock-tag").click()
    page.wait_for_function(f"document.querySelectorAll('.opblock').length >= {n_ops}", timeout=30_000)
    assert page.locator(".opblock").count() == n_ops
    assert page.locator(".opblock-summary-path", has_text="/v2/{project_id}/face-sets/{face_set_name}/search"
                        ).count() >= 1

    origin = urlparse(server.url).netloc
    foreign = [u for u in seen if urlparse(u).scheme in ("http", "https") and urlparse(u).netloc != origin]
    assert not foreign, f"requests left this origin: {foreign}"
    assert not failed, failed
    assert page.evaluate("window.__csp") == [], "Content-Security-Policy violations"
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    # The assets went out with their own types.
    for name, ctype in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                        ("init.js", "text/javascript")):
        r = requests.get(f"{server.url}/docs/{name}", timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype), name

    shot = SCREENSHOT if os.environ.get("FRS_UPDATE_SCREENSHOTS") == "1" else tmp_path / "docs.png"
    page.locator(".opblock").first.click()  # one operation open, as a reader would
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000


def test_docs_assets_are_served_by_exact_name_only(server):
    for path in ("/docs/VERSION", "/docs/LICENSE", "/docs/..%2Fstatic.py", "/docs/nope.js"):
        r = requests.get(server.url + path, timeout=30)
        assert r.status_code == 404, path
        assert r.json()["error_code"] == "APIG.0101"
    for name in ("swagger-ui.css", "favicon-32x32.png"):  # a text and a binary file
        r = requests.get(f"{server.url}/docs/{name}", timeout=30)
        assert r.status_code == 200
        again = requests.get(f"{server.url}/docs/{name}", headers={"If-None-Match": r.headers["ETag"]},
                             timeout=30)
        assert again.status_code == 304 and again.content == b"", name


def test_vendor_files_are_the_pinned_package():
    """What `make docs-ui` copied is swagger-ui-dist at the pinned version."""
    if not (VENDOR / "VERSION").exists():
        pytest.skip("Swagger UI assets not built: run `make docs-ui`")
    import importlib.util
    spec = importlib.util.spec_from_file_location("fetch", REPO / "scripts" / "fetch_swagger_ui.py")
    assert spec and spec.loader
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    assert (VENDOR / "VERSION").read_text().strip() == f"{fetch.PACKAGE}@{fetch.VERSION}"
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
    assert json.dumps(fetch.FILES)  # the list the page needs exists
    assert all((VENDOR / f).exists() for f in fetch.FILES)
    assert Path(fetch.CACHE / f"{fetch.PACKAGE}-{fetch.VERSION}.tgz").exists()
