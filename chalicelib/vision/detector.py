"""CenterFace: an anchor-free face detector with five landmarks.

The network sees an RGB 0-255 image whose sides are multiples of 32 and
answers, at stride 4, a face-centre heatmap, log box sizes, sub-pixel centre
offsets and landmark offsets relative to the box (y before x, as trained).

Scale strategy: the first pass sees the image with its short side at 320
px (~10 ms at 427x320 instead of ~30 ms at 640x480 on two cores), which
keeps faces of FRS's minimum size (80 px) at >= 24 px; small pictures are
upscaled up to 2x. Only when that pass finds nothing does a second pass run
at the image's own resolution (long side capped at 1280) for small faces.
When both find nothing, a last pass sees the image framed by a black
border (TIGHT_CROP_PAD per side): a face that fills the whole frame (a
tight crop, forehead or chin cut off) is otherwise often missed.
A face found small in the coarse pass is re-detected on a crop at that
resolution, so its box and landmarks are as sharp as a full pass's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.observability import traced
from chalicelib.vision import pixels

STRIDE = 4

# Border per side, as a fraction of that side, for the tight-crop pass.
TIGHT_CROP_PAD = 0.5


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
    def __init__(self, model_path: str | Path, score_threshold: float = 0.5, nms_iou: float = 0.3,
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
        resized = image_bgr if (nw, nh) == (w, h) else pixels.resize(
            image_bgr, (nw, nh), interpolation="area" if scale < 1 else "linear")
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
    def decode(heat: np.ndarray, size: np.ndarray, offset: np.ndarray, lms: np.ndarray,
               threshold: float) -> RawDetection:
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
    def coarse_scale(self, h: int, w: int) -> float:
        """First pass: short side brought to ``min_side`` (up at most 2x),
        long side at most ``max_side``. An 80 px face (FRS's minimum) stays
        >= ~24 px, which CenterFace finds reliably, at a fraction of the
        full-resolution cost."""
        long_side, short_side = max(h, w), min(h, w)
        return min(self.min_side / short_side, 2.0, self.max_side / long_side)

    def fine_scale(self, h: int, w: int) -> float:
        """Second pass, only when the first finds nothing: the image's own
        resolution (long side capped), for pictures whose faces are small."""
        return min(1.0, self.max_side / max(h, w))

    @traced("detect")
    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> RawDetection:
        thr = self.score_threshold if threshold is None else threshold
        h, w = image_bgr.shape[:2]
        coarse = self.coarse_scale(h, w)
        det = self.run_at_scale(image_bgr, coarse, thr)
        fine = self.fine_scale(h, w)
        if det.scores.size == 0 and fine > coarse * 1.25:
            det = self.run_at_scale(image_bgr, fine, thr)
        if det.scores.size == 0:
            det = self.detect_tight_crop(image_bgr, thr)
        if det.scores.size:
            keep = nms(det.boxes, det.scores, self.nms_iou)
            det = RawDetection(det.boxes[keep], det.scores[keep], det.landmarks[keep])
            if fine > coarse * 1.25:
                self.refine_small(image_bgr, det, coarse, fine, thr)
        return det

    def detect_tight_crop(self, image_bgr: np.ndarray, thr: float) -> RawDetection:
        """Last resort when no pass found a face: the image framed by a
        black border of TIGHT_CROP_PAD x its width/height per side, seen at
        the framed image's coarse scale. A face filling the frame (a tight
        crop: chin or forehead cut off) then has the context CenterFace
        was trained with. The image is resized first and framed after, so
        the border costs no resizing. Boxes and landmarks come back in the
        original pixels, boxes clipped to the image."""
        h, w = image_bgr.shape[:2]
        scale = self.coarse_scale(round(h * (1 + 2 * TIGHT_CROP_PAD)),
                                  round(w * (1 + 2 * TIGHT_CROP_PAD)))
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = image_bgr if (nw, nh) == (w, h) else pixels.resize(
            image_bgr, (nw, nh), interpolation="area" if scale < 1 else "linear")
        px, py = round(nw * TIGHT_CROP_PAD), round(nh * TIGHT_CROP_PAD)
        framed = np.zeros((nh + 2 * py, nw + 2 * px) + image_bgr.shape[2:], image_bgr.dtype)
        framed[py:py + nh, px:px + nw] = small
        det = self.run_at_scale(framed, 1.0, thr)
        sx, sy = w / nw, h / nh
        det.boxes -= np.array([px, py, px, py], dtype=np.float32)
        det.boxes *= np.array([sx, sy, sx, sy], dtype=np.float32)
        det.landmarks -= np.array([px, py], dtype=np.float32)
        det.landmarks *= np.array([sx, sy], dtype=np.float32)
        np.clip(det.boxes, 0, np.array([w, h, w, h], dtype=np.float32), out=det.boxes)
        return det

    def refine_small(self, image_bgr: np.ndarray, det: RawDetection, coarse: float, fine: float,
                     thr: float) -> None:
        """Faces that came out small in the coarse pass get coarse
        landmarks; re-detect each on a crop around it at the fine scale and
        keep the sharper box and landmarks (in place)."""
        h, w = image_bgr.shape[:2]
        for i, (x1, y1, x2, y2) in enumerate(det.boxes):
            if (x2 - x1) * coarse >= REFINE_BELOW_PX:
                continue
            bw, bh = x2 - x1, y2 - y1
            cx0, cy0 = int(max(0, x1 - bw)), int(max(0, y1 - bh))
            cx1, cy1 = int(min(w, x2 + bw)), int(min(h, y2 + bh))
            if cx1 - cx0 < 16 or cy1 - cy0 < 16:
                continue
            sub = self.run_at_scale(image_bgr[cy0:cy1, cx0:cx1], fine, thr)
            if sub.scores.size == 0:
                continue
            sub.boxes += np.array([cx0, cy0, cx0, cy0], dtype=np.float32)
            sub.landmarks += np.array([cx0, cy0], dtype=np.float32)
            ious = box_iou(det.boxes[i], sub.boxes)
            j = int(np.argmax(ious))
            if ious[j] >= 0.4:
                det.boxes[i], det.landmarks[i] = sub.boxes[j], sub.landmarks[j]
                det.scores[i] = max(det.scores[i], sub.scores[j])


# Faces narrower than this in the coarse pass's input get a fine look.
REFINE_BELOW_PX = 64


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x1, y1, x2, y2 box with each of (N, 4)."""
    w = np.maximum(0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    h = np.maximum(0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)
