"""The embedded store: SQLite (WAL) on disk, exact search from an in-memory copy.

Durable truth lives in ``<data_dir>/frs.sqlite3``; each process keeps a
``FaceColumns`` per face set it has searched, and checks the set's ``version``
(bumped in the same transaction as every write) before using it, so several
processes may share one data directory. It catches up from what changed: new
rows by id, updated and deleted rows from the ``changes`` log. See
``docs/store.md`` for the design.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.files import private_dir, private_file
from chalicelib.query.ast import Node
from chalicelib.store.base import FaceRecord, FaceSetInfo, FaceSetStore, SearchHit, SortKey
from chalicelib.store.embedded_columns import FaceColumns, View

DB_NAME = "frs.sqlite3"
SCHEMA_VERSION = "2"
# Older schemas this code upgrades in place at open (see _migrate).
# 1 -> 2: face_sets.embedding_model (existing sets get "", "unknown model").
_MIGRATABLE = ("1",)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS face_sets (
    sid INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: a cache key for this set's life
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    face_set_id TEXT NOT NULL,
    create_date TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    fields TEXT NOT NULL,                    -- JSON {field name: FRS type}
    face_number INTEGER NOT NULL DEFAULT 0,
    dim INTEGER,                             -- vector length, fixed by the first face
    version INTEGER NOT NULL DEFAULT 0,      -- bumped by every write to the set's faces
    epoch INTEGER NOT NULL DEFAULT 0,        -- versions <= epoch are missing from `changes`
    embedding_model TEXT NOT NULL DEFAULT '', -- engine model_id of the vectors, '' = unknown
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,    -- insertion order, monotonic
    project_id TEXT NOT NULL,
    sid INTEGER NOT NULL,
    face_id TEXT NOT NULL,
    external_image_id TEXT NOT NULL,
    box_x INTEGER NOT NULL, box_y INTEGER NOT NULL,
    box_w INTEGER NOT NULL, box_h INTEGER NOT NULL,
    fields TEXT NOT NULL,                    -- JSON object, as given
    vector BLOB NOT NULL,                    -- float32, little-endian
    UNIQUE (project_id, sid, face_id)
);
CREATE INDEX IF NOT EXISTS faces_by_set ON faces (project_id, sid, id);
CREATE TABLE IF NOT EXISTS changes (         -- rows updated or deleted, per set version
    sid INTEGER NOT NULL,
    version INTEGER NOT NULL,
    face_row INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_set ON changes (sid, version);
"""

# The change log keeps this many versions per set; a cache older than that, or
# a delete of more rows than LOG_MAX_ROWS, means a full reload instead.
LOG_VERSIONS = 1000
LOG_MAX_ROWS = 5000

_FACE_COLS = "id, face_id, external_image_id, box_x, box_y, box_w, box_h, fields, vector"


def _not_found(name: str) -> FrsError:
    return FrsError(errors.FACE_SET_NOT_FOUND, f"The face set {name} does not exist.")


