"""Run a real `chalice local` process for end-to-end tests and benchmarks."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
CHALICE = Path(sys.executable).parent / "chalice"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`chalice local` on a free loopback port. Its output goes to a file
    (``log_path`` or a temp file): an unread pipe would fill up and block the
    server. The auto-reloader is off, so edits elsewhere in the checkout never
    restart a server mid-test."""

    def __init__(self, env: dict, port: int | None = None, log_path=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log_path = Path(log_path) if log_path else Path(
            tempfile.mkstemp(prefix="chalice-local-", suffix=".log")[1])
        self.proc = None

    def start(self, timeout=90):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(CHALICE), "local", "--no-autoreload", "--host", "127.0.0.1",
                 "--port", str(self.port), "--stage", "local"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chalice local exited:\n" + self.output()[-5000:])
            try:
                requests.get(self.url + "/v2/probe/face-sets", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):
                # Timeout: listening already, but the first (cold) request took
                # over a second on a loaded machine; ask again.
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chalice local did not start in time:\n" + self.output()[-5000:])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)
        self.proc = None


def calibrated() -> bool:
    """Similarity scores need models/calibration.json (or a manifest copy)."""
    if (REPO / "models" / "calibration.json").exists():
        return True
    try:
        return bool(json.loads((REPO / "models" / "manifest.json").read_text()).get("calibration"))
    except (OSError, ValueError):
        return False
