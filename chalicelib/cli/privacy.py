"""Delete every trace of a project: ``python -m chalicelib.cli.privacy purge --project ID --yes``.

What OpenFRS stores per project (docs/hardening.md, "Privacy"):

* face sets: name, id, creation date, capacity, custom-field schema, counters;
* faces: face_id, external_image_id, bounding box, custom-field values and the
  face's embedding vector (128 float32). Never the image;
* identity (when the credential store is used): the project record, its access
  keys (AK and SK), users (domain-wide, not per project) and the token signing
  key (service-wide). Tokens themselves are not stored;
* rate-limit counters: request counts per project and window (no content).

Images and videos are only held in memory while a request runs; LiveDetect
writes the video to a private temporary file that is deleted at once (OpenCV
needs a seekable file). Logs carry request ids, error codes, project ids and
user names, never media or field values.

``purge_project`` removes the face sets and faces through the store's
``delete_project``, rewrites the embedded database so deleted vectors do not
linger in free pages or the WAL, and removes the project's access keys and
project record. Tokens are not stored: one issued for the project is refused
once its project record is gone (other server processes may take up to
FRS_IDENTITY_CACHE_SECONDS, 30 s by default, to notice).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store is imported lazily
    from chalicelib.store.base import FaceSetStore


def purge_project(project_id: str, *, credentials: bool = True) -> dict:
    """Delete the project's face sets, faces and (optionally) credentials;
    answer what was removed."""
    from chalicelib.store import get_store

    store = get_store()
    sets = store.list_face_sets(project_id)
    faces = sum(s.face_number for s in sets)
    removed_sets = store.delete_project(project_id)
    out = {"project_id": project_id, "face_sets": removed_sets, "faces": faces,
           "compacted": _compact(store)}
    if credentials:
        out.update(_purge_credentials(project_id))
    return out


def _compact(store: FaceSetStore) -> bool:
    """Rewrite the embedded SQLite file: deleted rows otherwise stay readable
    in free pages and in the WAL until they happen to be reused."""
    path = getattr(store, "path", None)
    if not path:
        return False  # OpenSearch: deleting an index removes its segments
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return True


def _purge_credentials(project_id: str) -> dict:
    from chalicelib.identity.credentials import KEY, PROJECT, get_credential_store

    cred = get_credential_store()
    keys = [k["ak"] for k in cred.list_keys(project_id)]
    for ak in keys:
        cred.delete(KEY, ak)
    had_project = cred.get_project(project_id) is not None
    if had_project:
        cred.delete(PROJECT, project_id)
    return {"access_keys": keys, "project_record": had_project}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chalicelib.cli.privacy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", required=True)
    purge = sub.add_parser("purge", help="delete every face set, face and key of a project")
    purge.add_argument("--project", required=True)
    purge.add_argument("--keep-credentials", action="store_true",
                       help="delete the data only; keep the project and its keys")
    purge.add_argument("--yes", action="store_true", help="required: there is no undo")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.yes:
        print("error: purge cannot be undone; add --yes", file=sys.stderr)
        return 2
    print(json.dumps(purge_project(args.project, credentials=not args.keep_credentials), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
