"""Layer size and loadability (layers/build_layer.py).

Wheels are cached in layers/build/wheels (downloaded once from PyPI; skipped
with the reason when that is impossible). Each build goes to a temporary
directory, so a developer's layers/build/ is left alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "layers"))
import build_layer  # noqa: E402

CACHE = REPO / "layers" / "build" / "wheels"
MB = 2**20


def build(tmp_path, opencv: str, smoke: bool = False) -> tuple[int, dict, str]:
    if not (REPO / "models" / "manifest.json").exists():
        pytest.skip("models are not built: run `make models`")
    figures = tmp_path / "figures.json"
    args = [sys.executable, str(REPO / "layers" / "build_layer.py"), "--opencv", opencv,
            "--out", str(tmp_path / "build"), "--wheels", str(CACHE), "--json", str(figures)]
    r = subprocess.run(args + (["--smoke"] if smoke else []), capture_output=True, text=True,
                       timeout=540, cwd=REPO)
    if "download" in r.stdout + r.stderr and not figures.exists() and r.returncode != 0 \
            and ("pip" in r.stderr or "Could not" in r.stderr):
        pytest.skip(f"wheels could not be downloaded: {r.stderr[-500:]}")
    if not figures.exists():
        pytest.fail(f"layer build crashed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.returncode, json.loads(figures.read_text()), r.stdout


def _loads_on_al2(platform_tag: str) -> bool:
    if platform_tag in ("any", "manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"):
        return True
    parts = platform_tag.split("_")
    return platform_tag.startswith("manylinux_2_") and parts[-2:] == ["x86", "64"] and int(parts[2]) <= 26


def test_every_pinned_wheel_loads_on_amazon_linux_2():
    """python3.11 on Lambda is Amazon Linux 2 (glibc 2.26); a manylinux_2_28
    wheel would install fine and then fail to import there."""
    assert all(_loads_on_al2(p) for p in build_layer.PLATFORMS)
    pins = build_layer.read_pins(with_opencv=True)
    wheels = list(CACHE.glob("*.whl")) if CACHE.exists() else []
    used = [w for w in wheels if any(build_layer._wheel_name_matches(w, p) for p in pins)]
    if not used:
        pytest.skip("no cached wheels yet (make layer downloads them)")
    for whl in used:
        platform_tags = whl.name.removesuffix(".whl").split("-")[-1].split(".")
        assert any(_loads_on_al2(t) for t in platform_tags), whl.name


def test_lean_layer_fits_the_goal_and_runs_every_model(tmp_path):
    """Without OpenCV (images decoded by Pillow): within 150 MB, and a
    site-packages-free interpreter imports it and runs every model."""
    rc, fig, out = build(tmp_path, "no", smoke=True)
    assert rc == 0, out
    assert fig["total_bytes"] <= build_layer.GOAL_BYTES, out
    assert fig["smoke"]["imports"]["onnxruntime"] == "1.16.3"
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    assert set(fig["smoke"]["models_ran"]) == set(manifest["models"]) - set(fig["models_left_out"])
    assert {"detector", "embedder"} <= set(fig["smoke"]["models_ran"])


def test_layer_as_the_code_needs_it(tmp_path):
    """The layer the current code needs (OpenCV included iff it imports cv2)
    must fit Lambda's 250 MB; the build itself exits 1 when it does not."""
    rc, fig, out = build(tmp_path, "auto", smoke=True)
    total = fig["total_bytes"] / MB
    assert (rc == 0) == (fig["total_bytes"] <= build_layer.LIMIT_BYTES)  # the gate works
    if fig["opencv"] and rc != 0:
        pytest.xfail(f"the code imports cv2: function + layers = {total:.1f} MB > 250 MB "
                     f"(opencv-python-headless {fig['per_package_bytes'].get('cv2', 0) / MB:.0f} MB + "
                     f"{fig['per_package_bytes'].get('opencv_python_headless', 0) / MB:.0f} MB libs); "
                     "see docs/deploy.md 'Package size'")
    assert rc == 0, out
    # The deployed engine, run from the layer, agrees with the dev environment.
    if "embedding_cosine_vs_dev" in fig["smoke"]:
        assert fig["smoke"]["embedding_cosine_vs_dev"] >= 0.999


def test_size_gate_fails_above_the_limit(tmp_path, monkeypatch):
    """The gate is real: with a limit below the measured size, the build fails."""
    if not (REPO / "models" / "manifest.json").exists():
        pytest.skip("models are not built: run `make models`")
    monkeypatch.setattr(build_layer, "LIMIT_BYTES", 1 * MB)
    try:
        rc = build_layer.main(["--opencv", "no", "--out", str(tmp_path / "b"), "--wheels", str(CACHE),
                               "--offline"])
    except SystemExit as exc:  # no cached wheels yet
        pytest.skip(str(exc))
    assert rc == 1
