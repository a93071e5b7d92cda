"""Face sets remember which embedding model produced their vectors. A set
keeps its model across an upgrade of the default (adds and searches use it,
a set never mixes two models); a set whose model is not built here is
refused (FRS.0018) before any image work, nothing written."""
import numpy as np
import pytest

from chalicelib.store import get_store
from chalicelib.store.base import FaceSetInfo
from chalicelib.vision import engine as engine_mod
from chalicelib.vision.engine import FaceEngine
from tests.api.helpers import b64, err, post_json
from tests.conftest import still

P = "/v2/proj-m"
OTHER = "other_model-0123abcd+t000000"


def create(client, name):
    resp = post_json(client, f"{P}/face-sets", {"face_set_name": name})
    assert resp.status_code == 200, resp.json_body
    return resp


def add(client, name, photo="obama.jpg"):
    return post_json(client, f"{P}/face-sets/{name}/faces",
                     {"image_base64": b64(still(photo)), "single": True})


def search(client, name, **body):
    return post_json(client, f"{P}/face-sets/{name}/search",
                     body or {"image_base64": b64(still("obama2.jpg"))})


def count(name):
    return get_store().get_face_set("proj-m", name).face_number


@pytest.fixture
def forbid_image_work(monkeypatch):
    """``forbid_image_work()``: from now on, detecting or embedding fails the
    test (a refusal must come before any image work)."""
    def boom(*a, **k):
        raise AssertionError("the image was processed before the model check")

    def forbid():
        monkeypatch.setattr(FaceEngine, "detect", boom)
        monkeypatch.setattr(engine_mod.Recognizer, "embed_many", boom)
    return forbid


def make_set(name, model):
    """A face set as an older release (or another model) left it."""
    get_store().create_face_set(FaceSetInfo("proj-m", name, name + "Id", "2026-01-01 00:00:00",
                                            10000, {}, embedding_model=model), 10)


def test_creation_records_the_running_model_without_exposing_it(client, needs_models):
    resp = create(client, "staff")
    model = engine_mod.get_engine().model_id
    assert model.startswith("sface-")
    assert get_store().get_face_set("proj-m", "staff").embedding_model == model
    # FRS has no such field: not in any response body.
    assert "embedding_model" not in resp.json_body["face_set_info"]
    assert model not in str(client.http.get(f"{P}/face-sets/staff").json_body)
    assert model not in str(client.http.get(f"{P}/face-sets").json_body)


def test_creating_a_face_set_loads_no_model(client, needs_models, monkeypatch):
    fresh = FaceEngine()
    monkeypatch.setattr(engine_mod._engine, "_value", fresh)
    create(client, "cheap")
    assert fresh._embedder is None and fresh._detector is None
    recorded = get_store().get_face_set("proj-m", "cheap").embedding_model
    fresh.embedder  # noqa: B018 - now load it: the id is the same
    assert recorded == fresh._embedder_id == fresh.model_id


def test_normal_path_unchanged(client, needs_models):
    create(client, "same")
    resp = add(client, "same")
    assert resp.status_code == 200, resp.json_body
    hits = search(client, "same").json_body["faces"]
    assert hits[0]["face_id"] == resp.json_body["faces"][0]["face_id"]
    assert hits[0]["similarity"] > 0.93


def test_set_of_a_model_not_built_here_refuses_add_and_search(client, needs_models,
                                                              forbid_image_work):
    create(client, "probe")
    first = add(client, "probe").json_body["faces"][0]["face_id"]
    make_set("old", OTHER)
    forbid_image_work()
    resp = add(client, "old", "biden.jpg")
    assert err(resp) == (500, "FRS.0018")
    msg = resp.json_body["error_msg"]
    assert OTHER in msg and "re-enrol" in msg
    assert count("old") == 0  # nothing written
    assert err(search(client, "old")) == (500, "FRS.0018")
    assert err(search(client, "old", face_id=first)) == (500, "FRS.0018")
    # Parameter errors still come first (400), as for every request.
    assert err(search(client, "old", top_n=0))[0] == 400
    # The set remains listable and deletable: that is how it is emptied.
    assert client.http.get(f"{P}/face-sets/old/faces").status_code == 200
    assert client.http.delete(f"{P}/face-sets/old").status_code == 200


