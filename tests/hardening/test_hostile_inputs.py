"""The hostile-input corpus: every case must answer its FRS error and leave
nothing behind (no face set created, no face added, nothing changed).

Media are built at test time from a real photo (tests/hardening/media.py).
Requests go through chalice.test.Client with authentication off (the
identity suite covers auth); the fuzz test covers the live server.
"""
from __future__ import annotations

import pytest

from tests.api.helpers import b64, err, post_form, post_json
from tests.conftest import still
from tests.hardening import media as M
from tests.hardening.conditions import NEEDS_CALIBRATION

P = "/v2/hostile"
SET = "hostile"
FIELDS = {"n": {"type": "integer"}, "s": {"type": "string"}, "b": {"type": "boolean"},
          "d": {"type": "double"}}


@pytest.fixture(scope="module")
def photo():
    return still("obama.jpg")


@pytest.fixture
def api(client, needs_models):
    """A client with one empty face set; after the test, checks that the
    project holds exactly that face set, still empty."""
    r = post_json(client, f"{P}/face-sets", {"face_set_name": SET, "external_fields": FIELDS})
    assert r.status_code == 200, r.json_body
    yield client
    sets = client.http.get(f"{P}/face-sets").json_body["face_sets_info"]
    assert [(s["face_set_name"], s["face_number"]) for s in sets] == [(SET, 0)], \
        "a refused request left something in the store"


def add_json(c, body):
    return post_json(c, f"{P}/face-sets/{SET}/faces", body)


def add_file(c, data, name="face.jpg", ctype="image/jpeg", **fields):
    return post_form(c, f"{P}/face-sets/{SET}/faces", {"image_file": (name, data, ctype), **fields})


# -- images --------------------------------------------------------------------------
IMAGE_CASES = {
    "jpeg truncated at 50%": (lambda p: M.truncated(p, 0.5), "FRS.0016"),
    "jpeg truncated in the header": (lambda p: p[:600], "FRS.0016"),
    "jpeg frame header declaring 0x0": (M.jpeg_zero_size, "FRS.0016"),
    "jpeg without quantisation tables": (M.jpeg_without_quant_tables, "FRS.0016"),
    "png truncated at 50%": (lambda p: M.truncated(M.reencode(p, ".png"), 0.5), "FRS.0016"),
    "png with a bad IHDR checksum": (lambda p: M.png_bad_crc(M.reencode(p, ".png")), "FRS.0016"),
    "png without pixel data": (lambda p: M.png_no_idat(M.reencode(p, ".png")), "FRS.0016"),
    "bmp truncated at 50%": (lambda p: M.truncated(M.reencode(p, ".bmp"), 0.5), "FRS.0016"),
    "bmp truncated after the header": (lambda p: M.bmp_truncated_pixels(M.reencode(p, ".bmp")),
                                       "FRS.0016"),
    "bmp declaring 7 bits per pixel": (lambda p: M.bmp_bad_bpp(M.reencode(p, ".bmp")), "FRS.0016"),
    "png declaring 50000x50000": (lambda p: M.png_declaring(50_000, 50_000), "FRS.0013"),
    "png declaring 4096x1": (lambda p: M.png_declaring(4096, 64), "FRS.0013"),
    "gif of the photo": (M.gif_of, "FRS.0016"),
    "pdf": (lambda p: M.pdf(), "FRS.0016"),
    "svg with a script": (lambda p: M.svg(), "FRS.0016"),
    "empty file": (lambda p: b"", "FRS.0016"),
    "8 MB + 1 byte": (lambda p: M.padded_to(8 * 1024 * 1024 + 1, p), "FRS.0017"),
}


@pytest.mark.parametrize("case", IMAGE_CASES, ids=list(IMAGE_CASES))
def test_bad_image_as_file_is_refused(api, photo, case):
    build, code = IMAGE_CASES[case]
    assert err(add_file(api, build(photo))) == (400, code)


@pytest.mark.parametrize("case", [c for c in IMAGE_CASES if c not in ("empty file",)],
                         ids=[c for c in IMAGE_CASES if c not in ("empty file",)])
