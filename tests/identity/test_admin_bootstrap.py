"""Admin CLI, bootstrap from FRS_BOOTSTRAP_*, and the `make serve` banner."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from identity_helpers import sdk_sign, to_chalice

from chalicelib.cli import admin, serve_banner
from chalicelib.errors import FrsError
from chalicelib.identity import authorize, bootstrap, reset
from chalicelib.identity.credentials import get_credential_store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOT = {"FRS_BOOTSTRAP_PROJECT_ID": "0123456789abcdef0123456789abcdef",
        "FRS_BOOTSTRAP_AK": "BOOTSTRAPAK000000001", "FRS_BOOTSTRAP_SK": "bootstrap-sk-value-0123456789",
        "FRS_BOOTSTRAP_USER": "ops", "FRS_BOOTSTRAP_PASSWORD": "bootstrap-password-1"}


def cli(*args, env=None):
    """The real CLI in a subprocess: exit code and parsed JSON output."""
    r = subprocess.run([sys.executable, "-m", "chalicelib.cli.admin", *args], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=60)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr


def test_cli_end_to_end(data_dir):
    rc, proj, _ = cli("project", "create", "--name", "alpha", "--domain", "acme")
    assert rc == 0 and proj["name"] == "alpha"
    rc, key, _ = cli("key", "create", "--project", proj["id"])
    assert rc == 0 and len(key["sk"]) == 40
    rc, keys, _ = cli("key", "list")
    assert [k["ak"] for k in keys] == [key["ak"]] and key["sk"] not in json.dumps(keys)
    rc, user, _ = cli("user", "create", "--name", "alice", "--domain", "acme")
    assert rc == 0 and len(user["password"]) >= 20  # generated, shown once
    rc, users, _ = cli("user", "list")
    assert user["password"] not in json.dumps(users) and "scrypt" not in json.dumps(users)
    rc, _, err = cli("user", "create", "--name", "alice", "--domain", "acme")
    assert rc == 2 and "exists" in err
    rc, out, _ = cli("user", "passwd", "--name", "alice", "--domain", "acme",
                     env={"FRS_ADMIN_PASSWORD": "chosen-pw"})
    assert rc == 0 and "password" not in out  # not generated: not echoed
    assert get_credential_store().check_password("acme", "alice", "chosen-pw")
    rc, new, _ = cli("key", "rotate", "--ak", key["ak"])
    assert rc == 0 and new["ak"] != key["ak"] and new["project_id"] == proj["id"]
    rc, out, _ = cli("key", "revoke", "--ak", new["ak"])
    assert out["status"] == "revoked" and "sk" not in out
    rc, out, _ = cli("token-key", "rotate")
    assert rc == 0 and set(out) == {"kid", "created_at"}
    rc, projects, _ = cli("project", "list")
    assert [p["id"] for p in projects] == [proj["id"]]
    rc, _, err = cli("key", "create", "--project", "nope")
    assert rc == 2 and "does not exist" in err


def test_cli_revoke_takes_effect_for_signed_requests(store, proj, capsys):
    r = sdk_sign(proj["ak"], proj["sk"], proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    authorize(to_chalice(r), proj["id"])
    assert admin.main(["key", "revoke", "--ak", proj["ak"]]) == 0
    with pytest.raises(FrsError) as e:
        authorize(to_chalice(r), proj["id"])
    assert e.value.code == "APIG.0301"


def test_bootstrap_creates_and_is_idempotent(monkeypatch, store):
    for k, v in BOOT.items():
        monkeypatch.setenv(k, v)
    info = bootstrap.ensure_from_env(store)
    assert info["project_id"] == BOOT["FRS_BOOTSTRAP_PROJECT_ID"] and "sk" not in info
    snapshot = {kind: store._list(kind) for kind in ("project", "user", "key")}
    bootstrap.ensure_from_env(store)
    assert {kind: store._list(kind) for kind in ("project", "user", "key")} == snapshot  # nothing rewritten
    assert store.secret_for(BOOT["FRS_BOOTSTRAP_AK"]) == (BOOT["FRS_BOOTSTRAP_PROJECT_ID"],
                                                          BOOT["FRS_BOOTSTRAP_SK"])
    assert store.check_password("openfrs", "ops", BOOT["FRS_BOOTSTRAP_PASSWORD"])
    # Changed values are applied (updated, not duplicated).
    monkeypatch.setenv("FRS_BOOTSTRAP_SK", "rotated-sk")
    monkeypatch.setenv("FRS_BOOTSTRAP_PASSWORD", "new-password")
    bootstrap.ensure_from_env(store)
    assert store.secret_for(BOOT["FRS_BOOTSTRAP_AK"])[1] == "rotated-sk"
    assert store.check_password("openfrs", "ops", "new-password")
    assert not store.check_password("openfrs", "ops", BOOT["FRS_BOOTSTRAP_PASSWORD"])
    assert len(store.list_keys()) == 1 and len(store.list_users()) == 1 and len(store.list_projects()) == 1


def test_bootstrap_revived_after_revoke(monkeypatch, store):
    for k, v in BOOT.items():
        monkeypatch.setenv(k, v)
    bootstrap.ensure_from_env(store)
    store.revoke_key(BOOT["FRS_BOOTSTRAP_AK"])
    bootstrap.ensure_from_env(store)  # the operator's env says this key must work
    assert store.secret_for(BOOT["FRS_BOOTSTRAP_AK"]) is not None


def test_partial_bootstrap_env_is_an_error(monkeypatch, store):
    monkeypatch.setenv("FRS_BOOTSTRAP_AK", "X")
    with pytest.raises(bootstrap.BootstrapError) as e:
        bootstrap.ensure_from_env(store)
    assert "FRS_BOOTSTRAP_SK" in str(e.value) and "X" not in str(e.value).replace("FRS_BOOTSTRAP_", "")


def test_authorize_bootstraps_on_first_request(monkeypatch):
    for k, v in BOOT.items():
        monkeypatch.setenv(k, v)
    reset()
    pid = BOOT["FRS_BOOTSTRAP_PROJECT_ID"]
    r = sdk_sign(BOOT["FRS_BOOTSTRAP_AK"], BOOT["FRS_BOOTSTRAP_SK"], pid, "GET", f"/v2/{pid}/face-sets")
    assert authorize(to_chalice(r), pid) == {}


def test_banner_prints_dev_credentials_once(store):
    out1 = io.StringIO()
    assert serve_banner.banner(os.environ, out1) == 0
    text = out1.getvalue()
    meta = store.get_meta(bootstrap.DEV_META)
    key = store.list_keys(meta["project_id"])[0]
    sk = store.secret_for(key["ak"])[1]
    assert meta["project_id"] in text and key["ak"] in text and sk in text and "password" in text
    password = [ln.split(":", 1)[1].strip() for ln in text.splitlines()
                if ln.strip().startswith("password")][0]
    assert store.check_password("openfrs", "dev", password)
    out2 = io.StringIO()
    assert serve_banner.banner(os.environ, out2) == 0
    assert meta["project_id"] in out2.getvalue() and sk not in out2.getvalue() \
        and password not in out2.getvalue()
    assert len(store.list_projects()) == 1 and len(store.list_keys()) == 1
    # The printed credentials work.
    r = sdk_sign(key["ak"], sk, meta["project_id"], "GET", f"/v2/{meta['project_id']}/face-sets")
    authorize(to_chalice(r), meta["project_id"])


def test_banner_with_bootstrap_env_prints_no_secret(monkeypatch, store):
    for k, v in BOOT.items():
        monkeypatch.setenv(k, v)
    out = io.StringIO()
    assert serve_banner.banner(os.environ, out) == 0
    text = out.getvalue()
    assert BOOT["FRS_BOOTSTRAP_PROJECT_ID"] in text and BOOT["FRS_BOOTSTRAP_SK"] not in text \
        and BOOT["FRS_BOOTSTRAP_PASSWORD"] not in text
    assert store.get_meta(bootstrap.DEV_META) is None  # no dev project then


def test_banner_as_make_serve_runs_it(data_dir):
    env = {**os.environ, "FRS_DATA_DIR": str(data_dir)}
    first = subprocess.run([sys.executable, "-m", "chalicelib.cli.serve_banner"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    second = subprocess.run([sys.executable, "-m", "chalicelib.cli.serve_banner"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert first.returncode == second.returncode == 0
    assert "SK         :" in first.stdout and "SK         :" not in second.stdout
