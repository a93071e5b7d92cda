"""Silent (passive) liveness on one image: ``/v1|v2/{project_id}/live-detect-face``.

NOT a security control. The only registry-shipped passive model that runs
(npm faceplugin ``fr_liveness.onnx``, a MiniFASNet-like 3-class net of
undocumented origin) is weak: on the three Silent-Face sample photos it
calls the live face fake too, and on webcam-vs-phone-replay frames of the
same person it separates them only on average (docs/liveness.md). The
answer is that model's "real" probability, gated by measurable conditions
without which no passive judgement is meaningful (one face, big and sharp
enough). Use the action LiveDetect for anything that matters.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from chalicelib.errors import VIDEO_MULTI_FACE, VIDEO_NO_FACE, FrsError
from chalicelib.inference.manifest import has_model
from chalicelib.inference.sessions import load_session
from chalicelib.lazy import Lazy
from chalicelib.liveness.mediapipe import get_models
from chalicelib.vision import pixels

# Without the opt-in model this sub-service is off: FRS's own code for that.
SUBSERVICE_DISABLED = "FRS.0020"

CROP_SCALE = 2.7          # the model was trained on 2.7x face-box context
MIN_FACE_PX = 80          # FRS asks for faces of at least 80x80
MIN_SHARPNESS = 15.0      # Laplacian variance of the face centre
SECOND_FACE_RATIO = 0.5
ALIVE_AT = 0.5

_sess: Lazy[ort.InferenceSession] = Lazy(lambda: load_session("passive_liveness", small=True))


def _model() -> ort.InferenceSession:
    if _sess.peek() is None and not has_model("passive_liveness"):
        raise FrsError(SUBSERVICE_DISABLED, "Silent liveness is not enabled: its only available "
                       "model has weights of undocumented origin and is opt-in. Build it with "
                       "`make models OPT_IN=passive_liveness` (see README, Models).")
    return _sess.get()


def _context_crop(bgr: np.ndarray, box: Sequence[float] | np.ndarray) -> np.ndarray:
    """The face box grown CROP_SCALE times (less when the image is too
    small), shifted to stay inside the image - as lib/fr_liveness.js does."""
    h, w = bgr.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    s = min((h - 1) / bh, (w - 1) / bw, CROP_SCALE)
    nw, nh = bw * s, bh * s
    cx, cy = x1 + bw / 2, y1 + bh / 2
    left, top = cx - nw / 2, cy - nh / 2
    left, top = min(max(left, 0.0), w - 1 - nw), min(max(top, 0.0), h - 1 - nh)
    crop = bgr[int(max(top, 0)):int(top + nh), int(max(left, 0)):int(left + nw)]
    return pixels.resize(crop, (128, 128), interpolation="linear")


def real_probability(bgr: np.ndarray, box: Sequence[float] | np.ndarray) -> float:
    x = _context_crop(bgr, box).astype(np.float32).transpose(2, 0, 1)[None]
    logits = _model().run(None, {"input": x})[0][0].astype(np.float64)
    p = np.exp(logits - logits.max())
    return float(p[0] / p.sum())


def live_detect_face(bgr: np.ndarray) -> dict:
    """``{"result": {"alive", "confidence", "picture"}}`` for one BGR image."""
    _model()  # FRS.0020 before any work when the opt-in model is absent
    det, _ = get_models()
    faces = det.detect(pixels.bgr_to_rgb(bgr))
    if not faces:
        raise FrsError(VIDEO_NO_FACE, "No face is detected in the image.")
    big = [f for f in faces if f.size >= SECOND_FACE_RATIO * faces[0].size]
    if len(big) > 1:
        raise FrsError(VIDEO_MULTI_FACE, "Several faces are detected; silent liveness "
                                         "needs an image of one person.")
    face = faces[0]
    x1, y1, x2, y2 = face.box
    h, w = bgr.shape[:2]
    fx1, fy1 = int(max(0, x1)), int(max(0, y1))
    fx2, fy2 = int(min(w, x2)), int(min(h, y2))
    grey = pixels.bgr_to_gray(bgr[fy1:fy2, fx1:fx2])
    sharp = pixels.laplacian_variance(grey)  # 0.0 for an empty region
    p = real_probability(bgr, face.box)
    # Too small or blurred: the model's texture cue is meaningless, so the
    # answer is "not shown to be alive" with the score capped below 0.5.
    usable = min(x2 - x1, y2 - y1) >= MIN_FACE_PX and sharp >= MIN_SHARPNESS
    confidence = p if usable else min(p, ALIVE_AT - 0.01)
    side = max(x2 - x1, y2 - y1) * 1.5
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    crop = bgr[int(max(0, cy - side / 2)):int(min(h, cy + side / 2)),
               int(max(0, cx - side / 2)):int(min(w, cx + side / 2))]
    jpg = pixels.encode_jpeg(crop, quality=90)  # b"" for an empty crop
    return {"result": {
        "alive": bool(confidence >= ALIVE_AT),
        "confidence": round(float(confidence), 4),
        "picture": base64.b64encode(jpg).decode("ascii") if jpg else "",
    }}
