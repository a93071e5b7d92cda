"""``GET /health`` (liveness) and ``GET /ready`` (readiness): no
authentication, no project data (chalicelib/services/health.py). Used by
``make serve``'s banner and the load bench; a load balancer or an uptime
check can poll them."""
from chalice import Blueprint, Response

from chalicelib.api.http import RequestContext, frs_route, json_response
from chalicelib.services import health as service

health = Blueprint(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@frs_route(health, "/health", "GET", auth=False)
def get_health(ctx: RequestContext) -> Response:
    return json_response(service.liveness(), 200, NO_STORE)


@frs_route(health, "/ready", "GET", auth=False)
def get_ready(ctx: RequestContext) -> Response:
    status, body = service.readiness()
    return json_response(body, status, NO_STORE)
