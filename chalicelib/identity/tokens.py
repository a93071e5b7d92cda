"""Project-scoped tokens, HMAC-signed so that checking one needs no database
round trip (only the signing key, cached per process).

Format: ``ofrs1.<base64url JSON claims>.<base64url HMAC-SHA256>``; claims are
``kid`` (signing key id), ``pid`` (project id), ``uid`` (user id), ``iat``,
``exp`` (epoch seconds) and ``jti``. Rotating the signing key changes ``kid``
and the key, which refuses every token issued before.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING

from chalicelib.errors import TOKEN_INVALID, FrsError

if TYPE_CHECKING:
    from chalicelib.identity.credentials import CredentialStore

PREFIX = "ofrs1"
TTL_SECONDS = 24 * 3600  # API Reference §3.3: tokens are valid 24 hours


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _mac(key: bytes, signed_part: str) -> str:
    return _b64e(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def issue(store: CredentialStore, project_id: str, user_id: str,
          now: float | None = None) -> tuple[str, dict]:
    """(token, claims)."""
    key = store.signing_key()
    iat = int(now if now is not None else time.time())
    claims = {"kid": key["kid"], "pid": project_id, "uid": user_id, "iat": iat,
              "exp": iat + TTL_SECONDS, "jti": secrets.token_hex(8)}
    body = f"{PREFIX}.{_b64e(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{body}.{_mac(key['key'], body)}", claims


def invalid(reason: str) -> FrsError:
    return FrsError(TOKEN_INVALID, f"The token is invalid: {reason}")


def verify(store: CredentialStore, token: str, now: float | None = None) -> dict:
    """Claims of a genuine, unexpired token; 403 FRS.0002 otherwise."""
    token = (token or "").strip()
    # Genuine tokens are ASCII (base64url and dots); anything else is refused
    # before it is hashed or compared (both need ASCII text).
    if not token.isascii():
        raise invalid("malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise invalid("malformed")
    key = store.signing_key()
    body = f"{parts[0]}.{parts[1]}"
    # MAC first: nothing inside an unauthenticated payload is trusted.
    if not hmac.compare_digest(_mac(key["key"], body), parts[2]):
        raise invalid("signature mismatch or signing key rotated")
    try:
        claims = json.loads(_b64d(parts[1]))
    except ValueError:
        raise invalid("malformed") from None
    if not isinstance(claims, dict):
        raise invalid("malformed")
    if claims.get("kid") != key["kid"]:
        raise invalid("signing key rotated")
    if (now if now is not None else time.time()) >= claims.get("exp", 0):
        raise invalid("expired")
    return claims
