"""face-api.js age/gender and expression nets: OPT-IN, never built by default.

Roles ``faceapi_age_gender`` and ``faceapi_expression`` from npm
``@vladmandic/face-api@1.7.15`` (a maintained fork of face-api.js 0.22.2
that ships the original face-api.js-models weights). The package holds
TFJS weights-only files (``model/*.bin`` + ``-weights_manifest.json``,
uint8-quantised); the graphs live in its TypeScript source, rebuilt here
with numpy + ``onnx.helper``:

* AgeGenderNet (src/ageGenderNet, src/xception/TinyXception.ts):
  conv 3x3/2 + relu, two reduction blocks (relu, sepconv, relu, sepconv,
  maxpool 3x3/2 'same', + 1x1/2 expansion conv of the block input; the
  first block's input is not activated), two main blocks (3 x (relu,
  sepconv) + identity), an exit reduction block, relu(sepconv to 512),
  avgpool 7x7/2 'valid', then FC 512->1 (age, years) and FC 512->2 +
  softmax (gender; index 0 is male, ``probMale`` in AgeGenderNet.ts).
* FaceExpressionNet (src/faceExpressionNet, src/faceFeatureExtractor):
  four denseBlock4 (first conv a plain 3x3/2 conv, the others separable
  3x3/2; then three separable convs with dense sums), avgpool 7x7/2
  'valid', FC 256->7 + softmax over FACE_EXPRESSION_LABELS.

Both take the face region padded to a square with zeros (centred) and
resized to 112x112 (tf.image.resizeBilinear, align_corners=false,
half_pixel_centers=false), RGB 0-255; the graph subtracts face-api's mean
RGB (122.782, 117.001, 104.298) and divides by 255 (TinyXception.ts,
FaceFeatureExtractor.ts). TF 'same' padding puts the odd pixel after
(ONNX SAME_UPPER); the pads are written out explicitly.

Dequantisation is TFJS's: value = q * scale + min for uint8 weights.
Checked against face-api itself running in node (tfjs CPU backend) by
``models/verify_faceapi_attributes.mjs``; the figures are in the manifest
entries' ``verification``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.registry import fetch_npm, read_member

ROLES = ["faceapi_age_gender", "faceapi_expression"]
OPT_IN_REASON = (
    "npm @vladmandic/face-api: the code and weights are published under MIT, but the age/gender "
    "net was trained on UTK, FGNET, Chalearn, Wiki, IMDB, CACD, MegaAge and MegaAge-Asian "
    "(IMDB-WIKI and UTKFace are released for non-commercial research only) and the expression "
    "net on undocumented public and scraped images; the weights' sha256 cannot be compared "
    "with the original publisher's repository (justadudewhohacks/face-api.js-models) here")

PACKAGE, VERSION = "@vladmandic/face-api", "1.7.15"
# Every member read, with its sha256 as published in the tarball.
MEMBERS = {
    "model/age_gender_model-weights_manifest.json":
        "74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f",
    "model/age_gender_model.bin":
        "49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa",
    "model/face_expression_model-weights_manifest.json":
        "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8",
    "model/face_expression_model.bin":
        "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
}
FILES = {"faceapi_age_gender": "faceapi_age_gender.onnx",
         "faceapi_expression": "faceapi_expression.onnx"}
SIDE = 112
MEAN_RGB = [122.782, 117.001, 104.298]
EXPRESSIONS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
OPSET = 13
VERIFICATION = Path(__file__).with_name("verification_faceapi.json")


class PinMismatch(RuntimeError):
    pass


def read_pinned(archive: Path, member: str) -> bytes:
    raw = read_member(archive, member)
    got = hashlib.sha256(raw).hexdigest()
    if got != MEMBERS[member]:
        raise PinMismatch(f"{PACKAGE}@{VERSION} {member} has sha256 {got}, expected {MEMBERS[member]}")
    return raw


def load_weights(manifest_raw: bytes, bin_raw: bytes) -> dict[str, np.ndarray]:
    """TFJS weights-only format: the manifest lists tensors in the order
    they are packed in the .bin; uint8 tensors are q * scale + min."""
    groups = json.loads(manifest_raw)
    out: dict[str, np.ndarray] = {}
    pos = 0
    for group in groups:
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if w["dtype"] != "float32":
                raise ValueError(f"{w['name']}: unsupported dtype {w['dtype']}")
            if q is None:
                arr = np.frombuffer(bin_raw, "<f4", n, pos).astype(np.float32)
                pos += 4 * n
            elif q["dtype"] == "uint8":
                codes = np.frombuffer(bin_raw, np.uint8, n, pos)
                pos += n
                arr = (codes.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"]))
            else:
                raise ValueError(f"{w['name']}: unsupported quantisation {q['dtype']}")
            out[w["name"]] = arr.reshape(shape)
    if pos != len(bin_raw):
        raise ValueError(f"manifest describes {pos} bytes, the .bin has {len(bin_raw)}")
    return out


def _same_pads(size: int, k: int, s: int) -> tuple[int, int, int]:
    """TF 'same': output ceil(size/s), the odd padding pixel after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


