"""A real ``chalice local`` with authentication on (IAM tokens) and a real
headless Chromium (the ``browser`` fixture of tests/conftest.py) for the
console tests. Each page records console errors, uncaught exceptions,
dialogs (alert) and CSP violations, so a test can assert that none happened."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit.server import LocalServer
from tests.conftest import models_built

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "console"
_TEMP_SHOTS = Path(tempfile.mkdtemp(prefix="frs-console-shots-"))
USER = {"domain": "openfrs", "user": "console-admin", "password": "console-pw-12345",
        "project": "demo", "project_id": "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"}


@pytest.fixture(scope="session")
def console_server(tmp_path_factory):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    data = tmp_path_factory.mktemp("frs-console") / "data"
    env = {"FRS_DATA_DIR": str(data), "FRS_STORE": "embedded", "FRS_AUTH": "iam",
           "FRS_IDENTITY_BACKEND": "sqlite", "FRS_RATELIMIT": "",
           "FRS_BOOTSTRAP_PROJECT_ID": USER["project_id"], "FRS_BOOTSTRAP_PROJECT_NAME": USER["project"],
           "FRS_BOOTSTRAP_AK": "AKCONSOLE00000000001",
           "FRS_BOOTSTRAP_SK": "sk-console-0123456789abcdefghijklmnop",
           "FRS_BOOTSTRAP_USER": USER["user"], "FRS_BOOTSTRAP_PASSWORD": USER["password"],
           "FRS_MEDIA_BUCKETS": ""}
    srv = LocalServer(env, log_path=data.parent / "chalice-local.log").start()
    yield srv
    srv.stop()


@dataclass
class Watch:
    """What went wrong in a page: errors logged, exceptions thrown, dialogs opened."""
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self):
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.errors == [], f"errors in the page: {self.errors}"


def watch(page, allow=()) -> Watch:
    """Collect console errors (CSP violations are reported there too), page
    errors and dialogs; messages containing any text of ``allow`` are expected
    answers (a 4xx the test provokes shows as "Failed to load resource")."""
    w = Watch()

    def on_console(msg):
        if msg.type == "error" and not any(a in msg.text for a in allow):
            w.errors.append(msg.text)

    def on_dialog(dialog):
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.errors.append(f"pageerror: {exc}"))
    page.on("dialog", on_dialog)
    return w


def sign_in(page, server, user=USER):
    page.goto(server.url + "/console")
    page.get_by_label("User name").fill(user["user"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_label("Account (domain)").fill(user["domain"])
    page.get_by_label("Project").fill(user["project"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Face sets", level=1).wait_for()


def shot(page, name: str, full_page: bool = True, target=None):
    """NAME.jpg (JPEG: the pages are mostly photographs, a PNG of them is ten
    times the size): into docs/console/ with FRS_UPDATE_SCREENSHOTS=1 (`make
    screenshots`), else into a temp folder, so a test run leaves the checkout
    as it was. Either way the page is photographed and the file checked."""
    folder = SHOTS if os.environ.get("FRS_UPDATE_SCREENSHOTS") == "1" else _TEMP_SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    opts = {"path": str(path), "type": "jpeg", "quality": 82}
    if target is not None:
        target.screenshot(**opts)
    else:
        page.screenshot(full_page=full_page, **opts)
    assert path.stat().st_size > 5_000, f"{name}: an empty screenshot"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, the page's screenshot and text go to a temp folder named in
    the report (a headless browser cannot be watched); the page is still open
    here, before the fixtures' teardown."""
    outcome = yield
    rep = outcome.get_result()
    args = getattr(item, "funcargs", {})
    page = args.get("page") or args.get("camera_page")
    if rep.when != "call" or not rep.failed or page is None:
        return
    server = args.get("console_server")
    if server is not None:  # the server's side of it (its log holds no secrets or images)
        lines = [ln for ln in server.output().splitlines() if not ln.startswith('{"_aws"')]
        rep.sections.append(("chalice local log (last lines)", "\n".join(lines[-40:])))
    out = Path(tempfile.mkdtemp(prefix="console-failure-"))
    try:
        page.screenshot(path=str(out / "page.png"), full_page=True)
        (out / "page.txt").write_text(page.locator("body").inner_text())
    except Exception as exc:  # the page may be gone; the failure itself is reported anyway
        (out / "page.txt").write_text(f"no evidence: {exc}")
    rep.sections.append(("console failure evidence", str(out)))


class Api:
    """The FRS API over HTTP with a token, for setting a scene before the
    browser looks at it."""

    def __init__(self, server, user=USER):
        import requests
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user["user"], "password": user["password"], "domain": {"name": user["domain"]}}}},
            "scope": {"project": {"name": user["project"]}}}}
        r = requests.post(server.url + "/v3/auth/tokens", json=body, timeout=30)
        assert r.status_code == 201, r.text
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        self.base = f"{server.url}/v2/{r.json()['token']['project']['id']}"

    def __call__(self, method, path, **kw):
        return self.session.request(method, self.base + path, timeout=300, **kw)


def new_set(api: Api, name: str, fields: dict | None = None) -> None:
    api("DELETE", f"/face-sets/{name}")
    r = api("POST", "/face-sets", json={"face_set_name": name, "external_fields": fields or {}})
    assert r.status_code == 200, r.text
