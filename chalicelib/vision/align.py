"""Face alignment: a similarity transform (rotation, uniform scale,
translation) that puts the five detected landmarks onto the embedding net's
template, then the warped chip."""
from __future__ import annotations

import numpy as np

from chalicelib.vision import pixels


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping ``src`` points onto
    ``dst``; answers a 2x3 matrix. All five points count equally, unlike a
    RANSAC/LMEDS fit that may drop landmarks on a tilted face."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var_s = (s ** 2).sum() / len(src)
    scale = (sig * sign).sum() / max(var_s, 1e-12)
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def warp_chip(image: np.ndarray, landmarks: np.ndarray, template: np.ndarray,
              size: tuple[int, int]) -> np.ndarray:
    """Crop the aligned face chip (``size`` = width, height) from ``image``."""
    m = similarity_transform(landmarks, template)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        # Shrinking a large face with bilinear sampling aliases; pre-shrink
        # the region around it with area averaging first.
        image, m = _preshrink(image, m, size, scale)
    return pixels.warp_affine(image, m, size, border="constant")


def _preshrink(image: np.ndarray, m: np.ndarray, size: tuple[int, int],
               scale: float) -> tuple[np.ndarray, np.ndarray]:
    inv = pixels.invert_affine(m)
    w, h = size
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=np.float64) @ inv.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    ih, iw = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, iw), min(y1, ih)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return image, m
    crop = image[y0:y1, x0:x1]
    f = min(1.0, scale * 1.5)  # keep a little more detail than the chip needs
    small = pixels.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                           interpolation="area")
    fx, fy = small.shape[1] / crop.shape[1], small.shape[0] / crop.shape[0]
    # chip <- image = m; image = crop_origin + small / f
    to_image = np.array([[1 / fx, 0, x0], [0, 1 / fy, y0], [0, 0, 1]])
    m2 = np.vstack([m, [0, 0, 1]]) @ to_image
    return small, m2[:2]
