"""Synthetic masked faces for the mask check (bench/mask_check.py and
tests/vision/test_mask.py): no labelled masked-face data set is available
here, so masks are drawn over real faces, deterministically.

The outline follows the MediaPipe face mesh (the project's ``face_mesh``
model, run in an ROI set from the detector's 5 landmarks): from the face
edge at mid-nose height, over the nose ridge just below the eyes, down the
jaw line and a little past the chin. Four mask styles (``MASK_STYLES``)
and two hard negatives that cover part of the lower face but are not a
mask (``NEGATIVE_STYLES``: a hand over the mouth, a beard).

What this cannot show: real masks fold, sit on the face in 3D, cast
shadows and come in many more shapes; pasted-on masks are also how the
recipe the model follows was trained, so figures from here flatter it.
"""
from __future__ import annotations

import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# MediaPipe face-mesh indices (canonical 468-point topology).
NOSE_RIDGE = 197                # on the ridge, about a quarter down from the eyes
LOWER_LID_R, LOWER_LID_L = 145, 374
MOUTH_R, MOUTH_L = 61, 291
NOSE_BOTTOM, UPPER_LIP, LOWER_LIP, CHIN = 2, 0, 17, 152
FOREHEAD = 151
# The face oval from the subject's right side (image left, below the ear)
# down the jaw and chin up to the left side.
JAW = [93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323]
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]

MASK_STYLES = ("surgical_blue", "white", "black_cloth", "patterned")
NEGATIVE_STYLES = ("hand_over_mouth", "beard")
SUPERSAMPLE = 4  # edges drawn at 4x and shrunk, so they are not jagged


def mesh_points(image_bgr: np.ndarray, landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """(468, 2) face-mesh points in image pixels for the detected face."""
    from chalicelib.liveness.mediapipe import ROI_SCALE, get_models, roi_from_points
    _, mesh_model = get_models()
    x, y, w, h = box
    # landmarks are in image order: [0] is the subject's right eye
    roi = roi_from_points(landmarks[1], landmarks[0], (x + w / 2, y + h / 2), max(w, h) * ROI_SCALE)
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    return mesh_model.run(rgb, roi).points[:, :2]


def mask_outline(p: np.ndarray) -> np.ndarray:
    """Polygon (N, 2) of a mask over the nose and mouth."""
    centre = p[[NOSE_RIDGE, CHIN]].mean(0)
    jaw = p[JAW]
    jaw = centre + (jaw - centre) * 1.04          # a little past the face edge
    chin_drop = (p[CHIN] - p[NOSE_BOTTOM]) * 0.08
    jaw[3:16] += chin_drop                         # and below the chin
    eye_to_mouth_r = p[MOUTH_R] - p[LOWER_LID_R]
    eye_to_mouth_l = p[MOUTH_L] - p[LOWER_LID_L]
    under_r = p[LOWER_LID_R] + 0.18 * eye_to_mouth_r
    under_l = p[LOWER_LID_L] + 0.18 * eye_to_mouth_l
    ridge = p[NOSE_RIDGE]
    top = [(jaw[0] + under_r) / 2, under_r, (under_r + ridge) / 2, ridge,
           (under_l + ridge) / 2, under_l, (jaw[-1] + under_l) / 2]
    return np.vstack([top, jaw[::-1]])[::-1]


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode()))


def _texture(style: str, size: tuple[int, int], p: np.ndarray, rng: np.random.Generator,
             image_rgb: np.ndarray) -> np.ndarray:
    """An RGB float image (h, w, 3) of the occluder's surface."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = {"surgical_blue": (140, 190, 225), "white": (236, 236, 232), "black_cloth": (32, 32, 36),
            "beard": (40, 30, 24)}.get(style, (0, 0, 0))
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = base
    unit = float(np.linalg.norm(p[CHIN] - p[NOSE_RIDGE])) / 10  # ~ a tenth of the mask height
    unit = max(unit, 1.0)
    if style == "surgical_blue":      # horizontal pleats
        pleat = (np.sin((yy - p[NOSE_RIDGE][1]) / (unit * 0.9) * np.pi) > 0.85)
        tex[pleat] *= 0.82
    elif style == "white":             # a centre seam
        seam_x = p[[NOSE_RIDGE, CHIN], 0].mean()
        tex[np.abs(xx - seam_x) < max(unit * 0.12, 1)] *= 0.8
    elif style == "black_cloth":       # woven noise
        tex += rng.normal(0, 10, (h, w, 1)).astype(np.float32)
    elif style == "patterned":         # coloured checks with dots
        colours = np.array([(200, 40, 50), (240, 220, 200), (40, 80, 160)], np.float32)
        cell = ((xx // (unit * 1.2)).astype(int) + (yy // (unit * 1.2)).astype(int)) % 2
        tex[:] = colours[cell]
        dx, dy = xx % (unit * 1.2) - unit * 0.6, yy % (unit * 1.2) - unit * 0.6
        dots = dx ** 2 + dy ** 2 < (unit * 0.25) ** 2
        tex[dots] = colours[2]
    elif style == "hand_over_mouth":   # the face's own skin colour, a little darker
        fx, fy = p[FOREHEAD].astype(int)
        patch = image_rgb[max(fy - 3, 0):fy + 4, max(fx - 3, 0):fx + 4].reshape(-1, 3)
        tex[:] = np.median(patch, 0).astype(np.float32) * 0.93 if len(patch) else (180, 140, 120)
        tex += rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    elif style == "beard":             # dark hair strands (noise stretched downwards)
        strands = rng.normal(0, 1, (h, w)).astype(np.float32)
        k = max(int(unit * 0.6), 1)
        strands = np.cumsum(strands, 0)
        strands = (strands - np.roll(strands, k, 0)) / np.sqrt(k)
        tex += 16 * strands[:, :, None]
    return np.clip(tex, 0, 255)


def _shade(p: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Darker towards the sides, as a curved surface is lit from the front."""
    w, h = size
    xx = np.arange(w, dtype=np.float32)[None, :]
    cx = p[[NOSE_RIDGE, CHIN], 0].mean()
    half = max(float(abs(p[JAW[-1], 0] - p[JAW[0], 0])) / 2, 1.0)
    return np.clip(1.0 - 0.35 * ((xx - cx) / half) ** 2, 0.55, 1.0)[:, :, None] * np.ones((h, 1, 1))


