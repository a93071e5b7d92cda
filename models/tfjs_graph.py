"""TensorFlow.js *graph* models (``model.json`` with a GraphDef topology plus
``.bin`` weight shards) to ONNX, with numpy + onnx only.

    weights = read_weights(model_json, read_shard)   # name -> float32/int32 array
    model = convert(model_json, weights, outputs={"age": "Identity"})

Weights are dequantised per the ``weightsManifest`` ``quantization`` spec
(uint8/uint16 affine ``q * scale + min``, or float16) exactly as
tfjs-converter does when it loads them, so the ONNX graph computes what
tfjs computes on the same input. Tensors stay NHWC, as in the TF graph;
each spatial op (convolution, pooling, resize) is wrapped in a pair of
Transposes to ONNX's NCHW and back, which onnxruntime's transpose
optimiser cancels between consecutive spatial ops.

Only the ops the converted models use (and their close relatives) are
handled; any other op raises ``UnsupportedOp`` naming it, so a new model
fails at build time instead of computing something else.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
_TF_DTYPES = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_BOOL": np.bool_,
              "DT_INT64": np.int64}


class UnsupportedOp(ValueError):
    pass


# --- weights ---------------------------------------------------------------

def read_weights(model_json: dict, read_shard: Callable[[str], bytes]) -> dict[str, np.ndarray]:
    """Every weight of the manifest as a numpy array (dequantised to its
    declared dtype). ``read_shard(path)`` answers the bytes of one shard
    named in the manifest's ``paths``."""
    out: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        data = b"".join(read_shard(p) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            dtype = _DTYPES.get(spec["dtype"])
            if dtype is None:
                raise UnsupportedOp(f"weight {spec['name']}: dtype {spec['dtype']}")
            quant = spec.get("quantization")
            if quant:
                qtype = _QUANT.get(quant["dtype"])
                if qtype is None:
                    raise UnsupportedOp(f"weight {spec['name']}: quantization {quant['dtype']}")
                size = count * np.dtype(qtype).itemsize
                raw = np.frombuffer(data, qtype, count, offset)
                if qtype == np.float16:
                    values = raw.astype(np.float32)
                else:
                    values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
                arr = values.astype(dtype) if dtype != np.float32 else values
            else:
                size = count * np.dtype(dtype).itemsize
                arr = np.frombuffer(data, dtype, count, offset).copy()
            offset += size
            out[spec["name"]] = arr.reshape(shape)
        if offset != len(data):
            raise ValueError(f"weights of {group['paths']}: read {offset} B of {len(data)} B")
    return out


# --- attribute decoding (tfjs JSON form of AttrValue) -----------------------

def _attr(node: dict, key: str, default: Any = None) -> Any:
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "type" in a:
        return a["type"]
    return a


def _inline_const(node: dict) -> np.ndarray | None:
    """A Const whose value sits in the topology (tfjs keeps small ones there)."""
    t = node.get("attr", {}).get("value", {}).get("tensor")
    if not t:
        return None
    dtype = _TF_DTYPES.get(t.get("dtype", "DT_FLOAT"), np.float32)
    shape = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    for key in ("floatVal", "intVal", "int64Val", "boolVal"):
        if key in t:
            vals = np.array(t[key], dtype=dtype)
            n = int(np.prod(shape)) if shape else 1
            return (np.full(n, vals[0], dtype) if vals.size == 1 and n != 1 else vals).reshape(shape)
    return None


# --- the converter -----------------------------------------------------------

class _Builder:
    def __init__(self, nodes: dict[str, dict], weights: dict[str, np.ndarray]):
        self.tf = nodes
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.done: set[str] = set()
        self.inputs: list[onnx.ValueInfoProto] = []
        self._n = 0

    # names
    @staticmethod
    def ref(tf_input: str) -> tuple[str, int]:
        name, _, idx = tf_input.partition(":")
        return name, int(idx) if idx else 0

    def tensor(self, tf_input: str) -> str:
        name, idx = self.ref(tf_input)
        self.emit(name)
        if self.tf[name]["op"] == "Const":
            self.const_init(name)
        return name if idx == 0 else f"{name}:{idx}"

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}__{self._n}"

    # constants
    def const(self, tf_input: str) -> np.ndarray:
        name, _ = self.ref(tf_input)
        node = self.tf[name]
        if node["op"] == "Identity":
            return self.const(node["input"][0])
        if node["op"] != "Const":
            raise UnsupportedOp(f"{name}: expected a constant, got {node['op']}")
        if name in self.weights:
            return self.weights[name]
        inline = _inline_const(node)
        if inline is None:
            raise ValueError(f"constant {name} has no value in the weights or the topology")
        return inline

    def const_init(self, name: str) -> None:
        if name not in self.inits:
            value = self.const(name)
            if value.dtype == np.int32:
                value = value.astype(np.int64)  # ONNX shape/index inputs are int64
            self.inits[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)

    def init(self, value: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.inits[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)
        return name

    def add(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or self.fresh(op)
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.fresh(op), **attrs))
        return out

    def nchw(self, x: str, op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        t = self.add("Transpose", [x], perm=TO_NCHW)
        y = self.add(op, [t] + inputs, **attrs)
        return self.add("Transpose", [y], out, perm=TO_NHWC)

    # graph walk
    def emit(self, name: str) -> None:
        if name in self.done:
            return
        self.done.add(name)
        node = self.tf[name]
        op = node["op"]
        if op == "Const":
            return
        handler = getattr(self, "op_" + op.lstrip("_"), None)
        if handler is None:
            raise UnsupportedOp(f"TF op {op} (node {name}) is not supported")
        handler(node, [i for i in node.get("input", []) if not i.startswith("^")])

    # --- ops -------------------------------------------------------------
    def op_Placeholder(self, node: dict, _: list[str]) -> None:
        dims = [int(d.get("size", -1)) for d in
                node.get("attr", {}).get("shape", {}).get("shape", {}).get("dim", [])]
        shape: list[int | str] = ["N" if d < 0 and i == 0 else (f"d{i}" if d < 0 else d)
                                  for i, d in enumerate(dims)]
        self.inputs.append(helper.make_tensor_value_info(node["name"], TensorProto.FLOAT, shape))

    def op_Identity(self, node: dict, ins: list[str]) -> None:
        self.add("Identity", [self.tensor(ins[0])], node["name"])

    op_StopGradient = op_Identity

    def op_Cast(self, node: dict, ins: list[str]) -> None:
        to = {"DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT32,
              "DT_INT64": TensorProto.INT64, "DT_BOOL": TensorProto.BOOL}[_attr(node, "DstT")]
        self.add("Cast", [self.tensor(ins[0])], node["name"], to=to)

    def _binary(self, onnx_op: str) -> Callable[[dict, list[str]], None]:
        def handler(node: dict, ins: list[str]) -> None:
            self.add(onnx_op, [self.tensor(ins[0]), self.tensor(ins[1])], node["name"])
        return handler

    def _unary(self, onnx_op: str, **attrs: Any) -> Callable[[dict, list[str]], None]:
        def handler(node: dict, ins: list[str]) -> None:
            self.add(onnx_op, [self.tensor(ins[0])], node["name"], **attrs)
        return handler

    def __getattr__(self, item: str) -> Any:
        binary = {"Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Mul": "Mul", "Sub": "Sub",
                  "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min"}
        unary = {"Relu": ("Relu", {}), "Sigmoid": ("Sigmoid", {}), "Tanh": ("Tanh", {}),
                 "Elu": ("Elu", {}), "Softmax": ("Softmax", {"axis": -1}),
                 "Exp": ("Exp", {}), "Sqrt": ("Sqrt", {}), "Neg": ("Neg", {})}
        if item.startswith("op_"):
            op = item[3:]
            if op in binary:
                return self._binary(binary[op])
            if op in unary:
                onnx_op, attrs = unary[op]
                return self._unary(onnx_op, **attrs)
        raise AttributeError(item)

    def op_Relu6(self, node: dict, ins: list[str]) -> None:
        self.add("Clip", [self.tensor(ins[0]), self.init(np.float32(0), "zero"),
                          self.init(np.float32(6), "six")], node["name"])

    def op_LeakyRelu(self, node: dict, ins: list[str]) -> None:
        self.add("LeakyRelu", [self.tensor(ins[0])], node["name"], alpha=_attr(node, "alpha", 0.2))

    def op_Prelu(self, node: dict, ins: list[str]) -> None:
        self.add("PRelu", [self.tensor(ins[0]), self.tensor(ins[1])], node["name"])

    def _activation(self, x: str, fused: list[str], node: dict, extra: list[str], out: str) -> str:
        """Apply the fused ops after the first (BiasAdd / FusedBatchNorm)."""
        acts = fused[1:]
        if len(acts) > 1:
            raise UnsupportedOp(f"{node['name']}: fused ops {fused}")
        if not acts:
            return self.add("Identity", [x], out)
        act = acts[0]
        if act == "Relu":
            return self.add("Relu", [x], out)
        if act == "Relu6":
            return self.add("Clip", [x, self.init(np.float32(0), "zero"),
                                     self.init(np.float32(6), "six")], out)
        if act == "Elu":
            return self.add("Elu", [x], out)
        if act == "Sigmoid":
            return self.add("Sigmoid", [x], out)
        if act == "Tanh":
            return self.add("Tanh", [x], out)
        if act == "LeakyRelu":
            return self.add("LeakyRelu", [x], out, alpha=_attr(node, "leakyrelu_alpha", 0.2))
        if act == "Prelu":
            return self.add("PRelu", [x, self.tensor(extra[0])], out)
        raise UnsupportedOp(f"{node['name']}: fused activation {act}")

    def _conv_attrs(self, node: dict, kernel: tuple[int, int]) -> dict:
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise UnsupportedOp(f"{node['name']}: data_format {_attr(node, 'data_format')}")
        strides = _attr(node, "strides", [1, 1, 1, 1])
        dil = _attr(node, "dilations", [1, 1, 1, 1])
        attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": strides[1:3],
                                 "dilations": dil[1:3]}
        attrs.update(self._padding(node))
        return attrs

    @staticmethod
    def _padding(node: dict) -> dict:
        pad = _attr(node, "padding", "VALID")
        if pad == "SAME":
            return {"auto_pad": "SAME_UPPER"}  # TF puts the odd pixel at the end, as SAME_UPPER
        if pad == "VALID":
            return {"pads": [0, 0, 0, 0]}
        if pad == "EXPLICIT":
            p = _attr(node, "explicit_paddings")
            return {"pads": [p[2], p[4], p[3], p[5]]}
        raise UnsupportedOp(f"{node['name']}: padding {pad}")

    def _conv(self, node: dict, ins: list[str], depthwise: bool, fused: list[str]) -> None:
        f = self.const(ins[1]).astype(np.float32)
        kh, kw, cin, cout = f.shape
        if depthwise:
            w = f.reshape(kh, kw, cin * cout).transpose(2, 0, 1)[:, None]
            group = cin
        else:
            w = f.transpose(3, 2, 0, 1)
            group = 1
        conv_in = [self.init(w, node["name"] + "/w")]
        extra = ins[2:]
        if fused:
            if fused[0] != "BiasAdd":
                raise UnsupportedOp(f"{node['name']}: fused ops {fused}")
            conv_in.append(self.init(self.const(extra[0]).astype(np.float32), node["name"] + "/b"))
            extra = extra[1:]
        x = self.tensor(ins[0])
        if not fused or len(fused) == 1:
            self.nchw(x, "Conv", conv_in, node["name"], group=group,
                      **self._conv_attrs(node, (kh, kw)))
            return
        y = self.nchw(x, "Conv", conv_in, self.fresh("conv"), group=group,
                      **self._conv_attrs(node, (kh, kw)))
        self._activation(y, fused, node, extra, node["name"])

    def op_Conv2D(self, node: dict, ins: list[str]) -> None:
        self._conv(node, ins, False, [])

    def op_DepthwiseConv2dNative(self, node: dict, ins: list[str]) -> None:
        self._conv(node, ins, True, [])

    def op_FusedConv2D(self, node: dict, ins: list[str]) -> None:
        self._conv(node, ins, False, _attr(node, "fused_ops", []))

    def op_FusedDepthwiseConv2dNative(self, node: dict, ins: list[str]) -> None:
        self._conv(node, ins, True, _attr(node, "fused_ops", []))

    def _pool(self, node: dict, ins: list[str], op: str) -> None:
        k = _attr(node, "ksize")
        s = _attr(node, "strides")
        if k[0] != 1 or k[3] != 1 or s[0] != 1 or s[3] != 1:
            raise UnsupportedOp(f"{node['name']}: pooling over batch or channels")
        attrs: dict[str, Any] = {"kernel_shape": k[1:3], "strides": s[1:3], **self._padding(node)}
        if op == "AveragePool":
            attrs["count_include_pad"] = 0  # TF averages over the real pixels only
        self.nchw(self.tensor(ins[0]), op, [], node["name"], **attrs)

    def op_MaxPool(self, node: dict, ins: list[str]) -> None:
        self._pool(node, ins, "MaxPool")

    def op_AvgPool(self, node: dict, ins: list[str]) -> None:
        self._pool(node, ins, "AveragePool")

    def _matmul(self, node: dict, ins: list[str], fused: list[str]) -> None:
        a = self.tensor(ins[0])
        if _attr(node, "transpose_a", False):
            a = self.add("Transpose", [a], perm=[1, 0])
        name_b, _ = self.ref(ins[1])
        if self.tf[name_b]["op"] == "Const":
            b_val = self.const(ins[1]).astype(np.float32)
            b = self.init(b_val.T if _attr(node, "transpose_b", False) else b_val, node["name"] + "/w")
        else:
            b = self.tensor(ins[1])
            if _attr(node, "transpose_b", False):
                b = self.add("Transpose", [b], perm=[1, 0])
        if not fused:
            self.add("MatMul", [a, b], node["name"])
            return
        if fused[0] != "BiasAdd":
            raise UnsupportedOp(f"{node['name']}: fused ops {fused}")
        y = self.add("MatMul", [a, b])
        y = self.add("Add", [y, self.tensor(ins[2])])
        self._activation(y, fused, node, ins[3:], node["name"])

    def op_MatMul(self, node: dict, ins: list[str]) -> None:
        self._matmul(node, ins, [])

    def op_FusedMatMul(self, node: dict, ins: list[str]) -> None:
        self._matmul(node, ins, _attr(node, "fused_ops", []))

    def _reduce(self, node: dict, ins: list[str], op: str) -> None:
        axes = [int(a) for a in np.atleast_1d(self.const(ins[1]))]
        self.add(op, [self.tensor(ins[0])], node["name"], axes=axes,
                 keepdims=int(bool(_attr(node, "keep_dims", False))))

    def op_Mean(self, node: dict, ins: list[str]) -> None:
        self._reduce(node, ins, "ReduceMean")

    def op_Max(self, node: dict, ins: list[str]) -> None:
        self._reduce(node, ins, "ReduceMax")

    def op_Sum(self, node: dict, ins: list[str]) -> None:
        axes = np.atleast_1d(self.const(ins[1])).astype(np.int64)
        self.add("ReduceSum", [self.tensor(ins[0]), self.init(axes, "axes")], node["name"],
                 keepdims=int(bool(_attr(node, "keep_dims", False))))

    def op_Reshape(self, node: dict, ins: list[str]) -> None:
        shape = np.atleast_1d(self.const(ins[1])).astype(np.int64)
        self.add("Reshape", [self.tensor(ins[0]), self.init(shape, "shape")], node["name"])

    def op_Squeeze(self, node: dict, ins: list[str]) -> None:
        axes = _attr(node, "squeeze_dims", [])
        inputs = [self.tensor(ins[0])]
        if axes:
            inputs.append(self.init(np.array(axes, np.int64), "axes"))
        self.add("Squeeze", inputs, node["name"])

    def op_ExpandDims(self, node: dict, ins: list[str]) -> None:
        axes = np.atleast_1d(self.const(ins[1])).astype(np.int64)
        self.add("Unsqueeze", [self.tensor(ins[0]), self.init(axes, "axes")], node["name"])

    def op_Transpose(self, node: dict, ins: list[str]) -> None:
        perm = [int(p) for p in self.const(ins[1])]
        self.add("Transpose", [self.tensor(ins[0])], node["name"], perm=perm)

    def op_ConcatV2(self, node: dict, ins: list[str]) -> None:
        axis = int(self.const(ins[-1]))
        self.add("Concat", [self.tensor(i) for i in ins[:-1]], node["name"], axis=axis)

    def op_Pad(self, node: dict, ins: list[str]) -> None:
        p = self.const(ins[1]).astype(np.int64)  # (rank, 2): before, after per dim
        pads = np.concatenate([p[:, 0], p[:, 1]])
        self.add("Pad", [self.tensor(ins[0]), self.init(pads, "pads")], node["name"], mode="constant")

    def op_ResizeBilinear(self, node: dict, ins: list[str]) -> None:
        size = [int(v) for v in self.const(ins[1])]
        if _attr(node, "align_corners", False):
            mode = "align_corners"
        elif _attr(node, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"  # TF1 resize without half-pixel centres
        x = self.tensor(ins[0])
        t = self.add("Transpose", [x], perm=TO_NCHW)
        shape = self.add("Shape", [t])
        nc = self.add("Slice", [shape, self.init(np.array([0], np.int64), "s"),
                                self.init(np.array([2], np.int64), "e")])
        sizes = self.add("Concat", [nc, self.init(np.array(size, np.int64), "hw")], axis=0)
        y = self.add("Resize", [t, "", "", sizes], mode="linear",
                     coordinate_transformation_mode=mode)
        self.add("Transpose", [y], node["name"], perm=TO_NHWC)

    def op_StridedSlice(self, node: dict, ins: list[str]) -> None:
        begin = [int(v) for v in self.const(ins[1])]
        end = [int(v) for v in self.const(ins[2])]
        strides = [int(v) for v in self.const(ins[3])]
        if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
            raise UnsupportedOp(f"{node['name']}: StridedSlice with ellipsis/new_axis masks")
        bm, em, sm = (_attr(node, k, 0) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
        starts, ends, axes, steps, squeeze = [], [], [], [], []
        for i, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
            if sm >> i & 1:
                starts.append(b)
                ends.append(b + 1 if b != -1 else INT64_MAX)
                steps.append(1)
                squeeze.append(i)
            else:
                starts.append((0 if s > 0 else -1) if bm >> i & 1 else b)
                ends.append((INT64_MAX if s > 0 else INT64_MIN) if em >> i & 1 else e)
                steps.append(s)
            axes.append(i)
        y = self.add("Slice", [self.tensor(ins[0]), self.init(np.array(starts, np.int64), "starts"),
                               self.init(np.array(ends, np.int64), "ends"),
                               self.init(np.array(axes, np.int64), "axes"),
                               self.init(np.array(steps, np.int64), "steps")],
                     None if squeeze else node["name"])
        if squeeze:
            self.add("Squeeze", [y, self.init(np.array(squeeze, np.int64), "axes")], node["name"])


def graph_nodes(model_json: dict) -> dict[str, dict]:
    return {n["name"]: n for n in model_json["modelTopology"]["node"]}


def signature_outputs(model_json: dict) -> dict[str, str]:
    """{output key: node name} from the model's signature (top-level or in
    userDefinedMetadata, where tfjs-converter and Human put it)."""
    sig = model_json.get("signature") or model_json.get("userDefinedMetadata", {}).get("signature", {})
    return {key: spec["name"].split(":")[0] for key, spec in sig.get("outputs", {}).items()}


def ops_used(model_json: dict) -> list[str]:
    return sorted({n["op"] for n in model_json["modelTopology"]["node"]})


def convert(model_json: dict, weights: dict[str, np.ndarray],
            outputs: dict[str, str] | Iterable[str] | None = None,
            graph_name: str = "tfjs_graph") -> onnx.ModelProto:
    """The ONNX model of the graph. ``outputs`` maps ONNX output names to
    TF node names (or lists node names, kept as names); by default the
    model's signature outputs. Only what the outputs depend on is built."""
    nodes = graph_nodes(model_json)
    if outputs is None:
        outputs = signature_outputs(model_json)
    out_map = dict(outputs) if isinstance(outputs, dict) else {n: n for n in outputs}
    if not out_map:
        raise ValueError("no outputs named and the model has no signature")
    b = _Builder(nodes, weights)
    graph_outputs = []
    srcs = {out_name: b.tensor(tf_name) for out_name, tf_name in out_map.items()}
    # An output named like an inner TF tensor: the inner one is renamed.
    produced = {o for n in b.nodes for o in n.output} | set(b.inits)
    clash = {o for o, src in srcs.items() if o != src and o in produced}
    for n in b.nodes:
        for seq in (n.input, n.output):
            for k, name in enumerate(seq):
                if name in clash:
                    seq[k] = name + "__tf"
    for name in clash & set(b.inits):
        b.inits[name].name = name + "__tf"
    for out_name, src in srcs.items():
        src = src + "__tf" if src in clash else src
        if out_name != src:
            b.add("Identity", [src], out_name)
        graph_outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None))
    graph = helper.make_graph(b.nodes, graph_name, b.inputs, graph_outputs,
                              initializer=list(b.inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="openfrs models/tfjs_graph.py")
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model
