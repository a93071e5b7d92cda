"""Index names, settings and mappings of the OpenSearch store.

Layout: one registry index per deployment (``<prefix>-registry``) holding one
document per project (its face sets) and one capacity counter per face set,
and one k-NN index per face set (``<prefix>-fs-<hash>``) holding its faces.
"""
from __future__ import annotations

import hashlib
import uuid

from chalicelib.store.opensearch_client import OpenSearchSettings
from chalicelib.store.opensearch_query import EXT

# FRS custom-field type -> OpenSearch field type (API Reference §5.3).
FIELD_TYPE_MAP = {
    "string": "keyword",
    "integer": "integer",
    "long": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
}


def registry_index(s: OpenSearchSettings) -> str:
    return f"{s.prefix}-registry"


def face_index(s: OpenSearchSettings, project_id: str, name: str) -> str:
    """A fresh index name for one creation of a face set. Index names must be
    lowercase and short, so the (project, name) pair is hashed; the random tail
    keeps a racing duplicate create or a re-created set off an existing index."""
    digest = hashlib.sha1(f"{project_id}\0{name}".encode()).hexdigest()[:16]
    return f"{s.prefix}-fs-{digest}-{uuid.uuid4().hex[:12]}"


def registry_body(s: OpenSearchSettings) -> dict:
    return {
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": s.replicas}},
        "mappings": {
            # Only read by id (realtime GET), never searched: keep the rest unindexed.
            "dynamic": False,
            "properties": {
                "kind": {"type": "keyword"},
                "project_id": {"type": "keyword"},
                "face_sets": {"type": "object", "enabled": False},
            },
        },
    }


def vector_mapping(s: OpenSearchSettings, dim: int) -> dict:
    return {
        "type": "knn_vector",
        "dimension": dim,
        "method": {
            "name": "hnsw",
            "engine": s.engine,
            "space_type": s.space,
            "parameters": {"m": s.m, "ef_construction": s.ef_construction},
        },
    }


def face_index_body(s: OpenSearchSettings, external_fields: dict[str, str], dim: int | None) -> dict:
    props = {
        "face_id": {"type": "keyword"},
        "external_image_id": {"type": "keyword"},
        "bounding_box": {"type": "object", "enabled": False},
        "seq": {"type": "long"},  # insertion order for list_faces
        EXT: {
            "type": "object",
            "dynamic": "strict",
            "properties": {k: {"type": FIELD_TYPE_MAP[t]} for k, t in external_fields.items()},
        },
    }
    if dim:
        props["vector"] = vector_mapping(s, dim)
    return {
        "settings": {"index": {"knn": True, "number_of_shards": s.shards,
                               "number_of_replicas": s.replicas}},
        "mappings": {"dynamic": "strict", "properties": props},
    }
