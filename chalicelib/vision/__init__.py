"""Vision engine: image decoding, face detection, alignment, embedding and
calibrated similarity. See docs/vision.md."""
from .engine import DetectedFace, FaceEngine, get_engine
from .image import decode_image

__all__ = ["DetectedFace", "FaceEngine", "decode_image", "get_engine"]
