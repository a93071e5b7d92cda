"""/v2/{project_id}/face-sets/{face_set_name}/faces[/batch]"""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services import faces as service

faces = Blueprint(__name__)
FACES = "/face-sets/{face_set_name}/faces"


@frs_route(faces, versions(FACES), "POST")
def add_faces(ctx: RequestContext, face_set_name: str) -> dict:
    return service.add(ctx.project_id, face_set_name, ctx.payload, ctx.is_form)


@frs_route(faces, versions(FACES), "GET")
def show_faces(ctx: RequestContext, face_set_name: str) -> dict:
    return service.query(ctx.project_id, face_set_name, ctx.query)


@frs_route(faces, versions(FACES), "PUT")
def update_face(ctx: RequestContext, face_set_name: str) -> dict:
    return service.update(ctx.project_id, face_set_name, ctx.payload)


@frs_route(faces, versions(FACES), "DELETE")
def delete_faces(ctx: RequestContext, face_set_name: str) -> dict:
    return service.delete_by_field(ctx.project_id, face_set_name, ctx.query)


@frs_route(faces, versions(FACES + "/batch"), "DELETE")
def batch_delete_faces(ctx: RequestContext, face_set_name: str) -> dict:
    return service.delete_batch(ctx.project_id, face_set_name, ctx.payload)
