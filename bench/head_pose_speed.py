"""Head-pose solver speed: chalicelib.liveness.geometry.head_pose (numpy
Levenberg-Marquardt, chalicelib/liveness/pose.py) per call, beside OpenCV's
solvePnP-based original when cv2 is installed (a dev dependency).

    .venv/bin/python -m bench.head_pose_speed [--calls 1000] [--runs 3]

Inputs: random heads (yaw -60..60, pitch -40..40, roll -30..30 degrees,
1 px landmark noise, 8% face-shape noise) from testkit/heads.py.
Median per call over ``--calls``, then the median of ``--runs`` runs. The
last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from chalicelib.liveness import geometry
from testkit.heads import H, W, mesh_points, scene


def per_call_us(fn, scenes) -> float:
    ts = []
    for pts in scenes:
        t0 = time.perf_counter()
        fn(pts, (W, H))
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(5)
    scenes = [mesh_points(*scene(rng, noise=1.0, shape=0.08)) for _ in range(a.calls)]
    try:
        from testkit.heads import head_pose_cv2 as opencv_head_pose
    except ImportError:
        opencv_head_pose = None
    ours = [per_call_us(geometry.head_pose, scenes) for _ in range(a.runs)]
    out = {"bench": "head_pose_speed", "calls": a.calls, "runs": a.runs,
           "numpy_us_per_call": round(statistics.median(ours), 1),
           "loadavg_1m": round(os.getloadavg()[0], 2)}
    print(f"numpy head_pose: {out['numpy_us_per_call']:.0f} us/call (median of {a.runs} runs)")
    if opencv_head_pose is not None:
        theirs = [per_call_us(opencv_head_pose, scenes) for _ in range(a.runs)]
        out["opencv_us_per_call"] = round(statistics.median(theirs), 1)
        print(f"OpenCV head_pose: {out['opencv_us_per_call']:.0f} us/call")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
