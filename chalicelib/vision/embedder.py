"""A face descriptor net run as ONNX on a chip aligned to its template,
L2-normalised. One class serves every embedder family: what differs between
families (template, chip size, flip averaging) is declared in the family's
module and the preprocessing in the model's manifest entry."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.observability import traced
from chalicelib.vision.align import warp_chip


@dataclass(frozen=True)
class EmbedderFamily:
    """What the registry knows of one embedder family."""
    name: str
    template: np.ndarray   # (5, 2) landmark positions in the chip, image order
    chip_size: int         # the chip side the template is given for
    flip_tta: bool = False  # average the descriptor of the chip and its mirror


class ChipEmbedder:
    def __init__(self, family: EmbedderFamily, entry: dict, model_path: Path | str):
        self.family = family
        self.session = create_session(model_path)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        spec = entry.get("input", {})
        pre = entry.get("preprocessing", {})
        self.nhwc = str(spec.get("layout", "NCHW")).upper() == "NHWC"
        shape = inp.shape
        side = shape[1] if self.nhwc else shape[2]
        self.size = int(side) if isinstance(side, int) else family.chip_size
        self.rgb = str(spec.get("color", pre.get("color", "RGB"))).upper() == "RGB"
        if pre.get("in_graph"):
            # The graph normalises itself; feed raw 0-255 pixels.
            self.mean, self.std = np.zeros(3, np.float32), np.ones(3, np.float32)
        else:
            self.mean = np.asarray(pre.get("mean", [0, 0, 0]), np.float32)
            if "std" in pre:
                self.std = np.asarray(pre["std"], np.float32) * np.ones(3, np.float32)
            else:
                self.std = np.full(3, 1.0 / float(pre.get("scale", 1.0)), np.float32)
        # A fixed batch dim in the graph means one chip per run.
        self.batchable = not isinstance(shape[0], int)
        self.template = np.asarray(family.template, np.float32) * (self.size / family.chip_size)
        self.flip_tta = family.flip_tta
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def recipe_id(self) -> str:
        """Short tag of the alignment template and augmentation."""
        return recipe_tag(self.template, self.flip_tta)

    @staticmethod
    def declared_recipe_id(family: EmbedderFamily, entry: dict) -> str:
        """``recipe_id()`` from the manifest entry alone, without creating a
        session: the chip size is the input shape the manifest declares (the
        graph's own shape is what a loaded embedder uses; they agree for every
        model ``make models`` builds, and the engine warns if they do not)."""
        spec = entry.get("input", {})
        shape = spec.get("shape") or []
        nhwc = str(spec.get("layout", "NCHW")).upper() == "NHWC"
        dim = shape[1 if nhwc else 2] if len(shape) >= 3 else None
        size = int(dim) if isinstance(dim, int) else family.chip_size
        template = np.asarray(family.template, np.float32) * (size / family.chip_size)
        return recipe_tag(template, family.flip_tta)

    def chip(self, image_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The aligned BGR chip for one face."""
        return warp_chip(image_bgr, landmarks, self.template, (self.size, self.size))

    @traced("embed")
    def embed_chips(self, chips_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, D) L2-normalised descriptors for aligned BGR chips."""
        return self.embed_chips_with_norms(chips_bgr)[0]

    def embed_chips_with_norms(self, chips_bgr: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``embed_chips`` and each chip's raw descriptor length before
        normalising (mean over the flip views): a recognisability signal
        the quality score reads (chalicelib/vision/quality.py)."""
        batch = np.stack(chips_bgr).astype(np.float32)
        if self.rgb:
            batch = batch[..., ::-1]
        if self.flip_tta:
            # Mirror views average out landmark asymmetry; see docs/vision.md.
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        x = (batch - self.mean) / self.std
        if not self.nhwc:
            x = x.transpose(0, 3, 1, 2)
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.batchable:
            out = self.session.run(None, {self.input_name: x})[0]
        else:
            out = np.concatenate([self.session.run(None, {self.input_name: x[i:i + 1]})[0]
                                  for i in range(len(x))])
        out = out.reshape(len(x), -1)
        norms = np.linalg.norm(out, axis=1).astype(np.float32)
        out = normalise(out)
        if self.flip_tta:
            # Mean direction of the two unit descriptors.
            n = len(chips_bgr)
            out = normalise(out[:n] + out[n:])
            norms = (norms[:n] + norms[n:]) / 2
        return out, norms


def recipe_tag(template: np.ndarray, flip_tta: bool) -> str:
    digest = hashlib.sha1(np.round(template, 2).astype(np.float64).tobytes()).hexdigest()[:6]
    return f"t{digest}" + ("-flip" if flip_tta else "")


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
