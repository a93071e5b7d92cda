"""The few pixel operations the engine needs, in numpy and Pillow.

OpenCV would do all of them, but its wheel (~144 MB installed) is what
pushes the Lambda package past 250 MB, and the engine uses only a handful
of its functions on small images (face chips of 64-224 px, detector inputs
of ~320 px). Each function here follows OpenCV's conventions (pixel centres
on integer coordinates, its interpolation and border rules, its grey
weights), so results match OpenCV within a grey level and models trained or
calibrated on OpenCV-prepared input see the same pixels;
tests/vision/test_imaging.py checks that against OpenCV itself.

Images are numpy arrays, ``(h, w)`` grey or ``(h, w, c)`` colour; channel
order is whatever the caller uses (BGR or RGB) except where a name says.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Output pixels per band of rows in warp_affine (x4 values in resize): small
# enough that the float temporaries stay in the CPU cache.
_BAND_PIXELS = 8192


# -- geometry --------------------------------------------------------------------
def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (``cv2.invertAffineTransform``)."""
    m = np.asarray(m, dtype=np.float64)
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * d - b * c
    k = 1.0 / det if det != 0 else 0.0  # a degenerate map gives zeros, as in OpenCV
    lin = np.array([[d, -b], [-c, a]]) * k
    return np.hstack([lin, -(lin @ m[:, 2])[:, None]])


def warp_affine(image: np.ndarray, m: np.ndarray, size: tuple[int, int],
                border: str = "constant") -> np.ndarray:
    """``cv2.warpAffine(image, m, size, INTER_LINEAR, border)``: output pixel
    (x, y) takes the bilinear sample of ``image`` at ``m^-1 @ (x, y, 1)``.
    ``size`` is (width, height); ``border`` "constant" (black outside the
    image) or "replicate" (nearest edge pixel)."""
    if border not in ("constant", "replicate"):
        raise ValueError(f"unknown border {border!r}")
    w, h = int(size[0]), int(size[1])
    src = np.asarray(image)
    grey = src.ndim == 2
    if grey:
        src = src[:, :, None]
    sh, sw, ch = src.shape
    inv = invert_affine(m)
    out = np.empty((h, w, ch), src.dtype)
    if not out.size:
        return out[:, :, 0] if grey else out
    part, lo_x, lo_y = _framed_part(src, inv, w, h, border)
    ph, pw = part.shape[:2]
    packed = ch == 3 and src.dtype == np.uint8
    flat = _flat_pixels(part, packed)
    # OpenCV 5's arithmetic, so pixels come out identical (the liveness
    # tracker feeds each frame's mesh into the next crop and amplifies even
    # one-level differences): the matrix in float32; per row y the term
    # m01*y + m02 in float32; x added with one rounding (a fused
    # multiply-add, done here in float64, where it is exact); then linear
    # blends in float32, along x on both rows and along y (OpenCV fuses
    # these too, which changes about one value in a million).
    inv32 = inv.astype(np.float32)
    cols = np.outer(inv32[:, 0].astype(np.float64), np.arange(w))  # m00*x, m10*x
    rows = (inv32[:, 1:2] * np.arange(h, dtype=np.float32) + inv32[:, 2:3]).astype(np.float64)
    shift = np.array([[[2 - lo_x]], [[2 - lo_y]]], np.float32)  # into the framed part
    top = np.array([[[pw - 2]], [[ph - 2]]], np.float32)
    # Bands of rows keep every temporary in the CPU cache.
    step = max(1, _BAND_PIXELS // w)
    for y in range(0, h, step):
        nr = min(step, h - y)
        n = nr * w
        s = (cols[:, None, :] + rows[:, y:y + nr, None]).astype(np.float32)  # (2, nr, w): x, y
        s0 = np.floor(s)
        s -= s0  # the blend weights
        s0 += shift
        np.clip(s0, 0, top, out=s0)
        ix, iy = s0.astype(np.intp).reshape(2, n)
        iy *= pw
        iy += ix  # top-left neighbours
        offsets = (0, pw, 1, pw + 1)  # a, c (row below), b, d
        # mode="clip" spares np.take a bounds-checked copy; all are in range.
        if packed:
            g = np.empty((4, n), np.uint32)
            for k, off in enumerate(offsets):
                np.take(flat[off:], iy, out=g[k], mode="clip")
            v = np.empty((4, ch, n), np.float32)
            np.copyto(v, g.view(np.uint8).reshape(4, n, 4).transpose(0, 2, 1)[:, :3])
        else:
            planes = np.empty((4, ch, n), src.dtype)
            for k, off in enumerate(offsets):
                for c in range(ch):
                    np.take(flat[c, off:], iy, out=planes[k, c], mode="clip")
            v = planes.astype(np.float32)
        fx, fy = s.reshape(2, n)
        v[2:] -= v[:2]
        v[2:] *= fx
        v[:2] += v[2:]  # top and bottom pairs blended along x
        v[1] -= v[0]
        v[1] *= fy
        v[0] += v[1]  # and along y
        res = v[0]
        if np.issubdtype(src.dtype, np.integer):  # as _like, in place; the copy below casts
            info = np.iinfo(src.dtype)
            np.clip(np.rint(res, out=res), info.min, info.max, out=res)
        band = out[y:y + nr].reshape(n, ch)
        for c in range(ch):  # plane by plane: ~4x faster than one transposed copy
            band[:, c] = res[c]
    return out[:, :, 0] if grey else out


def _framed_part(src: np.ndarray, inv: np.ndarray, w: int, h: int,
                 border: str) -> tuple[np.ndarray, int, int]:
    """The part of ``src`` a (w, h) output can touch (an affine map's
    extremes are at the corners), framed by two pixels holding the border
    rule, and its origin in ``src``. A source point's top-left neighbour
    clamped to the frame's first or second-to-last pixel then has the value
    the border rule gives it (black, or the edge pixel), and so does each of
    its other three neighbours: those sit at fixed offsets (+1, +row,
    +row + 1) from it in the flat framed part, so one index array serves
    all four gathers."""
    sh, sw, ch = src.shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float) @ inv.T
    lo_x, lo_y = np.clip(np.floor(corners.min(0)), 0, [sw - 1, sh - 1]).astype(int)
    hi_x, hi_y = np.clip(np.floor(corners.max(0)) + 2, [lo_x + 1, lo_y + 1], [sw, sh]).astype(int)
    part = src[lo_y:hi_y, lo_x:hi_x]
    if border == "constant":  # as np.pad, which takes ~4x longer for this
        framed = np.zeros((part.shape[0] + 4, part.shape[1] + 4, ch), src.dtype)
        framed[2:-2, 2:-2] = part
        return framed, int(lo_x), int(lo_y)
    return np.pad(part, ((2, 2), (2, 2), (0, 0)), mode="edge"), int(lo_x), int(lo_y)


