"""Concurrent clients against real ``chalice local`` processes on the
embedded store: capacity is never exceeded, no acknowledged face is lost,
reads during writes are consistent, and two processes sharing one data
directory behave as one service."""
from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from testkit import live
from tests.conftest import models_built, still

P = "/v2/conc"
CLIENTS = 8
ADDS = 3  # per client


@pytest.fixture(scope="module")
def photos():
    return {n: still(n) for n in ("obama.jpg", "biden.jpg", "obama2.jpg")}


@pytest.fixture
def data_dir(tmp_path):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    return tmp_path


def start(data_dir, name="server"):
    env = {**live.open_env(data_dir / "data"), **live.model_dir_with_calibration(data_dir / "models")}
    return live.Server(env, data_dir / f"{name}.log").start()


def create_set(url, name, capacity=10000):
    r = requests.post(url + P + "/face-sets", json={"face_set_name": name,
                                                    "face_set_capacity": capacity}, timeout=30)
    assert r.status_code == 200, r.text


def add(url, name, photo: bytes, eiid: str):
    return requests.post(url + f"{P}/face-sets/{name}/faces", timeout=120,
                         files={"image_file": ("f.jpg", photo, "image/jpeg")},
                         data={"external_image_id": eiid, "single": "true"})


def all_face_ids(url, name) -> list[str]:
    out, offset = [], 0
    while offset < 10000:  # FRS pages end at offset + limit = 10000
        r = requests.get(url + f"{P}/face-sets/{name}/faces",
                         params={"offset": offset, "limit": 1000}, timeout=60)
        assert r.status_code == 200, r.text
        page = [f["face_id"] for f in r.json()["faces"]]
        out += page
        if len(page) < 1000:
            break
        offset += 1000
    return out


def face_number(url, name) -> int:
    return requests.get(url + f"{P}/face-sets/{name}", timeout=30).json()["face_set_info"]["face_number"]


