"""Vision engine: image decoding, face detection, alignment, embedding and
calibrated similarity. See docs/vision.md."""
from chalicelib.vision.decode import decode_image
from chalicelib.vision.engine import DetectedFace, FaceEngine, get_engine

__all__ = ["DetectedFace", "FaceEngine", "decode_image", "get_engine"]
