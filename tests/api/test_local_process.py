"""A few requests through a real `chalice local` process: the wiring a user
gets from `make serve`, and durability across a restart of the server."""
import base64
import signal

import pytest
import requests

from testkit.server import LocalServer
from tests.conftest import models_built, still


@pytest.fixture
def server_env(tmp_path):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    return {"FRS_DATA_DIR": str(tmp_path / "data"), "FRS_AUTH": "off", "FRS_STORE": "embedded"}


def test_write_restart_read_back(server_env):
    server = LocalServer(server_env).start()
    try:
        base = server.url + "/v2/proj"
        r = requests.post(base + "/face-sets", json={"face_set_name": "durable",
                                                     "external_fields": {"n": {"type": "integer"}}})
        assert r.status_code == 200
        r = requests.post(base + "/face-sets/durable/faces",
                          files={"image_file": ("o.jpg", still("obama.jpg"), "image/jpeg")},
                          data={"external_image_id": "ob", "external_fields": '{"n": 1}'})
        assert r.status_code == 200, r.text
        face_id = r.json()["faces"][0]["face_id"]
        assert requests.get(base + "/nope").status_code == 404
    finally:
        server.stop(signal.SIGKILL)  # no clean shutdown: what was acknowledged must survive
    server = LocalServer(server_env).start()
    try:
        r = requests.get(server.url + "/v2/proj/face-sets/durable/faces",
                         params={"face_id": face_id})
        assert r.status_code == 200 and r.json()["faces"][0]["external_image_id"] == "ob"
        r = requests.post(server.url + "/v2/proj/face-sets/durable/search",
                          json={"image_base64": base64.b64encode(still("obama2.jpg")).decode()})
        assert r.status_code == 200 and r.json()["faces"][0]["face_id"] == face_id
        assert r.headers["X-Request-Id"]
    finally:
        server.stop()
