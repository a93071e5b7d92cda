"""Console pages beyond the end-to-end walk: paging through a set's faces,
search with sort and return_fields, and the whole console under an API
Gateway stage prefix (/api/console: every URL it uses is relative)."""
from __future__ import annotations

import base64
import re

import pytest

from tests.conftest import STILLS

from .conftest import USER, Api, new_set, shot, sign_in, watch


@pytest.fixture(scope="module")
def paged_set(console_server):
    path = STILLS / "obama.jpg"
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent (../shared/datasets is only on dev/CI machines)")
    api = Api(console_server)
    new_set(api, "paged", {"n": {"type": "integer"}, "tag": {"type": "string"}})
    for i in range(12):
        r = api("POST", "/face-sets/paged/faces", files={"image_file": ("o.jpg", path.read_bytes())},
                data={"external_image_id": f"face{i:02d}", "external_fields": f'{{"n": {i}, "tag": "t{i}"}}'})
        assert r.status_code == 200, r.text
    return "paged"


def test_paging_offset_and_limit(console_server, page, paged_set):
    w = watch(page)
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/sets/paged")
    info = page.locator(".page-info")
    info.filter(has_text=re.compile("^1–10 of 12$")).wait_for()
    assert page.locator("tr[data-face]").count() == 10
    assert page.get_by_role("button", name="‹ Previous").is_disabled()
    page.get_by_role("button", name="Next ›").click()
    info.filter(has_text="11–12 of 12").wait_for()
    assert page.locator("tr[data-face] td:nth-child(2)").all_inner_texts() == ["face10", "face11"]
    assert page.get_by_role("button", name="Next ›").is_disabled()
    page.get_by_label("Faces per page").select_option("20")
    info.filter(has_text=re.compile("^1–12 of 12$")).wait_for()
    assert page.locator("tr[data-face]").count() == 12
    # Delete one face (after a confirmation).
    page.locator("tr[data-face]", has_text="face11").get_by_role("button", name=re.compile("^Delete")).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    info.filter(has_text=re.compile("^1–11 of 11$")).wait_for()
    assert "face11" not in page.locator("tr[data-face] td:nth-child(2)").all_inner_texts()
    w.assert_clean()


def test_dropping_files_adds_each(console_server, page, tmp_path):
    """A real drop event carrying two files (one not an image) on the drop zone."""
    path = STILLS / "biden.jpg"
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent")
    new_set(Api(console_server), "dropped")
    w = watch(page, allow=("status of 400",))
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/add?set=dropped")
    page.locator("#dropzone").wait_for()
    b64 = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'biden.jpg', { type: 'image/jpeg' }));
        dt.items.add(new File(['not an image'], 'notes.txt', { type: 'text/plain' }));
        return dt;
    }""", b64)
    page.locator("#dropzone").dispatch_event("dragover", {"dataTransfer": transfer})
    assert "over" in page.locator("#dropzone").get_attribute("class")
    page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": transfer})
    page.get_by_text("1 added, 1 failed, 0 waiting.").wait_for(timeout=240_000)
    assert "added: face" in page.locator("li.upload[data-file='biden.jpg']").inner_text()
    assert page.locator("li.upload[data-file='notes.txt'] .error .code").inner_text().startswith("FRS.")
    w.assert_clean()


def test_search_sort_and_return_fields(console_server, page, paged_set):
    probe = STILLS / "obama2.jpg"
    if not probe.is_file():
        pytest.skip(f"dataset file {probe} is absent")
    w = watch(page)
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/search?set=paged")
    page.get_by_label("Probe image").set_input_files(str(probe))
    page.get_by_label("top_n").fill("5")
    page.get_by_label("threshold").fill("0.93")
    page.get_by_label("n", exact=True).check()  # return_fields: n only
    page.get_by_role("button", name="Add sort key").click()
    page.get_by_label("Sort field").select_option("n")
    page.get_by_label("Sort order").select_option("desc")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator("#search-count").wait_for(timeout=240_000)
    table = page.get_by_role("table", name="Search results")
    headers = table.locator("thead th").all_inner_texts()
    assert headers[-1] == "n" and "tag" not in headers
    values = [int(v) for v in table.locator("tbody tr td:last-child").all_inner_texts()]
    assert len(values) == 5 and values == sorted(values, reverse=True)
    assert all(float(s) >= 0.93 for s in table.locator("tbody tr td:nth-child(2)").all_inner_texts())
    w.assert_clean()


def test_console_under_a_stage_prefix(console_server, page):
    """Behind API Gateway the console is /STAGE/console and the API /STAGE/v2/...;
    here a route in the browser strips /api before the request reaches chalice
    local, so any absolute URL the console used would miss it."""
    prefix = console_server.url + "/api"
    seen: list[str] = []

    def through_stage(route):
        seen.append(route.request.url)
        response = route.fetch(url=console_server.url + route.request.url[len(prefix):])
        route.fulfill(response=response)

    page.route(re.compile("^" + re.escape(prefix) + "/"), through_stage)
    page.route(re.compile("^" + re.escape(console_server.url) + "/(?!api/)"),
               lambda route: route.abort())  # anything outside the stage: refused
    w = watch(page)
    page.goto(prefix + "/console")
    page.get_by_label("User name").fill(USER["user"])
    page.get_by_label("Password").fill(USER["password"])
    page.get_by_label("Project").fill(USER["project"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Face sets").wait_for()
    page.locator("table, p.empty").first.wait_for()
    assert any(u.endswith("/api/v3/auth/tokens") for u in seen)
    assert any("/api/v2/" in u and u.endswith("/face-sets") for u in seen)
    assert any(u.endswith("/api/console/app.js") for u in seen)
    w.assert_clean()
    page.unroute_all(behavior="wait")  # let a request still in flight finish before teardown


def test_sign_in_is_required_for_every_page(console_server, page):
    page.goto(console_server.url + "/console#/search")
    page.get_by_role("heading", name="Sign in").wait_for()
    sign_in(page, console_server)


def test_detect_shows_attributes_when_the_service_gives_them(console_server, page):
    path = STILLS / "obama.jpg"
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent")
    api = Api(console_server)
    r = api("POST", "/face-detect", files={"image_file": ("o.jpg", path.read_bytes())},
            data={"attributes": "12,21"})
    assert r.status_code == 200, r.text
    expected = r.json()["faces"][0].get("attributes")
    if not expected:
        pytest.skip("this build's face-detect answers no attributes")
    w = watch(page)
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/detect")
    page.get_by_label("Image", exact=True).set_input_files(str(path))
    page.get_by_label("Attributes").fill("12,21")
    page.get_by_role("button", name="Detect faces").click()
    page.locator("#detect-count").wait_for(timeout=240_000)
    shown = page.get_by_role("table", name="Detected faces").locator("dl.attrs")
    terms = shown.locator("dt").all_inner_texts()
    # Every leaf of the answer, named by its path (quality.blur, face_angle.yaw ...).
    def leaves(obj, prefix=""):
        for k, v in obj.items():
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"
    assert sorted(terms) == sorted(leaves(expected))
    shot(page, "detect-attributes", target=page.locator("main"))
    w.assert_clean()
