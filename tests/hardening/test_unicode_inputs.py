"""Issue 15, defects 5-8: text that is not valid Unicode, names with a
trailing newline, non-ASCII digits and out-of-range floats are refused with
FRS errors before anything is written; a response can always be encoded."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.api.helpers import b64, err, post_form, post_json
from tests.conftest import still

P = "/v2/uni"
FIELDS = {"s": {"type": "string"}, "n": {"type": "integer"}, "f": {"type": "float"},
          "d": {"type": "double"}}


def make_set(client, name="lib", **extra):
    return post_json(client, f"{P}/face-sets", {"face_set_name": name, "external_fields": FIELDS,
                                                **extra})


def raw_post(client, path, text):
    """A JSON body as given (json.dumps escapes a lone surrogate as \\ud800)."""
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=text)


def set_names(client):
    return [s["face_set_name"] for s in client.http.get(f"{P}/face-sets").json_body["face_sets_info"]]


# -- 5. lone surrogates ----------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"face_set_name": "a\ud800"},
    {"face_set_name": "ok", "external_fields": {"x\udfff": {"type": "string"}}},
    {"face_set_name": "ok", "external_fields": {"x": {"type": "str\ud800ing"}}},
    {"face_set_name": "ok", "face_set_capacity": "1\udc00"},
    {"face_set_name": "ok", "junk": ["fine", {"deep": "\ud83d"}]},
])
def test_surrogates_in_create_are_frs0406(client, body):
    assert err(raw_post(client, f"{P}/face-sets", json.dumps(body))) == (400, "FRS.0406")
    assert set_names(client) == []


def test_surrogates_in_a_form_and_in_form_json_are_frs0406(client):
    # UTF-7 lets a text part decode to a lone surrogate; JSON text inside a part too.
    body = (b"--b\r\nContent-Disposition: form-data; name=\"face_set_name\"\r\n"
            b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2AA-\r\n--b--\r\n")
    r = client.http.post(f"{P}/face-sets", headers={"Content-Type": "multipart/form-data; boundary=b"},
                         body=body)
    assert err(r) == (400, "FRS.0406")
    r = post_form(client, f"{P}/face-sets", {"face_set_name": "ok",
                                             "external_fields": '{"a\\ud800": {"type": "string"}}'})
    assert err(r) == (400, "FRS.0406")
    assert set_names(client) == []


@pytest.fixture
def lib(client):
    assert make_set(client).status_code == 200
    return client


@pytest.mark.parametrize("text", [
    '{"filter": "s:\\ud800"}', '{"filter": "s:ok", "face_id": "\\udc00"}',
    '{"filter": "s:\\"a\\udfffb\\""}', '{"return_fields": ["s\\ud800"]}',
    '{"sort": [{"n\\ud800": "asc"}]}'])
def test_surrogates_in_search_are_frs0406(lib, text):
    assert err(raw_post(lib, f"{P}/face-sets/lib/search", text)) == (400, "FRS.0406")


def test_surrogates_in_batch_delete_and_update_are_frs0406(lib):
    r = lib.http.delete(f"{P}/face-sets/lib/faces/batch", headers={"Content-Type": "application/json"},
                        body='{"filter": "s:\\ud800"}')
    assert err(r) == (400, "FRS.0406")
    r = lib.http.put(f"{P}/face-sets/lib/faces", headers={"Content-Type": "application/json"},
                     body='{"face_id": "abc", "external_fields": {"s": "\\ud800"}}')
    assert err(r) == (400, "FRS.0406")


def test_a_face_with_a_surrogate_field_cannot_be_stored(lib, needs_models):
    photo = b64(still("obama.jpg"))
    for fields in ('{"s": "a\\ud800"}', '{"s\\udc00": "x"}'):
        r = raw_post(lib, f"{P}/face-sets/lib/faces",
                     f'{{"image_base64": "{photo}", "external_fields": {fields}}}')
        assert err(r) == (400, "FRS.0406")
    r = raw_post(lib, f"{P}/face-sets/lib/faces",
                 f'{{"image_base64": "{photo}", "external_image_id": "id\\ud800"}}')
    assert err(r) == (400, "FRS.0406")
    assert lib.http.get(f"{P}/face-sets/lib").json_body["face_set_info"]["face_number"] == 0
    # The same add with valid text is stored (the refusals were about the text).
    r = raw_post(lib, f"{P}/face-sets/lib/faces",
                 f'{{"image_base64": "{photo}", "external_fields": {{"s": "caf\\u00e9 \\ud83d\\ude00"}}}}')
    assert r.status_code == 200, r.json_body
    assert r.json_body["faces"][0]["external_fields"]["s"] == "caf\u00e9 \U0001f600"


def test_faces_stored_before_the_check_never_break_list_or_search(lib, needs_models):
    """A face poisoned by an older version: every answer still encodes."""
    from chalicelib.store import get_store
    from chalicelib.store.base import FaceRecord
    v = np.zeros(get_store_dim(), np.float32)
    v[0] = 1
    get_store().add_faces("uni", "lib", [FaceRecord("AbCdEfGh", "img", {
        "top_left_x": 0, "top_left_y": 0, "width": 1, "height": 1}, {"s": "bad\ud800"}, v)])
    r = lib.http.get(f"{P}/face-sets/lib/faces?offset=0&limit=5")
    assert r.status_code == 200
    face = json.loads(r.body.decode("utf-8"))["faces"][0]
    assert face["external_fields"]["s"] == "bad\ud800"   # written as \\ud800: valid JSON
    r = raw_post(lib, f"{P}/face-sets/lib/search", '{"face_id": "AbCdEfGh"}')
    assert r.status_code == 200, r.body
    json.loads(r.body.decode("utf-8"))
    r = lib.http.get(f"{P}/face-sets/lib/faces?face_id=AbCdEfGh")
    assert r.status_code == 200


def get_store_dim():
    from chalicelib.services.detection import engine
    return engine().recognizer("").dim if hasattr(engine().recognizer(""), "dim") else 128


def test_surrogate_in_query_and_path_is_frs0406(lib):
    r = lib.http.get(f"{P}/face-sets/lib/faces?face_id=%ED%A0%80")   # UTF-8 of U+D800: invalid
    assert r.status_code == 400 and r.json_body["error_code"] in ("FRS.0403", "FRS.0406")


# -- 6. full matches -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["x\n", "x\r\n", "lib\n"])
def test_face_set_name_with_trailing_newline_is_refused(client, name):
    assert err(make_set(client, name)) == (400, "FRS.0012")
    assert set_names(client) == []


def test_external_field_name_with_trailing_newline_is_refused(client):
    r = post_json(client, f"{P}/face-sets", {"face_set_name": "a",
                                             "external_fields": {"age\n": {"type": "integer"}}})
    assert err(r) == (400, "FRS.0012")


def test_external_image_id_with_trailing_newline_is_refused(lib, needs_models):
    r = post_json(lib, f"{P}/face-sets/lib/faces", {"image_base64": b64(still("obama.jpg")),
                                                    "external_image_id": "abc\n"})
    assert err(r) == (400, "FRS.0012")
    assert lib.http.get(f"{P}/face-sets/lib").json_body["face_set_info"]["face_number"] == 0


# -- 7. ASCII digits only --------------------------------------------------------------
@pytest.mark.parametrize("cap", ["\u0664\u0660\u0660\u0660\u0660", "\uff11\uff10\uff10\uff10\uff10",
                                 "\u00b2", "1_0000", "\u0661\u0660\u0660\u0660\u0660"])
def test_capacity_with_non_ascii_digits_is_refused(client, cap):
    assert err(make_set(client, face_set_capacity=cap)) == (400, "FRS.0012")
    assert err(post_form(client, f"{P}/face-sets", {"face_set_name": "f",
                                                    "face_set_capacity": cap})) == (400, "FRS.0012")
    assert set_names(client) == []


@pytest.mark.parametrize("field,value", [("top_n", "\u0661\u0660"), ("top_n", "\u00b2"),
                                         ("threshold", "\u0660.\u0665"), ("threshold", "0_5"),
                                         ("top_n", "1_0")])
def test_multipart_numbers_with_non_ascii_digits_are_refused(lib, field, value):
    r = post_form(lib, f"{P}/face-sets/lib/search", {"face_id": "abc", field: value})
    assert err(r) == (400, "FRS.0012")


@pytest.mark.parametrize("query", ["offset=\u0661&limit=5", "offset=0&limit=\u00b2"])
def test_query_numbers_with_non_ascii_digits_are_refused(lib, query):
    assert err(lib.http.get(f"{P}/face-sets/lib/faces?{query}")) == (400, "FRS.0012")


@pytest.mark.parametrize("flt", ["n:\u0661\u0662", "n:1_2", "f:[\u0661 TO 2]", "d:\u0661.5"])
def test_filter_numbers_with_non_ascii_digits_are_refused(lib, flt):
    assert err(post_json(lib, f"{P}/face-sets/lib/search", {"face_id": "x", "filter": flt})) == \
        (400, "FRS.0029")


def test_detect_attributes_with_superscript_digits_are_refused(client):
    r = post_json(client, f"{P}/face-detect", {"image_base64": "AAAA", "attributes": "\u00b2"})
    assert err(r) == (400, "FRS.0012")


# -- 8. declared ranges ----------------------------------------------------------------
@pytest.mark.parametrize("fields", [{"f": 3.5e38}, {"f": -3.5e38}, {"f": 10 ** 39}, {"d": 10 ** 400},
                                    {"n": 2 ** 31}])
def test_out_of_range_values_are_frs0406(lib, fields):
    r = lib.http.put(f"{P}/face-sets/lib/faces", headers={"Content-Type": "application/json"},
                     body=json.dumps({"face_id": "abc", "external_fields": fields}))
    assert err(r) == (400, "FRS.0406")


def test_float_field_at_the_float32_limit_is_accepted():
    from chalicelib.services.fields import check_values
    assert check_values({"f": 3.4028234e38}, {"f": "float"}) == {"f": 3.4028234e38}
    assert check_values({"d": 3.5e38}, {"d": "double"}) == {"d": 3.5e38}


def test_filter_on_a_float_field_beyond_float32_is_refused(lib):
    r = post_json(lib, f"{P}/face-sets/lib/search", {"face_id": "x", "filter": "f:[3.5e38 TO *]"})
    assert err(r) == (400, "FRS.0029")
