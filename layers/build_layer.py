"""Build the Lambda layers (dependencies, models) and check they fit.

    python layers/build_layer.py [--offline] [--smoke]

1. Downloads the pinned cp311 wheels (layers/pins-python3.11.txt) for Lambda's
   python3.11 runtime (Amazon Linux 2, glibc 2.26) into layers/build/wheels/,
   a cache that later builds reuse (``--offline`` uses only the cache).
2. Unpacks them into layers/build/deps/python/ and prunes what never runs on
   Lambda (tests, headers, stubs, onnxruntime's conversion tools, Pillow codecs
   we do not accept), then byte-compiles (Lambda's /opt is read-only, so
   without .pyc every cold start would recompile every module).
   imageio-ffmpeg's static FFmpeg (76 MB) is stored xz-compressed instead
   (ffmpeg/ffmpeg.xz, mounted at /opt/ffmpeg/ffmpeg.xz, ~20 MB): the first
   live-detect request of a container unpacks it into /tmp
   (chalicelib/liveness/ffmpeg.py), the pattern Chromium-on-Lambda uses.
3. Copies models/*.onnx + manifest.json into layers/build/models/models/
   (mounted at /opt/models; the stage sets FRS_MODEL_DIR=/opt/models).
4. Zips both reproducibly, prints a size table, and exits 1 when function +
   layers exceed Lambda's 250 MB unzipped limit (the goal, 150 MB, only warns).
5. ``--smoke``: a fresh ``python -I -S`` with only the layers on sys.path
   imports the packages, runs every model and decodes a video through the
   compressed FFmpeg, so a wheel that does not load or an old onnxruntime
   that rejects a model fails the build here.

The layer carries no OpenCV: opencv-python-headless alone is 124-144 MB
unzipped in every release that loads on Amazon Linux 2 (it bundles its own
OpenBLAS and FFmpeg), which cannot fit next to numpy + onnxruntime + models;
the build refuses code that imports cv2 (docs/deploy.md, "Package size").
"""
from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "layers" / "build"
PINS = ROOT / "layers" / "pins-python3.11.txt"

MB = 1024 * 1024
LIMIT_BYTES = 250 * MB  # Lambda: function + all layers, unzipped
GOAL_BYTES = 150 * MB

# Lambda python3.11 = Amazon Linux 2 = glibc 2.26: every tag up to 2_26 loads.
PLATFORMS = ["manylinux2014_x86_64"] + [f"manylinux_2_{n}_x86_64" for n in range(17, 27)]

# Paths (relative to site-packages, glob) deleted after unpacking, with why.
PRUNE = [
    ("**/tests", "test suites"),
    ("**/__pycache__", "host bytecode; recompiled below"),
    ("**/*.pyi", "type stubs"),
    ("**/py.typed", "typing marker"),
    ("numpy/_core/include", "C headers"),
    ("numpy/_core/lib/npy-pkg-config", "build metadata"),
    ("numpy/f2py", "Fortran wrapper generator (lazy import, never used)"),
    ("numpy/_pyinstaller", "PyInstaller hooks"),
    ("numpy/core/_simd.*.so", "SIMD test extension (only numpy's own tests import it)"),
    ("numpy/distutils", "build-time distutils extensions (never imported at run time)"),
    ("imageio_ffmpeg/binaries/ffmpeg-*", "FFmpeg binary (shipped xz-compressed, see ffmpeg/)"),
    ("numpy/typing", "static typing helpers (lazy import)"),
    ("onnxruntime/transformers", "model optimisation tools"),
    ("onnxruntime/quantization", "offline quantisation tools"),
    ("onnxruntime/tools", "model conversion tools"),
    ("onnxruntime/datasets", "sample models"),
    ("onnxruntime/backend", "ONNX backend-test adapter"),
    # Pillow: we only decode JPEG/PNG/BMP (chalicelib/vision/decode.py); these
    # optional extensions are imported inside try/except by PIL.
    ("PIL/_avif*.so", "AVIF codec"),
    ("PIL/_webp*.so", "WebP codec"),
    ("PIL/_imagingft*.so", "font rendering"),
    ("PIL/_imagingcms*.so", "colour management"),
    ("PIL/_imagingtk*.so", "Tk bridge"),
    ("**/*.dist-info/RECORD", "install record (files changed by pruning)"),
]


