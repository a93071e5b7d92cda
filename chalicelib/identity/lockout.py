"""Password-guessing protection for ``POST /v3/auth/tokens``.

Failed logins are counted per user (domain + name, whether or not the user
exists, so a lockout reveals nothing) and per source address, in the same
counter store as the rate limits (``FRS_RATELIMIT_BACKEND``: embedded SQLite,
memory or DynamoDB). Windows are ``FRS_LOGIN_WINDOW_SECONDS`` long (900);
an attempt is refused without checking the password when the failures of
the current and the previous window together reach the limit
(``FRS_LOGIN_MAX_FAILURES``, ``FRS_LOGIN_MAX_FAILURES_PER_SOURCE``; 10 each,
0 turns one off). So no 15-minute span ever sees more than the limit of
wrong guesses, and a lockout lasts until the failures age out: 15 to 30
minutes after the last one.

Each attempt first reserves one failure in every counter (atomically, so
parallel guesses cannot all pass the check), then a success gives back its
own reservation and nothing else: a login never clears failures made
before it, so an attacker holding one valid account cannot reset the
per-source counter between guesses (docs/identity.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import settings
from chalicelib.identity import ratelimit


class LockedOut(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"locked out for {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Attempt:
    """The failures an attempt reserved (keys of the current windows)."""
    counter: Any = None
    keys: list[str] = field(default_factory=list)
    ttl: int = 0

    def succeeded(self) -> None:
        """Give back this attempt's own reservations (and only those)."""
        for key in self.keys:
            self.counter.add(key, -1, self.ttl)
        self.keys = []


def begin(user_key: str, source: str, now: float | None = None) -> Attempt:
    """Reserve one failure per counter, or LockedOut (nothing reserved)."""
    cfg = settings()
    limits = [("user", user_key, cfg.login_max_failures),
              ("source", source, cfg.login_max_failures_per_source)]
    limits = [(kind, subject, n) for kind, subject, n in limits if n > 0 and subject]
    if not limits:
        return Attempt()
    window = cfg.login_window_seconds
    t = time.time() if now is None else now
    cur = int(t // window)
    attempt = Attempt(ratelimit.get_counter(), [], 2 * window)
    for kind, subject, limit in limits:
        key = f"login:{kind}:{subject}:{cur}"
        n = attempt.counter.add(key, 1, attempt.ttl)
        attempt.keys.append(key)
        prev = attempt.counter.get(f"login:{kind}:{subject}:{cur - 1}")
        if prev + n > limit:
            attempt.succeeded()  # a refused attempt checks no password: it is not a failure
            # Until enough failures have aged out of the two windows.
            ends = (cur + 1) * window if n - 1 < limit else (cur + 2) * window
            raise LockedOut(max(1, int(ends - t + 0.999)))
    return attempt
