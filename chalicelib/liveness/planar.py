"""Is the moving face a 3-D head or a flat picture? (presentation attacks)

Under a real head turn or nod the face shows parallax: the nose moves
against the cheeks and the far side of the face slides over the head, in a
way no single plane does. A printed or on-screen photo, however it is
tilted, moved or zoomed in front of the camera, is seen through one
homography of the rest frame.

Two steps, both numpy:
- ``homography``: a normalised DLT fit between the rest frame's rigid mesh
  points (outline above the jaw, eye corners, nose, cheeks, brows; a mouth
  or eyelid moving is not parallax) and a frame's: the starting guess.
- ``align``: the mesh points are a model's estimate (a few % of the face
  size off on a strongly tilted picture, as much as a real turn's
  parallax), the face's texture is exact. Gauss-Newton (forward-additive
  Lucas-Kanade, coarse then fine) refines the homography that best carries
  the rest face's texture (brows to nose base, cheek to cheek) onto the
  frame's and answers 1 - normalised cross-correlation: ~0.001-0.03 for a
  picture (noise, compression, resampling, a bent sheet), 0.05-0.5 for a
  head whose nose and cheeks moved against each other.
"""
from __future__ import annotations

import numpy as np

# Face Mesh indices: upper face outline (forehead to the cheekbones, both
# sides), outer/inner eye corners, nose bridge to tip and wings, cheeks.
RIGID_IDX = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323,          # outline, image right
    109, 67, 103, 54, 21, 162, 127, 234, 93,                  # outline, image left
    33, 133, 362, 263,                                        # eye corners
    168, 6, 197, 195, 5, 4, 1, 19, 98, 327,                   # nose bridge, tip, wings
    50, 280, 205, 425, 117, 346,                              # cheeks
    70, 300, 105, 334,                                        # brows
], np.intp)


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """3x3 H with dst ~ H src (least squares DLT on Hartley-normalised
    points); None when degenerate."""
    def norm(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = p.mean(0)
        d = float(np.sqrt(((p - c) ** 2).sum(1)).mean())
        s = np.sqrt(2) / d if d > 1e-9 else 1.0
        t = np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])
        return (p - c) * s, t
    if len(src) < 4:
        return None
    a, ta = norm(np.asarray(src, np.float64))
    b, tb = norm(np.asarray(dst, np.float64))
    n = len(a)
    m = np.zeros((2 * n, 9))
    m[0::2, 0:2], m[0::2, 2] = a, 1
    m[0::2, 6:8], m[0::2, 8] = -b[:, :1] * a, -b[:, 0]
    m[1::2, 3:5], m[1::2, 5] = a, 1
    m[1::2, 6:8], m[1::2, 8] = -b[:, 1:] * a, -b[:, 1]
    try:
        _, sv, vt = np.linalg.svd(m)
    except np.linalg.LinAlgError:
        return None
    h = vt[-1].reshape(3, 3)
    h = np.linalg.inv(tb) @ h @ ta
    if not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-12:
        return None
    return h / h[2, 2]


def apply(h: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.column_stack([p, np.ones(len(p))]) @ h.T
    return q[:, :2] / q[:, 2:3]


def face_size(p: np.ndarray) -> float:
    """Scale of a rigid point set: its RMS distance from its centre."""
    return float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean()))


# --- photometric check: does one homography carry the face's texture? -------
# The mesh points are a model's estimate (a few % of the face size off on a
# strongly tilted photo); the face's texture is exact. Starting from the
# mesh homography, Gauss-Newton (forward-additive Lucas-Kanade) refines the
# homography that best maps the rest face's texture onto the frame's, and
# the residual is 1 - normalised cross-correlation: near 0 for a picture
# (noise, compression, resampling), clearly higher for a head whose nose and
# cheeks moved against each other.
ALIGN_ITERS = 8
GRID = (20, 16)           # sample points across the upper face (x, y)


def _smooth(g: np.ndarray) -> np.ndarray:
    k = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0
    p = np.pad(g, 2, mode="edge")
    h = sum(k[i] * p[:, i:i + g.shape[1]] for i in range(5))
    return sum(k[i] * h[i:i + g.shape[0], :] for i in range(5))


COARSE_SIGMA = 2.5        # first pass on a blurred copy: reaches far starts


class Texture:
    """A face crop halved and smoothed (float32), with a coarse copy and
    the gradients the alignment needs."""

    def __init__(self, gray224: np.ndarray) -> None:
        g = gray224.astype(np.float32)
        g = 0.25 * (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2])
        self.fine = _smooth(g)
        self.coarse = _blur1(_blur1(self.fine, COARSE_SIGMA, 0), COARSE_SIGMA, 1)
        self.grad = {id(self.fine): np.gradient(self.fine), id(self.coarse): np.gradient(self.coarse)}


