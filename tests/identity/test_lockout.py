"""Issue 15, defect 4: password guessing on POST /v3/auth/tokens is locked
out per user and per source address (chalicelib/identity/lockout.py)."""
from __future__ import annotations

import json
import statistics
import threading
import time

import boto3
import pytest
from identity_helpers import token_body
from moto import mock_aws

from chalicelib.identity import lockout, ratelimit


@pytest.fixture
def alice(store, proj):
    store.set_user("alice", "s3cret-pw", "acme")
    store.set_user("mallory", "mallory-pw", "acme")
    return proj


def login(client, **kw):
    return client.http.post("/v3/auth/tokens", headers={"Content-Type": "application/json"},
                            body=token_body(**kw))


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, alice):
    answers = [login(client, password=f"guess-{i}").status_code for i in range(30)]
    assert answers == [401] * 10 + [429] * 20
    r = login(client)  # the right password, while locked
    assert r.status_code == 429 and "X-Subject-Token" not in r.headers
    body = json.loads(r.body)
    assert body["error"]["code"] == 429 and body["error"]["title"] == "Too Many Requests"
    assert body["error_code"] == "APIG.0308" and r.headers["X-Request-Id"]
    assert 1 <= int(r.headers["Retry-After"]) <= 1800


def test_unknown_users_are_locked_like_known_ones(client, alice, monkeypatch):
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES_PER_SOURCE", "0")
    known = [login(client, password="bad").status_code for _ in range(11)]
    unknown = [login(client, user="nobody", password="bad").status_code for _ in range(11)]
    assert known == unknown == [401] * 10 + [429]


def test_per_source_limit_covers_every_user_name(client, alice, monkeypatch):
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES", "0")  # only the per-source counter
    answers = [login(client, user=f"user{i}", password="bad").status_code for i in range(12)]
    assert answers == [401] * 10 + [429] * 2
    assert login(client).status_code == 429  # alice, right password, same address


def test_a_successful_login_does_not_reset_the_source_counter(client, alice, monkeypatch):
    """An attacker's own valid account cannot clear the failures it made."""
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES", "0")
    statuses = []
    for i in range(20):
        statuses.append(login(client, password=f"guess-{i}").status_code)   # on alice
        statuses.append(login(client, user="mallory", password="mallory-pw").status_code)
    assert statuses.count(401) == 10, statuses
    # After the 10th failure the address is locked, valid account included.
    assert statuses[:19] == [401, 201] * 9 + [401] and set(statuses[19:]) == {429}


def test_successes_alone_never_lock(client, alice):
    assert [login(client).status_code for _ in range(15)] == [201] * 15


def test_limits_are_configurable_and_can_be_turned_off(client, alice, monkeypatch):
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES", "3")
    assert [login(client, password="x").status_code for _ in range(4)] == [401, 401, 401, 429]
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES", "0")
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES_PER_SOURCE", "0")
    assert {login(client, password="x").status_code for _ in range(15)} == {401}
    assert login(client).status_code == 201


def test_parallel_guesses_cannot_pass_the_check_together(client, alice):
    out: list[int] = []
    lock = threading.Lock()

    def guess(i):
        status = login(client, password=f"p{i}").status_code
        with lock:
            out.append(status)
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out.count(401) <= 10 and out.count(401) + out.count(429) == 24


def test_lockout_window_ages_out(monkeypatch):
    monkeypatch.setenv("FRS_RATELIMIT_BACKEND", "memory")
    ratelimit.reset_counter()
    t0 = 900 * 1000 + 450.0  # the middle of a window
    for _ in range(10):
        lockout.begin("u", "1.2.3.4", now=t0)          # ten failures (never given back)
    with pytest.raises(lockout.LockedOut) as e:
        lockout.begin("u", "5.6.7.8", now=t0 + 1)
    assert e.value.retry_after == 900 + 450 - 1       # until the next window ends
    with pytest.raises(lockout.LockedOut):
        lockout.begin("u", "5.6.7.8", now=t0 + 900)    # the next window still sees them
    lockout.begin("u", "5.6.7.8", now=t0 + 1800).succeeded()  # aged out


def test_no_span_of_one_window_sees_more_than_the_limit(monkeypatch):
    """Nine failures at the end of a window, then the next window: one more."""
    monkeypatch.setenv("FRS_RATELIMIT_BACKEND", "memory")
    ratelimit.reset_counter()
    end = 900 * 2000 - 1.0
    for _ in range(9):
        lockout.begin("u", "", now=end)
    lockout.begin("u", "", now=end + 2)                # the 10th, in the next window
    with pytest.raises(lockout.LockedOut):
        lockout.begin("u", "", now=end + 3)


def test_dynamodb_counters(monkeypatch, client, alice):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="rl", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST")
        monkeypatch.setenv("FRS_RATELIMIT_BACKEND", "dynamodb")
        monkeypatch.setenv("FRS_RATELIMIT_TABLE", "rl")
        ratelimit.reset_counter()
        assert isinstance(ratelimit.get_counter(), ratelimit.DynamoCounter)
        assert login(client).status_code == 201
        assert [login(client, password="x").status_code for _ in range(11)] == [401] * 10 + [429]
        assert login(client).status_code == 429
        c = ratelimit.get_counter()
        assert c.get("missing") == 0 and c.add("k", 2, 60) == 2 and c.add("k", -1, 60) == 1
        ratelimit.reset_counter()


def test_sqlite_and_memory_counters_add_and_get(tmp_path):
    for c in (ratelimit.SqliteCounter(str(tmp_path)), ratelimit.MemoryCounter()):
        assert c.get("k") == 0
        assert [c.add("k", 1, 60), c.add("k", 1, 60), c.add("k", -1, 60)] == [1, 2, 1]
        assert c.get("k") == 1 and c.incr("k", 60) == 2


def test_timing_is_flat_between_unknown_users_and_wrong_passwords(client, alice, monkeypatch):
    """Both run one scrypt and the same counter work (today ~55 ms each)."""
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES", "1000")
    monkeypatch.setenv("FRS_LOGIN_MAX_FAILURES_PER_SOURCE", "1000")
    login(client, password="warm-up")
    known, unknown = [], []
    for i in range(9):
        for user, sink in (("alice", known), (f"nobody{i}", unknown)):
            t = time.perf_counter()
            assert login(client, user=user, password="wrong").status_code == 401
            sink.append(time.perf_counter() - t)
    a, b = statistics.median(known), statistics.median(unknown)
    assert abs(a - b) < 0.35 * max(a, b), (a, b)