def log(msg: str) -> None:
    print(msg, flush=True)


def read_pins() -> list[str]:
    pins = []
    for raw in PINS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not re.fullmatch(r"\S+==\S+", line):
            raise SystemExit(f"{PINS}: cannot parse {raw!r}")
        pins.append(line)
    return pins


def modules_importing_cv2() -> list[str]:
    """Deployed modules that import OpenCV, which the layer does not carry."""
    pat = re.compile(r"^\s*(import cv2|from cv2 )", re.M)
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return [str(f.relative_to(ROOT)) for f in files
            if f.exists() and pat.search(f.read_text(errors="replace"))]


def _wheel_name_matches(path: Path, pin: str) -> bool:
    name, version = pin.split("==")
    norm = re.sub(r"[-_.]+", "_", name).lower()
    parts = path.name.split("-")
    return re.sub(r"[-_.]+", "_", parts[0]).lower() == norm and parts[1] == version


def fetch_wheels(pins: list[str], cache: Path, offline: bool) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = []
    for pin in pins:
        have = [p for p in cache.glob("*.whl") if _wheel_name_matches(p, pin)]
        if not have:
            if offline:
                raise SystemExit(f"--offline: no cached wheel for {pin} in {cache}")
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
                   "-d", str(cache), pin]
            for plat in PLATFORMS:
                cmd[5:5] = ["--platform", plat]
            log(f"  download {pin}")
            subprocess.run(cmd, check=True)
            have = [p for p in cache.glob("*.whl") if _wheel_name_matches(p, pin)]
        if not have:
            raise SystemExit(f"no AL2-compatible cp311 wheel for {pin}")
        wheels.append(sorted(have)[-1])
    return wheels


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def needed_libs(so: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True).stdout
    return set(re.findall(r"\(NEEDED\).*\[(.+?)\]", out))


def drop_orphan_libs(site: Path) -> list[str]:
    """Delete bundled `*.libs/*.so*` that no remaining extension loads.

    auditwheel copies each wheel's private libraries into ``<pkg>.libs``;
    once the extension that needed one is pruned, nothing can load it.
    """
    bundled = {p.name: p for p in site.glob("*.libs/*.so*")}
    if not bundled or not shutil.which("readelf"):
        return []
    roots = [p for p in site.rglob("*.so*") if p.parent.suffix != ".libs" and p.is_file()]
    keep, todo = set(), [needed_libs(r) for r in roots]
    while todo:
        for name in todo.pop() & bundled.keys():
            if name not in keep:
                keep.add(name)
                todo.append(needed_libs(bundled[name]))
    dropped = []
    for name, path in bundled.items():
        if name not in keep:
            dropped.append(name)
            path.unlink()
    return sorted(dropped)


def compress_ffmpeg(site: Path, dest: Path, cache: Path) -> dict:
    """xz-compress imageio-ffmpeg's static binary into ``dest`` (cached by the
    binary's sha256: preset 6 takes ~35 s and the input never changes)."""
    found = sorted((site / "imageio_ffmpeg" / "binaries").glob("ffmpeg-linux-x86_64-*"))
    if len(found) != 1:
        raise SystemExit(f"expected one FFmpeg binary in imageio_ffmpeg/binaries, found {found}")
    binary = found[0]
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    cached = cache / f"{binary.name}-{digest}.xz"
    if not cached.exists():
        log(f"  compress {binary.name} ({binary.stat().st_size / MB:.1f} MB, xz preset 6)")
        tmp = cached.with_suffix(".partial")
        with binary.open("rb") as src, lzma.open(tmp, "wb", preset=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(cached)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)
    return {"binary": binary.name, "binary_bytes": binary.stat().st_size, "xz_bytes": dest.stat().st_size}