def prefill(data_dir, name, count, dim=128):
    """Fill a face set directly through the store (another writer process on
    the same directory, as the embedded store allows), so that a capacity of
    10,000 is within reach of a test."""
    from chalicelib.store.base import FaceRecord
    from chalicelib.store.embedded import EmbeddedStore
    store = EmbeddedStore(str(data_dir / "data"))
    rng = np.random.default_rng(0)
    try:
        for start_i in range(0, count, 1000):
            n = min(1000, count - start_i)
            vecs = rng.standard_normal((n, dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            store.add_faces("conc", name, [
                FaceRecord(face_id=_fid(start_i + i),
                           external_image_id=f"pre-{start_i + i}",
                           bounding_box={"top_left_x": 0, "top_left_y": 0, "width": 1, "height": 1},
                           external_fields={}, vector=v) for i, v in enumerate(vecs)])
    finally:
        store.close()


def _fid(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    s = ""
    for _ in range(8):
        s += letters[i % 52]
        i //= 52
    return s


def test_eight_clients_never_exceed_capacity(data_dir, photos):
    srv = start(data_dir)
    try:
        create_set(srv.url, "small", 10000)
        # The first face fixes the vector length; the rest are written directly.
        first = add(srv.url, "small", photos["obama.jpg"], "first")
        assert first.status_code == 200, first.text
        prefill(data_dir, "small", 9994)
        assert face_number(srv.url, "small") == 9995

        def attempt(i):
            return add(srv.url, "small", photos["obama.jpg"], f"c{i}")
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(attempt, range(2 * CLIENTS)))
        ok = [r for r in results if r.status_code == 200]
        full = [r for r in results if r.status_code == 403]
        assert len(ok) == 5 and len(full) == 2 * CLIENTS - 5, [r.status_code for r in results]
        assert {r.json()["error_code"] for r in full} == {"FRS.0306"}
        assert face_number(srv.url, "small") == 10000
        ids = all_face_ids(srv.url, "small")
        assert len(ids) == len(set(ids)) == 10000
        acked = {r.json()["faces"][0]["face_id"] for r in ok}
        assert acked <= set(ids)
    finally:
        srv.stop()


def test_no_acknowledged_face_is_lost_under_concurrent_adds(data_dir, photos):
    srv = start(data_dir)
    try:
        create_set(srv.url, "busy")
        names = list(photos)

        def client(c):
            acked = []
            for k in range(ADDS):
                r = add(srv.url, "busy", photos[names[(c + k) % len(names)]], f"c{c}-{k}")
                assert r.status_code == 200, r.text
                acked.append(r.json()["faces"][0]["face_id"])
            return acked
        with ThreadPoolExecutor(CLIENTS) as pool:
            acked = [f for batch in pool.map(client, range(CLIENTS)) for f in batch]
        ids = all_face_ids(srv.url, "busy")
        assert sorted(ids) == sorted(acked) and len(set(ids)) == CLIENTS * ADDS
        assert face_number(srv.url, "busy") == CLIENTS * ADDS
    finally:
        srv.stop()


def test_search_and_listing_during_adds_and_deletes_stay_consistent(data_dir, photos):
    """Writers add faces then delete some of them; readers search and list.
    Every face a reader sees was added at some point and is reported once;
    every face acknowledged before a read started and not being deleted is
    seen by that read; similarities come sorted."""
    srv = start(data_dir)
    url = srv.url
    try:
        create_set(url, "live")
        lock = threading.Lock()
        added: dict[str, float] = {}        # face_id -> time its add was acknowledged
        deleting: dict[str, float] = {}     # face_id -> time its delete was sent
        stop = threading.Event()
        problems: list[str] = []
        ever_seen: set[str] = set()
        query = base64.b64encode(photos["obama2.jpg"]).decode()

        def writer(w):
            for k in range(6):
                r = add(url, "live", photos["obama.jpg" if k % 2 else "biden.jpg"], f"w{w}-{k}")
                assert r.status_code == 200, r.text
                with lock:
                    added[r.json()["faces"][0]["face_id"]] = time.monotonic()
                if k % 3 == 2:  # delete one of this writer's faces
                    with lock:
                        mine = [f for f in added if f not in deleting]
                        victim = mine[-1] if mine else None
                        if victim:
                            deleting[victim] = time.monotonic()
                    if victim:
                        r = requests.delete(url + f"{P}/face-sets/live/faces",
                                            params={"face_id": victim}, timeout=60)
                        assert r.status_code == 200, r.text

        def reader(kind):
            while not stop.is_set():
                with lock:
                    t0 = time.monotonic()
                    must = {f for f, t in added.items() if t < t0 and f not in deleting}
                if kind == "search":
                    r = requests.post(url + f"{P}/face-sets/live/search",
                                      json={"image_base64": query, "top_n": 1000}, timeout=120)
                    if r.status_code != 200:
                        problems.append(f"search {r.status_code} {r.text[:200]}")
                        return
                    faces = r.json()["faces"]
                    sims = [f["similarity"] for f in faces]
                    if sims != sorted(sims, reverse=True):
                        problems.append("search results not sorted by similarity")
                    seen = [f["face_id"] for f in faces]
                else:
                    seen = all_face_ids(url, "live")
                if len(seen) != len(set(seen)):
                    problems.append(f"{kind}: a face reported twice")
                # A face may be seen between its commit and its acknowledgement,
                # so "was ever added" is checked once the writers are done.
                ever_seen.update(seen)
                if not must <= set(seen):
                    problems.append(f"{kind}: acknowledged faces missing {must - set(seen)}")

        readers = [threading.Thread(target=reader, args=(k,)) for k in ("search", "list")]
        for t in readers:
            t.start()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(writer, range(4)))
        stop.set()
        for t in readers:
            t.join(120)
        assert not problems, problems[:5]
        assert ever_seen <= set(added), f"phantom faces {ever_seen - set(added)}"
        final = set(all_face_ids(url, "live"))
        assert final == set(added) - set(deleting)
        assert face_number(url, "live") == len(final)
    finally:
        srv.stop()


def test_two_processes_on_one_data_directory(data_dir, photos):
    """Two chalice local processes on one directory: writes through either
    are seen by both, capacity and face counts stay exact, names stay unique."""
    a, b = start(data_dir, "a"), start(data_dir, "b")
    try:
        create_set(a.url, "shared")
        r = requests.post(b.url + P + "/face-sets", json={"face_set_name": "shared"}, timeout=30)
        assert r.json()["error_code"] == "FRS.0301"
        # b has a cached view of the set after a search; a's writes must show up in it.
        assert requests.post(b.url + f"{P}/face-sets/shared/search",
                             json={"image_base64": base64.b64encode(photos["obama.jpg"]).decode()},
                             timeout=60).json() == {"faces": []}

        def client(c):
            srv = (a, b)[c % 2]
            r = add(srv.url, "shared", photos["obama.jpg" if c % 2 else "biden.jpg"], f"p{c}")
            assert r.status_code == 200, r.text
            return r.json()["faces"][0]["face_id"]
        with ThreadPoolExecutor(CLIENTS) as pool:
            acked = set(pool.map(client, range(2 * CLIENTS)))
        for srv in (a, b):
            assert set(all_face_ids(srv.url, "shared")) == acked
            assert face_number(srv.url, "shared") == len(acked) == 2 * CLIENTS
            hits = requests.post(srv.url + f"{P}/face-sets/shared/search",
                                 json={"image_base64": base64.b64encode(photos["obama2.jpg"]).decode(),
                                       "top_n": 100}, timeout=60).json()["faces"]
            assert {h["face_id"] for h in hits} == acked
        # A delete through a is seen by b's cached view at once.
        victim = sorted(acked)[0]
        assert requests.delete(a.url + f"{P}/face-sets/shared/faces", params={"face_id": victim},
                               timeout=30).status_code == 200
        hits = requests.post(b.url + f"{P}/face-sets/shared/search",
                             json={"image_base64": base64.b64encode(photos["obama2.jpg"]).decode(),
                                   "top_n": 100}, timeout=60).json()["faces"]
        assert victim not in {h["face_id"] for h in hits} and len(hits) == len(acked) - 1
    finally:
        a.stop()
        b.stop()