def _blur1(g: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    if sigma < 0.3:
        return g
    r = int(np.ceil(2.5 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    k /= k.sum()
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r, r)
    p = np.pad(g, pad, mode="edge")
    n = g.shape[axis]
    if axis == 1:
        return sum(k[i] * p[:, i:i + n] for i in range(2 * r + 1))
    return sum(k[i] * p[i:i + n, :] for i in range(2 * r + 1))


def _matched(rest: np.ndarray, h: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The rest crop blurred along each axis as much as the homography
    squashes it there: a tilted picture is seen at a lower resolution, and
    the sharp reference must not count that as misfit."""
    x, y = float(at[0]), float(at[1])
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    j = np.array([[h[0, 0] - u * h[2, 0], h[0, 1] - u * h[2, 1]],
                  [h[1, 0] - v * h[2, 0], h[1, 1] - v * h[2, 1]]]) / w
    sx, sy = (float(np.linalg.norm(j[:, i])) for i in (0, 1))
    blur = lambda s: 0.8 * np.sqrt(max(0.0, 1.0 / max(s, 0.05) ** 2 - 1.0))  # noqa: E731
    return _blur1(_blur1(rest, min(blur(sx), 6.0), 1), min(blur(sy), 6.0), 0)


def _sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear values at (x, y) and which points fell inside."""
    h, w = img.shape
    ok = (x >= 0) & (y >= 0) & (x <= w - 1.001) & (y <= h - 1.001)
    x, y = np.clip(x, 0, w - 1.001), np.clip(y, 0, h - 1.001)
    x0, y0 = x.astype(np.intp), y.astype(np.intp)
    fx, fy = x - x0, y - y0
    v = (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x0 + 1] * fx * (1 - fy)
         + img[y0 + 1, x0] * (1 - fx) * fy + img[y0 + 1, x0 + 1] * fx * fy)
    return v, ok


def _normalise(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    return v / max(float(v.std()), 1e-6)


def face_grid(rigid_crop: np.ndarray) -> np.ndarray:
    """Sample points (N, 2) over the rest face from the brows to the nose
    base and between the cheek outlines (inset), in the rest crop's pixels;
    the mouth and jaw, which move on their own, are left out."""
    p = rigid_crop
    x0, x1 = p[17, 0], p[8, 0]          # 234 (image-left cheek), 454
    inset = 0.12 * (x1 - x0)
    y0 = p[[39, 40, 41, 42], 1].min()   # brows
    y1 = p[[30, 31, 32], 1].max()       # nose base and wings
    xs = np.linspace(x0 + inset, x1 - inset, GRID[0])
    ys = np.linspace(y0, y1 + 0.15 * (y1 - y0), GRID[1])
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def align(rest: Texture, cur: Texture, grid: np.ndarray,
          h0: np.ndarray) -> tuple[float, np.ndarray]:
    """(1 - NCC of the rest texture at ``grid`` against the current crop
    under the best homography near ``h0``, that homography), both in the
    prepared crops' pixels; NaN when too few points stay inside the crop.
    Coarse pass first, then fine."""
    _, h = _align(rest.coarse, cur.coarse, cur.grad[id(cur.coarse)], grid, h0, ALIGN_ITERS // 2)
    return _align(rest.fine, cur.fine, cur.grad[id(cur.fine)], grid, h, ALIGN_ITERS)


def _align(rest: np.ndarray, cur: np.ndarray, grad: list[np.ndarray], grid: np.ndarray,
           h0: np.ndarray, iters: int) -> tuple[float, np.ndarray]:
    c = grid.mean(0)
    s = 1.0 / max(face_size(grid), 1e-6)
    t = np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])
    q = (grid - c) * s                          # normalised grid coordinates
    h = h0 @ np.linalg.inv(t)                   # maps normalised grid -> cur pixels
    h = h / h[2, 2]
    ref = _normalise(_sample(_matched(rest, h0, c), grid[:, 0], grid[:, 1])[0])
    gy, gx = grad
    x, y = q[:, 0], q[:, 1]
    best, best_h = np.inf, h0
    for _ in range(iters):
        d = h[2, 0] * x + h[2, 1] * y + 1.0
        u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / d
        v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / d
        val, ok = _sample(cur, u, v)
        if ok.mean() < 0.7:
            return float("nan"), h0
        mu, sd = float(val[ok].mean()), max(float(val[ok].std()), 1e-6)
        err = np.where(ok, (val - mu) / sd - ref, 0.0)
        score = float(1.0 - np.mean(((val[ok] - mu) / sd) * ref[ok]))
        if score < best:
            best, best_h = score, h @ t
        ix, iy = _sample(gx, u, v)[0] / sd, _sample(gy, u, v)[0] / sd
        jac = np.column_stack([ix * x / d, ix * y / d, ix / d, iy * x / d, iy * y / d, iy / d,
                               -(ix * u + iy * v) * x / d, -(ix * u + iy * v) * y / d])
        jac[~ok] = 0.0
        a = jac.T @ jac
        a += np.eye(8) * (1e-3 * np.trace(a) / 8)
        try:
            step = np.linalg.solve(a, -jac.T @ err)
        except np.linalg.LinAlgError:
            break
        h = h + np.append(step, 0.0).reshape(3, 3)
        if np.abs(step).max() < 1e-3:
            break
    return best, best_h / best_h[2, 2]
