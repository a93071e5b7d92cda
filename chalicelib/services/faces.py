"""Faces in a face set: add, query, update, delete (API Reference §4.6)."""
from __future__ import annotations

import re

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.parse import BUILTIN_FIELDS, Match, coerce_value, parse_filter
from chalicelib.services import ids
from chalicelib.services.detection import faces_in, upright
from chalicelib.services.face_sets import check_name, recognizer_for
from chalicelib.services.fields import check_values
from chalicelib.services.params import get_bool, get_int, get_json, get_str
from chalicelib.store import get_store
from chalicelib.store.base import FaceRecord

EXTERNAL_IMAGE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
MAX_PAGE_END = 10_000


def face_json(face: FaceRecord) -> dict:
    return {"bounding_box": face.bounding_box, "external_image_id": face.external_image_id,
            "external_fields": face.external_fields, "face_id": face.face_id}


def _external_image_id(payload: dict) -> str | None:
    return get_str(payload, "external_image_id", pattern=EXTERNAL_IMAGE_ID_RE, max_len=36)


def add(project_id: str, name: str, payload: dict, form: bool = False) -> dict:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    # Validate every parameter before the costly image work.
    external_image_id = _external_image_id(payload) or ids.external_image_id()
    fields = check_values(get_json(payload, "external_fields", dict, form=form), info.external_fields)
    single = get_bool(payload, "single", form=form, default=False)
    recognizer = recognizer_for(info)  # before decoding, detecting or embedding anything
    image, detected = faces_in(payload)
    if not detected:
        raise FrsError(errors.ADD_NO_FACE, "Detect no face, can not add it to face set.")
    if single:
        detected = detected[:1]
    detected = upright(image, detected)
    vectors = recognizer.embed_many(image, detected)  # one batched network run
    records = [FaceRecord(face_id=ids.face_id(), external_image_id=external_image_id,
                          bounding_box=f.bounding_box(), external_fields=dict(fields),
                          vector=v) for f, v in zip(detected, vectors, strict=True)]
    store.add_faces(project_id, name, records)  # atomic, capacity-checked
    return {"face_set_id": info.face_set_id, "face_set_name": info.face_set_name,
            "faces": [face_json(r) for r in records]}


def query(project_id: str, name: str, query_params: dict) -> dict:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    face_id = query_params.get("face_id")
    if face_id is not None:
        face = store.get_face(project_id, name, face_id)
        if face is None:
            raise FrsError(errors.FACE_ID_NOT_FOUND, "The face ID does not exist.")
        faces = [face]
    else:
        offset = get_int(query_params, "offset", form=True, default=0, lo=0, hi=MAX_PAGE_END)
        limit = get_int(query_params, "limit", form=True, default=5, lo=1, hi=MAX_PAGE_END)
        if offset + limit > MAX_PAGE_END:
            raise FrsError(errors.PARAM_FORMAT, "offset + limit must not exceed 10000.")
        faces = store.list_faces(project_id, name, offset, limit)
    return {"face_set_id": info.face_set_id, "face_set_name": info.face_set_name,
            "faces": [face_json(f) for f in faces]}


def update(project_id: str, name: str, payload: dict) -> dict:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    face_id = get_str(payload, "face_id", required=True)
    external_image_id = _external_image_id(payload)
    raw_fields = get_json(payload, "external_fields", dict)
    if external_image_id is None and raw_fields is None:
        raise FrsError(errors.PARAM_MISSING, "external_image_id or external_fields is required.")
    fields = check_values(raw_fields, info.external_fields) if raw_fields is not None else None
    store.update_face(project_id, name, face_id, external_image_id, fields)
    return {"face_number": 1, "face_set_id": info.face_set_id, "face_set_name": info.face_set_name}


def delete_by_field(project_id: str, name: str, query_params: dict) -> dict:
    """``DELETE .../faces?<field>=<value>`` for face_id, external_image_id or
    one custom field."""
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    if not query_params:
        raise FrsError(errors.PARAM_MISSING, "Give face_id, external_image_id or a custom field.")
    if len(query_params) > 1:
        raise FrsError(errors.PARAM_FORMAT, "Give exactly one condition to delete by.")
    (field, raw), = query_params.items()
    types = {**info.external_fields, **BUILTIN_FIELDS}
    if field not in types:
        raise FrsError(errors.FIELD_NOT_FOUND, f"The field {field!r} does not exist.")
    if raw == "":
        raise FrsError(errors.PARAM_FORMAT, "Deleting by an empty value is not supported.")
    try:
        value = coerce_value(field, types[field], raw)
    except FrsError:
        raise FrsError(errors.PARAM_FORMAT, f"{raw!r} is not a valid {types[field]} "
                       f"for {field!r}.") from None
    count = store.delete_faces(project_id, name, Match(field, value))
    if count == 0:
        raise FrsError(errors.DELETE_VALUE_NOT_FOUND,
                       "No face has that value; nothing was deleted.")
    return {"face_number": count, "face_set_id": info.face_set_id,
            "face_set_name": info.face_set_name}


def delete_batch(project_id: str, name: str, payload: dict) -> dict:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    text = get_str(payload, "filter", required=True)
    where = parse_filter(text, info.external_fields)
    count = store.delete_faces(project_id, name, where)
    if count == 0:
        raise FrsError(errors.BATCH_DELETE_NO_MATCH, "No face matches the filter.")
    return {"face_number": count, "face_set_id": info.face_set_id,
            "face_set_name": info.face_set_name}
