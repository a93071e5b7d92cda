"""Run a real `chalice local` process for end-to-end tests."""
from __future__ import annotations

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
    def __init__(self, env: dict, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.proc = None

    def start(self, timeout=60):
        # The access log goes to a file: an unread pipe fills up and blocks the server.
        self.log = tempfile.NamedTemporaryFile(prefix="chalice-local-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(CHALICE), "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(self.port), "--stage", "local"],
            cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chalice local exited:\n" + self.output())
            try:
                requests.get(self.url + "/v2/probe/face-sets", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chalice local did not start in time")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)
        self.proc = None
