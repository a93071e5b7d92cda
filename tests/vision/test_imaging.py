"""chalicelib.vision.pixels against OpenCV as the oracle: OpenCV is a dev/test
dependency only (the Lambda package leaves it out), and the models were
built and calibrated on what OpenCV's operations produce, so the numpy and
Pillow replacements must give the same pixels - on real photos and on
synthetic arrays with the worst-case detail (noise)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from chalicelib.vision import pixels

from .conftest import data_file


@pytest.fixture(scope="module")
def photo():
    """A real colour photo with several faces (604x600)."""
    return cv2.imread(str(data_file("stills", "deepface", "selfie-many-people.jpg")))


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(7).integers(0, 256, (181, 203, 3), dtype=np.uint8)


def absdiff(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    return np.abs(a.astype(np.int64) - b.astype(np.int64))


def similarity(k, angle, centre, side):
    """Frame -> side x side chip: rotate by ``angle`` about ``centre``, scale k."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c * k, s * k, 0.0], [-s * k, c * k, 0.0]])
    m[:, 2] = np.array([side / 2, side / 2]) - m[:, :2] @ np.asarray(centre, float)
    return m


# Chips of the sizes the engine cuts: embedding 150, mesh 192, iris 64, the
# liveness crop 224; enlarged, shrunk, rotated, and hanging off the image.
WARPS = [
    (2.1, 0.3, (300, 250), 150),
    (0.7, -0.5, (420, 380), 192),
    (1.0, 0.0, (301.5, 222.25), 112),
    (3.3, 1.2, (150, 500), 64),
    (0.55, 0.1, (20, 580), 224),     # corner of the image: border fill
    (1.4, -2.8, (590, 10), 150),     # upside down, mostly outside
]


@pytest.mark.parametrize("k,angle,centre,side", WARPS)
@pytest.mark.parametrize("border,cv_border", [("constant", cv2.BORDER_CONSTANT),
                                              ("replicate", cv2.BORDER_REPLICATE)])
def test_warp_affine_matches_opencv_on_a_photo(photo, k, angle, centre, side, border, cv_border):
    m = similarity(k, angle, centre, side)
    for img in (photo, cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)):
        ref = cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv_border)
        d = absdiff(pixels.warp_affine(img, m, (side, side), border=border), ref)
        # Identical but for rare one-level roundings: the liveness tracker
        # feeds each frame's mesh into the next crop, so even a few
        # one-level differences per chip can move a borderline verdict.
        assert (d > 0).mean() < 1e-3 and d.max() <= 1, ((d > 0).mean(), d.max())


def test_warp_affine_on_noise_and_odd_sizes(noise):
    rng = np.random.default_rng(1)
    for _ in range(20):
        m = np.hstack([rng.normal(0, 0.8, (2, 2)) + np.eye(2), rng.uniform(-60, 60, (2, 1))])
        size = (int(rng.integers(1, 120)), int(rng.integers(1, 120)))
        for border, cb in (("constant", cv2.BORDER_CONSTANT), ("replicate", cv2.BORDER_REPLICATE)):
            ref = cv2.warpAffine(noise, m, size, flags=cv2.INTER_LINEAR, borderMode=cb)
            d = absdiff(pixels.warp_affine(noise, m, size, border=border), ref)
            assert (d > 0).mean() < 1e-3 and d.max() <= 1, (m, size, border, d.mean(), d.max())


def test_warp_affine_float_image_and_identity(noise):
    f = noise[..., 0].astype(np.float32) / 255
    m = similarity(1.3, 0.4, (100, 90), 80)
    ref = cv2.warpAffine(f, m, (80, 80), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    assert np.abs(pixels.warp_affine(f, m, (80, 80)) - ref).max() < 1e-4
    eye = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert np.array_equal(pixels.warp_affine(noise, eye, (203, 181)), noise)
    with pytest.raises(ValueError):
        pixels.warp_affine(noise, eye, (10, 10), border="reflect")


def test_invert_affine_matches_opencv():
    m = np.array([[1.3, 0.21, 5.5], [-0.12, 0.93, -7.25]])
    assert np.allclose(pixels.invert_affine(m), cv2.invertAffineTransform(m), atol=1e-12)
    assert np.allclose(pixels.invert_affine(pixels.invert_affine(m)), m)
    assert not pixels.invert_affine(np.zeros((2, 3))).any()  # degenerate: zeros, like OpenCV


@pytest.mark.parametrize("size", [(427, 320), (300, 300), (64, 64), (128, 77), (302, 300), (1, 1)])
def test_area_resize_matches_opencv(photo, noise, size):
    for img in (photo, noise, cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)):
        if size[0] > img.shape[1] or size[1] > img.shape[0]:
            continue
        ref = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        d = absdiff(pixels.resize(img, size, interpolation="area"), ref)
        assert d.mean() < 0.01 and d.max() <= 1, (img.shape, size, d.mean(), d.max())


@pytest.mark.parametrize("size", [(128, 128), (427, 320), (850, 844), (40, 300)])
def test_linear_resize_matches_opencv(photo, noise, size):
    # Both enlarging and shrinking: INTER_LINEAR does not average when it
    # shrinks, and the silent-liveness model was trained on that.
    for img in (photo, noise, noise[:50, :70], cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)):
        ref = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        d = absdiff(pixels.resize(img, size, interpolation="linear"), ref)
        assert d.mean() < 0.01 and d.max() <= 1, (img.shape, size, d.mean(), d.max())


def test_resize_same_size_is_a_copy(noise):
    out = pixels.resize(noise, (203, 181))
    assert np.array_equal(out, noise) and out is not noise
    with pytest.raises(ValueError):
        pixels.resize(noise, (10, 10), interpolation="cubic")


def test_gray_and_rgb_match_opencv(photo, noise):
    for img in (photo, noise):
        assert np.array_equal(pixels.bgr_to_gray(img), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        assert np.array_equal(pixels.bgr_to_rgb(img), cv2.cvtColor(img, cv2.COLOR_BGR2RGB))


@pytest.mark.parametrize("region", [(slice(None), slice(None)), (slice(40, 160), slice(50, 190)),
                                    (slice(5, 6), slice(0, 80)), (slice(0, 90), slice(33, 34)),
                                    (slice(10, 12), slice(10, 13))])
def test_laplacian_variance_matches_opencv(photo, noise, region):
    for img in (photo, noise):
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[region]
        ref = float(cv2.Laplacian(g, cv2.CV_32F).var())
        assert pixels.laplacian_variance(g) == pytest.approx(ref, rel=1e-4, abs=1e-3)
    assert pixels.laplacian_variance(np.zeros((0, 5), np.uint8)) == 0.0


def test_laplacian_variance_ranks_blur(photo):
    g = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert pixels.laplacian_variance(cv2.GaussianBlur(g, (7, 7), 2)) < 0.2 * pixels.laplacian_variance(g)


def psnr(a, b):
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def test_jpeg_decodes_back_to_the_same_picture(photo):
    crop = photo[100:400, 150:500]
    jpg = pixels.encode_jpeg(crop, quality=90)
    back = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == crop.shape
    assert psnr(back, crop) > 35  # channel order kept: a BGR/RGB swap scores ~20 dB
    ok, ref = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok and abs(len(jpg) - len(ref)) < 0.1 * len(ref)  # same quality setting
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    back = cv2.imdecode(np.frombuffer(pixels.encode_jpeg(grey), np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.shape == grey.shape and psnr(back, grey) > 35
    assert pixels.encode_jpeg(crop[:0]) == b""