def build_deps(wheels: list[Path], out: Path, cache: Path) -> dict:
    site = out / "python"
    shutil.rmtree(out, ignore_errors=True)
    site.mkdir(parents=True)
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            z.extractall(site)
    unpacked = dir_size(site)
    ffmpeg = compress_ffmpeg(site, out / "ffmpeg" / "ffmpeg.xz", cache)
    pruned = {}
    for pattern, why in PRUNE:
        for p in sorted(site.glob(pattern), key=lambda p: -len(p.parts)):
            if not p.exists():
                continue
            size = dir_size(p) if p.is_dir() else p.stat().st_size
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            pruned[why] = pruned.get(why, 0) + size
    orphans = drop_orphan_libs(site)
    before_pyc = dir_size(site)
    # unchecked-hash: valid whatever mtimes the layer unzip gives the sources.
    compileall.compile_dir(str(site), quiet=2, workers=0,
                           invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return {"unpacked": unpacked, "pruned": pruned, "orphan_libs": orphans, "ffmpeg": ffmpeg,
            "before_pyc": before_pyc, "site": dir_size(site), "final": dir_size(out)}


def roles_used_by_code() -> set[str]:
    """Manifest roles some module names literally (e.g. model_entry("detector"))."""
    sources = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
    text = "\n".join(f.read_text(errors="replace") for f in sources if f.exists())
    return set(re.findall(r"[\"']([a-z][a-z0-9_]*)[\"']", text))


def build_models(src: Path, out: Path) -> tuple[int, list[str]]:
    """Copy the models the code can load; answer (size, roles left out)."""
    dest = out / "models"
    shutil.rmtree(out, ignore_errors=True)
    dest.mkdir(parents=True)
    manifest = src / "manifest.json"
    if not manifest.exists():
        raise SystemExit(f"{manifest} missing: run `make models` first")
    data = json.loads(manifest.read_text())
    if "calibration" not in data and not (src / "calibration.json").exists():
        # Without it compare/search answer FRS.0018 (chalicelib/vision/calibration.py);
        # deploy/package.py ships models/calibration.json in the function zip.
        log("warning: no similarity calibration (models/calibration.json or manifest): "
            "compare/search would answer FRS.0018")
    # Every built embedder and detector is kept: the engine picks a face set's
    # embedder by the model id the set recorded (chalicelib/vision/engine.py),
    # so e.g. the dlib embedder of sets made before SFace is loaded by no
    # literal role name but must ship. Optional builds (`make models-int8`)
    # that nothing records or selects stay dead weight on Lambda.
    used = roles_used_by_code() | {
        r for r, e in data.get("models", {}).items()
        if e.get("kind") in ("embedder", "detector") and not r.endswith("_int8")}
    left_out = sorted(r for r in data.get("models", {}) if r not in used)
    data["models"] = {r: e for r, e in data.get("models", {}).items() if r in used}
    for name, entry in data["models"].items():
        f = src / entry["file"]
        if not f.exists():
            raise SystemExit(f"model {name}: {f} missing: run `make models`")
        shutil.copy2(f, dest / f.name)
    (dest / "manifest.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return dir_size(out), left_out


def zip_dir(src: Path, dest: Path) -> int:
    """Zip with fixed timestamps and order, so identical inputs give identical zips."""
    dest.unlink(missing_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(f.relative_to(src)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(f, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, f.read_bytes(), compresslevel=6)
    return dest.stat().st_size


def function_size() -> tuple[int, str]:
    """Unzipped size of the function code: chalice's deployment.zip when a
    package was built, else the sources it would contain."""
    pkgs = sorted((ROOT / "build").glob("package-*/deployment.zip"), key=lambda p: p.stat().st_mtime)
    if pkgs:
        with zipfile.ZipFile(pkgs[-1]) as z:
            return sum(i.file_size for i in z.infolist()), str(pkgs[-1].relative_to(ROOT))
    files = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
    return sum(f.stat().st_size for f in files if f.exists()), "app.py + chalicelib/ sources"


SMOKE = r"""
import json, sys, time, os, io
t0 = time.perf_counter()
import numpy as np, onnxruntime as ort
from PIL import Image
import lark, opensearchpy
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection
mods = {"numpy": np.__version__, "onnxruntime": ort.__version__, "PIL": Image.__version__}
# Nothing deployed may need OpenCV: make any attempt to import it fail.
sys.modules["cv2"] = None
buf = io.BytesIO(); Image.new("RGB", (64, 48), (10, 20, 30)).save(buf, "JPEG")
img = Image.open(io.BytesIO(buf.getvalue()), formats=["JPEG"]); img.load()
for f in ("PNG", "BMP"):
    b = io.BytesIO(); img.save(b, f); Image.open(io.BytesIO(b.getvalue()), formats=[f]).load()
mdir = os.environ["FRS_MODEL_DIR"]
man = json.load(open(os.path.join(mdir, "manifest.json")))
ran = {}
for name, m in man["models"].items():
    s = ort.InferenceSession(os.path.join(mdir, m["file"]), providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        shape = [d if isinstance(d, int) else (1 if k == 0 else 64) for k, d in enumerate(i.shape)]
        feeds[i.name] = np.zeros(shape, np.uint8 if "uint8" in i.type else np.float32)
    ran[name] = [list(o.shape) for o in s.run(None, feeds)]
out = {"imports": mods, "models_ran": ran}
# The deployed vision engine itself, on fixed pseudo-random input: its output
# is compared with the development environment's (newer numpy/onnxruntime).
try:
    from chalicelib.vision.engine import get_engine
except ImportError as exc:
    out["engine"] = f"not importable: {exc}"
else:
    rng = np.random.default_rng(7)
    eng = get_engine()
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out["engine_detect_count"] = len(eng.detect(image))
    side = eng.embedder.size
    chip = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    out["engine_embedding"] = [round(float(x), 6) for x in eng.embedder.embed_chips([chip])[0]]
# Video: the compressed FFmpeg is unpacked (FRS_FFMPEG_XZ) and decodes a
# clip it made itself (lavfi test source, H.264 in MP4).
import subprocess, tempfile
from chalicelib.liveness.ffmpeg import ffmpeg_exe
from chalicelib.liveness.video import Video
t1 = time.perf_counter()
exe = ffmpeg_exe()
out["ffmpeg_unpack_seconds"] = round(time.perf_counter() - t1, 2)
clip = os.path.join(tempfile.mkdtemp(), "clip.mp4")
subprocess.run([exe, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", clip], check=True)
with Video(open(clip, "rb").read()) as v:
    n = sum(1 for _ in v.frames(10.0))
    out["video"] = {"sampled_frames": n, "decoded_frames": v.info.frames, "fps": v.info.fps,
                    "size": [v.info.width, v.info.height]}
out["seconds"] = round(time.perf_counter() - t0, 2)
print(json.dumps(out))
"""

# Packages Lambda's python3.11 runtime provides (/var/runtime); the smoke run
# borrows the host's copies so the layer is tested as Lambda would load it.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


def _runtime_standin(out: Path) -> Path:
    import importlib.util
    stand = out / "runtime-standin"
    shutil.rmtree(stand, ignore_errors=True)
    stand.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name.removesuffix(".py"))
        if spec and spec.origin:
            src = Path(spec.origin)
            src = src.parent if src.name == "__init__.py" else src
            (stand / src.name).symlink_to(src)
    return stand


def _run_smoke(python_args: list[str], path: list[str], env_extra: dict) -> dict:
    env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1", **env_extra}
    code = f"import sys; sys.path[:0] = {path!r}\n" + SMOKE
    r = subprocess.run([sys.executable, *python_args, "-c", code],
                       capture_output=True, text=True, env=env, timeout=300, cwd=str(ROOT))
    if r.returncode != 0:
        raise SystemExit(f"smoke test failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def smoke(out: Path) -> dict:
    # TMPDIR: a private /tmp, so the FFmpeg unpack really happens here.
    tmp = out / "smoke-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    env = {"FRS_MODEL_DIR": str(out / "models" / "models"), "TMPDIR": str(tmp),
           "FRS_FFMPEG_XZ": str(out / "deps" / "ffmpeg" / "ffmpeg.xz")}
    # -I -S: no site-packages at all; only the layer, the runtime's own
    # packages and the function code (as /var/task) are importable.
    lam = _run_smoke(["-I", "-S"], [str(out / "deps" / "python"), str(_runtime_standin(out)), str(ROOT)], env)
    if "engine_embedding" in lam:
        dev = _run_smoke(["-I"], [str(ROOT)], env)
        a, b = (np.asarray(x["engine_embedding"]) for x in (lam, dev))
        lam["embedding_cosine_vs_dev"] = round(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))), 6)
        lam["detect_count_dev"] = dev["engine_detect_count"]
        lam["dev_imports"] = dev["imports"]
        lam.pop("engine_embedding")
        if lam["embedding_cosine_vs_dev"] < 0.999 or lam["engine_detect_count"] != dev["engine_detect_count"]:
            raise SystemExit(f"layer and dev environment disagree: {lam}")
    return lam


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offline", action="store_true", help="use cached wheels only")
    ap.add_argument("--smoke", action="store_true", help="import and run every model from the layers")
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--out", default=str(BUILD))
    ap.add_argument("--wheels", help="wheel cache (default OUT/wheels)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--no-gate", action="store_true",
                    help="report an over-limit size but exit 0 (to test code on an oversized layer)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    cv2_users = modules_importing_cv2()
    if cv2_users:
        raise SystemExit("the layer carries no OpenCV, but these modules import cv2: "
                         + ", ".join(cv2_users))

    log("layer build: python3.11 / Amazon Linux 2")
    cache = Path(a.wheels) if a.wheels else out / "wheels"
    wheels = fetch_wheels(read_pins(), cache, a.offline)
    deps = build_deps(wheels, out / "deps", cache)
    models, left_out = build_models(Path(a.models), out / "models")
    if left_out:
        log(f"  models not referenced by the code, left out of the layer: {', '.join(left_out)}")
    deps_zip = zip_dir(out / "deps", out / "deps-layer.zip")
    models_zip = zip_dir(out / "models", out / "models-layer.zip")
    func, func_src = function_size()

    per_pkg = {}
    for top in sorted((out / "deps" / "python").iterdir()):
        key = re.sub(r"(\.libs|-[\d.]+.*\.dist-info)$", "", top.name)
        size = dir_size(top) if top.is_dir() else top.stat().st_size
        per_pkg[key] = per_pkg.get(key, 0) + size
    total = deps["final"] + models + func

    log("\n  dependency layer, per package (unzipped, MB):")
    for k, v in sorted(per_pkg.items(), key=lambda kv: -kv[1]):
        if v >= 0.1 * MB:
            log(f"    {k:28s} {v / MB:8.1f}")
    log(f"\n  wheels as unpacked          {deps['unpacked'] / MB:8.1f} MB")
    for why, size in sorted(deps["pruned"].items(), key=lambda kv: -kv[1]):
        log(f"    - {why:30s} {size / MB:6.1f}")
    if deps["orphan_libs"]:
        log(f"    - orphaned bundled libs: {', '.join(deps['orphan_libs'])}")
    log(f"    + bytecode (.pyc)              {(deps['site'] - deps['before_pyc']) / MB:6.1f}")
    ff = deps["ffmpeg"]
    log(f"    + ffmpeg/ffmpeg.xz             {ff['xz_bytes'] / MB:6.1f}  "
        f"({ff['binary']}, {ff['binary_bytes'] / MB:.1f} MB unpacked into /tmp on first use)")
    log(f"  dependency layer            {deps['final'] / MB:8.1f} MB  (zip {deps_zip / MB:.1f} MB)")
    log(f"  models layer                {models / MB:8.1f} MB  (zip {models_zip / MB:.1f} MB)")
    log(f"  function code               {func / MB:8.1f} MB  ({func_src})")
    log(f"  TOTAL unzipped              {total / MB:8.1f} MB"
        f"  (limit {LIMIT_BYTES // MB}, goal {GOAL_BYTES // MB})")

    figures = {"deps_bytes": deps["final"], "models_bytes": models,
               "function_bytes": func, "total_bytes": total, "deps_zip_bytes": deps_zip,
               "models_zip_bytes": models_zip, "per_package_bytes": per_pkg,
               "ffmpeg": deps["ffmpeg"], "wheels": [w.name for w in wheels],
               "models_left_out": left_out}
    if a.smoke:
        figures["smoke"] = smoke(out)
        log(f"  smoke: {json.dumps(figures['smoke'])}")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2))
    if total > LIMIT_BYTES:
        log(f"FAIL: {total / MB:.1f} MB exceeds Lambda's {LIMIT_BYTES // MB} MB unzipped limit")
        return 0 if a.no_gate else 1
    if total > GOAL_BYTES:
        log(f"note: within the limit but above the {GOAL_BYTES // MB} MB goal")
    else:
        log("OK: within the 150 MB goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
