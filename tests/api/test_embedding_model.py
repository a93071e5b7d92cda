"""Face sets remember which embedding model produced their vectors; adding to
or searching a set of another model is refused (FRS.0018), nothing written."""
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
def running(monkeypatch):
    """``running(model_id)``: from now on the engine reports ``model_id``, as
    after an operator installed another model."""
    def switch(model_id):
        monkeypatch.setattr(FaceEngine, "model_id", property(lambda self: model_id))
    return switch


@pytest.fixture
def forbid_image_work(monkeypatch):
    """``forbid_image_work()``: from now on, detecting or embedding fails the
    test (a refusal must come before any image work)."""
    def boom(*a, **k):
        raise AssertionError("the image was processed before the model check")

    def forbid():
        monkeypatch.setattr(FaceEngine, "detect", boom)
        monkeypatch.setattr(FaceEngine, "embed_many", boom)
    return forbid


def test_creation_records_the_running_model_without_exposing_it(client, needs_models):
    resp = create(client, "staff")
    model = engine_mod.get_engine().model_id
    assert model.startswith("dlib_resnet-")
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


def test_set_of_another_model_refuses_add_and_search(client, needs_models, running,
                                                     forbid_image_work):
    create(client, "old")
    first = add(client, "old").json_body["faces"][0]["face_id"]  # enrolled under model A
    model_a = get_store().get_face_set("proj-m", "old").embedding_model
    running(OTHER)
    forbid_image_work()
    resp = add(client, "old", "biden.jpg")
    assert err(resp) == (500, "FRS.0018")
    msg = resp.json_body["error_msg"]
    assert "'old'" in msg and model_a in msg and OTHER in msg and "Re-enrol" in msg
    assert count("old") == 1  # nothing written
    assert err(search(client, "old")) == (500, "FRS.0018")
    assert err(search(client, "old", face_id=first)) == (500, "FRS.0018")
    # Parameter errors still come first (400), as for every request.
    assert err(search(client, "old", top_n=0))[0] == 400
    # The set's faces remain readable and deletable: that is how it is emptied.
    assert client.http.get(f"{P}/face-sets/old/faces?face_id={first}").status_code == 200
    # A set created under the new model works with it.
    create(client, "new")
    assert get_store().get_face_set("proj-m", "new").embedding_model == OTHER


def test_legacy_set_of_unknown_model_is_accepted(client, needs_models, running):
    # As created before face sets recorded their model.
    get_store().create_face_set(FaceSetInfo("proj-m", "legacy", "LegacyId", "2026-01-01 00:00:00",
                                            10000, {}), 10)
    assert get_store().get_face_set("proj-m", "legacy").embedding_model == ""
    running(OTHER)  # whatever the engine runs
    resp = add(client, "legacy")
    assert resp.status_code == 200, resp.json_body
    assert count("legacy") == 1
    hits = search(client, "legacy")
    assert hits.status_code == 200 and len(hits.json_body["faces"]) == 1
    assert get_store().get_face_set("proj-m", "legacy").embedding_model == ""


def test_without_built_models_a_set_records_unknown(client, tmp_path, monkeypatch):
    monkeypatch.setenv("FRS_MODEL_DIR", str(tmp_path / "no-models"))
    monkeypatch.setattr(engine_mod._engine, "_value", FaceEngine())
    create(client, "early")
    assert get_store().get_face_set("proj-m", "early").embedding_model == ""
