"""Export and restore of a whole face set (beyond FRS; docs/transfer.md).

``export_page`` writes one page of the set's file; ``restore`` checks a whole
file (format, checksum chain, completeness, embedding model, capacity, every
value) before the store writes anything, then restores in one unit.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np

from chalicelib import errors
from chalicelib.config import settings
from chalicelib.errors import FrsError
from chalicelib.services import face_set_file as ff
from chalicelib.services import ids
from chalicelib.services.face_sets import CAPACITY_STEP, MAX_CAPACITY, check_name, info_json, max_face_sets
from chalicelib.services.faces import EXTERNAL_IMAGE_ID_RE
from chalicelib.services.fields import check_values, parse_schema, schema_json
from chalicelib.services.params import get_int
from chalicelib.store import get_store
from chalicelib.store.base import FaceRecord, FaceSetInfo
from chalicelib.text import check_text

DEFAULT_PAGE = 5000
MAX_PAGE = 10_000
FACE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
UNIT_TOLERANCE = 1e-3  # stored vectors are L2-normalised float32


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------
# Export
def export_page(project_id: str, name: str, query: dict) -> bytes:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    limit = get_int(query, "limit", form=True, default=DEFAULT_PAGE, lo=1, hi=MAX_PAGE)
    cursor = query.get("cursor")
    digest: bytes | None = None
    position, count, out = "", 0, []
    if cursor is not None:
        position, digest, count = ff.decode_cursor(cursor)
    faces, after = store.export_faces(project_id, name, position, limit)
    if cursor is None:
        dim = int(np.asarray(faces[0].vector).size) if faces else 0
        header = ff.line({
            "format": ff.FORMAT, "version": ff.VERSION, "embedding_model": info.embedding_model,
            "dim": dim, "vector_encoding": ff.VECTOR_ENCODING, "exported_at": _now(),
            "face_set": {"face_set_name": info.face_set_name, "face_set_id": info.face_set_id,
                         "create_date": info.create_date,
                         "face_set_capacity": info.face_set_capacity,
                         "external_fields": schema_json(info.external_fields)},
            "face_number": info.face_number})
        digest = ff.chain(None, header)
        out.append(header)
    for face in faces:
        raw = ff.face_line(face)
        digest = ff.chain(digest, raw)
        out.append(raw)
    count += len(faces)
    assert digest is not None
    if len(faces) == limit:  # maybe more: the client asks again from here
        out.append(ff.line({"next_cursor": ff.encode_cursor(after, digest, count)}))
    else:
        out.append(ff.line({"end": True, "faces": count, "sha256": digest.hex()}))
    return b"".join(out)


# --------------------------------------------------------------------------
# Restore
def restore(project_id: str, name: str, raw: bytes) -> dict:
    check_name(name)
    limit = settings().max_restore_bytes
    if len(raw) > limit:
        raise FrsError(errors.BODY_TOO_LARGE, f"The face-set file exceeds {limit} bytes "
                       "(FRS_MAX_RESTORE_BYTES).")
    lines = raw.split(b"\n")
    if lines[-1] != b"" or len(lines) < 3:
        raise ff.bad_file("it is truncated (no trailer line)")
    lines.pop()
    header = ff.parse_line(lines[0], 1)
    info, dim = _header(project_id, name, header)
    trailer = ff.parse_line(lines[-1], len(lines))
    if trailer.get("end") is not True:
        raise ff.bad_file("it is truncated (the last line is not the trailer)")
    digest = ff.chain(None, lines[0] + b"\n")
    for body in lines[1:-1]:
        digest = ff.chain(digest, body + b"\n")
    n = len(lines) - 2
    if trailer.get("faces") != n:
        raise ff.bad_file(f"it is truncated or padded: the trailer counts {trailer.get('faces')}"
                          f" faces, the file holds {n}")
    if trailer.get("sha256") != digest.hex():
        raise ff.bad_file("checksum mismatch (the file is damaged)")
    if n > info.face_set_capacity:
        raise FrsError(errors.FACE_SET_FULL, f"The file holds {n} faces, more than the face set's "
                       f"capacity of {info.face_set_capacity}.")
    faces = [_face(ff.parse_line(body, i + 2), dim, info.external_fields, i + 2)
             for i, body in enumerate(lines[1:-1])]
    _check_faces(faces)
    created = get_store().restore_face_set(info, faces, max_face_sets())
    return {"face_set_info": info_json(created), "restored_faces": n,
            "embedding_model": created.embedding_model}


def _header(project_id: str, name: str, h: dict) -> tuple[FaceSetInfo, int]:
    if h.get("format") != ff.FORMAT:
        raise ff.bad_file(f"line 1 is not an {ff.FORMAT} header")
    if h.get("version") != ff.VERSION:
        raise ff.bad_file(f"format version {h.get('version')!r} is not {ff.VERSION}, the one "
                          "this server reads")
    if h.get("vector_encoding") != ff.VECTOR_ENCODING:
        raise ff.bad_file(f"vector_encoding must be {ff.VECTOR_ENCODING}")
    check_text(h, "header")
    fs, model, dim = h.get("face_set"), h.get("embedding_model"), h.get("dim")
    if not isinstance(fs, dict) or not isinstance(model, str) or isinstance(dim, bool) \
            or not isinstance(dim, int) or not 0 <= dim <= 4096:
        raise ff.bad_file("the header lacks face_set, embedding_model or dim")
    _check_model(model, dim)
    capacity = fs.get("face_set_capacity")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0 \
            or capacity % CAPACITY_STEP or capacity > MAX_CAPACITY:
        raise ff.bad_file("face_set_capacity must be a multiple of 10000, at most 100000")
    same = fs.get("face_set_name") == name
    set_id, date = fs.get("face_set_id"), fs.get("create_date")
    if same and not (isinstance(set_id, str) and FACE_ID_RE.fullmatch(set_id) and isinstance(date, str)
                     and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", date)):
        raise ff.bad_file("the header's face_set_id or create_date is malformed")
    return FaceSetInfo(
        project_id=project_id, face_set_name=name,
        # Under its own name it is the same set brought back; under another, a new set.
        face_set_id=set_id if same else ids.face_set_id(),  # type: ignore[arg-type]
        create_date=date if same else _now(),  # type: ignore[arg-type]
        face_set_capacity=capacity, external_fields=parse_schema(fs.get("external_fields")),
        embedding_model=model), dim


def _check_model(model: str, dim: int) -> None:
    """The file's vectors must be ones this server's queries can be compared with."""
    from chalicelib.services.detection import engine  # lazy: loads the manifest only
    eng = engine()
    try:
        rec = eng.recognizer(model)
    except FrsError:
        built = ", ".join(sorted(eng.declared_ids().values())) or "none"
        raise ff.bad_file(f"its vectors come from embedding model {model or '(dlib, unrecorded)'}, "
                          f"which this server does not have (it has: {built})") from None
    if dim and dim != rec.dim:
        raise ff.bad_file(f"its vectors have {dim} values; model {model} makes {rec.dim}")


def _face(d: dict, dim: int, schema: dict[str, str], number: int) -> FaceRecord:
    where = f"line {number}"
    face_id, ext, box = d.get("face_id"), d.get("external_image_id"), d.get("bounding_box")
    if not isinstance(face_id, str) or not FACE_ID_RE.fullmatch(face_id):
        raise ff.bad_file(f"{where}: face_id is missing or malformed")
    if not isinstance(ext, str) or not EXTERNAL_IMAGE_ID_RE.fullmatch(ext):
        raise ff.bad_file(f"{where}: external_image_id is missing or malformed")
    if not isinstance(box, dict) or set(box) != set(ff.BOX_KEYS) or any(
            isinstance(box[k], bool) or not isinstance(box[k], int) or not 0 <= box[k] < 2**31
            for k in ff.BOX_KEYS):
        raise ff.bad_file(f"{where}: bounding_box must hold four non-negative integers")
    try:
        fields = check_values(d.get("external_fields"), schema)
    except FrsError as exc:
        raise FrsError(exc.code, f"The face-set file is not valid: {where}: {exc.msg}") from None
    return FaceRecord(face_id=face_id, external_image_id=ext, bounding_box=dict(box),
                      external_fields=fields, vector=ff.decode_vector(d.get("vector"), dim, where))


def _check_faces(faces: list[FaceRecord]) -> None:
    if not faces:
        return
    matrix = np.stack([f.vector for f in faces if f.vector is not None])
    norms = np.linalg.norm(matrix, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1.0) > UNIT_TOLERANCE))
    if bad.size:
        raise ff.bad_file(f"line {int(bad[0]) + 2}: the vector is not L2-normalised")
    seen: set[str] = set()
    for i, f in enumerate(faces):
        if f.face_id in seen:
            raise ff.bad_file(f"line {i + 2}: face_id {f.face_id} appears twice")
        seen.add(f.face_id)
