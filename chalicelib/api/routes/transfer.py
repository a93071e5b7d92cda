"""/openfrs/v1/{project_id}/face-sets/{face_set_name}/export|import: a whole face
set as a file (beyond FRS, docs/transfer.md); authenticated and project-scoped
like every FRS route."""
from chalice import Blueprint, Response

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.services import transfer as service

transfer = Blueprint(__name__)
FACE_SET = "/openfrs/v1/{project_id}/face-sets/{face_set_name}"


@frs_route(transfer, FACE_SET + "/export", "GET")
def export_face_set(ctx: RequestContext, face_set_name: str) -> Response:
    # Text, not bytes: a text content type goes out as a string (Chalice, API Gateway).
    page = service.export_page(ctx.project_id, face_set_name, ctx.query).decode("utf-8")
    return Response(body=page, status_code=200, headers={"Content-Type": "application/x-ndjson"})


@frs_route(transfer, FACE_SET + "/import", "POST")
def import_face_set(ctx: RequestContext, face_set_name: str) -> dict:
    raw = ctx.request.raw_body or b""  # the file itself, not a JSON body: parse_body is not used
    return service.restore(ctx.project_id, face_set_name, raw if isinstance(raw, bytes) else raw.encode())
