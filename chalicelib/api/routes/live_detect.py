"""POST /v1|v2/{project_id}/live-detect (action liveness on a video) and
POST /v1|v2/{project_id}/live-detect-face (silent liveness on one image).
Logic lives in chalicelib/liveness."""
from chalice import Blueprint

from chalicelib.api.http import RequestContext, frs_route
from chalicelib.api.routes import versions
from chalicelib.services.media import MAX_MEDIA_BYTES, read_media

live_detect = Blueprint(__name__)


@frs_route(live_detect, versions("/live-detect"), "POST")
def detect_live(ctx: RequestContext) -> dict:
    from chalicelib.liveness.detect import live_detect as analyse  # lazy: OpenCV video + models

    p = ctx.payload
    data = read_media(p, "video", max_bytes=MAX_MEDIA_BYTES)
    return analyse(data, p.get("actions"), p.get("action_time"), p.get("nod_threshold"))


@frs_route(live_detect, versions("/live-detect-face"), "POST")
def detect_live_face(ctx: RequestContext) -> dict:
    from chalicelib.liveness.silent import live_detect_face
    from chalicelib.vision import decode_image

    return live_detect_face(decode_image(read_media(ctx.payload, "image")))
