"""IAM password authentication scoped to a project (``POST /v3/auth/tokens``).

Answers like Huawei IAM: the token and a body ``{"token": {...}}`` naming the
project and user. Bad credentials are refused with the same message whether
the user, the password or the project was wrong. The HTTP shape (201,
``X-Subject-Token``, IAM's error body) is the route's (chalicelib/api/routes/iam.py).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from chalicelib.errors import AUTH_FAILED, PARAM_FORMAT, THROTTLED
from chalicelib.identity import ensure_bootstrapped, lockout, tokens
from chalicelib.identity.credentials import domain_id, get_credential_store, user_record_id
from chalicelib.text import find_invalid

log = logging.getLogger(__name__)


class TokenRefused(Exception):
    """A refused request: HTTP status, message, FRS/IAM error code."""

    def __init__(self, status: int, message: str, code: str,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


@dataclass
class IssuedToken:
    token: str
    body: dict


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def parse_body(raw: bytes | str | None) -> tuple[str, str, str, dict]:
    """(user name, password, domain name, project scope) or ValueError."""
    try:
        body = json.loads(raw or b"")
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None
    # Lone surrogates ("\ud800") cannot be hashed, stored or looked up.
    bad = find_invalid(body)
    if bad is not None:
        raise ValueError(f"{bad} is not valid Unicode text")
    try:
        auth = body["auth"]
        identity = auth["identity"]
        if "password" not in identity["methods"]:
            raise ValueError("only the password method is supported")
        user = identity["password"]["user"]
        name, password = user["name"], user["password"]
        domain = user["domain"]["name"]
        project = auth["scope"]["project"]
    except (KeyError, TypeError) as e:
        raise ValueError(f"missing or malformed field {e}") from None
    if not all(isinstance(v, str) and v for v in (name, password, domain)):
        raise ValueError("user name, password and domain name must be strings")
    if not isinstance(project, dict) or not (project.get("id") or project.get("name")):
        raise ValueError("scope.project needs an id or a name")
    return name, password, domain, project


def create_token(raw_body: bytes | str | None, source: str = "") -> IssuedToken:
    """Check the password and the project scope; the signed token, or TokenRefused.
    ``source`` is the caller's address, for the failed-login counters."""
    ensure_bootstrapped()
    try:
        name, password, domain, scope = parse_body(raw_body)
    except ValueError as e:
        raise TokenRefused(400, f"The request body is invalid: {e}", PARAM_FORMAT) from None
    try:
        attempt = lockout.begin(user_record_id(domain, name), source)
    except lockout.LockedOut as e:
        log.info("token refused for user %s/%s: too many failed logins", domain, name)
        raise TokenRefused(429, "Too many failed logins for this user or from this address; "
                           f"try again in {e.retry_after} seconds.", THROTTLED,
                           {"Retry-After": str(e.retry_after)}) from None
    store = get_credential_store()
    user = store.check_password(domain, name, password)
    if scope.get("id"):
        project = store.get_project(str(scope["id"]))
    else:
        project = store.find_project(domain, str(scope["name"]))
    if user is None or project is None or project["domain"] != domain:
        log.info("token refused for user %s/%s", domain, name)
        raise TokenRefused(401, "The username or password is wrong.", AUTH_FAILED)
    attempt.succeeded()  # only a failure keeps its place in the counters
    token, claims = tokens.issue(store, project["id"], user["id"])
    log.info("token issued for user %s/%s on project %s", domain, name, project["id"])
    dom = {"id": domain_id(domain), "name": domain}
    body = {"token": {
        "methods": ["password"],
        "issued_at": _iso(claims["iat"]),
        "expires_at": _iso(claims["exp"]),
        "project": {"id": project["id"], "name": project["name"], "domain": dom},
        "user": {"id": user["id"], "name": user["name"], "domain": dom},
        "roles": [], "catalog": [],
    }}
    return IssuedToken(token, body)
