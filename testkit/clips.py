"""Build derived test clips (cut, mirrored, reversed, frozen, spliced,
re-wrapped) from the real clips in ../shared/datasets/liveness.

Nothing is stored in the repository: clips are decoded, transformed and
re-encoded with OpenCV's FFmpeg into a temp folder at test time.
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
LIVENESS = REPO.parent / "shared" / "datasets" / "liveness"
TMP = Path(tempfile.mkdtemp(prefix="frs-liveness-clips-"))


class MissingClip(Exception):
    """The dataset is not on this machine (tests skip, saying why)."""


def source(rel: str) -> Path:
    p = LIVENESS / rel
    if not p.is_file():
        raise MissingClip(f"dataset clip {p} is absent (../shared/datasets is only on dev/CI machines)")
    return p


def read_with_opencv(path) -> tuple[float, tuple[int, int], list[np.ndarray]]:
    """(fps, (width, height), every frame) as OpenCV's FFmpeg backend decodes
    ``path``: the clip builder's reader and the decoder tests' reference."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    assert cap.isOpened(), path
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return fps, size, frames


@functools.lru_cache(maxsize=16)
def _decode(rel: str) -> tuple[tuple[np.ndarray, ...], float]:
    fps, _, frames = read_with_opencv(source(rel))
    return tuple(frames), fps


class Clip:
    """Frames plus their rate; every transform returns a new Clip."""

    def __init__(self, frames, fps: float):
        self.frames, self.fps = list(frames), float(fps)

    @classmethod
    def load(cls, rel: str, t0: float = 0.0, t1: float | None = None) -> "Clip":
        frames, fps = _decode(rel)
        a = int(round(t0 * fps))
        b = len(frames) if t1 is None else int(round(t1 * fps))
        return cls(frames[a:b], fps)

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps

    def mirror(self) -> "Clip":
        return Clip([cv2.flip(f, 1) for f in self.frames], self.fps)

    def reverse(self) -> "Clip":
        return Clip(self.frames[::-1], self.fps)

    def freeze(self, t: float, seconds: float) -> "Clip":
        f = self.frames[int(round(t * self.fps))]
        return Clip([f] * int(round(seconds * self.fps)), self.fps)

    def resample(self, fps: float) -> "Clip":
        n = int(round(self.duration * fps))
        idx = [min(len(self.frames) - 1, int(i * self.fps / fps)) for i in range(n)]
        return Clip([self.frames[i] for i in idx], fps)

    def then(self, other: "Clip") -> "Clip":
        """Splice: ``other`` resized to this clip's frame size and rate."""
        h, w = self.frames[0].shape[:2]
        o = other.resample(self.fps)
        return Clip(self.frames + [cv2.resize(f, (w, h)) for f in o.frames], self.fps)

    def beside(self, other: "Clip") -> "Clip":
        """Two people side by side in one frame (``other`` resampled/resized)."""
        h, w = self.frames[0].shape[:2]
        o = other.resample(self.fps).frames
        n = min(len(self.frames), len(o))
        return Clip([np.hstack([self.frames[i], cv2.resize(o[i], (w, h))]) for i in range(n)],
                    self.fps)

    def shrink(self, side: int, canvas: int) -> "Clip":
        """Scale to ``side`` px and paste in the middle of a grey canvas."""
        out = []
        for f in self.frames:
            c = np.full((canvas, canvas, 3), 128, np.uint8)
            o = (canvas - side) // 2
            c[o:o + side, o:o + side] = cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA)
            out.append(c)
        return Clip(out, self.fps)

    def encode(self, name: str, fourcc: str = "mp4v", ext: str = "mp4") -> bytes:
        path = TMP / f"{name}.{ext}"
        h, w = self.frames[0].shape[:2]
        wr = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc),
                             self.fps, (w, h))
        if not wr.isOpened():
            raise RuntimeError(f"this OpenCV build cannot write {fourcc} in .{ext}")
        for f in self.frames:
            wr.write(f)
        wr.release()
        return path.read_bytes()


def original(rel: str) -> bytes:
    return source(rel).read_bytes()
