"""FRS error codes and the exception that carries them to the HTTP layer.

Every failure a client can cause is raised as ``FrsError`` and rendered as
``{"error_code": ..., "error_msg": ...}`` with the status the FRS API Reference
documents (Appendix "Error Codes").
"""


class FrsError(Exception):
    """A documented FRS (or API gateway) error."""

    def __init__(self, code: str, msg: str, status: int | None = None,
                 headers: dict | None = None):
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else STATUS.get(code, 400)
        self.headers = headers or {}  # e.g. FRS.0033 carries the X-ratelimit headers

    def body(self) -> dict:
        return {"error_code": self.code, "error_msg": self.msg}


# HTTP status per code where it is not 400.
STATUS = {
    "FRS.0002": 403,
    "FRS.0018": 500,
    "FRS.0028": 403,
    "FRS.0306": 403,
    "APIG.0101": 404,
    "APIG.0201": 413,
    "APIG.0301": 401,
    "APIG.0307": 401,
    "APIG.0308": 429,
}

# Short names for the codes used across the code base.
TOKEN_INVALID = "FRS.0002"
HEADER_MISSING = "FRS.0010"
PARAM_MISSING = "FRS.0011"
PARAM_FORMAT = "FRS.0012"
IMAGE_SIZE = "FRS.0013"
NOT_JSON = "FRS.0014"
BASE64_INVALID = "FRS.0015"
FORMAT_UNSUPPORTED = "FRS.0016"
BODY_TOO_LARGE = "FRS.0017"
INTERNAL = "FRS.0018"
OBS_URL_INVALID = "FRS.0021"
OBS_GET_FAILED = "FRS.0022"
OBS_TOO_LARGE = "FRS.0023"
OBS_NOT_FOUND = "FRS.0024"
OBS_UNAUTHORIZED = "FRS.0027"
PROJECT_MISMATCH = "FRS.0028"
FILTER_INVALID = "FRS.0029"
RETURN_FIELDS_UNDEFINED = "FRS.0030"
SORT_FIELD_UNDEFINED = "FRS.0031"
SORT_TYPE_UNSUPPORTED = "FRS.0032"
RATE_LIMITED = "FRS.0033"
URL_INVALID = "FRS.0035"
URL_GET_FAILED = "FRS.0036"
FACE_SET_EXISTS = "FRS.0301"
FACE_SET_NOT_FOUND = "FRS.0302"
SEARCH_NO_FACE = "FRS.0304"
FACE_SET_LIMIT = "FRS.0305"
FACE_SET_FULL = "FRS.0306"
DELETE_VALUE_NOT_FOUND = "FRS.0401"
FIELD_NOT_FOUND = "FRS.0402"
FACE_ID_NOT_FOUND = "FRS.0403"
ADD_NO_FACE = "FRS.0404"
FIELD_UNDEFINED = "FRS.0405"
FIELD_TYPE_MISMATCH = "FRS.0406"
# A string that is not valid Unicode (a lone surrogate) anywhere in a request:
# refused as a field-type mismatch (400), as FRS refuses a value of the wrong type.
TEXT_INVALID = FIELD_TYPE_MISMATCH
BATCH_DELETE_NO_MATCH = "FRS.0407"
COMPARE_NO_FACE = "FRS.0501"
VIDEO_PARSE = "FRS.0701"
ACTION_UNSUPPORTED = "FRS.0702"
ACTION_TIME_INVALID = "FRS.0703"
ACTION_TOO_MANY = "FRS.0704"
VIDEO_DURATION = "FRS.0706"
VIDEO_NO_FACE = "FRS.0707"
VIDEO_QUALITY = "FRS.0708"
VIDEO_MULTI_FACE = "FRS.0709"
API_NOT_FOUND = "APIG.0101"
PAYLOAD_TOO_LARGE = "APIG.0201"
AUTH_FAILED = "APIG.0301"
THROTTLED = "APIG.0308"  # API Gateway's "throttling threshold reached": failed-login lockout
