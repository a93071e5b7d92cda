"""Face attributes on detect, and the rotation fallback of detect, add and
search, through the API (chalice test client); the official SDK reading
every attribute field over a real ``chalice local`` process."""
from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pytest

from tests.api.helpers import b64, err, post_json
from tests.conftest import DATASETS, models_built, still

P = "/v2/proj-a"
QUALITY_KEYS = {"total_score", "blur", "pose", "occlusion", "illumination"}


@pytest.fixture
def api(client, needs_models):
    return client


def detect(api, data: bytes, codes: str | None) -> list[dict]:
    body = {"image_base64": b64(data)}
    if codes is not None:
        body["attributes"] = codes
    resp = post_json(api, f"{P}/face-detect", body)
    assert resp.status_code == 200, resp.json_body
    return resp.json_body["faces"]


def sideways_jpeg(name: str = "image_T1.jpg") -> bytes:
    """A Silent-Face sample as stored (a quarter turn off), its EXIF
    orientation tag dropped: what a client that strips EXIF sends."""
    from PIL import Image
    path = DATASETS / "spoof" / name
    if not path.exists():
        pytest.skip(f"dataset file {path} is absent")
    with Image.open(path) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=95)  # no exif= : the tag is gone
    return buf.getvalue()


def test_plain_detect_has_no_attributes(api):
    faces = detect(api, still("obama.jpg"), None)
    assert len(faces) == 1 and set(faces[0]) == {"bounding_box"}


def test_quality_and_face_angle(api):
    faces = detect(api, still("two_people.jpg"), "12,21")
    assert len(faces) == 2
    for f in faces:
        attrs = f["attributes"]
        assert set(attrs) == {"quality", "face_angle"}
        assert set(attrs["quality"]) == QUALITY_KEYS
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in attrs["quality"].values())
        assert attrs["face_angle"] == 0
    portrait = detect(api, still("obama.jpg"), "12")[0]["attributes"]["quality"]
    assert portrait["total_score"] > 0.45  # FRS's "usable" mark, on a clear frontal portrait


