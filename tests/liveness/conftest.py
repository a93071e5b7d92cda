"""Liveness tests need the dataset clips and the built models; without the
dataset they skip saying why (a user's fresh machine), in CI they run."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROLES = ("video_detector", "video_detector_full", "face_mesh", "iris")


@pytest.fixture(scope="session")
def liveness_models():
    d = Path(os.environ.get("FRS_MODEL_DIR") or REPO / "models")
    try:
        models = json.loads((d / "manifest.json").read_text())["models"]
    except (OSError, ValueError, KeyError):
        pytest.skip("models are not built: run `make models`")
    missing = [r for r in ROLES if r not in models]
    if missing:
        pytest.skip(f"liveness models {missing} are not built: run `make models`")
