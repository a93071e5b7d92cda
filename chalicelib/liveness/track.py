"""Follow the largest face through the sampled frames and measure it.

Face Mesh tracks from its own previous landmarks (MediaPipe's tracking
scheme), so BlazeFace runs only every ``DETECT_EVERY`` samples - to count
faces and to switch to a larger face - or when the mesh loses the face.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from chalicelib.liveness import geometry, planar
from chalicelib.liveness.mediapipe import (
    Detector,
    Face,
    FaceMesh,
    Iris,
    Roi,
    get_iris,
    get_models,
    roi_from_face,
    roi_from_mesh,
)
from chalicelib.liveness.video import Frame
from chalicelib.vision import pixels

DETECT_EVERY = 3
MESH_MIN_PRESENCE = 0.5
# A second face counts when it is at least this fraction of the largest one;
# small background faces are not "two faces" for a selfie challenge.
SECOND_FACE_RATIO = 0.5
# Switch the track when the detector's largest face is clearly bigger.
SWITCH_RATIO = 1.3
CROP_SIDE = 224
# A face cannot move more than this many face sizes, or change size by more
# than JUMP_SCALE, between samples at most JUMP_MAX_DT apart in one
# continuous recording; more means a cut (an edited or spliced video).
JUMP_SHIFT = 0.8
JUMP_SCALE = 1.6
JUMP_MAX_DT = 0.35
# Across a gap with no face (a profile view the mesh cannot follow, a hand
# in front of the face) the person may have moved: only larger leaps count.
GAP_SHIFT = 2.0
GAP_SCALE = 2.0


@dataclass
class Sample:
    t: float
    found: bool = False
    yaw: float = np.nan
    pitch: float = np.nan
    mouth: float = np.nan
    eye: float = np.nan
    presence: float = 0.0
    box: np.ndarray | None = None          # x1, y1, x2, y2 in original pixels
    faces: int | None = None               # faces >= SECOND_FACE_RATIO (when detected)
    motion: float = np.nan                 # mean abs change of the face region (0-255)
    sharpness: float = 0.0
    brightness: float = 0.0
    crop: np.ndarray | None = None         # BGR face crop for identity checks
    crop_landmarks: np.ndarray | None = None  # (5, 2) in crop pixels, image order
    crop_m: np.ndarray | None = None       # (2, 3) frame (downscaled) -> crop affine
    jump: bool = False                     # the face teleported since the last sample
    mesh: np.ndarray | None = None         # (468, 3) points of this frame (transient)
    rigid: np.ndarray | None = None        # (K, 2) rigid mesh points (planar.RIGID_IDX), frame px


@dataclass
class Track:
    samples: list[Sample] = field(default_factory=list)
    frame_size: tuple[int, int] = (0, 0)   # original width, height
    best_frame: np.ndarray | None = None   # BGR (downscaled) frame for the picture
    best_index: int = -1
    best_score: float = -1.0


def _iou(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def five_points(pts: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip, mouth corners in image order (smaller x first)."""
    return np.array([pts[[33, 133], :2].mean(0), pts[[263, 362], :2].mean(0),
                     pts[1, :2], pts[61, :2], pts[291, :2]])


def _crop(bgr: np.ndarray, box: np.ndarray,
          pts5: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crop, its five points, the frame->crop affine)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * 1.6
    k = CROP_SIDE / max(side, 1.0)
    m = np.array([[k, 0, CROP_SIDE / 2 - k * cx], [0, k, CROP_SIDE / 2 - k * cy]])
    crop = pixels.warp_affine(bgr, m, (CROP_SIDE, CROP_SIDE), border="replicate")
    return crop, pts5 * k + m[:, 2], m


def track(frames: Iterable[Frame], frame_size: tuple[int, int], eyelids: bool = False) -> Track:
    """``eyelids``: measure eye openness with the iris model (for blinks)
    instead of the mesh's eye points."""
    det, mesh_model = get_models()
    iris = get_iris() if eyelids else None
    out = Track(frame_size=frame_size)
    roi = None
    prev_patch = None
    last = None
    for i, fr in enumerate(frames):
        roi = _measure(fr, i, det, mesh_model, out, roi)
        s = out.samples[-1]
        if iris is not None and s.found:
            assert s.mesh is not None  # a found sample carries its mesh until here
            s.eye = _eyelids(iris, fr.bgr, s.mesh)
        s.mesh = None  # only needed above; keeps the track small
        if s.found:
            assert s.box is not None and s.crop is not None  # set together with found
            if last is not None:
                assert last.box is not None
                near = s.t - last.t <= JUMP_MAX_DT
                s.jump = _jumped(last.box, s.box, JUMP_SHIFT if near else GAP_SHIFT,
                                 JUMP_SCALE if near else GAP_SCALE)
            last = s
        # Motion of the face region between consecutive samples; a frozen
        # frame (photo attack, still image re-encoded) stays near 0.
        if s.found and s.crop is not None:
            g = pixels.bgr_to_gray(s.crop)
            patch = pixels.resize(g, (64, 64), interpolation="area").astype(np.float32)
            if prev_patch is not None:
                s.motion = float(np.abs(patch - prev_patch).mean())
            prev_patch = patch
        else:
            prev_patch = None
    return out


