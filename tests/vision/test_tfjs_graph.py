"""models/tfjs_graph.py on a small TFJS graph model built here, checked
against an independent numpy implementation of TF's op semantics (SAME
padding with the odd pixel at the end, pooling that averages real pixels
only, depthwise channel order, StridedSlice masks) and against the
dequantisation rules of the weights manifest."""
from __future__ import annotations

import base64

import numpy as np
import onnxruntime as ort
import pytest

from models import tfjs_graph


def _s(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _ints(*v: int) -> dict:
    return {"list": {"i": [str(i) for i in v]}}


def node(name: str, op: str, inputs: list[str] | None = None, **attr) -> dict:
    return {"name": name, "op": op, "input": inputs or [], "attr": attr}


def conv_attrs(stride: int, padding: str, fused: list[str] | None = None) -> dict:
    a = {"strides": _ints(1, stride, stride, 1), "padding": {"s": _s(padding)},
         "data_format": {"s": _s("NHWC")}, "dilations": _ints(1, 1, 1, 1)}
    if fused:
        a["fused_ops"] = {"list": {"s": [_s(f) for f in fused]}}
        a["num_args"] = {"i": "1"}
    return a


def pool_attrs(k: int, s: int, padding: str) -> dict:
    return {"ksize": _ints(1, k, k, 1), "strides": _ints(1, s, s, 1), "padding": {"s": _s(padding)}}


RNG = np.random.default_rng(7)
W_CONV_Q = RNG.integers(0, 256, (3, 3, 3, 4)).astype(np.uint8)      # uint8-quantised
Q_SCALE, Q_MIN = 0.0078125, -1.0
B_CONV = RNG.normal(size=4).astype(np.float32)
W_DW = RNG.normal(size=(3, 3, 4, 2)).astype(np.float16)               # float16-quantised
W_FC = RNG.normal(size=(8, 5)).astype(np.float32)
B_FC = RNG.normal(size=5).astype(np.float32)
SCALE = np.array([0.5, -2.0, 1.5, 3.0, 0.25], np.float32)


def tiny_model() -> tuple[dict, bytes]:
    """input (N, 10, 10, 3) -> fused conv+bias+relu (SAME, s1) -> depthwise x2
    (SAME, s2) -> avg pool 2/1 SAME -> max pool 2/2 VALID -> mean -> fused
    matmul+bias -> softmax; plus a tanh/mul/div branch and a StridedSlice
    with shrink and begin/end masks."""
    nodes = [
        node("x", "Placeholder", shape={"shape": {"dim": [{"size": "-1"}, {"size": "10"},
                                                            {"size": "10"}, {"size": "3"}]}},
             dtype={"type": "DT_FLOAT"}),
        node("w_conv", "Const"), node("b_conv", "Const"), node("w_dw", "Const"),
        node("w_fc", "Const"), node("b_fc", "Const"), node("axes", "Const"),
        node("scale", "Const"), node("begin", "Const"), node("end", "Const"), node("strides", "Const"),
        node("conv", "_FusedConv2D", ["x", "w_conv", "b_conv"], **conv_attrs(1, "SAME", ["BiasAdd", "Relu"])),
        node("dw", "DepthwiseConv2dNative", ["conv", "w_dw"], **conv_attrs(2, "SAME")),
        node("avg", "AvgPool", ["dw"], **pool_attrs(2, 1, "SAME")),
        node("max", "MaxPool", ["avg"], **pool_attrs(2, 2, "VALID")),
        node("mean", "Mean", ["max", "axes"], keep_dims={"b": False}),
        node("fc", "_FusedMatMul", ["mean", "w_fc", "b_fc"], fused_ops={"list": {"s": [_s("BiasAdd")]}},
             transpose_a={"b": False}, transpose_b={"b": False}),
        node("prob", "Softmax", ["fc"]),
        node("th", "Tanh", ["fc"]), node("mul", "Mul", ["th", "scale"]),
        node("div", "RealDiv", ["mul", "fc"]), node("sum", "AddV2", ["div", "prob"]),
        node("slice", "StridedSlice", ["sum", "begin", "end", "strides"],
             begin_mask={"i": "0"}, end_mask={"i": "3"}, shrink_axis_mask={"i": "0"}),
        node("col", "StridedSlice", ["prob", "begin", "end", "strides"],
             begin_mask={"i": "1"}, end_mask={"i": "1"}, shrink_axis_mask={"i": "2"}),
        node("out_prob", "Identity", ["prob"]), node("out_slice", "Identity", ["slice"]),
        node("out_col", "Identity", ["col"]),
    ]
    weights = [
        ("w_conv", W_CONV_Q, {"dtype": "uint8", "scale": Q_SCALE, "min": Q_MIN}, "float32"),
        ("b_conv", B_CONV, None, "float32"),
        ("w_dw", W_DW, {"dtype": "float16"}, "float32"),
        ("w_fc", W_FC, None, "float32"), ("b_fc", B_FC, None, "float32"),
        ("axes", np.array([1, 2], np.int32), None, "int32"), ("scale", SCALE, None, "float32"),
        ("begin", np.array([0, 1], np.int32), None, "int32"),
        ("end", np.array([0, 4], np.int32), None, "int32"),
        ("strides", np.array([1, 2], np.int32), None, "int32"),
    ]
    specs, blob = [], b""
    for name, arr, quant, dtype in weights:
        spec = {"name": name, "shape": list(arr.shape), "dtype": dtype}
        if quant:
            spec["quantization"] = quant
        specs.append(spec)
        blob += np.ascontiguousarray(arr).tobytes()
    model_json = {"format": "graph-model", "modelTopology": {"node": nodes},
                  "weightsManifest": [{"paths": ["w.bin"], "weights": specs}]}
    return model_json, blob


# --- an independent reference of TF's semantics ------------------------------

def same_pads(n: int, k: int, s: int) -> tuple[int, int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def ref_conv(x: np.ndarray, w: np.ndarray, s: int, depthwise: bool = False) -> np.ndarray:
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    oh, pt, pb = same_pads(h, kh, s)
    ow, pl, pr = same_pads(wd, kw, s)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    cout = c * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((n, oh, ow, cout), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * s:i * s + kh, j * s:j * s + kw, :]
            if depthwise:  # channel c*mult + m takes input channel c with filter [..., c, m]
                out[:, i, j] = np.einsum("nhwc,hwcm->ncm", patch, w).reshape(n, -1)
            else:
                out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def ref_pool(x: np.ndarray, k: int, s: int, same: bool, op: str) -> np.ndarray:
    n, h, w, c = x.shape
    if same:
        oh, pt, _ = same_pads(h, k, s)
        ow, pl, _ = same_pads(w, k, s)
    else:
        oh, ow, pt, pl = (h - k) // s + 1, (w - k) // s + 1, 0, 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * s - pt, j * s - pl
            win = x[:, max(y0, 0):min(y0 + k, h), max(x0, 0):min(x0 + k, w), :]
            out[:, i, j] = win.max(axis=(1, 2)) if op == "max" else win.mean(axis=(1, 2))
    return out


def reference(x: np.ndarray) -> dict[str, np.ndarray]:
    w_conv = W_CONV_Q.astype(np.float64) * Q_SCALE + Q_MIN
    y = np.maximum(ref_conv(x, w_conv, 1) + B_CONV, 0)
    y = ref_conv(y, W_DW.astype(np.float64), 2, depthwise=True)
    y = ref_pool(y, 2, 1, True, "avg")
    y = ref_pool(y, 2, 2, False, "max")
    fc = y.mean(axis=(1, 2)) @ W_FC + B_FC
    e = np.exp(fc - fc.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    total = np.tanh(fc) * SCALE / fc + prob
    # slice: [0:, 1::2] (end mask on both axes); col: [:, 1] (axis 1 shrunk)
    return {"prob": prob, "slice": total[:, 1::2], "col": prob[:, 1]}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    model_json, blob = tiny_model()
    weights = tfjs_graph.read_weights(model_json, lambda p: {"w.bin": blob}[p])
    model = tfjs_graph.convert(model_json, weights, {"prob": "out_prob", "slice": "out_slice",
                                                     "col": "out_col"})
    path = tmp_path_factory.mktemp("tfjs") / "tiny.onnx"
    path.write_bytes(model.SerializeToString())
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_weights_are_dequantised_as_the_manifest_says():
    model_json, blob = tiny_model()
    w = tfjs_graph.read_weights(model_json, lambda p: blob)
    np.testing.assert_array_equal(w["w_conv"], W_CONV_Q.astype(np.float32) * np.float32(Q_SCALE)
                                  + np.float32(Q_MIN))
    assert w["w_conv"].min() >= -1.0 and w["w_conv"].max() <= -1.0 + 255 * Q_SCALE
    np.testing.assert_array_equal(w["w_dw"], W_DW.astype(np.float32))
    assert w["axes"].dtype == np.int32 and w["axes"].tolist() == [1, 2]


def test_a_short_shard_is_refused():
    model_json, blob = tiny_model()
    with pytest.raises(ValueError):
        tfjs_graph.read_weights(model_json, lambda p: blob + b"\0\0\0\0")


def test_converted_graph_computes_what_tf_semantics_say(converted):
    x = RNG.normal(size=(3, 10, 10, 3)).astype(np.float32)  # stride 2 and k 2: SAME pads unevenly
    got = dict(zip(["prob", "slice", "col"], converted.run(["prob", "slice", "col"], {"x": x}),
                   strict=True))
    want = reference(x.astype(np.float64))
    assert got["slice"].shape == (3, 2) and got["col"].shape == (3,)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_batch_dimension_is_free(converted):
    x = RNG.normal(size=(1, 10, 10, 3)).astype(np.float32)
    one = converted.run(["prob"], {"x": x})[0]
    many = converted.run(["prob"], {"x": np.concatenate([x, x * 0.5])})[0]
    np.testing.assert_allclose(many[0], one[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(many[1], one[0])


def test_an_unknown_op_is_refused_by_name():
    model_json, blob = tiny_model()
    model_json["modelTopology"]["node"].append(node("odd", "Cumsum", ["prob", "axes"]))
    weights = tfjs_graph.read_weights(model_json, lambda p: blob)
    with pytest.raises(tfjs_graph.UnsupportedOp, match="Cumsum"):
        tfjs_graph.convert(model_json, weights, {"y": "odd"})
    # A graph whose outputs do not need the unknown op still converts.
    tfjs_graph.convert(model_json, weights, {"prob": "out_prob"})
