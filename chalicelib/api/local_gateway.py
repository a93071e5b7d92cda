"""Local twin of the API Gateway responses the deployed template configures.

Deployed, API Gateway answers a request for an unknown route itself (the
template maps its MISSING_AUTHENTICATION_TOKEN response to FRS's
``404 APIG.0101``). ``chalice local`` and ``chalice.test.Client`` emulate API
Gateway's *default* answer (403 "Missing Authentication Token"), so this module
teaches their gateway the same mapping. It is only installed outside Lambda.
"""
import json
from typing import Any

from chalicelib.api.http import request_id
from chalicelib.errors import API_NOT_FOUND, FrsError

_BODY = FrsError(API_NOT_FOUND, "The API does not exist or has not been published.").body()


def install() -> None:
    from chalice import local

    if getattr(local.LocalGateway, "_openfrs_installed", False):
        return

    class RouteNotFound(local.LocalGatewayException):
        CODE = 404

    original = local.LocalGateway.handle_request

    def handle_request(self: Any, method: str, path: str, headers: dict, body: bytes | None) -> dict:
        try:
            response = original(self, method, path, headers, body)
        except local.ForbiddenError:
            raise RouteNotFound({"Content-Type": "application/json", "X-Request-Id": request_id()},
                                json.dumps(_BODY).encode()) from None
        if response.get("statusCode") == 405:  # known path, method not routed
            response = {"statusCode": 404, "multiValueHeaders": {}, "body": json.dumps(_BODY),
                        "headers": {"Content-Type": "application/json", "X-Request-Id": request_id()}}
        return response

    # setattr: patching a class of chalice.local (no stubs to tell mypy it may be).
    setattr(local.LocalGateway, "handle_request", handle_request)  # noqa: B010
    setattr(local.LocalGateway, "_openfrs_installed", True)  # noqa: B010
