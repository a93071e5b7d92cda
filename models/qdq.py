"""Folding block-quantised weights: OpenCV Zoo's ``*_int8bq.onnx`` files store
int8 weights behind ``DequantizeLinear`` nodes (opset 21, per-tensor,
per-axis or blocked). Shared by models/convert_sface.py and
models/convert_yunet.py, which fold them into float32 initialisers."""
from __future__ import annotations

import numpy as np
import onnx


def int_attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def dequantize(q: np.ndarray, scale: np.ndarray, zp: np.ndarray | None,
               axis: int, block: int) -> np.ndarray:
    """``DequantizeLinear`` (opset 21) on constants: per-tensor, per-axis or
    blocked, computed as onnxruntime does, ``float(q - zp) * scale``."""
    q = q.astype(np.int32)
    zp = np.zeros_like(scale, np.int32) if zp is None else zp.astype(np.int32)
    if scale.ndim == 0 or scale.size == 1:
        s, z = scale.reshape(()), zp.reshape(())
    elif block:  # blocked: scale has ceil(D / block) entries along axis
        ax = axis % q.ndim
        s = np.repeat(scale, block, axis=ax).take(np.arange(q.shape[ax]), axis=ax)
        z = np.repeat(zp, block, axis=ax).take(np.arange(q.shape[ax]), axis=ax)
    else:  # per-axis: 1-D scale along axis
        ax = axis % q.ndim
        shape = [1] * q.ndim
        shape[ax] = -1
        s, z = scale.reshape(shape), zp.reshape(shape)
    return ((q - z).astype(np.float32) * s.astype(np.float32)).astype(np.float32)
