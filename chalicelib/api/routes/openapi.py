"""``GET /openapi.json``: the OpenAPI 3.1 description of the service.

``chalicelib/api/openapi.json`` is the single source (tests check it against the
app's routes). Operations marked ``x-openfrs-pending`` are described ahead of
their routes and are left out of what is served, so clients and fuzzers only
see what answers. No authentication: the description holds no data.
"""
from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

from chalice import Blueprint, Response

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.json"
PENDING = "x-openfrs-pending"

openapi = Blueprint(__name__)


def load_spec() -> dict:
    """The whole document as written, pending operations included."""
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def served_spec(spec: dict | None = None) -> dict:
    """The document without pending operations (and without paths left empty)."""
    doc = copy.deepcopy(spec if spec is not None else load_spec())
    for path in list(doc["paths"]):
        ops = doc["paths"][path]
        for method in [m for m, op in ops.items() if isinstance(op, dict) and op.get(PENDING)]:
            del ops[method]
        if not ops:
            del doc["paths"][path]
    return doc


@functools.lru_cache(maxsize=1)
def _served_body() -> str:
    return json.dumps(served_spec(), ensure_ascii=False)


@openapi.route("/openapi.json", methods=["GET"])
def get_openapi() -> Response:
    return Response(body=_served_body(), status_code=200,
                    headers={"Content-Type": "application/json",
                             "Cache-Control": "public, max-age=300"})
