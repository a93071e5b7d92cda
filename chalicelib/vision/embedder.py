"""The face descriptor: dlib's ResNet (128-d) run as ONNX on an aligned
150x150 RGB chip, L2-normalised."""
from __future__ import annotations

import hashlib

import numpy as np

from chalicelib.inference.sessions import create_session
from chalicelib.vision.align import warp_chip

# Where CenterFace's five points (left eye, right eye, nose tip, left and
# right mouth corner as seen in the image) fall in dlib's 150x150 face chip
# (get_face_chip, padding 0.25): median over 1,920 LFW faces mapped with
# dlib's own HOG + 5-point chip geometry, made mirror-symmetric about the
# chip's centre column so a flipped chip is the aligned mirrored face.
DLIB_CHIP_TEMPLATE = np.array(
    [[46.45, 46.75], [102.55, 46.75], [74.5, 78.4], [51.0, 103.55], [98.0, 103.55]],
    dtype=np.float32)


class DlibResNet:
    def __init__(self, entry: dict, model_path, template: np.ndarray = DLIB_CHIP_TEMPLATE,
                 flip_tta: bool = False):
        self.session = create_session(model_path)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        spec = entry.get("input", {})
        pre = entry.get("preprocessing", {})
        layout = str(spec.get("layout", "NCHW")).upper()
        self.nhwc = layout == "NHWC"
        shape = inp.shape
        self.size = int(shape[2] if not self.nhwc else shape[1]) if isinstance(
            shape[2], int) else 150
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
        # Fixed batch dim in the graph means one chip per run.
        self.batchable = not isinstance(shape[0], int)
        self.template = np.asarray(template, np.float32) * (self.size / 150.0)
        self.flip_tta = flip_tta
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def recipe_id(self) -> str:
        """Short tag of the alignment template and augmentation."""
        return recipe_tag(self.template, self.flip_tta)

    @staticmethod
    def declared_recipe_id(entry: dict, template: np.ndarray = DLIB_CHIP_TEMPLATE,
                           flip_tta: bool = False) -> str:
        """``recipe_id()`` from the manifest entry alone, without creating a
        session: the chip size is the input shape the manifest declares (the
        graph's own shape is what a loaded embedder uses; they agree for every
        model ``make models`` builds, and the engine warns if they do not)."""
        spec = entry.get("input", {})
        shape = spec.get("shape") or []
        nhwc = str(spec.get("layout", "NCHW")).upper() == "NHWC"
        dim = shape[1 if nhwc else 2] if len(shape) >= 3 else None
        size = int(dim) if isinstance(dim, int) else 150
        return recipe_tag(np.asarray(template, np.float32) * (size / 150.0), flip_tta)

    def chip(self, image_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The aligned BGR chip for one face."""
        return warp_chip(image_bgr, landmarks, self.template, (self.size, self.size))

    def embed_chips(self, chips_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, D) L2-normalised descriptors for aligned BGR chips."""
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
        out = normalise(out.reshape(len(x), -1))
        if self.flip_tta:
            # Mean direction of the two unit descriptors.
            n = len(chips_bgr)
            out = normalise(out[:n] + out[n:])
        return out


def recipe_tag(template: np.ndarray, flip_tta: bool) -> str:
    digest = hashlib.sha1(np.round(template, 2).astype(np.float64).tobytes()).hexdigest()[:6]
    return f"t{digest}" + ("-flip" if flip_tta else "")


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
