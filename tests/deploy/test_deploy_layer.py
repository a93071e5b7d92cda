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


def build(tmp_path, smoke: bool = False) -> tuple[int, dict, str]:
    if not (REPO / "models" / "manifest.json").exists():
        pytest.skip("models are not built: run `make models`")
    figures = tmp_path / "figures.json"
    args = [sys.executable, str(REPO / "layers" / "build_layer.py"),
            "--out", str(tmp_path / "build"), "--wheels", str(CACHE), "--json", str(figures)]
    r = subprocess.run(args + (["--smoke"] if smoke else []), capture_output=True, text=True,
                       timeout=540, cwd=REPO)
    if "download" in r.stdout + r.stderr and not figures.exists() and r.returncode != 0 \
            and ("pip" in r.stderr or "Could not" in r.stderr):
        pytest.skip(f"wheels could not be downloaded: {r.stderr[-500:]}")
    if not figures.exists():
        pytest.fail(f"layer build crashed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.returncode, json.loads(figures.read_text()), r.stdout


def test_deployed_code_never_imports_opencv():
    """The layer has no OpenCV: importing every deployed module with cv2
    made unimportable must work (a lazy `import cv2` would only fail on
    Lambda, at the first request that reaches it)."""
    assert build_layer.modules_importing_cv2() == []
    mods = sorted(".".join(p.relative_to(REPO).with_suffix("").parts)
                  for p in (REPO / "chalicelib").rglob("*.py"))
    code = ("import sys, importlib\nsys.modules['cv2'] = None\n"
            f"for m in {mods!r}:\n    importlib.import_module(m)\n"
            "import app\nprint('imported', len(sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "FRS_DATA_DIR": "/tmp/frs-noop"})
    assert r.returncode == 0, r.stderr[-2000:]


def test_layer_fits_and_runs_every_model_and_a_video(tmp_path):
    """Function + layers within Lambda's 250 MB (182 MB since the layer
    carries SFace and the dlib embedder of older face sets: above the
    150 MB goal, docs/deploy.md), and a site-packages-free interpreter with
    only the layers imports them, runs every model, unpacks the compressed
    FFmpeg and decodes a video."""
    rc, fig, out = build(tmp_path, smoke=True)
    assert rc == 0, out
    assert fig["total_bytes"] <= build_layer.LIMIT_BYTES, out
    # Both embedders ship: face sets made under dlib are served by it.
    assert {"embedder", "embedder_dlib"} <= set(fig["smoke"]["models_ran"])
    assert "cv2" not in fig["per_package_bytes"]
    smoke = fig["smoke"]
    assert smoke["imports"]["onnxruntime"] == "1.16.3"
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    assert set(smoke["models_ran"]) == set(manifest["models"]) - set(fig["models_left_out"])
    assert {"detector", "embedder"} <= set(smoke["models_ran"])
    # The deployed engine, run from the layer, agrees with the dev environment.
    assert smoke["embedding_cosine_vs_dev"] >= 0.999
    assert smoke["engine_detect_count"] == smoke["detect_count_dev"]
    # 2 s of 25 fps 320x240 H.264 made by the unpacked FFmpeg, sampled at 10 fps.
    assert smoke["video"]["decoded_frames"] == 50 and smoke["video"]["size"] == [320, 240]
    assert 18 <= smoke["video"]["sampled_frames"] <= 22
    assert fig["ffmpeg"]["xz_bytes"] < fig["ffmpeg"]["binary_bytes"] / 3


def _loads_on_al2(platform_tag: str) -> bool:
    if platform_tag in ("any", "manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"):
        return True
    parts = platform_tag.split("_")
    return platform_tag.startswith("manylinux_2_") and parts[-2:] == ["x86", "64"] and int(parts[2]) <= 26


def test_every_pinned_wheel_loads_on_amazon_linux_2():
    """python3.11 on Lambda is Amazon Linux 2 (glibc 2.26); a manylinux_2_28
    wheel would install fine and then fail to import there. (Runs after the
    build above, which fills the wheel cache.)"""
    assert all(_loads_on_al2(p) for p in build_layer.PLATFORMS)
    pins = build_layer.read_pins()
    assert not any(p.startswith("opencv") for p in pins)
    wheels = list(CACHE.glob("*.whl")) if CACHE.exists() else []
    used = [w for w in wheels if any(build_layer._wheel_name_matches(w, p) for p in pins)]
    if not used:
        pytest.skip("no cached wheels yet (make layer downloads them)")
    for whl in used:
        platform_tags = whl.name.removesuffix(".whl").split("-")[-1].split(".")
        assert any(_loads_on_al2(t) for t in platform_tags), whl.name


def test_size_gate_fails_above_the_limit(tmp_path, monkeypatch):
    """The gate is real: with a limit below the measured size, the build fails."""
    if not (REPO / "models" / "manifest.json").exists():
        pytest.skip("models are not built: run `make models`")
    monkeypatch.setattr(build_layer, "LIMIT_BYTES", 1 * MB)
    try:
        rc = build_layer.main(["--out", str(tmp_path / "b"), "--wheels", str(CACHE), "--offline"])
    except SystemExit as exc:  # no cached wheels yet
        pytest.skip(str(exc))
    assert rc == 1
