"""/v2/{project_id}/face-sets[/{face_set_name}]"""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services import face_sets as service

face_sets = Blueprint(__name__)


@frs_route(face_sets, versions("/face-sets"), "POST")
def create_face_set(ctx: RequestContext) -> dict:
    return service.create(ctx.project_id, ctx.payload, ctx.is_form)


@frs_route(face_sets, versions("/face-sets"), "GET")
def show_all_face_sets(ctx: RequestContext) -> dict:
    return service.list_all(ctx.project_id)


@frs_route(face_sets, versions("/face-sets/{face_set_name}"), "GET")
def show_face_set(ctx: RequestContext, face_set_name: str) -> dict:
    return service.show(ctx.project_id, face_set_name)


@frs_route(face_sets, versions("/face-sets/{face_set_name}"), "DELETE")
def delete_face_set(ctx: RequestContext, face_set_name: str) -> dict:
    return service.delete(ctx.project_id, face_set_name)