def test_quality_falls_with_blur_dark_and_crop(api):
    """The same portrait blurred, darkened, and cut by the frame: the
    matching component rises, and total_score does not rise."""
    img = cv2.imdecode(np.frombuffer(still("obama.jpg"), np.uint8), cv2.IMREAD_COLOR)
    sharp = detect(api, still("obama.jpg"), "12")[0]
    base = sharp["attributes"]["quality"]

    def q(image):
        faces = detect(api, cv2.imencode(".jpg", image)[1].tobytes(), "12")
        assert faces
        return faces[0]["attributes"]["quality"]

    side = max(sharp["bounding_box"]["width"], sharp["bounding_box"]["height"])
    blurred = q(cv2.GaussianBlur(img, (0, 0), side / 40))
    assert blurred["blur"] > base["blur"] + 0.2 and blurred["total_score"] < base["total_score"]
    dark = q((img * 0.12).astype(np.uint8))
    assert dark["illumination"] > base["illumination"] + 0.3
    box = sharp["bounding_box"]
    cut = img[:, box["top_left_x"] + box["width"] // 2:]  # the face's left half gone
    cut = np.ascontiguousarray(np.hstack([np.full_like(cut[:, :200], 128), cut]))
    faces = detect(api, cv2.imencode(".jpg", cut)[1].tobytes(), "12")
    if faces:  # a half face may be missed altogether, which is also right
        assert faces[0]["attributes"]["quality"]["occlusion"] >= base["occlusion"]


def built(capability: str) -> bool:
    from chalicelib.vision.attributes import AttributeModels
    return AttributeModels().backend_for(capability) is not None


def test_unsupported_attributes_answer_unknown(api):
    attrs = detect(api, still("obama.jpg"), "4,7,8,11")[0]["attributes"]
    assert attrs == {"dress": {"glass": "unknown", "hat": "unknown"}, "glass": "unknown",
                     "hat": "unknown", "hair": "unknown", "beard": "unknown",
                     "phototype": "unknown"}
    # Codes of other SDK versions (9 skin colour, 10 ethnicity) are accepted and ignored.
    assert detect(api, still("obama.jpg"), "9,10")[0]["attributes"] == {}


def test_age_gender_expression_mask(api):
    attrs = detect(api, still("obama.jpg"), "1,2,6,13")[0]["attributes"]
    if built("expression"):
        assert attrs["expression"]["type"] in ("neutral", "happy", "fear", "surprise", "sad",
                                               "angry", "disgust")
        assert 0.0 < attrs["expression"]["probability"] <= 1.0
    else:
        assert attrs["expression"] == {"type": "unknown", "probability": 0.0}
    if built("age_gender"):
        assert attrs["gender"] == "male"
        assert isinstance(attrs["age"], int) and 25 <= attrs["age"] <= 75
    else:  # the opt-in models are not built: no value the SDK could misread
        assert "age" not in attrs and "gender" not in attrs
    assert attrs["mask"] == ("none" if built("mask") else "unknown")


@pytest.mark.parametrize("codes", ["a", "1,,2", "1;2", "12,", "１２", "1234"])
def test_bad_codes(api, codes):
    resp = post_json(api, f"{P}/face-detect", {"image_base64": b64(still("obama.jpg")),
                                              "attributes": codes})
    assert err(resp) == (400, "FRS.0012")


def test_sideways_photo_detect_add_search(api):
    data = sideways_jpeg()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    faces = detect(api, data, "21")
    assert len(faces) == 1
    box = faces[0]["bounding_box"]
    assert faces[0]["attributes"]["face_angle"] == 90
    # The box is in the coordinates of the image as sent.
    assert 0 <= box["top_left_x"] and box["top_left_x"] + box["width"] <= w
    assert 0 <= box["top_left_y"] and box["top_left_y"] + box["height"] <= h
    # The same face, found in the photo turned upright, lands in the same place.
    upright = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    ub = detect(api, cv2.imencode(".jpg", upright)[1].tobytes(), None)[0]["bounding_box"]
    # Turned back: a sent point (x, y) is at (h - y, x) in the upright photo.
    x1, y1 = ub["top_left_y"], h - (ub["top_left_x"] + ub["width"])
    assert abs(x1 - box["top_left_x"]) <= 0.1 * box["width"]
    assert abs(y1 - box["top_left_y"]) <= 0.1 * box["height"]
    name = "rotated-set"
    assert post_json(api, f"{P}/face-sets", {"face_set_name": name}).status_code == 200
    added = post_json(api, f"{P}/face-sets/{name}/faces", {"image_base64": b64(data)})
    assert added.status_code == 200, added.json_body
    assert added.json_body["faces"][0]["bounding_box"] == box
    found = post_json(api, f"{P}/face-sets/{name}/search",
                      {"image_base64": b64(cv2.imencode(".jpg", upright)[1].tobytes())})
    assert found.status_code == 200
    assert found.json_body["faces"][0]["similarity"] >= 0.93


def test_attribute_models_read_a_sideways_face_upright(api):
    """The same portrait sent a quarter turn off: age, gender, expression and
    mask answer as for the upright photo (the models see the face turned
    upright by its checked angle)."""
    if not built("age_gender"):
        pytest.skip("no age/gender model built (make models OPT_IN=faceapi_attributes)")
    img = cv2.imdecode(np.frombuffer(still("obama.jpg"), np.uint8), cv2.IMREAD_COLOR)
    upright = detect(api, still("obama.jpg"), "1,2,6,13,21")[0]["attributes"]
    turned = cv2.imencode(".png", cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE))[1].tobytes()
    sideways = detect(api, turned, "1,2,6,13,21")[0]["attributes"]
    assert sideways["face_angle"] == 90 and upright["face_angle"] == 0
    assert sideways["gender"] == upright["gender"] == "male"
    # The box differs a little between the two detections, so the age does
    # too (54 vs 60 here); read sideways, the same face was aged 40 and "sad".
    assert abs(sideways["age"] - upright["age"]) <= 8, (sideways["age"], upright["age"])
    assert sideways["mask"] == upright["mask"]
    assert sideways["expression"]["type"] == upright["expression"]["type"]


