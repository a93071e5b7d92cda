"""Decode an uploaded video with OpenCV's FFmpeg backend and yield a bounded
number of sampled frames.

FFmpeg needs a seekable file for most containers (mp4/mov keep their index
at the end), so the bytes go to a private temp file that is deleted at once.
Cost is bounded three ways: at most ``sample_fps`` frames per second are
converted and analysed (the rest are only ``grab()``-ed), frames are
downscaled so the long side is at most ``MAX_SIDE``, and decoding stops past
the 15 s limit whatever the container claims.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from chalicelib.errors import VIDEO_DURATION, VIDEO_PARSE, FrsError

MIN_SECONDS, MAX_SECONDS = 1.0, 15.0
MAX_BYTES = 8 * 1024 * 1024
# Half-frame tolerance: a "1 s" clip at 25 fps often reports 0.96-1.04 s.
TOLERANCE_S = 0.05
MAX_SIDE = 640
# Anything bigger than 4K is refused before decoding pixels.
MAX_PIXELS = 4096 * 2160


@dataclass
class VideoInfo:
    fps: float
    frames: int          # decoded frame count
    duration: float      # seconds
    width: int
    height: int


@dataclass
class Frame:
    index: int
    t: float             # seconds from the start
    bgr: np.ndarray      # downscaled so the long side <= MAX_SIDE
    scale: float         # downscale factor applied


def _fail(msg: str) -> FrsError:
    return FrsError(VIDEO_PARSE, f"Parse video data failed: {msg}.")


def _duration_error(seconds: float) -> FrsError:
    return FrsError(VIDEO_DURATION,
                    f"The video duration ({seconds:.2f} s) is not allowed. "
                    "The duration must be 1 to 15 seconds.")


class Video:
    """Context manager: ``with Video(data) as v: for f in v.frames(fps): ...``"""

    def __init__(self, data: bytes):
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
            raise _fail("no video data")
        if len(data) > MAX_BYTES:
            raise FrsError("FRS.0017", "The video exceeds 8 MB.")
        fd, self.path = tempfile.mkstemp(prefix="frs-live-", suffix=".bin")
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(data))
        self.cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        if not self.cap.isOpened():
            self.close()
            raise _fail("the container or codec is not supported or the file is damaged")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        declared = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if self.width <= 0 or self.height <= 0 or self.width * self.height > MAX_PIXELS:
            self.close()
            raise _fail(f"unsupported frame size {self.width}x{self.height}")
        if not (0.5 <= self.fps <= 240):
            self.close()
            raise _fail(f"unusable frame rate {self.fps:g}")
        # Refuse early on what the container declares (saves decoding 60 s of
        # video); the decoded length is checked again at the end.
        if declared > 0:
            d = declared / self.fps
            if d < MIN_SECONDS - TOLERANCE_S or d > MAX_SECONDS + TOLERANCE_S:
                self.close()
                raise _duration_error(d)
        self.info: VideoInfo | None = None

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        cap = getattr(self, "cap", None)
        if cap is not None:
            cap.release()
            self.cap = None
        if getattr(self, "path", None):
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None

    def frames(self, sample_fps: float) -> Iterator[Frame]:
        """Yield frames about every 1/sample_fps seconds; sets ``self.info``
        when the stream ends. Raises FRS.0706 / FRS.0701 as appropriate."""
        step = 1.0 / sample_fps
        next_t = 0.0
        idx = 0
        scale = min(1.0, MAX_SIDE / max(self.width, self.height))
        while True:
            try:
                if not self.cap.grab():
                    break
            except cv2.error as exc:  # a corrupt packet FFmpeg cannot skip
                raise _fail("a frame could not be decoded") from exc
            # Timestamps from the index: CAP_PROP_POS_MSEC is unreliable for
            # several containers, and variable-rate phone video is close
            # enough to its nominal rate for action timing.
            t = idx / self.fps
            idx += 1
            if t > MAX_SECONDS + TOLERANCE_S:
                raise _duration_error(t)
            if t + 1e-6 < next_t:
                continue
            try:
                ok, bgr = self.cap.retrieve()
            except cv2.error as exc:
                raise _fail("a frame could not be decoded") from exc
            if not ok or bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
                continue
            next_t += step * max(1, int((t - next_t) / step) + 1)
            if scale < 1.0:
                bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            yield Frame(idx - 1, t, bgr, scale)
        if idx == 0:
            raise _fail("no frame could be decoded")
        duration = idx / self.fps if idx > 1 else 0.0
        if duration < MIN_SECONDS - TOLERANCE_S or duration > MAX_SECONDS + TOLERANCE_S:
            raise _duration_error(duration)
        self.info = VideoInfo(self.fps, idx, duration, self.width, self.height)
