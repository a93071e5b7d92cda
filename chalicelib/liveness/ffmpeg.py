"""Locate the FFmpeg executable that decodes LiveDetect videos.

Two sources, in this order:

1. ``FRS_FFMPEG_XZ`` (the Lambda layer): the static ffmpeg binary shipped
   xz-compressed (e.g. ``/opt/ffmpeg/ffmpeg.xz``, ~25 MB instead of 80 MB)
   to keep the unzipped package under Lambda's 250 MB. It is decompressed
   once per process (once per container, in practice: the result is reused
   from /tmp by later processes) into a private directory under
   ``tempfile.gettempdir()``, under a name carrying the compressed file's
   SHA-256 prefix, so a new layer version never reuses a stale binary.
   The write is atomic (temp file, fsync, chmod 0o755, ``os.replace``): a
   file present under the final name is complete.
2. Otherwise ``imageio_ffmpeg.get_ffmpeg_exe()``: the binary in the
   imageio-ffmpeg wheel (dev, tests), or whatever ``IMAGEIO_FFMPEG_EXE``
   names (that function reads the variable on every call; only its wheel /
   system lookup is lru_cached).

chalicelib.liveness.video runs the returned path itself; it does not use
``imageio_ffmpeg.read_frames``, which would call ``get_ffmpeg_exe()``
internally and so never see the binary unpacked from ``FRS_FFMPEG_XZ``.
"""
from __future__ import annotations

import hashlib
import logging
import lzma
import os
import stat
import tempfile
import threading
import time

from chalicelib.config import settings

log = logging.getLogger(__name__)

ENV_XZ = "FRS_FFMPEG_XZ"
_CHUNK = 1 << 20
_lock = threading.Lock()
_unpacked: dict[str, str] = {}     # compressed path -> executable, this process


def ffmpeg_exe() -> str:
    """Path of an ffmpeg executable (see the module docstring)."""
    xz = settings().ffmpeg_xz
    if xz:
        with _lock:
            exe = _unpacked.get(xz)
            if exe is None or not _usable(exe):
                exe = _unpacked[xz] = _unpack(xz)
            return exe
    import imageio_ffmpeg  # dev/test path; the Lambda layer needs only the .xz
    return imageio_ffmpeg.get_ffmpeg_exe()


def _usable(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return bool(stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_size > 0
                and st.st_mode & 0o100 and not st.st_mode & 0o022)


def _private_dir() -> str:
    """``<tmp>/frs-ffmpeg-<uid>``, mode 0700 and ours; a fresh mkdtemp if
    someone else created or loosened that name (shared /tmp on dev hosts)."""
    d = os.path.join(tempfile.gettempdir(), f"frs-ffmpeg-{os.getuid()}")
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return tempfile.mkdtemp(prefix="frs-ffmpeg-")
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return tempfile.mkdtemp(prefix="frs-ffmpeg-")
    return d


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _unpack(xz: str) -> str:
    t0 = time.perf_counter()
    try:
        digest = _sha256(xz)
    except OSError as exc:
        raise RuntimeError(f"{ENV_XZ}={xz!r} cannot be read: {exc}") from exc
    d = _private_dir()
    exe = os.path.join(d, f"ffmpeg-{digest[:16]}")
    if _usable(exe):
        log.info("ffmpeg: reusing %s (unpacked earlier from %s)", exe, xz)
        return exe
    fd, tmp = tempfile.mkstemp(prefix=".ffmpeg-", dir=d)
    try:
        with os.fdopen(fd, "wb") as out, lzma.open(xz, "rb") as src:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o755)
        os.replace(tmp, exe)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (OSError, lzma.LZMAError, EOFError)):
            raise RuntimeError(f"cannot unpack {ENV_XZ}={xz!r}: {exc}") from exc
        raise
    log.info("ffmpeg: unpacked %s to %s in %.2f s (%d bytes)", xz, exe,
             time.perf_counter() - t0, os.path.getsize(exe))
    return exe
