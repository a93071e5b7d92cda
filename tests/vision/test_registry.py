"""The model registry: manifest roles name families, the registry names the
code; the engine finds a face set's recogniser by the model id it recorded."""
from __future__ import annotations

import json

import pytest

from chalicelib.errors import FrsError
from chalicelib.vision import registry
from chalicelib.vision.embedder import EmbedderFamily
from chalicelib.vision.engine import FaceEngine
from tests.conftest import REPO


@pytest.fixture(scope="module")
def manifest(engine):
    return json.loads((REPO / "models" / "manifest.json").read_text())["models"]


def test_every_built_detector_and_embedder_has_a_registered_family(manifest):
    kinds = {role: entry for role, entry in manifest.items() if entry.get("kind")}
    assert {"detector", "embedder", "embedder_dlib"} <= set(kinds)
    for role, entry in kinds.items():
        table = registry.DETECTORS if entry["kind"] == "detector" else registry.EMBEDDERS
        assert entry["family"] in table, (role, entry["family"])
    assert manifest["embedder"]["family"] == "sface"          # the default
    assert manifest["embedder_dlib"]["family"] == "dlib_resnet"  # kept for older face sets


def test_families_declare_their_recipe():
    for name, fam in registry.EMBEDDERS.items():
        assert isinstance(fam, EmbedderFamily) and fam.name == name
        assert fam.template.shape == (5, 2)
        assert (fam.template > 0).all() and (fam.template < fam.chip_size).all()


def test_recognizers_are_found_by_the_model_id_a_face_set_recorded(engine):
    ids = engine.declared_ids()
    assert {"embedder", "embedder_dlib"} <= set(ids)
    for role, model_id in ids.items():
        rec = engine.recognizer(model_id)
        assert rec.role == role and rec.model_id == model_id
    assert engine.recognizer().model_id == ids["embedder"] == engine.model_id
    assert engine.recognizer("").family_name == registry.LEGACY_EMBEDDER
    assert engine.recognizer_of_family("dlib_resnet").model_id == ids["embedder_dlib"]


def test_an_unknown_model_id_is_frs_0018_naming_it(engine):
    with pytest.raises(FrsError) as exc:
        engine.recognizer("nobody-00000000+t000000")
    assert exc.value.code == "FRS.0018" and "nobody-00000000+t000000" in exc.value.msg


def test_finding_a_recognizer_loads_only_that_model(engine):
    fresh = FaceEngine()
    fresh.declared_ids()
    assert fresh._recognizers == {} and fresh._detector is None
    fresh.recognizer_of_family("dlib_resnet")
    assert set(fresh._recognizers) == {"embedder_dlib"}


def test_two_families_give_vectors_of_their_own_kind(engine, load):
    """The same face embedded by both models: each is consistent with itself
    across photos, and the two are not interchangeable."""
    a = load("stills", "face_recognition", "obama.jpg")
    b = load("stills", "face_recognition", "obama2.jpg")
    fa, fb = engine.detect(a)[0], engine.detect(b)[0]
    for family in ("sface", "dlib_resnet"):
        rec = engine.recognizer_of_family(family)
        va, vb = rec.embed_many(a, [fa])[0], rec.embed_many(b, [fb])[0]
        assert rec.similarity(float(va @ vb)) > 0.93, family
    s = engine.recognizer_of_family("sface").embed_many(a, [fa])[0]
    d = engine.recognizer_of_family("dlib_resnet").embed_many(a, [fa])[0]
    assert float(s @ d) < 0.5
