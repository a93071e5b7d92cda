"""Tokens: issued by POST /v3/auth/tokens, checked by authorize()."""
from __future__ import annotations

import json
import time

import pytest
from chalice.test import Client
from identity_helpers import APP, raw_request, token_body

from chalicelib.errors import FrsError
from chalicelib.identity import authorize, tokens


@pytest.fixture
def alice(store, proj):
    store.set_user("alice", "s3cret-pw", "acme")
    return proj


@pytest.fixture
def client():
    with Client(APP) as c:
        yield c


def get_token(client, **kw):
    return client.http.post("/v3/auth/tokens", headers={"Content-Type": "application/json"},
                            body=token_body(**kw))


def test_token_by_project_name_and_use(client, alice):
    r = get_token(client)
    assert r.status_code == 201
    tok = r.headers["X-Subject-Token"]
    body = json.loads(r.body)["token"]
    assert body["project"]["id"] == alice["id"] and body["project"]["name"] == "alpha"
    assert body["user"]["name"] == "alice" and body["methods"] == ["password"]
    assert body["expires_at"].endswith("Z") and tok not in r.body.decode()
    assert r.headers["X-Request-Id"]
    ok = client.http.get(f"/v2/{alice['id']}/face-sets", headers={"X-Auth-Token": tok})
    assert ok.status_code == 200, ok.body


def test_token_by_project_id(client, alice):
    r = get_token(client, project={"id": alice["id"]})
    assert r.status_code == 201
    from chalicelib.identity.credentials import get_credential_store
    claims = tokens.verify(get_credential_store(), r.headers["X-Subject-Token"])
    assert claims["pid"] == alice["id"] and claims["exp"] - claims["iat"] == 24 * 3600


@pytest.mark.parametrize("kw", [
    {"password": "wrong"}, {"user": "bob"}, {"domain": "other"},
    {"project": {"name": "nope"}}, {"project": {"id": "0" * 32}}])
def test_bad_credentials_401(client, alice, kw):
    r = get_token(client, **kw)
    assert r.status_code == 401
    assert "X-Subject-Token" not in r.headers
    assert json.loads(r.body)["error"]["message"] == "The username or password is wrong."


def test_project_of_another_domain_refused(client, alice, store):
    other = store.create_project("gamma", "otherdomain")
    assert get_token(client, project={"id": other["id"]}).status_code == 401


@pytest.mark.parametrize("body", ["", "not json", "{}", '{"auth": {"identity": {"methods": ["token"]}}}',
                                  '{"auth": {"identity": {"methods": ["password"], "password": {"user": '
                                  '{"name": "alice", "password": "s3cret-pw", "domain": {"name": "acme"}}}},'
                                  ' "scope": {"domain": {"name": "acme"}}}}'])
def test_malformed_body_400(client, alice, body):
    r = client.http.post("/v3/auth/tokens", headers={"Content-Type": "application/json"}, body=body)
    assert r.status_code == 400


def test_token_of_other_project_refused_frs0028(client, alice, proj_b, store):
    tok = get_token(client).headers["X-Subject-Token"]
    for pid in (proj_b["id"], "f" * 32):  # existing or not: same answer
        r = client.http.get(f"/v2/{pid}/face-sets", headers={"X-Auth-Token": tok})
        assert r.status_code == 403 and json.loads(r.body)["error_code"] == "FRS.0028"


def test_expired_token_refused(store, proj):
    tok, _ = tokens.issue(store, proj["id"], "u1", now=time.time() - 24 * 3600 - 1)
    with pytest.raises(FrsError) as e:
        authorize(raw_request("GET", f"/v2/{proj['id']}/face-sets", {"x-auth-token": tok}), proj["id"])
    assert (e.value.code, e.value.status) == ("FRS.0002", 403)
    fresh, _ = tokens.issue(store, proj["id"], "u1", now=time.time() - 24 * 3600 + 60)
    authorize(raw_request("GET", f"/v2/{proj['id']}/face-sets", {"x-auth-token": fresh}), proj["id"])


def _forge(tok, **changes):
    import base64
    pre, payload, mac = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{pre}.{payload}.{mac}"


@pytest.mark.parametrize("mutate", [
    lambda t, p: _forge(t, pid=p),                      # claims changed, MAC kept
    lambda t, p: _forge(t, exp=2 ** 40),
    lambda t, p: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t, p: "ofrs1.e30." + "A" * 43,
    lambda t, p: "MIINRwYJKoZIhvcNAQcCoIINODCCDTQCAQExDT",
    lambda t, p: "",
])
def test_forged_tokens_refused(store, proj, proj_b, mutate):
    tok, _ = tokens.issue(store, proj["id"], "u1")
    bad = mutate(tok, proj_b["id"])
    req = raw_request("GET", f"/v2/{proj_b['id']}/face-sets", {"x-auth-token": bad} if bad else {})
    with pytest.raises(FrsError) as e:
        authorize(req, proj_b["id"])
    assert e.value.code in ("FRS.0002", "APIG.0301") and e.value.status in (401, 403)
    if bad:
        assert e.value.code == "FRS.0002"


def test_token_signed_with_another_key_refused(store, proj, tmp_path, monkeypatch):
    from chalicelib.identity.credentials import SqliteCredentialStore
    other = SqliteCredentialStore(str(tmp_path / "elsewhere"))
    tok, _ = tokens.issue(other, proj["id"], "u1")
    with pytest.raises(FrsError) as e:
        tokens.verify(store, tok)
    assert e.value.code == "FRS.0002"


def test_rotating_signing_key_revokes_tokens(store, proj):
    tok, _ = tokens.issue(store, proj["id"], "u1")
    tokens.verify(store, tok)
    store.rotate_signing_key()
    with pytest.raises(FrsError):
        tokens.verify(store, tok)
    tokens.verify(store, tokens.issue(store, proj["id"], "u1")[0])


def test_rotation_by_another_process_applies_after_cache(store, proj, monkeypatch):
    """The key is cached per process; another process's rotation (admin CLI)
    is seen once the cache entry expires, not before."""
    from chalicelib.identity import credentials
    from chalicelib.identity.credentials import SqliteCredentialStore
    monkeypatch.setattr(credentials, "CACHE_SECONDS", 0.5)
    tok, _ = tokens.issue(store, proj["id"], "u1")
    SqliteCredentialStore(str(store.path).rsplit("/", 1)[0]).rotate_signing_key()  # "other process"
    tokens.verify(store, tok)  # still cached
    time.sleep(0.6)
    with pytest.raises(FrsError):
        tokens.verify(store, tok)


def test_token_header_wins_over_authorization(store, proj):
    tok, _ = tokens.issue(store, proj["id"], "u1")
    req = raw_request("GET", f"/v2/{proj['id']}/face-sets",
                      {"x-auth-token": tok, "authorization": "garbage"})
    assert authorize(req, proj["id"]) == {}


def test_token_of_a_deleted_project_refused(store, proj):
    tok, _ = tokens.issue(store, proj["id"], "u1")
    req = raw_request("GET", f"/v2/{proj['id']}/face-sets", {"x-auth-token": tok})
    authorize(req, proj["id"])
    store.delete("project", proj["id"])  # what a privacy purge does
    with pytest.raises(FrsError) as e:
        authorize(req, proj["id"])
    assert (e.value.code, e.value.status) == ("FRS.0002", 403)
