"""Execution backend: how ONNX sessions are created, independent of which
model family runs in them (detector and embedder code never touch
onnxruntime options). Tunable through the environment:

- ``FRS_ORT_THREADS``: intra-op threads per session (default: all cores);
- ``FRS_ORT_PROVIDERS``: comma-separated execution providers
  (default ``CPUExecutionProvider``);
- ``FRS_ORT_SPIN=0``: idle worker threads sleep instead of spinning (costs
  latency on a quiet machine, saves CPU when many workers share few cores).
"""
from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

# Unused BatchNorm counters in CenterFace make onnxruntime warn on every load.
ort.set_default_logger_severity(3)


def session_options() -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = int(os.environ.get("FRS_ORT_THREADS", "0") or 0)
    if threads > 0:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if os.environ.get("FRS_ORT_SPIN", "1") == "0":
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def providers() -> list[str]:
    wanted = [p.strip() for p in os.environ.get("FRS_ORT_PROVIDERS", "").split(",") if p.strip()]
    available = ort.get_available_providers()
    chosen = [p for p in wanted if p in available]
    return chosen or ["CPUExecutionProvider"]


def create_session(model_path: Path | str) -> ort.InferenceSession:
    return ort.InferenceSession(str(model_path), sess_options=session_options(),
                                providers=providers())
