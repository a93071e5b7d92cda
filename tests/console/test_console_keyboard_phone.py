"""Keyboard only, and phone width: sign in, create and delete a face set
(typed confirmation, Escape cancels) and open the file chooser of the drop
zone without a mouse; every page fits 390 px without sideways scrolling
(a screenshot at that width goes to docs/console/)."""
from __future__ import annotations

from .conftest import USER, Api, new_set, shot, sign_in, watch

PAGES = ["sets", "sets/phone", "add", "detect", "compare", "search", "liveness"]


def tab_to(page, predicate: str, limit: int = 80) -> None:
    """Press Tab until ``predicate`` (JS, given the focused element ``e``) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const e = document.activeElement; return Boolean({predicate}); }}"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def focused(page, expr: str):
    return page.evaluate(f"() => {{ const e = document.activeElement; return {expr}; }}")


def test_keyboard_only(console_server, page):
    w = watch(page)
    # Listening from the start keeps Playwright's file-chooser interception on
    # before the key is pressed (expect_file_chooser set up just before the
    # press lost the race on a loaded machine).
    choosers: list = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    page.goto(console_server.url + "/console")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert focused(page, "e.name") == "user"  # the form starts where typing starts
    page.keyboard.type(USER["user"])
    page.keyboard.press("Tab")
    page.keyboard.type(USER["password"])
    tab_to(page, "e.name === 'project'")
    page.keyboard.press("Control+A")
    page.keyboard.type(USER["project"])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Face sets").wait_for()
    # "Skip to content" comes first in the tab order and jumps past the
    # navigation without leaving the page.
    assert page.evaluate("document.querySelector('a[href], button, input, select, [tabindex]')"
                         ".textContent") == "Skip to content"
    page.locator(".skip").focus()
    page.keyboard.press("Enter")
    assert focused(page, "e.id") == "main"
    # The page's own render (its list arriving after the heading) must not take it back.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)
    assert focused(page, "e.id") == "main"
    assert page.evaluate("location.hash") == "#/sets"

    # Create a set with one custom field.
    tab_to(page, "e.name === 'face_set_name'")
    page.keyboard.type("kbd")
    tab_to(page, "e.id === 'add-field'")
    page.keyboard.press("Enter")
    assert focused(page, "e.name") == "field-name"  # focus moves into the new row
    page.keyboard.type("rank")
    tab_to(page, "e.id === 'create-set'")
    # The focus ring is visible on keyboard focus.
    assert focused(page, "getComputedStyle(e).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.get_by_text("Created face set kbd.").wait_for()

    # The drop zone opens the file chooser from the keyboard.
    page.goto(console_server.url + "/console#/add?set=kbd")
    page.get_by_role("heading", name="Add faces").wait_for()
    tab_to(page, "e.id === 'dropzone'")
    page.keyboard.press("Enter")
    for _ in range(100):
        if choosers:
            break
        page.wait_for_timeout(100)
    assert len(choosers) == 1 and choosers[0].is_multiple()

    # Delete: Escape cancels; the exact name typed confirms.
    page.goto(console_server.url + "/console#/sets")
    page.locator("tr[data-set=kbd]").wait_for()
    tab_to(page, "e.getAttribute('aria-label') === 'Delete kbd'")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert focused(page, "e.name") == "confirm"
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert page.locator("tr[data-set=kbd]").count() == 1
    tab_to(page, "e.getAttribute('aria-label') === 'Delete kbd'")
    page.keyboard.press("Enter")
    dialog.wait_for()
    page.keyboard.type("kb")  # not yet the name: the button stays off
    assert dialog.get_by_role("button", name="Delete").is_disabled()
    page.keyboard.press("Enter")
    assert page.locator("tr[data-set=kbd]").count() == 1
    page.keyboard.type("d")
    page.keyboard.press("Enter")
    page.get_by_text("Deleted face set kbd.").wait_for()
    assert page.locator("tr[data-set=kbd]").count() == 0
    w.assert_clean()


def test_phone_width(console_server, browser):
    api = Api(console_server)
    new_set(api, "phone", {"team": {"type": "string"}, "age": {"type": "integer"}})
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        w = watch(page)
        sign_in(page, console_server)
        for route in PAGES:
            page.goto(f"{console_server.url}/console#/{route}")
            page.locator("main h1").wait_for()
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"#/{route} is {width} px wide at a 390 px viewport"
        page.goto(f"{console_server.url}/console#/sets")
        page.locator("tr[data-set=phone]").wait_for()
        shot(page, "phone-390px")
        w.assert_clean()
    finally:
        context.close()