class _Graph:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.inits: list = []
        self.n = 0
        self.size = SIDE  # square spatial size, tracked for the explicit 'same' pads

    def take(self, name: str) -> np.ndarray:
        self.used.add(name)
        return self.w[name]

    def _name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base: str, arr: np.ndarray) -> str:
        nm = self._name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def op(self, op_type: str, inputs: list[str], base: str, **attrs) -> str:
        out = self._name(base)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def relu(self, x: str) -> str:
        return self.op("Relu", [x], "relu")

    def add(self, a: str, b: str) -> str:
        return self.op("Add", [a, b], "add")

    def conv(self, x: str, prefix: str, stride: int) -> str:
        """tf.conv2d(x, filters HWIO, stride, 'same') + bias."""
        f = self.take(f"{prefix}/filters")
        b = self.take(f"{prefix}/bias")
        k = f.shape[0]
        p0, p1, out = _same_pads(self.size, k, stride)
        w = f.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        y = self.op("Conv", [x, self.const("W", w), self.const("B", b)], "conv",
                    kernel_shape=[k, k], strides=[stride, stride], pads=[p0, p0, p1, p1])
        self.size = out
        return y

    def sepconv(self, x: str, prefix: str, stride: int) -> str:
        """tf.separableConv2d(depthwise HW C 1, pointwise 1 1 C O, stride, 'same') + bias."""
        dw = self.take(f"{prefix}/depthwise_filter")
        pw = self.take(f"{prefix}/pointwise_filter")
        b = self.take(f"{prefix}/bias")
        k, c = dw.shape[0], dw.shape[2]
        p0, p1, out = _same_pads(self.size, k, stride)
        y = self.op("Conv", [x, self.const("DW", dw.transpose(2, 3, 0, 1))], "dwconv",
                    kernel_shape=[k, k], strides=[stride, stride], pads=[p0, p0, p1, p1], group=c)
        y = self.op("Conv", [y, self.const("PW", pw.transpose(3, 2, 0, 1)), self.const("B", b)],
                    "pwconv", kernel_shape=[1, 1])
        self.size = out
        return y

    def maxpool_same(self, x: str, k: int, s: int) -> str:
        p0, p1, out = _same_pads(self.size, k, s)
        # ONNX MaxPool pads never win the max, as TF's 'same' max pool ignores them.
        y = self.op("MaxPool", [x], "maxpool", kernel_shape=[k, k], strides=[s, s],
                    pads=[p0, p0, p1, p1])
        self.size = out
        return y

    def avgpool_valid(self, x: str, k: int, s: int) -> str:
        y = self.op("AveragePool", [x], "avgpool", kernel_shape=[k, k], strides=[s, s])
        self.size = (self.size - k) // s + 1
        return y

    def fc(self, x: str, prefix: str) -> str:
        y = self.op("MatMul", [x, self.const("fc_W", self.take(f"{prefix}/weights"))], "fc")
        return self.add(y, self.const("fc_B", self.take(f"{prefix}/bias")))

    def normalised_input(self) -> str:
        mean = np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1)
        x = self.op("Sub", ["input", self.const("mean", mean)], "sub_mean")
        return self.op("Div", [x, self.const("d255", np.array(255, np.float32))], "div255")

    def flat(self, x: str) -> str:
        if self.size != 1:
            raise ValueError(f"expected a 1x1 feature map before the FC, have {self.size}")
        return self.op("Flatten", [x], "flat", axis=1)

    def finish(self, name: str, outputs: list[tuple[str, str, list]]) -> onnx.ModelProto:
        unused = set(self.w) - self.used
        if unused:
            raise ValueError(f"weights not wired into the graph: {sorted(unused)}")
        for src, dst, _ in outputs:
            node = next(n for n in self.nodes if n.output[0] == src)
            node.output[0] = dst
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])],
            [helper.make_tensor_value_info(dst, TensorProto.FLOAT, shape) for _, dst, shape in outputs],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="openfrs models.convert_faceapi_attributes")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def _reduction_block(g: _Graph, x: str, prefix: str, activate_input: bool = True) -> str:
    size_in = g.size
    out = g.relu(x) if activate_input else x
    out = g.sepconv(out, f"{prefix}/separable_conv0", 1)
    out = g.sepconv(g.relu(out), f"{prefix}/separable_conv1", 1)
    out = g.maxpool_same(out, 3, 2)
    size_out = g.size
    g.size = size_in
    shortcut = g.conv(x, f"{prefix}/expansion_conv", 2)
    if g.size != size_out:
        raise ValueError("reduction block branches disagree in size")
    return g.add(out, shortcut)


