"""OpenSearch-specific hooks for the search benchmarks.

``search_scale.py --backend opensearch`` already runs through
``make_store("opensearch")``; these helpers add what only this backend has:
its index settings, a force-merge after bulk loading (a loaded index is
searched as one HNSW graph instead of one per refresh), segment and node
statistics, and a per-query ``ef_search`` override for recall sweeps.
"""
from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager


def describe(store) -> dict:
    """The store's k-NN settings, for the summary line."""
    s = store.s
    return {"engine": s.engine, "space": s.space, "m": s.m, "ef_construction": s.ef_construction,
            "ef_search": s.ef_search, "shards": s.shards, "replicas": s.replicas, "refresh": s.refresh}


def face_index(store, project: str, name: str) -> str:
    return store._entry(project, name)["index"]


def segments(store, index: str) -> int:
    rows = store.client.cat.segments(index=index, h="segment", format="json")
    return len(rows)


def force_merge(store, project: str, name: str) -> dict:
    """Merge the face set's index to one segment; answer timings and counts."""
    index = face_index(store, project, name)
    before = segments(store, index)
    t = time.perf_counter()
    store.client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=3600)
    store.client.indices.refresh(index=index)
    return {"segments_before": before, "segments_after": segments(store, index),
            "forcemerge_s": round(time.perf_counter() - t, 1)}


def node_stats(store, project: str, name: str) -> dict:
    index = face_index(store, project, name)
    st = store.client.indices.stats(index=index, metric="store")
    jvm = next(iter(store.client.nodes.stats(metric="jvm")["nodes"].values()))["jvm"]["mem"]
    return {"index_size_mib": round(st["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20, 1),
            "jvm_heap_used_mib": round(jvm["heap_used_in_bytes"] / 2**20, 1),
            "jvm_heap_max_mib": round(jvm["heap_max_in_bytes"] / 2**20, 1)}


@contextmanager
def ef_search(store, value: int):
    """Search with another ``ef_search`` (settings are frozen: swap them)."""
    old = store.s
    store.s = dataclasses.replace(old, ef_search=value)
    try:
        yield
    finally:
        store.s = old
