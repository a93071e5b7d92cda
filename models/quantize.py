"""Static int8 (QDQ) quantisation experiment for the dlib embedder.

    python -m models.quantize [--calib 400] [--eval 200] [--method minmax|percentile|entropy]
                              [--quantize-ends] [--runs 30] [--lfw-folds N]
                              [--out models/embedder_int8.onnx]

Calibration faces: UTKFace aligned crops (``../shared/datasets/distractors/
utkface``, 200x200), turned into dlib chips by the dlib pipeline itself (HOG
detector + 5-point predictor + ``get_face_chip(150, 0.25)``) when dlib-bin is
installed; otherwise by a centred resize of the whole 200x200 crop to 150x150
(an approximation: UTKFace crops are aligned but looser than dlib chips). The
report says which was used. Drift is measured on faces NOT used for
calibration (held-out UTKFace and LFW). Speed: ms/face at batch 1, 2 threads,
median of ``--runs`` runs after warm-up. The last line printed is a one-line
JSON summary. fp32 stays the default model; the int8 file is optional.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from models import build as mbuild

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
UTK = DATASETS / "distractors" / "utkface"
INT8_FILE = "embedder_int8.onnx"
# The shipped recipe: MinMax calibration, first conv + fc kept float (LFW
# -0.05 pp vs -0.10 pp when everything is quantised, at nearly the same speed).
RECIPE = "qdq-minmax-ends-float-v1"


def _dlib_ref():
    try:
        from models.verify_dlib import DlibReference
        return DlibReference()
    except ImportError:
        return None


def utk_chips(paths: list[Path], ref) -> tuple[list[np.ndarray], str]:
    import cv2

    chips = []
    for p in paths:
        bgr = cv2.imread(str(p))
        if bgr is None:
            continue
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        if ref is not None:
            got = next(iter(ref.faces(rgb)), None)
            if got is not None:
                chips.append(got[1])
        else:
            chips.append(cv2.resize(rgb, (150, 150), interpolation=cv2.INTER_AREA))
    how = ("dlib pipeline (HOG + 5-point + get_face_chip 150/0.25)" if ref is not None
           else "centred resize of the 200x200 UTKFace crop to 150x150 (dlib-bin absent)")
    return chips, how


def lfw_chips(ref, n: int) -> list[np.ndarray]:
    lfw = DATASETS / "lfw" / "images"
    if ref is None or not lfw.is_dir():
        return []
    from models.verify_dlib import load_rgb
    out = []
    # People from the end of the alphabet: disjoint from verify_dlib's sample.
    for person in sorted(lfw.iterdir(), reverse=True):
        imgs = sorted(person.glob("*.jpg"))
        rgb = load_rgb(imgs[0]) if imgs else None
        got = next(iter(ref.faces(rgb)), None) if rgb is not None else None
        if got is not None:
            out.append(got[1])
        if len(out) >= n:
            break
    return out


def to_input(chips: list[np.ndarray]) -> np.ndarray:
    return np.stack([c.transpose(2, 0, 1) for c in chips]).astype(np.float32)


class _Reader:
    """onnxruntime CalibrationDataReader over in-memory chips, batch 1."""

    def __init__(self, x: np.ndarray):
        self.x, self.i = x, 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        self.i += 1
        return {"input": self.x[self.i - 1:self.i]}

    def rewind(self):
        self.i = 0


def quantize(fp32: Path, out: Path, calib: np.ndarray, method: str = "minmax",
             exclude_ends: bool = False) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    with tempfile.TemporaryDirectory() as td:
        pre = Path(td) / "pre.onnx"
        # Symbolic shape inference would need sympy; the graph has static H/W.
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        exclude = []
        if exclude_ends:
            # First conv (raw-pixel range) and the 128-d projection are the
            # most error-sensitive layers; keep them float.
            m = onnx.load(str(pre))
            convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
            exclude = convs[:1] + [n.name for n in m.graph.node if n.op_type == "MatMul"]
        extra = {"CalibPercentile": 99.99} if method == "percentile" else {}
        quantize_static(str(pre), str(out), _Reader(calib), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=methods[method],
                        nodes_to_exclude=exclude, extra_options=extra)


def session(path: Path, threads: int = 2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def embed(sess, x: np.ndarray) -> np.ndarray:
    return np.concatenate([sess.run(None, {"input": x[i:i + 32]})[0] for i in range(0, len(x), 32)])


def ms_per_face(sessions: list, x1: np.ndarray, runs: int) -> list[float]:
    """Median ms per run for each session, runs interleaved so that load
    from other processes on the machine hits every model alike."""
    for s in sessions:
        for _ in range(3):
            s.run(None, {"input": x1})
    times = [[] for _ in sessions]
    for _ in range(runs):
        for s, t in zip(sessions, times, strict=True):
            t0 = time.perf_counter()
            s.run(None, {"input": x1})
            t.append((time.perf_counter() - t0) * 1000)
    return [round(float(np.median(t)), 2) for t in times]


def lfw_pairs(folds: int) -> list[list[tuple[str, int, str, int, bool]]]:
    """The first ``folds`` folds of the official LFW protocol (pairs.txt)."""
    lines = (DATASETS / "lfw" / "pairs.txt").read_text().splitlines()
    n_folds, n = map(int, lines[0].split())
    out, i = [], 1
    for _ in range(min(folds, n_folds)):
        fold = []
        for j in range(2 * n):
            f = lines[i + j].split()
            if len(f) == 3:
                fold.append((f[0], int(f[1]), f[0], int(f[2]), True))
            else:
                fold.append((f[0], int(f[1]), f[2], int(f[3]), False))
        i += 2 * n
        out.append(fold)
    return out


def lfw_verification(ref, sessions: dict, folds: int) -> dict:
    """LFW accuracy per model on the same dlib chips: threshold chosen on the
    other folds, accuracy on the held-out fold (the standard protocol,
    restricted to ``folds`` folds). Needs dlib-bin for the chips."""
    import cv2

    from models.verify_dlib import load_rgb
    pairs = lfw_pairs(folds)
    names = sorted({(a, i) for f in pairs for a, i, _, _, _ in f}
                   | {(b, j) for f in pairs for _, _, b, j, _ in f})
    chips, fallback = {}, 0
    for name, idx in names:
        rgb = load_rgb(DATASETS / "lfw" / "images" / name / f"{name}_{idx:04d}.jpg")
        got = None
        for up in (0, 1):
            rects = ref.detector(rgb, up)
            if len(rects):
                # The centre-most face: LFW images are centred on the subject.
                r = min(rects, key=lambda r: abs(r.center().x - 125) + abs(r.center().y - 125))
                got = ref.dlib.get_face_chip(rgb, ref.shape(rgb, r), size=150, padding=0.25)
                break
        if got is None:  # rare: fixed centre crop so every pair is scored
            fallback += 1
            got = cv2.resize(rgb[60:190, 60:190], (150, 150), interpolation=cv2.INTER_AREA)
        chips[(name, idx)] = got
    keys = list(chips)
    x = to_input([chips[k] for k in keys])
    res = {"pairs": sum(len(f) for f in pairs), "folds": len(pairs), "centre_crop_fallbacks": fallback}
    for label, sess in sessions.items():
        e = embed(sess, x)
        emb = {k: v for k, v in zip(keys, e, strict=True)}
        d = [np.array([np.linalg.norm(emb[(a, i)] - emb[(b, j)]) for a, i, b, j, _ in f]) for f in pairs]
        y = [np.array([same for *_, same in f]) for f in pairs]
        accs = []
        for k in range(len(pairs)):
            tr_d = np.concatenate([d[m] for m in range(len(pairs)) if m != k] or [d[k]])
            tr_y = np.concatenate([y[m] for m in range(len(pairs)) if m != k] or [y[k]])
            cands = np.unique(tr_d)
            best = max(cands, key=lambda t: np.mean((tr_d <= t) == tr_y))
            accs.append(float(np.mean((d[k] <= best) == y[k])))
        res[label] = {"accuracy": round(float(np.mean(accs)), 5), "std": round(float(np.std(accs)), 5)}
    return res


def drift(a: np.ndarray, b: np.ndarray) -> dict:
    cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    l2 = np.linalg.norm(a - b, axis=1)
    return {"faces": len(a), "cosine_min": round(float(cos.min()), 5),
            "cosine_mean": round(float(cos.mean()), 5),
            "l2_mean": round(float(l2.mean()), 4), "l2_max": round(float(l2.max()), 4)}


def split_utk(n_calib: int, n_eval: int) -> tuple[list[Path], list[Path]]:
    files = sorted(UTK.glob("*.jpg"))
    order = np.random.default_rng(0).permutation(len(files))  # mix ages/races
    files = [files[i] for i in order]
    return files[:n_calib], files[n_calib:n_calib + n_eval]


def run(out_path: Path, n_calib: int = 400, n_eval: int = 200, method: str = "minmax",
        exclude_ends: bool = True, runs: int = 30, ref=None, lfw_folds: int = 0) -> dict:
    mdir = mbuild.model_dir()
    manifest = mbuild.load_manifest(mdir)
    if "embedder_dlib" not in manifest["models"]:
        raise RuntimeError("no fp32 embedder; run `python -m models.build` first")
    fp32 = mdir / manifest["models"]["embedder_dlib"]["file"]
    if not UTK.is_dir():
        raise RuntimeError(f"{UTK} is absent: no calibration faces")
    ref = ref if ref is not None else _dlib_ref()
    t0 = time.time()
    cal_paths, eval_paths = split_utk(n_calib, n_eval)
    calib, how = utk_chips(cal_paths, ref)
    held, _ = utk_chips(eval_paths, ref)
    held += lfw_chips(ref, 100)
    if len(calib) < 300:
        raise RuntimeError(f"only {len(calib)} calibration chips (need >= 300)")
    quantize(fp32, out_path, to_input(calib), method, exclude_ends)
    s32, s8 = session(fp32), session(out_path)
    xe = to_input(held)
    e32, e8 = embed(s32, xe), embed(s8, xe)
    x1 = xe[:1]
    t32, t8 = ms_per_face([s32, s8], x1, runs)
    res = {
        "calibration_faces": len(calib), "calibration_chips": how,
        "method": f"static QDQ, per-channel int8 weights, uint8 activations, {method}"
                  + (", first conv + fc kept float" if exclude_ends else ""),
        "drift_vs_fp32_heldout": drift(e32, e8),
        "ms_per_face_fp32": t32,
        "ms_per_face_int8": t8,
        "runs": runs, "threads": 2,
        "size_bytes": {"fp32": fp32.stat().st_size, "int8": out_path.stat().st_size},
    }
    if lfw_folds and ref is not None and (DATASETS / "lfw" / "pairs.txt").exists():
        res["lfw"] = lfw_verification(ref, {"fp32": s32, "int8": s8}, lfw_folds)
    res["seconds"] = round(time.time() - t0, 1)
    return res


def build_int8(out: Path, models: dict, cache: Path | None = None, force: bool = False) -> dict | None:
    """Hook for ``python -m models.build --int8``: (re)make the int8 embedder
    when missing or stale and answer its manifest entry."""
    target = out / INT8_FILE
    fp32_sha = models["embedder_dlib"]["sha256"]
    old = models.get("embedder_int8")
    if (not force and old and target.exists() and old.get("from_sha256") == fp32_sha
            and old.get("recipe") == RECIPE and old.get("sha256") == mbuild.sha256_file(target)):
        mbuild.log("int8 embedder: up to date")
        return old
    mbuild.log("int8 embedder: quantising (needs ../shared/datasets; a few minutes) ...")
    res = run(target)
    mbuild.log(f"int8 embedder: {json.dumps(res)}")
    entry = dict(models["embedder_dlib"])
    entry.update({"file": INT8_FILE, "from_sha256": fp32_sha, "recipe": RECIPE, "quantisation": res,
                  "verification": {"drift_vs_fp32": res["drift_vs_fp32_heldout"]},
                  "note": "optional; fp32 'embedder_dlib' stays"})
    entry.pop("build", None)
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.quantize")
    ap.add_argument("--calib", type=int, default=400)
    ap.add_argument("--eval", type=int, default=200)
    ap.add_argument("--method", choices=["minmax", "percentile", "entropy"], default="minmax")
    ap.add_argument("--quantize-ends", action="store_true",
                    help="also quantise the first conv and the fc (faster, more drift)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--lfw-folds", type=int, default=0,
                    help="also compare LFW verification accuracy on this many folds (1-10)")
    args = ap.parse_args(argv)
    out = args.out or (mbuild.model_dir() / INT8_FILE)
    res = run(out, args.calib, args.eval, args.method, not args.quantize_ends, args.runs,
              lfw_folds=args.lfw_folds)
    print(f"wrote {out}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