def _hand_outline(p: np.ndarray) -> list[np.ndarray]:
    """Four fingers across the mouth (not the nose), coming from the side."""
    mouth_w = float(np.linalg.norm(p[MOUTH_L] - p[MOUTH_R]))
    top = p[NOSE_BOTTOM] + 0.35 * (p[UPPER_LIP] - p[NOSE_BOTTOM])
    bottom = p[CHIN]
    left = min(p[MOUTH_R][0], p[MOUTH_L][0]) - 0.5 * mouth_w
    fingers = []
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    for i in range(4):
        y0, y1 = (top + (bottom - top) * (i / 4))[1], (top + (bottom - top) * ((i + 1.05) / 4))[1]
        right = max(p[MOUTH_R][0], p[MOUTH_L][0]) + (0.8 - 0.15 * abs(i - 1.3)) * mouth_w
        cx, cy, rx, ry = (left + right) / 2, (y0 + y1) / 2, (right - left) / 2, (y1 - y0) / 2
        # a superellipse: a rounded rectangle, as a finger seen from the front
        c, sn = np.cos(t), np.sin(t)
        fingers.append(np.stack([cx + rx * np.sign(c) * np.abs(c) ** 0.35,
                                 cy + ry * np.sign(sn) * np.abs(sn) ** 0.6], 1))
    return fingers


def _beard_outline(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A full beard: the jaw up to just under the nose, minus the lips."""
    mouth_w = float(np.linalg.norm(p[MOUTH_L] - p[MOUTH_R]))
    under_nose = p[NOSE_BOTTOM] + 0.3 * (p[UPPER_LIP] - p[NOSE_BOTTOM])
    side = np.array([0.3 * mouth_w, 0.0])
    outline = np.vstack([p[JAW[1:18]], [p[MOUTH_L] + side], [under_nose], [p[MOUTH_R] - side]])
    lips = p[LIPS_OUTER]
    lips = lips.mean(0) + (lips - lips.mean(0)) * 1.08
    return outline, lips


def _polygon_alpha(polys: list[np.ndarray], size: tuple[int, int], holes: list[np.ndarray] = (),
                   blur: float = 0.6) -> np.ndarray:
    w, h = size
    canvas = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(canvas)
    for poly in polys:
        draw.polygon([tuple(v) for v in (poly * SUPERSAMPLE).tolist()], fill=255)
    for hole in holes:
        draw.polygon([tuple(v) for v in (hole * SUPERSAMPLE).tolist()], fill=0)
    small = canvas.resize((w, h), Image.BOX).filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(small, np.float32)[:, :, None] / 255.0


def draw_occluder(image_bgr: np.ndarray, points: np.ndarray, style: str, key: str = "") -> np.ndarray:
    """``image_bgr`` with a mask (``MASK_STYLES``) or a hard negative
    (``NEGATIVE_STYLES``) drawn over the lower face; deterministic per ``key``."""
    if style not in MASK_STYLES + NEGATIVE_STYLES:
        raise ValueError(f"unknown style {style!r}")
    h, w = image_bgr.shape[:2]
    rgb = image_bgr[..., ::-1].astype(np.float32)
    rng = _rng(f"{key}/{style}")
    tex = _texture(style, (w, h), points, rng, rgb)
    if style in MASK_STYLES:
        alpha = _polygon_alpha([mask_outline(points)], (w, h))
        surface = tex * _shade(points, (w, h))
        out = rgb * (1 - alpha) + surface * alpha
    elif style == "hand_over_mouth":
        fingers = _hand_outline(points)
        # each finger drawn on its own and slightly shrunk inside, so the
        # gaps between fingers read as darker creases
        alpha = _polygon_alpha(fingers, (w, h), blur=0.8)
        creases = np.clip(sum(_polygon_alpha([f], (w, h), blur=2.0) for f in fingers), 0, 1)
        out = rgb * (1 - alpha) + tex * (0.75 + 0.25 * creases) * alpha
    else:  # beard: hair keeps some of the skin's shading underneath
        outline, lips = _beard_outline(points)
        alpha = _polygon_alpha([outline], (w, h), [lips], blur=1.5) * 0.85
        out = rgb * (1 - alpha) + (tex * 0.7 + rgb * 0.3 * 0.35) * alpha
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8)[..., ::-1])
