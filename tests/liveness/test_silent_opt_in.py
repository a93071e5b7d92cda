"""Silent liveness depends on an opt-in model: without it the route answers
FRS.0020 (sub-service not enabled) before doing any work."""
import json
import shutil

import pytest

from tests.api.helpers import b64, err, post_json
from tests.conftest import REPO, models_built, still


def test_without_the_opt_in_model_silent_liveness_is_frs_0020(client, tmp_path, monkeypatch):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    src = REPO / "models"
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["models"].pop("passive_liveness", None)
    for entry in manifest["models"].values():
        shutil.copy(src / entry["file"], tmp_path / entry["file"])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("FRS_MODEL_DIR", str(tmp_path))
    import chalicelib.liveness.silent as silent
    silent._sess.reset()
    resp = post_json(client, "/v1/p/live-detect-face", {"image_base64": b64(still("obama.jpg"))})
    assert err(resp) == (400, "FRS.0020")
    assert "opt-in" in resp.json_body["error_msg"]
