"""Shared helpers for the vision benchmarks: dataset paths, the LFW pair
protocol, and embedding LFW images through the engine exactly as the API does.

Datasets live in ``../shared/datasets`` relative to the repository root
(override with ``FRS_DATASETS``); they are never copied into the repo.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

DATASETS = Path(os.environ.get("FRS_DATASETS") or REPO.parent / "shared" / "datasets")
LFW = DATASETS / "lfw"
CALTECH = DATASETS / "detection" / "caltech"
STILLS = DATASETS / "stills"
UTKFACE = DATASETS / "distractors" / "utkface"


def require(path: Path, what: str) -> Path:
    if not path.exists():
        sys.exit(f"{what} not found at {path} (set FRS_DATASETS or provide ../shared/datasets)")
    return path


def percentile_ms(samples, q) -> float:
    return round(float(np.percentile(np.asarray(samples) * 1000.0, q)), 2)


def print_summary(summary: dict) -> None:
    """The one-line JSON summary every benchmark ends with."""
    print(json.dumps(summary, sort_keys=True), flush=True)


# -- the pipeline under test ---------------------------------------------------------
class Pipeline:
    """The service's own path (decode, detect, align, embed, calibrated
    similarity) with a chosen embedder: ``None`` is the default one, else a
    registered family name (``python -m bench.verify_lfw --embedder NAME``)."""

    def __init__(self, embedder: str | None = None):
        from chalicelib.vision import get_engine
        self.engine = get_engine()
        self.rec = (self.engine.recognizer() if embedder is None
                    else self.engine.recognizer_of_family(embedder))
        self.family = self.rec.family_name
        self.model_id = self.rec.model_id

    def detect(self, image, threshold=None):
        return self.engine.detect(image, threshold=threshold)

    def embed(self, image, face):
        return self.rec.embed_many(image, [face])[0]

    @property
    def embedding_dim(self) -> int:
        return self.rec.dim

    def similarity(self, cos):
        return self.rec.similarity(cos)

    def cosine_for_similarity(self, s):
        return self.rec.cosine_for_similarity(s)


def embedder_names() -> list[str]:
    from chalicelib.vision.registry import EMBEDDERS
    return sorted(EMBEDDERS)


def private_dir(path) -> Path:
    """A cache directory only its owner can read (it holds face vectors)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


# -- UTKFace -----------------------------------------------------------------------
RACES = {0: "White", 1: "Black", 2: "East Asian", 3: "Indian", 4: "Others"}
AGE_BANDS = (("0-12", 0, 12), ("13-17", 13, 17), ("18-60", 18, 60), ("61+", 61, 200))


@dataclass
class Chip:
    path: Path
    age: int
    gender: int
    race: str

    @property
    def band(self) -> str:
        return next(name for name, lo, hi in AGE_BANDS if lo <= self.age <= hi)


def utk_chips() -> list[Chip]:
    """Every UTKFace chip whose name parses as age_gender_race_timestamp."""
    out = []
    for p in sorted(require(UTKFACE, "UTKFace chips").glob("*.jpg")):
        bits = p.name.split("_")
        try:
            age, gender, race = int(bits[0]), int(bits[1]), int(bits[2])
        except (IndexError, ValueError):
            continue  # a few UTKFace names lack a field
        if race in RACES:
            out.append(Chip(p, age, gender, RACES[race]))
    return out


