"""Property tests (issue 15): every parameter parser either answers a value
or raises FrsError, for any input: text with lone surrogates and control
characters, Unicode digits, huge and non-finite numbers, deeply nested JSON.
Anything else (TypeError, OverflowError, UnicodeEncodeError, RecursionError...)
would be a 500 or a dropped connection."""
from __future__ import annotations

import json
import re
import string
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.api import http
from chalicelib.errors import FrsError
from chalicelib.identity import signature, token_service, tokens
from chalicelib.liveness import request as live
from chalicelib.query.ast import FIELD_TYPES
from chalicelib.query.parse import coerce_value, parse_filter
from chalicelib.services import fields, params
from chalicelib.services.face_sets import check_name
from chalicelib.services.search import parse_return_fields, parse_sort
from chalicelib.text import dumps, find_invalid

FAST = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Any code point, surrogates and control characters included, with lone
# surrogates and control characters drawn often (they are rare among all
# code points).
ANY_CHAR = st.one_of(st.characters(exclude_categories=()),
                     st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
                     st.characters(max_codepoint=0x1F, exclude_categories=()),
                     st.sampled_from("\x7f\x85\u2028\ufeff\u0660\u00b2\uff11"))
TEXT = st.text(ANY_CHAR, max_size=40)
DIGITS = st.sampled_from("0123456789\u0660\u0661\u06f5\u0966\uff11\u00b2\u00b9\u2460_.+-eE \t\n")
NUMBERISH = st.text(DIGITS, min_size=1, max_size=12)
WORDS = st.sampled_from(["true", "false", "nan", "inf", "-Infinity", "1e999", "TO", "*", "&&",
                         "||", "(", ")", "[", "]", "{", "}", ":", '"', "\\", "!", "asc", "desc"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10 ** 400, 10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), TEXT, NUMBERISH, WORDS)
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(TEXT, WORDS), inner, max_size=4)),
    max_leaves=20)
NAMES = st.one_of(TEXT, st.sampled_from(["n", "s", "f", "d", "b", "l", "face_id", "external_image_id",
                                         "create_time", "x\n", "a" * 37]))
SCHEMA = {"n": "integer", "l": "long", "f": "float", "d": "double", "s": "string", "b": "boolean"}


def deep(depth: int) -> str:
    """JSON text nesting objects and arrays ``depth`` deep (built as text:
    json.dumps itself recurses)."""
    opening = "".join('{"k":' if i % 2 else "[" for i in range(depth))
    closing = "".join("}" if i % 2 else "]" for i in reversed(range(depth)))
    return opening + "1" + closing


def only_frs(fn, *args, **kw):
    """Call ``fn``; an FrsError is a clean refusal, anything else fails the test."""
    try:
        return fn(*args, **kw)
    except FrsError as e:
        assert e.status < 500, e  # a client's input never causes a 5xx
        assert dumps(e.body())    # and its answer can always be encoded
        return None


# -- params.py -----------------------------------------------------------------------
@FAST
@given(value=JSONISH, form=st.booleans())
def test_params_parsers(value, form):
    payload = {"p": value}
    only_frs(params.get_str, payload, "p")
    only_frs(params.get_str, payload, "p", pattern=params.NAME_RE, max_len=36)
    got = only_frs(params.get_int, payload, "p", form=form, lo=0, hi=1000)
    assert got is None or (type(got) is int and 0 <= got <= 1000)
    got = only_frs(params.get_float, payload, "p", form=form, lo=0.0, hi=1.0)
    assert got is None or (type(got) is float and 0.0 <= got <= 1.0)
    assert only_frs(params.get_bool, payload, "p", form=form) in (None, True, False)
    for kind in (dict, list):
        got = only_frs(params.get_json, payload, "p", kind, form=form)
        assert got is None or (isinstance(got, kind) and find_invalid(got) is None)


@FAST
@given(text=st.one_of(TEXT, NUMBERISH))
def test_text_numbers_are_ascii_only(text):
    got = only_frs(params.get_int, {"p": text}, "p", form=True)
    if got is not None:
        assert re.fullmatch(r"[ \t]*[+-]?[0-9]+[ \t]*", text), text
    got = only_frs(params.get_float, {"p": text}, "p", form=True)
    if got is not None:
        assert text.strip(" \t").isascii(), text


@FAST
@given(text=st.one_of(TEXT, st.text(st.sampled_from(string.ascii_letters + "_-\n\r"), max_size=70)))
def test_names_are_full_matches(text):
    got = only_frs(check_name, text)
    if got is not None:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", got) and "\n" not in got
    got = only_frs(params.get_str, {"p": text}, "p", pattern=params.NAME_RE)
    if got is not None:
        assert "\n" not in got and got.isascii()


# -- fields.py -----------------------------------------------------------------------
@FAST
@given(raw=st.one_of(JSONISH, st.dictionaries(NAMES, st.one_of(
    st.fixed_dictionaries({"type": st.one_of(st.sampled_from(FIELD_TYPES), TEXT, JSONISH)}), JSONISH),
    max_size=12)))
def test_parse_schema(raw):
    schema = only_frs(fields.parse_schema, raw)
    if schema is not None:
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,36}", k) and t in FIELD_TYPES
                   for k, t in schema.items())


@FAST
@given(values=st.one_of(JSONISH, st.dictionaries(NAMES, SCALARS, max_size=8)))
def test_check_values(values):
    out = only_frs(fields.check_values, values, SCHEMA)
    if out:
        assert find_invalid(out) is None
        for k, v in out.items():
            if SCHEMA[k] == "float":
                assert abs(v) <= 3.4028234663852886e38
        json.dumps(out, allow_nan=False).encode("utf-8")  # storable and answerable


