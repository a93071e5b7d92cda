"""OpenFRS: the Huawei Cloud FRS v2 API on Chalice. This file only wires routes;
each resource's routes live in chalicelib/api/routes/, their logic in chalicelib/."""
from typing import Any

from chalice import Chalice

from chalicelib import observability
from chalicelib.api.routes.apidocs import apidocs
from chalicelib.api.routes.console import console
from chalicelib.api.routes.face_compare import face_compare
from chalicelib.api.routes.face_detect import face_detect
from chalicelib.api.routes.face_sets import face_sets
from chalicelib.api.routes.faces import faces
from chalicelib.api.routes.health import health
from chalicelib.api.routes.iam import iam
from chalicelib.api.routes.live_detect import live_detect
from chalicelib.api.routes.openapi import openapi
from chalicelib.api.routes.search import search
from chalicelib.api.routes.transfer import transfer
from chalicelib.config import settings
from chalicelib.jobs import bulk_import as _bulk_import

# configure_logs=False: the "openfrs" logger is powertools' (chalicelib/observability.py).
app = Chalice(app_name="openfrs", configure_logs=False)
# Multipart uploads and raw media must reach the handlers as bytes.
app.api.binary_types.extend(["multipart/form-data", "application/octet-stream",
                             "image/*", "video/*"])

for blueprint in (iam, face_detect, face_compare, face_sets, faces, search, live_detect, transfer,
                  openapi, console, health, apidocs):
    app.register_blueprint(blueprint)

# Structured logs, EMF metrics and X-Ray traces for every route and bulk_import.
observability.register(app)

if not settings().on_lambda:
    # chalice local and tests: answer unknown routes as the deployed API Gateway does.
    from chalicelib.api import local_gateway
    local_gateway.install()


# Bulk import (beyond FRS): S3 objects under import/<face_set>/<external_image_id>.jpg
# are added to that face set; the packager wires the bucket notification.

@app.lambda_function(name="bulk_import")
def bulk_import(event: dict, context: Any) -> dict:
    return _bulk_import.handle_event(event, context)
