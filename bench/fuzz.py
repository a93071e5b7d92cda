"""The long schemathesis run (``make fuzz``): a fresh ``chalice local`` with a
bootstrapped project and an IAM token, every operation of
chalicelib/api/openapi.json in positive and negative mode, many examples each.

    python -m bench.fuzz [--examples 100] [--minutes 20] [--seed N]

Prints every distinct failure (check message and a curl to replay it), then a
one-line JSON summary: requests sent, failures, responses by status.
Exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench._common import print_summary
from testkit import fuzzing, live


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=100, help="per operation and mode")
    ap.add_argument("--minutes", type=float, default=20.0, help="whole-run bound")
    ap.add_argument("--seed", type=int, help="derandomize (same cases every run)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="frs-fuzz-"))
    srv = live.Server(live.auth_env(tmp / "data"), tmp / "server.log").start()
    try:
        headers = live.token_headers(srv.url)
        result = fuzzing.run(srv.url, live.PROJECT, headers, args.examples, args.minutes * 60,
                             seed=args.seed)
    finally:
        srv.stop()
    distinct = {}
    for op, msg, curl in result.failures:
        distinct.setdefault((op.split(" [")[0], msg.splitlines()[0] if msg else ""), (msg, curl))
    for (op, _), (msg, curl) in distinct.items():
        print(f"--- {op}\n{msg}\n{curl}\n", flush=True)
    print(f"server log: {tmp / 'server.log'}")
    print_summary({"bench": "fuzz", **result.summary(), "distinct_failures": len(distinct),
                   "examples_per_operation_and_mode": args.examples,
                   "failing_operations": sorted({op for op, _ in distinct})})
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
