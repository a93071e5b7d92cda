"""Shared builders for the store tests: face sets, faces and embedding-like vectors."""
import numpy as np

from chalicelib.store.base import FaceRecord, FaceSetInfo

DIM = 64
FIELDS = {"name": "string", "age": "integer", "ts": "long", "score": "float",
          "weight": "double", "vip": "boolean"}
BIG = 2**60  # beyond float64's exact integers: long must compare exactly


def info(project, name="set1", capacity=1000, fields=None, model=""):
    return FaceSetInfo(project_id=project, face_set_name=name, face_set_id="AbCdEfGh",
                       create_date="2026-11-25 12:00:00", face_set_capacity=capacity,
                       external_fields=dict(FIELDS if fields is None else fields),
                       embedding_model=model)


def unit_vectors(n, seed=0, dim=DIM):
    """Embedding-like vectors: a shared mean direction plus noise, so cosines
    cluster around a positive value as real face embeddings do."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=dim)
    mean *= 0.6 / np.linalg.norm(mean)
    v = mean + rng.normal(size=(n, dim)) / np.sqrt(dim)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def box(i=0):
    return {"top_left_x": i, "top_left_y": 2 * i, "width": 50 + i, "height": 60 + i}


def face(i, vector, fields=None, ext=None):
    return FaceRecord(face_id=f"F{i:07d}", external_image_id=ext or f"img-{i}",
                      bounding_box=box(i), external_fields=dict(fields or {}), vector=vector)


def random_fields(rng, i):
    """Values of every type; each field absent about 1 time in 6. Floats are
    multiples of 1/4 so float32 and float64 backends agree exactly."""
    f = {"name": rng.choice(["alice", "bob", "carol", "dave-x", "Eve_1"]),
         "age": rng.randint(-5, 90),
         "ts": BIG + rng.randint(-3, 3),
         "score": rng.randint(-8, 8) / 4,
         "weight": rng.randint(0, 400) / 4,
         "vip": rng.random() < 0.4}
    return {k: v for k, v in f.items() if rng.random() > 1 / 6}
