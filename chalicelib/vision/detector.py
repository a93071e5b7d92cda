"""CenterFace: an anchor-free face detector with five landmarks.

The network sees an RGB 0-255 image whose sides are multiples of 32 and
answers, at stride 4, a face-centre heatmap, log box sizes, sub-pixel centre
offsets and landmark offsets relative to the box (y before x, as trained).

Scale strategy: one pass at the image's own resolution (capped so the long
side is at most ``max_side``) costs ~20 ms at 640x480 on two cores and finds
faces from ~10 px up; very small images are upscaled so their faces reach
that size, and when nothing is found a half-scale pass catches faces that
fill the frame beyond what the network was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .runtime import create_session

STRIDE = 4


@dataclass
class RawDetection:
    boxes: np.ndarray      # (N, 4) float32 x1, y1, x2, y2 in original pixels
    scores: np.ndarray     # (N,)
    landmarks: np.ndarray  # (N, 5, 2)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores)
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-6)
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


class CenterFace:
    def __init__(self, model_path, score_threshold: float = 0.5, nms_iou: float = 0.3,
                 max_side: int = 1280, min_side: int = 320):
        self.session = create_session(model_path)
        self.input_name = self.session.get_inputs()[0].name
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_side = max_side
        self.min_side = min_side

    # -- one network pass ------------------------------------------------------
    def run_at_scale(self, image_bgr: np.ndarray, scale: float, threshold: float) -> RawDetection:
        h, w = image_bgr.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        resized = image_bgr if (nw, nh) == (w, h) else cv2.resize(
            image_bgr, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        # Pad bottom/right to a multiple of 32 instead of stretching, so boxes
        # keep the image's aspect ratio.
        ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        blob[0, :, :nh, :nw] = resized[:, :, ::-1].transpose(2, 0, 1)
        heat, size, offset, lms = self.session.run(None, {self.input_name: blob})
        det = self.decode(heat[0, 0], size[0], offset[0], lms[0], threshold)
        sx, sy = w / nw, h / nh
        det.boxes *= np.array([sx, sy, sx, sy], dtype=np.float32)
        det.landmarks *= np.array([sx, sy], dtype=np.float32)
        return det

    @staticmethod
    def decode(heat, size, offset, lms, threshold) -> RawDetection:
        ys, xs = np.nonzero(heat > threshold)
        scores = heat[ys, xs].astype(np.float32)
        bh = np.exp(size[0, ys, xs]) * STRIDE
        bw = np.exp(size[1, ys, xs]) * STRIDE
        cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
        cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
        x1, y1 = cx - bw / 2, cy - bh / 2
        boxes = np.stack([x1, y1, x1 + bw, y1 + bh], axis=1).astype(np.float32)
        # Landmark channels are (y0, x0, y1, x1, ...) as fractions of the box.
        lm = lms[:, ys, xs].T.reshape(-1, 5, 2)[:, :, ::-1]
        landmarks = (lm * np.stack([bw, bh], 1)[:, None, :]
                     + np.stack([x1, y1], 1)[:, None, :]).astype(np.float32)
        return RawDetection(boxes, scores, landmarks)

    # -- full detection ----------------------------------------------------------
    def base_scale(self, h: int, w: int) -> float:
        long_side, short_side = max(h, w), min(h, w)
        if long_side > self.max_side:
            return self.max_side / long_side
        if short_side < self.min_side:
            # Small pictures hold small faces; enlarge so they reach ~10 px+.
            return min(self.min_side / short_side, 2.0, self.max_side / long_side)
        return 1.0

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> RawDetection:
        thr = self.score_threshold if threshold is None else threshold
        h, w = image_bgr.shape[:2]
        scale = self.base_scale(h, w)
        det = self.run_at_scale(image_bgr, scale, thr)
        if det.scores.size == 0 and min(h, w) * scale >= 2 * 160:
            # A face filling the frame can be too big for the network.
            det = self.run_at_scale(image_bgr, scale / 2, thr)
        if det.scores.size:
            keep = nms(det.boxes, det.scores, self.nms_iou)
            det = RawDetection(det.boxes[keep], det.scores[keep], det.landmarks[keep])
        return det
