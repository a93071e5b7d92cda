"""`make serve`, the newcomer's command, as a user runs it: the server must
keep serving across writes to its own data directory (Chalice's
auto-reloader restarts on any file change under the project, which the
embedded store's SQLite files are)."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from testkit.server import REPO, free_port

PROJECT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def make_serve(tmp_path):
    if not (REPO / ".venv" / "bin" / "chalice").exists():
        pytest.skip("no .venv: `make serve` would first create it (minutes)")
    port = free_port()
    # The data directory inside the checkout, as by default (.frs-data).
    data = REPO / f".frs-data-test-{port}"
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env.update(FRS_AUTH="off", FRS_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "--no-print-directory", "serve", f"FRS_PORT={port}"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                requests.get(f"{url}/v2/{PROJECT}/face-sets", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            pytest.fail("make serve did not start:\n" + log.read_text()[-3000:])
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(data)], check=False)


def test_make_serve_keeps_serving_across_writes(make_serve):
    url, log = make_serve
    for i in range(3):
        r = requests.post(f"{url}/v2/{PROJECT}/face-sets", json={"face_set_name": f"s{i}"}, timeout=30)
        assert r.status_code == 200, r.text
    time.sleep(2.5)  # Chalice's stat reloader polls once a second
    r = requests.get(f"{url}/v2/{PROJECT}/face-sets", timeout=30)
    assert r.status_code == 200
    assert sorted(s["face_set_name"] for s in r.json()["face_sets_info"]) == ["s0", "s1", "s2"]
    assert "Restarting local dev server" not in log.read_text()
