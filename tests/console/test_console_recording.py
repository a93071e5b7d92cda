"""Recording a liveness challenge in the browser: Chromium's fake camera
plays a real clip (written as Y4M, the format its fake capture reads), the
page prompts the action in its window while MediaRecorder records, and the
recording (WebM) goes to POST /live-detect with actions and action_time."""
from __future__ import annotations

import re

import cv2
import pytest

from testkit import browser as kit
from testkit.clips import Clip, MissingClip

from .conftest import shot, sign_in, watch

CLIP = "liveportrait/d12.mp4"  # wide mouth opening and closing, again and again


def write_y4m(clip: Clip, path) -> None:
    h, w = clip.frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{round(clip.fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in clip.frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


@pytest.fixture
def camera_page(tmp_path, browser):
    try:
        clip = Clip.load(CLIP)
    except MissingClip as e:
        pytest.skip(str(e))
    y4m = tmp_path / "camera.y4m"
    write_y4m(clip, y4m)
    # A second Chromium from the session's Playwright (one per process), with
    # the camera flags the shared one does not have.
    camera = browser.browser_type.launch(
        executable_path=kit.chromium_path(), headless=True,
        args=kit.launch_args() + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                                  f"--use-file-for-fake-video-capture={y4m}"])
    context = camera.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["camera"])
    try:
        yield context.new_page()
    finally:
        context.close()
        camera.close()


def test_record_a_challenge_in_the_browser(console_server, camera_page):
    page = camera_page
    w = watch(page)
    # Playwright does not show a multipart body with a Blob: note what the page sends.
    page.add_init_script("""
        window.__sentForms = [];
        const send = XMLHttpRequest.prototype.send;
        XMLHttpRequest.prototype.send = function (body) {
            if (body instanceof FormData) {
                const seen = {};
                for (const [k, v] of body.entries()) {
                    seen[k] = v instanceof Blob ? { type: v.type, size: v.size } : v;
                }
                window.__sentForms.push(seen);
            }
            return send.call(this, body);
        };""")
    page.set_default_timeout(30_000)
    sign_in(page, console_server)
    page.goto(console_server.url + "/console#/liveness")
    page.get_by_label("Action", exact=True).select_option("4")  # window 1000-4000 ms by default
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_function("() => document.querySelector('video.camera').videoWidth > 0")
    page.get_by_role("button", name="Record the challenge").click()
    prompt = page.locator("#live-prompt")
    prompt.filter(has_text="next: Mouth").wait_for()  # before the window: what comes next
    prompt.filter(has_text="Open and close your mouth").wait_for()  # inside it
    assert "active" in (prompt.get_attribute("class") or "")
    prompt.filter(has_text=re.compile(r"^Recorded 4\.3 s")).wait_for()
    duration = page.evaluate("""() => new Promise((resolve) => {
        const v = document.querySelector('video.player');
        // A MediaRecorder WebM has no duration in its header: seek far to learn it.
        const done = () => { if (Number.isFinite(v.duration)) resolve(v.duration); };
        v.addEventListener('durationchange', done);
        v.currentTime = 1e6;
        done();
    })""")
    assert 3.5 < duration < 5.5, duration
    page.get_by_role("button", name="Check liveness").click()
    sent = page.evaluate("window.__sentForms")[-1]
    assert sent["actions"] == "4" and sent["action_time"] == "1000-4000"
    assert sent["video_file"]["type"].startswith("video/webm") and sent["video_file"]["size"] > 10_000
    # The verdict, or the service's error (then fail at once, saying which).
    page.locator("#live-verdict, section.page > .slot .error").first.wait_for(timeout=240_000)
    refused = page.locator("section.page > .slot .error")
    assert refused.count() == 0, f"the service refused the recording: {refused.inner_text()}"
    verdict = page.locator("#live-verdict").inner_text()
    actions = page.get_by_role("table", name="Actions").locator("tbody tr")
    assert actions.count() == 1
    assert actions.locator("td").nth(1).inner_text() == "4 · Mouth"
    # The fake camera shows the clip's mouth opening and closing throughout.
    assert verdict == "Alive", page.locator(".live-result").inner_text()
    shot(page, "liveness-recorded")
    w.assert_clean()
