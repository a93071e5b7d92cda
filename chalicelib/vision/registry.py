"""Model families by role: the manifest names each model's family, these
tables name the code that runs it. The engine names no model class: adding
an embedder is one module (its template and recipe) and one line here."""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.vision import dlib_resnet, sface
from chalicelib.vision.detector import CenterFace
from chalicelib.vision.embedder import EmbedderFamily
from chalicelib.vision.yunet import YuNet

# Each makes, from a model path, an object whose .detect(image_bgr,
# threshold=None) answers a detector.RawDetection.
DETECTORS: dict[str, Callable[..., Any]] = {
    "centerface": CenterFace,
    "yunet": YuNet,  # the fallback detector (role detector_fallback)
}

EMBEDDERS: dict[str, EmbedderFamily] = {
    "sface": sface.FAMILY,
    "dlib_resnet": dlib_resnet.FAMILY,
}

# Entries built before the manifest recorded families.
DEFAULT_FAMILY = {"detector": "centerface", "embedder": "dlib_resnet"}
# Face sets created before sets recorded their model ("") were all made by
# dlib, the only embedder until then.
LEGACY_EMBEDDER = "dlib_resnet"


def family_of(role: str, entry: dict) -> str:
    return str(entry.get("family") or DEFAULT_FAMILY.get(role.split("_")[0], ""))


def is_embedder(role: str, entry: dict) -> bool:
    return entry.get("kind") == "embedder" or role == "embedder" or role.startswith("embedder_")
