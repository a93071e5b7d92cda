"""Turn uploaded bytes into a BGR pixel array, enforcing FRS's image rules.

FRS accepts JPG/PNG/BMP under 8 MB and below 4096x2160. The format is
recognised from magic bytes (never a file name) and the resolution is read
from the header before any pixel is decoded, so a small file declaring a huge
canvas (a decompression bomb) is refused without allocating it.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from chalicelib.errors import BODY_TOO_LARGE, FORMAT_UNSUPPORTED, IMAGE_SIZE, FrsError
from chalicelib.observability import traced

MAX_BYTES = 8 * 1024 * 1024
# FRS: "resolution must be less than 4096 x 2160", in either orientation.
MAX_LONG_SIDE = 4096
MAX_SHORT_SIDE = 2160
# Below this no detectable face fits (CenterFace needs ~10 px faces).
MIN_SIDE = 32

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
)

# Our own limits are far below PIL's bomb threshold; keep PIL's as a backstop.
Image.MAX_IMAGE_PIXELS = MAX_LONG_SIDE * MAX_SHORT_SIDE * 2


def sniff_format(data: bytes) -> str | None:
    """'JPEG', 'PNG' or 'BMP' from the leading bytes, else None."""
    for magic, fmt in _MAGIC:
        if data[: len(magic)] == magic:
            return fmt
    return None


def _unsupported(why: str) -> FrsError:
    return FrsError(FORMAT_UNSUPPORTED, f"Unsupported or unreadable image: {why}.")


def check_resolution(width: int, height: int) -> None:
    long_side, short_side = max(width, height), min(width, height)
    if long_side >= MAX_LONG_SIDE or short_side >= MAX_SHORT_SIDE:
        raise FrsError(IMAGE_SIZE, f"Image resolution {width}x{height} must be less than 4096x2160.")
    if short_side < MIN_SIDE:
        raise FrsError(IMAGE_SIZE, f"Image resolution {width}x{height} is too small to hold a face.")


@traced("decode")
def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/BMP bytes to an HxWx3 uint8 BGR array, upright per EXIF."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _unsupported("no image bytes")
    data = bytes(data)
    if len(data) >= MAX_BYTES:
        raise FrsError(BODY_TOO_LARGE, "Image size must be less than 8 MB.")
    fmt = sniff_format(data)
    if fmt is None:
        raise _unsupported("only JPG, PNG and BMP are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise FrsError(IMAGE_SIZE, "Image resolution must be less than 4096x2160.") from exc
    except Exception as exc:  # PIL raises several types for a bad header
        raise _unsupported("the header cannot be read") from exc
    # Header-only: PIL has not decoded any pixel yet.
    check_resolution(*img.size)
    try:
        img.load()  # raises on truncated or corrupt pixel data
        upright = ImageOps.exif_transpose(img)
        rgb = _to_rgb(upright)
    except FrsError:
        raise
    except Exception as exc:
        raise _unsupported("the pixel data is truncated or corrupt") from exc
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: PIL's RGB conversion would clip, so rescale.
        arr = np.asarray(img, dtype=np.uint32)
        top = 65535 if img.mode.startswith("I;16") else max(int(arr.max()), 1)
        grey = (arr * 255 // top).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Composite transparency on white so hidden pixels don't leak in.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"))
