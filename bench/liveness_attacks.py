"""LiveDetect against both suites: the 48 labelled real cases
(testkit/liveness_cases.py) and the synthesised presentation attacks
(testkit/attacks.py), each run ``--runs`` times (default 3); figures are
medians over the runs.

    .venv/bin/python -m bench.liveness_attacks [--runs N] [--only-attacks] [--kind K ...]

Reports: real cases judged right, attacks accepted as alive (overall and per
attack class), attacks refused as flat (warning 7 with every head-motion
action's confidence < 0.5), and processing seconds per 5 s of 512x512 video
(wall and CPU; the machine may be shared, so the load average is printed).
The first run renders the attack clips into the cache (testkit/attacks.py),
outside the timing. The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.liveness_clips import evaluate
from chalicelib.errors import FrsError
from chalicelib.liveness.detect import analyse
from testkit.attacks import ATTACKS, Attack
from testkit.clips import MissingClip
from testkit.liveness_cases import CASES

HEAD_MOTION = {1, 2, 3}


def _attack(a: Attack, data: bytes) -> tuple[bool, bool, str, dict | None]:
    """(accepted as alive, refused as flat or framed by a screen edge with
    warning 7 and every head-motion confidence < 0.5, what happened, debug)."""
    try:
        body = analyse(data, a.actions)
    except FrsError as exc:
        return False, False, f"error {exc.code}", None
    dbg = body.pop("_debug")
    vr = body["video-result"]
    warns = sorted(w["warningCode"] for w in body["warning-list"])
    flat = bool(dbg.get("flat") or dbg.get("screen")) and 7 in warns and all(
        x["confidence"] < 0.5 for x in vr["actions"] if x["action"] in HEAD_MOTION)
    conf = ",".join(f"{x['confidence']:.2f}" for x in vr["actions"])
    par = ",".join(f"{e['parallax']:.3f}" for e in dbg.get("presentation", []))
    what = (f"alive={vr['alive']} conf=[{conf}] warnings={warns} texture=[{par}] "
            f"framed={dbg.get('framed_share')}")
    return bool(vr["alive"]), flat, what, dbg


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def run_real(verbose: bool) -> dict:
    right = total = 0
    v512 = w512 = c512 = 0.0
    wrong = []
    for case in CASES:
        try:
            data = case.video()
        except MissingClip as exc:
            print(f"SKIP {case.name}: {exc}")
            continue
        (ok, what, dbg), wall, cpu = _timed(evaluate, case, data)
        total += 1
        right += ok
        if not ok:
            wrong.append(case.name)
        if dbg and dbg.get("size") == [512, 512]:
            v512 += dbg["duration"]
            w512 += wall
            c512 += cpu
        if verbose or not ok:
            print(f"{'OK  ' if ok else 'FAIL'} real {case.name}: {what}", flush=True)
    return {"cases": total, "right": right, "wrong": wrong,
            "wall_5s": 5 * w512 / v512 if v512 else None, "cpu_5s": 5 * c512 / v512 if v512 else None}


def run_attacks(attacks: list[Attack], verbose: bool) -> dict:
    per: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    accepted = []
    video = wall_s = cpu_s = 0.0
    for a in attacks:
        try:
            data = a.video()
        except MissingClip as exc:
            print(f"SKIP {a.name}: {exc}")
            continue
        (alive, flat, what, dbg), wall, cpu = _timed(_attack, a, data)
        per[a.kind]["clips"] += 1
        per[a.kind]["accepted"] += alive
        per[a.kind]["flat"] += flat
        if alive:
            accepted.append(a.name)
        if dbg:
            video += dbg["duration"]
            wall_s += wall
            cpu_s += cpu
        if verbose or alive:
            print(f"{'PASS' if alive else 'ok  '} attack {a.name} ({a.kind}, {a.actions}): {what}",
                  flush=True)
    return {"clips": sum(c["clips"] for c in per.values()),
            "accepted": len(accepted), "accepted_names": accepted,
            "per_class": {k: dict(v) for k, v in sorted(per.items())},
            "wall_5s": 5 * wall_s / video if video else None,
            "cpu_5s": 5 * cpu_s / video if video else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only-attacks", action="store_true")
    ap.add_argument("--kind", nargs="*", help="attack classes to run (default: all)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    attacks = [a for a in ATTACKS if not args.kind or a.kind in args.kind]
    t0 = time.perf_counter()
    for a in attacks:  # render into the cache, outside the timing
        try:
            a.video()
        except MissingClip:
            pass
    render_s = time.perf_counter() - t0
    # Warm-up: load the models.
    try:
        analyse(CASES[0].video(), CASES[0].actions)
    except (MissingClip, FrsError):
        pass
    reals, atts, loads = [], [], []
    for r in range(args.runs):
        verbose = args.verbose or r == 0
        if not args.only_attacks:
            reals.append(run_real(verbose))
        atts.append(run_attacks(attacks, verbose))
        loads.append(os.getloadavg()[0])
        print(f"run {r + 1}: real {reals[-1]['right'] if reals else '-'}/"
              f"{reals[-1]['cases'] if reals else '-'}, attacks accepted "
              f"{atts[-1]['accepted']}/{atts[-1]['clips']}, load {loads[-1]:.2f}", flush=True)
    med = lambda xs: round(statistics.median(xs), 3) if xs and None not in xs else None  # noqa: E731
    last = atts[-1]
    summary = {
        "bench": "liveness_attacks", "runs": args.runs,
        "real_cases": reals[-1]["cases"] if reals else 0,
        "real_right_median": med([r["right"] for r in reals]),
        "real_wrong_last": reals[-1]["wrong"] if reals else [],
        "attack_clips": last["clips"],
        "attacks_accepted_median": med([a["accepted"] for a in atts]),
        "attacks_accepted_share": round(statistics.median(a["accepted"] for a in atts)
                                        / max(last["clips"], 1), 4),
        "attacks_accepted_last": last["accepted_names"],
        "per_class_last": last["per_class"],
        "wall_s_per_5s_512px_real": med([r["wall_5s"] for r in reals]),
        "cpu_s_per_5s_512px_real": med([r["cpu_5s"] for r in reals]),
        "wall_s_per_5s_512px_attacks": med([a["wall_5s"] for a in atts]),
        "cpu_s_per_5s_512px_attacks": med([a["cpu_5s"] for a in atts]),
        "render_s": round(render_s, 1),
        "cpus": os.cpu_count(), "load_avg_1m": [round(x, 2) for x in loads],
    }
    print(json.dumps(summary))
    ok = (not reals or all(r["right"] == r["cases"] for r in reals)) and \
        all(a["accepted"] <= 0.02 * a["clips"] for a in atts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
