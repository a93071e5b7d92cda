"""POST /v2/{project_id}/face-detect"""
from chalice import Blueprint

from .. import detection
from ..http import frs_route
from . import versions

face_detect = Blueprint(__name__)


@frs_route(face_detect, versions("/face-detect"), "POST")
def detect_faces(ctx):
    return detection.detect(ctx.payload)
