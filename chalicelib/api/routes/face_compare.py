"""POST /v2/{project_id}/face-compare"""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services import detection

face_compare = Blueprint(__name__)


@frs_route(face_compare, versions("/face-compare"), "POST")
def compare_faces(ctx: RequestContext) -> dict:
    return detection.compare(ctx.payload)