def dlib_id():
    return engine_mod.get_engine().recognizer_of_family("dlib_resnet").model_id


def test_a_dlib_era_set_keeps_working_with_dlib(client, needs_models):
    """After the upgrade to SFace, a set made under dlib still adds and
    searches with dlib (its stored vectors are dlib's), new sets use the
    default, and face-compare uses the default."""
    engine = engine_mod.get_engine()
    make_set("dlib_era", dlib_id())
    resp = add(client, "dlib_era")
    assert resp.status_code == 200, resp.json_body
    face_id = resp.json_body["faces"][0]["face_id"]
    stored = get_store().get_face("proj-m", "dlib_era", face_id, with_vector=True).vector
    from chalicelib.vision import decode_image
    image = decode_image(still("obama.jpg"))
    face = engine.detect(image)[0]
    dlib_vec = engine.recognizer(dlib_id()).embed_many(image, [face])[0]
    sface_vec = engine.recognizer().embed_many(image, [face])[0]
    assert float(np.dot(stored, dlib_vec)) > 0.999   # the set's own model made it
    assert float(np.dot(stored, sface_vec)) < 0.9    # not the new default's
    hits = search(client, "dlib_era").json_body["faces"]
    assert hits[0]["face_id"] == face_id and hits[0]["similarity"] > 0.93
    assert search(client, "dlib_era", image_base64=b64(still("biden.jpg"))).json_body["faces"][0][
        "similarity"] < 0.93
    assert get_store().get_face_set("proj-m", "dlib_era").embedding_model == dlib_id()
    create(client, "fresh")
    assert get_store().get_face_set("proj-m", "fresh").embedding_model == engine.model_id != dlib_id()


def test_legacy_set_of_unknown_model_is_dlibs(client, needs_models):
    # As created before face sets recorded their model: dlib was the only one.
    get_store().create_face_set(FaceSetInfo("proj-m", "legacy", "LegacyId", "2026-01-01 00:00:00",
                                            10000, {}), 10)
    assert get_store().get_face_set("proj-m", "legacy").embedding_model == ""
    resp = add(client, "legacy")
    assert resp.status_code == 200, resp.json_body
    assert count("legacy") == 1
    hits = search(client, "legacy")
    assert hits.status_code == 200 and hits.json_body["faces"][0]["similarity"] > 0.93
    assert get_store().get_face_set("proj-m", "legacy").embedding_model == ""
    assert engine_mod.get_engine().recognizer("").model_id == dlib_id()


def test_without_built_models_a_set_records_unknown(client, tmp_path, monkeypatch):
    monkeypatch.setenv("FRS_MODEL_DIR", str(tmp_path / "no-models"))
    monkeypatch.setattr(engine_mod._engine, "_value", FaceEngine())
    create(client, "early")
    assert get_store().get_face_set("proj-m", "early").embedding_model == ""


def test_admin_cli_shows_each_face_sets_model(client, needs_models):
    from chalicelib.cli import admin
    create(client, "current")
    make_set("dlib_era", dlib_id())
    make_set("elsewhere", OTHER)
    get_store().create_face_set(FaceSetInfo("proj-m", "legacy", "LegacyId", "2026-01-01 00:00:00",
                                            10000, {}), 10)
    rows = {r["face_set_name"]: r for r in admin.run(["face-set", "list", "--project", "proj-m"])}
    assert rows["current"]["embedder_family"] == "sface" and rows["current"]["default_model"]
    assert rows["dlib_era"]["embedder_family"] == "dlib_resnet" and not rows["dlib_era"]["default_model"]
    assert rows["legacy"]["embedder_family"] == "dlib_resnet"
    assert rows["elsewhere"]["embedder_family"] == "not built here"
    assert rows["elsewhere"]["embedding_model"] == OTHER
