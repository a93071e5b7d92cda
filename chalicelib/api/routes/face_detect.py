"""POST /v2/{project_id}/face-detect"""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services import detection

face_detect = Blueprint(__name__)


@frs_route(face_detect, versions("/face-detect"), "POST")
def detect_faces(ctx: RequestContext) -> dict:
    return detection.detect(ctx.payload)
