"""Password hashing with scrypt (stdlib), a per-user salt and a self-describing
encoding, so the cost can be raised later without breaking stored hashes."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

# ~16 MiB and ~50 ms per hash on a laptop core: slow for guessing, fine for a
# token request that happens once a day per client.
N, R, P, DKLEN = 2 ** 14, 8, 1, 32


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN,
                        maxmem=128 * r * n * 2)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(dk)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Constant-time check; a missing hash still costs one scrypt run so that
    unknown user names answer as slowly as wrong passwords."""
    try:
        scheme, n_text, r_text, p_text, salt_text, dk_text = (encoded or "").split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, dk = base64.b64decode(salt_text), base64.b64decode(dk_text)
        if scheme != "scrypt":
            raise ValueError
    except ValueError:
        n, r, p, salt, dk = N, R, P, b"\0" * 16, b"\1" * DKLEN
        encoded = None
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(dk),
                         maxmem=128 * r * n * 2)
    return hmac.compare_digest(got, dk) and encoded is not None