def _flat_pixels(part: np.ndarray, packed: bool) -> np.ndarray:
    """The framed part as flat pixels for np.take. The float work runs on
    planes (neighbour, channel, pixel), so each pixel's weight broadcasts
    along whole rows of a band, not over 3 channels. A colour uint8 pixel
    is gathered as one uint32 (its 3 bytes and the next pixel's first):
    np.take moves 4-byte items several times faster than 3-byte rows; the
    4th byte is never read back."""
    ph, pw, ch = part.shape
    if packed:
        raw = np.zeros(ph * pw * 3 + 1, np.uint8)
        raw[:-1] = part.reshape(-1)
        return np.ndarray((ph * pw,), np.uint32, raw, strides=(3,)).copy()
    return np.ascontiguousarray(part.transpose(2, 0, 1)).reshape(ch, ph * pw)


def _like(values: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Float results back to the input's type, rounding as OpenCV does."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)


# -- resizing --------------------------------------------------------------------
def resize(image: np.ndarray, size: tuple[int, int], interpolation: str = "area") -> np.ndarray:
    """``cv2.resize`` to ``size`` (width, height). ``"area"`` (INTER_AREA)
    averages each output pixel's exact footprint when shrinking, so fine
    detail does not alias; ``"linear"`` (INTER_LINEAR) samples bilinearly
    at pixel centres, without averaging. Enlarging is bilinear in both
    (OpenCV's INTER_AREA enlargement differs from it slightly)."""
    if interpolation not in ("area", "linear"):
        raise ValueError(f"unknown interpolation {interpolation!r}")
    w, h = int(size[0]), int(size[1])
    # np.take on a strided view (e.g. channels reversed) is ~10x slower.
    src = np.ascontiguousarray(image)
    sh, sw = src.shape[:2]
    if (w, h) == (sw, sh):
        return src.copy()
    area = interpolation == "area"
    if not area and src.dtype == np.uint8:
        return _linear_u8(src, w, h)
    iy, wy = _taps(sh, h, area)
    ix, wx = _taps(sw, w, area)
    # Rows as flat (x, channel) runs: the horizontal pass gathers and
    # weighs each channel value by its own index and (repeated) weight, so
    # numpy's loops run along whole rows instead of over 3 channels.
    ch = int(np.prod(src.shape[2:]))
    ix = (ix[:, None, :] * ch + np.arange(ch)[:, None]).reshape(w * ch, -1)
    wx = np.repeat(wx, ch, axis=0)[None]
    wy = wy[:, None]
    # OpenCV's exact-halving path rounds halves up, not to even.
    halves_up = area and (sw, sh) == (2 * w, 2 * h) and np.issubdtype(src.dtype, np.integer)
    out = np.empty((h, w) + src.shape[2:], src.dtype)
    flat, flat_out = src.reshape(sh, sw * ch), out.reshape(h, w * ch)
    # Bands of output rows: down the columns, then along the rows, then
    # rounded, with temporaries small enough for the CPU cache.
    step = max(1, _BAND_PIXELS * 4 // max(sw * ch, 1))
    for y in range(0, h, step):
        band = slice(y, y + step)
        v = _weighted(_weighted(flat, 0, iy[band], wy[band]), 1, ix, wx)
        if halves_up:
            v += 0.5
            flat_out[band] = np.floor(v)
        else:
            flat_out[band] = _like(v, src.dtype)
    return out


def _linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Two taps per output pixel: centres map as (i + 0.5) * scale - 0.5,
    clamped to the edge pixels (OpenCV's INTER_LINEAR)."""
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    i0 = np.floor(pos)
    f = pos - i0
    f[i0 < 0] = 0.0
    f[i0 >= n_in - 1] = 0.0
    i0 = np.clip(i0, 0, n_in - 1).astype(np.intp)
    idx = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], 1)
    return idx, np.stack([1.0 - f, f], 1).astype(np.float32)


def _linear_u8(src: np.ndarray, w: int, h: int) -> np.ndarray:
    """INTER_LINEAR on uint8 in OpenCV's own integer arithmetic (11-bit
    weights, its vectorised rounding), which float maths misses by one
    level on about an eighth of the pixels."""
    sh, sw = src.shape[:2]
    ix, fx = _linear_taps(sw, w)
    iy, fy = _linear_taps(sh, h)
    ax = np.rint(fx[:, 1] * 2048).astype(np.int32)
    ay = np.rint(fy[:, 1] * 2048).astype(np.int32)
    shape = (1, w) + (1,) * (src.ndim - 2)
    ax0, ax1 = (2048 - ax).reshape(shape), ax.reshape(shape)

    def rows(i: np.ndarray | slice) -> np.ndarray:  # horizontal pass on the source rows i, scaled by 2048
        r = src[i]
        return (np.take(r, ix[:, 0], axis=1).astype(np.int32) * ax0
                + np.take(r, ix[:, 1], axis=1).astype(np.int32) * ax1)
    shape = (h, 1) + (1,) * (src.ndim - 2)
    b0, b1 = (2048 - ay).reshape(shape), ay.reshape(shape)
    out = np.empty((h, w) + src.shape[2:], np.uint8)
    step = max(1, _BAND_PIXELS * 4 // max(w * int(np.prod(src.shape[2:])), 1))
    for y in range(0, h, step):  # bands of rows: cache-sized temporaries
        band = slice(y, y + step)
        v = (((b0[band] * (rows(iy[band, 0]) >> 4)) >> 16)
             + ((b1[band] * (rows(iy[band, 1]) >> 4)) >> 16) + 2) >> 2
        out[band] = np.clip(v, 0, 255)
    return out


def _area_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Output pixel i covers input [i * s, (i + 1) * s); each input pixel
    weighs by its overlap with that span (OpenCV's INTER_AREA)."""
    s = n_in / n_out
    lo = np.arange(n_out) * s
    hi = lo + s
    first = np.floor(lo).astype(np.intp)
    idx = first[:, None] + np.arange(int(np.ceil(s)) + 1)
    overlap = np.minimum(idx + 1, hi[:, None]) - np.maximum(idx, lo[:, None])
    wt = np.clip(overlap, 0.0, None) / s
    # Drop tap columns no output pixel uses (e.g. the third of ceil(1.5) + 1
    # at the detector's 640 -> 427 shrink): adding 0 * x changes no sum.
    used = wt.max(0) > 0
    return np.minimum(idx[:, used], n_in - 1), wt[:, used].astype(np.float32)


def _taps(n_in: int, n_out: int, area: bool) -> tuple[np.ndarray, np.ndarray]:
    if n_in == n_out:
        return np.arange(n_in)[:, None], np.ones((n_in, 1), np.float32)
    return (_area_taps if area and n_out < n_in else _linear_taps)(n_in, n_out)


def _weighted(arr: np.ndarray, axis: int, idx: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Sum over taps t of arr's entries idx[:, t] along ``axis``, weighted
    by wt[..., t] (shaped to broadcast against the gathered entries)."""
    acc = np.take(arr, idx[:, 0], axis=axis) * wt[..., 0]
    for t in range(1, idx.shape[1]):
        np.add(acc, np.take(arr, idx[:, t], axis=axis) * wt[..., t], out=acc)
    return acc


# -- colour ------------------------------------------------------------------------
def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap the first and third channels, into a contiguous copy as
    ``cv2.cvtColor(BGR2RGB)`` makes: the reversed view would make every
    later gather from it several times slower."""
    src = np.asarray(image)
    out = np.empty_like(src)
    # Plane by plane: ~4x faster than copying the reversed view at once.
    out[..., 0], out[..., 1], out[..., 2] = src[..., 2], src[..., 1], src[..., 0]
    return out


def bgr_to_gray(image: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor(BGR2GRAY)``: 0.299 R + 0.587 G + 0.114 B, in OpenCV's
    15-bit fixed point for uint8 so every pixel comes out the same."""
    src = np.asarray(image)
    if src.dtype == np.uint8:
        b, g, r = (src[..., k].astype(np.uint32) for k in range(3))
        return ((b * 3735 + g * 19235 + r * 9798 + (1 << 14)) >> 15).astype(np.uint8)
    bf, gf, rf = (src[..., k].astype(np.float32) for k in range(3))
    return _like(bf * 0.114 + gf * 0.587 + rf * 0.299, src.dtype)


# -- measures ------------------------------------------------------------------------
def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of ``cv2.Laplacian(grey, CV_32F)`` (3x3 kernel 0 1 0 / 1 -4 1
    / 0 1 0, edges mirrored without repeating the edge pixel as OpenCV's
    default BORDER_REFLECT_101): a focus measure, high for sharp detail."""
    g = np.asarray(grey, dtype=np.float32)
    if not g.size:
        return 0.0
    # numpy's "reflect" is OpenCV's REFLECT_101; along a 1-pixel side there
    # is nothing to reflect and OpenCV repeats the pixel.
    p = g
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (1, 1)
        p = np.pad(p, pad, mode="reflect" if g.shape[axis] > 1 else "edge")
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * g
    return float(lap.var())


# -- encoding ------------------------------------------------------------------------
def encode_jpeg(bgr: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a BGR (or grey) uint8 image, as ``cv2.imencode(".jpg")``
    with IMWRITE_JPEG_QUALITY (4:2:0 chroma, like OpenCV's default); b""
    for an empty image."""
    src = np.asarray(bgr)
    if not src.size:
        return b""
    pic = Image.fromarray(np.ascontiguousarray(src if src.ndim == 2 else src[..., 2::-1]))
    buf = io.BytesIO()
    pic.save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return buf.getvalue()
