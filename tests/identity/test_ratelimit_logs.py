"""Per-project rate limits (§3.4 headers, FRS.0033) and secrets kept out of logs."""
from __future__ import annotations

import json
import logging

import boto3
import pytest
from chalice.test import Client
from identity_helpers import APP, raw_request, sdk_sign, to_chalice, token_body
from moto import mock_aws

from chalicelib.cli import admin
from chalicelib.errors import FrsError
from chalicelib.identity import authorize, bootstrap, ratelimit, reset
from chalicelib.identity.ratelimit import DynamoCounter


def signed(p, path=None):
    return to_chalice(sdk_sign(p["ak"], p["sk"], p["id"], "GET", path or f"/v2/{p['id']}/face-sets"))


def test_disabled_by_default(proj):
    for _ in range(5):
        assert authorize(signed(proj), proj["id"]) == {}


def test_limit_headers_and_frs0033(proj, proj_b, monkeypatch):
    monkeypatch.setenv("FRS_RATELIMIT", "3")
    monkeypatch.setenv("FRS_RATELIMIT_WINDOW", "minute")
    reset()
    seen = [authorize(signed(proj), proj["id"]) for _ in range(3)]
    assert [h["X-ratelimit-used"] for h in seen] == ["1", "2", "3"]
    assert seen[0]["X-ratelimit"] == "3" and seen[0]["X-ratelimit-window"] == "minute"
    with pytest.raises(FrsError) as e:
        authorize(signed(proj), proj["id"])
    assert (e.value.code, e.value.status) == ("FRS.0033", 400)
    assert e.value.headers["X-ratelimit-used"] == "3"
    # Other projects have their own budget.
    assert authorize(signed(proj_b), proj_b["id"])["X-ratelimit-used"] == "1"


def test_refused_requests_are_not_counted(proj, monkeypatch):
    monkeypatch.setenv("FRS_RATELIMIT", "1")
    reset()
    for _ in range(3):
        with pytest.raises(FrsError):
            authorize(raw_request("GET", f"/v2/{proj['id']}/face-sets"), proj["id"])
    assert authorize(signed(proj), proj["id"])["X-ratelimit-used"] == "1"


def test_overrides_and_windows(proj, proj_b, monkeypatch):
    monkeypatch.setenv("FRS_RATELIMIT", "100")
    monkeypatch.setenv("FRS_RATELIMIT_OVERRIDES", f"{proj_b['id']}=0, {proj['id']}=1")
    reset()
    assert authorize(signed(proj), proj["id"])["X-ratelimit"] == "1"
    assert authorize(signed(proj_b), proj_b["id"]) == {}  # 0 = unlimited for this project
    # A new window starts a new count.
    env = {"FRS_RATELIMIT": "1", "FRS_RATELIMIT_WINDOW": "minute", "FRS_RATELIMIT_BACKEND": "memory"}
    ratelimit.reset_counter()
    assert ratelimit.check("p", env, now=60.0)["X-ratelimit-used"] == "1"
    with pytest.raises(FrsError):
        ratelimit.check("p", env, now=119.0)
    assert ratelimit.check("p", env, now=120.0)["X-ratelimit-used"] == "1"


def test_sqlite_counter_is_shared_between_instances(tmp_path):
    a, b = ratelimit.SqliteCounter(str(tmp_path)), ratelimit.SqliteCounter(str(tmp_path))
    assert [a.incr("k", 60), b.incr("k", 60), a.incr("k", 60)] == [1, 2, 3]


