"""Crash durability: SIGKILL the server in the middle of a stream of adds,
restart it on the same data directory, and check that every acknowledged
face is there, that the counters match the rows (no half-applied write) and
that the database passes SQLite's integrity check."""
from __future__ import annotations

import base64
import signal
import sqlite3
import threading
import time

import pytest
import requests

from testkit import live
from tests.conftest import models_built, still

P = "/v2/crash"
WRITERS = 4
ROUNDS = 2
ACKS_BEFORE_KILL = 6  # per round: the kill lands while other adds are in flight


def start(tmp_path, n):
    return live.Server(live.open_env(tmp_path / "data"), tmp_path / f"server{n}.log").start()


def list_ids(url, name):
    r = requests.get(url + f"{P}/face-sets/{name}/faces", params={"limit": 1000}, timeout=60)
    assert r.status_code == 200, r.text
    return {f["face_id"] for f in r.json()["faces"]}


def test_sigkill_mid_stream_loses_no_acknowledged_face(tmp_path):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    images = [base64.b64encode(still(n)).decode() for n in ("obama.jpg", "biden.jpg")]
    acked: set[str] = set()
    lock = threading.Lock()
    srv = start(tmp_path, 0)
    assert requests.post(srv.url + P + "/face-sets", json={"face_set_name": "stream"},
                         timeout=30).status_code == 200
    for rnd in range(ROUNDS):
        stop = threading.Event()
        in_flight_at_kill = []

        def writer(w, stop=stop, srv=srv, rnd=rnd, in_flight_at_kill=in_flight_at_kill):
            k = 0
            while not stop.is_set():
                try:
                    r = requests.post(srv.url + f"{P}/face-sets/stream/faces", timeout=60,
                                      json={"image_base64": images[(w + k) % 2],
                                            "external_image_id": f"r{rnd}w{w}k{k}"})
                except requests.RequestException:
                    in_flight_at_kill.append(w)
                    return  # the server died under this request: not acknowledged
                k += 1
                if r.status_code == 200:
                    with lock:
                        acked.update(f["face_id"] for f in r.json()["faces"])
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        before = len(acked)
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(acked) < before + ACKS_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.02)
        srv.stop(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(60)
        assert len(acked) >= before + ACKS_BEFORE_KILL
        assert in_flight_at_kill, "the kill should land while adds are in flight"

        # Opened cold, the database recovers its WAL and is intact.
        db = sqlite3.connect(tmp_path / "data" / "frs.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
            number = db.execute("SELECT face_number FROM face_sets WHERE name='stream'").fetchone()[0]
            assert rows == number  # counters and rows change in one transaction
        finally:
            db.close()

        srv = start(tmp_path, rnd + 1)
        ids = list_ids(srv.url, "stream")
        assert acked <= ids, f"acknowledged faces lost: {sorted(acked - ids)}"
        info = requests.get(srv.url + f"{P}/face-sets/stream", timeout=30).json()["face_set_info"]
        assert info["face_number"] == len(ids)
    # The restarted service still writes.
    r = requests.post(srv.url + f"{P}/face-sets/stream/faces", json={"image_base64": images[0]},
                      timeout=60)
    assert r.status_code == 200, r.text
    srv.stop()
