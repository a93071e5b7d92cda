"""Fixtures for the vision engine tests: real images from ../shared/datasets
(skipped with a reason when absent) and one engine for the whole session."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import dataset_file as data_file  # re-exported for the vision tests

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def engine():
    model_dir = REPO / "models"
    import os
    if not (Path(os.environ.get("FRS_MODEL_DIR") or model_dir) / "manifest.json").exists():
        pytest.skip("models are not built: run `make models`")
    from chalicelib.vision import get_engine
    return get_engine()


@pytest.fixture(scope="session")
def load():
    """Decode a dataset image through the API's decoder."""
    from chalicelib.vision import decode_image

    def _load(*parts):
        return decode_image(data_file(*parts).read_bytes())
    return _load


def central_face(engine, image):
    """The detected face nearest the image's centre (LFW/UTKFace photos are
    centred on their subject)."""
    faces = engine.detect(image)
    assert faces
    h, w = image.shape[:2]
    return min(faces, key=lambda f: abs(f.box[0] + f.box[2] / 2 - w / 2)
               + abs(f.box[1] + f.box[3] / 2 - h / 2))
