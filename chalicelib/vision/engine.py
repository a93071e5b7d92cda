"""The face engine: detection, alignment + embedding and calibrated
similarity behind one object per process. Each model loads on first use,
so a detect-only request never loads an embedder.

Vectors are comparable only when one recogniser (embedder weights +
alignment recipe + similarity map) made them. The default recogniser is the
manifest's ``embedder``; a face set made by another one keeps using it
(``recognizer(model_id)``), so an upgrade never breaks a set.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.errors import INTERNAL, FrsError
from chalicelib.inference.manifest import has_model, load_manifest, model_dir, model_entry, short_id
from chalicelib.lazy import Lazy
from chalicelib.vision import quality, registry, rotation
from chalicelib.vision.attributes import AttributeModels
from chalicelib.vision.calibration import Calibration, load_calibration
from chalicelib.vision.detector import CenterFace, box_iou
from chalicelib.vision.embedder import ChipEmbedder, EmbedderFamily
from chalicelib.vision.quality import Quality
from chalicelib.vision.yunet import YuNet

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "embedder"  # the manifest role of the default recogniser


@dataclass
class DetectedFace:
    box: tuple[int, int, int, int]  # x, y, w, h in original-image pixels
    landmarks: np.ndarray           # (5, 2) float32: eyes, nose tip, mouth corners, image order
    score: float
    # Clockwise turn (0/90/180/270) that makes the face upright (FRS face_angle).
    angle: int = 0

    def bounding_box(self) -> dict:
        x, y, w, h = self.box
        return {"top_left_x": int(x), "top_left_y": int(y), "width": int(w), "height": int(h)}


@dataclass(frozen=True)
class Orientation:
    angle: int                       # clockwise turn that makes the face upright
    landmarks: np.ndarray | None     # (5, 2) found in that turn, image pixels; None: not found


class Recognizer:
    """One embedder with its alignment recipe and similarity map."""

    def __init__(self, role: str, family: EmbedderFamily, entry: dict, path: Path):
        self.role, self.family_name = role, family.name
        self.embedder = ChipEmbedder(family, entry, path)
        self.model_id = short_id(entry, path) + "+" + self.embedder.recipe_id()
        self._calibration: Calibration | None = None
        self._lock = threading.Lock()

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            with self._lock:
                if self._calibration is None:
                    try:
                        manifest: dict | None = load_manifest()
                    except FrsError:
                        manifest = None
                    calibration = load_calibration(self.family_name, manifest)
                    fitted_for = calibration.info.get("recipe", {}).get("model")
                    if fitted_for and fitted_for != self.model_id:
                        # Thresholds would silently mean something else.
                        log.warning("similarity calibration was fitted for %s but the engine runs %s; "
                                    "rerun bench/fit_calibration.py", fitted_for, self.model_id)
                    self._calibration = calibration
        return self._calibration

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def align(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        return self.embedder.chip(image, face.landmarks)

    def embed_many(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.dim), np.float32)
        return self.embedder.embed_chips([self.align(image, f) for f in faces])

    def similarity(self, cos: Any) -> Any:
        return self.calibration.similarity(cos)

    def cosine_for_similarity(self, s: Any) -> Any:
        return self.calibration.cosine_for_similarity(s)


def declared_model_id(role: str, entry: dict, path: Path) -> str:
    """A recogniser's ``model_id`` from its manifest entry alone (no model load)."""
    family = registry.EMBEDDERS[registry.family_of(role, entry)]
    return short_id(entry, path) + "+" + ChipEmbedder.declared_recipe_id(family, entry)


