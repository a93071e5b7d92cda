"""POST /v2/{project_id}/face-sets/{face_set_name}/search"""
from chalice import Blueprint

from .. import search as service
from ..http import frs_route
from . import versions

search = Blueprint(__name__)


@frs_route(search, versions("/face-sets/{face_set_name}/search"), "POST")
def search_faces(ctx, face_set_name):
    return service.search(ctx.project_id, face_set_name, ctx.payload, ctx.is_form)
