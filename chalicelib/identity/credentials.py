"""Credentials store: projects, users, AK/SK pairs and the token signing key.

One interface (``CredentialStore``) over a tiny record API (kind, id -> JSON),
two backends:

* ``SqliteCredentialStore``: ``$FRS_DATA_DIR/identity.db`` (mode 0600), for
  ``chalice local`` and single-host deployments.
* ``SsmCredentialStore``: AWS Systems Manager Parameter Store, one
  ``SecureString`` per record under ``$FRS_IDENTITY_SSM_PREFIX``. Chosen over
  Secrets Manager because standard parameters cost nothing (Secrets Manager
  bills every secret monthly, and each key pair would be one), values are
  KMS-encrypted all the same, and ``GetParametersByPath`` lists a kind without
  a separate index. Its modest read rate is absorbed by the short read cache
  below.

Select with ``FRS_IDENTITY_BACKEND=sqlite|ssm`` (default ``sqlite``).

Secret keys are stored retrievable (HMAC verification needs the SK itself);
they leave this module only through ``secret_for(ak)`` and at creation time.
Passwords are stored as scrypt hashes only.
"""
from __future__ import annotations

import abc
import hashlib
import json
import os
import secrets
import sqlite3
import string
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from chalicelib.config import Settings, settings
from chalicelib.files import private_dir, private_file
from chalicelib.identity.passwords import hash_password, verify_password
from chalicelib.lazy import Lazy

PROJECT, USER, KEY, SIGNING, META = "project", "user", "key", "signing", "meta"
ACTIVE, REVOKED = "active", "revoked"
DEFAULT_DOMAIN = "openfrs"

# Reads of keys and the signing key are cached this long per process; a
# revocation or rotation made by another process takes effect within it.
# None: FRS_IDENTITY_CACHE_SECONDS (tests set a number directly).
CACHE_SECONDS: float | None = None

_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_project_id() -> str:
    return uuid.uuid4().hex  # 32 hex digits, like Huawei project ids


def new_access_key() -> str:
    return "".join(secrets.choice(_AK_ALPHABET) for _ in range(20))


def new_secret_key() -> str:
    return "".join(secrets.choice(_SK_ALPHABET) for _ in range(40))


def user_record_id(domain: str, name: str) -> str:
    # Names may hold characters SSM parameter names refuse; the id is a digest.
    return hashlib.sha256(f"{domain}\0{name}".encode("utf-8")).hexdigest()[:32]


def domain_id(domain: str) -> str:
    return hashlib.sha256(f"domain\0{domain}".encode("utf-8")).hexdigest()[:32]


