"""decode_image: formats by content, FRS size limits, EXIF orientation."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from chalicelib.errors import FrsError
from chalicelib.vision import decode_image

from .conftest import data_file


def code_of(data) -> str:
    with pytest.raises(FrsError) as exc:
        decode_image(data)
    return exc.value.code


def encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def gradient():
    y, x = np.mgrid[0:120, 0:160]
    return np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP"])
def test_lossless_formats_round_trip_to_bgr(gradient, fmt):
    out = decode_image(encode(gradient, fmt))
    assert out.dtype == np.uint8 and out.shape == (120, 160, 3)
    assert np.array_equal(out, gradient[:, :, ::-1])  # BGR


def test_jpeg_decodes_close_to_source(gradient):
    out = decode_image(encode(gradient, "JPEG", quality=95))
    assert out.shape == (120, 160, 3)
    assert np.abs(out.astype(int) - gradient[:, :, ::-1]).mean() < 4


def test_format_is_recognised_by_content_not_name(gradient):
    # A PNG is a PNG whatever it was called; GIF bytes are refused even if small and valid.
    assert decode_image(encode(gradient, "PNG")).shape == (120, 160, 3)
    assert code_of(encode(gradient, "GIF")) == "FRS.0016"


@pytest.mark.parametrize("data", [
    b"",
    b"%PDF-1.4\n1 0 obj<<>>endobj\n",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"/>',
    b"GIF89a\x10\x00\x10\x00\x00\x00\x00;",
    b"\xff\xd8\xff" + b"\x00" * 500,   # JPEG magic, garbage after it
    b"BM" + b"\x00" * 100,             # BMP magic, no valid header
])
def test_unsupported_or_unreadable_is_0016(data):
    assert code_of(data) == "FRS.0016"


def test_truncated_jpeg_is_0016():
    data = data_file("stills", "face_recognition", "obama.jpg").read_bytes()
    assert code_of(data[: len(data) // 2]) == "FRS.0016"


def test_truncated_png_is_0016(gradient):
    data = encode(gradient, "PNG")
    assert code_of(data[: len(data) - 40]) == "FRS.0016"


def test_decompression_bomb_refused_from_header():
    # 100 bytes declaring 50000x50000 pixels: refused before any allocation.
    assert code_of(png_header_only(50000, 50000)) == "FRS.0013"


@pytest.mark.parametrize("w,h", [(4096, 100), (100, 4096), (2160, 2160), (3000, 2200)])
def test_resolution_at_or_over_4096x2160_is_0013(w, h):
    assert code_of(png_header_only(w, h)) == "FRS.0013"


def test_largest_allowed_resolution_decodes():
    arr = np.zeros((2159, 4095, 3), np.uint8)
    assert decode_image(encode(arr, "PNG")).shape == (2159, 4095, 3)


def test_too_small_to_hold_a_face_is_0013():
    assert code_of(encode(np.zeros((16, 16, 3), np.uint8), "PNG")) == "FRS.0013"


def test_8mb_is_0017():
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (8 * 1024 * 1024 - 3)
    assert len(data) == 8 * 1024 * 1024 + 1
    assert code_of(data) == "FRS.0017"


def test_32bit_png_with_alpha_decodes():
    out = decode_image(data_file("stills", "face_recognition", "32bit.png").read_bytes())
    assert out.ndim == 3 and out.shape[2] == 3


def test_exif_orientation_is_applied(gradient):
    upright = Image.fromarray(gradient)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    out = decode_image(buf.getvalue())
    assert out.shape == (120, 160, 3)
    assert np.abs(out.astype(int) - gradient[:, :, ::-1]).mean() < 4