def test_bad_image_as_base64_is_refused(api, photo, case):
    build, code = IMAGE_CASES[case]
    assert err(add_json(api, {"image_base64": b64(build(photo))})) == (400, code)


@pytest.mark.parametrize("case", ["gif of the photo", "pdf", "png declaring 50000x50000",
                                  "jpeg truncated at 50%"])
def test_bad_image_is_refused_by_every_image_operation(api, photo, case):
    build, code = IMAGE_CASES[case]
    data = b64(build(photo))
    good = b64(photo)
    assert err(post_json(api, f"{P}/face-detect", {"image_base64": data})) == (400, code)
    assert err(post_json(api, f"{P}/face-compare",
                         {"image1_base64": good, "image2_base64": data})) == (400, code)
    assert err(post_json(api, f"{P}/face-sets/{SET}/search", {"image_base64": data})) == (400, code)


def test_image_renamed_to_a_wrong_type_is_judged_by_its_bytes(api, photo):
    # The format comes from magic bytes, never from the name or the part's type.
    gif = M.gif_of(photo)
    assert err(add_file(api, gif, name="face.jpg", ctype="image/jpeg")) == (400, "FRS.0016")
    pdf = M.pdf()
    assert err(add_file(api, pdf, name="face.png", ctype="image/png")) == (400, "FRS.0016")
    # ...and a real JPEG named .gif is a JPEG: detection succeeds (no store write).
    r = post_form(api, f"{P}/face-detect", {"image_file": ("face.gif", photo, "image/gif")})
    assert r.status_code == 200 and len(r.json_body["faces"]) == 1


def test_base64_eight_mb_text_is_refused_before_decoding(api):
    text = "A" * (8 * 1024 * 1024)
    assert err(add_json(api, {"image_base64": text})) == (400, "FRS.0017")


BASE64_CASES = {
    "line breaks": M.b64_with_newlines,
    "padding errors": M.b64_bad_padding,
    "data-URL prefix": M.data_url,
    "missing padding": lambda d: b64(d).rstrip("="),
    "url-safe alphabet": lambda d: b64(d).replace("+", "-").replace("/", "_"),
    "spaces": lambda d: " ".join(b64(d)[i:i + 64] for i in range(0, 4096, 64)),
    "non-ascii": lambda d: "é" + b64(d),
    "only padding": lambda d: "====",
}


@pytest.mark.parametrize("case", BASE64_CASES, ids=list(BASE64_CASES))
def test_malformed_base64_is_refused(api, photo, case):
    text = BASE64_CASES[case](photo)
    assert err(add_json(api, {"image_base64": text})) == (400, "FRS.0015")
    assert err(post_json(api, f"{P}/face-detect", {"image_base64": text})) == (400, "FRS.0015")


# -- JSON bodies -------------------------------------------------------------------------
def raw(c, path, body: bytes | str, method="post", ctype="application/json"):
    return getattr(c.http, method)(path, headers={"Content-Type": ctype}, body=body)


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deeply_nested_json_is_refused(api, depth):
    body = '{"face_set_name": "deep", "external_fields": ' + "[" * depth + "]" * depth + "}"
    assert err(raw(api, f"{P}/face-sets", body))[0] == 400
    nested = "[" * depth + "]" * depth
    for path in (f"{P}/face-sets", f"{P}/face-sets/{SET}/faces", f"{P}/face-sets/{SET}/search"):
        assert err(raw(api, path, nested)) == (400, "FRS.0014")


@pytest.mark.parametrize("body", ['{"face_set_name": "x"', "nul\x00", "[]", '"text"', "1",
                                  "NaN", '{"top_n": NaN}', '{"top_n": Infinity}', "\xff\xfe",
                                  '{"a": 1} {"b": 2}'])
def test_malformed_json_is_refused(api, body):
    assert err(raw(api, f"{P}/face-sets/{SET}/search", body)) == (400, "FRS.0014")


