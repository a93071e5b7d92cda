"""OpenFRS: the Huawei Cloud FRS v2 API on Chalice. This file only wires routes;
each resource's routes live in chalicelib/routes/, their logic in chalicelib/."""
import os

from chalice import Chalice

from chalicelib import bulk_import as _bulk_import
from chalicelib.routes.face_compare import face_compare
from chalicelib.routes.face_detect import face_detect
from chalicelib.routes.face_sets import face_sets
from chalicelib.routes.faces import faces
from chalicelib.routes.iam import iam
from chalicelib.routes.live_detect import live_detect
from chalicelib.routes.openapi import openapi
from chalicelib.routes.search import search

app = Chalice(app_name="openfrs")
# Multipart uploads and raw media must reach the handlers as bytes.
app.api.binary_types.extend(["multipart/form-data", "application/octet-stream",
                             "image/*", "video/*"])

for blueprint in (iam, face_detect, face_compare, face_sets, faces, search, live_detect, openapi):
    app.register_blueprint(blueprint)

if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
    # chalice local and tests: answer unknown routes as the deployed API Gateway does.
    from chalicelib import local_gateway
    local_gateway.install()


# Bulk import (beyond FRS): S3 objects under import/<face_set>/<external_image_id>.jpg
# are added to that face set; the packager wires the bucket notification.

@app.lambda_function(name="bulk_import")
def bulk_import(event, context):
    return _bulk_import.handle_event(event, context)
