"""The face engine: detection, alignment + embedding and calibrated
similarity behind one object per process. Each model loads on first use,
so a detect-only request never loads the embedder."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from chalicelib.inference.manifest import has_model, load_manifest, model_entry, short_id
from chalicelib.lazy import Lazy
from chalicelib.vision.calibration import Calibration, load_calibration
from chalicelib.vision.detector import CenterFace
from chalicelib.vision.embedder import DlibResNet
from chalicelib.vision.yunet import YuNet

log = logging.getLogger(__name__)


@dataclass
class DetectedFace:
    box: tuple[int, int, int, int]  # x, y, w, h in original-image pixels
    landmarks: np.ndarray           # (5, 2) float32: eyes, nose tip, mouth corners, image order
    score: float

    def bounding_box(self) -> dict:
        x, y, w, h = self.box
        return {"top_left_x": int(x), "top_left_y": int(y), "width": int(w), "height": int(h)}


class FaceEngine:
    # Flip test-time augmentation: averages the descriptor of the chip and
    # its mirror. Part of the embedding recipe: stored vectors and the
    # calibration were made with it, so it is fixed, not a per-call option.
    FLIP_TTA = True

    def __init__(self):
        self._lock = threading.Lock()
        self._detector: CenterFace | None = None
        self._embedder: DlibResNet | None = None
        self._embedder_id: str | None = None
        self._declared_id: str | None = None
        self._calibration: Calibration | None = None

    # -- lazy model loading ----------------------------------------------------
    @property
    def detector(self) -> CenterFace:
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    _, path = model_entry("detector")
                    self._detector = CenterFace(path)
        return self._detector

    # The fallback detector (manifest role detector_fallback, when built):
    # runs only on images where the detector finds no face.
    _fallback: YuNet | None = None
    _fallback_looked = False

    @property
    def fallback_detector(self) -> YuNet | None:
        if not self._fallback_looked:
            with self._lock:
                if not self._fallback_looked:
                    if has_model("detector_fallback"):
                        _, path = model_entry("detector_fallback")
                        self._fallback = YuNet(path)
                    self._fallback_looked = True
        return self._fallback

    @property
    def embedder(self) -> DlibResNet:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    entry, path = model_entry("embedder")
                    embedder = DlibResNet(entry, path, flip_tta=self.FLIP_TTA)
                    # Vectors are comparable only under the same weights
                    # and the same alignment/augmentation recipe.
                    self._embedder_id = short_id(entry, path) + "+" + embedder.recipe_id()
                    declared = self._declared_model_id(entry, path)
                    if declared != self._embedder_id:
                        # Face sets are created with the declared id (no load).
                        log.warning("embedder %s differs from the id its manifest declares (%s); "
                                    "check the manifest's input shape", self._embedder_id,
                                    declared)
                    self._embedder = embedder
        return self._embedder

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            with self._lock:
                if self._calibration is None:
                    try:
                        manifest = load_manifest()
                    except Exception:
                        manifest = None
                    calibration = load_calibration(manifest)
                    fitted_for = calibration.info.get("recipe", {}).get("model")
                    if fitted_for and self._embedder_id and fitted_for != self._embedder_id:
                        # Thresholds would silently mean something else.
                        log.warning("similarity calibration was fitted for %s but the engine runs %s; "
                                    "rerun bench/fit_calibration.py", fitted_for, self._embedder_id)
                    self._calibration = calibration
        return self._calibration

    # -- capabilities ------------------------------------------------------------
    def detect(self, image: np.ndarray, threshold: float | None = None) -> list[DetectedFace]:
        """Every face in ``image`` (BGR uint8), largest box first."""
        raw = self.detector.detect(image, threshold)
        if raw.scores.size == 0 and self.fallback_detector is not None:
            # Last resort (faces CenterFace misses even in its tight-crop
            # pass); its scores are on its own scale, so its own threshold.
            raw = self.fallback_detector.detect(image)
        h, w = image.shape[:2]
        faces = []
        for (x1, y1, x2, y2), score, lm in zip(raw.boxes, raw.scores, raw.landmarks):
            x, y = int(round(max(0.0, x1))), int(round(max(0.0, y1)))
            right, bottom = int(round(min(float(w), x2))), int(round(min(float(h), y2)))
            if right - x < 1 or bottom - y < 1:
                continue
            faces.append(DetectedFace((x, y, right - x, bottom - y),
                                      np.asarray(lm, np.float32), float(score)))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def align(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The aligned chip the embedder sees (BGR)."""
        return self.embedder.chip(image, face.landmarks)

    def embed(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """(D,) float32 L2-normalised descriptor of one detected face."""
        return self.embed_many(image, [face])[0]

    def embed_many(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.embedding_dim), np.float32)
        chips = [self.align(image, f) for f in faces]
        return self.embedder.embed_chips(chips)

    @property
    def embedding_dim(self) -> int:
        return self.embedder.dim

    @property
    def model_id(self) -> str:
        """What the vectors this engine produces are comparable with: embedder
        weights (manifest sha256) + alignment/augmentation recipe. Answered
        from the manifest without loading the model, so recording it on a new
        face set or checking a set against it costs no model load; once the
        embedder is loaded, the id computed from the loaded model."""
        if self._embedder_id is not None:
            return self._embedder_id
        if self._declared_id is None:
            self._declared_id = self._declared_model_id(*model_entry("embedder"))
        return self._declared_id

    def _declared_model_id(self, entry: dict, path) -> str:
        return short_id(entry, path) + "+" + DlibResNet.declared_recipe_id(entry, flip_tta=self.FLIP_TTA)

    def similarity(self, cos):
        return self.calibration.similarity(cos)

    def cosine_for_similarity(self, s):
        return self.calibration.cosine_for_similarity(s)


_engine: Lazy[FaceEngine] = Lazy(FaceEngine)


def get_engine() -> FaceEngine:
    return _engine.get()
