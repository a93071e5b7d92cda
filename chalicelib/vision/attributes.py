"""Face attribute models behind one façade: age and gender, expression and
mask, each answered by the best measured backend that is built.

Every backend is an opt-in model (``make models OPT_IN=...``): none ships
weights whose publisher states a permissive licence and documents the
training data (models/convert_*attributes.py say why for each). A
capability with no backend built answers nothing, and the service layer
(chalicelib/services/attributes.py) then leaves the field out or answers
the SDK's "unknown". ``BACKENDS`` lists them per capability in the order
of their measured accuracy (bench/attributes_utkface.py, docs/vision.md);
each module is imported only when its models are built and asked for.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.inference.manifest import has_model, model_entry

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.vision.engine import DetectedFace

# A backend's ``male_score`` above this is male (each backend maps its own
# output to this convention; bench/attributes_utkface.py checks the
# direction on the fitting half of UTKFace).
MALE_ABOVE = 0.5
AGE_GENDER, EXPRESSION, MASK = "age_gender", "expression", "mask"


@dataclass(frozen=True)
class AgeGender:
    age: int
    gender: str  # "male" | "female", the SDK's values
    male_score: float


@dataclass(frozen=True)
class Backend:
    name: str                 # what bench --backend names
    capability: str           # AGE_GENDER | EXPRESSION | MASK
    roles: tuple[str, ...]    # manifest roles it needs, passed as paths in this order
    factory: str              # "module:Class", imported on first use


BACKENDS: tuple[Backend, ...] = (
    # UTKFace adults, held-out half, worst race x gender group, age MAE /
    # gender accuracy (docs/vision.md): face-api.js 6.5 y / 94.0 %, Human's
    # GEAR 8.1 y / 76.2 % (UTKFace was in both training sets: upper bounds),
    # SSR-Net + oarriaga 8.5 y / 54.6 %, faceplugin 10.7 y / 28 %.
    Backend("faceapi", AGE_GENDER, ("faceapi_age_gender",),
            "chalicelib.vision.faceapi_attributes:age_gender_backend"),
    Backend("human_gear", AGE_GENDER, ("human_gear",),
            "chalicelib.vision.human_attributes:HumanGearAgeGender"),
    Backend("human_ssrnet", AGE_GENDER, ("human_ssrnet_age", "human_gender"),
            "chalicelib.vision.human_attributes:HumanSsrnetAgeGender"),
    Backend("faceplugin", AGE_GENDER, ("age", "gender"),
            "chalicelib.vision.faceplugin_attributes:FacepluginAgeGender"),
    # Two small hand-labelled sets (bench/expression_check.py), weak evidence:
    # face-api.js 75 % / 85 % exact, Human's emotion net 62.5 % / 50 %.
    Backend("faceapi_expression", EXPRESSION, ("faceapi_expression",),
            "chalicelib.vision.faceapi_attributes:expression_backend"),
    Backend("human_emotion", EXPRESSION, ("human_emotion",),
            "chalicelib.vision.human_attributes:HumanEmotion"),
    # Synthetic masks only (bench/mask_check.py): weak evidence, docs/vision.md.
    Backend("mask", MASK, ("mask",), "chalicelib.vision.mask:MaskClassifier"),
)


def backend_named(name: str) -> Backend:
    for b in BACKENDS:
        if b.name == name:
            return b
    raise KeyError(f"no attribute backend {name!r}; choose from {[b.name for b in BACKENDS]}")


def is_built(backend: Backend) -> bool:
    return all(has_model(r) for r in backend.roles)


class AttributeModels:
    """The built attribute backends, one per capability, loaded on the
    first request that asks for that capability. ``prefer`` names the
    backend to use for a capability (benchmarks compare them)."""

    def __init__(self, prefer: dict[str, str] | None = None):
        self._prefer = dict(prefer or {})
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def backend_for(self, capability: str) -> Backend | None:
        if capability in self._prefer:
            b = backend_named(self._prefer[capability])
            return b if is_built(b) else None
        return next((b for b in BACKENDS if b.capability == capability and is_built(b)), None)

    def runner(self, capability: str) -> Any | None:
        """The loaded backend object of ``capability`` (None: none built);
        benchmarks read its own methods (the mask model's probability)."""
        return self._runner(capability)

    def _runner(self, capability: str) -> Any | None:
        if capability not in self._loaded:
            with self._lock:
                if capability not in self._loaded:
                    b = self.backend_for(capability)
                    runner = None
                    if b is not None:
                        module, cls = b.factory.split(":")
                        paths = [model_entry(r)[1] for r in b.roles]
                        runner = getattr(importlib.import_module(module), cls)(*paths)
                    self._loaded[capability] = runner
        return self._loaded[capability]

    def age_gender(self, image: np.ndarray, face: DetectedFace) -> AgeGender | None:
        runner = self._runner(AGE_GENDER)
        return runner.age_gender(image, face) if runner is not None else None

    def expression(self, image: np.ndarray, face: DetectedFace) -> dict | None:
        """{"type": SDK expression, "probability": float}, or None."""
        runner = self._runner(EXPRESSION)
        return runner.expression(image, face) if runner is not None else None

    def mask(self, image: np.ndarray, face: DetectedFace) -> tuple[str, float] | None:
        """("yes" | "none", probability), or None."""
        runner = self._runner(MASK)
        return runner.mask_state(image, face) if runner is not None else None
