"""The console is safe by construction: stored markup and error messages are
shown as text, the Content-Security-Policy really blocks inline script in
the browser, the token never reaches localStorage or a cookie, and signing
out forgets it."""
from __future__ import annotations

import pytest

from tests.conftest import STILLS

from .conftest import Api, new_set, sign_in, watch

MARKUP = "<img src=x onerror=alert(1)>"


def photo(name: str) -> bytes:
    path = STILLS / name
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent (../shared/datasets is only on dev/CI machines)")
    return path.read_bytes()


def test_stored_markup_and_error_messages_render_as_text(console_server, page):
    api = Api(console_server)
    new_set(api, "xss", {"note": {"type": "string"}})
    r = api("POST", "/face-sets/xss/faces", files={"image_file": ("o.jpg", photo("obama.jpg"))},
            data={"external_image_id": "markup", "external_fields": '{"note": "%s"}' % MARKUP})
    assert r.status_code == 200, r.text
    w = watch(page, allow=("status of 400",))
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/sets/xss")
    cell = page.locator("td[data-field=note]")
    cell.wait_for()
    assert cell.inner_text() == MARKUP  # the characters themselves, not an element
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0

    # The edit form shows it as an input's value, still text.
    page.get_by_role("button", name="Edit").first.click()
    assert page.locator("form.edit").get_by_label("note (string)").input_value() == MARKUP

    # An FRS error message that quotes the markup back (an undefined field in a filter).
    page.get_by_label("Filter", exact=True).fill(f'"{MARKUP}":1')
    page.get_by_role("button", name="Preview count").click()
    err = page.locator(".error .msg")
    err.wait_for()
    assert page.locator(".error .code").inner_text() == "FRS.0029"
    assert MARKUP in err.inner_text()  # quoted back by the service, shown as text
    assert page.locator(".error img").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    w.assert_clean()  # no alert() ran


def test_csp_blocks_inline_script_in_the_browser(console_server, page):
    """The header is not decoration: an inline script or handler someone
    managed to insert does not run."""
    sign_in(page, console_server)
    violations = page.evaluate("""() => new Promise((resolve) => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
        window.__ran = 0;
        const s = document.createElement('script');
        s.textContent = 'window.__ran += 1';
        document.body.append(s);
        const img = document.createElement('img');
        img.setAttribute('onerror', 'window.__ran += 1');
        img.src = 'data:,broken';
        document.body.append(img);
        setTimeout(() => resolve(seen), 500);
    })""")
    assert page.evaluate("window.__ran") == 0
    assert any(v.startswith("script-src") for v in violations), violations


def test_token_lives_in_session_storage_only_and_sign_out_forgets_it(console_server, page):
    sign_in(page, console_server)
    stored = page.evaluate("Object.keys(sessionStorage)")
    assert stored == ["openfrs.console.session"]
    assert page.evaluate("JSON.parse(sessionStorage.getItem('openfrs.console.session')).token")
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []

    page.reload()  # the tab keeps its session
    page.get_by_role("heading", name="Face sets").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.length") == 0
    page.goto(console_server.url + "/console#/sets")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_role("navigation").count() == 0


def test_wrong_password_shows_the_iam_error(console_server, page):
    w = watch(page, allow=("status of 401",))
    page.goto(console_server.url + "/console")
    page.get_by_label("User name").fill("console-admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    err = page.get_by_role("alert")
    err.wait_for()
    assert "username or password is wrong" in err.inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    w.assert_clean()


def test_a_refused_token_is_forgotten(console_server, page):
    """A token the service refuses (expired, or revoked by a new signing key)
    sends the user back to the sign-in form and is dropped from the tab."""
    w = watch(page, allow=("status of 403",))  # FRS.0002
    sign_in(page, console_server)
    page.evaluate("""() => {
        const key = 'openfrs.console.session';
        const s = JSON.parse(sessionStorage.getItem(key));
        s.token = s.token.slice(0, -4) + 'AAAA';
        sessionStorage.setItem(key, JSON.stringify(s));
    }""")
    page.reload()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_role("status").inner_text() == "The token was refused; sign in again."
    assert page.evaluate("sessionStorage.length") == 0
    w.assert_clean()
