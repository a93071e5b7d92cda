"""Bounded load against a server on loopback: detect, compare, add and search
at several concurrency levels; requests/s, p50/p95/p99 latency, error rate.

    python -m bench.load                       # starts its own chalice local
    python -m bench.load --url http://127.0.0.1:8000 --project P --token T

Each (operation, concurrency) cell stops at --requests requests or --seconds
seconds, whichever comes first. Only loopback URLs are accepted. Stdlib
threads + requests; one persistent session per client thread. The last line
is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

from bench._common import STILLS, percentile_ms, print_summary, require

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SET = "load"


def payloads(project: str) -> dict:
    faces = require(STILLS / "face_recognition", "still photos")
    a = base64.b64encode((faces / "obama.jpg").read_bytes()).decode()
    b = base64.b64encode((faces / "obama2.jpg").read_bytes()).decode()
    base = f"/v2/{project}"
    return {
        "detect": (f"{base}/face-detect", {"image_base64": a}),
        "compare": (f"{base}/face-compare", {"image1_base64": a, "image2_base64": b}),
        "add": (f"{base}/face-sets/{SET}/faces", {"image_base64": a, "single": True}),
        "search": (f"{base}/face-sets/{SET}/search", {"image_base64": b, "top_n": 10}),
    }


def cell(url: str, path: str, body: dict, headers: dict, concurrency: int, max_requests: int,
         max_seconds: float) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    issued = [0]
    stop_at = time.monotonic() + max_seconds

    def client():
        s = requests.Session()
        while True:
            with lock:
                if issued[0] >= max_requests or time.monotonic() >= stop_at:
                    return
                issued[0] += 1
            t0 = time.perf_counter()
            try:
                r = s.post(url + path, json=body, headers=headers, timeout=120)
                code = None if r.status_code == 200 else \
                    f"{r.status_code} {(r.json() or {}).get('error_code', '')}".strip()
            except requests.RequestException as exc:
                code = type(exc).__name__
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if code:
                    errors[code] = errors.get(code, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    n = len(lat)
    return {"concurrency": concurrency, "requests": n, "seconds": round(elapsed, 2),
            "rps": round(n / elapsed, 2) if elapsed else 0.0,
            "p50_ms": percentile_ms(lat, 50) if n else None,
            "p95_ms": percentile_ms(lat, 95) if n else None,
            "p99_ms": percentile_ms(lat, 99) if n else None,
            "error_rate": round(sum(errors.values()) / n, 4) if n else None, "errors": errors}


def wait_ready(url: str, wait_s: float = 60.0) -> dict:
    """GET /health until the server answers, then GET /ready (which loads the
    models, so no timed request pays for it); exit unless it is ready."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{url}/health did not answer in {wait_s:.0f} s")
        time.sleep(0.2)
    r = requests.get(url + "/ready", timeout=120)
    if r.status_code != 200:
        sys.exit(f"{url}/ready: {r.status_code} {r.text}")
    return r.json()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server (loopback only); default: start one")
    ap.add_argument("--project", default="loadtest")
    ap.add_argument("--token", help="X-Auth-Token for --url when it checks credentials")
    ap.add_argument("--ops", default="detect,compare,add,search")
    ap.add_argument("--concurrency", default="1,2,4,8")
    ap.add_argument("--requests", type=int, default=40, help="per cell, at most")
    ap.add_argument("--seconds", type=float, default=20.0, help="per cell, at most")
    args = ap.parse_args()

    server = None
    notes = []
    if args.url:
        if urlparse(args.url).hostname not in LOOPBACK:
            sys.exit("load is only sent to loopback (127.0.0.1, localhost, ::1)")
        url = args.url.rstrip("/")
    else:
        from testkit import live
        tmp = Path(tempfile.mkdtemp(prefix="frs-load-"))
        extra = live.model_dir_with_calibration(tmp / "models")
        if extra:
            notes.append("placeholder similarity calibration (models/calibration.json absent)")
        server = live.Server({**live.open_env(tmp / "data"), **extra}, tmp / "server.log").start()
        url = server.url
    headers = {"X-Auth-Token": args.token} if args.token else {}
    try:
        ready = wait_ready(url)
        summary_ready = {"store": ready["store"]["backend"],
                         "models": [ready["models"]["detector"], ready["models"]["embedder"]]}
        r = requests.post(f"{url}/v2/{args.project}/face-sets", headers=headers, timeout=30,
                          json={"face_set_name": SET, "face_set_capacity": 100000})
        if r.status_code != 200 and r.json().get("error_code") != "FRS.0301":
            sys.exit(f"cannot create the load face set: {r.status_code} {r.text}")
        jobs = payloads(args.project)
        # Search needs faces to rank: seed the set before any timing.
        for _ in range(20):
            requests.post(url + jobs["add"][0], json=jobs["add"][1], headers=headers, timeout=120)
        requests.post(url + jobs["detect"][0], json=jobs["detect"][1], headers=headers, timeout=120)
        results = {}
        load_before = os.getloadavg()[0]
        print(f"{'op':8} {'conc':>4} {'req':>5} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'errors':>7}")
        for op in args.ops.split(","):
            path, body = jobs[op]
            for c in (int(x) for x in args.concurrency.split(",")):
                res = cell(url, path, body, headers, c, args.requests, args.seconds)
                results[f"{op}@{c}"] = res
                print(f"{op:8} {c:>4} {res['requests']:>5} {res['rps']:>7} {res['p50_ms']:>8} "
                      f"{res['p95_ms']:>8} {res['p99_ms']:>8} {res['error_rate']:>7}"
                      + (f"  {res['errors']}" if res["errors"] else ""), flush=True)
    finally:
        if server is not None:
            server.stop()
    total = sum(r["requests"] for r in results.values())
    errs = sum(sum(r["errors"].values()) for r in results.values())
    print_summary({"bench": "load", "url": "own chalice local" if server else url, **summary_ready,
                   "requests": total, "error_rate": round(errs / total, 4) if total else None,
                   "notes": notes, "cpus": os.cpu_count(),
                   # Other processes on the machine skew every figure: show how busy it was.
                   "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                   "cells": {k: {x: v[x] for x in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate")}
                             for k, v in results.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
