"""Fixtures for the identity tests: an isolated credentials store per test."""
from __future__ import annotations

import pytest
from chalice.test import Client
from identity_helpers import APP

import chalicelib.identity as identity
from chalicelib.identity.credentials import get_credential_store

_ENV = ["FRS_IDENTITY_BACKEND", "FRS_RATELIMIT", "FRS_RATELIMIT_OVERRIDES", "FRS_RATELIMIT_WINDOW",
        "FRS_RATELIMIT_BACKEND", "FRS_RATELIMIT_TABLE", "FRS_AUTH", "FRS_BOOTSTRAP_PROJECT_ID",
        "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK", "FRS_BOOTSTRAP_USER", "FRS_BOOTSTRAP_PASSWORD",
        "FRS_BOOTSTRAP_PROJECT_NAME", "FRS_BOOTSTRAP_DOMAIN", "FRS_ADMIN_PASSWORD"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    d = tmp_path / "frs-data"
    monkeypatch.setenv("FRS_DATA_DIR", str(d))
    identity.reset()
    yield d
    identity.reset()


@pytest.fixture
def store():
    return get_credential_store()


@pytest.fixture
def proj(store):
    """Project A with an active key pair: dict(id, ak, sk)."""
    p = store.create_project("alpha", "acme")
    k = store.create_key(p["id"])
    return {"id": p["id"], "ak": k["ak"], "sk": k["sk"]}


@pytest.fixture
def proj_b(store):
    p = store.create_project("beta", "acme")
    k = store.create_key(p["id"])
    return {"id": p["id"], "ak": k["ak"], "sk": k["sk"]}


@pytest.fixture
def client():
    """The identity blueprints' test app (tests/identity/identity_helpers.py)."""
    with Client(APP) as c:
        yield c
