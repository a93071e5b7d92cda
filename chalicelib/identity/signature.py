"""AK/SK request signatures (``SDK-HMAC-SHA256``) verified inside the function.

The server rebuilds the canonical request exactly as ``huaweicloudsdkcore``'s
``Signer`` (3.1.x) does and compares HMAC-SHA256(SK, string-to-sign) in
constant time. It must run in the handler, not in an API Gateway authorizer,
because the body hash is part of what was signed.

Canonical request (one line each, as the SDK joins them):
  METHOD / canonical URI (each segment unquoted then quoted with safe="~",
  trailing "/") / sorted "k=v" query pairs joined by "&" / "name:value" of
  every signed header, lower-cased, then an empty line / signed header list /
  body hash: SHA-256 hex of the body, the SHA-256 of "" when empty, or the
  value of a *signed* ``X-Sdk-Content-Sha256`` header ("UNSIGNED-PAYLOAD" for
  multipart uploads).
String to sign: "SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<SHA-256 hex of canonical>".
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

from chalicelib.errors import AUTH_FAILED, FrsError

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = timedelta(minutes=15)
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
CONTENT_HASH_HEADER = "x-sdk-content-sha256"
# Headers that must be covered by the signature: without x-sdk-date a
# captured request could be replayed forever, without host on another host.
REQUIRED_SIGNED = ("host", "x-sdk-date")

_AK_RE = re.compile(r"[A-Za-z0-9]{1,128}")
_AUTH_RE = re.compile(
    r"^\s*SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
    r"\s*Signature=([0-9a-fA-F]{64})\s*$")


def refuse(reason: str) -> FrsError:
    """401 APIG.0301; the reason never names a secret or a stored object."""
    return FrsError(AUTH_FAILED, f"Incorrect IAM authentication information: {reason}")


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """(access key, signed header names, signature hex) or APIG.0301."""
    m = _AUTH_RE.match(value or "")
    if not m:
        raise refuse("Authorization is not a valid SDK-HMAC-SHA256 header")
    ak, signed, sig = m.groups()
    headers = signed.split(";")
    if any(not h or h != h.lower() for h in headers):
        raise refuse("SignedHeaders must be lower-case names separated by ';'")
    return ak, headers, sig.lower()


def canonical_uri(path: str) -> str:
    uri = "/".join(quote(seg, safe="~", errors="surrogatepass") for seg in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query_params: Mapping[str, str] | None) -> str:
    """Sorted pairs; ``query_params`` is chalice's MultiDict (or a dict, or None)."""
    if not query_params:
        return ""
    pairs = []
    for key in query_params:
        values = (query_params.getlist(key) if hasattr(query_params, "getlist")
                  else [query_params[key]])
        for v in values:
            pairs.append((key, v))
    pairs.sort()
    return "&".join(f"{quote(k, safe='~', errors='surrogatepass')}="
                    f"{quote(str(v), safe='~', errors='surrogatepass')}" for k, v in pairs)


def request_paths(request: Any) -> list[str]:
    """Paths the client may have signed, most likely first.

    chalice local puts the raw request path in ``context["path"]``; API Gateway
    (REST) puts the path there too, prefixed by the stage ("/api/v2/...") on an
    execute-api host, while Huawei's SDK signs the path without the endpoint's
    own path and a custom domain strips the stage. Both name the same resource,
    so accepting either does not widen what a signature authorises.
    """
    ctx = request.context or {}
    path = ctx.get("path")
    if not path:
        # Requests built without a context (tests, other adapters): rebuild
        # the path from the route template and its parameters.
        path = request.path or "/"
        for k, v in (request.uri_params or {}).items():
            path = path.replace("{%s}" % k, quote(str(v), safe=""))
    paths = [path]
    stage = ctx.get("stage")
    if stage and path.startswith(f"/{stage}/"):
        paths.append(path[len(stage) + 1:])
    return paths


def _raw_body(request: Any) -> bytes:
    body = request.raw_body or b""
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body


def body_hash(request: Any, signed_headers: list[str]) -> str:
    body = _raw_body(request)
    if not body:
        return EMPTY_HASH
    actual = hashlib.sha256(body).hexdigest()
    # Only a signed content-hash header counts: an unsigned one could be
    # added by anyone to make a changed body look "already hashed".
    if CONTENT_HASH_HEADER in signed_headers:
        declared = (request.headers.get(CONTENT_HASH_HEADER) or "").strip()
        if declared == UNSIGNED_PAYLOAD:
            return declared
        # A SHA-256 hex digest is ASCII; compare_digest refuses other text.
        if not declared.isascii() or not hmac.compare_digest(declared.lower(), actual):
            raise refuse("body does not match X-Sdk-Content-Sha256")
        return declared
    return actual


def canonical_request(request: Any, path: str, signed_headers: list[str], payload_hash: str) -> str:
    lines = []
    for name in signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise refuse(f"signed header {name} is missing")
        lines.append(f"{name}:{value.strip()}")
    return "\n".join([
        request.method.upper(), canonical_uri(path), canonical_query(request.query_params),
        "\n".join(lines) + "\n", ";".join(signed_headers), payload_hash])


def string_to_sign(canonical: str, when: datetime) -> str:
    # surrogatepass: a header or query value that is not valid Unicode must
    # still hash (to a signature nobody made), never raise.
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{ALGORITHM}\n{when.strftime(DATE_FORMAT)}\n{digest}"


def sign(sk: str, text: str) -> str:
    return hmac.new(sk.encode("utf-8"), text.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def verify(request: Any, lookup_secret: Callable[[str], tuple[str, str] | None],
           now: datetime | None = None) -> str:
    """Check the request's signature; return the project id its key belongs to.

    ``lookup_secret(ak)`` returns ``(project_id, sk)`` for an active key or
    None. Every failure is the same 401 APIG.0301 kind, so an unknown AK and a
    wrong SK are indistinguishable to the caller.
    """
    ak, signed_headers, signature = parse_authorization(request.headers.get("authorization"))
    # Who the caller is comes first: nothing else in the request is hashed or
    # compared for a key that does not exist (an AK is ASCII letters/digits).
    found = lookup_secret(ak) if _AK_RE.fullmatch(ak) else None
    # Checks of the request alone: their answers are the same for a known and
    # an unknown AK, so they reveal nothing about which AKs exist.
    for name in REQUIRED_SIGNED:
        if name not in signed_headers:
            raise refuse(f"{name} must be signed")
    raw_date = (request.headers.get("x-sdk-date") or "").strip()
    try:
        when = datetime.strptime(raw_date, DATE_FORMAT)
    except ValueError:
        raise refuse("X-Sdk-Date must be YYYYMMDDTHHMMSSZ") from None
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    if abs(now - when) > MAX_CLOCK_SKEW:
        raise refuse("X-Sdk-Date is more than 15 minutes from server time")
    if found is None:
        # About the same work and the same answer as a wrong SK (the body is
        # hashed, one canonical request signed): AKs cannot be probed.
        hashlib.sha256(_raw_body(request)).hexdigest()
        sign("x" * 40, string_to_sign(canonical_request(request, "/", signed_headers, EMPTY_HASH), when))
        raise refuse("verify aksk signature fail")
    payload = body_hash(request, signed_headers)
    project_id, sk = found
    ok = False
    for path in request_paths(request):
        expected = sign(sk, string_to_sign(canonical_request(request, path, signed_headers, payload), when))
        ok |= hmac.compare_digest(expected, signature)
    if not ok:
        raise refuse("verify aksk signature fail")
    return project_id
