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
    # Work on the part of the image the chip can touch (an affine map's
    # extremes are at the corners), framed by one pixel holding the border
    # rule: clamping a neighbour's index into that frame then gives black
    # (constant) or the edge pixel (replicate).
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float) @ inv.T
    lo_x, lo_y = np.clip(np.floor(corners.min(0)), 0, [sw - 1, sh - 1]).astype(int)
    hi_x, hi_y = np.clip(np.floor(corners.max(0)) + 2, [lo_x + 1, lo_y + 1], [sw, sh]).astype(int)
    part = src[lo_y:hi_y, lo_x:hi_x]
    part = np.pad(part, ((1, 1), (1, 1), (0, 0)), mode="constant" if border == "constant" else "edge")
    ph, pw = part.shape[:2]
    flat = part.reshape(ph * pw, ch)
    # OpenCV 5's arithmetic, so pixels come out identical (the liveness
    # tracker feeds each frame's mesh into the next crop and amplifies even
    # one-level differences): the matrix in float32; per row y the term
    # m01*y + m02 in float32; x added with one rounding (a fused
    # multiply-add, done here in float64, where it is exact); then linear
    # blends in float32, along x on both rows and along y (OpenCV fuses
    # these too, which changes about one value in a million). Bands of rows
    # keep every temporary small enough for the CPU cache, and np.take on
    # flat pixel rows is much faster than fancy indexing.
    inv32 = inv.astype(np.float32)
    m00, m10 = float(inv32[0, 0]), float(inv32[1, 0])
    xs = np.arange(w, dtype=np.float64)
    step = max(1, _BAND_PIXELS // w)
    for y in range(0, h, step):
        ys = np.arange(y, min(y + step, h), dtype=np.float32)[:, None]
        sx = (m00 * xs + (inv32[0, 1] * ys + inv32[0, 2]).astype(np.float64)).astype(np.float32)
        sy = (m10 * xs + (inv32[1, 1] * ys + inv32[1, 2]).astype(np.float64)).astype(np.float32)
        x0, y0 = np.floor(sx), np.floor(sy)
        fx = (sx - x0)[..., None]
        fy = (sy - y0)[..., None]
        x0 -= lo_x - 1  # into the framed part
        y0 -= lo_y - 1
        cx = np.clip(x0, 0, pw - 1).astype(np.intp)
        cx1 = np.clip(x0 + 1, 0, pw - 1).astype(np.intp)
        r0 = np.clip(y0, 0, ph - 1).astype(np.intp) * pw
        r1 = np.clip(y0 + 1, 0, ph - 1).astype(np.intp) * pw
        a, b, c, d = (np.take(flat, i, axis=0).astype(np.float32)
                      for i in (r0 + cx, r0 + cx1, r1 + cx, r1 + cx1))
        b -= a
        b *= fx
        a += b  # top pair blended along x
        d -= c
        d *= fx
        c += d  # bottom pair
        c -= a
        c *= fy
        a += c  # and along y
        out[y:y + step] = _like(a, src.dtype)
    return out[:, :, 0] if grey else out


def _like(values: np.ndarray, dtype) -> np.ndarray:
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
    chan = (1,) * (src.ndim - 2)
    wy = wy.reshape(wy.shape[:1] + (1,) + chan + wy.shape[1:])
    wx = wx.reshape((1,) + wx.shape[:1] + chan + wx.shape[1:])
    # OpenCV's exact-halving path rounds halves up, not to even.
    halves_up = area and (sw, sh) == (2 * w, 2 * h) and np.issubdtype(src.dtype, np.integer)
    out = np.empty((h, w) + src.shape[2:], src.dtype)
    # Bands of output rows: down the columns, then along the rows, then
    # rounded, with temporaries small enough for the CPU cache.
    step = max(1, _BAND_PIXELS * 4 // max(sw * int(np.prod(src.shape[2:])), 1))
    for y in range(0, h, step):
        band = slice(y, y + step)
        v = _weighted(_weighted(src, 0, iy[band], wy[band]), 1, ix, wx)
        if halves_up:
            v += 0.5
            out[band] = np.floor(v)
        else:
            out[band] = _like(v, src.dtype)
    return out


def _linear_taps(n_in: int, n_out: int):
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

    def rows(i):  # horizontal pass on the source rows i, scaled by 2048
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


def _area_taps(n_in: int, n_out: int):
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


def _taps(n_in: int, n_out: int, area: bool):
    if n_in == n_out:
        return np.arange(n_in)[:, None], np.ones((n_in, 1), np.float32)
    return (_area_taps if area and n_out < n_in else _linear_taps)(n_in, n_out)


def _weighted(arr: np.ndarray, axis: int, idx: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Sum over taps t of arr's entries idx[:, t] along ``axis``, weighted
    by wt[..., t] (shaped to broadcast against the gathered entries)."""
    acc = None
    for t in range(idx.shape[1]):
        term = np.take(arr, idx[:, t], axis=axis) * wt[..., t]
        acc = term if acc is None else np.add(acc, term, out=acc)
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
    b, g, r = (src[..., k].astype(np.float32) for k in range(3))
    return _like(b * 0.114 + g * 0.587 + r * 0.299, src.dtype)


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
