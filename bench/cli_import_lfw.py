"""Bulk enrolment with the ``openfrs`` command (issue 17): LFW's 13,233 images
into one face set of the embedded store with 2 workers, killed (SIGKILL) half
way once and resumed. Reports images/s of each run and overall, the error
counts by FRS code, and, read back from the set itself (``openfrs export``),
that the resumed total is exact: one face per image, no duplicate.

    python -m bench.cli_import_lfw [--workers 2] [--limit N] [--kill-at 0.5]

Starts its own ``chalice local`` (authentication on, AK/SK) on a temporary
data directory; the models are loaded by a first request before timing.
Prints a one-line JSON summary last.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import LFW, print_summary, require
from testkit.server import LocalServer

OPENFRS = Path(sys.executable).parent / "openfrs"
PROJECT = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
AK, SK = "AKBENCHIMPORT0000001", "sk-bench-import-0123456789abcdefghijklm"


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def journal_counts(path: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(path) as db:
            return dict(db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall())
    except sqlite3.OperationalError:
        return {}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N people folders (0: all)")
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of images done at the SIGKILL")
    args = ap.parse_args(argv)
    images_root = require(LFW / "images", "LFW")
    if not OPENFRS.exists():
        sys.exit(f"{OPENFRS} missing: run `make venv` (it installs the openfrs command)")
    work = Path(tempfile.mkdtemp(prefix="bench-cli-import-"))
    source = images_root
    if args.limit:
        source = work / "subset"
        source.mkdir()
        for person in sorted(os.listdir(images_root))[: args.limit]:
            (source / person).symlink_to(images_root / person)
    total = sum(1 for _ in source.glob("*/*.jpg"))
    env = {"FRS_DATA_DIR": str(work / "data"), "FRS_STORE": "embedded", "FRS_AUTH": "iam",
           "FRS_IDENTITY_BACKEND": "sqlite", "FRS_RATELIMIT": "", "OPENBLAS_NUM_THREADS": "1",
           # One onnxruntime thread per request: the two workers' requests run side by side.
           "FRS_ORT_THREADS": "1",
           "FRS_BOOTSTRAP_PROJECT_ID": PROJECT, "FRS_BOOTSTRAP_AK": AK, "FRS_BOOTSTRAP_SK": SK,
           "FRS_BOOTSTRAP_USER": "bench", "FRS_BOOTSTRAP_PASSWORD": "bench-password-123"}
    server = LocalServer(env, log_path=work / "chalice-local.log").start()
    cli_env = {**os.environ, "OPENFRS_ENDPOINT": server.url, "OPENFRS_PROJECT_ID": PROJECT,
               "OPENFRS_AK": AK, "OPENFRS_SK": SK}
    journal, report = work / "journal.sqlite3", work / "errors.csv"
    cmd = [str(OPENFRS), "--json", "import", str(source), "--face-set", "lfw", "--workers", str(args.workers),
           "--journal", str(journal), "--errors", str(report), "--no-progress", "--resume-grace", "5"]
    try:
        # Load the models before timing (a running server's throughput is measured).
        warm = sorted(source.glob("*/*.jpg"))[0]
        subprocess.run([str(OPENFRS), "detect", str(warm)], env=cli_env, check=True, capture_output=True)
        load_before = load()
        log(f"{total} images, {args.workers} workers, load {load_before}")
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while True:
            c = journal_counts(journal)
            finished = c.get("done", 0) + c.get("error", 0)
            if finished >= args.kill_at * total:
                break
            if proc.poll() is not None:
                sys.exit("import ended before the kill: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t_first = time.monotonic() - t0
        at_kill = journal_counts(journal)
        log(f"SIGKILL after {t_first:.0f} s: journal {at_kill}")
        t1 = time.monotonic()
        resumed = subprocess.run(cmd, env=cli_env, capture_output=True, text=True)
        t_second = time.monotonic() - t1
        if resumed.returncode != 0:
            sys.exit("resumed import failed: " + resumed.stderr[-2000:])
        second = json.loads(resumed.stdout)
        load_after = load()
        log(f"resumed: {second}")
        out = work / "lfw.ofrs"
        subprocess.run([str(OPENFRS), "export", "lfw", "-o", str(out)], env=cli_env, check=True,
                       capture_output=True)
        faces = [json.loads(x) for x in out.read_text().splitlines()[1:-1]]
        hashes = collections.Counter(f["external_fields"]["import_sha256"] for f in faces)
        with open(report, newline="") as fh:
            errors = collections.Counter(r["error_code"] for r in csv.DictReader(fh))
        final = journal_counts(journal)
        added_first = at_kill.get("done", 0)
        expected = total - second["duplicate_content"] - sum(errors.values())
        summary = {
            "bench": "cli_import_lfw", "store": "embedded", "workers": args.workers, "images": total,
            "faces_in_set": len(faces), "distinct_images_in_set": len(hashes),
            "duplicates": len(faces) - len(hashes), "expected_faces": expected,
            "exact": len(faces) == expected == final.get("done", 0) and len(faces) == len(hashes),
            "duplicate_files": second["duplicate_content"], "errors_by_code": dict(errors),
            "first_run": {"seconds": round(t_first, 1), "done": added_first,
                          "images_per_second": round(added_first / t_first, 2)},
            "resumed_run": {"seconds": round(t_second, 1), "added": second["added"],
                            "recovered": second["recovered"], "skipped_done": second["skipped_done"],
                            "images_per_second": second["images_per_second"]},
            "images_per_second": round((added_first + second["added"] + second["recovered"])
                                       / (t_first + t_second), 2),
            "load_before": load_before, "load_after": load_after,
        }
        return summary
    finally:
        server.stop()


if __name__ == "__main__":
    print_summary(main())
