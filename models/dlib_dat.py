"""Reader for dlib's serialised DNN files (``net_type`` written by ``dlib::serialize``).

Written from dlib's documented wire format (dlib/serialize.h, dlib/dnn/core.h,
dlib/dnn/tensor.h, dlib/dnn/layers.h, dlib/dnn/input.h):

* integers: one control byte (low nibble = byte count, bit 7 = negative),
  then that many little-endian magnitude bytes;
* floating point scalars: ``float_details`` = mantissa (int64) then exponent
  (int16), value = mantissa * 2**exponent;
* strings: length (int) then raw bytes; bools: the characters '0' / '1';
* ``tensor`` (version 2): n, k, nr, nc, then raw little-endian float32;
* ``alias_tensor`` (version 1): n, k, nr, nc (a view into ``params``).

A network is nested ``add_loss_layer``/``add_layer``/``add_tag_layer``/
``add_skip_layer`` objects. Each writes its version and then its subnetwork
first, so the file holds every layer's version (outermost first), then the
input layer, then each ``add_layer``'s details and state innermost first.
Tag and skip layers carry no data (not even their tag id), so the caller
must know the architecture to rebuild connections; this reader answers the
flat layer list and lets the converter check it against that architecture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DlibFormatError(ValueError):
    pass


@dataclass
class Layer:
    kind: str                 # con, affine, relu, max_pool, avg_pool, add_prev, fc, tag_or_skip
    version: str = ""         # dlib's version string, e.g. "con_4"
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # name -> np.ndarray (float32)


@dataclass
class DlibNet:
    loss: str
    loss_attrs: dict
    input: str
    input_attrs: dict
    layers: list[Layer]       # outermost (next to the loss) first


class _Stream:
    def __init__(self, data: bytes):
        self.d = memoryview(data)
        self.pos = 0

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self.d):
            raise DlibFormatError(f"truncated file at byte {self.pos}")
        out = self.d[self.pos:self.pos + n]
        self.pos += n
        return out

    def peek(self) -> int:
        return self.d[self.pos]

    def int(self) -> int:
        ctrl = self._take(1)[0]
        n = ctrl & 0x0F
        if n > 8 or ctrl & 0x70:
            raise DlibFormatError(f"bad integer control byte {ctrl:#x} at {self.pos - 1}")
        v = int.from_bytes(self._take(n), "little")
        return -v if ctrl & 0x80 else v

    def float(self) -> float:
        if self.peek() & 0x70:
            raise DlibFormatError(f"old ASCII float format at {self.pos} is not supported")
        mantissa, exponent = self.int(), self.int()
        # float_details uses reserved exponents for inf/nan; none occur in
        # trained weights' scalar settings, so reject rather than guess.
        if abs(exponent) >= 32000:
            raise DlibFormatError(f"special float (exponent {exponent}) at {self.pos}")
        return float(mantissa) * 2.0 ** exponent

    def str(self) -> str:
        n = self.int()
        return bytes(self._take(n)).decode("latin-1")

    def bool(self) -> bool:
        c = bytes(self._take(1))
        if c not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {c!r} at {self.pos - 1}")
        return c == b"1"

    def tensor(self) -> np.ndarray:
        v = self.int()
        if v != 2:
            raise DlibFormatError(f"tensor version {v} at {self.pos} (only 2 is supported)")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        v = self.int()
        if v != 1:
            raise DlibFormatError(f"alias_tensor version {v} at {self.pos}")
        return tuple(self.int() for _ in range(4))


def _split(params: np.ndarray, *shapes: tuple) -> list[np.ndarray]:
    """Cut a flat ``params`` tensor into consecutive alias views."""
    flat = params.reshape(-1)
    out, off = [], 0
    for s in shapes:
        n = int(np.prod(s))
        if off + n > flat.size:
            raise DlibFormatError(f"alias {s} runs past params of size {flat.size}")
        out.append(flat[off:off + n].reshape(s))
        off += n
    if off != flat.size:
        raise DlibFormatError(f"params has {flat.size} values, aliases use {off}")
    return out


def _details(s: _Stream) -> Layer:
    name = s.str()
    if name == "con_4":
        params = s.tensor()
        a = {"num_filters": s.int(), "nr": s.int(), "nc": s.int(),
             "stride_y": s.int(), "stride_x": s.int(),
             "padding_y": s.int(), "padding_x": s.int()}
        fshape, bshape = s.alias(), s.alias()
        for k in ("lr_mult", "wd_mult", "bias_lr_mult", "bias_wd_mult"):
            a[k] = s.float()
        w, b = _split(params, fshape, bshape)
        return Layer("con", name, a, {"weight": w, "bias": b.reshape(-1)})
    if name == "affine_":
        params = s.tensor()
        gshape, bshape = s.alias(), s.alias()
        mode = s.int()  # dlib layer_mode: 0 = CONV_MODE (per channel), 1 = FC_MODE
        g, b = _split(params, gshape, bshape)
        return Layer("affine", name, {"mode": mode}, {"gamma": g, "beta": b})
    if name == "relu_":
        return Layer("relu", name)
    if name == "add_prev_":
        return Layer("add_prev", name)
    if name in ("max_pool_2", "avg_pool_2"):
        a = {"nr": s.int(), "nc": s.int(), "stride_y": s.int(), "stride_x": s.int(),
             "padding_y": s.int(), "padding_x": s.int()}
        return Layer(name[:-2], name, a)
    if name == "fc_2":
        a = {"num_outputs": s.int(), "num_inputs": s.int()}
        params = s.tensor()
        wshape, bshape = s.alias(), s.alias()
        a["bias_mode"] = s.int()  # 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
        for k in ("lr_mult", "wd_mult", "bias_lr_mult", "bias_wd_mult"):
            a[k] = s.float()
        shapes = [wshape] + ([bshape] if a["bias_mode"] == 0 else [])
        parts = _split(params, *shapes)
        p = {"weight": parts[0]}
        if a["bias_mode"] == 0:
            p["bias"] = parts[1].reshape(-1)
        return Layer("fc", name, a, p)
    raise DlibFormatError(f"unsupported layer '{name}' at byte {s.pos}")


def _input(s: _Stream) -> tuple[str, dict]:
    name = s.str()
    if name == "input_rgb_image_sized":
        mean = [s.float(), s.float(), s.float()]
        return name, {"mean_rgb": mean, "nr": s.int(), "nc": s.int()}
    if name == "input_rgb_image":
        return name, {"mean_rgb": [s.float(), s.float(), s.float()]}
    raise DlibFormatError(f"unsupported input layer '{name}'")


def read_net(data: bytes) -> DlibNet:
    s = _Stream(data)
    if s.int() != 1:
        raise DlibFormatError("not a dlib add_loss_layer (version 1) file")
    loss, loss_attrs = _loss(s)
    versions = _versions(s)
    input_name, input_attrs = _input(s)
    layers_inner_first = _layers_inner_first(s, versions)
    if s.pos != len(s.d):
        raise DlibFormatError(f"{len(s.d) - s.pos} trailing bytes after the network")
    return DlibNet(loss, loss_attrs, input_name, input_attrs, layers_inner_first[::-1])


# read_net's parts, in the order their data sits in the file.

def _loss(s: _Stream) -> tuple[str, dict]:
    """The loss layer's name and settings (the outermost object's details)."""
    loss = s.str()
    if loss == "loss_metric_2":
        loss_attrs = {"margin": s.float(), "distance_threshold": s.float()}
    elif loss == "loss_metric_":
        loss_attrs = {}
    else:
        raise DlibFormatError(f"unsupported loss '{loss}'")
    return loss, loss_attrs


def _versions(s: _Stream) -> list[int]:
    """Layer versions, outermost first, until the input layer's name string
    (a string starts with a length whose control byte is followed by a
    printable letter; versions are small ints followed by another int).
    Leaves the stream at that string."""
    versions: list[int] = []
    while True:
        start = s.pos
        v = s.int()
        nxt = s.peek()
        if versions and 0x61 <= nxt <= 0x7A and v > 3:  # length then [a-z]
            s.pos = start
            break
        if v not in (1, 2, 3):
            raise DlibFormatError(f"unexpected layer version {v} at byte {start}")
        versions.append(v)
    return versions


def _layers_inner_first(s: _Stream, versions: list[int]) -> list[Layer]:
    """Each versioned object's details and state, innermost first (the order
    dlib writes them after the input layer)."""
    # The innermost versioned object is the add_layer holding the input.
    if versions[-1] not in (1, 2, 3):
        raise DlibFormatError("no input add_layer")
    layers_inner_first: list[Layer] = []
    for depth, v in enumerate(reversed(versions)):
        innermost = depth == 0
        if v == 1 and not innermost:
            # add_tag_layer / add_skip_layer: nothing after their subnetwork.
            layers_inner_first.append(Layer("tag_or_skip"))
            continue
        layers_inner_first.append(_add_layer(s, v, innermost))
    return layers_inner_first


def _add_layer(s: _Stream, v: int, innermost: bool) -> Layer:
    """One ``add_layer`` (version ``v``): its layer's details, then the
    add_layer's own state, of which only setup and the innermost layer's
    sample_expansion_factor are kept."""
    layer = _details(s)
    layer.attrs["this_layer_setup_called"] = s.bool()
    s.bool()  # gradient_input_is_stale
    s.bool()  # get_output_and_gradient_input_disabled
    s.tensor()  # x_grad
    s.tensor()  # cached_output
    if innermost:
        if v >= 2:
            s.tensor()  # grad_final
        if v >= 3:
            layer.attrs["sample_expansion_factor"] = s.int()
    else:
        s.tensor()  # params_grad
    return layer
