"""Execution backend: how ONNX sessions are created, independent of which
model family runs in them (detector, embedder and liveness code never touch
onnxruntime options). Tunable through the settings (chalicelib/config.py):

- ``FRS_ORT_THREADS``: intra-op threads of the still-image models (default:
  all cores);
- ``FRS_LIVENESS_THREADS``: intra-op threads of the small per-frame video
  models (default 1);
- ``FRS_ORT_PROVIDERS``: comma-separated execution providers
  (default ``CPUExecutionProvider``);
- ``FRS_ORT_SPIN=1``: idle worker threads spin instead of sleeping. Off by
  default: a request runs several sessions one after another (detector,
  embedder, YuNet), each with its own thread pool, and the pool that just
  finished spins on the cores the next one needs (640x480, one face,
  detect + embed p50: 41 ms without spinning, 60 ms with it; bench/
  pipeline_speed.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import onnxruntime as ort

from chalicelib import observability
from chalicelib.config import settings
from chalicelib.inference.manifest import model_entry

# Unused BatchNorm counters in CenterFace make onnxruntime warn on every load.
ort.set_default_logger_severity(3)


def session_options(small: bool = False) -> ort.SessionOptions:
    """``small``: a tiny batch-1 net run per video frame (1-2 MB): a second
    intra-op thread costs more in hand-offs than it saves (CPU time halves
    with one thread on the 2-core reference machine, and wall time drops
    under load), and its idle threads never spin."""
    cfg = settings()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    opts.inter_op_num_threads = 1
    threads = cfg.liveness_threads if small else cfg.ort_threads
    if threads > 0:
        opts.intra_op_num_threads = threads
    if small or not cfg.ort_spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def providers(small: bool = False) -> list[str]:
    if small:
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    chosen = [p for p in settings().ort_providers if p in available]
    return chosen or ["CPUExecutionProvider"]


def create_session(model_path: Path | str, small: bool = False) -> ort.InferenceSession:
    started = time.perf_counter()
    session = ort.InferenceSession(str(model_path), sess_options=session_options(small),
                                   providers=providers(small))
    # Models load on a container's first use: this is their cold-start cost.
    observability.note_model_load(Path(model_path).stem, time.perf_counter() - started)
    return session


def load_session(role: str, small: bool = False) -> ort.InferenceSession:
    """The session of the manifest's model for ``role`` (FRS.0018 with the
    fix named when it is not built)."""
    _, path = model_entry(role)
    return create_session(path, small=small)
