"""A ``chalice local`` process for the hardening tests, with credentials.

``testkit.server.LocalServer`` runs chalice's auto-reloader, which restarts the
server whenever any file under the repository changes (another engineer's
edit, a ``__pycache__`` write): in-flight requests then fail as if the server
had crashed. It also pipes the server's output and never reads it: after about
64 KB of access-log lines (~500 requests) the server blocks writing its log
and every request hangs. Fuzzing, concurrency and crash tests need a server
that only stops when the test says so: ``--no-autoreload``, output to a file.
"""
from __future__ import annotations

from pathlib import Path

import requests

from testkit.server import REPO, LocalServer

PROJECT = "hardening"
USER, PASSWORD = "hardener", "hardening-password-1"
AK, SK = "HARDENINGAK00000", "hardening-secret-key-0123456789abcdefghij"


def auth_env(data_dir) -> dict:
    """Embedded store in ``data_dir``, authentication on, one bootstrapped project."""
    return {"FRS_DATA_DIR": str(data_dir), "FRS_STORE": "embedded", "FRS_AUTH": "iam",
            "FRS_BOOTSTRAP_PROJECT_ID": PROJECT, "FRS_BOOTSTRAP_AK": AK,
            "FRS_BOOTSTRAP_SK": SK, "FRS_BOOTSTRAP_USER": USER,
            "FRS_BOOTSTRAP_PASSWORD": PASSWORD, "FRS_RATELIMIT": "0"}


def open_env(data_dir) -> dict:
    """Embedded store in ``data_dir``, authentication off."""
    return {"FRS_DATA_DIR": str(data_dir), "FRS_STORE": "embedded", "FRS_AUTH": "off"}


class Server(LocalServer):
    """``LocalServer`` with its log file named by the test."""

    def __init__(self, env: dict, log_path, port: int | None = None):
        super().__init__(env, port, log_path)

    def log(self) -> str:
        return self.output()


def token_headers(url: str, project: str = PROJECT, user: str = USER,
                  password: str = PASSWORD, domain: str = "openfrs") -> dict:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": domain}}}},
        "scope": {"project": {"id": project}}}}
    r = requests.post(url + "/v3/auth/tokens", json=body, timeout=30)
    r.raise_for_status()
    return {"X-Auth-Token": r.headers["X-Subject-Token"]}


def model_dir_with_calibration(tmp) -> dict:
    """Environment for a server whose similarity mapping is defined.

    While models/calibration.json is absent every similarity answers 500
    (reported), which would hide what the concurrency tests and the load
    benchmark look at: store consistency and speed, not score values. Then
    the built models are linked into ``tmp`` with a manifest carrying a
    placeholder logistic mapping; with a real calibration, nothing changes.
    """
    import json
    import os

    from testkit.server import calibrated
    if calibrated():
        return {}
    src = REPO / "models"
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((src / "manifest.json").read_text())
    for entry in manifest["models"].values():
        link = tmp / entry["file"]
        if not link.exists():
            os.symlink(src / entry["file"], link)
    manifest["calibration"] = {"mapping": {"form": "logistic", "k": 12.0, "c": 0.5},
                               "note": "placeholder for hardening tests (no real calibration)"}
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    return {"FRS_MODEL_DIR": str(tmp)}
