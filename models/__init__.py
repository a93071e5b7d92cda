"""Model build: weights from pinned registry packages, converted to ONNX."""
