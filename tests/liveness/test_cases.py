"""The labelled suite (cases.py): every case is decided by the real
pipeline on clips derived from the real dataset clips."""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from chalicelib.errors import FrsError
from chalicelib.liveness.detect import live_detect
from testkit.clips import MissingClip
from testkit.liveness_cases import CASES, Case


def _video(case: Case) -> bytes:
    try:
        return case.video()
    except MissingClip as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, liveness_models):
    data = _video(case)
    if case.expect_error:
        with pytest.raises(FrsError) as err:
            live_detect(data, case.actions, case.action_time, case.nod_threshold)
        assert err.value.code == case.expect_error, err.value.msg
        return
    body = live_detect(data, case.actions, case.action_time, case.nod_threshold)
    vr = body["video-result"]
    assert set(body) == {"video-result", "warning-list"}
    assert [a["action"] for a in vr["actions"]] == [int(a) for a in case.actions.split(",")]
    assert all(0.0 <= a["confidence"] <= 1.0 for a in vr["actions"])
    found = [a["confidence"] >= 0.5 for a in vr["actions"]]
    warnings = {w["warningCode"] for w in body["warning-list"]}
    assert (vr["alive"], found) == (case.expect_alive, case.expect_found)
    core = {c for c in warnings if c < 100}
    assert case.warnings_ok(core), (core, case.expect_warnings)
    for w in body["warning-list"]:
        assert set(w) == {"warningCode", "warningMsg"} and w["warningMsg"]
    # The picture is a decodable JPEG of a frame that holds the face.
    pic = cv2.imdecode(np.frombuffer(base64.b64decode(vr["picture"]), np.uint8), cv2.IMREAD_COLOR)
    assert pic is not None and min(pic.shape[:2]) >= 64
