"""Hostile media, built at test time from real photos (nothing is committed).

Each builder answers bytes; videos are written with OpenCV into a caller's
temporary directory and read back as bytes.
"""
from __future__ import annotations

import base64
import io
import struct
import wave
import zlib
from pathlib import Path

import cv2
import numpy as np


def reencode(jpeg: bytes, ext: str) -> bytes:
    """The same photo in another container (".png", ".bmp", ".jpg")."""
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def truncated(data: bytes, keep: float) -> bytes:
    return data[: max(16, int(len(data) * keep))]


def _jpeg_segments(jpeg: bytes):
    """(offset, marker, segment length) of each header segment up to the scan;
    walking the segments skips markers inside an embedded EXIF thumbnail."""
    i = 2
    while i < len(jpeg) - 4 and jpeg[i] == 0xFF:
        marker, seg_len = jpeg[i + 1], struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        yield i, marker, seg_len
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            return
        i += 2 + seg_len


def jpeg_zero_size(jpeg: bytes) -> bytes:
    """A JPEG whose frame header (SOF0/SOF2) declares a 0x0 image."""
    for i, marker, _ in _jpeg_segments(jpeg):
        if marker in (0xC0, 0xC2):
            # SOFn: marker (2), length (2), precision (1), height (2), width (2)
            return jpeg[: i + 5] + b"\x00\x00\x00\x00" + jpeg[i + 9:]
    raise ValueError("no SOF marker")


def jpeg_without_quant_tables(jpeg: bytes) -> bytes:
    """A JPEG with its quantisation tables removed: the scan cannot be decoded
    (unlike Huffman tables, libjpeg has no defaults for them)."""
    out = bytearray(jpeg[:2])
    for i, marker, seg_len in _jpeg_segments(jpeg):
        if marker == 0xDA:
            return bytes(out + jpeg[i:])
        if marker != 0xDB:
            out += jpeg[i:i + 2 + seg_len]
    raise ValueError("no SOS marker")


def png_bad_crc(png: bytes) -> bytes:
    """A PNG whose IHDR checksum is wrong."""
    b = bytearray(png)
    b[29] ^= 0xFF  # IHDR CRC: signature 8 + length 4 + type 4 + data 13
    return bytes(b)


def png_no_idat(png: bytes) -> bytes:
    """IHDR then IEND: a header without any pixel data."""
    return png[:33] + _png_chunk(b"IEND", b"")


def bmp_bad_bpp(bmp: bytes) -> bytes:
    """A BMP declaring 7 bits per pixel (no such format)."""
    b = bytearray(bmp)
    b[28:30] = struct.pack("<H", 7)
    return bytes(b)


def bmp_truncated_pixels(bmp: bytes) -> bytes:
    return bmp[: 54 + 1000]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) \
        + _png_chunk(b"IEND", b"")


def gif() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(buf, format="GIF")
    return buf.getvalue()


def gif_of(jpeg: bytes) -> bytes:
    """The real photo as a GIF (a face is there, the format is not accepted)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert("RGB").save(buf, format="GIF")
    return buf.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def svg() -> bytes:
    return (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="640" '
            b'height="480"><circle cx="320" cy="240" r="100" fill="tan"/>'
            b'<script>alert(1)</script></svg>')


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64_with_newlines(data: bytes) -> str:
    return base64.encodebytes(data).decode()  # a line break every 76 characters


def b64_bad_padding(data: bytes) -> str:
    text = b64(data).rstrip("=")
    return text + "=" * (4 - len(text) % 4 if len(text) % 4 != 1 else 1) + "=="


def data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + b64(data)


def padded_to(size: int, head: bytes) -> bytes:
    """``head`` followed by zero bytes up to exactly ``size`` bytes."""
    return head + b"\x00" * (size - len(head))


# -- videos ---------------------------------------------------------------------
def write_video(path: Path, frames: int, fps: float = 25.0, size=(320, 240),
                image: np.ndarray | None = None) -> bytes:
    """An MP4 (mp4v) of ``frames`` frames: the given image, or moving noise."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    rng = np.random.default_rng(1)
    for _ in range(frames):
        if image is not None:
            frame = cv2.resize(image, (w, h))
        else:
            frame = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (9, 9), 0)
        writer.write(frame)
    writer.release()
    return path.read_bytes()


def wav_audio_only(seconds: float = 3.0, rate: int = 16000) -> bytes:
    """A WAV file: one audio track, no video stream at all."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()
