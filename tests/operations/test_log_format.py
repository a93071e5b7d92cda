"""The two renderings of a log record: one JSON object per line (Lambda), and
the same keys on one readable line (local), a traceback on its own lines."""
from __future__ import annotations

import json
import logging

from chalicelib import observability


def record(msg="request", exc=None, **extra):
    rec = logging.LogRecord("openfrs", logging.INFO, __file__, 10, msg, (), exc)
    rec.__dict__.update(extra)
    return rec


FIELDS = {"request_id": "r-1", "route": "POST /v2/{project_id}/face-detect", "project_id": "p1",
          "status": 400, "error_code": "FRS.0014", "latency_ms": 1.5}


def test_json_line_has_the_keys():
    line = observability._formatter("json").format(record(**FIELDS))
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["message"] == "request" and doc["level"] == "INFO"
    assert {k: doc[k] for k in FIELDS} == FIELDS


def test_text_line_has_the_same_keys_readably():
    line = observability._formatter("text").format(record(**FIELDS))
    assert "\n" not in line and not line.startswith("{")
    assert " INFO request " in line
    assert 'route="POST /v2/{project_id}/face-detect"' in line  # values with spaces are quoted
    for k in ("request_id=r-1", "project_id=p1", "status=400", "error_code=FRS.0014", "latency_ms=1.5"):
        assert k in line


def test_text_traceback_on_its_own_lines():
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        import sys
        rec = record("failed", exc=sys.exc_info())
    text = observability._formatter("text").format(rec)
    first, rest = text.split("\n", 1)
    assert "failed" in first and "exception_name=ZeroDivisionError" in first and "stack_trace" not in first
    assert rest.startswith("Traceback") and "ZeroDivisionError: division by zero" in rest
