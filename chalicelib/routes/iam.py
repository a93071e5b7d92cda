"""``POST /v3/auth/tokens``: IAM password authentication scoped to a project.

Answers like Huawei IAM: 201, the token in ``X-Subject-Token``, and a body
``{"token": {...}}`` naming the project. Bad credentials answer 401 with the
same message whether the user, the password or the project was wrong.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from chalice import Blueprint, Response

from chalicelib.errors import AUTH_FAILED, PARAM_FORMAT
from chalicelib.http import request_id
from chalicelib.identity import ensure_bootstrapped, tokens
from chalicelib.identity.credentials import domain_id, get_store

log = logging.getLogger(__name__)

_TITLES = {400: "Bad Request", 401: "Unauthorized"}


def _error(status: int, message: str, code: str) -> Response:
    # IAM's error shape plus FRS's two fields, so either kind of client reads it.
    body = {"error": {"code": status, "message": message, "title": _TITLES[status]},
            "error_code": code, "error_msg": message}
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", "X-Request-Id": request_id()})


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def parse_body(raw) -> tuple[str, str, str, dict]:
    """(user name, password, domain name, project scope) or ValueError."""
    try:
        auth = json.loads(raw or b"")["auth"]
        identity = auth["identity"]
        if "password" not in identity["methods"]:
            raise ValueError("only the password method is supported")
        user = identity["password"]["user"]
        name, password = user["name"], user["password"]
        domain = user["domain"]["name"]
        project = auth["scope"]["project"]
    except (KeyError, TypeError) as e:
        raise ValueError(f"missing or malformed field {e}") from None
    if not all(isinstance(v, str) and v for v in (name, password, domain)):
        raise ValueError("user name, password and domain name must be strings")
    if not isinstance(project, dict) or not (project.get("id") or project.get("name")):
        raise ValueError("scope.project needs an id or a name")
    return name, password, domain, project


def create_token(request) -> Response:
    ensure_bootstrapped()
    try:
        name, password, domain, scope = parse_body(request.raw_body)
    except ValueError as e:
        return _error(400, f"The request body is invalid: {e}", PARAM_FORMAT)
    store = get_store()
    user = store.check_password(domain, name, password)
    if scope.get("id"):
        project = store.get_project(str(scope["id"]))
    else:
        project = store.find_project(domain, str(scope["name"]))
    if user is None or project is None or project["domain"] != domain:
        log.info("token refused for user %s/%s", domain, name)
        return _error(401, "The username or password is wrong.", AUTH_FAILED)
    token, claims = tokens.issue(store, project["id"], user["id"])
    log.info("token issued for user %s/%s on project %s", domain, name, project["id"])
    dom = {"id": domain_id(domain), "name": domain}
    body = {"token": {
        "methods": ["password"],
        "issued_at": _iso(claims["iat"]),
        "expires_at": _iso(claims["exp"]),
        "project": {"id": project["id"], "name": project["name"], "domain": dom},
        "user": {"id": user["id"], "name": user["name"], "domain": dom},
        "roles": [], "catalog": [],
    }}
    return Response(body=json.dumps(body), status_code=201,
                    headers={"X-Subject-Token": token, "Content-Type": "application/json",
                             "X-Request-Id": request_id()})


def make_blueprint() -> Blueprint:
    """A fresh blueprint: chalice consumes a blueprint's route options when it
    is registered, so each app (the service, a test app) needs its own."""
    bp = Blueprint(__name__)

    @bp.route("/v3/auth/tokens", methods=["POST"], content_types=["application/json"])
    def auth_tokens():
        return create_token(bp.current_request)

    return bp


# The service registers this one: ``app.register_blueprint(iam)``.
iam = make_blueprint()
