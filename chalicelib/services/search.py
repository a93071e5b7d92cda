"""1:N face search in a face set: API Reference §4.4, §5.4, §5.5."""
from __future__ import annotations

import time

from chalicelib import errors, observability
from chalicelib.config import settings
from chalicelib.errors import FrsError
from chalicelib.query.ast import NUMERIC_TYPES
from chalicelib.query.parse import parse_filter
from chalicelib.services.detection import faces_in, upright
from chalicelib.services.face_sets import check_name, recognizer_for
from chalicelib.services.media import present
from chalicelib.services.params import get_float, get_int, get_json, get_str
from chalicelib.store import get_store
from chalicelib.store.base import SortKey


def parse_sort(raw: list | None, schema: dict[str, str], return_fields: list[str] | None) -> list[SortKey]:
    """``[{"field": "asc"|"desc"}, ...]``; a field given twice keeps its last order."""
    if raw is None:
        return []
    keys: dict[str, bool] = {}
    for item in raw:
        if not isinstance(item, dict) or not item:
            raise FrsError(errors.PARAM_FORMAT, 'sort items must look like {"field": "asc"}.')
        for fname, order in item.items():
            if fname not in schema:
                raise FrsError(errors.SORT_FIELD_UNDEFINED, f"The sort field {fname!r} is not defined.")
            if schema[fname] not in NUMERIC_TYPES:
                raise FrsError(errors.SORT_TYPE_UNSUPPORTED,
                               f"Only numeric fields can be sorted; {fname!r} is {schema[fname]}.")
            if return_fields is not None and fname not in return_fields:
                raise FrsError(errors.SORT_FIELD_UNDEFINED,
                               f"The sort field {fname!r} is not among return_fields.")
            if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
                raise FrsError(errors.PARAM_FORMAT, 'sort order must be "asc" or "desc".')
            keys.pop(fname, None)
            keys[fname] = order.lower() == "desc"
    return [SortKey(f, d) for f, d in keys.items()]


def parse_return_fields(raw: list | None, schema: dict[str, str]) -> list[str] | None:
    if raw is None:
        return None
    for fname in raw:
        if not isinstance(fname, str) or fname not in schema:
            raise FrsError(errors.RETURN_FIELDS_UNDEFINED, f"return_fields names {fname!r}, "
                           "which is not defined in this face set.")
    return list(raw)


def search(project_id: str, name: str, payload: dict, form: bool = False) -> dict:
    store = get_store()
    info = store.get_face_set(project_id, check_name(name))
    schema = info.external_fields
    top_n = get_int(payload, "top_n", form=form, default=10, lo=1, hi=1000)
    threshold = get_float(payload, "threshold", form=form, default=0.0, lo=0.0, hi=1.0)
    return_fields = parse_return_fields(get_json(payload, "return_fields", list, form=form), schema)
    sort = parse_sort(get_json(payload, "sort", list, form=form), schema, return_fields)
    text = get_str(payload, "filter")
    where = parse_filter(text, schema) if text is not None else None
    face_id = get_str(payload, "face_id")
    # Also for a search by face_id: the similarity map is the set's model's.
    rec = recognizer_for(info)
    if face_id is not None and not present(payload, "image"):
        stored = store.get_face(project_id, name, face_id, with_vector=True)
        if stored is None:
            raise FrsError(errors.FACE_ID_NOT_FOUND, "The face ID does not exist.")
        vector = stored.vector
        assert vector is not None, "with_vector=True reads the vector"
    else:
        image, faces = faces_in(payload)
        if not faces:
            raise FrsError(errors.SEARCH_NO_FACE, "No face is detected. Failed to search the face.")
        vector = rec.embed_many(image, upright(image, faces[:1]))[0]
    min_score = float(rec.cosine_for_similarity(threshold)) if threshold > 0 else None
    started = time.perf_counter()
    with observability.span("store.search"):
        hits = store.search(project_id, name, vector, top_n, min_score, where, sort)
    observability.note_search(settings().store, time.perf_counter() - started)
    out = []
    for hit in hits:
        fields = hit.face.external_fields
        if return_fields is not None:
            fields = {k: fields[k] for k in return_fields if k in fields}
        out.append({"bounding_box": hit.face.bounding_box,
                    "similarity": float(rec.similarity(hit.score)),
                    "external_image_id": hit.face.external_image_id,
                    "external_fields": fields, "face_id": hit.face.face_id})
    return {"faces": out}