def _measure(fr: Frame, i: int, det: Detector, mesh_model: FaceMesh, out: Track,
             roi: Roi | None) -> Roi | None:
    """Measure one frame into ``out``; answer the ROI for the next frame."""
    rgb = pixels.bgr_to_rgb(fr.bgr)
    s = Sample(t=fr.t)
    faces = None
    if roi is None or i % DETECT_EVERY == 0:
        faces = det.detect(rgb)
        big = [f for f in faces if faces and f.size >= SECOND_FACE_RATIO * faces[0].size]
        s.faces = len(big)
        if faces:
            cand = roi_from_face(faces[0])
            if roi is None or faces[0].size > SWITCH_RATIO * roi[2] / 1.5 \
                    and not _overlaps(faces[0], roi):
                roi = cand
    mesh = mesh_model.run(rgb, roi) if roi is not None else None
    if (mesh is None or mesh.presence < MESH_MIN_PRESENCE) and faces is None:
        faces = det.detect(rgb)
        big = [f for f in faces if f.size >= SECOND_FACE_RATIO * faces[0].size] if faces else []
        s.faces = len(big)
        mesh = mesh_model.run(rgb, roi_from_face(faces[0])) if faces else None
    elif (mesh is None or mesh.presence < MESH_MIN_PRESENCE) and faces:
        mesh = mesh_model.run(rgb, roi_from_face(faces[0]))
    if mesh is None or mesh.presence < MESH_MIN_PRESENCE:
        out.samples.append(s)
        return None
    next_roi = roi_from_mesh(mesh)
    pts = mesh.points
    inv = 1.0 / fr.scale
    pts_full = pts.copy()
    pts_full[:, :2] *= inv
    s.found = True
    s.presence = mesh.presence
    # The decoded frame's own size: phone clips carry a rotation that FFmpeg
    # applies, so the container's width/height may be swapped.
    h, w = fr.bgr.shape[:2]
    s.yaw, s.pitch = geometry.head_pose(pts_full, (w * inv, h * inv))
    s.mouth = geometry.mouth_open(pts)
    s.eye = geometry.eye_open(pts)
    s.mesh = pts
    s.rigid = pts[planar.RIGID_IDX, :2].astype(np.float32)
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    box_small = np.array([lo[0], lo[1], hi[0], hi[1]])
    s.box = box_small * inv
    s.crop, s.crop_landmarks, s.crop_m = _crop(fr.bgr, box_small, five_points(pts))
    g = pixels.bgr_to_gray(s.crop)
    inner = g[CROP_SIDE // 5: -CROP_SIDE // 5, CROP_SIDE // 5: -CROP_SIDE // 5]
    s.sharpness = pixels.laplacian_variance(inner)
    s.brightness = float(inner.mean())
    out.samples.append(s)
    # Picture: big, frontal, sharp face. Sharpness saturates so that a
    # noisy frame does not beat a clean frontal one.
    frontal = max(0.0, 1.0 - (abs(s.yaw) + abs(s.pitch)) / 60.0)
    score = (s.box[2] - s.box[0]) * frontal * min(1.0, s.sharpness / 50.0) * s.presence
    if s.faces is not None and s.faces > 1:
        score *= 0.5
    if score > out.best_score:
        out.best_score, out.best_frame, out.best_index = score, fr.bgr, len(out.samples) - 1
    return next_roi


def _eyelids(iris: Iris, bgr: np.ndarray, pts: np.ndarray) -> float:
    """Lid gap of the better-seen eye (the wider one: a turned head hides
    the far eye); one eye is enough for a blink and halves the cost."""
    rgb = pixels.bgr_to_rgb(bgr)
    if np.linalg.norm(pts[33, :2] - pts[133, :2]) >= np.linalg.norm(pts[362, :2] - pts[263, :2]):
        return geometry.lid_open(iris.eyelids(rgb, pts[33, :2], pts[133, :2], flip=False))
    return geometry.lid_open(iris.eyelids(rgb, pts[362, :2], pts[263, :2], flip=True))


def _jumped(a: np.ndarray, b: np.ndarray, max_shift: float, max_scale: float) -> bool:
    sa, sb = max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])
    shift = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
    return bool(shift > max_shift * max(sa, sb) or max(sa, sb) > max_scale * min(sa, sb))


def _overlaps(face: Face, roi: Roi) -> bool:
    cx, cy, side, _ = roi
    half = side / 3.0  # roi side is 1.5x the face; compare with the face box
    return _iou(face.box, (cx - half, cy - half, cx + half, cy + half)) > 0.3
