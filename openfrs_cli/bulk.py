"""``openfrs import``: enrol a folder tree or a CSV into a face set.

N worker threads each send one image at a time through the SDK; the main
thread reads and hashes files, skips what the journal says is done, and feeds
the workers through a bounded window. Duplicates are prevented at two levels:
the journal (content hash, face set) and, for an add whose answer was lost
(SIGKILL, a server restart, a timeout or 5xx), a search on the server before
sending again. Sets created by the importer carry a custom field
``import_sha256`` so that search is exact (filter on the hash); for a set
without it the check is the same image's face at the same bounding box.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkfrs.v2 import model as m

from openfrs_cli.client import Backoff, CliError, PerThread, ambiguous, describe, retryable, with_retries
from openfrs_cli.journal import Entry, Journal

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
HASH_FIELD = "import_sha256"
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,36}")


def external_id(name: str) -> str:
    """A folder or file name as an FRS external_image_id ([A-Za-z0-9_-]{1,36})."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:36] or "unnamed"


@dataclass
class Item:
    path: Path
    external_image_id: str
    fields: dict = field(default_factory=dict)


def items_from_dir(root: Path) -> list[Item]:
    """One person per folder: every image under ``root/<person>/`` (any depth)
    gets the folder's name; images directly in ``root`` their own file name."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            p = Path(dirpath, name)
            if p.suffix.lower() in IMAGE_SUFFIXES:
                out.append(Item(p, external_id(rel.parts[0] if rel.parts else p.stem)))
    return out


def convert(value: str, ftype: str, column: str) -> Any:
    try:
        if ftype in ("integer", "long"):
            return int(value)
        if ftype in ("float", "double"):
            return float(value)
        if ftype == "boolean":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
    except ValueError:
        raise CliError(f"CSV column {column!r}: {value!r} is not a {ftype}") from None
    return value


def items_from_csv(path: Path, schema: dict[str, str]) -> list[Item]:
    """Columns ``path`` (relative to the CSV's folder), ``external_image_id`` and
    any custom fields of the set (typed by its schema; an empty cell is absent)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "path" not in cols:
            raise CliError(f"{path}: the CSV needs a 'path' column (and optionally external_image_id "
                           "and custom fields)")
        unknown = [c for c in cols if c not in ("path", "external_image_id") and c not in schema]
        if unknown:
            raise CliError(f"{path}: columns {unknown} are not custom fields of the face set "
                           f"(it has {sorted(schema) or 'none'})")
        out = []
        for row in reader:
            p = Path(row["path"])
            p = p if p.is_absolute() else path.parent / p
            ext = row.get("external_image_id") or external_id(p.stem)
            if not EXTERNAL_ID_RE.fullmatch(ext):
                raise CliError(f"{path}: external_image_id {ext!r} must be 1-36 of [A-Za-z0-9_-]")
            fields = {c: convert(v, schema[c], c) for c, v in row.items()
                      if c in schema and v not in (None, "")}
            out.append(Item(p, ext, fields))
    return out


@dataclass
class Summary:
    files: int = 0
    counts: Counter = field(default_factory=Counter)
    faces: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def as_dict(self) -> dict:
        kinds = set(self.counts) | {"added", "skipped_done", "recovered", "duplicate_content", "error",
                                    "failed"}
        return {"files": self.files, "faces_added": self.faces, **{k: self.counts[k] for k in sorted(kinds)},
            "seconds": round(self.seconds, 2),
            "images_per_second": round(self.counts["added"] / self.seconds, 2) if self.seconds else 0.0,
            "interrupted": self.interrupted}


class Importer:
    def __init__(self, clients: PerThread, face_set: str, journal: Journal, workers: int,
                 backoff: Backoff, hash_field: bool, single: bool = True, grace: float = 10.0):
        self.clients, self.face_set, self.journal = clients, face_set, journal
        self.workers, self.backoff, self.hash_field = workers, backoff, hash_field
        self.single, self.grace = single, grace
        self._stop = threading.Event()

    # -- one image ---------------------------------------------------------------
    def _add(self, sha: str, item: Item, b64: str) -> list[str]:
        fields = dict(item.fields)
        if self.hash_field:
            fields[HASH_FIELD] = sha
        req = m.AddFacesByBase64Request(face_set_name=self.face_set, body=m.AddFacesBase64Req(
            image_base64=b64, external_image_id=item.external_image_id,
            external_fields=fields or None, single=self.single))
        return [f.face_id for f in self.clients.get().add_faces_by_base64(req).faces]

    def landed(self, sha: str, ext: str, b64: str) -> list[str] | None:
        """Face ids of this very image if an earlier add of it reached the set, else None."""
        c = self.clients.get()
        flt = f"{HASH_FIELD}:{sha}" if self.hash_field else f'external_image_id:"{ext}"'
        try:
            hits = c.search_face_by_base64(m.SearchFaceByBase64Request(
                face_set_name=self.face_set, body=m.FaceSearchBase64Req(
                    image_base64=b64, top_n=10, filter=flt))).faces or []
            if self.hash_field:
                return [h.face_id for h in hits] or None
            # Without the hash field: the same image gives the same box.
            probe = c.detect_face_by_base64(m.DetectFaceByBase64Request(
                body=m.FaceDetectBase64Req(image_base64=b64))).faces or []
        except ServiceResponseException as exc:
            if exc.error_code in ("FRS.0304", "FRS.0302"):  # no face in it: nothing was added
                return None
            raise
        if not probe:
            return None
        box = probe[0].bounding_box.to_dict()
        same = [h.face_id for h in hits if h.bounding_box.to_dict() == box and h.similarity >= 0.9999]
        return same or None

    def process(self, sha: str, item: Item, data: bytes, previous: Entry | None) -> tuple[str, int]:
        b64 = base64.b64encode(data).decode("ascii")
        path, ext = str(item.path), item.external_image_id
        if previous is not None and previous.state == "sending":
            # Its answer was lost: let an add still running on the server finish, then ask.
            time.sleep(max(0.0, previous.updated + self.grace - time.time()))
            found = with_retries(lambda: self.landed(sha, ext, b64), self.backoff)
            if found:
                self.journal.mark(sha, path, ext, "done", found)
                return "recovered", 0
        self.journal.mark(sha, path, ext, "sending")

        def check(exc: BaseException) -> list[str] | None:
            return self.landed(sha, ext, b64) if ambiguous(exc) else None

        try:
            ids = with_retries(lambda: self._add(sha, item, b64), self.backoff, check)
        except Exception as exc:  # recorded for the report, the run goes on
            code, msg = describe(exc)
            state = "failed" if retryable(exc) else "error"
            self.journal.mark(sha, path, ext, state, code=code, msg=msg)
            return state, 0
        self.journal.mark(sha, path, ext, "done", ids)
        return "added", len(ids)

    # -- the run -------------------------------------------------------------------
    def run(self, items: Iterable[Item], total: int, progress: Any,
            on_result: Callable[[str], None] = lambda s: None) -> Summary:
        summary = Summary(files=total)
        known = self.journal.states()
        seen: set[str] = set()
        start = time.monotonic()
        pending: set[Future] = set()
        window = self.workers * 2

        def settle(done: set[Future]) -> None:
            for fut in done:
                state, faces = fut.result()
                summary.counts[state] += 1
                summary.faces += faces
                progress.update(1)
                progress.set_postfix_str(self._postfix(summary), refresh=False)
                on_result(state)

        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="import")
        try:
            for item in items:
                try:
                    data = item.path.read_bytes()
                except OSError as exc:
                    key = "unreadable:" + hashlib.sha256(str(item.path).encode()).hexdigest()
                    self.journal.mark(key, str(item.path), item.external_image_id, "error",
                                      code="CLIENT.UNREADABLE", msg=str(exc))
                    summary.counts["error"] += 1
                    progress.update(1)
                    continue
                sha = hashlib.sha256(data).hexdigest()
                prev = known.get(sha)
                if sha in seen:
                    summary.counts["duplicate_content"] += 1  # same bytes as another file: once
                    progress.update(1)
                    continue
                seen.add(sha)
                if prev is not None and prev.state in ("done", "error"):
                    summary.counts["skipped_done"] += 1
                    progress.update(1)
                    continue
                pending.add(pool.submit(self.process, sha, item, data, prev))
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    settle(done)
            done, pending = wait(pending)
            settle(done)
        except KeyboardInterrupt:
            summary.interrupted = True
            for fut in pending:
                fut.cancel()
            # Adds in flight finish and are journalled; nothing new starts.
            done, _ = wait([f for f in pending if not f.cancelled()])
            settle(done)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            summary.seconds = time.monotonic() - start
            self.last = summary
        return summary

    @staticmethod
    def _postfix(s: Summary) -> str:
        c = s.counts
        return f"added={c['added']} skipped={c['skipped_done']} errors={c['error'] + c['failed']}"


def write_error_report(journal: Journal, path: str) -> int:
    """Every image of this face set that the server refused or that could not be sent."""
    rows = list(journal.errors())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "external_image_id", "sha256", "state", "error_code", "error_msg"])
        for e in rows:
            w.writerow([e.path, e.external_image_id, e.sha256, e.state, e.error_code, e.error_msg])
    return len(rows)