def _main_block(g: _Graph, x: str, prefix: str) -> str:
    out = g.sepconv(g.relu(x), f"{prefix}/separable_conv0", 1)
    out = g.sepconv(g.relu(out), f"{prefix}/separable_conv1", 1)
    out = g.sepconv(g.relu(out), f"{prefix}/separable_conv2", 1)
    return g.add(out, x)


def build_age_gender(weights: dict[str, np.ndarray], main_blocks: int = 2) -> onnx.ModelProto:
    g = _Graph(weights)
    x = g.relu(g.conv(g.normalised_input(), "entry_flow/conv_in", 2))
    x = _reduction_block(g, x, "entry_flow/reduction_block_0", activate_input=False)
    x = _reduction_block(g, x, "entry_flow/reduction_block_1")
    for i in range(main_blocks):
        x = _main_block(g, x, f"middle_flow/main_block_{i}")
    x = _reduction_block(g, x, "exit_flow/reduction_block")
    x = g.relu(g.sepconv(x, "exit_flow/separable_conv", 1))
    pooled = g.flat(g.avgpool_valid(x, 7, 2))
    age = g.fc(pooled, "fc/age")
    age = g.op("Reshape", [age, g.const("shape", np.array([-1], np.int64))], "age_flat")
    gender = g.op("Softmax", [g.fc(pooled, "fc/gender")], "gender_softmax", axis=1)
    return g.finish("faceapi_age_gender_net",
                    [(age, "age", ["N"]), (gender, "gender", ["N", 2])])


def _dense_block4(g: _Graph, x: str, prefix: str, first: bool = False) -> str:
    if first:
        out1 = g.relu(g.conv(x, f"{prefix}/conv0", 2))
    else:
        out1 = g.relu(g.sepconv(x, f"{prefix}/conv0", 2))
    out2 = g.sepconv(out1, f"{prefix}/conv1", 1)
    out3 = g.sepconv(g.relu(g.add(out1, out2)), f"{prefix}/conv2", 1)
    out4 = g.sepconv(g.relu(g.add(out1, g.add(out2, out3))), f"{prefix}/conv3", 1)
    return g.relu(g.add(out1, g.add(out2, g.add(out3, out4))))