class FaceEngine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector: CenterFace | None = None
        self._recognizers: dict[str, Recognizer] = {}
        self._declared: dict[str, str] | None = None

    # -- lazy model loading ----------------------------------------------------
    @property
    def detector(self) -> CenterFace:
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    entry, path = model_entry("detector")
                    make = registry.DETECTORS[registry.family_of("detector", entry)]
                    self._detector = make(path)
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
                        entry, path = model_entry("detector_fallback")
                        make = registry.DETECTORS[registry.family_of("detector_fallback", entry)]
                        self._fallback = make(path)
                    self._fallback_looked = True
        return self._fallback

    _attributes: AttributeModels | None = None

    def attribute_models(self) -> AttributeModels:
        """The opt-in attribute backends (chalicelib/vision/attributes.py),
        each loaded on the first request that asks for its capability."""
        if self._attributes is None:
            with self._lock:
                if self._attributes is None:
                    self._attributes = AttributeModels()
        return self._attributes

    def declared_ids(self) -> dict[str, str]:
        """Manifest role -> model_id of every built embedder (no model load)."""
        if self._declared is None:
            out = {}
            for role, entry in load_manifest()["models"].items():
                if not registry.is_embedder(role, entry):
                    continue
                if registry.family_of(role, entry) not in registry.EMBEDDERS:
                    continue
                path = model_dir() / entry["file"]
                if path.is_file():
                    out[role] = declared_model_id(role, entry, path)
            self._declared = out
        return self._declared

    def _load(self, role: str) -> Recognizer:
        rec = self._recognizers.get(role)
        if rec is None:
            with self._lock:
                rec = self._recognizers.get(role)
                if rec is None:
                    entry, path = model_entry(role)
                    family = registry.EMBEDDERS[registry.family_of(role, entry)]
                    rec = Recognizer(role, family, entry, path)
                    declared = declared_model_id(role, entry, path)
                    if declared != rec.model_id:
                        # Face sets are created with the declared id (no load).
                        log.warning("embedder %s differs from the id its manifest declares (%s); "
                                    "check the manifest's input shape", rec.model_id, declared)
                    self._recognizers[role] = rec
        return rec

    def recognizer(self, model_id: str | None = None) -> Recognizer:
        """The recogniser that made vectors of ``model_id``: None is the
        default; "" (a face set made before sets recorded their model) is the
        legacy dlib one. FRS.0018 when that model is not built here."""
        if model_id is None:
            return self._load(DEFAULT_EMBEDDER)
        ids = self.declared_ids()
        if model_id == "":
            for role, entry in load_manifest()["models"].items():
                if role in ids and registry.family_of(role, entry) == registry.LEGACY_EMBEDDER:
                    return self._load(role)
            raise FrsError(INTERNAL, "This face set was made by the dlib embedder, which is not "
                                     "built here; run `make models`.")
        for role, mid in ids.items():
            if mid == model_id:
                return self._load(role)
        raise FrsError(INTERNAL, f"This face set holds features of model {model_id}, which this "
                                 "service does not have; re-enrol its faces (images are not kept).")

    def recognizer_family(self, model_id: str) -> str:
        """The family of the recogniser for ``model_id`` without loading it
        (FRS.0018 as ``recognizer`` when that model is not built here)."""
        models = load_manifest()["models"]
        ids = self.declared_ids()
        if model_id == "":
            if any(registry.family_of(r, models[r]) == registry.LEGACY_EMBEDDER for r in ids):
                return registry.LEGACY_EMBEDDER
        for role, mid in ids.items():
            if mid == model_id:
                return registry.family_of(role, models[role])
        raise FrsError(INTERNAL, f"Model {model_id or '(dlib)'} is not built here.")

    def recognizer_of_family(self, family: str) -> Recognizer:
        for role, entry in load_manifest()["models"].items():
            if role in self.declared_ids() and registry.family_of(role, entry) == family:
                return self._load(role)
        raise FrsError(INTERNAL, f"No {family} embedder is built; run `make models`.")

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
        for (x1, y1, x2, y2), score, lm in zip(raw.boxes, raw.scores, raw.landmarks, strict=True):
            x, y = int(round(max(0.0, x1))), int(round(max(0.0, y1)))
            right, bottom = int(round(min(float(w), x2))), int(round(min(float(h), y2)))
            if right - x < 1 or bottom - y < 1:
                continue
            faces.append(DetectedFace((x, y, right - x, bottom - y),
                                      np.asarray(lm, np.float32), float(score)))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def detect_any_rotation(self, image: np.ndarray,
                            threshold: float | None = None) -> list[DetectedFace]:
        """``detect``; when it finds nothing, the image turned a quarter turn
        either way and upside down (a photo stored sideways), with boxes and
        landmarks mapped back to ``image``'s own coordinates. Each face's
        ``angle`` is the clockwise turn that makes it upright."""
        faces = self.detect(image, threshold)
        if faces:
            for f in faces:
                f.angle = rotation.face_angle(f.landmarks)
            return faces
        h, w = image.shape[:2]
        for angle in rotation.FALLBACK_ORDER:
            found = self.detect(rotation.rotate_cw(image, angle), threshold)
            if not found:
                continue
            out = []
            for f in found:
                x, y, bw, bh = f.box
                x1, y1, x2, y2 = rotation.unrotate_box(np.array([x, y, x + bw, y + bh]), angle, image.shape)
                x, y = int(round(max(0.0, float(x1)))), int(round(max(0.0, float(y1))))
                right, bottom = int(round(min(float(w), float(x2)))), int(round(min(float(h), float(y2))))
                out.append(DetectedFace((x, y, right - x, bottom - y),
                                        rotation.unrotate_points(f.landmarks, angle, image.shape),
                                        f.score, angle))
            out.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
            return out
        return []

    def face_angles(self, image: np.ndarray, faces: list[DetectedFace]) -> list[int]:
        """Each face's clockwise turn to upright (FRS face_angle), checked by
        the detector (``orientations``)."""
        return [o.angle for o in self.orientations(image, faces)]

    def orientations(self, image: np.ndarray, faces: list[DetectedFace]) -> list[Orientation]:
        """Each face's turn to upright, checked by a detector: a square crop
        around the face (rotation.face_crop) is searched in all four turns
        and the turn with the most confident face near the crop's centre
        wins, with that face's landmarks (in ``image``'s pixels). CenterFace
        also "finds" many upside-down or sideways faces, with landmarks
        placed as if upright, so neither finding a face nor its landmarks
        tell how it is turned (docs/vision.md has the figures). YuNet judges
        (CenterFace when YuNet is not built); a face no turn finds keeps the
        angle its landmarks give."""
        yunet = self.fallback_detector
        out = []
        for f in faces:
            crop = rotation.face_crop(image, f.box)
            best: tuple[float, int, np.ndarray] | None = None
            for angle in rotation.ANGLES:
                turned = rotation.rotate_cw(crop, angle)
                raw = (yunet.detect(turned, threshold=rotation.ANGLE_MIN_SCORE) if yunet is not None
                       else self.detector.run_at_scale(turned, 1.0, rotation.ANGLE_MIN_SCORE))
                i = rotation.central(raw.boxes, raw.scores, crop.shape)
                if i is not None and (best is None or raw.scores[i] > best[0]):
                    best = (float(raw.scores[i]), angle, raw.landmarks[i])
            if best is None:
                out.append(Orientation(f.angle, None))
            else:
                out.append(Orientation(best[1], rotation.crop_points_to_image(best[2], best[1], f.box)))
        return out

    def upright(self, image: np.ndarray, faces: list[DetectedFace]) -> list[DetectedFace]:
        """``faces`` ready to embed. A face the check finds turned (a photo
        stored sideways or upside down) is detected again in the image
        turned upright, and takes the landmarks found there, mapped back:
        the detector's landmarks on a turned face are placed as if it were
        upright, or are loose, and a quarter turn loses no pixel, so the
        chip is then the one the upright photo gives. When the turned image
        gives nothing there, the check's own landmarks are used."""
        checks = self.orientations(image, faces)
        turned: dict[int, list[DetectedFace]] = {}  # one detection per turn, whatever the face count
        out = []
        for f, o in zip(faces, checks, strict=True):
            if o.angle != 0:
                if o.angle not in turned:
                    turned[o.angle] = self.detect(rotation.rotate_cw(image, o.angle))
                redone = self._detected_upright(image, f, o.angle, turned[o.angle])
                if redone is not None:
                    f = redone
                elif o.landmarks is not None:
                    f = DetectedFace(f.box, o.landmarks, f.score, o.angle)
            out.append(f)
        return out

    @staticmethod
    def _detected_upright(image: np.ndarray, face: DetectedFace, angle: int,
                          found: list[DetectedFace]) -> DetectedFace | None:
        """``face`` among ``found``, the faces of ``image`` turned clockwise by
        ``angle`` (the one whose box, mapped back, overlaps it most), with
        its landmarks in ``image``'s pixels; None when none overlaps by half."""
        if not found:
            return None
        boxes = np.array([rotation.unrotate_box(np.array([gx, gy, gx + gw, gy + gh]), angle, image.shape)
                          for gx, gy, gw, gh in (g.box for g in found)])
        x, y, w, h = face.box
        ious = box_iou(np.array([x, y, x + w, y + h], np.float32), boxes)
        if ious.max() <= 0.5:
            return None
        best = found[int(np.argmax(ious))]
        return DetectedFace(face.box, rotation.unrotate_points(best.landmarks, angle, image.shape),
                            face.score, angle)

    def quality(self, image: np.ndarray, faces: list[DetectedFace]) -> list[Quality]:
        """FRS face quality of each face (chalicelib/vision/quality.py)."""
        return self.quality_and_vectors(image, faces)[0]

    def quality_and_vectors(self, image: np.ndarray, faces: list[DetectedFace]
                            ) -> tuple[list[Quality], np.ndarray]:
        """Each face's quality (the pixel and landmark signals, SFace's
        descriptor length and YuNet's confidence on the chip) and SFace's
        unit descriptors, from one batched SFace run on the ArcFace-template
        chips."""
        sface = self.recognizer_of_family(quality.NORM_FAMILY).embedder
        if not faces:
            return [], np.zeros((0, sface.dim), np.float32)
        chips = [quality.face_chip(image, f.landmarks) for f in faces]
        same_chip = sface.size == quality.CHIP and np.allclose(sface.template, quality.ARCFACE_TEMPLATE)
        vectors, norms = sface.embed_chips_with_norms(
            chips if same_chip else [sface.chip(image, f.landmarks) for f in faces])
        yunet = self.fallback_detector
        scores: list[float | None] = [None] * len(chips)
        if yunet is not None:  # the detector's confidence that the chip holds a face
            scores = []
            for c in chips:
                raw = yunet.detect(c, threshold=quality.CHIP_MIN_SCORE)
                scores.append(rotation.central_score(raw.boxes, raw.scores, c.shape))
        return [quality.measure(image, f.landmarks, f.score, float(n), chip_score=cs, chip=c)
                for f, n, cs, c in zip(faces, norms, scores, chips, strict=True)], vectors

    # The default recogniser's capabilities (face-compare, new face sets).
    @property
    def embedder(self) -> ChipEmbedder:
        return self.recognizer().embedder

    @property
    def _embedder(self) -> ChipEmbedder | None:
        """The default embedder if loaded (tests check what a request loads)."""
        rec = self._recognizers.get(DEFAULT_EMBEDDER)
        return rec.embedder if rec else None

    @property
    def _embedder_id(self) -> str | None:
        rec = self._recognizers.get(DEFAULT_EMBEDDER)
        return rec.model_id if rec else None

    @property
    def calibration(self) -> Calibration:
        return self.recognizer().calibration

    def align(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The aligned chip the default embedder sees (BGR)."""
        return self.recognizer().align(image, face)

    def embed(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """(D,) float32 L2-normalised descriptor of one detected face."""
        return self.embed_many(image, [face])[0]

    def embed_many(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        return self.recognizer().embed_many(image, faces)

    @property
    def embedding_dim(self) -> int:
        return self.recognizer().dim

    @property
    def model_id(self) -> str:
        """What the default recogniser's vectors are comparable with: embedder
        weights (manifest sha256) + alignment/augmentation recipe. Answered
        from the manifest without loading the model, so recording it on a new
        face set or checking a set against it costs no model load; once the
        embedder is loaded, the id computed from the loaded model."""
        rec = self._recognizers.get(DEFAULT_EMBEDDER)
        if rec is not None:
            return rec.model_id
        ids = self.declared_ids()
        if DEFAULT_EMBEDDER not in ids:
            model_entry(DEFAULT_EMBEDDER)  # FRS.0018 saying what to build
            raise FrsError(INTERNAL, "The default embedder's family is not registered.")
        return ids[DEFAULT_EMBEDDER]

    def similarity(self, cos: Any) -> Any:
        return self.recognizer().similarity(cos)

    def cosine_for_similarity(self, s: Any) -> Any:
        return self.recognizer().cosine_for_similarity(s)


_engine: Lazy[FaceEngine] = Lazy(FaceEngine)


def get_engine() -> FaceEngine:
    return _engine.get()