def test_duplicate_keys_last_one_wins_and_only_it_is_written(api):
    # FRS does not check duplicate keys; Python's json keeps the last one.
    body = '{"face_set_name": "dup-first", "face_set_name": "dup-last"}'
    r = raw(api, f"{P}/face-sets", body)
    assert r.status_code == 200 and r.json_body["face_set_info"]["face_set_name"] == "dup-last"
    names = {s["face_set_name"] for s in api.http.get(f"{P}/face-sets").json_body["face_sets_info"]}
    assert names == {SET, "dup-last"}
    assert api.http.delete(f"{P}/face-sets/dup-last").status_code == 200


def test_duplicate_key_with_a_bad_last_value_is_refused(api, photo):
    body = '{"image_base64": "%s", "external_image_id": "ok", "external_image_id": "../x"}' % b64(photo)
    assert err(raw(api, f"{P}/face-sets/{SET}/faces", body)) == (400, "FRS.0012")


def test_body_over_the_request_limit_is_refused(api):
    body = b'{"x": "' + b"a" * (20 * 1024 * 1024) + b'"}'
    assert err(raw(api, f"{P}/face-sets/{SET}/search", body)) == (400, "FRS.0017")


def test_multipart_without_boundary_is_refused(api):
    r = raw(api, f"{P}/face-sets/{SET}/faces", b"--x\r\n\r\n", ctype="multipart/form-data")
    assert err(r) == (400, "FRS.0012")


# -- wrong types for every parameter ---------------------------------------------------------
WRONG = [1, 1.5, True, [], {}, "x"]
TYPED = {  # (path suffix, method, parameter, the values that are wrong for it, code)
    ("/face-sets", "post", "face_set_name"): ([1, True, [], {}, "", "a" * 65], "FRS.0012"),
    ("/face-sets", "post", "face_set_capacity"): ([1.5, True, [], {}, "x", 0, -10000, 5000, 110000],
                                                  "FRS.0012"),
    ("/face-sets", "post", "external_fields"): ([1, "x", [], True, {"f": 1}, {"f": {"type": "blob"}}],
                                                "FRS.0012"),
    ("/face-sets/hostile/faces", "post", "image_base64"): ([1, 1.5, True, [], {}], "FRS.0012"),
    ("/face-sets/hostile/faces", "post", "external_image_id"): ([1, True, [], {}, ""], "FRS.0012"),
    ("/face-sets/hostile/faces", "post", "external_fields"): ([1, "x", [], True], "FRS.0012"),
    ("/face-sets/hostile/faces", "post", "single"): ([1, "true", [], {}], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "top_n"): ([1.5, True, "5", [], {}], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "threshold"): ([True, "0.5", [], {}], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "filter"): ([1, True, [], {}], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "sort"): ([1, "x", {}, True, [1], [{"n": 1}]], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "return_fields"): ([1, "n", {}, True], "FRS.0012"),
    ("/face-sets/hostile/search", "post", "face_id"): ([1, True, [], {}], "FRS.0012"),
    ("/face-sets/hostile/faces", "put", "face_id"): ([1, True, [], {}], "FRS.0012"),
    ("/face-sets/hostile/faces/batch", "delete", "filter"): ([1, True, [], {}], "FRS.0012"),
    ("/face-detect", "post", "image_base64"): ([1, 1.5, True, [], {}], "FRS.0012"),
    ("/face-detect", "post", "attributes"): ([1, True, [], {}, "age"], "FRS.0012"),
    ("/face-compare", "post", "image1_base64"): ([1, 1.5, True, [], {}], "FRS.0012"),
    ("/face-compare", "post", "image2_base64"): ([1, 1.5, True, [], {}], "FRS.0012"),
}

# Values the handler must reach with every other parameter valid.
BASE = {"/face-sets/hostile/search": {"face_id": "AAAAAAAA"},
        "/face-sets/hostile/faces/batch": {"filter": "n:1"},
        "/face-detect": {},
        "/face-compare": {}}


def _typed_cases():
    for (path, method, param), (values, code) in TYPED.items():
        for v in values:
            yield pytest.param(path, method, param, v, code,
                               id=f"{method} {path} {param}={v!r:.20}")