# One face row; add_faces and restore_face_set both write them.
_INSERT_FACES = ("INSERT INTO faces (project_id, face_id, external_image_id, box_x, box_y,"
                 " box_w, box_h, fields, vector, sid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class EmbeddedStore(FaceSetStore):
    def __init__(self, data_dir: str, synchronous: str = "FULL"):
        # FULL: a face is acknowledged only once the WAL is fsynced, so an
        # acknowledged add survives power loss, not just a crash (NORMAL would).
        # One fsync per write request is small next to face detection.
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        # 0700 directory, 0600 database (and so WAL/SHM): biometric data.
        self.path = private_file(os.path.join(private_dir(data_dir), DB_NAME))
        self._synchronous = synchronous
        self._pool: list[sqlite3.Connection] = []  # idle connections
        self._all: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._cache: dict[int, FaceColumns] = {}
        self._cache_lock = threading.Lock()
        self._closed = False
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            with _write(conn):
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (SCHEMA_VERSION,))
                (found,) = conn.execute(
                    "SELECT value FROM meta WHERE key='schema_version'").fetchone()
                if found in _MIGRATABLE:
                    _migrate(conn)
                    found = SCHEMA_VERSION
                if found != SCHEMA_VERSION:
                    raise RuntimeError(f"{self.path} has store schema {found}, this code"
                                       f" reads {SCHEMA_VERSION}")

    # -- connections -------------------------------------------------------------
    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """A connection for this operation. Pooled rather than per thread because
        Chalice local starts a thread per request."""
        if self._closed:
            raise RuntimeError("store is closed")
        with self._pool_lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=60000")
            # Deleted faces (biometric vectors) are overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            # After a checkpoint, shrink a WAL that a bulk load made large.
            conn.execute("PRAGMA journal_size_limit=67108864")
            with self._pool_lock:
                self._all.append(conn)
        try:
            yield conn
        finally:
            if conn.in_transaction:  # never hand on a connection mid-transaction
                conn.rollback()
            with self._pool_lock:
                self._pool.append(conn)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._pool.clear()
        with self._cache_lock:
            self._cache.clear()

    # -- face sets -------------------------------------------------------------------
    def create_face_set(self, info: FaceSetInfo, max_face_sets: int) -> FaceSetInfo:
        with self._conn() as conn, _write(conn):
            return self._insert_set(conn, info, max_face_sets)

    @staticmethod
    def _insert_set(conn: sqlite3.Connection, info: FaceSetInfo, max_face_sets: int) -> FaceSetInfo:
        """Insert the set's row inside the caller's write transaction."""
        if conn.execute("SELECT 1 FROM face_sets WHERE project_id=? AND name=?",
                        (info.project_id, info.face_set_name)).fetchone():
            raise FrsError(errors.FACE_SET_EXISTS,
                           f"The face set {info.face_set_name} already exists.")
        (count,) = conn.execute("SELECT COUNT(*) FROM face_sets WHERE project_id=?",
                                (info.project_id,)).fetchone()
        if count >= max_face_sets:
            raise FrsError(errors.FACE_SET_LIMIT,
                           f"The number of face sets has reached the limit of {max_face_sets}.")
        conn.execute(
            "INSERT INTO face_sets (project_id, name, face_set_id, create_date, capacity, fields,"
            " embedding_model) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (info.project_id, info.face_set_name, info.face_set_id, info.create_date,
             int(info.face_set_capacity), json.dumps(dict(info.external_fields)),
             str(info.embedding_model or "")))
        return FaceSetInfo(info.project_id, info.face_set_name, info.face_set_id,
                           info.create_date, int(info.face_set_capacity),
                           dict(info.external_fields), 0, str(info.embedding_model or ""))

    _SET_COLS = ("project_id, name, face_set_id, create_date, capacity, fields, face_number,"
                 " embedding_model")

    @staticmethod
    def _info(row: tuple) -> FaceSetInfo:
        return FaceSetInfo(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6],
                           row[7] or "")

    def list_face_sets(self, project_id: str) -> list[FaceSetInfo]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {self._SET_COLS} FROM face_sets WHERE project_id=?"
                                " ORDER BY sid", (project_id,)).fetchall()
        return [self._info(r) for r in rows]

    def get_face_set(self, project_id: str, name: str) -> FaceSetInfo:
        with self._conn() as conn:
            row = conn.execute(f"SELECT {self._SET_COLS} FROM face_sets"
                               " WHERE project_id=? AND name=?", (project_id, name)).fetchone()
        if row is None:
            raise _not_found(name)
        return self._info(row)

    def delete_face_set(self, project_id: str, name: str) -> None:
        with self._conn() as conn, _write(conn):
            sid = _sid(conn, project_id, name)
            conn.execute("DELETE FROM faces WHERE project_id=? AND sid=?", (project_id, sid))
            conn.execute("DELETE FROM changes WHERE sid=?", (sid,))
            conn.execute("DELETE FROM face_sets WHERE sid=?", (sid,))
        self._forget(sid)

    def delete_project(self, project_id: str) -> int:
        with self._conn() as conn, _write(conn):
            sids = [r[0] for r in conn.execute("SELECT sid FROM face_sets WHERE project_id=?",
                                               (project_id,))]
            conn.execute("DELETE FROM faces WHERE project_id=?", (project_id,))
            conn.executemany("DELETE FROM changes WHERE sid=?", [(sid,) for sid in sids])
            conn.execute("DELETE FROM face_sets WHERE project_id=?", (project_id,))
        for sid in sids:
            self._forget(sid)
        return len(sids)

    # -- faces --------------------------------------------------------------------------
    def add_faces(self, project_id: str, name: str, faces: Sequence[FaceRecord]) -> None:
        if not faces:
            return
        rows = self._face_rows(project_id, faces)
        dim = len(rows[0][-1]) // 4
        with self._conn() as conn, _write(conn):
            # BEGIN IMMEDIATE holds the database write lock from here to COMMIT,
            # so no other thread or process can add between check and insert.
            row = conn.execute("SELECT sid, capacity, face_number, dim FROM face_sets"
                               " WHERE project_id=? AND name=?", (project_id, name)).fetchone()
            if row is None:
                raise _not_found(name)
            sid, capacity, number, set_dim = row
            if number + len(rows) > capacity:
                raise FrsError(errors.FACE_SET_FULL,
                               f"The face set {name} is full: {number} of {capacity} faces,"
                               f" cannot add {len(rows)}.")
            if set_dim is not None and set_dim != dim:
                raise ValueError(f"vector length {dim} differs from the face set's {set_dim}")
            try:
                conn.executemany(_INSERT_FACES, [r + (sid,) for r in rows])
            except sqlite3.IntegrityError as e:
                if "UNIQUE" not in str(e):
                    raise
                raise FrsError(errors.INTERNAL, f"Duplicate face_id in face set {name}.") from e
            conn.execute("UPDATE face_sets SET face_number=face_number+?, dim=?,"
                         " version=version+1 WHERE sid=?", (len(rows), dim, sid))

    @staticmethod
    def _face_rows(project_id: str, faces: Sequence[FaceRecord]) -> list[tuple]:
        """INSERT parameters (without the set's sid) of faces whose vectors share one length."""
        rows: list[tuple] = []
        for f in faces:
            if f.vector is None:
                raise ValueError(f"face {f.face_id} has no vector")
            blob = np.ascontiguousarray(f.vector, dtype="<f4").ravel().tobytes()
            if rows and len(blob) != len(rows[0][-1]):
                raise ValueError("vectors of different lengths in one batch")
            box = f.bounding_box
            rows.append((project_id, f.face_id, f.external_image_id,
                         int(box["top_left_x"]), int(box["top_left_y"]),
                         int(box["width"]), int(box["height"]),
                         json.dumps(f.external_fields or {}), blob))
        return rows

    @staticmethod
    def _record(row: tuple, with_vector: bool) -> FaceRecord:
        return FaceRecord(
            face_id=row[1], external_image_id=row[2],
            bounding_box={"top_left_x": row[3], "top_left_y": row[4],
                          "width": row[5], "height": row[6]},
            external_fields=json.loads(row[7]),
            vector=np.frombuffer(row[8], dtype="<f4").copy() if with_vector else None)

    def list_faces(self, project_id: str, name: str, offset: int, limit: int) -> list[FaceRecord]:
        with self._conn() as conn, _read(conn):
            sid = _sid(conn, project_id, name)
            rows = conn.execute(
                "SELECT id, face_id, external_image_id, box_x, box_y, box_w, box_h, fields"
                " FROM faces WHERE project_id=? AND sid=? ORDER BY id LIMIT ? OFFSET ?",
                (project_id, sid, int(limit), int(offset))).fetchall()
        return [self._record(r + (None,), False) for r in rows]

    def get_face(self, project_id: str, name: str, face_id: str,
                 with_vector: bool = False) -> FaceRecord | None:
        with self._conn() as conn, _read(conn):
            sid = _sid(conn, project_id, name)
            row = conn.execute(f"SELECT {_FACE_COLS} FROM faces"
                               " WHERE project_id=? AND sid=? AND face_id=?",
                               (project_id, sid, face_id)).fetchone()
        return None if row is None else self._record(row, with_vector)

    def update_face(self, project_id: str, name: str, face_id: str,
                    external_image_id: str | None, external_fields: dict | None) -> FaceRecord:
        with self._conn() as conn, _write(conn):
            sid = _sid(conn, project_id, name)
            row = conn.execute(f"SELECT {_FACE_COLS} FROM faces"
                               " WHERE project_id=? AND sid=? AND face_id=?",
                               (project_id, sid, face_id)).fetchone()
            if row is None:
                raise FrsError(errors.FACE_ID_NOT_FOUND, f"The face_id {face_id} does not exist.")
            fields = json.loads(row[7])
            if external_fields:
                fields.update(external_fields)
            ext = row[2] if external_image_id is None else external_image_id
            conn.execute("UPDATE faces SET external_image_id=?, fields=? WHERE id=?",
                         (ext, json.dumps(fields), row[0]))
            _log_change(conn, sid, [row[0]])
        return self._record((row[0], row[1], ext) + tuple(row[3:7]) + (json.dumps(fields), None),
                            False)

    def delete_faces(self, project_id: str, name: str, where: Node) -> int:
        if where is None:
            raise ValueError("delete_faces needs a filter")  # never "delete all" by accident
        with self._conn() as conn, _write(conn):
            # Evaluating on the cache inside the write transaction sees exactly
            # the rows this transaction deletes from.
            sid, view = self._fresh_view(conn, project_id, name)
            ids = view.ids[view.live_rows(where)].tolist()
            if ids:
                conn.executemany("DELETE FROM faces WHERE id=?", ((i,) for i in ids))
                conn.execute("UPDATE face_sets SET face_number=face_number-? WHERE sid=?",
                             (len(ids), sid))
                _log_change(conn, sid, ids)
        return int(len(ids))

    # -- transfer --------------------------------------------------------------------------
    def export_faces(self, project_id: str, name: str, after: str,
                     limit: int) -> tuple[list[FaceRecord], str]:
        start = int(after) if after.isdigit() else 0  # the row id of the last face sent
        with self._conn() as conn, _read(conn):
            sid = _sid(conn, project_id, name)
            rows = conn.execute(f"SELECT {_FACE_COLS} FROM faces WHERE project_id=? AND sid=?"
                                " AND id>? ORDER BY id LIMIT ?",
                                (project_id, sid, start, int(limit))).fetchall()
        return [self._record(r, True) for r in rows], (str(rows[-1][0]) if rows else after)

    def restore_face_set(self, info: FaceSetInfo, faces: Sequence[FaceRecord],
                         max_face_sets: int) -> FaceSetInfo:
        rows = self._face_rows(project_id=info.project_id, faces=faces)
        dim = len(rows[0][-1]) // 4 if rows else None
        if len(rows) > info.face_set_capacity:
            raise FrsError(errors.FACE_SET_FULL,
                           f"The face set {info.face_set_name} would hold {len(rows)} faces,"
                           f" more than its capacity of {info.face_set_capacity}.")
        # One transaction: the set and its faces appear together or not at all.
        with self._conn() as conn, _write(conn):
            created = self._insert_set(conn, info, max_face_sets)
            (sid,) = conn.execute("SELECT sid FROM face_sets WHERE project_id=? AND name=?",
                                  (info.project_id, info.face_set_name)).fetchone()
            try:
                conn.executemany(_INSERT_FACES, [r + (sid,) for r in rows])
            except sqlite3.IntegrityError as e:
                raise FrsError(errors.PARAM_FORMAT, "Duplicate face_id in the restored set.") from e
            conn.execute("UPDATE face_sets SET face_number=?, dim=?, version=version+1 WHERE sid=?",
                         (len(rows), dim, sid))
        created.face_number = len(rows)
        return created

    # -- search ----------------------------------------------------------------------------
    def search(self, project_id: str, name: str, vector: np.ndarray, top_n: int,
               min_score: float | None = None, where: Node | None = None,
               sort: Sequence[SortKey] = ()) -> list[SearchHit]:
        with self._conn() as conn, _read(conn):
            _, view = self._fresh_view(conn, project_id, name)
        if view.n == 0 or top_n <= 0:
            return []
        q = np.ascontiguousarray(vector, dtype=np.float32).ravel()
        if q.shape[0] != view.matrix.shape[1]:
            raise ValueError(f"query vector length {q.shape[0]} != {view.matrix.shape[1]}")
        rows = view.live_rows(where)
        if rows is None:
            scores = view.matrix @ q
        else:
            # Gathering a few rows beats scoring all; for broad filters the
            # full product is cheaper than copying most of the matrix.
            scores = view.matrix[rows] @ q if len(rows) * 3 < view.n else (view.matrix @ q)[rows]
        if min_score is not None:
            keep = np.flatnonzero(scores >= np.float32(min_score))
            scores = scores[keep]
            rows = keep if rows is None else rows[keep]
        elif rows is None:
            rows = np.arange(view.n)
        if len(rows) > top_n:
            part = np.argpartition(-scores, top_n - 1)[:top_n]
            scores, rows = scores[part], rows[part]
        order = np.lexsort((view.ids[rows], -scores))  # score desc, then insertion order
        scores, rows = scores[order], rows[order]
        hits = [SearchHit(self._hit_record(view, int(r)), float(s))
                for r, s in zip(rows, scores, strict=True)]
        if sort:
            hits = sorted(hits, key=_sort_key(sort, {id(h): k for k, h in enumerate(hits)}))
        return hits

    @staticmethod
    def _hit_record(view: View, r: int) -> FaceRecord:
        x, y, w, h = (int(v) for v in view.boxes[r])
        return FaceRecord(face_id=view.string_at("face_id", r),
                          external_image_id=view.string_at("external_image_id", r),
                          bounding_box={"top_left_x": x, "top_left_y": y, "width": w, "height": h},
                          external_fields=json.loads(view.fields_json[r]))

    # -- cache -----------------------------------------------------------------------------
    def _fresh_view(self, conn: sqlite3.Connection, project_id: str, name: str) -> tuple[int, View]:
        """The set's columns as of the caller's transaction (loading what changed)."""
        row = conn.execute("SELECT sid, version, epoch, fields, dim FROM face_sets"
                           " WHERE project_id=? AND name=?", (project_id, name)).fetchone()
        if row is None:
            raise _not_found(name)
        sid, version, epoch, fields, dim = row
        with self._cache_lock:
            cols = self._cache.get(sid)
            # A cache ahead of this transaction's snapshot (another thread
            # caught it up meanwhile) holds a later committed state: use it.
            if cols is not None and cols.version < version:
                if cols.version < epoch:  # the log no longer covers the gap
                    cols = None
                else:
                    touched = [r[0] for r in conn.execute(
                        "SELECT face_row FROM changes WHERE sid=? AND version>?",
                        (sid, cols.version))]
                    if (cols.dead + len(touched)) * 4 > cols.n + 4000:
                        cols = None  # mostly dead rows: rebuild compactly
                    else:
                        # Touched rows that still exist (updates), then rows
                        # added since; two queries, as an OR would scan the set.
                        # The unary + keeps SQLite on rowid lookups rather than
                        # a range scan of the whole set through faces_by_set.
                        rows = conn.execute(
                            f"SELECT {_FACE_COLS} FROM faces WHERE id IN (SELECT face_row FROM"
                            " changes WHERE sid=? AND version>?) AND +id<=? AND +project_id=?"
                            " AND +sid=? ORDER BY id",
                            (sid, cols.version, cols.max_id, project_id, sid)).fetchall()
                        rows += conn.execute(
                            f"SELECT {_FACE_COLS} FROM faces WHERE project_id=? AND sid=?"
                            " AND id>? ORDER BY id", (project_id, sid, cols.max_id)).fetchall()
                        cols.kill(touched)
                        cols.append(rows)
                        cols.version = version
            if cols is None:
                if sid not in self._cache:
                    self._prune(conn)
                cols = FaceColumns(json.loads(fields), dim)
                cols.append(conn.execute(f"SELECT {_FACE_COLS} FROM faces WHERE project_id=?"
                                         " AND sid=? ORDER BY id", (project_id, sid)).fetchall())
                cols.version = version
            self._cache[sid] = cols
            return sid, cols.view()

    def _prune(self, conn: sqlite3.Connection) -> None:
        """Drop cached sets another process deleted (called when a set is first cached)."""
        live = {r[0] for r in conn.execute("SELECT sid FROM face_sets")}
        for sid in [s for s in self._cache if s not in live]:
            del self._cache[sid]

    def _forget(self, sid: int) -> None:
        with self._cache_lock:
            self._cache.pop(sid, None)


