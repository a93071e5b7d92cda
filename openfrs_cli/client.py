"""The connection: the official FRS client with AK/SK or a token, and retries.

Every FRS call goes through ``huaweicloudsdkfrs.v2.FrsClient``; the OpenFRS
extension routes (export/restore) through the same client's signed
``do_http_request``, so AK/SK signing and error parsing are the SDK's own.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    ServiceResponseException,
)
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkfrs.v2 import FrsClient

T = TypeVar("T")


def token_credentials(token: str, project_id: str) -> BasicCredentials:
    """An IAM token (``X-Auth-Token``, from ``POST /v3/auth/tokens``) instead of an
    AK/SK signature. The SDK ships only signing credentials and its builder
    accepts only a ``BasicCredentials`` instance, so this is one whose signing
    step sets the token header instead."""
    creds = BasicCredentials("token", "token", project_id)

    def sign_request(request: Any) -> Any:
        if isinstance(request.body, str):
            request.body = request.body.encode("utf-8")
        request.header_params["X-Auth-Token"] = token
        request.header_params["X-Project-Id"] = project_id
        Signer.process_request_uri(request)  # the URI a signature step would build, unsigned
        return request

    creds.sign_request = sign_request
    creds.process_auth_params = lambda http_client, region_id: creds
    return creds


@dataclass(frozen=True)
class Target:
    endpoint: str
    project_id: str
    ak: str | None = None
    sk: str | None = None
    token: str | None = None
    timeout: float = 120.0
    verify_tls: bool = True

    def credentials(self) -> BasicCredentials:
        if not self.project_id:
            raise CliError("no project: give --project or OPENFRS_PROJECT_ID")
        if self.token:
            return token_credentials(self.token, self.project_id)
        if not (self.ak and self.sk):
            raise CliError("credentials missing: give --ak/--sk (OPENFRS_AK/OPENFRS_SK) or --token "
                           "(OPENFRS_TOKEN)")
        return BasicCredentials(self.ak, self.sk, self.project_id)

    def client(self) -> FrsClient:
        config = HttpConfig.get_default_config()
        config.timeout = (10, self.timeout)
        config.ignore_ssl_verification = not self.verify_tls
        # Retries are ours (below), not the SDK's, so that each one is journalled.
        return (FrsClient.new_builder().with_http_config(config)
                .with_credentials(self.credentials()).with_endpoint(self.endpoint).build())


class CliError(Exception):
    """A failure the user should read: printed without a traceback."""

    def __init__(self, msg: str, code: str = ""):
        super().__init__(msg)
        self.code = code


def describe(exc: BaseException) -> tuple[str, str]:
    """(code, message) of a failed call, FRS codes where the server gave one."""
    if isinstance(exc, ServiceResponseException):
        return str(exc.error_code or f"HTTP.{exc.status_code}"), str(exc.error_msg or "")
    if isinstance(exc, RequestTimeoutException):
        return "CLIENT.TIMEOUT", str(exc)
    if isinstance(exc, ConnectionException):
        return "CLIENT.CONNECTION", str(exc)
    return "CLIENT.ERROR", f"{type(exc).__name__}: {exc}"


def retryable(exc: BaseException) -> bool:
    """429 and 5xx answers, timeouts and refused connections (a server restarting)."""
    if isinstance(exc, ServiceResponseException):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, (ConnectionException, RequestTimeoutException))


def ambiguous(exc: BaseException) -> bool:
    """The server may have done the work anyway (no answer, or 5xx): a 429 was refused before."""
    return retryable(exc) and not (isinstance(exc, ServiceResponseException) and exc.status_code == 429)


@dataclass
class Backoff:
    attempts: int = 8
    base: float = 0.5
    cap: float = 20.0

    def delay(self, attempt: int) -> float:
        # Full jitter: workers that hit the same 429 do not come back together.
        return random.uniform(0, min(self.cap, self.base * 2 ** attempt))


def with_retries(call: Callable[[], T], backoff: Backoff,
                 before_retry: Callable[[BaseException], T | None] | None = None) -> T:
    """``call()`` again after a retryable failure, with exponential backoff.
    ``before_retry(exc)`` may answer the result instead (the work turned out done)."""
    for attempt in range(backoff.attempts):
        try:
            return call()
        except Exception as exc:  # the SDK raises several unrelated classes
            if not retryable(exc) or attempt == backoff.attempts - 1:
                raise
            time.sleep(backoff.delay(attempt))
            if before_retry is not None:
                done = before_retry(exc)
                if done is not None:
                    return done
    raise AssertionError("unreachable")


class PerThread:
    """One SDK client per worker thread (the SDK's HTTP session is not shared)."""

    def __init__(self, target: Target):
        self.target = target
        self._local = threading.local()

    def get(self) -> FrsClient:
        c = getattr(self._local, "client", None)
        if c is None:
            c = self._local.client = self.target.client()
        return c
