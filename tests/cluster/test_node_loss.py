"""Losing a data node of a three-node OpenSearch cluster under load (issue 15).

``make test-cluster`` starts the cluster (scripts/opensearch-cluster.sh), runs this with
``OPENFRS_CLUSTER_TEST=1`` and stops every node afterwards. Four threads add faces and
search through ``OpenSearchStore.from_env`` (a client that knows all three nodes, one
replica per index); the node holding the first face set's primary is SIGKILLed, stays
down for ``OPENFRS_CLUSTER_DOWN_S`` seconds under load, is restarted, and the load goes on
until the cluster is green again. Then:

* every acknowledged face (``add_faces`` returned) is present exactly once, on every copy;
* ``face_number`` and the capacity counter equal the documents present;
* every failed request was a clean ``FrsError`` (an FRS code) within the client timeout, and
  failures fall in one short window around the kill.

The numbers go to stdout and to ``OPENFRS_CLUSTER_REPORT`` (JSON) for docs/opensearch.md.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from chalicelib.api.http import error_response
from chalicelib.config import Settings
from chalicelib.errors import FrsError
from chalicelib.store.base import FaceRecord, FaceSetInfo
from chalicelib.store.opensearch import OpenSearchStore

pytestmark = pytest.mark.skipif(
    os.environ.get("OPENFRS_CLUSTER_TEST") != "1",
    reason="needs a local three-node cluster: run `make test-cluster` (sets OPENFRS_CLUSTER_TEST=1)")

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "opensearch-cluster.sh"
URLS = os.environ.get("OPENFRS_CLUSTER_URLS",
                      "http://127.0.0.1:9301,http://127.0.0.1:9302,http://127.0.0.1:9303")
TIMEOUT_S = float(os.environ.get("OPENFRS_CLUSTER_CLIENT_TIMEOUT", "10"))
WARM_S = float(os.environ.get("OPENFRS_CLUSTER_WARM_S", "10"))
DOWN_S = float(os.environ.get("OPENFRS_CLUSTER_DOWN_S", "20"))
AFTER_S = float(os.environ.get("OPENFRS_CLUSTER_AFTER_S", "10"))
GREEN_LIMIT_S = float(os.environ.get("OPENFRS_CLUSTER_GREEN_LIMIT_S", "240"))
MAX_WINDOW_S = float(os.environ.get("OPENFRS_CLUSTER_MAX_WINDOW_S", "30"))
THREADS, BATCH, DIM = 4, 5, 64


def _script(*args: str) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{SCRIPT.name} {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout.strip()


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class Load:
    """Four threads: add a batch of faces, then search; every call timed and logged."""

    def __init__(self, store: OpenSearchStore, project: str, sets: list[str]) -> None:
        self.store, self.project, self.sets = store, project, sets
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.log: list[dict] = []  # op, set, t0, t1, ok, code, status, msg
        self.acked: dict[str, list[str]] = {s: [] for s in sets}
        self.unacked: dict[str, list[str]] = {s: [] for s in sets}
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(THREADS)]

    def _call(self, op: str, name: str, fn: object) -> bool:
        t0 = time.monotonic()
        rec: dict = {"op": op, "set": name, "t0": t0, "ok": True}
        try:
            fn()  # type: ignore[operator]
        except FrsError as e:
            rec.update(ok=False, code=e.code, status=e.status, msg=e.msg)
        except Exception as e:  # not a clean FRS error: the HTTP layer would say "Internal service error"
            rec.update(ok=False, code=None, status=500, msg=f"{type(e).__name__}: {e}"[:300])
            with self.lock:
                self.unexpected.append(rec["msg"])
        rec["t1"] = time.monotonic()
        with self.lock:
            self.log.append(rec)
        return bool(rec["ok"])

    def _run(self, i: int) -> None:
        rng = np.random.default_rng(i)
        name = self.sets[i % len(self.sets)]
        n = 0
        while not self.stop.is_set():
            faces = [FaceRecord(face_id=f"t{i}-{n + k}-{uuid.uuid4().hex[:8]}", external_image_id=f"img{i}",
                                bounding_box={"top_left_x": 0, "top_left_y": 0, "width": 1, "height": 1},
                                vector=_unit(rng)) for k in range(BATCH)]
            n += BATCH
            ok = self._call("add", name, lambda f=faces: self.store.add_faces(self.project, name, f))
            with self.lock:
                (self.acked if ok else self.unacked)[name].extend(f.face_id for f in faces)
            q = _unit(rng)
            self._call("search", name, lambda q=q: self.store.search(self.project, name, q, 10))

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=4 * TIMEOUT_S + 30)
            assert not t.is_alive(), "a client thread hangs"


def _window(recs: list[dict]) -> dict:
    bad = [r for r in recs if not r["ok"]]
    if not bad:
        return {"requests": len(recs), "errors": 0, "window_s": 0.0}
    first, last = min(r["t0"] for r in bad), max(r["t1"] for r in bad)
    return {"requests": len(recs), "errors": len(bad), "window_s": round(last - first, 2),
            "first": first, "last": last}


def _all_ids(store: OpenSearchStore, index: str) -> Counter:
    ids: Counter = Counter()
    after = None
    while True:
        body: dict = {"query": {"match_all": {}}, "_source": ["face_id"], "size": 1000,
                      "sort": [{"seq": "asc"}]}
        if after is not None:
            body["search_after"] = after
        hits = store.client.search(index=index, body=body)["hits"]["hits"]
        ids.update(h["_source"]["face_id"] for h in hits)
        if len(hits) < 1000:
            return ids
        after = hits[-1]["sort"]


def _probe(name: str, fn: object) -> dict:
    t0 = time.monotonic()
    out: dict = {"probe": name}
    try:
        fn()  # type: ignore[operator]
        out["answer"] = "ok"
    except FrsError as e:
        resp = error_response(e, "rid")
        out.update(answer="FrsError", status=resp.status_code, body=json.loads(resp.body))
    except Exception as e:
        out["answer"] = f"not an FrsError: {type(e).__name__}: {e}"[:300]
    out["seconds"] = round(time.monotonic() - t0, 2)
    return out


def _probes(env: dict, victim: int, red: OpenSearchStore, project: str,
            rng: np.random.Generator) -> list[dict]:
    """What the service answers while the node is down: through a client that knows only the
    dead node, and on a face set whose only shard copy was on it (red)."""
    urls = URLS.split(",")
    pinned = OpenSearchStore.from_env(dict(env, OPENSEARCH_URL=urls[victim - 1]))
    q = _unit(rng)
    face = FaceRecord(face_id="late", external_image_id="r", bounding_box={}, vector=_unit(rng))
    try:
        return [_probe("search, client knowing only the dead node",
                       lambda: pinned.search(project, "set_a", q, 10)),
                _probe("search on a red face set (no replica)",
                       lambda: red.search(project, "set_red", q, 10)),
                _probe("add to a red face set", lambda: red.add_faces(project, "set_red", [face])),
                _probe("get_face_set of the red face set", lambda: red.get_face_set(project, "set_red"))]
    finally:
        pinned.close()


def _health(store: OpenSearchStore) -> str:
    try:
        return str(store.client.cluster.health(request_timeout=3)["status"])
    except Exception as e:
        return f"unreachable ({type(e).__name__})"


def test_losing_a_data_node_loses_no_acknowledged_face() -> None:
    env = dict(os.environ, OPENSEARCH_URL=URLS, FRS_STORE="opensearch", FRS_OPENSEARCH_REPLICAS="1",
               FRS_OPENSEARCH_TIMEOUT=str(TIMEOUT_S), FRS_OPENSEARCH_PREFIX=f"nodeloss{uuid.uuid4().hex[:6]}",
               FRS_EMBEDDING_DIM=str(DIM))
    cfg = Settings.from_env(env).opensearch
    assert cfg.replicas == 1 and cfg.url == URLS and cfg.timeout == TIMEOUT_S
    store = OpenSearchStore.from_env(env)
    assert len(store.client.transport.connection_pool.connections) == 3
    project = "p" + uuid.uuid4().hex[:10]
    red_store: OpenSearchStore | None = None
    sets = ["set_a", "set_b"]
    report: dict = {"client_timeout_s": TIMEOUT_S, "down_s": DOWN_S}
    try:
        for s in sets:
            store.create_face_set(FaceSetInfo(project_id=project, face_set_name=s,
                                              face_set_id=uuid.uuid4().hex, create_date="2026-01-01 00:00:00",
                                              face_set_capacity=1_000_000, external_fields={}),
                                  max_face_sets=10)
        indices = [store._entry(project, s)["index"] for s in sets]
        store.client.cluster.health(index=",".join(indices), wait_for_status="green", timeout="60s",
                                     request_timeout=70)
        shards = store.client.cat.shards(index=indices[0], format="json")
        primary_node = next(r["node"] for r in shards if r["prirep"] == "p")
        manager = store.client.cat.cluster_manager(format="json")[0]["node"]
        victim = int(primary_node.removeprefix("frs-n"))
        report.update(victim=primary_node, victim_was_cluster_manager=primary_node == manager)
        # A set without replica whose only copy lives on the victim: red while it is down.
        red_env = dict(env, FRS_OPENSEARCH_REPLICAS="0")
        red_store = OpenSearchStore.from_env(red_env)
        assert red_store.s.replicas == 0
        red_store.create_face_set(FaceSetInfo(project_id=project, face_set_name="set_red",
                                              face_set_id=uuid.uuid4().hex, create_date="2026-01-01 00:00:00",
                                              face_set_capacity=1000, external_fields={}), max_face_sets=10)
        red_index = red_store._entry(project, "set_red")["index"]
        red_store.client.indices.put_settings(index=red_index, body={
            "index.routing.allocation.require._name": primary_node})
        red_store.client.cluster.health(index=red_index, wait_for_status="green",
                                        wait_for_no_relocating_shards=True, timeout="60s", request_timeout=70)
        rng = np.random.default_rng(99)
        red_store.add_faces(project, "set_red", [
            FaceRecord(face_id=f"r{k}", external_image_id="r", bounding_box={}, vector=_unit(rng))
            for k in range(5)])

        load = Load(store, project, sets)
        t_start = time.monotonic()
        load.start()
        time.sleep(WARM_S)
        t_kill = time.monotonic()
        _script("kill-node", str(victim))
        down_health: list[str] = []
        time.sleep(3)
        report["probes_while_down"] = _probes(env, victim, red_store, project, rng)
        while time.monotonic() - t_kill < DOWN_S:
            time.sleep(2)
            down_health.append(_health(store))
        t_restart = time.monotonic()
        _script("restart-node", str(victim))
        t_green = None
        while time.monotonic() - t_restart < GREEN_LIMIT_S:
            try:
                h = store.client.cluster.health(wait_for_status="green", wait_for_nodes="3", timeout="2s",
                                                request_timeout=5)
                if h["status"] == "green" and not h["timed_out"]:
                    t_green = time.monotonic()
                    break
            except Exception:
                time.sleep(1)
        assert t_green is not None, f"not green within {GREEN_LIMIT_S} s of the restart"
        time.sleep(AFTER_S)
        load.join()
        t_end = time.monotonic()

        # -- checks -----------------------------------------------------------------
        store.client.indices.refresh(index=",".join(indices + [red_index]))
        red_docs = int(store.client.count(index=red_index)["count"])
        red_counter = store.client.get(index=store.registry, id=f"counter:{red_index}")["_source"]["reserved"]
        report["set_red_after"] = {"acknowledged": 5, "documents": red_docs, "reserved_counter": red_counter}
        lost, dups, orphans, counts = 0, 0, 0, {}
        for s, index in zip(sets, indices, strict=True):
            present = _all_ids(store, index)
            dups += sum(c - 1 for c in present.values() if c > 1)
            lost += sum(1 for f in load.acked[s] if present[f] != 1)
            orphans += sum(1 for f in load.unacked[s] if present[f])  # a failed add that left faces
            counter = store.client.get(index=store.registry, id=f"counter:{index}")["_source"]["reserved"]
            copies = sorted(int(r["docs"]) for r in store.client.cat.shards(index=index, format="json"))
            counts[s] = {"acknowledged": len(load.acked[s]), "failed_adds_faces": len(load.unacked[s]),
                         "documents": sum(present.values()),
                         "face_number": store.get_face_set(project, s).face_number,
                         "reserved_counter": counter, "docs_per_copy": copies}

        searches = [r for r in load.log if r["op"] == "search"]
        adds = [r for r in load.log if r["op"] == "add"]
        answers = Counter((r["op"], r["code"], r["status"], r["msg"][:160]) for r in load.log if not r["ok"])
        ordered = sorted(load.log, key=lambda r: r["t0"])
        first_bad = next((r for r in ordered if not r["ok"] and r["code"]), None)
        sw, aw = _window(searches), _window(adds)
        rel = {k: round(v["first"] - t_kill, 2) for k, v in (("search", sw), ("add", aw)) if "first" in v}
        report.update(
            duration_s=round(t_end - t_start, 1), requests=len(load.log),
            searches=sw["requests"], search_errors=sw["errors"], search_error_window_s=sw["window_s"],
            adds=aw["requests"], add_errors=aw["errors"], add_error_window_s=aw["window_s"],
            first_error_after_kill_s=rel,
            last_error_after_kill_s={k: round(v["last"] - t_kill, 2)
                                     for k, v in (("search", sw), ("add", aw)) if "last" in v},
            max_latency_s=round(max(r["t1"] - r["t0"] for r in load.log), 2),
            max_latency_while_down_s=round(max((r["t1"] - r["t0"] for r in load.log
                                                if t_kill <= r["t0"] < t_restart), default=0.0), 2),
            recovery_to_green_s=round(t_green - t_restart, 1), health_while_down=sorted(set(down_health)),
            faces_lost=lost, duplicates=dups, orphans_of_failed_adds=orphans, sets=counts,
            answers_while_down=[{"op": k[0], "code": k[1], "status": k[2], "msg": k[3], "count": n}
                                for k, n in answers.most_common()],
            unexpected_exceptions=load.unexpected[:5])
        if first_bad is not None:
            resp = error_response(FrsError(first_bad["code"], first_bad["msg"]), "rid")
            report["http_answer_example"] = {"status": resp.status_code, "body": json.loads(resp.body)}
        text = json.dumps(report, indent=1, sort_keys=True)
        print("\nnode-loss report:\n" + text)
        out = os.environ.get("OPENFRS_CLUSTER_REPORT")
        if out:
            Path(out).write_text(text + "\n")

        assert lost == 0, f"{lost} acknowledged faces missing or not unique"
        assert dups == 0
        assert not load.unexpected, f"errors that are no FrsError: {load.unexpected[:3]}"
        assert all(p["answer"] != "ok" or p["probe"].startswith("get_face_set") for p in
                   report["probes_while_down"]), report["probes_while_down"]
        assert all(p["answer"] in ("ok", "FrsError") for p in report["probes_while_down"])
        assert all(p["seconds"] <= 2 * TIMEOUT_S + 5 for p in report["probes_while_down"])
        for s, c in counts.items():
            assert c["documents"] == c["face_number"] == c["reserved_counter"], (s, c)
            assert len(set(c["docs_per_copy"])) == 1 and len(c["docs_per_copy"]) == 2, (s, c)
        # No hang: every call ends within the client timeout (one retry on another node at most).
        assert report["max_latency_s"] <= 2 * TIMEOUT_S + 5
        assert sw["window_s"] <= MAX_WINDOW_S, report
        assert all(r["ok"] for r in searches if r["t0"] > t_green), "search errors after green"
        assert sw["requests"] > 0 and aw["requests"] > 0
    finally:
        try:
            store.delete_project(project)
        finally:
            store.close()
            if red_store is not None:
                red_store.close()
