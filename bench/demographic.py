"""False matches by group: what FRS's 0.93 means for each group of people.

    python -m bench.demographic [--embedder NAME] [--cache TMPDIR] [--min-groups-far 1e-3]

UTKFace chips (200x200 face crops; names carry age, gender and race, no
identities) go through the service's own path (decode, detect, align,
embed, calibrated similarity). Within one group every pair of chips is a
pair of different people, so every pair above 0.93 is a false match. Pairs
with raw cosine >= 0.98 are dropped as probable duplicate images, and so
are pairs of chips labelled as showing one person: many UTKFace adults are
public figures photographed several times, and left in, their pairs are
most of the highest "false matches" (bench/utkface_same_person.json says
how the labels were made; ``--raw`` keeps those pairs, an upper bound).

Reported per race group (adults 18-60) and per age band (all races):
the false-match rate per pair at 0.93, the similarity exceeded by 1e-3 /
1e-4 / 1e-5 of the impostor pairs (``null`` when the group has too few
pairs to measure it), the no-face rate (the service's answer, default
detection threshold), and the expected number of false
hits a probe of that group meets at 0.93 in a gallery of 1k, 10k and 100k
faces of the same group (rate x size: the worst case, a gallery of people
who look alike to the model). Each figure is also given on the held-out
half of the chips (``bench/fit_calibration.py`` fits the similarity map on
the other half only). The last line is a one-line JSON summary; the exit
status is 1 when the worst adult group's false-match rate is above
``--max-group-far`` (the floor, 1e-3), so CI fails clearly.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from bench._common import AGE_BANDS, Pipeline, embed_files, print_summary, utk_chips

ADULT_GROUPS = ("White", "Black", "East Asian", "Indian")
DUPLICATE_COSINE = 0.98
GALLERIES = (1_000, 10_000, 100_000)
SAME_PERSON = 0.93


def held_out(path) -> bool:
    """The evaluation half of a split by file name (stable across runs and
    machines); bench/fit_calibration.py fits on the other half."""
    return hashlib.sha1(path.name.encode()).digest()[0] % 2 == 1


SAME_PERSON_FILE = Path(__file__).with_name("utkface_same_person.json")


def same_person_labels(raw: bool = False) -> dict[str, int]:
    """File name -> label of the set of chips judged to show one person
    (bench/utkface_same_person.json says how); empty with ``raw``."""
    if raw or not SAME_PERSON_FILE.exists():
        return {}
    data = json.loads(SAME_PERSON_FILE.read_text())
    out, label = {}, 0
    for sets in data["groups"].values():
        for names in sets:
            label += 1
            out.update({n: label for n in names})
    return out


def impostor_scores(vectors: np.ndarray, labels: list | None = None) -> tuple[np.ndarray, int]:
    """Cosine of every pair once, without probable duplicates (cosine >=
    0.98) and pairs of chips labelled as one person; answers the scores and
    how many pairs were dropped."""
    if len(vectors) < 2:
        return np.zeros(0), 0
    sims = vectors @ vectors.T
    iu = np.triu_indices(len(vectors), 1)
    scores = sims[iu]
    drop = scores >= DUPLICATE_COSINE
    if labels is not None:
        lab = np.array([-1 if x is None else x for x in labels])
        drop |= (lab[iu[0]] == lab[iu[1]]) & (lab[iu[0]] >= 0)
    return scores[~drop], int(drop.sum())


def similarity_at_far(sim: np.ndarray, far: float) -> float | None:
    """The similarity that ``far`` of the impostor pairs exceed; None when
    the pairs are too few for that rate to be measured (fewer than 10 / far)."""
    if sim.size < 10 / far:
        return None
    return round(float(np.quantile(sim, 1 - far)), 4)


def api_no_face(pipe: Pipeline, chips) -> set:
    """Chips the service answers "no face" for (its default threshold; the
    vectors above also take faces found at the benchmarks' lower retry
    threshold, as the LFW protocol does)."""
    from chalicelib.vision import decode_image
    return {c.path for c in chips if not pipe.detect(decode_image(c.path.read_bytes()))}


def group_row(pipe: Pipeline, chips, vectors, no_face: set | None = None,
              same: dict[str, int] | None = None) -> dict:
    found = [c for c in chips if vectors.get(c.path) is not None]
    missed = len(chips) - len(found) if no_face is None else sum(c.path in no_face for c in chips)
    row: dict = {"chips": len(chips), "no_face": missed,
                 "no_face_rate": round(missed / max(len(chips), 1), 4)}
    for label, subset in (("all", found), ("held_out", [c for c in found if held_out(c.path)])):
        mat = np.stack([vectors[c.path] for c in subset]) if subset else np.zeros((0, pipe.embedding_dim))
        labels = [(same or {}).get(c.path.name) for c in subset]
        cos, dups = impostor_scores(mat.astype(np.float32), labels)
        sim = np.asarray(pipe.similarity(cos)) if cos.size else np.zeros(0)
        fmr = float((sim > SAME_PERSON).mean()) if sim.size else None
        row[label] = {
            "faces": len(subset), "pairs": int(sim.size), "same_person_pairs_dropped": dups,
            "false_matches_at_0.93": int((sim > SAME_PERSON).sum()),
            "fmr_at_0.93": fmr,
            "similarity_at_far": {str(f): similarity_at_far(sim, f) for f in (1e-3, 1e-4, 1e-5)},
            "expected_false_hits_per_probe": (
                {str(n): round(fmr * n, 3) for n in GALLERIES} if fmr is not None else None),
        }
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embedder", help="registered embedder family (default: the service's default)")
    ap.add_argument("--cache", metavar="TMPDIR", help="keep this model's UTKFace vectors between runs")
    ap.add_argument("--max-group-far", type=float, default=1e-3,
                    help="exit 1 when an adult group's false-match rate at 0.93 is above this")
    ap.add_argument("--limit", type=int, default=0, help="only the first N chips of each group (CI)")
    ap.add_argument("--raw", action="store_true",
                    help="keep pairs of chips labelled as one person (an upper bound of the rate)")
    args = ap.parse_args()
    pipe = Pipeline(args.embedder)
    chips = utk_chips()
    if args.limit:
        by: dict[str, list] = {}
        for c in chips:
            by.setdefault(c.race, []).append(c)
        chips = [c for group in by.values() for c in group[:args.limit]]
    vectors = embed_files(pipe, [c.path for c in chips], args.cache, tag=f"utkface{args.limit or ''}")
    missed = api_no_face(pipe, chips)
    same = same_person_labels(args.raw)
    groups = {g: group_row(pipe, [c for c in chips if c.race == g and c.band == "18-60"], vectors,
                           missed, same) for g in ADULT_GROUPS}
    bands = {name: group_row(pipe, [c for c in chips if c.band == name], vectors, missed, same)
             for name, _, _ in AGE_BANDS}
    no_face = {g: round(sum(c.path in missed for c in chips if c.race == g)
                        / max(1, sum(c.race == g for c in chips)), 4)
               for g in sorted({c.race for c in chips})}
    print(f"{'group (adults 18-60)':<22} {'faces':>6} {'pairs':>8} {'FMR@0.93':>10} "
          f"{'held-out':>10} {'s@1e-3':>7} {'s@1e-4':>7} {'no face':>8}")
    for name, row in list(groups.items()) + [(f"age {k}", v) for k, v in bands.items()]:
        a, h = row["all"], row["held_out"]
        print(f"{name:<22} {a['faces']:>6} {a['pairs']:>8} {a['fmr_at_0.93'] or 0:>10.2e} "
              f"{h['fmr_at_0.93'] or 0:>10.2e} {a['similarity_at_far']['0.001'] or float('nan'):>7.4f} "
              f"{a['similarity_at_far']['0.0001'] or float('nan'):>7.4f} {row['no_face_rate']:>8.2%}")
    worst = max(groups, key=lambda g: groups[g]["all"]["fmr_at_0.93"] or 0.0)
    worst_held = max(groups, key=lambda g: groups[g]["held_out"]["fmr_at_0.93"] or 0.0)
    summary = {
        "benchmark": "demographic", "model": pipe.model_id, "chips": len(chips),
        "same_person_pairs": "kept (--raw)" if args.raw else "dropped (bench/utkface_same_person.json)",
        "groups_adults": groups, "age_bands": bands, "no_face_rate_by_race_all_ages": no_face,
        "worst_adult_group": worst, "worst_adult_fmr_at_0.93": groups[worst]["all"]["fmr_at_0.93"],
        "worst_adult_group_held_out": worst_held,
        "worst_adult_fmr_at_0.93_held_out": groups[worst_held]["held_out"]["fmr_at_0.93"],
        "max_no_face_rate": max(no_face.values()),
    }
    print_summary(summary)
    return 1 if (summary["worst_adult_fmr_at_0.93"] or 0) > args.max_group_far else 0


if __name__ == "__main__":
    raise SystemExit(main())
