"""OpenSearch backend at scale: add throughput, search latency and recall@k.

    OPENSEARCH_URL=http://127.0.0.1:9200 .venv/bin/python -m bench.search_scale_opensearch --faces 100000

Same vectors, schema and filter as ``search_scale.py`` (a Gaussian fitted to
real LFW embeddings when the models are built, else isotropic, reported).
Faces go in through ``OpenSearchStore.add_faces`` (batches, refresh per
batch). Every query's hits are checked against exact float64 numpy search over
the same vectors (recall@top_n, with and without the filter). Latency is
measured as the service sees it (registry lookup + k-NN query + parsing), for
each ``ef_search`` in ``--ef``, first on the index as loaded (one segment per
refresh) and then after a force-merge to one segment. The machine's load
average is printed with the figures: on a shared 2-core box they are noisy.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid

import numpy as np

from bench import _opensearch_backend as osb

# The same data as the generic bench.
from bench.search_scale import CITIES, FILTER, SCHEMA, normalise, real_embeddings
from chalicelib.query.parse import parse_filter
from chalicelib.store.base import FaceRecord, FaceSetInfo
from chalicelib.store.opensearch import OpenSearchStore

GOAL_RECALL = 0.99
GOAL_P50_MS = 20.0


def log(*a):
    print(*a, flush=True)


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128, help="used only without real embeddings")
    ap.add_argument("--fit-faces", type=int, default=300, help="LFW faces to fit the Gaussian (0: isotropic)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--top-n", type=int, default=10)
    ap.add_argument("--ef", default="64,128,256", help="ef_search values to measure")
    ap.add_argument("--no-merge", action="store_true", help="skip the force-merge phase")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    real, source = real_embeddings(args.fit_faces) if args.fit_faces else (None, "--fit-faces 0")
    if real is None:
        dim, distribution = args.dim, "isotropic"
        log(f"WARNING: isotropic Gaussian vectors (dim {dim}): {source}")

        def draw(n):
            return normalise(rng.normal(size=(n, dim)))
        vectors = draw(args.faces)
    else:
        dim, distribution = real.shape[1], "fitted"
        mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)

        def draw(n):
            return normalise(rng.multivariate_normal(mean, cov, size=n, method="eigh"))
        vectors = np.concatenate([real[:args.faces], draw(max(0, args.faces - len(real)))])
        log(f"vectors: {source} (dim {dim})")
    n = len(vectors)
    ages = rng.integers(0, 100, n)
    cities = rng.integers(0, len(CITIES), n)

    store = OpenSearchStore.from_env()
    project, name = "bench-" + uuid.uuid4().hex[:12], "scale"
    store.create_face_set(FaceSetInfo(project, name, "BenchSet", "2026-01-01 00:00:00",
                                      -(-n // 10_000) * 10_000, dict(SCHEMA)), 10)
    box = {"top_left_x": 10, "top_left_y": 20, "width": 100, "height": 120}
    summary: dict = {"bench": "search_scale_opensearch", "faces": n, "dim": dim,
                     "distribution": distribution, "batch": args.batch, "top_n": args.top_n,
                     "queries": args.queries, "settings": osb.describe(store)}
    try:
        load0 = loadavg()
        t = time.perf_counter()
        for k in range(0, n, args.batch):
            store.add_faces(project, name, [
                FaceRecord(f"F{i:07d}", f"img-{i}", box,
                           {"age": int(ages[i]), "city": CITIES[cities[i]], "vip": bool(i % 3 == 0)},
                           vectors[i]) for i in range(k, min(k + args.batch, n))])
            if (k // args.batch) % 10 == 9:
                log(f"  {k + args.batch} faces, {(k + args.batch) / (time.perf_counter() - t):.0f} faces/s")
        add_s = time.perf_counter() - t
        summary.update(add_faces_per_s=round(n / add_s, 1), add_s=round(add_s, 1),
                       load_during_add=[load0, loadavg()])
        log(f"added {n} faces in {add_s:.1f}s: {n / add_s:.0f} faces/s (load {load0} -> {loadavg()})")

        half = args.queries // 2
        picks = rng.integers(0, n, half)
        queries = np.concatenate([normalise(vectors[picks] + normalise(rng.normal(size=(half, dim))) * 0.35),
                                  draw(args.queries - half)])
        where = parse_filter(FILTER, SCHEMA)
        fmask = (ages >= 20) & (ages <= 40) & (cities == CITIES.index("city-03"))
        exact = vectors.astype(np.float64) @ queries.astype(np.float64).T  # n x queries
        truth = {False: np.argsort(-exact, axis=0)[:args.top_n].T,
                 True: np.argsort(-np.where(fmask[:, None], exact, -np.inf), axis=0)[:args.top_n].T}
        summary["filter"], summary["filter_fraction"] = FILTER, round(float(fmask.mean()), 4)

        def measure(filtered: bool) -> dict:
            lat, rec = [], []
            for qi, q in enumerate(queries):
                t0 = time.perf_counter()
                hits = store.search(project, name, q, args.top_n, where=where if filtered else None)
                lat.append((time.perf_counter() - t0) * 1000)
                want = {f"F{i:07d}" for i in truth[filtered][qi]}
                rec.append(len(want & {h.face.face_id for h in hits}) / len(want))
            lat.sort()
            return {"p50_ms": round(statistics.median(lat), 2),
                    "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 2),
                    f"recall@{args.top_n}": round(float(np.mean(rec)), 4), "load": loadavg()}

        def phase(label: str) -> dict:
            out = {}
            for ef in [int(x) for x in args.ef.split(",")]:
                with osb.ef_search(store, ef):
                    store.search(project, name, queries[0], args.top_n)  # warm caches for this ef
                    r = {"no_filter": measure(False), "filter": measure(True)}
                out[str(ef)] = r
                log(f"{label} ef_search={ef}: no filter {r['no_filter']}, filter {r['filter']}")
            return out

        summary["segments_loaded"] = osb.segments(store, osb.face_index(store, project, name))
        summary["as_loaded"] = phase(f"as loaded ({summary['segments_loaded']} segments)")
        if not args.no_merge:
            merge = osb.force_merge(store, project, name)
            log(f"force-merge: {merge}")
            summary["force_merge"] = merge
            summary["merged"] = phase("merged (1 segment)")
        summary["node"] = osb.node_stats(store, project, name)
        final = summary.get("merged") or summary["as_loaded"]
        r = final[str(store.s.ef_search)] if str(store.s.ef_search) in final else next(iter(final.values()))
        key = f"recall@{args.top_n}"
        summary["default_ef_result"] = r
        summary["goal"] = {"recall": GOAL_RECALL, "p50_ms": GOAL_P50_MS,
                           "met": min(r["no_filter"][key], r["filter"][key]) >= GOAL_RECALL
                           and max(r["no_filter"]["p50_ms"], r["filter"]["p50_ms"]) <= GOAL_P50_MS}
    finally:
        store.delete_project(project)
        store.close()
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