def _check_name(label: str, value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or any(c.isspace() for c in value):
        raise ValueError(f"{label} must be 1-64 characters without spaces")
    return value


class CredentialStore(abc.ABC):
    """Identity records; subclasses only implement the four record methods."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[float, dict | None]] = {}
        self._lock = threading.Lock()

    # -- record API (backend) ---------------------------------------------
    @abc.abstractmethod
    def _get(self, kind: str, rid: str) -> dict | None: ...

    @abc.abstractmethod
    def _put(self, kind: str, rid: str, data: dict) -> None: ...

    @abc.abstractmethod
    def _list(self, kind: str) -> list[dict]: ...

    @abc.abstractmethod
    def _create(self, kind: str, rid: str, data: dict) -> bool:
        """Write only if absent; False when the record already existed."""

    @abc.abstractmethod
    def _delete(self, kind: str, rid: str) -> None: ...

    def get(self, kind: str, rid: str, cached: bool = False) -> dict | None:
        if cached:
            with self._lock:
                hit = self._cache.get((kind, rid))
            if hit and hit[0] > time.monotonic():
                return hit[1]
        data = self._get(kind, rid)
        if cached:
            with self._lock:
                self._cache[(kind, rid)] = (time.monotonic() + _cache_seconds(), data)
        return data

    def put(self, kind: str, rid: str, data: dict) -> None:
        self._put(kind, rid, data)
        with self._lock:
            self._cache.pop((kind, rid), None)

    def delete(self, kind: str, rid: str) -> None:
        self._delete(kind, rid)
        with self._lock:
            self._cache.pop((kind, rid), None)

    # -- projects ------------------------------------------------------------
    def create_project(self, name: str, domain: str = DEFAULT_DOMAIN,
                       project_id: str | None = None, **extra: object) -> dict:
        _check_name("project name", name)
        _check_name("domain", domain)
        project_id = project_id or new_project_id()
        if not all(c in string.ascii_letters + string.digits + "-_" for c in project_id):
            raise ValueError("project id must use letters, digits, '-' or '_'")
        if self.get(PROJECT, project_id):
            raise ValueError(f"project {project_id} exists")
        if self.find_project(domain, name):
            raise ValueError(f"project name {name!r} exists in domain {domain!r}")
        rec = {"id": project_id, "name": name, "domain": domain, "created_at": now_iso(), **extra}
        self.put(PROJECT, project_id, rec)
        return rec

    def get_project(self, project_id: str) -> dict | None:
        return self.get(PROJECT, project_id)

    def find_project(self, domain: str, name: str) -> dict | None:
        for p in self._list(PROJECT):
            if p["domain"] == domain and p["name"] == name:
                return p
        return None

    def list_projects(self) -> list[dict]:
        return sorted(self._list(PROJECT), key=lambda p: p["created_at"])

    # -- users ---------------------------------------------------------------
    def set_user(self, name: str, password: str, domain: str = DEFAULT_DOMAIN) -> dict:
        """Create the user or replace its password."""
        _check_name("user name", name)
        _check_name("domain", domain)
        if not password:
            raise ValueError("password must not be empty")
        rid = user_record_id(domain, name)
        rec = self.get(USER, rid) or {"id": uuid.uuid4().hex, "name": name, "domain": domain,
                                      "created_at": now_iso()}
        rec["password"] = hash_password(password)
        self.put(USER, rid, rec)
        return _public_user(rec)

    def check_password(self, domain: str, name: str, password: str) -> dict | None:
        """The user (without its hash) when the password matches, else None."""
        rec = self.get(USER, user_record_id(domain, name))
        ok = verify_password(password, rec["password"] if rec else None)
        return _public_user(rec) if ok and rec else None

    def get_user(self, domain: str, name: str) -> dict | None:
        rec = self.get(USER, user_record_id(domain, name))
        return _public_user(rec) if rec else None

    def list_users(self) -> list[dict]:
        return sorted((_public_user(u) for u in self._list(USER)), key=lambda u: u["created_at"])

    def delete_user(self, domain: str, name: str) -> None:
        self.delete(USER, user_record_id(domain, name))

    # -- access keys -----------------------------------------------------------
    def create_key(self, project_id: str, ak: str | None = None, sk: str | None = None,
                   description: str = "") -> dict:
        """A new active pair; the only return value that contains the SK."""
        if not self.get_project(project_id):
            raise ValueError(f"project {project_id} does not exist")
        ak = ak or new_access_key()
        sk = sk or new_secret_key()
        if not all(c in string.ascii_letters + string.digits for c in ak):
            raise ValueError("access key must be letters and digits")
        if self.get(KEY, ak):
            raise ValueError(f"access key {ak} exists")
        rec = {"ak": ak, "sk": sk, "project_id": project_id, "status": ACTIVE,
               "created_at": now_iso(), "description": description}
        self.put(KEY, ak, rec)
        return dict(rec)

    def put_key(self, ak: str, sk: str, project_id: str) -> None:
        """Create or overwrite a pair with given values (bootstrap)."""
        old = self.get(KEY, ak) or {"created_at": now_iso(), "description": "bootstrap"}
        self.put(KEY, ak, {**old, "ak": ak, "sk": sk, "project_id": project_id, "status": ACTIVE})

    def secret_for(self, ak: str) -> tuple[str, str] | None:
        """(project_id, sk) of an active key, else None. Cached briefly."""
        rec = self.get(KEY, ak, cached=True)
        if not rec or rec.get("status") != ACTIVE:
            return None
        return rec["project_id"], rec["sk"]

    def key_matches(self, ak: str, sk: str, project_id: str) -> bool:
        rec = self.get(KEY, ak)
        return bool(rec and rec["status"] == ACTIVE and rec["project_id"] == project_id
                    and secrets.compare_digest(rec["sk"].encode(), sk.encode()))

    def list_keys(self, project_id: str | None = None) -> list[dict]:
        keys = [_public_key(k) for k in self._list(KEY)
                if project_id is None or k["project_id"] == project_id]
        return sorted(keys, key=lambda k: k["created_at"])

    def revoke_key(self, ak: str) -> dict:
        rec = self.get(KEY, ak)
        if not rec:
            raise ValueError(f"access key {ak} does not exist")
        rec["status"] = REVOKED
        rec["revoked_at"] = now_iso()
        self.put(KEY, ak, rec)
        return _public_key(rec)

    def rotate_key(self, ak: str) -> dict:
        """New pair for the same project, old one revoked; returns the new SK once."""
        rec = self.get(KEY, ak)
        if not rec:
            raise ValueError(f"access key {ak} does not exist")
        new = self.create_key(rec["project_id"], description=f"rotated from {ak}")
        self.revoke_key(ak)
        return new

    # -- token signing key -------------------------------------------------
    def signing_key(self) -> dict:
        """{"kid", "key" (bytes)}; created on first use. Cached briefly."""
        rec = self.get(SIGNING, "token", cached=True)
        if rec is None:
            # Two processes may race here; create-if-absent keeps one key.
            self._create(SIGNING, "token", _new_signing_record())
            with self._lock:
                self._cache.pop((SIGNING, "token"), None)
            rec = self.get(SIGNING, "token", cached=True)
            if rec is None:
                raise RuntimeError("the token signing key cannot be read back after creating it")
        return {"kid": rec["kid"], "key": bytes.fromhex(rec["key"])}

    def rotate_signing_key(self) -> dict:
        """Replace the token key: every token issued before is refused."""
        rec = _new_signing_record()
        self.put(SIGNING, "token", rec)
        return {"kid": rec["kid"], "created_at": rec["created_at"]}

    # -- misc ------------------------------------------------------------------
    def get_meta(self, name: str) -> dict | None:
        return self.get(META, name)

    def set_meta(self, name: str, data: dict) -> None:
        self.put(META, name, data)


def _new_signing_record() -> dict:
    return {"kid": secrets.token_hex(4), "key": secrets.token_hex(32), "created_at": now_iso()}


def _public_user(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k != "password"}


def _public_key(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k != "sk"}


class SqliteCredentialStore(CredentialStore):
    """One table of JSON records; a connection per call keeps it safe across
    the threads of ``chalice local`` and across processes (admin CLI)."""

    def __init__(self, data_dir: str):
        super().__init__()
        # The file holds secret keys: 0600 (before SQLite first opens it) in a 0700 directory.
        self.path = private_file(os.path.join(private_dir(data_dir), "identity.db"))
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, id TEXT NOT NULL,"
                      " data TEXT NOT NULL, PRIMARY KEY (kind, id))")

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def _run(self, sql: str, args: tuple = ()) -> list:
        c = self._conn()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def _get(self, kind: str, rid: str) -> dict | None:
        rows = self._run("SELECT data FROM records WHERE kind=? AND id=?", (kind, rid))
        return json.loads(rows[0][0]) if rows else None

    def _put(self, kind: str, rid: str, data: dict) -> None:
        self._run("INSERT OR REPLACE INTO records (kind, id, data) VALUES (?, ?, ?)",
                  (kind, rid, json.dumps(data)))

    def _create(self, kind: str, rid: str, data: dict) -> bool:
        c = self._conn()
        try:
            return c.execute("INSERT OR IGNORE INTO records (kind, id, data) VALUES (?, ?, ?)",
                             (kind, rid, json.dumps(data))).rowcount == 1
        finally:
            c.close()

    def _list(self, kind: str) -> list[dict]:
        return [json.loads(r[0]) for r in self._run("SELECT data FROM records WHERE kind=?", (kind,))]

    def _delete(self, kind: str, rid: str) -> None:
        self._run("DELETE FROM records WHERE kind=? AND id=?", (kind, rid))


class SsmCredentialStore(CredentialStore):
    """One SecureString parameter per record: ``<prefix>/<kind>/<id>``."""

    def __init__(self, prefix: str = "/openfrs/identity", kms_key_id: str | None = None,
                 client: Any = None):
        super().__init__()
        import boto3
        self.prefix = "/" + prefix.strip("/")
        self.kms_key_id = kms_key_id
        self.ssm = client or boto3.client("ssm")

    def _name(self, kind: str, rid: str) -> str:
        return f"{self.prefix}/{kind}/{rid}"

    def _get(self, kind: str, rid: str) -> dict | None:
        try:
            r = self.ssm.get_parameter(Name=self._name(kind, rid), WithDecryption=True)
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return json.loads(r["Parameter"]["Value"])

    def _put(self, kind: str, rid: str, data: dict) -> None:
        args = {"Name": self._name(kind, rid), "Value": json.dumps(data), "Type": "SecureString",
                "Overwrite": True}
        if self.kms_key_id:
            args["KeyId"] = self.kms_key_id
        self.ssm.put_parameter(**args)

    def _create(self, kind: str, rid: str, data: dict) -> bool:
        args = {"Name": self._name(kind, rid), "Value": json.dumps(data), "Type": "SecureString",
                "Overwrite": False}
        if self.kms_key_id:
            args["KeyId"] = self.kms_key_id
        try:
            self.ssm.put_parameter(**args)
            return True
        except self.ssm.exceptions.ParameterAlreadyExists:
            return False

    def _list(self, kind: str) -> list[dict]:
        out: list[dict] = []
        for page in self.ssm.get_paginator("get_parameters_by_path").paginate(
                Path=f"{self.prefix}/{kind}", Recursive=False, WithDecryption=True):
            out.extend(json.loads(p["Value"]) for p in page["Parameters"])
        return out

    def _delete(self, kind: str, rid: str) -> None:
        try:
            self.ssm.delete_parameter(Name=self._name(kind, rid))
        except self.ssm.exceptions.ParameterNotFound:
            pass


def _cache_seconds() -> float:
    return settings().identity_cache_seconds if CACHE_SECONDS is None else CACHE_SECONDS


def make_store(environ: Mapping[str, str] | None = None) -> CredentialStore:
    cfg = settings() if environ is None else Settings.from_env(environ)
    backend = cfg.identity_backend
    if backend == "sqlite":
        return SqliteCredentialStore(cfg.data_dir)
    if backend == "ssm":
        return SsmCredentialStore(cfg.identity_ssm_prefix, cfg.identity_kms_key_id)
    raise ValueError(f"FRS_IDENTITY_BACKEND must be 'sqlite' or 'ssm', not {backend!r}")


_store: Lazy[CredentialStore] = Lazy(make_store)


def get_credential_store() -> CredentialStore:
    """The process-wide store, created on first use."""
    return _store.get()


def reset_store() -> None:
    """Forget the process-wide store (tests switch data directories)."""
    _store.reset()