def embed_files(pipeline, paths, cache_dir=None, tag="files", progress=True):
    """{path: vector or None (no face)} for image files, the face nearest the
    centre of each; cached per model in ``cache_dir`` when given."""
    from chalicelib.vision import decode_image
    cache = None
    if cache_dir:
        digest = hashlib.sha1("\n".join(str(p) for p in paths).encode()).hexdigest()[:10]
        cache = private_dir(cache_dir) / f"{tag}_{pipeline.model_id}_{digest}.npz"
        if cache.exists():
            data = np.load(cache, allow_pickle=False)
            return {Path(p): (v if found else None)
                    for p, v, found in zip(data["paths"], data["vectors"], data["found"], strict=True)}
    out = {}
    t0 = time.time()
    for i, path in enumerate(paths):
        image = decode_image(Path(path).read_bytes())
        face, _ = pick_central_face(pipeline, image)
        out[Path(path)] = None if face is None else pipeline.embed(image, face)
        if progress and i % 1000 == 0:
            print(f"  embedded {i}/{len(paths)} {tag}, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    if cache is not None:
        dim = pipeline.embedding_dim
        np.savez(cache, paths=np.array([str(p) for p in paths]),
                 vectors=np.stack([out[Path(p)] if out[Path(p)] is not None else np.zeros(dim, np.float32)
                                   for p in paths]),
                 found=np.array([out[Path(p)] is not None for p in paths]))
    return out


# -- LFW ---------------------------------------------------------------------------
@dataclass
class Pair:
    a: tuple[str, int]
    b: tuple[str, int]
    same: bool
    fold: int


def read_pairs(path: Path) -> list[Pair]:
    """The official ``pairs.txt``: header ``folds n``, then per fold n
    same-person lines ``name i j`` and n different-person lines
    ``name1 i name2 j``."""
    lines = path.read_text().split("\n")
    folds, n = (int(v) for v in lines[0].split())
    pairs = []
    rows = [ln.split() for ln in lines[1:] if ln.strip()]
    if len(rows) != folds * 2 * n:
        raise ValueError(f"{path}: expected {folds * 2 * n} pairs, found {len(rows)}")
    for idx, p in enumerate(rows):
        fold = idx // (2 * n)
        if len(p) == 3:
            pairs.append(Pair((p[0], int(p[1])), (p[0], int(p[2])), True, fold))
        elif len(p) == 4:
            pairs.append(Pair((p[0], int(p[1])), (p[2], int(p[3])), False, fold))
        else:
            raise ValueError(f"{path}: bad line {' '.join(p)!r}")
    return pairs


def lfw_image_path(name: str, num: int) -> Path:
    return LFW / "images" / name / f"{name}_{num:04d}.jpg"


def pick_central_face(engine, image):
    """LFW images are centred on the subject: take the detection nearest the
    centre. A second, lower detection threshold is tried before giving up;
    both uses are counted and reported."""
    h, w = image.shape[:2]
    for threshold, label in ((None, "default"), (0.2, "low_threshold")):
        faces = engine.detect(image, threshold=threshold)
        if faces:
            centre = np.array([w / 2, h / 2])
            dist = [np.linalg.norm(np.array([f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2]) - centre)
                    for f in faces]
            return faces[int(np.argmin(dist))], label
    return None, "no_face"


def embed_lfw_images(engine, keys, progress=True, cache_dir=None):
    """Embed each (name, num) once; answer {key: vector or None}, counts.

    ``cache_dir`` (a temp dir, for repeated runs on one machine) keeps the
    vectors of this exact model + recipe between runs; it never holds scores
    or labels."""
    from chalicelib.vision import decode_image
    cache = None
    if cache_dir:
        cache = private_dir(cache_dir) / f"lfw_vectors_{engine.model_id}.npz"
        if cache.exists():
            data = np.load(cache, allow_pickle=False)
            stored = {(n, int(i)): v for n, i, v in zip(data["names"], data["nums"], data["vectors"],
                                                              strict=True)}
            if all(k in stored for k in keys):
                counts = json.loads(str(data["counts"]))
                return {k: (None if not np.any(stored[k]) else stored[k]) for k in keys}, counts
    out, counts = {}, {"default": 0, "low_threshold": 0, "no_face": 0}
    t0 = time.time()
    for i, key in enumerate(keys):
        image = decode_image(lfw_image_path(*key).read_bytes())
        face, how = pick_central_face(engine, image)
        counts[how] += 1
        out[key] = None if face is None else engine.embed(image, face)
        if progress and i % 1000 == 0:
            print(f"  embedded {i}/{len(keys)} images, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    if cache is not None:
        dim = engine.embedding_dim
        np.savez(cache, names=np.array([k[0] for k in keys]), nums=np.array([k[1] for k in keys]),
                 vectors=np.stack([out[k] if out[k] is not None else np.zeros(dim, np.float32)
                                   for k in keys]),
                 counts=json.dumps(counts))
    return out, counts


def pair_scores(pairs, vectors) -> np.ndarray:
    """Cosine per pair; a pair with an undetected face scores -1 (a miss for
    same-person pairs, a correct reject for different-person pairs)."""
    s = np.empty(len(pairs))
    for i, p in enumerate(pairs):
        va, vb = vectors.get(p.a), vectors.get(p.b)
        s[i] = -1.0 if va is None or vb is None else float(np.dot(va, vb))
    return s


# -- verification metrics --------------------------------------------------------
def best_threshold(scores, labels) -> float:
    """Threshold maximising accuracy (midpoint between adjacent scores)."""
    order = np.argsort(scores)
    s, y = scores[order], labels[order]
    # accuracy when threshold sits just above s[i]: negatives <= i right, positives > i right
    neg_le = np.cumsum(~y)
    pos_gt = y.sum() - np.cumsum(y)
    acc = (neg_le + pos_gt) / len(s)
    i = int(np.argmax(acc))
    hi = s[i + 1] if i + 1 < len(s) else s[i] + 1e-6
    # also consider accepting everything
    if y.mean() > acc[i]:
        return float(s[0] - 1e-6)
    return float((s[i] + hi) / 2)


def tar_at_far(scores, labels, far):
    """TAR at the lowest threshold whose impostor FAR is <= ``far``."""
    imp = np.sort(scores[~labels])[::-1]
    allowed = int(np.floor(far * len(imp)))
    thr = imp[allowed] if allowed < len(imp) else -np.inf  # accept strictly above it
    return float((scores[labels] > thr).mean()), float(thr)
