"""The importer's retry rule (openfrs_cli/client.py): 429 and 5xx answers and lost
connections are retried with backoff, other FRS errors are not, and before an
ambiguous retry (the server may have done the work) the caller is asked."""
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ConnectionException, SdkError

from openfrs_cli.client import Backoff, ambiguous, retryable, with_retries

FAST = Backoff(attempts=4, base=0.001, cap=0.002)


def answer(status, code):
    return ClientRequestException(status, SdkError("req", code, "msg"))


def flaky(*failures):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"
    return call, calls


def test_429_and_5xx_are_retried_until_they_pass():
    call, calls = flaky(answer(429, "FRS.0033"), answer(500, "FRS.0018"), ConnectionException("refused"))
    assert with_retries(call, FAST) == "ok" and len(calls) == 4


def test_client_errors_are_not_retried():
    call, calls = flaky(answer(400, "FRS.0404"))
    with pytest.raises(ClientRequestException):
        with_retries(call, FAST)
    assert len(calls) == 1


def test_gives_up_after_the_last_attempt():
    call, calls = flaky(*[answer(503, "FRS.0018")] * 10)
    with pytest.raises(ClientRequestException):
        with_retries(call, FAST)
    assert len(calls) == FAST.attempts


def test_an_ambiguous_failure_asks_whether_the_work_landed():
    asked = []
    call, calls = flaky(answer(500, "FRS.0018"))
    done = with_retries(call, FAST, lambda exc: asked.append(exc) or "found")
    assert done == "found" and len(calls) == 1 and len(asked) == 1
    assert ambiguous(answer(500, "FRS.0018")) and ambiguous(ConnectionException("x"))
    assert retryable(answer(429, "FRS.0033")) and not ambiguous(answer(429, "FRS.0033"))