def _migrate(conn: sqlite3.Connection) -> None:
    """Upgrade a schema-1 database in place (inside the caller's write
    transaction, so concurrent openers serialise and one of them does it)."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(face_sets)")}
    if "embedding_model" not in cols:
        conn.execute("ALTER TABLE face_sets ADD COLUMN embedding_model TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (SCHEMA_VERSION,))


def _log_change(conn: sqlite3.Connection, sid: int, face_rows: list[int]) -> None:
    """Bump the set's version for an update or delete and record which rows it
    touched, so other caches catch up without reloading the set."""
    (version,) = conn.execute("UPDATE face_sets SET version=version+1 WHERE sid=?"
                              " RETURNING version", (sid,)).fetchone()
    if len(face_rows) > LOG_MAX_ROWS:
        floor = version  # cheaper for every cache to reload than to replay
    else:
        conn.executemany("INSERT INTO changes VALUES (?, ?, ?)",
                         [(sid, version, r) for r in face_rows])
        floor = version - LOG_VERSIONS
    if floor > 0:
        conn.execute("UPDATE face_sets SET epoch=max(epoch, ?) WHERE sid=?", (floor, sid))
        conn.execute("DELETE FROM changes WHERE sid=? AND version<=?", (sid, floor))


def _sort_key(sort: Sequence[SortKey], rank: dict[int, int]) -> Callable[[SearchHit], list]:
    """Order by the sort keys, absent or non-numeric values last (as OpenSearch's
    default ``missing: _last``), then by score rank."""
    def key(hit: SearchHit) -> list:
        parts: list[tuple[int, float] | int] = []
        for k in sort:
            v = hit.face.external_fields.get(k.field)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                parts.append((1, 0))
            else:
                parts.append((0, -v if k.descending else v))
        parts.append(rank[id(hit)])
        return parts
    return key


def _sid(conn: sqlite3.Connection, project_id: str, name: str) -> int:
    row = conn.execute("SELECT sid FROM face_sets WHERE project_id=? AND name=?",
                       (project_id, name)).fetchone()
    if row is None:
        raise _not_found(name)
    return row[0]


@contextlib.contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the database lock up front (no upgrade races)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextlib.contextmanager
def _read(conn: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: every statement inside sees one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.rollback()  # nothing to commit; ends the snapshot
