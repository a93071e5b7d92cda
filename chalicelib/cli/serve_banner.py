"""Run by ``make serve`` before ``chalice local``: make sure someone can log in.

With FRS_BOOTSTRAP_* set, those credentials are ensured (nothing secret is
printed: the operator chose them). Otherwise a development project is created
on the first run and its project id, AK, SK, user and password are printed
that one time; later runs print only the non-secret part.
"""
from __future__ import annotations

import sys
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


if __name__ == "__main__":
    sys.exit(banner())
