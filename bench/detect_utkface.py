"""No-face rate on UTKFace chips, per race group and age band.

    python -m bench.detect_utkface [--limit N]

UTKFace chips are 200x200 tight face crops (forehead or chin often cut
off), each holding one face; every chip the service's ``detect`` (default
threshold, the same call the API makes) answers with no face is a miss. The
rate is reported overall, per race group and per age band (children's
chips are the hard case for CenterFace), with which detector found the face
when the engine has a fallback detector. Latency is the engine's ``detect``
on the decoded chip. The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

from bench._common import AGE_BANDS, RACES, percentile_ms, print_summary, utk_chips


def rate(missed: int, total: int) -> float | None:
    return round(missed / total, 5) if total else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N chips (sorted by name)")
    args = ap.parse_args()
    from chalicelib.vision import decode_image, get_engine
    engine = get_engine()
    chips = utk_chips()
    if args.limit:
        chips = chips[: args.limit]
    engine.detect(decode_image(chips[0].path.read_bytes()))  # load the model first
    fallback = engine.fallback_detector if hasattr(engine, "fallback_detector") else None
    missed: Counter = Counter()
    total: Counter = Counter()
    latencies = []
    missed_names = []
    for chip in chips:
        image = decode_image(chip.path.read_bytes())
        t0 = time.perf_counter()
        faces = engine.detect(image)
        latencies.append(time.perf_counter() - t0)
        for key in ("all", "race:" + chip.race, "age:" + chip.band):
            total[key] += 1
            missed[key] += not faces
        if not faces:
            missed_names.append(chip.path.name)
    groups = {race: rate(missed["race:" + race], total["race:" + race]) for race in RACES.values()}
    bands = {band: rate(missed["age:" + band], total["age:" + band]) for band, _, _ in AGE_BANDS}
    print(f"UTKFace: no face on {missed['all']}/{total['all']} chips "
          f"({missed['all'] / max(total['all'], 1) * 100:.2f}%), detect p50 "
          f"{percentile_ms(latencies, 50)} ms, fallback detector: "
          f"{type(fallback).__name__ if fallback is not None else 'none'}")
    for key in sorted(total):
        if key != "all":
            print(f"  {key:<16} {missed[key]:>4}/{total[key]:<5} {missed[key] / total[key] * 100:6.2f}%")
    if missed_names:
        print("no face:", " ".join(missed_names[:40]))
    print_summary({
        "benchmark": "utkface_no_face",
        "chips": total["all"],
        "no_face": missed["all"],
        "no_face_rate": rate(missed["all"], total["all"]),
        "no_face_rate_by_race": groups,
        "no_face_rate_by_age": bands,
        "no_face_by_race": {race: missed["race:" + race] for race in RACES.values()},
        "no_face_by_age": {band: missed["age:" + band] for band, _, _ in AGE_BANDS},
        "fallback_detector": type(fallback).__name__ if fallback is not None else None,
        "detect_ms_p50": percentile_ms(latencies, 50),
        "detect_ms_p95": percentile_ms(latencies, 95),
    })


if __name__ == "__main__":
    main()