# -- the filter parser ---------------------------------------------------------------
FILTER_PIECES = st.one_of(WORDS, NAMES, NUMBERISH, TEXT, st.sampled_from([" ", "n:", "s:", "f:", "d:"]))


@FAST
@given(text=st.one_of(JSONISH, st.lists(FILTER_PIECES, max_size=12).map("".join)))
def test_parse_filter(text):
    only_frs(parse_filter, text, {k: v for k, v in SCHEMA.items()})


@FAST
@given(field=st.sampled_from(sorted(SCHEMA)), raw=st.one_of(TEXT, NUMBERISH, WORDS))
def test_coerce_value(field, raw):
    got = only_frs(coerce_value, field, SCHEMA[field], raw)
    if got is not None and SCHEMA[field] in ("integer", "long", "float", "double"):
        assert raw.isascii(), raw


def test_filter_nesting_is_refused_not_recursed():
    only_frs(parse_filter, "(" * 5000 + "n:1" + ")" * 5000, SCHEMA)


# -- search.py's structured parameters ----------------------------------------------------
@FAST
@given(raw=JSONISH, return_fields=st.one_of(st.none(), st.lists(NAMES, max_size=3)))
def test_sort_and_return_fields(raw, return_fields):
    if isinstance(raw, list):
        only_frs(parse_sort, raw, SCHEMA, return_fields)
        only_frs(parse_return_fields, raw, SCHEMA)


# -- the liveness request parser -----------------------------------------------------
@FAST
@given(actions=st.one_of(JSONISH, st.lists(st.one_of(NUMBERISH, st.integers()), max_size=12),
                         NUMBERISH.map(lambda s: ",".join(s))),
       action_time=st.one_of(JSONISH, st.lists(NUMBERISH, max_size=4).map(",".join),
                             st.lists(st.tuples(NUMBERISH, NUMBERISH).map("-".join),
                                      max_size=4).map(",".join)),
       nod=st.one_of(JSONISH, NUMBERISH))
def test_liveness_request(actions, action_time, nod):
    got = only_frs(live.parse, actions, action_time, nod)
    if got is not None:
        assert all(a in live.ACTIONS for a in got.actions) and 1 <= got.nod_threshold <= 90


# -- request bodies (JSON, nested JSON, multipart) ---------------------------------------
def fake_request(raw: bytes, ctype: str) -> SimpleNamespace:
    return SimpleNamespace(raw_body=raw, headers={"content-type": ctype})


@FAST
@given(value=JSONISH, depth=st.integers(0, 3000))
def test_parse_body_json(value, depth):
    for raw in (json.dumps(value).encode(), ('{"a": ' + deep(depth) + "}").encode()):
        got = only_frs(http.parse_body, fake_request(raw, "application/json"))
        if got is not None:
            assert find_invalid(got[0]) is None


@FAST
@given(raw=st.binary(max_size=200), charset=st.sampled_from(["utf-8", "utf-7", "utf-16", "latin-1",
                                                             "nonsense", "utf-32"]),
       name=st.text(st.sampled_from(string.ascii_letters + "_\"\\;"), min_size=1, max_size=8))
def test_parse_multipart(raw, charset, name):
    body = (f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + raw + b"\r\n--b--\r\n"
    got = only_frs(http.parse_body, fake_request(body, "multipart/form-data; boundary=b"))
    if got is not None:
        assert find_invalid(got[0]) is None


def test_deeply_nested_body_is_refused_cleanly():
    for raw in (b"[" * 100_000, b'{"a":' * 100_000, ("[" * 50_000 + "]" * 50_000).encode()):
        only_frs(http.parse_body, fake_request(raw, "application/json"))


# -- identity parsers ------------------------------------------------------------------
@FAST
@given(value=st.one_of(TEXT, st.text(st.sampled_from("SDK-HMAC-SHA256 Access=,SignedHeaders=;"
                                                    "Signature=0123456789abcdef\u00e9\ud800"),
                                     max_size=120)))
def test_parse_authorization(value):
    only_frs(signature.parse_authorization, value)


@FAST
@given(token=st.one_of(TEXT, st.lists(st.one_of(TEXT, st.just("ofrs1"), st.just("e30")),
                                      max_size=4).map(".".join)))
def test_token_verify(token, tmp_path_factory):
    from chalicelib.identity.credentials import SqliteCredentialStore
    store = _STORE.setdefault("s", SqliteCredentialStore(str(tmp_path_factory.mktemp("tok"))))
    with pytest.raises(FrsError):
        tokens.verify(store, token)


_STORE: dict = {}


@FAST
@given(value=JSONISH, depth=st.integers(0, 3000))
def test_token_request_body(value, depth):
    bodies = [json.dumps(value), '{"auth": ' + deep(depth) + "}",
              json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                  "name": value, "password": value, "domain": {"name": value}}}},
                  "scope": {"project": value}}})]
    for raw in bodies:
        try:
            name, password, domain, project = token_service.parse_body(raw.encode())
        except ValueError:
            continue
        assert all(isinstance(v, str) and v.encode("utf-8") for v in (name, password, domain))
        assert find_invalid(project) is None


@FAST
@given(value=JSONISH)
def test_response_encoder_never_fails(value):
    text = dumps({"v": value} if not isinstance(value, float) or value == value else {"v": 0})
    text.encode("utf-8")