def test_dynamodb_counter(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName="rl", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        c = DynamoCounter("rl", client=ddb)
        assert [c.incr("p:hour:1", 3600) for _ in range(3)] == [1, 2, 3]
        assert c.incr("p:hour:2", 3600) == 1


def test_secrets_never_logged(caplog, capsys, store, proj, monkeypatch):
    """Drive every code path that touches a secret with logging at DEBUG and
    check that no SK, password or token shows up in any log record."""
    caplog.set_level(logging.DEBUG)
    secrets_seen = [proj["sk"]]
    store.set_user("alice", "alice-password-123", "acme")
    secrets_seen.append("alice-password-123")
    with Client(APP) as c:
        r = c.http.post("/v3/auth/tokens", headers={"Content-Type": "application/json"},
                        body=token_body(project={"name": "alpha"}, password="alice-password-123"))
        assert r.status_code == 201
        tok = r.headers["X-Subject-Token"]
        secrets_seen.append(tok)
        c.http.post("/v3/auth/tokens", headers={"Content-Type": "application/json"},
                    body=token_body(password="wrong-password-xyz"))
        secrets_seen.append("wrong-password-xyz")
        assert c.http.get(f"/v2/{proj['id']}/face-sets", headers={"X-Auth-Token": tok}).status_code == 200
        assert c.http.get(f"/v2/{proj['id']}/face-sets",
                          headers={"X-Auth-Token": tok[:-3] + "abc"}).status_code == 403
    authorize(signed(proj), proj["id"])
    bad = sdk_sign(proj["ak"], "wrong-sk-value-0000", proj["id"], "GET", f"/v2/{proj['id']}/face-sets")
    secrets_seen.append("wrong-sk-value-0000")
    with pytest.raises(FrsError):
        authorize(to_chalice(bad), proj["id"])
    # admin + bootstrap + dev banner, which create secrets
    admin.main(["key", "create", "--project", proj["id"]])
    created = json.loads(capsys.readouterr().out)
    secrets_seen.append(created["sk"])
    admin.main(["key", "rotate", "--ak", created["ak"]])
    secrets_seen.append(json.loads(capsys.readouterr().out)["sk"])
    monkeypatch.setenv("FRS_ADMIN_PASSWORD", "admin-chosen-pw-1")
    admin.main(["user", "create", "--name", "bob", "--domain", "acme"])
    secrets_seen.append("admin-chosen-pw-1")
    for k, v in {"FRS_BOOTSTRAP_PROJECT_ID": "bootproj", "FRS_BOOTSTRAP_AK": "BOOTAK",
                 "FRS_BOOTSTRAP_SK": "boot-sk-secret-1", "FRS_BOOTSTRAP_USER": "ops",
                 "FRS_BOOTSTRAP_PASSWORD": "boot-password-1"}.items():
        monkeypatch.setenv(k, v)
    bootstrap.ensure_from_env(store)
    secrets_seen += ["boot-sk-secret-1", "boot-password-1"]
    for k in ("FRS_BOOTSTRAP_PROJECT_ID", "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK", "FRS_BOOTSTRAP_USER",
              "FRS_BOOTSTRAP_PASSWORD"):
        monkeypatch.delenv(k)
    info, created_dev = bootstrap.ensure_dev_project(store)
    assert created_dev
    secrets_seen += [info["sk"], info["password"]]
    capsys.readouterr()

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "auth refused" in logged and "token issued" in logged  # the paths did log
    assert proj["ak"] in logged or "bootstrap" in logged
    for s in secrets_seen:
        assert s not in logged, "a secret reached the logs"


@pytest.fixture
def frs_app_client(monkeypatch, proj):
    """The service's own app.py with authentication on and a limit of 2/hour."""
    monkeypatch.setenv("FRS_AUTH", "iam")
    monkeypatch.setenv("FRS_RATELIMIT", "2")
    monkeypatch.setenv("FRS_STORE", "embedded")
    reset()
    from chalicelib.store import reset_store
    reset_store()
    from app import app
    with Client(app) as c:
        yield c
    reset_store()


def _signed_get(c, p):
    r = sdk_sign(p["ak"], p["sk"], p["id"], "GET", f"/v2/{p['id']}/face-sets", host="localhost")
    return c.http.get(r.uri, headers={k: v for k, v in r.header_params.items()})


def test_app_answers_ratelimit_headers_and_frs0033(frs_app_client, proj):
    ok = [_signed_get(frs_app_client, proj) for _ in range(2)]
    assert [r.status_code for r in ok] == [200, 200]
    assert ok[1].headers["X-ratelimit"] == "2" and ok[1].headers["X-ratelimit-used"] == "2"
    assert ok[1].headers["X-ratelimit-window"] == "hour"
    over = _signed_get(frs_app_client, proj)
    assert over.status_code == 400 and over.json_body["error_code"] == "FRS.0033"


def test_app_frs0033_carries_ratelimit_headers(frs_app_client, proj):
    for _ in range(2):
        _signed_get(frs_app_client, proj)
    over = _signed_get(frs_app_client, proj)
    assert over.json_body["error_code"] == "FRS.0033"
    assert over.headers.get("X-ratelimit-used") == "2" and over.headers.get("X-ratelimit") == "2"
