"""Make the configured project, user and key pair exist (idempotently).

``FRS_BOOTSTRAP_PROJECT_ID``, ``_AK``, ``_SK``, ``_USER`` and ``_PASSWORD``
name them; optional ``FRS_BOOTSTRAP_PROJECT_NAME`` (default "local") and
``FRS_BOOTSTRAP_DOMAIN`` (default "openfrs"). Nothing is written when the
records already hold these values, so running it on every cold start is cheap.
With none of them set, ``ensure_dev_project`` creates a development project
once (used by ``make serve``).
"""
from __future__ import annotations

import logging
import secrets
from typing import Mapping

from chalicelib.config import Settings, settings
from chalicelib.identity.credentials import DEFAULT_DOMAIN, CredentialStore, new_access_key, new_secret_key

log = logging.getLogger(__name__)

REQUIRED = ("FRS_BOOTSTRAP_PROJECT_ID", "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK",
            "FRS_BOOTSTRAP_USER", "FRS_BOOTSTRAP_PASSWORD")
DEV_META = "dev-project"


class BootstrapError(ValueError):
    pass


def _values(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return (settings() if environ is None else Settings.from_env(environ)).bootstrap


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """True when all five variables are set; BootstrapError when only some are."""
    values = _values(environ)
    present = [n for n in REQUIRED if values.get(n)]
    if present and len(present) != len(REQUIRED):
        missing = [n for n in REQUIRED if not values.get(n)]
        raise BootstrapError("set all or none of the bootstrap variables; missing: " + ", ".join(missing))
    return bool(present)


def ensure_from_env(store: CredentialStore, environ: Mapping[str, str] | None = None) -> dict | None:
    """Apply FRS_BOOTSTRAP_*; returns what was ensured (no secrets) or None."""
    if not configured(environ):
        return None
    values = _values(environ)
    pid = values["FRS_BOOTSTRAP_PROJECT_ID"]
    name = values.get("FRS_BOOTSTRAP_PROJECT_NAME")
    domain = values.get("FRS_BOOTSTRAP_DOMAIN", DEFAULT_DOMAIN)
    ak, sk = values["FRS_BOOTSTRAP_AK"], values["FRS_BOOTSTRAP_SK"]
    user, password = values["FRS_BOOTSTRAP_USER"], values["FRS_BOOTSTRAP_PASSWORD"]

    project = store.get_project(pid)
    if project is None:
        project = store.create_project(name or "local", domain, project_id=pid)
        log.info("bootstrap: created project %s", pid)
    elif (name and project["name"] != name) or project["domain"] != domain:
        project.update(name=name or project["name"], domain=domain)
        store.put("project", pid, project)
        log.info("bootstrap: updated project %s", pid)
    if store.check_password(domain, user, password) is None:
        store.set_user(user, password, domain)
        log.info("bootstrap: set user %s/%s", domain, user)
    if not store.key_matches(ak, sk, pid):
        store.put_key(ak, sk, pid)
        log.info("bootstrap: set access key %s for project %s", ak, pid)
    return {"project_id": pid, "project_name": project["name"], "domain": domain,
            "user": user, "ak": ak}


def ensure_dev_project(store: CredentialStore) -> tuple[dict, bool]:
    """(info, created). Only on creation does ``info`` hold the SK and password."""
    meta = store.get_meta(DEV_META)
    if meta and store.get_project(meta["project_id"]):
        return dict(meta), False
    project = store.find_project(DEFAULT_DOMAIN, "dev") or store.create_project("dev", DEFAULT_DOMAIN)
    password = secrets.token_urlsafe(18)
    user = store.set_user("dev", password, DEFAULT_DOMAIN)
    key = store.create_key(project["id"], new_access_key(), new_secret_key(), "dev project (make serve)")
    meta = {"project_id": project["id"], "project_name": project["name"], "domain": DEFAULT_DOMAIN,
            "user": user["name"], "ak": key["ak"]}
    store.set_meta(DEV_META, meta)
    log.info("bootstrap: created dev project %s with access key %s", project["id"], key["ak"])
    return {**meta, "sk": key["sk"], "password": password}, True
