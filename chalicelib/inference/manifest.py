"""Where the built models live and what the build recorded about them
(``models/manifest.json``, written by ``python -m models.build``)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from chalicelib.config import settings
from chalicelib.errors import INTERNAL, FrsError


def model_dir() -> Path:
    return Path(settings().model_dir)


def load_manifest() -> dict:
    path = model_dir() / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FrsError(INTERNAL, f"Face models are not built ({path}); run `make models`.") from exc
    if not isinstance(data.get("models"), dict):
        raise FrsError(INTERNAL, f"{path} has no 'models' section; run `make models`.")
    return data


def has_model(role: str) -> bool:
    """Whether the manifest lists ``role`` (opt-in models may be absent)."""
    try:
        return role in load_manifest()["models"]
    except FrsError:
        return False


def model_entry(role: str) -> tuple[dict, Path]:
    """The manifest entry for ``role`` and the path of its ONNX file."""
    entry = load_manifest()["models"].get(role)
    if not entry:
        raise FrsError(INTERNAL, f"No '{role}' model in the manifest; run `make models`.")
    path = model_dir() / entry["file"]
    if not path.is_file():
        raise FrsError(INTERNAL, f"Model file {path} is missing; run `make models`.")
    return entry, path


def short_id(entry: dict, path: Path) -> str:
    sha = entry.get("sha256") or hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{Path(entry['file']).stem}-{sha[:8]}"
