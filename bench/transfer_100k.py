"""Export and restore of a 100,000-face set with the ``openfrs`` command (issue 17):
``openfrs export`` (paged GET, 5000 faces a page) to a file and ``openfrs restore
--as`` (one POST) back, through a real ``chalice local`` with authentication on;
then the restored set must give the same search answers as the original (top 10
for 50 probes: face ids in order and scores).

    python -m bench.transfer_100k [--faces 100000] [--runs 3] [--into embedded|opensearch]

Vectors are synthetic (the engine's dimension, a shared direction plus noise as
real embeddings have, people with three photos each), written straight into
the embedded store of the server's data directory: this measures moving a set,
not enrolling it. ``--into opensearch`` restores into an OpenSearch node
(OPENSEARCH_URL) by POSTing the exported file to the same route in-process
(``chalice.test.Client``, FRS_STORE=opensearch): the ``local`` Chalice stage
pins ``chalice local`` to the embedded store. Medians of ``--runs``; prints a
one-line JSON summary last.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import print_summary
from testkit.server import LocalServer

OPENFRS = Path(sys.executable).parent / "openfrs"
PROJECT = "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7"
AK, SK = "AKBENCHTRANSFER00001", "sk-bench-transfer-0123456789abcdefghijk"
PROBES = 50


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def server_env(data: Path, store: str) -> dict:
    return {"FRS_DATA_DIR": str(data), "FRS_STORE": store, "FRS_AUTH": "iam",
            "FRS_IDENTITY_BACKEND": "sqlite", "FRS_RATELIMIT": "", "OPENBLAS_NUM_THREADS": "1",
            "FRS_BOOTSTRAP_PROJECT_ID": PROJECT,
            "FRS_BOOTSTRAP_AK": AK, "FRS_BOOTSTRAP_SK": SK, "FRS_BOOTSTRAP_USER": "bench",
            "FRS_BOOTSTRAP_PASSWORD": "bench-password-123"}


def openfrs(url: str, *args: str) -> tuple[float, str]:
    env = {**os.environ, "OPENFRS_ENDPOINT": url, "OPENFRS_PROJECT_ID": PROJECT, "OPENFRS_AK": AK,
           "OPENFRS_SK": SK}
    t = time.monotonic()
    r = subprocess.run([str(OPENFRS), *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"openfrs {' '.join(args)} failed: {r.stderr[-2000:]}")
    return time.monotonic() - t, r.stdout


def populate(data: Path, url: str, n: int, seed: int) -> np.ndarray:
    openfrs(url, "import", "--help")  # the command is installed
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkfrs.v2 import FrsClient
    from huaweicloudsdkfrs.v2 import model as m
    client = (FrsClient.new_builder().with_credentials(BasicCredentials(AK, SK, PROJECT))
              .with_endpoint(url).build())
    client.create_face_set(m.CreateFaceSetRequest(body=m.CreateFaceSetReq(
        face_set_name="big", face_set_capacity=100000,
        external_fields={"group": m.TypeInfo(type="integer"), "name": m.TypeInfo(type="string")})))
    from chalicelib.store.base import FaceRecord
    from chalicelib.store.embedded import EmbeddedStore
    from chalicelib.vision import get_engine
    store = EmbeddedStore(str(data))
    info = store.get_face_set(PROJECT, "big")
    dim = get_engine().recognizer(info.embedding_model).dim
    rng = np.random.default_rng(seed)
    people = rng.normal(size=(n // 3 + 1, dim)) / np.sqrt(dim) + rng.normal(size=dim) * 0.08
    v = np.repeat(people, 3, axis=0)[:n] + rng.normal(size=(n, dim)) * 0.6 / np.sqrt(dim)
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    for start in range(0, n, 10000):
        store.add_faces(PROJECT, "big", [
            FaceRecord(face_id=f"f{i:07d}", external_image_id=f"person-{i // 3}",
                       bounding_box={"top_left_x": i % 500, "top_left_y": i % 300, "width": 80, "height": 96},
                       external_fields={"group": i % 13, "name": f"n{i % 1000}"}, vector=v[i])
            for i in range(start, min(n, start + 10000))])
    store.close()
    return v


def restore_in_process(f: Path, name: str) -> tuple[float, str]:
    """POST the file to the import route of the app itself, on the OpenSearch store."""
    from chalice.test import Client

    from chalicelib import config
    from chalicelib.store import reset_store
    os.environ.update({"FRS_STORE": "opensearch", "FRS_AUTH": "off"})
    config.reset()
    reset_store()
    from app import app
    body = f.read_bytes()
    with Client(app) as c:
        t = time.monotonic()
        resp = c.http.post(f"/openfrs/v1/{PROJECT}/face-sets/{name}/import", body=body,
                           headers={"Content-Type": "application/x-ndjson"})
        return time.monotonic() - t, resp.body.decode()


def answers(store, name: str, probes: np.ndarray) -> list[list[tuple[str, float]]]:
    return [[(h.face.face_id, round(h.score, 5)) for h in store.search(PROJECT, name, q, 10)] for q in probes]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--into", choices=("embedded", "opensearch"), default="embedded")
    args = ap.parse_args(argv)
    if not OPENFRS.exists():
        sys.exit(f"{OPENFRS} missing: run `make venv` (it installs the openfrs command)")
    if args.into == "opensearch" and not os.environ.get("OPENSEARCH_URL"):
        sys.exit("--into opensearch needs OPENSEARCH_URL")
    work = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    data = work / "data"
    src = LocalServer(server_env(data, "embedded"), log_path=work / "src.log").start()
    try:
        t = time.monotonic()
        vectors = populate(data, src.url, args.faces, 7)
        log(f"{args.faces} faces written in {time.monotonic() - t:.1f} s")
        rng = np.random.default_rng(11)
        # Probes: new photos of enrolled people (noisy copies) and strangers.
        near = vectors[rng.choice(args.faces, PROBES // 2, replace=False)]
        near = near + rng.normal(size=near.shape) * 0.4 / np.sqrt(near.shape[1])
        far = rng.normal(size=(PROBES - len(near), vectors.shape[1]))
        probes = np.concatenate([near, far]).astype(np.float32)
        probes /= np.linalg.norm(probes, axis=1, keepdims=True)
        export_s, restore_s, identical, recall = [], [], [], []
        size = 0
        loads = []
        for run in range(args.runs):
            f = work / "big.ofrs"
            loads.append(round(os.getloadavg()[0], 2))
            s, _ = openfrs(src.url, "export", "big", "-o", str(f))
            export_s.append(s)
            size = f.stat().st_size
            name = f"copy{run}"
            if args.into == "embedded":
                s, out = openfrs(src.url, "--json", "restore", str(f), "--as", name)
            else:
                s, out = restore_in_process(f, name)
            restore_s.append(s)
            assert json.loads(out)["restored_faces"] == args.faces, out[:500]
            from chalicelib.store import make_store
            from chalicelib.store.embedded import EmbeddedStore
            a = EmbeddedStore(str(data))
            b = a if args.into == "embedded" else make_store("opensearch")
            want, got = answers(a, "big", probes), answers(b, name, probes)
            identical.append(want == got)
            # Approximate k-NN (OpenSearch HNSW) may differ from the exact embedded search.
            shared = sum(len({f for f, _ in w} & {f for f, _ in g}) for w, g in zip(want, got, strict=True))
            recall.append(shared / sum(len(w) for w in want))
            b.delete_face_set(PROJECT, name)
            if b is not a:
                b.close()
            a.close()
            log(f"run {run + 1}: export {export_s[-1]:.1f} s, restore {restore_s[-1]:.1f} s, "
                f"identical answers: {identical[-1]} (top-10 overlap {recall[-1]:.3f}), load {loads[-1]}")
        return {"bench": "transfer_100k", "faces": args.faces, "restore_into": args.into,
                "file_mb": round(size / 1e6, 1), "runs": args.runs,
                "export_s_median": round(statistics.median(export_s), 1),
                "restore_s_median": round(statistics.median(restore_s), 1),
                "export_s": [round(x, 1) for x in export_s], "restore_s": [round(x, 1) for x in restore_s],
                "identical_top10_for_50_probes": all(identical), "top10_overlap": min(recall),
                "load_1min": loads,
                "within_60s": max(statistics.median(export_s), statistics.median(restore_s)) <= 60}
    finally:
        src.stop()


if __name__ == "__main__":
    print_summary(main())
