"""chalicelib.liveness.ffmpeg: where the ffmpeg executable comes from.

The FRS_FFMPEG_XZ path is tested with the real imageio-ffmpeg binary,
xz-compressed here (lzma preset 0: ~3 s, ~25 MB), as the Lambda layer ships
it, and then used to decode a clip.
"""
from __future__ import annotations

import hashlib
import logging
import lzma
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import pytest

from chalicelib.liveness import ffmpeg as F


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def bundled_binary() -> Path:
    """imageio-ffmpeg's own binary; the Lambda layer (layers/test_on_layer.py)
    drops it and ships only the .xz, which FRS_FFMPEG_XZ then exercises in
    every video test."""
    try:
        return Path(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        pytest.skip(f"imageio-ffmpeg's bundled binary is absent (Lambda layer): {exc}")


@pytest.fixture(scope="module")
def real_xz(tmp_path_factory) -> tuple[Path, Path]:
    binary = bundled_binary()
    xz = tmp_path_factory.mktemp("layer") / "ffmpeg.xz"
    with open(binary, "rb") as src, lzma.open(xz, "wb", preset=0) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return binary, xz


@pytest.fixture()
def private_tmp(tmp_path, monkeypatch):
    """A fresh tempfile.gettempdir(), and no executable cached in-process."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    monkeypatch.setattr(F, "_unpacked", {})
    return d


def test_default_is_imageio_ffmpeg(monkeypatch):
    monkeypatch.delenv(F.ENV_XZ, raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    binary = bundled_binary()
    assert F.ffmpeg_exe() == str(binary)
    assert os.access(F.ffmpeg_exe(), os.X_OK)


def test_imageio_ffmpeg_exe_is_honoured(monkeypatch):
    monkeypatch.delenv(F.ENV_XZ, raising=False)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/opt/elsewhere/ffmpeg")
    assert F.ffmpeg_exe() == "/opt/elsewhere/ffmpeg"


def test_xz_unpacked_once_atomically_and_used(real_xz, private_tmp, monkeypatch, caplog):
    binary, xz = real_xz
    monkeypatch.setenv(F.ENV_XZ, str(xz))
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent/must-not-be-used")
    caplog.set_level(logging.INFO, logger=F.__name__)

    exe = Path(F.ffmpeg_exe())
    unpack_logs = [r.getMessage() for r in caplog.records if "unpacked" in r.getMessage()]
    assert len(unpack_logs) == 1 and " in " in unpack_logs[0], unpack_logs
    d = private_tmp / f"frs-ffmpeg-{os.getuid()}"
    assert exe.parent == d and exe.name == f"ffmpeg-{sha256(xz)[:16]}"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE(exe.stat().st_mode) == 0o755
    assert sha256(exe) == sha256(binary)
    assert os.listdir(d) == [exe.name]          # no temp file left behind
    out = subprocess.run([str(exe), "-version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("ffmpeg version 7.0.2")

    # Same process: cached, nothing logged.
    caplog.clear()
    assert F.ffmpeg_exe() == str(exe) and not caplog.records
    # A new process (the in-process cache gone): reuses the file in /tmp.
    monkeypatch.setattr(F, "_unpacked", {})
    mtime = exe.stat().st_mtime_ns
    assert F.ffmpeg_exe() == str(exe) and exe.stat().st_mtime_ns == mtime
    assert any("reusing" in r.getMessage() for r in caplog.records)

    # The video decoder runs that binary.
    from chalicelib.liveness.video import Video
    clip = private_tmp / "c.mp4"
    subprocess.run([str(exe), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    seen = []
    real_popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda cmd, **kw: seen.append(cmd[0]) or real_popen(cmd, **kw))
    with Video(clip.read_bytes()) as v:
        assert sum(1 for _ in v.frames(10)) == 20
    assert seen == [str(exe)]


def test_incomplete_file_is_not_reused(real_xz, private_tmp, monkeypatch):
    """Only a complete, executable, private file under the final name is
    reused (a crash mid-write leaves a .ffmpeg-* temp, never the name)."""
    _, xz = real_xz
    monkeypatch.setenv(F.ENV_XZ, str(xz))
    d = private_tmp / f"frs-ffmpeg-{os.getuid()}"
    d.mkdir(mode=0o700)
    target = d / f"ffmpeg-{sha256(xz)[:16]}"
    target.write_bytes(b"")                      # empty, not executable
    assert F.ffmpeg_exe() == str(target)
    assert target.stat().st_size > 1_000_000 and os.access(target, os.X_OK)


def test_unsafe_shared_dir_is_not_used(real_xz, private_tmp, monkeypatch):
    _, xz = real_xz
    monkeypatch.setenv(F.ENV_XZ, str(xz))
    d = private_tmp / f"frs-ffmpeg-{os.getuid()}"
    d.mkdir()
    d.chmod(0o777)                               # anyone could swap the binary
    exe = Path(F.ffmpeg_exe())
    assert exe.parent != d and stat.S_IMODE(exe.parent.stat().st_mode) == 0o700
    assert os.listdir(d) == []


def test_corrupt_or_missing_xz(private_tmp, monkeypatch, tmp_path):
    bad = tmp_path / "bad.xz"
    full = lzma.compress(b"\x7fELF" + os.urandom(100_000))
    bad.write_bytes(full[: len(full) // 2])      # truncated
    monkeypatch.setenv(F.ENV_XZ, str(bad))
    with pytest.raises(RuntimeError, match="cannot unpack"):
        F.ffmpeg_exe()
    assert os.listdir(private_tmp / f"frs-ffmpeg-{os.getuid()}") == []
    monkeypatch.setenv(F.ENV_XZ, str(tmp_path / "absent.xz"))
    with pytest.raises(RuntimeError, match="cannot be read"):
        F.ffmpeg_exe()
