"""The opt-in mask model (role ``mask``, models/convert_mask.py) and its
runner chalicelib/vision/mask.py, on real dataset faces with and without a
synthetic mask (bench/mask_synth.py). Skipped with a reason when the model
is not built (``make models OPT_IN=mask``) or the datasets are absent."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from models import convert_mask
from tests.vision.conftest import data_file

# One adult per UTKFace race (both genders) and two LFW faces.
FACES = [
    ("distractors", "utkface", "25_0_0_20170116222918287.jpg.chip.jpg"),
    ("distractors", "utkface", "25_1_1_20170113001941650.jpg.chip.jpg"),
    ("distractors", "utkface", "26_0_2_20170116165230359.jpg.chip.jpg"),
    ("distractors", "utkface", "25_1_3_20170117141103735.jpg.chip.jpg"),
    ("distractors", "utkface", "26_0_4_20170103235523972.jpg.chip.jpg"),
    ("lfw", "images", "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"),
    ("lfw", "images", "Serena_Williams", "Serena_Williams_0001.jpg"),
]


def test_converter_refuses_any_other_file():
    with pytest.raises(RuntimeError, match="expected"):
        convert_mask.check_member(b"\0" * convert_mask.MEMBER_SIZE)
    with pytest.raises(RuntimeError, match="expected"):
        convert_mask.check_member(b"not a model")


def test_converter_refuses_one_changed_byte():
    path = next(iter((convert_mask.Path(convert_mask.__file__).parent / ".cache").glob(
        f"pypi/{convert_mask.PACKAGE}-{convert_mask.VERSION}/*.whl")), None)
    if path is None:
        pytest.skip("the mask package is not in models/.cache: run `make models OPT_IN=mask`")
    from models.registry import read_member
    raw = bytearray(read_member(path, convert_mask.MEMBER))
    assert hashlib.sha256(raw).hexdigest() == convert_mask.MEMBER_SHA256
    convert_mask.check_member(bytes(raw))   # the publisher's file passes
    raw[len(raw) // 2] ^= 1
    with pytest.raises(RuntimeError, match="sha256"):
        convert_mask.check_member(bytes(raw))


def test_face_crop_is_clipped_and_empty_boxes_give_nothing():
    from chalicelib.vision.mask import face_crop, model_input
    image = np.zeros((100, 80, 3), np.uint8)
    assert face_crop(image, (-10, -10, 50, 50)).shape == (40, 40, 3)
    assert face_crop(image, (70, 90, 50, 50)).shape == (10, 10, 3)
    assert face_crop(image, (200, 200, 30, 30)) is None
    assert model_input(image, (200, 200, 30, 30)) is None
    x = model_input(np.full((50, 50, 3), 255, np.uint8), (0, 0, 50, 50))
    assert x.shape == (1, 3, 224, 224) and np.allclose(x, 1.0)


@pytest.fixture(scope="module")
def classifier(engine):
    from chalicelib.inference.manifest import has_model
    if not has_model("mask"):
        pytest.skip("the opt-in mask model is not built: run `make models OPT_IN=mask`")
    from chalicelib.vision.attributes import MASK
    return engine.attribute_models().runner(MASK)


@pytest.mark.parametrize("parts", FACES, ids=[p[-1].split(".")[0] for p in FACES])
def test_a_drawn_mask_answers_yes_and_the_bare_face_none(parts, engine, classifier):
    from bench.mask_synth import draw_occluder, mesh_points
    from chalicelib.vision import decode_image
    mask_state = classifier.mask_state
    image = decode_image(data_file(*parts).read_bytes())
    faces = engine.detect(image)
    assert faces, "the unmasked face is detected"
    face = max(faces, key=lambda f: f.box[2] * f.box[3])
    bare = mask_state(image, face)
    assert bare is not None and bare[0] == "none" and 0.5 <= bare[1] <= 1.0
    masked = draw_occluder(image, mesh_points(image, face.landmarks, face.box), "surgical_blue", parts[-1])
    assert masked.shape == image.shape and (masked != image).any()
    found = engine.detect(masked)
    assert found, "the masked face is still detected"
    answer = mask_state(masked, max(found, key=lambda f: f.box[2] * f.box[3]))
    assert answer is not None and answer[0] == "yes" and 0.5 <= answer[1] <= 1.0


def test_tensorflow_same_padding_puts_the_odd_pixel_at_the_end():
    assert convert_mask._same_pads(224, 3, 2) == (0, 1)
    assert convert_mask._same_pads(7, 3, 1) == (1, 1)
    assert convert_mask._same_pads(8, 1, 1) == (0, 0)


def _np_conv(x, k, stride, pad, groups=1):
    """Reference NHWC convolution: x (H, W, C), k (kh, kw, cin/groups, cout)."""
    (t, b), (l_, r) = pad
    x = np.pad(x, ((t, b), (l_, r), (0, 0)))
    kh, kw, cin, cout = k.shape
    cout = cin if groups > 1 else cout
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow, cout), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[i:i + stride * oh:stride, j:j + stride * ow:stride]
            if groups == 1:
                out += patch @ k[i, j]
            else:  # depthwise, multiplier 1
                out += patch * k[i, j, :, 0]
    return out


def test_a_small_keras_graph_converts_to_what_numpy_computes():
    """Conv (same, stride 2) -> BN -> ReLU6 -> depthwise -> Add -> pool ->
    Dense softmax, with random weights, against a numpy forward pass."""
    import onnxruntime as ort
    rng = np.random.default_rng(1)

    def layer(name, kind, inbound, **config):
        return {"name": name, "class_name": kind, "config": config,
                "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]]}
    layers = [
        {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [None, 224, 224, 3]},
         "inbound_nodes": []},
        layer("c1", "Conv2D", ["in"], kernel_size=[3, 3], strides=[2, 2], padding="same", use_bias=True),
        layer("bn", "BatchNormalization", ["c1"], axis=[3], epsilon=1e-3),
        layer("r6", "ReLU", ["bn"], max_value=6.0),
        layer("dw", "DepthwiseConv2D", ["r6"], kernel_size=[3, 3], strides=[1, 1], padding="same"),
        layer("add", "Add", ["r6", "dw"]),
        layer("pool", "AveragePooling2D", ["add"], pool_size=[112, 112], strides=[112, 112], padding="valid"),
        layer("flat", "Flatten", ["pool"]),
        layer("fc", "Dense", ["flat"], activation="softmax"),
    ]
    w = {"c1": {"kernel": rng.normal(0, 0.5, (3, 3, 3, 4)), "bias": rng.normal(0, 0.1, 4)},
         "bn": {"gamma": rng.uniform(0.5, 2, 4), "beta": rng.normal(0, 0.5, 4),
                "moving_mean": rng.normal(0, 0.5, 4), "moving_variance": rng.uniform(0.5, 2, 4)},
         "dw": {"depthwise_kernel": rng.normal(0, 0.5, (3, 3, 4, 1))},
         "fc": {"kernel": rng.normal(0, 1, (4, 2)), "bias": rng.normal(0, 0.1, 2)}}
    w = {k: {n: v.astype(np.float32) for n, v in d.items()} for k, d in w.items()}
    sess = ort.InferenceSession(convert_mask.to_onnx(layers, w).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    x = rng.uniform(-1, 1, (224, 224, 3)).astype(np.float32)
    got = sess.run(None, {"input": x.transpose(2, 0, 1)[None]})[0][0]

    h = _np_conv(x, w["c1"]["kernel"], 2, ((0, 1), (0, 1))) + w["c1"]["bias"]
    bn = w["bn"]
    h = (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * bn["gamma"] + bn["beta"]
    h = np.clip(h, 0, 6)
    h = h + _np_conv(h, w["dw"]["depthwise_kernel"], 1, ((1, 1), (1, 1)), groups=4)
    logits = h.mean((0, 1)) @ w["fc"]["kernel"] + w["fc"]["bias"]
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert np.abs(got - want).max() < 1e-5, (got, want)


def test_a_sideways_masked_face_is_turned_upright_first(engine, classifier):
    """A photo stored turned 90 degrees: the face's ``angle`` (as detect's
    rotation fallback sets it) turns the crop upright before the model."""
    from bench.mask_synth import draw_occluder, mesh_points
    from chalicelib.vision import decode_image, rotation
    from chalicelib.vision.engine import DetectedFace
    image = decode_image(data_file(*FACES[0]).read_bytes())
    face = max(engine.detect(image), key=lambda f: f.box[2] * f.box[3])
    masked = draw_occluder(image, mesh_points(image, face.landmarks, face.box), "black_cloth", "sideways")
    upright = classifier.mask_state(masked, face)
    assert upright is not None and upright[0] == "yes"
    sideways = rotation.rotate_cw(masked, 270)          # stored turned anticlockwise
    h, w = image.shape[:2]
    x, y, bw, bh = face.box
    box = (y, w - x - bw, bh, bw)                        # the same face in the turned image
    turned = DetectedFace(box, face.landmarks, face.score, angle=90)
    answer = classifier.mask_state(sideways, turned)
    assert answer is not None and answer[0] == "yes"
    assert abs(answer[1] - upright[1]) < 0.05


def test_the_attribute_facade_can_load_it_as_a_mask_backend(engine, classifier, monkeypatch):
    """The contract chalicelib/vision/attributes.py uses: the class is built
    from the manifest paths of its roles and answers ``mask_state``."""
    from bench.mask_synth import draw_occluder, mesh_points
    from chalicelib.vision import attributes, decode_image
    backend = attributes.Backend("face_mask_detector", attributes.MASK, ("mask",),
                                 "chalicelib.vision.mask:MaskClassifier")
    monkeypatch.setattr(attributes, "BACKENDS", attributes.BACKENDS + (backend,))
    models = attributes.AttributeModels({attributes.MASK: "face_mask_detector"})
    image = decode_image(data_file(*FACES[5]).read_bytes())
    face = max(engine.detect(image), key=lambda f: f.box[2] * f.box[3])
    masked = draw_occluder(image, mesh_points(image, face.landmarks, face.box), "white", "facade")
    assert models.mask(image, face)[0] == "none"
    assert models.mask(masked, face)[0] == "yes"
