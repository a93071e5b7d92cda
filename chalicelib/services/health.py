"""Liveness and readiness of the service (``GET /health``, ``GET /ready``).

Readiness means a request could be served now: the face detector and the
default embedder load (the first check loads them, so a load balancer's or
bench's first ``/ready`` also warms the container; later checks find them
loaded), and the face-set store answers a query. The answer names the store
backend and the models, never a project, a face set or a count of anything.
"""
from __future__ import annotations

import re
import time
from typing import Any

from chalicelib.config import settings
from chalicelib.errors import FrsError

# A project id no client can hold (ids are hex or names without "/"): the
# store is asked for its face sets, which proves it answers and reads nothing.
PROBE_PROJECT = "openfrs/readiness-probe"


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[^\s()'\"]+)+")


def liveness() -> dict:
    return {"status": "ok"}


def _check(fn: Any) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
        ok, error = True, None
    except FrsError as exc:
        # The probe is public: file system paths in the message are left out.
        ok, detail, error = False, None, f"{exc.code}: {_PATH.sub('<path>', exc.msg)}"
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports, never raises
        # The type only: a driver's message may name hosts or paths.
        ok, detail, error = False, None, type(exc).__name__
    out: dict[str, Any] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000.0, 1)}
    if detail:
        out.update(detail)
    if error:
        out["error"] = error
    return out


def _models() -> dict:
    from chalicelib.inference.manifest import model_entry
    from chalicelib.vision import get_engine
    engine = get_engine()
    engine.detector  # noqa: B018 - loading it is the check
    rec = engine.recognizer()
    return {"detector": model_entry("detector")[1].stem, "embedder": rec.model_id}


def _store() -> dict:
    from chalicelib.store import get_store
    get_store().list_face_sets(PROBE_PROJECT)
    return {}


def readiness() -> tuple[int, dict]:
    """(200 or 503, what was checked)."""
    models, store = _check(_models), _check(_store)
    store["backend"] = settings().store
    ready = models["ok"] and store["ok"]
    return (200 if ready else 503), {"status": "ready" if ready else "not_ready",
                                     "models": models, "store": store}
