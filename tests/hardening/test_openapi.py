"""chalicelib/api/openapi.json against the app itself, so the description cannot
drift: same routes and methods, every error code it lists is a real code with
the status the service gives it, and GET /openapi.json serves it."""
from __future__ import annotations

import re

import pytest

from chalicelib import errors
from chalicelib.api.routes.openapi import PENDING, load_spec, served_spec
from tests.hardening.conditions import NEEDS_OPENAPI_ROUTE

METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}


def spec_operations(doc) -> set[tuple[str, str]]:
    return {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops if m in METHODS}


def app_operations() -> set[tuple[str, str]]:
    from app import app
    return {(path, m) for path, entries in app.routes.items() for m in entries}


def pending_operations(doc) -> set[tuple[str, str]]:
    return {(path, m.upper()) for path, ops in doc["paths"].items()
            for m, op in ops.items() if m in METHODS and op.get(PENDING)}


@NEEDS_OPENAPI_ROUTE
def test_spec_describes_exactly_the_app_routes():
    doc = load_spec()
    served = spec_operations(served_spec(doc))
    routes = app_operations()
    if ("/openapi.json", "GET") not in routes:
        pytest.fail("app.py does not register the openapi blueprint: add "
                    "`from chalicelib.api.routes.openapi import openapi` and register it")
    assert routes - served == set(), "routes missing from chalicelib/api/openapi.json"
    assert served - routes == set(), "chalicelib/api/openapi.json describes routes the app lacks"


def test_pending_operations_are_not_routed_yet():
    """An operation described ahead of its route is marked x-openfrs-pending;
    once the route lands the marker must go (then the test above checks it)."""
    landed = pending_operations(load_spec()) & app_operations()
    assert not landed, f"routes exist now: remove {PENDING} from {sorted(landed)}"


def test_every_v2_operation_has_its_v1_alias():
    doc = load_spec()
    ops = spec_operations(doc)
    v2 = {(p[len("/v2"):], m) for p, m in ops if p.startswith("/v2/")}
    v1 = {(p[len("/v1"):], m) for p, m in ops if p.startswith("/v1/")}
    assert v2 == v1


def test_operation_ids_are_unique_and_path_parameters_declared():
    doc = load_spec()
    ids = []
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            ids.append(op["operationId"])
            declared = set()
            for p in op.get("parameters", []):
                if "$ref" in p:
                    p = doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
                if p["in"] == "path":
                    declared.add(p["name"])
            assert declared == names, (path, method)
    assert len(ids) == len(set(ids))


def _error_codes(response) -> list[str]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("properties", {}).get("error_code", {}).get("enum", [])


def test_every_error_code_is_real_and_under_its_status():
    known = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)
             and re.fullmatch(r"(FRS|APIG)\.\d{4}", v)}
    doc = load_spec()
    seen = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, resp in op["responses"].items():
                for code in _error_codes(resp):
                    assert code in known, (path, method, code)
                    assert errors.FrsError(code, "").status == int(status), (path, method, code)
                    seen.add(code)
    # Every code the service defines is documented on some operation, except
    # the ones nothing raises yet (checked below so the list stays honest).
    never_raised = {"FRS.0010", "FRS.0035", "FRS.0036", "APIG.0201"}
    assert known - seen == never_raised


def test_codes_listed_as_never_raised_are_not_raised():
    import pathlib
    src = "".join(p.read_text() for p in pathlib.Path("chalicelib").rglob("*.py")
                  if p.name != "errors.py")
    for name in ("HEADER_MISSING", "URL_INVALID", "URL_GET_FAILED", "PAYLOAD_TOO_LARGE"):
        assert re.search(rf"\b{name}\b", src) is None, name


def test_frs_operations_document_auth_and_gateway_errors():
    doc = load_spec()
    for path, ops in doc["paths"].items():
        if not path.startswith(("/v1/", "/v2/")):
            continue
        for method, op in ops.items():
            r = op["responses"]
            assert {"400", "401", "403", "404", "500"} <= set(r), (path, method)
            assert _error_codes(r["401"]) == ["APIG.0301"]
            assert {"FRS.0002", "FRS.0028"} <= set(_error_codes(r["403"]))
            assert "FRS.0033" in _error_codes(r["400"])
            assert op.get("security") is None  # the global token / AK-SK requirement


def test_security_schemes():
    doc = load_spec()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["token"] == {**schemes["token"], "type": "apiKey", "in": "header",
                                "name": "X-Auth-Token"}
    assert schemes["aksk"]["name"] == "Authorization" and "SDK-HMAC-SHA256" in \
        schemes["aksk"]["description"]
    assert doc["security"] == [{"token": []}, {"aksk": []}]
    assert doc["paths"]["/v3/auth/tokens"]["post"]["security"] == []


def test_request_bodies_offer_json_and_multipart_where_files_are_taken():
    doc = load_spec()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            js = content.get("application/json", {}).get("schema", {}).get("properties", {})
            media = sorted(k[:-len("_base64")] for k in js if k.endswith("_base64"))
            if not media:
                continue
            form = content["multipart/form-data"]["schema"]["properties"]
            files = sorted(k[:-len("_file")] for k, v in form.items() if v.get("format") == "binary")
            assert files == media, (path, method)


def test_document_loads_in_schemathesis():
    st = pytest.importorskip("schemathesis")
    schema = st.openapi.from_dict(served_spec())
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) == len(spec_operations(served_spec()))


@NEEDS_OPENAPI_ROUTE
def test_openapi_json_is_served_without_credentials(monkeypatch):
    """The real app (authentication on) serves the served document."""
    from chalice.test import Client

    from app import app
    if ("/openapi.json", "GET") not in app_operations():
        pytest.fail("app.py does not register the openapi blueprint")
    monkeypatch.setenv("FRS_AUTH", "iam")
    with Client(app) as c:
        r = c.http.get("/openapi.json")
    assert r.status_code == 200
    assert r.json_body == served_spec()
    assert r.json_body["openapi"].startswith("3.1")
