"""Run pytest with the Lambda layer's packages in front of the virtualenv's.

    python layers/test_on_layer.py [pytest args...]   (default: tests/api tests/vision tests/liveness)

Lambda gets numpy 1.26 / onnxruntime 1.16 / Pillow 12.2 (layers/pins-python3.11.txt)
while development uses newer releases, so code that relies on a newer API
would only break once deployed. This runs the suite in a ``python -I -S``
interpreter whose sys.path is: the built dependency layer, the Lambda
runtime's own packages (boto3 & co., from the venv), the venv (pytest,
chalice, moto), the repository. Video goes through the layer's compressed
FFmpeg (FRS_FFMPEG_XZ), unpacked into a private temp dir as on Lambda.
Build the layer first (``make layer-smoke``).
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "layers" / "build"


def main(argv: list[str]) -> int:
    deps, stand = BUILD / "deps" / "python", BUILD / "runtime-standin"
    if not deps.exists() or not stand.exists():
        print("build the layer first: make layer-smoke", file=sys.stderr)
        return 2
    path = [str(deps), str(stand), sysconfig.get_paths()["purelib"], str(ROOT)]
    args = argv or ["tests/api", "tests/vision", "tests/liveness"]
    code = ("import sys; sys.path[:0] = %r\n"
            "import numpy, onnxruntime, PIL\n"
            "print('layer versions: numpy', numpy.__version__, 'onnxruntime', onnxruntime.__version__,"
            " 'Pillow', PIL.__version__, flush=True)\n"
            "import pytest; sys.exit(pytest.main(['-p', 'no:cacheprovider'] + %r))\n") % (path, args)
    with tempfile.TemporaryDirectory(prefix="frs-layer-tmp-") as tmp:
        env = {**os.environ, "FRS_FFMPEG_XZ": str(BUILD / "deps" / "ffmpeg" / "ffmpeg.xz"), "TMPDIR": tmp}
        env.pop("IMAGEIO_FFMPEG_EXE", None)
        return subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
