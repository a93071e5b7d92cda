"""Face-set (facial image library) management: API Reference §4.5."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.config import settings
from chalicelib.errors import FrsError
from chalicelib.services import ids
from chalicelib.services.fields import parse_schema, schema_json
from chalicelib.services.params import get_int, get_json, get_str, parse_int_text
from chalicelib.store import get_store
from chalicelib.store.base import FaceSetInfo

if TYPE_CHECKING:
    from chalicelib.vision.engine import Recognizer

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CAPACITY_STEP = 10_000
MAX_CAPACITY = 100_000


def max_face_sets() -> int:
    return settings().max_face_sets


def check_name(name: object) -> str:
    """Path or body face-set names: 1-64 of [A-Za-z0-9_-]."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise FrsError(errors.PARAM_FORMAT, "face_set_name must be 1 to 64 letters, digits, "
                       "'_' or '-'.")
    return name


def engine_model_id() -> str:
    """The running engine's ``model_id``. Read from the model manifest, so it
    loads no model (chalicelib/vision/engine.py)."""
    from chalicelib.services.detection import engine  # lazy: keeps the vision import off other paths
    return engine().model_id


def recognizer_for(info: FaceSetInfo) -> Recognizer:
    """The recogniser that made the set's vectors: new vectors for the set
    and the query compared with it must come from the same model, or the
    scores would be meaningless (and without the images, never kept, the
    faces cannot be re-embedded). A set made under an older default keeps
    its model after an upgrade; a set created before sets recorded their
    model ("") was made by dlib. FRS.0018 when that model is not built here.
    Called before any image work; loads no model until it is used."""
    from chalicelib.services.detection import engine
    return engine().recognizer(info.embedding_model)


def info_json(info: FaceSetInfo) -> dict:
    return {
        "face_set_name": info.face_set_name,
        "face_set_id": info.face_set_id,
        "create_date": info.create_date,
        "face_set_capacity": info.face_set_capacity,
        "face_number": info.face_number,
        "external_fields": schema_json(info.external_fields),
    }


def create(project_id: str, payload: dict, form: bool = False) -> dict:
    name = check_name(get_str(payload, "face_set_name", required=True))
    cap_raw = payload.get("face_set_capacity")
    if isinstance(cap_raw, str) and (cap := parse_int_text(cap_raw)) is not None:
        # The API Reference's own example sends the capacity as a string (ASCII digits).
        payload = {**payload, "face_set_capacity": cap}
    capacity = get_int(payload, "face_set_capacity", form=form, default=MAX_CAPACITY)
    if capacity <= 0 or capacity % CAPACITY_STEP or capacity > MAX_CAPACITY:
        raise FrsError(errors.PARAM_FORMAT, "face_set_capacity must be a multiple of 10000, "
                       "at most 100000.")
    schema = parse_schema(get_json(payload, "external_fields", dict, form=form))
    try:
        model = engine_model_id()
    except FrsError as exc:  # models not built: the set's model stays unknown
        log.warning("face set %s created without an embedding model id: %s", name, exc.msg)
        model = ""
    info = FaceSetInfo(
        project_id=project_id, face_set_name=name, face_set_id=ids.face_set_id(),
        create_date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        face_set_capacity=capacity, external_fields=schema, face_number=0,
        embedding_model=model)
    created = get_store().create_face_set(info, max_face_sets())
    return {"face_set_info": info_json(created)}


def list_all(project_id: str) -> dict:
    return {"face_sets_info": [info_json(i) for i in get_store().list_face_sets(project_id)]}


def show(project_id: str, name: str) -> dict:
    return {"face_set_info": info_json(get_store().get_face_set(project_id, check_name(name)))}


def delete(project_id: str, name: str) -> dict:
    get_store().delete_face_set(project_id, check_name(name))
    return {"face_set_name": name}