@pytest.mark.parametrize("path,method,param,value,code", list(_typed_cases()))
def test_wrong_type_for_every_parameter(api, photo, path, method, param, value, code):
    body = dict(BASE.get(path, {}))
    if path.endswith("/faces") and method == "put":
        body = {"face_id": "AAAAAAAA", "external_image_id": "x"}
    if param not in ("image_base64", "image1_base64", "image2_base64") and (
            path.endswith("/faces") and method == "post" or path in ("/face-detect",)):
        body["image_base64"] = b64(photo)
    if path == "/face-compare":
        body = {"image1_base64": b64(photo), "image2_base64": b64(photo)}
    if path == "/face-sets":
        body = {"face_set_name": "typed"}
    body[param] = value
    r = post_json(api, P + path, body, method=method)
    assert err(r) == (400, code), r.json_body


@pytest.mark.parametrize("param,value", [("top_n", "1.5"), ("top_n", "ten"), ("threshold", "high"),
                                         ("sort", "{not json"), ("return_fields", "[1,"),
                                         ("single", "yes")])
def test_wrong_type_in_multipart_fields(api, photo, param, value):
    path = f"{P}/face-sets/{SET}/" + ("faces" if param == "single" else "search")
    r = post_form(api, path, {"image_file": ("f.jpg", photo, "image/jpeg"), param: value})
    assert err(r) == (400, "FRS.0012")


# -- names, ids and field values ---------------------------------------------------------------
HOSTILE_NAMES = ["../etc", "a/b", "a\\b", "..", ".", "名前", "ÄÖÜ", "a b", "a%2Fb", "a\x00b",
                 "a\nb", "<script>", "' OR 1=1 --", "a" * 65, "\u202ename", "😀", "${jndi:x}"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_face_set_name_in_body_is_refused(api, name):
    assert err(post_json(api, f"{P}/face-sets", {"face_set_name": name})) == (400, "FRS.0012")


@pytest.mark.parametrize("name", ["..", "名前", "a%20b", "%2E%2E", "' OR 1=1 --".replace(" ", "%20"),
                                  "a" * 65])
def test_hostile_face_set_name_in_path_is_refused(api, name):
    for method in ("get", "delete"):
        code = err(getattr(api.http, method)(f"{P}/face-sets/{name}"))
        assert code in ((400, "FRS.0012"), (404, "APIG.0101")), code


@pytest.mark.parametrize("eiid", ["../x", "a/b", "名前", "a b", "a" * 37, "<x>", "a;b", "\u202e",
                                  "a\x00", "' OR '1'='1"])
def test_hostile_external_image_id_is_refused(api, photo, eiid):
    r = add_json(api, {"image_base64": b64(photo), "external_image_id": eiid})
    assert err(r) == (400, "FRS.0012")
    r = add_file(api, photo, external_image_id=eiid)
    assert err(r) == (400, "FRS.0012")


@pytest.mark.parametrize("fields,code", [
    ({"s": ""}, "FRS.0406"), ({"s": "a" * 257}, "FRS.0406"), ({"s": "a\x00b"}, "FRS.0406"),
    ({"s": "line\nbreak"}, "FRS.0406"), ({"s": 1}, "FRS.0406"), ({"n": "1"}, "FRS.0406"),
    ({"n": 2**31}, "FRS.0406"), ({"n": 1.5}, "FRS.0406"), ({"n": True}, "FRS.0406"),
    ({"b": "true"}, "FRS.0406"), ({"d": "NaN"}, "FRS.0406"),
    ({"../n": 1}, "FRS.0405"), ({"undefined": 1}, "FRS.0405"), ({"vector": [0.1]}, "FRS.0405"),
    ({"face_id": "x"}, "FRS.0405"),
])
def test_hostile_field_values_are_refused(api, photo, fields, code):
    assert err(add_json(api, {"image_base64": b64(photo), "external_fields": fields})) == (400, code)


@pytest.mark.parametrize("value", ["名前の値", "' OR 1=1 --", "../../etc/passwd", "<script>x</script>",
                                   "a" * 256, "😀" * 10, "\u202eevil", "%00", "${jndi:ldap://x}"])
def test_unicode_and_path_characters_in_string_fields_are_data(client, needs_models, photo, value):
    """Printable text of any script is a valid string value: stored verbatim,
    found by an exact filter, never interpreted."""
    post_json(client, f"{P}/face-sets", {"face_set_name": "text", "external_fields": FIELDS})
    r = post_json(client, f"{P}/face-sets/text/faces",
                  {"image_base64": b64(photo), "external_fields": {"s": value}})
    assert r.status_code == 200, r.json_body
    face = r.json_body["faces"][0]
    got = client.http.get(f"{P}/face-sets/text/faces?face_id={face['face_id']}").json_body
    assert got["faces"][0]["external_fields"] == {"s": value}


# -- filters ---------------------------------------------------------------------------
FILTERS = {
    "huge": "n:1 || " * 2000 + "n:1",
    "deeply nested": "(" * 500 + "n:1" + ")" * 500,
    "nested beyond the limit": "(" * 33 + "n:1" + ")" * 33,
    "sql injection": "n:1' OR '1'='1",
    "sql comment": "n:1; DROP TABLE faces; --",
    "lucene script": "_script:{\"source\": \"1\"}",
    "opensearch json": '{"query": {"match_all": {}}}',
    "wildcard": "s:*",
    "regex": "s:/.*/",
    "undefined field": "missing:1",
    "internal field": "vector:1",
    "range on a string": "s:[a TO z]",
    "empty": "   ",
    "unbalanced": "(n:1",
    "nul": "n:1\x00",
    "negation outside parentheses": "!n:1",
    "long number": "n:" + "9" * 400,
}


@pytest.mark.parametrize("case", FILTERS, ids=list(FILTERS))
def test_hostile_filter_is_refused(api, photo, case):
    f = FILTERS[case]
    r = post_json(api, f"{P}/face-sets/{SET}/search", {"image_base64": b64(photo), "filter": f})
    assert err(r) == (400, "FRS.0029"), r.json_body
    r = post_json(api, f"{P}/face-sets/{SET}/faces/batch", {"filter": f}, method="delete")
    assert err(r) == (400, "FRS.0029"), r.json_body


# -- bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize("top_n,ok", [(1, True), (1000, True), (0, False), (-1, False),
                                      (1001, False), (2**63, False)])
