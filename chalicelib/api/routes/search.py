"""POST /v2/{project_id}/face-sets/{face_set_name}/search"""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services import search as service

search = Blueprint(__name__)


@frs_route(search, versions("/face-sets/{face_set_name}/search"), "POST")
def search_faces(ctx: RequestContext, face_set_name: str) -> dict:
    return service.search(ctx.project_id, face_set_name, ctx.payload, ctx.is_form)
