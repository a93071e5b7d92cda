"""Who may call an FRS route: tokens or AK/SK signatures, scoped to a project.

``authorize(request, project_id)`` is called by the HTTP layer before every
FRS handler, before any face set is looked up, so a refusal never depends on
(and never reveals) what the project holds.
"""
from __future__ import annotations

import hmac
import logging
from typing import Any

from chalicelib.errors import PROJECT_MISMATCH, FrsError
from chalicelib.identity import bootstrap, ratelimit, signature, tokens
from chalicelib.identity.credentials import PROJECT, get_credential_store
from chalicelib.lazy import Lazy

log = logging.getLogger(__name__)

def _bootstrap() -> bool:
    bootstrap.ensure_from_env(get_credential_store())
    return True


_bootstrapped: Lazy[bool] = Lazy(_bootstrap)


def ensure_bootstrapped() -> None:
    """Apply FRS_BOOTSTRAP_* once per process (a Lambda cold start)."""
    _bootstrapped.get()


def reset() -> None:
    """Forget per-process state (tests switch data directories and env)."""
    from chalicelib.identity.credentials import reset_store
    reset_store()
    ratelimit.reset_counter()
    _bootstrapped.reset()


def authenticate(request: Any) -> str:
    """The project id the request's credentials belong to, or FrsError."""
    store = get_credential_store()
    token = request.headers.get("x-auth-token")
    if token:
        pid = tokens.verify(store, token)["pid"]
        # A purged project's tokens must die with it; the cached read keeps
        # this to one store round trip per project per cache period.
        if store.get(PROJECT, pid, cached=True) is None:
            raise tokens.invalid("the project no longer exists")
        return pid
    if request.headers.get("authorization"):
        return signature.verify(request, store.secret_for)
    raise signature.refuse("no X-Auth-Token or Authorization header")


def authorize(request: Any, project_id: str) -> dict[str, str]:
    """Allow the request on ``project_id`` or raise FrsError.

    Returns extra response headers (rate-limit headers when limits are on).
    401 APIG.0301: no / bad signature, stale X-Sdk-Date, unknown or revoked AK.
    403 FRS.0002: bad, forged or expired token, or one of a deleted project.
    403 FRS.0028: genuine credentials of another project (a token or a key alike).
    """
    ensure_bootstrapped()
    try:
        owner = authenticate(request)
    except FrsError as e:
        # The reason is safe to log: it never contains a credential.
        log.info("auth refused: %s %s", e.code, e.msg)
        raise
    if not hmac.compare_digest(owner.encode("utf-8", "surrogatepass"),
                               str(project_id).encode("utf-8", "surrogatepass")):
        raise FrsError(PROJECT_MISMATCH, "The project ID does not match the token.")
    return ratelimit.check(project_id)


__all__ = ["authorize", "authenticate", "ensure_bootstrapped", "reset"]
