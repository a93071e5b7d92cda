"""The resume journal of ``openfrs import``: one row per (face set, image
content hash), in a local SQLite file, so a rerun after Ctrl-C, SIGKILL or a
server restart adds nothing twice and skips what is done.

States: ``sending`` (written before the add request leaves), ``done`` (the
server answered with face ids), ``error`` (a permanent refusal: no face, an
unreadable image, an FRS 4xx; listed in the error report) and ``failed``
(retries exhausted: tried again on the next run). A ``sending`` row found at
start is an add whose answer was lost; the importer asks the server whether
it landed before sending it again (bulk.py, ``recover``).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from openfrs_cli.client import CliError

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    target TEXT NOT NULL,          -- endpoint + project + face set
    sha256 TEXT NOT NULL,          -- of the image file's bytes
    path TEXT NOT NULL,
    external_image_id TEXT NOT NULL,
    state TEXT NOT NULL,           -- sending | done | error | failed
    face_ids TEXT NOT NULL DEFAULT '[]',
    error_code TEXT NOT NULL DEFAULT '',
    error_msg TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    PRIMARY KEY (target, sha256)
);
"""


@dataclass
class Entry:
    sha256: str
    path: str
    external_image_id: str
    state: str
    face_ids: list[str]
    error_code: str
    error_msg: str
    updated: float


class Journal:
    def __init__(self, path: str, target: str):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, mode=0o700, exist_ok=True)
        if not os.path.exists(path):  # private: it names people's photos
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.path, self.target = path, target
        # One import per face set at a time: two would both send an image neither has journalled.
        tag = hashlib.sha256(target.encode()).hexdigest()[:16]
        self._flock = os.open(f"{path}.{tag}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._flock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._flock)
            raise CliError(f"another openfrs import into this face set is running (journal {path})",
                           "CLIENT.BUSY") from None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives the process being killed (it is in the OS's
        # cache); only a power cut could lose the last ones, and then the
        # server-side check of ``sending`` rows still prevents duplicates.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()
        os.close(self._flock)  # releases the lock (the kernel does too if the process dies)

    def states(self) -> dict[str, Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT sha256, path, external_image_id, state, face_ids, error_code, error_msg, updated"
                " FROM entries WHERE target=?", (self.target,)).fetchall()
        return {r[0]: Entry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows}

    def mark(self, sha: str, path: str, ext: str, state: str, face_ids: list[str] | None = None,
             code: str = "", msg: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, sha256)"
                " DO UPDATE SET path=excluded.path, external_image_id=excluded.external_image_id,"
                " state=excluded.state, face_ids=excluded.face_ids, error_code=excluded.error_code,"
                " error_msg=excluded.error_msg, updated=excluded.updated",
                (self.target, sha, path, ext, state, json.dumps(face_ids or []), code, msg[:500],
                 time.time()))

    def errors(self) -> Iterator[Entry]:
        for e in sorted(self.states().values(), key=lambda e: e.path):
            if e.state in ("error", "failed"):
                yield e
