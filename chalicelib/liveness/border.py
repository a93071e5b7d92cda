"""A screen or card edge framing the face: the bezel of a phone (or the
edge of a card) held up to the camera with a face filling it.

Each face crop (1.6x the mesh box, 224 px: ~40 px of margin left and right
of the face) is searched for a long straight, near-vertical edge in the
margin on BOTH sides of the face, spanning most of the crop's height. A
head has hair, ears, a neck and a background there, none of which is one
straight line from above the brows to below the chin on both sides; a
phone held in portrait with the replayed face filling its screen is. A
single image can carry this cue (``framed``); a video counts the share of
its face samples that show it (``share``).
"""
from __future__ import annotations

import functools

import numpy as np

CROP = 224
MARGIN = (0, 66)          # crop columns searched on the left (mirrored on the right)
ROWS = (42, 182)          # rows an edge must span: the face box, brows-to-chin height
EDGE_GREY = 24.0          # horizontal step of an edge pixel (grey levels, one polarity)
COVERAGE = 0.75           # share of rows an edge line must cover (real heads: <= 0.66)
SLOPES = np.linspace(-0.2, 0.2, 9)  # px of x per px of y (a tilted phone)
VIDEO_SHARE = 0.5         # share of face samples framed for a video to be a screen


@functools.lru_cache(maxsize=4)
def _gather(rows: int, cols: int) -> tuple[np.ndarray, int]:
    """Flat indices (SLOPES x rows/2 x columns) of every candidate line in
    the band padded by ``pad`` empty columns on both sides (every second
    row: an edge covering the rows covers the even ones)."""
    pad = int(np.ceil(np.abs(SLOPES).max() * rows / 2)) + 1
    y = np.arange(0, rows, 2)
    shift = np.round(SLOPES[:, None] * (y[None, :] - rows / 2)).astype(np.intp)   # (S, R/2)
    c = pad + np.arange(cols)[None, None, :] + shift[:, :, None]
    return y[None, :, None] * (cols + 2 * pad) + c, pad


def _line_coverage(edge: np.ndarray) -> float:
    """Best share of rows a straight, almost vertical line of edge pixels
    covers in the binary ``edge`` map (rows x columns), over SLOPES (the
    line may not wobble: an edge of hair or a face outline does)."""
    idx, pad = _gather(*edge.shape)
    flat = np.pad(edge, ((0, 0), (pad, pad))).ravel()
    return float(flat[idx].mean(1).max())


def coverage(gray_crop: np.ndarray) -> tuple[float, float]:
    """(left, right) best straight-edge coverage in the face crop's margins."""
    g = gray_crop.astype(np.float32)
    # Two-pixel step (a sharp bezel or card edge after resampling), one
    # polarity per line: dark bezel against a lit screen or the reverse.
    gx = (g[:, 2:] - g[:, :-2])[ROWS[0]:ROWS[1]]
    a, b = MARGIN
    out = []
    for lo, hi in ((a, b), (CROP - 2 - b, CROP - 2 - a)):
        band = gx[:, lo:hi]
        out.append(max(_line_coverage(band >= EDGE_GREY), _line_coverage(band <= -EDGE_GREY)))
    return out[0], out[1]


def framed(gray_crop: np.ndarray) -> bool:
    """A straight edge frames the face on both sides."""
    left, right = coverage(gray_crop)
    return min(left, right) >= COVERAGE


def share(crops: list[np.ndarray]) -> float:
    """Share of the grey face crops that are framed (every second one is
    looked at: neighbours at 8 fps show the same)."""
    picked = crops[::2]
    if not picked:
        return 0.0
    return sum(framed(c) for c in picked) / len(picked)
