"""Hostile videos for LiveDetect: an image posing as a video, a zero-length
file, a 16 s clip, an audio-only file, a truncated MP4. Media are written at
test time with OpenCV (and the stdlib ``wave`` module for audio).

The analysis function the route feeds is tested now; the HTTP route is tested
once it is registered (issue 6), through both API versions and both body
kinds, and must leave nothing in the store.
"""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from tests.api.helpers import post_form, post_json
from tests.conftest import still
from tests.hardening import media as M

ROUTES = ("/v2/hv/live-detect", "/v1/hv/live-detect")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    photo = still("obama.jpg")
    face = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    ok_clip = M.write_video(d / "ok.mp4", 30, fps=10, image=face)
    return {
        # A still image is decodable by FFmpeg as one frame: no 1-15 s video.
        "jpeg image as video": (photo, {"FRS.0701", "FRS.0706"}),
        "png image as video": (M.reencode(photo, ".png"), {"FRS.0701", "FRS.0706"}),
        "zero-length video": (b"", {"FRS.0701", "FRS.0015", "FRS.0016", "FRS.0011"}),
        "16 s video": (M.write_video(d / "long.mp4", 160, fps=10), {"FRS.0706"}),
        "0.5 s video": (M.write_video(d / "short.mp4", 5, fps=10), {"FRS.0706"}),
        "audio only (wav)": (M.wav_audio_only(), {"FRS.0701"}),
        "truncated mp4": (ok_clip[:3000], {"FRS.0701"}),
        "pdf as video": (M.pdf(), {"FRS.0701"}),
        "8 MB + 1 byte": (M.padded_to(8 * 1024 * 1024 + 1, ok_clip), {"FRS.0017"}),
    }


CASES = ["jpeg image as video", "png image as video", "zero-length video", "16 s video",
         "0.5 s video", "audio only (wav)", "truncated mp4", "pdf as video", "8 MB + 1 byte"]


@pytest.mark.parametrize("case", CASES)
def test_liveness_analysis_refuses(corpus, needs_models, case):
    from chalicelib.errors import FrsError
    from chalicelib.liveness.detect import live_detect
    data, codes = corpus[case]
    with pytest.raises(FrsError) as exc:
        live_detect(data, "1")
    assert exc.value.code in codes and exc.value.status == 400, exc.value


def _route_registered() -> bool:
    from app import app
    return "/v2/{project_id}/live-detect" in app.routes


@pytest.mark.parametrize("case", CASES)
def test_live_detect_route_refuses(client, needs_models, corpus, case):
    if not _route_registered():
        pytest.skip("POST /v2/{project_id}/live-detect is not registered yet (issue 6)")
    data, codes = corpus[case]
    for route in ROUTES:
        r = post_json(client, route, {"video_base64": base64.b64encode(data).decode(),
                                      "actions": "1"})
        assert r.status_code == 400 and r.json_body["error_code"] in codes | {"FRS.0015"}, r.json_body
        r = post_form(client, route, {"video_file": ("v.mp4", data, "video/mp4"), "actions": "1"})
        assert r.status_code == 400 and r.json_body["error_code"] in codes, r.json_body
    assert client.http.get("/v2/hv/face-sets").json_body == {"face_sets_info": []}
