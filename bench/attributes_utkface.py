"""Age and gender of an attribute backend, per UTKFace group.

    python -m bench.attributes_utkface [--backend NAME] [--every N]

``--backend`` names one of chalicelib.vision.attributes.BACKENDS (default:
the one the service uses, the first built). ``--every N`` takes every N-th
chip of each group (a quick look; published figures use all chips).

Every UTKFace chip (file name ``age_gender_race_timestamp``) goes through
the API's path: decode, detect, the face nearest the centre, the engine's
attribute models (``detect`` with ``attributes=1,2``). Reported: age MAE
and gender accuracy per race x gender group and per age band, and over
adults (18-60) per race and gender group, the issue's target groups.

The gender net's output direction (which end is "male") is the only thing
read from the data: it is checked on the fitting half (even-numbered chips
of each group) and every figure is reported on the other half (odd).
face-api.js's and GEAR's training data included UTKFace (their own
documentation says so), so their figures are an upper bound; for the
others it is not documented. The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import numpy as np

from bench._common import Pipeline, pick_central_face, print_summary, utk_chips

GENDER = {0: "male", 1: "female"}  # UTKFace's label


def main() -> None:
    from chalicelib.vision import decode_image
    from chalicelib.vision.attributes import AGE_GENDER, AttributeModels, backend_named, is_built
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", help="an age/gender backend of chalicelib.vision.attributes.BACKENDS")
    ap.add_argument("--every", type=int, default=1, help="take every N-th chip (quick look)")
    args = ap.parse_args()
    models = AttributeModels({AGE_GENDER: args.backend} if args.backend else None)
    backend = models.backend_for(AGE_GENDER)
    if backend is None:
        wanted = backend_named(args.backend) if args.backend else None
        sys.exit("no age/gender backend is built" + (
            f" ({wanted.name} needs {wanted.roles}; built: {is_built(wanted)})" if wanted else
            ": make models OPT_IN=..."))
    pipe = Pipeline()
    rows = []
    chips = utk_chips()[::args.every]
    t0 = time.time()
    seen: dict[tuple, int] = defaultdict(int)
    no_face = 0
    for i, chip in enumerate(chips):
        image = decode_image(chip.path.read_bytes())
        face, _ = pick_central_face(pipe, image)
        group = (chip.race, chip.gender)
        half = seen[group] % 2
        seen[group] += 1
        if face is None:
            no_face += 1
            continue
        est = models.age_gender(image, face)
        assert est is not None
        rows.append((chip.age, chip.gender, chip.race, chip.band, half, est.age, est.male_score))
        if i % 1000 == 0:
            print(f"  {i}/{len(chips)} chips, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    age = np.array([r[0] for r in rows])
    gender = np.array([r[1] for r in rows])
    race = np.array([r[2] for r in rows])
    band = np.array([r[3] for r in rows])
    half = np.array([r[4] for r in rows])
    pred_age = np.array([r[5] for r in rows])
    male = np.array([r[6] for r in rows])
    fit = half == 0
    # Direction check on the fitting half: is "male" the high end?
    from chalicelib.vision.attributes import MALE_ABOVE
    high_is_male = float(((male[fit] > MALE_ABOVE) == (gender[fit] == 0)).mean())
    pred_male = male > MALE_ABOVE if high_is_male >= 0.5 else male <= MALE_ABOVE
    test = ~fit
    err = np.abs(pred_age - age)
    right = pred_male == (gender == 0)

    def stats(mask: np.ndarray) -> dict:
        n = int(mask.sum())
        return {"n": n, "age_mae": round(float(err[mask].mean()), 2) if n else None,
                "age_bias": round(float((pred_age - age)[mask].mean()), 2) if n else None,
                "gender_accuracy": round(float(right[mask].mean()), 4) if n else None}

    adults = (age >= 18) & (age <= 60) & test
    groups = {}
    for r in sorted(set(race.tolist())):
        groups[r] = stats(adults & (race == r))
        for g, label in GENDER.items():
            groups[f"{r} {label}"] = stats(adults & (race == r) & (gender == g))
    for g, label in GENDER.items():
        groups[label] = stats(adults & (gender == g))
    bands = {b: stats(test & (band == b)) for b in sorted(set(band.tolist()))}
    worst_mae = max(v["age_mae"] for k, v in groups.items() if " " in k and v["n"])
    worst_acc = min(v["gender_accuracy"] for k, v in groups.items() if " " in k and v["n"])
    summary = {"benchmark": "attributes_utkface", "backend": backend.name,
               "every": args.every,
               "chips": len(chips), "no_face": no_face, "reported_half": int(test.sum()),
               "gender_high_is_male_on_fitting_half": round(high_is_male, 4),
               "adults_all": stats(adults), "adult_groups": groups, "age_bands": bands,
               "worst_adult_group_age_mae": worst_mae, "worst_adult_group_gender_accuracy": worst_acc,
               "seconds_per_chip": round((time.time() - t0) / max(len(chips), 1), 4)}
    for k, v in groups.items():
        print(f"{k:20s} n={v['n']:4d} age MAE {v['age_mae']} (bias {v['age_bias']}) "
              f"gender {v['gender_accuracy']}")
    print_summary(summary)


if __name__ == "__main__":
    main()
