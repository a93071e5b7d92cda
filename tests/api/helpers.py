"""Request helpers for the API tests (chalice.test.Client)."""
import base64
import json

import cv2
import numpy as np
from urllib3.filepost import encode_multipart_formdata


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post_json(client, path, body, method="post"):
    return getattr(client.http, method)(path, headers={"Content-Type": "application/json"},
                                        body=json.dumps(body))


def post_form(client, path, fields, method="post"):
    body, ctype = encode_multipart_formdata(fields)
    return getattr(client.http, method)(path, headers={"Content-Type": ctype}, body=body)


def err(resp):
    return resp.status_code, (resp.json_body or {}).get("error_code")


def no_face_jpeg(w=640, h=480) -> bytes:
    """A real, decodable photo-sized image with no face in it."""
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (31, 31), 0)
    return cv2.imencode(".jpg", img)[1].tobytes()
