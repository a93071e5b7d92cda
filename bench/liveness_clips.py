"""Run the labelled LiveDetect suite (testkit/liveness_cases.py) and report
accuracy and processing time per second of video.

    .venv/bin/python -m bench.liveness_clips [--only NAME ...]

Timing covers the whole analysis (decode, tracking, judging, identity,
picture) of each successful case, excluding one warm-up run that loads the
models. CPU seconds are reported next to wall seconds because the machine
may be shared; the 5 s-of-512x512 goal is checked on the 512x512 cases.
The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from chalicelib.errors import FrsError
from chalicelib.liveness.detect import analyse
from testkit.clips import MissingClip
from testkit.liveness_cases import CASES, Case


def evaluate(case: Case, data: bytes) -> tuple[bool, str, dict | None]:
    """(right?, what happened, debug)."""
    try:
        body = analyse(data, case.actions, case.action_time, case.nod_threshold)
    except FrsError as exc:
        ok = case.expect_error == exc.code
        return ok, f"error {exc.code}", None
    dbg = body.pop("_debug")
    vr = body["video-result"]
    found = [a["confidence"] >= 0.5 for a in vr["actions"]]
    warns = {w["warningCode"] for w in body["warning-list"]}
    core = {c for c in warns if c < 100}
    ok = (case.expect_error is None and vr["alive"] == case.expect_alive
          and found == case.expect_found and case.warnings_ok(core))
    conf = ",".join(f"{a['confidence']:.2f}" for a in vr["actions"])
    return ok, f"alive={vr['alive']} conf=[{conf}] warnings={sorted(warns)}", dbg


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c.name in args.only]
    right, total, skipped = 0, 0, 0
    video_s = wall_s = cpu_s = 0.0
    v512 = w512 = c512 = 0.0
    warmed = False
    for case in cases:
        try:
            data = case.video()
        except MissingClip as exc:
            skipped += 1
            print(f"SKIP {case.name}: {exc}")
            continue
        if not warmed:
            try:
                analyse(data, case.actions, case.action_time, case.nod_threshold)
            except FrsError:
                pass
            warmed = True
        t0, c0 = time.perf_counter(), time.process_time()
        ok, what, dbg = evaluate(case, data)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        total += 1
        right += ok
        exp = (f"error {case.expect_error}" if case.expect_error else
               f"alive={case.expect_alive} found={case.expect_found} "
               f"warnings={sorted(case.expect_warnings)}")
        extra = ""
        if dbg:
            video_s += dbg["duration"]
            wall_s += wall
            cpu_s += cpu
            extra = f" {dbg['duration']:.1f}s video, {wall:.2f}s wall, {cpu:.2f}s cpu"
            if dbg.get("size") == [512, 512]:
                v512 += dbg["duration"]
                w512 += wall
                c512 += cpu
        print(f"{'OK  ' if ok else 'FAIL'} {case.name}: {what} (expected {exp}){extra}", flush=True)
    summary = {
        "bench": "liveness_clips", "cases": total, "right": right, "skipped": skipped,
        "accuracy": round(right / total, 4) if total else None,
        "video_seconds": round(video_s, 2),
        "wall_s_per_5s_video": round(5 * wall_s / video_s, 3) if video_s else None,
        "cpu_s_per_5s_video": round(5 * cpu_s / video_s, 3) if video_s else None,
        "wall_s_per_5s_512px": round(5 * w512 / v512, 3) if v512 else None,
        "cpu_s_per_5s_512px": round(5 * c512 / v512, 3) if v512 else None,
        "goal_s_per_5s_512px": 1.0,
        "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary))
    return 0 if right == total else 1


if __name__ == "__main__":
    sys.exit(main())
