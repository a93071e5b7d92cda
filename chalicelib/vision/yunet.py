"""YuNet (OpenCV Zoo face_detection_yunet_2023mar): a tiny anchor-based face
detector with five landmarks, run as the engine's last-resort fallback when
CenterFace finds nothing (role ``detector_fallback``, models/convert_yunet.py).

The decoding follows OpenCV's ``FaceDetectorYN`` (modules/objdetect/src/
face_detect.cpp) and matches it to 1e-4 px on real images
(tests/vision/test_yunet.py), in numpy:

- input: BGR 0-255 float32 NCHW, padded bottom/right with zeros to a
  multiple of 32 (no normalisation);
- per stride s in 8, 16, 32 and grid cell (row, col), index row * cols + col:
  score = sqrt(clip(cls) * clip(obj)); cx = (col + dx) * s, cy = (row + dy) * s,
  w = exp(dw) * s, h = exp(dh) * s; landmark k = ((col + kx) * s, (row + ky) * s);
- NMS as cv::dnn::NMSBoxes on integer (x, y, w, h) rectangles, IoU 0.3.

Landmarks come in CenterFace's order (both nets were trained on it): the
subject's right eye, which is the eye with the smaller x on an upright face,
the other eye, the nose tip, the mouth corner with the smaller x, the other.
Large pictures are brought down to a long side of ``max_side`` first (area
interpolation); small ones are not upscaled (it does not help YuNet).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.observability import traced
from chalicelib.vision import pixels
from chalicelib.vision.detector import RawDetection

STRIDES = (8, 16, 32)

# Score threshold. As the fallback (run only when CenterFace found nothing)
# 0.6 gave the best measured trade-off (scratch YuNet report, 2026-12-03):
# UTKFace chips no-face 0.23 % -> 0.03 % (the same at 0.5-0.8, 0.30 % at
# OpenCV's default 0.9), Caltech recall eye >= 20 px 99.63 -> 99.72 % with
# FP/image unchanged (0.223). Alone on Caltech, 0.5 / 0.6 / 0.7 / 0.9 found
# 99.36 / 99.26 / 99.08 / 93.20 % of the larger faces at 0.290 / 0.243 /
# 0.201 / 0.022 FP per image: 0.9 loses half the small faces, 0.5 adds FPs
# for one face more.
SCORE_THRESHOLD = 0.6
NMS_IOU = 0.3
TOP_K = 5000
MAX_SIDE = 640


def nms_rect2i(xywh: np.ndarray, scores: np.ndarray, iou: float, top_k: int = TOP_K) -> np.ndarray:
    """cv::dnn::NMSBoxes on Rect2i(int(x), int(y), int(w), int(h)): greedy,
    best score first (stable for ties), IoU of the integer rectangles;
    indices kept."""
    r = np.trunc(xywh).astype(np.int64)
    x1, y1 = r[:, 0], r[:, 1]
    x2, y2 = x1 + r[:, 2], y1 + r[:, 3]
    areas = r[:, 2] * r[:, 3]
    order = np.argsort(-scores, kind="stable")[:top_k]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def decode(outputs: dict[str, np.ndarray], pad_h: int, pad_w: int, threshold: float) -> np.ndarray:
    """Faces (M, 15) laid out as OpenCV's: x, y, w, h, 10 landmark
    coordinates, score; only anchors scoring >= ``threshold``."""
    faces = []
    for s in STRIDES:
        cols = pad_w // s
        cls = np.clip(outputs[f"cls_{s}"].reshape(-1), 0, 1)
        obj = np.clip(outputs[f"obj_{s}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        idx = np.nonzero(score >= threshold)[0]
        if idx.size == 0:
            continue
        r, c = (idx // cols).astype(np.float32), (idx % cols).astype(np.float32)
        b = outputs[f"bbox_{s}"].reshape(-1, 4)[idx]
        cx, cy = (c + b[:, 0]) * s, (r + b[:, 1]) * s
        w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        k = outputs[f"kps_{s}"].reshape(-1, 5, 2)[idx]
        lx = (k[:, :, 0] + c[:, None]) * s
        ly = (k[:, :, 1] + r[:, None]) * s
        lm = np.stack([lx, ly], axis=2).reshape(-1, 10)
        faces.append(np.concatenate([np.stack([cx - w / 2, cy - h / 2, w, h], 1), lm,
                                     score[idx, None]], 1).astype(np.float32))
    if not faces:
        return np.zeros((0, 15), np.float32)
    return np.concatenate(faces, 0)


class YuNet:
    def __init__(self, model_path: str | Path, score_threshold: float = SCORE_THRESHOLD,
                 nms_iou: float = NMS_IOU, max_side: int = MAX_SIDE):
        self.session = create_session(model_path)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_side = max_side

    def forward(self, image_bgr: np.ndarray, threshold: float) -> np.ndarray:
        """OpenCV-layout faces (M, 15) in the pixels of ``image_bgr`` as
        given (FaceDetectorYN.detect with the input size set to the image's)."""
        h, w = image_bgr.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :h, :w] = image_bgr.transpose(2, 0, 1)
        out = dict(zip(self.output_names, self.session.run(None, {self.input_name: blob}), strict=True))
        faces = decode(out, ph, pw, threshold)
        if faces.shape[0] > 1:
            faces = faces[nms_rect2i(faces[:, :4], faces[:, 14], self.nms_iou)]
        return faces

    @traced("detect.fallback")
    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> RawDetection:
        """Faces in ``image_bgr`` (BGR uint8, HxWx3) in its own pixels:
        boxes x1, y1, x2, y2, scores, (N, 5, 2) landmarks."""
        thr = self.score_threshold if threshold is None else threshold
        h, w = image_bgr.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        img = image_bgr
        if scale < 1.0:
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            img = pixels.resize(image_bgr, (nw, nh), interpolation="area")
        f = self.forward(img, thr)
        sx, sy = w / img.shape[1], h / img.shape[0]
        boxes = np.stack([f[:, 0], f[:, 1], f[:, 0] + f[:, 2], f[:, 1] + f[:, 3]], 1)
        boxes = (boxes * np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)
        landmarks = (f[:, 4:14].reshape(-1, 5, 2) * np.array([sx, sy], np.float32)).astype(np.float32)
        return RawDetection(boxes, f[:, 14].copy(), landmarks)
