"""A real 1:N gallery: who is found, and which strangers are let in, at 0.93.

    python -m bench.search_gallery [--embedder NAME] [--cache TMPDIR]

Gallery (one face set in the embedded store, searched through
``FaceSetStore.search`` as the API does): the first image of every LFW
person with at least two images, plus every UTKFace chip as a distractor
(people of every age and group who are in nobody's probe set).

- Genuine probes: the second image of each of those LFW people. A hit is
  the right person ranked first with similarity above 0.93 (rank-1
  identification at FRS's threshold).
- Stranger probes: the image of every LFW person with exactly one image
  (nobody in the gallery). Any result above 0.93 lets a stranger in.

Many UTKFace "distractors" are public figures who are also in LFW, and LFW
files a few people under two spellings: such a hit is the right person,
not a stranger. bench/gallery_same_person.json lists the pairs judged by
eye to show one person; they count as correct (``--raw``: as errors, the
upper bound). Both figures are printed.

The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from bench._common import LFW, Pipeline, embed_files, print_summary, require, utk_chips
from chalicelib.store.base import FaceRecord, FaceSetInfo

SAME_PERSON = 0.93
LABELS = Path(__file__).with_name("gallery_same_person.json")


def same_person_pairs() -> set[tuple[str, str]]:
    if not LABELS.exists():
        return set()
    return {tuple(p) for p in json.loads(LABELS.read_text())["pairs"]}
BOX = {"top_left_x": 0, "top_left_y": 0, "width": 1, "height": 1}  # not used by search


def people() -> tuple[dict, list]:
    """{name: [image paths]} of people with >= 2 images; single-image people."""
    by = defaultdict(list)
    for p in sorted(require(LFW / "images", "LFW images").glob("*/*.jpg")):
        by[p.parent.name].append(p)
    return {k: v for k, v in by.items() if len(v) >= 2}, [v[0] for v in by.values() if len(v) == 1]


def run_probes(store, multi, singles, vectors, names, cos93, same) -> dict:
    """Genuine and stranger probes against the gallery; a hit on a face
    labelled as the probe's own person counts as the right person."""
    hits = wrong_first = below = probes = 0
    for paths in multi.values():
        v = vectors.get(paths[1])
        if v is None or vectors.get(paths[0]) is None:
            continue
        probes += 1
        top = store.search("bench", "gallery", v, 1, None, None, [])
        right = bool(top) and (names[top[0].face.face_id] == paths[0].name
                               or (paths[1].name, names[top[0].face.face_id]) in same)
        if right and top[0].score > cos93:
            hits += 1
        elif not right:
            wrong_first += 1
        else:
            below += 1
    let_in = strangers = 0
    for p in singles:
        v = vectors.get(p)
        if v is None:
            continue
        strangers += 1
        found = store.search("bench", "gallery", v, 10, cos93, None, [])
        let_in += any((p.name, names[h.face.face_id]) not in same for h in found)
    return {"genuine_probes": probes, "rank1_hit_at_0.93": round(hits / max(probes, 1), 4),
            "genuine_wrong_person_first": wrong_first, "genuine_below_0.93": below,
            "stranger_probes": strangers, "strangers_matched_count": let_in,
            "strangers_matched_at_0.93": round(let_in / max(strangers, 1), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embedder", help="registered embedder family (default: the service's default)")
    ap.add_argument("--cache", metavar="TMPDIR", help="keep this model's vectors between runs")
    args = ap.parse_args()
    pipe = Pipeline(args.embedder)
    multi, singles = people()
    lfw = sorted(LFW.glob("images/*/*.jpg"))
    vectors = embed_files(pipe, lfw, args.cache, tag="lfw_all")
    chips = utk_chips()
    vectors.update(embed_files(pipe, [c.path for c in chips], args.cache, tag="utkface"))

    from chalicelib.store.embedded import EmbeddedStore
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o700)
        store = EmbeddedStore(tmp)
        store.create_face_set(FaceSetInfo("bench", "gallery", "G", "2026-01-01 00:00:00", 100_000, {},
                                          embedding_model=pipe.model_id), 10)
        records, gallery_files = [], []
        for name, paths in multi.items():
            if vectors.get(paths[0]) is not None:
                gallery_files.append(paths[0].name)
                records.append(FaceRecord(face_id=f"L{len(records)}", external_image_id=name[:36],
                                          bounding_box=BOX, external_fields={}, vector=vectors[paths[0]]))
        distractors = 0
        for c in chips:
            if vectors.get(c.path) is not None:
                gallery_files.append(c.path.name)
                records.append(FaceRecord(face_id=f"U{len(records)}", external_image_id="utkface",
                                          bounding_box=BOX, external_fields={}, vector=vectors[c.path]))
                distractors += 1
        for i in range(0, len(records), 1000):
            store.add_faces("bench", "gallery", records[i:i + 1000])
        cos93 = float(pipe.cosine_for_similarity(SAME_PERSON))
        names = {r.face_id: n for r, n in zip(records, gallery_files, strict=True)}
        counts = {"raw": run_probes(store, multi, singles, vectors, names, cos93, set()),
                  "labelled": run_probes(store, multi, singles, vectors, names, cos93,
                                         same_person_pairs())}
        store.close()
    summary = {
        "benchmark": "search_gallery", "model": pipe.model_id,
        "gallery_faces": len(records), "lfw_people_in_gallery": len(records) - distractors,
        "utkface_distractors": distractors, "same_person_pairs_labelled": len(same_person_pairs()),
        **{f"{k}_{kind}": v for kind, c in counts.items() for k, v in c.items()},
    }
    lab, raw = counts["labelled"], counts["raw"]
    print(f"gallery {summary['gallery_faces']} faces, {lab['genuine_probes']} genuine and "
          f"{lab['stranger_probes']} stranger probes: rank-1 hit at 0.93 "
          f"{lab['rank1_hit_at_0.93']:.2%} (raw {raw['rank1_hit_at_0.93']:.2%}); strangers matched "
          f"{lab['strangers_matched_at_0.93']:.2%} (raw {raw['strangers_matched_at_0.93']:.2%})")
    print_summary(summary)


if __name__ == "__main__":
    main()
