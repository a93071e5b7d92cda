"""The console end to end, in Debian's Chromium against a real ``chalice
local``: sign in, create a face set with custom fields, upload three photos
(plus one broken file, whose FRS error shows on its own row), page, edit and
batch-delete faces, search (and a filter error at its column), compare,
detect and an uploaded liveness clip, asserting on what the page shows.
Each page is photographed into docs/console/ (shown in the README)."""
from __future__ import annotations

import re

import pytest

from testkit.clips import LIVENESS
from tests.conftest import STILLS

from .conftest import shot, sign_in, watch

PHOTOS = ["obama.jpg", "biden.jpg", "lin-manuel-miranda.png"]
CLIP = LIVENESS / "liveportrait" / "d12.mp4"  # wide mouth opening: alive for action 4


def still(name: str) -> str:
    path = STILLS / name
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent (../shared/datasets is only on dev/CI machines)")
    return str(path)


def test_console_end_to_end(console_server, page, tmp_path):
    photos = [still(n) for n in PHOTOS]
    probe, two_people = still("obama2.jpg"), still("two_people.jpg")
    if not CLIP.is_file():
        pytest.skip(f"dataset clip {CLIP} is absent")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not an image")
    # The provoked refusals (broken upload, bad filter) are logged by Chromium.
    w = watch(page, allow=("status of 400",))
    page.set_default_timeout(30_000)
    slow = 240_000  # model work (first request loads the models) on a shared machine

    page.goto(console_server.url + "/console")
    page.get_by_role("heading", name="Sign in").wait_for()
    shot(page, "signin")
    sign_in(page, console_server)

    # Create a face set with two custom fields.
    page.get_by_label("Name", exact=True).fill("staff")
    page.get_by_label("Capacity").select_option("20000")
    for name, ftype in (("team", "string"), ("age", "integer")):
        page.get_by_role("button", name="Add field").click()
        page.get_by_label("Field name").last.fill(name)
        page.get_by_label("Field type").last.select_option(ftype)
    page.get_by_role("button", name="Create face set").click()
    page.get_by_text("Created face set staff.").wait_for()
    row = page.locator("tr[data-set=staff]")
    assert row.locator("td").nth(0).inner_text() == "0"
    assert "0 / 20000" in row.inner_text()
    assert "team: string, age: integer" in row.inner_text()

    # Add faces: three photos and a broken file in one go, fields for the batch.
    row.get_by_role("link", name="Add faces").click()
    page.get_by_role("heading", name="Add faces").wait_for()
    assert page.get_by_label("Face set").input_value() == "staff"
    page.get_by_label("team (string)").fill("blue")
    page.get_by_label("age (integer)").fill("40")
    page.locator("#add-files").set_input_files(photos + [str(broken)])
    page.get_by_text("3 added, 1 failed, 0 waiting.").wait_for(timeout=slow)
    for name in PHOTOS:
        item = page.locator(f"li.upload[data-file='{name}']")
        assert re.search(r"added: face \w+", item.inner_text()), item.inner_text()
        assert item.locator("progress").evaluate("p => p.value") == 1
    bad = page.locator("li.upload[data-file='broken.jpg']")
    assert re.search(r"FRS\.\d{4}", bad.locator(".error .code").inner_text())
    shot(page, "add-faces")

    # Faces of the set: paged list with the fields; edit one; batch delete by filter.
    page.goto(console_server.url + "/console#/sets/staff")
    page.get_by_role("heading", name="Faces of staff").wait_for()
    page.locator(".page-info", has_text="1–3 of 3").wait_for()
    faces = page.locator("tr[data-face]")
    assert faces.count() == 3
    names = sorted(faces.locator("td:nth-child(2)").all_inner_texts())
    assert names == ["biden", "lin-manuel-miranda", "obama"]
    assert set(faces.locator("td[data-field=team]").all_inner_texts()) == {"blue"}
    obama = page.locator("tr[data-face]", has_text="obama").first
    obama.get_by_role("button", name=re.compile("^Edit")).click()
    page.locator("form.edit").get_by_label("age (integer)").fill("61")
    page.locator("form.edit").get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("^Saved face")).wait_for()
    edited = page.locator("tr[data-face]", has_text="obama").first
    assert edited.locator("td[data-field=age]").inner_text() == "61"
    page.get_by_label("Filter", exact=True).fill("external_image_id:biden")
    page.get_by_role("button", name="Preview count").click()
    page.get_by_text("1 face match this filter.").wait_for(timeout=slow)
    shot(page, "faces")
    page.get_by_role("button", name="Delete 1 faces").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.get_by_text("Deleted 1 faces.").wait_for()
    page.locator(".page-info", has_text="1–2 of 2").wait_for()

    # Search: the probe finds obama first; a broken filter is shown at its column.
    page.get_by_role("link", name="Search").click()
    page.get_by_role("heading", name="Search").wait_for()
    page.get_by_label("Face set").select_option("staff")
    page.get_by_label("Probe image").set_input_files(probe)
    page.get_by_label("filter").fill("team:blue && age:[18 TO 70]")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_text(re.compile(r"^\d+ match")).wait_for(timeout=slow)
    first = page.locator("tr[data-face]").first
    cells = first.locator("td").all_inner_texts()
    assert cells[2] == "obama"
    assert float(cells[1]) > 0.93
    shot(page, "search")
    page.get_by_label("filter").fill("age:[1 TO")
    page.get_by_role("button", name="Search", exact=True).click()
    err = page.locator(".error")
    err.wait_for(timeout=slow)
    assert err.locator(".code").inner_text() == "FRS.0029"
    caret = err.locator("pre.caret").inner_text()
    col = int(re.search(r"column (\d+)", err.locator(".msg").inner_text()).group(1))
    assert caret.splitlines()[1].index("^") == col - 1
    shot(page, "search-filter-error")

    # Compare: the same man twice, both boxed, above 0.93.
    page.get_by_role("link", name="Compare").click()
    page.get_by_label("First image").set_input_files(photos[0])
    page.get_by_label("Second image").set_input_files(probe)
    page.get_by_role("button", name="Compare", exact=True).click()
    verdict = page.locator("#compare-verdict")
    verdict.wait_for(timeout=slow)
    assert verdict.inner_text().startswith("Same person")
    assert float(re.search(r"similarity ([0-9.]+)", verdict.inner_text()).group(1)) > 0.93
    assert page.locator("canvas.boxed").count() == 2
    shot(page, "compare")

    # Detect: two people, two boxes.
    page.get_by_role("link", name="Detect").click()
    page.get_by_label("Image", exact=True).set_input_files(two_people)
    page.get_by_role("button", name="Detect faces").click()
    page.locator("#detect-count").wait_for(timeout=slow)
    assert page.locator("#detect-count").inner_text() == "2 faces found"
    assert page.get_by_role("table", name="Detected faces").locator("tbody tr").count() == 2
    shot(page, "detect")

    # Liveness: an uploaded clip, asked for the mouth action without windows.
    page.get_by_role("link", name="Liveness").click()
    page.get_by_label("Action", exact=True).select_option("4")
    page.get_by_label("Send the time windows (action_time)").uncheck()
    page.get_by_label(re.compile("^Video")).set_input_files(str(CLIP))
    page.get_by_role("button", name="Check liveness").click()
    page.locator("#live-verdict, section.page > .slot .error").first.wait_for(timeout=slow)
    refused = page.locator("section.page > .slot .error")
    assert refused.count() == 0, f"the service refused the clip: {refused.inner_text()}"
    assert page.locator("#live-verdict").inner_text() == "Alive"
    actions = page.get_by_role("table", name="Actions").locator("tbody tr")
    assert actions.count() == 1
    assert actions.locator("td").nth(1).inner_text() == "4 · Mouth"
    assert 0 < float(actions.locator("td").nth(2).inner_text()) <= 1
    picture = page.locator("img.live-picture")
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "liveness")

    w.assert_clean()
