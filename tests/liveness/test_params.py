"""Request validation: each bad parameter gets its documented FRS code
before any video is decoded."""
from __future__ import annotations

import pytest

from chalicelib.errors import FrsError
from chalicelib.liveness import request as params
from chalicelib.liveness.detect import live_detect


@pytest.mark.parametrize("actions,code", [
    (None, "FRS.0011"), ("", "FRS.0011"), ("6", "FRS.0702"), ("1,0", "FRS.0702"),
    ("1,,2", "FRS.0702"), ("left", "FRS.0702"), ("1;2", "FRS.0702"), (1.5, "FRS.0702"),
    (",".join(["1"] * 11), "FRS.0704"),
])
def test_bad_actions(actions, code):
    with pytest.raises(FrsError) as err:
        params.parse(actions)
    assert err.value.code == code


@pytest.mark.parametrize("action_time", [
    "3000-1000", "1000-1000", "1000", "a-b", "1000-3000,4000-7000", "-1000-2000",
    "1000-16000", "1000 - 3000x", 1000,
])
def test_bad_action_time(action_time):
    with pytest.raises(FrsError) as err:
        params.parse("1", action_time)
    assert err.value.code == "FRS.0703"


@pytest.mark.parametrize("value", [0, 91, "ten", float("nan"), True, -5, "1e9"])
def test_bad_nod_threshold(value):
    with pytest.raises(FrsError) as err:
        params.parse("3", None, value)
    assert err.value.code == "FRS.0012"


def test_good_request():
    req = params.parse("1,3,2", "1000-3000,4000-7000,9000-12000", "15")
    assert req.actions == [1, 3, 2]
    assert req.windows == [(1.0, 3.0), (4.0, 7.0), (9.0, 12.0)]
    assert req.nod_threshold == 15.0
    assert params.parse(" 5 ").nod_threshold == params.DEFAULT_NOD
    assert params.parse([1, 2]).actions == [1, 2]


def test_params_checked_before_video():
    # A bad action fails with 0702 even though the bytes are not a video.
    with pytest.raises(FrsError) as err:
        live_detect(b"not a video", "9")
    assert err.value.code == "FRS.0702"


@pytest.mark.parametrize("data", [b"", b"garbage" * 100, bytes(1000)])
def test_undecodable_video(data, liveness_models):
    with pytest.raises(FrsError) as err:
        live_detect(data, "1")
    assert err.value.code == "FRS.0701"
