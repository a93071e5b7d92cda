"""Copy Swagger UI's browser assets from the pinned npm package into the app.

    python scripts/fetch_swagger_ui.py            # `make docs-ui` runs this

``GET /docs`` serves the OpenAPI document with Swagger UI from these files,
never from a CDN. The tarball is fetched with ``npm pack`` (the registry's
ordinary client), cached under build/npm/, and checked against the sha512
integrity the registry published for this version before anything is
extracted; only the files the page loads (and the licence) are copied to
chalicelib/api/docs_ui/vendor/ (not in git: rebuilt from the pin), which
``chalice package`` ships with the code.
"""
from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, VERSION = "swagger-ui-dist", "5.35.0"  # Apache-2.0 (SmartBear)
INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE")
CACHE = ROOT / "build" / "npm"
DEST = ROOT / "chalicelib" / "api" / "docs_ui" / "vendor"


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball() -> Path:
    path = CACHE / f"{PACKAGE}-{VERSION}.tgz"
    if not path.exists() or integrity(path.read_bytes()) != INTEGRITY:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(CACHE)],
                       check=True, stdout=subprocess.DEVNULL)
    got = integrity(path.read_bytes())
    if got != INTEGRITY:
        path.unlink()
        sys.exit(f"{path.name}: integrity {got} is not the pinned {INTEGRITY}")
    return path


def main() -> int:
    stamp = DEST / "VERSION"
    if stamp.exists() and stamp.read_text().strip() == f"{PACKAGE}@{VERSION}" and \
            all((DEST / f).exists() for f in FILES):
        return 0
    src = tarball()
    shutil.rmtree(DEST, ignore_errors=True)
    DEST.mkdir(parents=True)
    with tarfile.open(src) as tar:
        for name in FILES:
            member = tar.getmember(f"package/{name}")
            data = tar.extractfile(member)
            assert data is not None, name
            (DEST / name).write_bytes(data.read())
    stamp.write_text(f"{PACKAGE}@{VERSION}\n")
    print(f"docs-ui: {PACKAGE}@{VERSION} -> {DEST.relative_to(ROOT)} "
          f"({sum((DEST / f).stat().st_size for f in FILES) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