def build_expression(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = _Graph(weights)
    x = _dense_block4(g, g.normalised_input(), "dense0", first=True)
    for i in (1, 2, 3):
        x = _dense_block4(g, x, f"dense{i}")
    pooled = g.flat(g.avgpool_valid(x, 7, 2))
    probs = g.op("Softmax", [g.fc(pooled, "fc")], "softmax", axis=1)
    return g.finish("faceapi_expression_net", [(probs, "expression", ["N", 7])])


PREPROCESSING = {
    "crop": ("face box clipped at the image borders (extractFaceTensors), padded to a square "
             "with zeros, centred (padToSquare(x, true)), resized to 112x112 with "
             "tf.image.resizeBilinear(align_corners=false, half_pixel_centers=false) "
             "(NetInput.toBatchTensor)"),
    "range": "0-255", "mean": MEAN_RGB, "scale": 1 / 255,
    "formula": "(x - mean_rgb) / 255, done inside the graph", "in_graph": True,
}
SOURCE_NOTE = ("face-api.js by Vincent Muehler (justadudewhohacks), MIT; forked and republished "
               "by Vladimir Mandic as @vladmandic/face-api (MIT, README 'Credits: Original model "
               "weighs: face-api.js-models')")
TRAINING_AGE_GENDER = (
    "TUTORIAL.md in the package: 'This model has been trained and tested on the following "
    "databases with an 80/20 train/test split each: UTK, FGNET, Chalearn, Wiki, IMDB*, CACD*, "
    "MegaAge, MegaAge-Asian. The `*` indicates, that these databases have been algorithmically "
    "cleaned up, since the initial databases are very noisy.' Publisher's figures: total MAE "
    "4.54, gender accuracy 95 %; UTK MAE 5.25, gender 0.93. UTKFace was in training (80 % of "
    "it, which 80 % is not published), so our UTKFace figures are an upper bound.")
TRAINING_EXPRESSION = (
    "TUTORIAL.md in the package: 'It has been trained on a variety of images from publicly "
    "available datasets as well as images scraped from the web. Note, that wearing glasses "
    "might decrease the accuracy of the prediction results.'")


def _verification(role: str, sha: str) -> dict:
    """The comparison with face-api in node, recorded by
    models/verify_faceapi_attributes.py; it counts only for this very file."""
    base = {"sha256_pinned": True}
    if VERIFICATION.exists():
        rec = json.loads(VERIFICATION.read_text()).get(role, {})
        if rec.get("onnx_sha256") == sha:
            return {**base, **rec}
        if rec:
            return {**base, "status": "recorded comparison was for a different build; rerun "
                                      "`python -m models.verify_faceapi_attributes`"}
    return {**base, "status": "not compared with face-api; run "
                              "`python -m models.verify_faceapi_attributes` (needs node + npm)"}


def build(cache: Path, out: Path) -> dict[str, dict]:
    archive = fetch_npm(PACKAGE, VERSION, cache)
    raw = {m: read_pinned(archive, m) for m in MEMBERS}
    models = {
        "faceapi_age_gender": build_age_gender(load_weights(
            raw["model/age_gender_model-weights_manifest.json"], raw["model/age_gender_model.bin"])),
        "faceapi_expression": build_expression(load_weights(
            raw["model/face_expression_model-weights_manifest.json"],
            raw["model/face_expression_model.bin"])),
    }
    out.mkdir(parents=True, exist_ok=True)
    entries = {}
    for role, model in models.items():
        path = out / FILES[role]
        onnx.save(model, str(path))
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        stem = "age_gender_model" if role == "faceapi_age_gender" else "face_expression_model"
        members = [f"model/{stem}-weights_manifest.json", f"model/{stem}.bin"]
        entry = {
            "file": FILES[role],
            "network": ("face-api.js AgeGenderNet: TinyXception (2 main blocks) + FC age "
                        "regression + FC gender softmax" if role == "faceapi_age_gender" else
                        "face-api.js FaceExpressionNet: FaceFeatureExtractor (4 dense blocks "
                        "of separable convs) + FC, 7 classes"),
            "opt_in": True,
            "opt_in_reason": OPT_IN_REASON,
            "source": {"registry": "npm", "package": PACKAGE, "version": VERSION,
                       "members": {m: MEMBERS[m] for m in members}},
            "license": ("MIT (code and weights as published); the training data include "
                        "datasets released for non-commercial research only"),
            "license_note": SOURCE_NOTE,
            "training_data": TRAINING_AGE_GENDER if role == "faceapi_age_gender" else TRAINING_EXPRESSION,
            "opset": [{"domain": "", "version": OPSET}],
            "input": {"name": "input", "shape": ["N", 3, SIDE, SIDE], "dtype": "float32",
                      "layout": "NCHW", "color": "RGB"},
            "preprocessing": PREPROCESSING,
            "outputs": ({"age": {"shape": ["N"], "meaning": "age in years (regression)"},
                         "gender": {"shape": ["N", 2], "meaning": "softmax; [:, 0] is P(male)"}}
                        if role == "faceapi_age_gender" else
                        {"expression": {"shape": ["N", 7], "labels": EXPRESSIONS,
                                        "meaning": "softmax over " + ", ".join(EXPRESSIONS)}}),
            "verification": _verification(role, sha),
        }
        entries[role] = entry
    return entries