def test_upside_down_photo_is_enrolled_as_its_upright_self(api):
    """An LFW photo turned upside down, which CenterFace "finds" with its
    landmarks placed as if upright: add embeds it from the image turned
    upright, so the upright photo finds it at FRS's 0.93 and detect's
    face_angle says 180."""
    from tests.conftest import dataset_file
    data = dataset_file("lfw", "images", "AJ_Cook", "AJ_Cook_0001.jpg").read_bytes()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    flipped = cv2.imencode(".png", cv2.rotate(img, cv2.ROTATE_180))[1].tobytes()
    assert detect(api, flipped, "21")[0]["attributes"]["face_angle"] == 180
    name = "upside-down-set"
    assert post_json(api, f"{P}/face-sets", {"face_set_name": name}).status_code == 200
    added = post_json(api, f"{P}/face-sets/{name}/faces", {"image_base64": b64(flipped)})
    assert added.status_code == 200, added.json_body
    found = post_json(api, f"{P}/face-sets/{name}/search",
                      {"image_base64": b64(cv2.imencode(".png", img)[1].tobytes())})
    assert found.status_code == 200
    assert found.json_body["faces"][0]["similarity"] >= 0.93, found.json_body
    compared = post_json(api, f"{P}/face-compare", {"image1_base64": b64(flipped),
                                                     "image2_base64": b64(data)})
    assert compared.status_code == 200 and compared.json_body["similarity"] >= 0.93


# --------------------------------------------------------------------------
# The official SDK over a real server
@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    if not models_built():
        pytest.skip("models are not built: run `make models`")
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkfrs.v2 import FrsClient

    from testkit.server import LocalServer
    data = tmp_path_factory.mktemp("frs-attr") / "data"
    srv = LocalServer({"FRS_DATA_DIR": str(data), "FRS_AUTH": "off", "FRS_STORE": "embedded"},
                      log_path=data.parent / "chalice-local.log").start()
    creds = BasicCredentials("AKATTRIBUTES00000001", "sk-attributes-test", "proj-attr")
    yield FrsClient.new_builder().with_credentials(creds).with_endpoint(srv.url).build()
    srv.stop()


def test_sdk_reads_every_attribute_field(sdk):
    from huaweicloudsdkfrs.v2 import model as m
    codes = "1,2,4,6,7,8,11,12,13,21"
    resp = sdk.detect_face_by_base64(m.DetectFaceByBase64Request(body=m.FaceDetectBase64Req(
        image_base64=base64.b64encode(still("obama.jpg")).decode(), attributes=codes)))
    assert resp.status_code == 200 and len(resp.faces) == 1
    a = resp.faces[0].attributes
    assert isinstance(a, m.Attributes)
    assert isinstance(a.quality, m.FaceQuality)
    for name in ("total_score", "blur", "pose", "occlusion", "illumination"):
        v = getattr(a.quality, name)
        assert isinstance(v, float) and 0.0 <= v <= 1.0, name
    assert a.quality.total_score > 0.45
    assert a.face_angle == 0 and isinstance(a.face_angle, int)
    assert isinstance(a.dress, m.Dress) and (a.dress.glass, a.dress.hat) == ("unknown", "unknown")
    assert (a.glass, a.hat, a.hair, a.beard, a.phototype) == ("unknown",) * 5
    assert a.mask == ("none" if built("mask") else "unknown")
    assert isinstance(a.expression, m.AttributesExpression)
    assert a.expression.type in ("neutral", "happy", "fear", "surprise", "sad", "angry", "disgust",
                                 "unknown")
    assert 0.0 <= a.expression.probability <= 1.0
    if a.gender is not None or a.age is not None:  # the opt-in models are built
        assert a.gender in ("male", "female") and isinstance(a.age, int)
    # Every field the server sent is one the SDK model declares (nothing dropped silently).
    assert set(a.to_dict()) == set(m.Attributes.openapi_types)
    sideways = sdk.detect_face_by_base64(m.DetectFaceByBase64Request(body=m.FaceDetectBase64Req(
        image_base64=base64.b64encode(sideways_jpeg()).decode(), attributes="21")))
    assert sideways.faces[0].attributes.face_angle == 90
