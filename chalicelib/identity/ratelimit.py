"""Per-project request quotas in fixed windows (API Reference §3.4 headers).

Configuration (all optional; no limit set means no limiting and no headers):
  FRS_RATELIMIT            requests per window for every project
  FRS_RATELIMIT_OVERRIDES  "project_id=limit,..." per-project limits (0 = unlimited)
  FRS_RATELIMIT_WINDOW     minute | hour (default) | day
  FRS_RATELIMIT_BACKEND    sqlite (default; $FRS_DATA_DIR/identity.db, shared by
                           every local process) | memory (per process) |
                           dynamodb (table $FRS_RATELIMIT_TABLE, hash key "k" (S),
                           for Lambda where instances share nothing)

``X-ratelimit-used`` carries the requests counted in the current window,
this one included (the header's name; the Reference's table describes it as
"remaining", which contradicts the name).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any, Mapping

from chalicelib.config import Settings, settings
from chalicelib.errors import RATE_LIMITED, FrsError
from chalicelib.files import private_dir, private_file
from chalicelib.lazy import Lazy

WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}


def _settings(environ: Mapping[str, str] | None) -> Settings:
    return settings() if environ is None else Settings.from_env(environ)


def limit_for(project_id: str, environ: Mapping[str, str] | None = None) -> int:
    cfg = _settings(environ)
    return cfg.ratelimit_overrides.get(project_id, cfg.ratelimit)


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, ttl: int) -> int:
        return self.add(key, 1, ttl)

    def add(self, key: str, delta: int, ttl: int) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + delta
            return self._counts[key]

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)


class SqliteCounter:
    def __init__(self, data_dir: str):
        # The counters share identity.db (secret keys): 0600 in a 0700 directory.
        self.path = private_file(os.path.join(private_dir(data_dir), "identity.db"))
        self._run("CREATE TABLE IF NOT EXISTS ratelimit (k TEXT PRIMARY KEY, n INTEGER NOT NULL,"
                  " expires REAL NOT NULL)")

    def _run(self, sql: str, args: tuple = ()) -> list:
        c = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def incr(self, key: str, ttl: int) -> int:
        return self.add(key, 1, ttl)

    def add(self, key: str, delta: int, ttl: int) -> int:
        """Add ``delta`` (may be negative) to the key's count; the new count.
        A new key expires ``ttl`` seconds from its first write."""
        c = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            c.execute("BEGIN IMMEDIATE")  # one writer at a time: no lost increments
            c.execute("DELETE FROM ratelimit WHERE expires < ?", (time.time(),))
            c.execute("INSERT INTO ratelimit (k, n, expires) VALUES (?, ?, ?) "
                      "ON CONFLICT(k) DO UPDATE SET n = n + excluded.n",
                      (key, delta, time.time() + ttl))
            n = c.execute("SELECT n FROM ratelimit WHERE k=?", (key,)).fetchone()[0]
            c.execute("COMMIT")
            return n
        finally:
            c.close()

    def get(self, key: str) -> int:
        rows = self._run("SELECT n FROM ratelimit WHERE k=? AND expires >= ?", (key, time.time()))
        return int(rows[0][0]) if rows else 0


class DynamoCounter:
    def __init__(self, table: str, client: Any = None) -> None:
        import boto3
        self.table = table
        self.ddb = client or boto3.client("dynamodb")

    def incr(self, key: str, ttl: int) -> int:
        return self.add(key, 1, ttl)

    def add(self, key: str, delta: int, ttl: int) -> int:
        r = self.ddb.update_item(
            TableName=self.table, Key={"k": {"S": key}},
            UpdateExpression="ADD n :d SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues={":d": {"N": str(delta)},
                                       ":exp": {"N": str(int(time.time()) + ttl)}},
            ReturnValues="UPDATED_NEW")
        return int(r["Attributes"]["n"]["N"])

    def get(self, key: str) -> int:
        # DynamoDB deletes expired items lazily (hours later): check the time.
        item = self.ddb.get_item(TableName=self.table, Key={"k": {"S": key}},
                                 ConsistentRead=True).get("Item")
        if not item or int(item.get("expires_at", {"N": "0"})["N"]) < time.time():
            return 0
        return int(item["n"]["N"])


def make_counter(cfg: Settings) -> Any:
    kind = cfg.ratelimit_backend
    if kind == "memory":
        return MemoryCounter()
    if kind == "sqlite":
        return SqliteCounter(cfg.data_dir)
    if kind == "dynamodb":
        if not cfg.ratelimit_table:
            raise ValueError("FRS_RATELIMIT_BACKEND=dynamodb needs FRS_RATELIMIT_TABLE")
        return DynamoCounter(cfg.ratelimit_table)
    raise ValueError("FRS_RATELIMIT_BACKEND must be memory, sqlite or dynamodb")


_counter: Lazy[Any] = Lazy(lambda: make_counter(settings()))


def get_counter(environ: Mapping[str, str] | None = None) -> Any:
    """The process's counter; the first call's settings choose its backend."""
    if environ is None:
        return _counter.get()
    return _counter.get(lambda: make_counter(Settings.from_env(environ)))


def reset_counter() -> None:
    _counter.reset()


def check(project_id: str, environ: Mapping[str, str] | None = None,
          now: float | None = None) -> dict[str, str]:
    """Count one request; the §3.4 headers, or FRS.0033 (carrying them) when over."""
    cfg = _settings(environ)
    limit = cfg.ratelimit_overrides.get(project_id, cfg.ratelimit)
    if limit <= 0:
        return {}
    window = cfg.ratelimit_window
    if window not in WINDOWS:
        raise ValueError("FRS_RATELIMIT_WINDOW must be minute, hour or day")
    seconds = WINDOWS[window]
    start = int((now if now is not None else time.time()) // seconds)
    used = get_counter(environ).incr(f"{project_id}:{window}:{start}", seconds)
    headers = {"X-ratelimit": str(limit), "X-ratelimit-used": str(min(used, limit)),
               "X-ratelimit-window": window}
    if used > limit:
        # The HTTP layer adds the headers to the error response too.
        raise FrsError(RATE_LIMITED, "The number of requests has exceeded the traffic control threshold.",
                       headers=headers)
    return headers