def test_top_n_at_and_beyond_bounds(api, photo, top_n, ok):
    r = post_json(api, f"{P}/face-sets/{SET}/search", {"image_base64": b64(photo), "top_n": top_n})
    if ok:
        assert r.status_code == 200 and r.json_body == {"faces": []}
    else:
        assert err(r) == (400, "FRS.0012")


@pytest.mark.parametrize("query,ok", [("limit=1", True), ("limit=10000", True),
                                      ("offset=9999&limit=1", True), ("offset=0&limit=0", False),
                                      ("limit=10001", False), ("offset=9999&limit=2", False),
                                      ("offset=-1", False), ("limit=1e3", False), ("limit=", False),
                                      ("limit=99999999999999999999999", False)])
def test_limit_and_offset_at_and_beyond_bounds(api, query, ok):
    r = api.http.get(f"{P}/face-sets/{SET}/faces?{query}")
    if ok:
        assert r.status_code == 200 and r.json_body["faces"] == []
    else:
        assert err(r) == (400, "FRS.0012")


@pytest.mark.parametrize("threshold,ok", [(0, True), pytest.param(1, True, marks=NEEDS_CALIBRATION),
                                          (-0.01, False), (1.01, False)])
def test_threshold_at_and_beyond_bounds(api, photo, threshold, ok):
    r = post_json(api, f"{P}/face-sets/{SET}/search",
                  {"image_base64": b64(photo), "threshold": threshold})
    assert (r.status_code == 200) if ok else (err(r) == (400, "FRS.0012"))


def test_capacity_beyond_bounds(api):
    for cap in (0, 9999, 100_001, 110_000, 10**30):
        assert err(post_json(api, f"{P}/face-sets", {"face_set_name": "cap",
                                                      "face_set_capacity": cap})) == (400, "FRS.0012")


def test_too_many_external_fields(api):
    fields = {f"f{i}": {"type": "integer"} for i in range(11)}
    r = post_json(api, f"{P}/face-sets", {"face_set_name": "many", "external_fields": fields})
    assert err(r) == (400, "FRS.0012")
