"""Run by ``make serve`` before ``chalice local``: make sure someone can log in.

With FRS_BOOTSTRAP_* set, those credentials are ensured (nothing secret is
printed: the operator chose them). Otherwise a development project is created
on the first run and its project id, AK, SK, user and password are printed
that one time; later runs print only the non-secret part.

``--when-ready`` (started by ``make serve`` beside ``chalice local``) waits
for ``GET /health``, then asks ``GET /ready`` once, which loads the models so
the first real request does not pay for it, and prints where the service,
its API reference and its checks are, with the store backend and models.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Mapping, TextIO

from chalicelib.config import Settings
from chalicelib.identity import bootstrap
from chalicelib.identity.credentials import get_credential_store


def banner(environ: Mapping[str, str] | None = None, out: TextIO = sys.stdout) -> int:
    cfg = Settings.from_env(environ)
    endpoint = f"http://127.0.0.1:{cfg.port}"
    if cfg.auth == "off":
        print("OpenFRS: FRS_AUTH=off, requests are NOT authenticated.", file=out)
    store = get_credential_store()
    try:
        info = bootstrap.ensure_from_env(store, environ)
    except bootstrap.BootstrapError as e:
        print(f"OpenFRS: {e}", file=sys.stderr)
        return 2
    if info:
        print(f"OpenFRS: bootstrap project {info['project_id']} ({info['domain']}/{info['project_name']}),"
              f" user {info['user']}, AK {info['ak']} ready (values from FRS_BOOTSTRAP_*).", file=out)
        return 0
    info, created = bootstrap.ensure_dev_project(store)
    if created:
        print(f"""
OpenFRS development credentials (shown ONCE; stored in {cfg.data_dir}):
  project id : {info['project_id']}   (domain {info['domain']}, project name {info['project_name']})
  AK         : {info['ak']}
  SK         : {info['sk']}
  user       : {info['user']}
  password   : {info['password']}

AK/SK with the official SDK:
  BasicCredentials("{info['ak']}", "<SK>", "{info['project_id']}")
  FrsClient.new_builder().with_credentials(...).with_endpoint("{endpoint}").build()
Token for curl:
  curl -si {endpoint}/v3/auth/tokens -H 'Content-Type: application/json' -d '{{"auth":
    {{"identity": {{"methods": ["password"], "password": {{"user": {{"name": "{info['user']}",
    "password": "<password>", "domain": {{"name": "{info['domain']}"}}}}}}}},
    "scope": {{"project": {{"name": "{info['project_name']}"}}}}}}}}' | grep -i x-subject-token
  then send the value as X-Auth-Token. See docs/identity.md.
""", file=out)
    else:
        print(f"OpenFRS: dev project {info['project_id']} (user {info['user']}, AK {info['ak']});"
              " its SK and password were printed when it was created. Lost them?"
              f" python -m chalicelib.cli.admin key create --project {info['project_id']} /"
              f" user passwd --name {info['user']}", file=out)
    return 0


def _get(url: str, timeout: float) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - our own loopback URL
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def when_ready(environ: Mapping[str, str] | None = None, out: TextIO = sys.stdout,
               wait_s: float = 300.0) -> int:
    """Wait for the local server, then print its readiness (0) or why not (1)."""
    cfg = Settings.from_env(environ)
    endpoint = f"http://127.0.0.1:{cfg.port}"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if _get(endpoint + "/health", 2.0)[0] == 200:
                break
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            print(f"OpenFRS: no answer from {endpoint}/health after {wait_s:.0f} s", file=out)
            return 1
        time.sleep(0.2)
    try:
        status, body = _get(endpoint + "/ready", 120.0)
    except (OSError, ValueError) as e:
        print(f"OpenFRS: {endpoint}/ready did not answer ({type(e).__name__})", file=out)
        return 1
    store, models = body.get("store", {}), body.get("models", {})
    if status != 200:
        why = "; ".join(f"{k}: {v.get('error')}" for k, v in (("models", models), ("store", store))
                        if not v.get("ok"))
        print(f"OpenFRS: serving on {endpoint} but NOT ready ({why}); see {endpoint}/ready", file=out)
        return 1
    print(f"OpenFRS ready on {endpoint}: store {store.get('backend')}, models {models.get('detector')}"
          f" + {models.get('embedder')} (loaded in {models.get('ms')} ms). API reference {endpoint}/docs,"
          f" web console {endpoint}/console, liveness {endpoint}/health, readiness {endpoint}/ready",
          file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(when_ready() if "--when-ready" in sys.argv[1:] else banner())
