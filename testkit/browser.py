"""A real headless Chromium for browser tests: Debian's `chromium` package
driven by Playwright for Python (`make browser` installs the binary; Playwright's
own browser download is never used, the machine has no route to its CDN)."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Debian's package; FRS_TEST_CHROMIUM points elsewhere (e.g. a Chrome on a laptop).
DEFAULT_CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None when this machine has none."""
    wanted = os.environ.get("FRS_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    if Path(wanted).is_file() and os.access(wanted, os.X_OK):
        return wanted
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_args() -> list[str]:
    # Chromium refuses its sandbox as root (CI runs as root here); elsewhere keep it.
    args = ["--disable-dev-shm-usage"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


@contextmanager
def chromium() -> Iterator[object]:
    """A launched headless Chromium (a playwright ``Browser``), closed on exit."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium binary: run `make browser` (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=launch_args())
        try:
            yield browser
        finally:
            browser.close()
