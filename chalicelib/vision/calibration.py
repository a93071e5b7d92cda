"""Map raw cosine similarity to FRS's similarity scale, one map per
embedder family.

FRS documents similarity in [0, 1] where "greater than 0.93 means the same
person". We use a logistic curve s = 1 / (1 + exp(-k (cos - c))) whose 0.93
point sits at the cosine where the false-match target holds (for SFace: in
the worst demographic group we can measure, not on average), with the slope
fitted to LFW pairs (``bench/fit_calibration.py``; parameters and provenance
in ``models/calibration.json``, one section per family).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.errors import INTERNAL, FrsError

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "models" / "calibration.json"
SAME_PERSON = 0.93
_EPS = 1e-9


class Calibration:
    def __init__(self, k: float, c: float, info: dict | None = None):
        if not k > 0:
            raise ValueError("calibration slope must be positive (monotone increasing)")
        self.k, self.c = float(k), float(c)
        self.info = info or {}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        p = data["mapping"]
        if p.get("form") != "logistic":
            raise ValueError(f"unknown calibration form {p.get('form')!r}")
        return cls(p["k"], p["c"], data)

    def similarity(self, cos: Any) -> Any:
        """Raw cosine (float or array) -> calibrated similarity in [0, 1]."""
        z = self.k * (np.asarray(cos, dtype=np.float64) - self.c)
        # Stable both ways and strictly increasing over cosine's [-1, 1].
        ez = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))
        return float(s) if np.ndim(s) == 0 else s

    def cosine_for_similarity(self, s: Any) -> Any:
        """Inverse of ``similarity``: the raw cosine that maps to ``s``."""
        s = np.clip(np.asarray(s, dtype=np.float64), _EPS, 1 - _EPS)
        cos = self.c - np.log(1.0 / s - 1.0) / self.k
        return float(cos) if np.ndim(cos) == 0 else cos


def _read(manifest: dict | None) -> dict:
    try:
        return json.loads(CALIBRATION_FILE.read_text())
    except (OSError, ValueError):
        return (manifest or {}).get("calibration") or {}


def load_calibration(family: str, manifest: dict | None = None) -> Calibration:
    """The committed ``models/calibration.json`` section for ``family``; the
    copy the model build merges into the manifest serves when the repository
    file is absent (a deployment that ships only the model folder). A file
    with a single top-level mapping (older builds, test placeholders)
    serves every family."""
    data = _read(manifest)
    section = data.get("families", {}).get(family) if "families" in data else data
    if not section or "mapping" not in section:
        raise FrsError(INTERNAL, f"No similarity calibration for the {family} embedder "
                                 "(models/calibration.json).")
    return Calibration.from_dict(section)
