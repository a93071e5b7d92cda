"""Schemathesis against a live server, shared by the short run in the test
suite and the long run (``bench/fuzz.py``, ``make fuzz``).

Every served operation of ``chalicelib/api/openapi.json`` is fuzzed in positive
and negative mode; each response must be no 5xx and must conform to the
document (status code, content type, headers, body schema, which includes the
per-operation ``error_code`` enums). Failures are collected, not raised, so a
run reports them all with the number of requests sent.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import requests

from chalicelib.api.routes.openapi import served_spec

# Names the fuzzer uses for {face_set_name}: one that exists (created by the
# caller with typed fields) and one that does not.
FUZZ_SET = "fuzz"
MISSING_SET = "fuzz-missing"
FUZZ_FIELDS = {"n": {"type": "integer"}, "s": {"type": "string"}, "b": {"type": "boolean"}}


@dataclass
class FuzzResult:
    requests: int = 0
    by_status: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # (operation, check message, curl)
    operations: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"requests": self.requests, "failures": len(self.failures),
                "operations": len(self.operations),
                "by_status": {str(k): v for k, v in self.by_status.items()},
                "seconds": round(self.seconds, 1)}


def fuzz_document(project_id: str) -> dict:
    """The served document with the path parameters pinned to the project under
    test and to two face-set names, so requests reach the handlers instead of
    being refused as another project's."""
    doc = copy.deepcopy(served_spec())
    params = doc["components"]["parameters"]
    params["project_id"]["schema"] = {"type": "string", "enum": [project_id]}
    params["face_set_name"]["schema"] = {"type": "string", "enum": [FUZZ_SET, MISSING_SET]}
    return doc


def prepare(base_url: str, project_id: str, headers: dict) -> None:
    """(Re)create the fuzz face set, so delete operations find one to delete."""
    url = f"{base_url}/v2/{project_id}/face-sets"
    r = requests.post(url, json={"face_set_name": FUZZ_SET, "face_set_capacity": 10000,
                                 "external_fields": FUZZ_FIELDS}, headers=headers, timeout=30)
    if r.status_code != 200 and (r.json() or {}).get("error_code") != "FRS.0301":
        raise RuntimeError(f"cannot create the fuzz face set: {r.status_code} {r.text}")


# Header values no OpenAPI schema generates: Latin-1 text, UTF-8 bytes sent
# raw (a str of their Latin-1 decoding goes on the wire byte for byte),
# controls and a lone surrogate's UTF-8-style encoding. They ride beside
# the real credentials on every third request, on headers the service reads
# or passes through, so the run checks that none of them turns into a 5xx or
# a dropped connection (issue 15).
_HOSTILE_VALUES = ["caf\u00e9", "\u00ff\u00fe\u0080", "\u4eba\u8138".encode().decode("latin-1"),
                   "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "a\tb\x7f"]
_HOSTILE_NAMES = ["X-Request-Id", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Accept-Language",
                  "X-Project-Id", "User-Agent"]


def hostile_headers(n: int) -> dict:
    if n % 3:
        return {}
    value = _HOSTILE_VALUES[(n // 3) % len(_HOSTILE_VALUES)]
    name = _HOSTILE_NAMES[(n // 3) % len(_HOSTILE_NAMES)]
    return {name: value}


def run(base_url: str, project_id: str, headers: dict, max_examples: int,
        deadline_s: float, modes=("positive", "negative"), seed: int | None = None,
        timeout_s: float = 30, on_hang=None) -> FuzzResult:
    import tempfile

    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation.modes import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # Keep hypothesis's working files out of the repository (chalice local
    # and git both see that directory).
    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="frs-hypothesis-"))
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_headers_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_dict(fuzz_document(project_id))
    # Credentials come from `headers`; generated security headers would only
    # test the refusal path (covered by the identity suite).
    schema.config.generation.update(with_security_parameters=False)
    result = FuzzResult()
    started = time.monotonic()
    stop_at = started + deadline_s
    prepare(base_url, project_id, headers)

    def one_mode(op, tag: str, strategy):
        """The hypothesis test for one operation in one generation mode."""
        @settings(max_examples=max_examples, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=seed is not None)
        @given(case=strategy)
        def one(case):
            if time.monotonic() > stop_at:
                return
            result.requests += 1
            sent = {**headers, **hostile_headers(result.requests)}
            try:
                resp = case.call(base_url=base_url, headers=sent,
                                 timeout=timeout_s)
            except requests.RequestException as exc:  # a hang or a dead server
                result.by_status["no response"] = result.by_status.get("no response", 0) + 1
                result.failures.append((tag, f"no response: {exc!r}"[:600],
                                        case.as_curl_command(headers=sent)[:3000]))
                if on_hang is not None:
                    on_hang()
                return
            result.by_status[resp.status_code] = result.by_status.get(resp.status_code, 0) + 1
            try:
                case.validate_response(resp, checks=checks, headers=sent)
            except (Exception, BaseExceptionGroup) as exc:  # FailureGroup: keep all, go on
                result.failures.append((tag, str(exc)[:1500],
                                        case.as_curl_command(headers=sent)[:800]))
            if op.method.upper() == "DELETE" and resp.status_code == 200:
                prepare(base_url, project_id, headers)
        return one

    for op_result in schema.get_all_operations():
        op = op_result.ok()
        label = f"{op.method.upper()} {op.path}"
        result.operations.append(label)
        for mode in modes:
            if time.monotonic() > stop_at:
                break
            strategy = op.as_strategy(generation_mode=GenerationMode(mode))
            try:
                one_mode(op, f"{label} [{mode}]", strategy)()
            except hypothesis.errors.Unsatisfiable:
                pass  # a mode with nothing to generate (e.g. negative of an empty body)
    result.seconds = time.monotonic() - started
    return result

