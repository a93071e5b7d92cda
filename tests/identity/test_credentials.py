"""The credentials store contract, run against both backends (SSM via moto)."""
from __future__ import annotations

import os
import stat

import boto3
import pytest
from moto import mock_aws

from chalicelib.identity.credentials import REVOKED, SqliteCredentialStore, SsmCredentialStore, make_store


@pytest.fixture(params=["sqlite", "ssm"])
def backend(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        yield SqliteCredentialStore(str(tmp_path / "db"))
        return
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield SsmCredentialStore("/openfrs-test/identity", client=boto3.client("ssm"))


def test_projects(backend):
    a = backend.create_project("alpha", "acme")
    assert len(a["id"]) == 32 and backend.get_project(a["id"]) == a
    b = backend.create_project("alpha", "other", project_id="fixed-id")
    assert backend.find_project("other", "alpha")["id"] == "fixed-id"
    assert backend.find_project("acme", "alpha")["id"] == a["id"]
    assert backend.find_project("acme", "zzz") is None
    assert {p["id"] for p in backend.list_projects()} == {a["id"], b["id"]}
    with pytest.raises(ValueError):
        backend.create_project("alpha", "acme")  # same name, same domain
    with pytest.raises(ValueError):
        backend.create_project("x", "acme", project_id="fixed-id")
    with pytest.raises(ValueError):
        backend.create_project("bad name", "acme")


def test_users_hash_passwords(backend):
    u = backend.set_user("alice", "pw-1", "acme")
    assert "password" not in u
    assert backend.check_password("acme", "alice", "pw-1")["id"] == u["id"]
    assert backend.check_password("acme", "alice", "pw-2") is None
    assert backend.check_password("other", "alice", "pw-1") is None
    raw = backend._list("user")[0]
    assert raw["password"].startswith("scrypt$") and "pw-1" not in raw["password"]
    backend.set_user("alice", "pw-2", "acme")  # password change keeps the id
    assert backend.check_password("acme", "alice", "pw-2")["id"] == u["id"]
    assert [x["name"] for x in backend.list_users()] == ["alice"]
    assert all("password" not in x for x in backend.list_users())
    backend.delete_user("acme", "alice")
    assert backend.get_user("acme", "alice") is None


def test_salts_differ(backend):
    backend.set_user("a", "same", "d")
    backend.set_user("b", "same", "d")
    hashes = [u["password"] for u in backend._list("user")]
    assert hashes[0] != hashes[1]


def test_keys(backend):
    p = backend.create_project("alpha", "acme")
    k = backend.create_key(p["id"])
    assert len(k["ak"]) == 20 and len(k["sk"]) == 40
    assert backend.secret_for(k["ak"]) == (p["id"], k["sk"])
    listed = backend.list_keys(p["id"])
    assert [x["ak"] for x in listed] == [k["ak"]] and "sk" not in listed[0]
    assert k["sk"] not in repr(backend.list_keys())
    new = backend.rotate_key(k["ak"])
    assert new["ak"] != k["ak"] and backend.secret_for(new["ak"]) == (p["id"], new["sk"])
    assert backend.secret_for(k["ak"]) is None
    assert {x["ak"]: x["status"] for x in backend.list_keys()}[k["ak"]] == REVOKED
    backend.revoke_key(new["ak"])
    assert backend.secret_for(new["ak"]) is None
    with pytest.raises(ValueError):
        backend.create_key("no-such-project")
    with pytest.raises(ValueError):
        backend.revoke_key("NOPE")


def test_signing_key(backend):
    k1 = backend.signing_key()
    assert len(k1["key"]) == 32 and backend.signing_key() == k1
    out = backend.rotate_signing_key()
    assert "key" not in out
    k2 = backend.signing_key()
    assert k2["kid"] != k1["kid"] and k2["key"] != k1["key"]


def test_ssm_stores_secure_strings():
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-west-1")
        s = SsmCredentialStore("/p", client=ssm)
        p = s.create_project("alpha", "acme")
        k = s.create_key(p["id"])
        s.signing_key()
        params = ssm.describe_parameters()["Parameters"]
        assert params and {x["Type"] for x in params} == {"SecureString"}
        names = {x["Name"] for x in params}
        assert f"/p/key/{k['ak']}" in names and "/p/signing/token" in names


def test_sqlite_file_is_private(tmp_path):
    s = SqliteCredentialStore(str(tmp_path / "d"))
    assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o600


def test_make_store_selects_backend(tmp_path, monkeypatch):
    assert isinstance(make_store({"FRS_DATA_DIR": str(tmp_path)}), SqliteCredentialStore)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        st = make_store({"FRS_IDENTITY_BACKEND": "ssm", "FRS_IDENTITY_SSM_PREFIX": "/x/"})
    assert isinstance(st, SsmCredentialStore) and st.prefix == "/x"
    with pytest.raises(ValueError):
        make_store({"FRS_IDENTITY_BACKEND": "ldap"})


def test_bootstrap_on_ssm_is_idempotent(monkeypatch):
    from chalicelib.identity import bootstrap
    env = {"FRS_BOOTSTRAP_PROJECT_ID": "p-ssm", "FRS_BOOTSTRAP_AK": "SSMAK", "FRS_BOOTSTRAP_SK": "ssm-sk",
           "FRS_BOOTSTRAP_USER": "ops", "FRS_BOOTSTRAP_PASSWORD": "ssm-pw"}
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-west-1")
        s = SsmCredentialStore("/b", client=ssm)
        bootstrap.ensure_from_env(s, env)
        versions = {p["Name"]: p["Version"] for p in ssm.describe_parameters()["Parameters"]}
        bootstrap.ensure_from_env(s, env)
        assert {p["Name"]: p["Version"] for p in ssm.describe_parameters()["Parameters"]} == versions
        assert s.secret_for("SSMAK") == ("p-ssm", "ssm-sk") and s.check_password("openfrs", "ops", "ssm-pw")
