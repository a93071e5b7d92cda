"""States of the tree that some hardening tests depend on, as xfail
conditions: each marks a known gap strictly, and stops applying (so the
test runs normally) once the gap is closed."""
from __future__ import annotations

import pytest

from testkit.server import calibrated


def openapi_registered() -> bool:
    from app import app
    return "/openapi.json" in app.routes


NEEDS_CALIBRATION = pytest.mark.xfail(
    not calibrated(), strict=True,
    reason="models/calibration.json is absent: every similarity (search hits, compare, "
           "threshold > 0) answers 500 FRS.0018 'No similarity calibration'")

NEEDS_OPENAPI_ROUTE = pytest.mark.xfail(
    not openapi_registered(), strict=True,
    reason="app.py does not register chalicelib.api.routes.openapi yet (one line for the lead)")
