"""Presentation attacks: the planar test (chalicelib/liveness/planar.py,
presentation.py) on synthetic textures with known geometry, and a few
synthesised attack clips end to end (the full suite is
``make bench-liveness``)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from chalicelib.liveness import border, planar, presentation
from chalicelib.liveness.detect import live_detect
from chalicelib.liveness.judges import Event, Verdict
from chalicelib.liveness.track import Sample
from testkit.attacks import ATTACKS, QUICK
from testkit.clips import MissingClip

SIDE = 224


def _texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = cv2.GaussianBlur(rng.normal(128, 60, (SIDE, SIDE)).astype(np.float32), (0, 0), 2.0)
    return np.clip(g, 0, 255).astype(np.uint8)


def _rigid() -> np.ndarray:
    """Rigid points laid out like a face in a 224 px crop (the indices
    planar.face_grid reads: cheeks 17/8, brows 39-42, nose base 30-32)."""
    rng = np.random.default_rng(1)
    p = np.column_stack([rng.uniform(70, 154, len(planar.RIGID_IDX)),
                         rng.uniform(70, 160, len(planar.RIGID_IDX))])
    p[17], p[8] = (60, 112), (164, 112)
    p[[39, 40, 41, 42], 1] = 78
    p[[30, 31, 32], 1] = 138
    return p


def _tilt(deg: float) -> np.ndarray:
    """Homography of a plane at the crop centre turned ``deg`` about its
    vertical axis, seen by a pinhole camera (focal length = crop side)."""
    f, z = float(SIDE), 2.5 * SIDE
    a = np.radians(deg)
    k = np.array([[f, 0, SIDE / 2], [0, f, SIDE / 2], [0, 0, 1]])
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    # plane z = 0 in the object's frame, points (x, y, 1) in pixels about the centre
    m = k @ np.column_stack([r[:, 0], r[:, 1], np.array([0, 0, z])])
    c = np.array([[z / f, 0, -SIDE / 2 * z / f], [0, z / f, -SIDE / 2 * z / f], [0, 0, 1]])
    h = m @ c
    return h / h[2, 2]


def _bulge(img: np.ndarray, pts: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """A 3-D face's parallax: the middle of the face (a nose) shifts
    sideways against its outline by ``amount`` pixels at the centre."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    w = np.exp(-(((xx - 112) / 28) ** 2 + ((yy - 112) / 40) ** 2))
    out = cv2.remap(img, (xx - amount * w).astype(np.float32), yy, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    pw = np.exp(-(((pts[:, 0] - 112) / 28) ** 2 + ((pts[:, 1] - 112) / 40) ** 2))
    return out, pts + np.column_stack([amount * pw, np.zeros(len(pts))])


def _samples(flat: bool, peak_deg: float = 40.0, n: int = 9) -> list[Sample]:
    tex, rigid = _texture(), _rigid()
    out = []
    for i in range(n):
        deg = peak_deg * np.sin(np.pi * i / (n - 1))
        h = _tilt(deg)
        img = cv2.warpPerspective(tex, h, (SIDE, SIDE), borderMode=cv2.BORDER_REPLICATE)
        pts = planar.apply(h, rigid)
        if not flat:
            img, pts = _bulge(img, pts, 0.35 * deg)
        img = np.clip(img + np.random.default_rng(i).normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        out.append(Sample(t=i / 8, found=True, yaw=deg, pitch=0.0,
                          crop=cv2.cvtColor(img, cv2.COLOR_GRAY2BGR),
                          crop_m=np.array([[1.0, 0, 0], [0, 1.0, 0]]), rigid=pts.astype(np.float32)))
    return out


def _verdict(n: int = 9) -> Verdict:
    return Verdict(1, True, 0.8, 2.0, Event(0.0, (n - 1) / 16, (n - 1) / 8, 24.0, 1.0))


def test_homography_recovers_a_known_plane():
    src = _rigid()
    h = _tilt(35.0)
    est = planar.homography(src, planar.apply(h, src))
    assert est is not None
    assert np.abs(planar.apply(est, src) - planar.apply(h, src)).max() < 1e-6


def test_homography_of_degenerate_points_is_none_or_finite():
    assert planar.homography(np.zeros((3, 2)), np.zeros((3, 2))) is None


def test_texture_of_a_tilted_plane_aligns_to_noise():
    """A picture tilted 10-60 degrees: one homography carries the texture
    (steeper tilts lose texture detail, so the residual grows with tilt)."""
    tex = _texture()
    rest = planar.Texture(tex)
    grid = planar.face_grid(_rigid())
    for deg, limit in ((10, 0.01), (30, 0.01), (60, 0.6 * presentation.FLAT_BELOW)):
        h = _tilt(deg)
        cur = planar.Texture(cv2.warpPerspective(tex, h, (SIDE, SIDE), borderMode=cv2.BORDER_REPLICATE))
        # Half-size crops: the homography in their pixels.
        s = np.diag([0.5, 0.5, 1.0])
        h_half = s @ h @ np.linalg.inv(s)
        # Start a few pixels off, as the mesh would.
        start = np.array([[1, 0, 2.0], [0, 1, -1.5], [0, 0, 1]]) @ h_half
        r, _ = planar.align(rest, cur, grid / 2, start)
        assert r < limit, (deg, r)


def test_flat_motion_is_refused():
    samples = _samples(flat=True)
    verdicts = [_verdict()]
    ev = presentation.examine(verdicts, samples)
    assert len(ev) == 1 and ev[0].flat and ev[0].parallax < presentation.FLAT_BELOW
    assert presentation.refuse_flat(verdicts, ev)
    assert not verdicts[0].found and verdicts[0].confidence < 0.5


def test_parallax_motion_is_a_head():
    samples = _samples(flat=False)
    verdicts = [_verdict()]
    ev = presentation.examine(verdicts, samples)
    assert len(ev) == 1 and not ev[0].flat and ev[0].parallax >= presentation.FLAT_BELOW
    assert not presentation.refuse_flat(verdicts, ev)
    assert verdicts[0].found and verdicts[0].confidence == 0.8


def test_motion_on_a_single_frame_is_not_proven_3d():
    samples = _samples(flat=False)
    # Only the rest frame and one other inside the motion's window.
    v = Verdict(1, True, 0.8, 2.0, Event(0.0, 0.06, 0.13, 24.0, 1.0))
    ev = presentation.examine([v], samples[:2])
    assert ev[0].frames < presentation.MIN_FRAMES and ev[0].flat


def test_mouth_and_blink_are_not_judged_for_parallax():
    samples = _samples(flat=True)
    for action in (4, 5):
        v = Verdict(action, True, 0.8, 2.0, Event(0.0, 0.5, 1.0, 1.0, 1.0))
        assert presentation.examine([v], samples) == []


def _crop_with_edges(left: bool, right: bool, wobble: float = 0.0, slope: float = 0.0) -> np.ndarray:
    """A face-crop-like image (noise texture) with a dark vertical bezel
    edge in the left/right margin; ``wobble`` bends the edge like hair."""
    g = _texture(3).astype(np.float32) * 0.4 + 90
    y = np.arange(SIDE)
    for on, x0, sign in ((left, 30, -1), (right, SIDE - 31, 1)):
        if not on:
            continue
        edge = x0 + slope * (y - SIDE / 2) + wobble * np.sin(y / 9.0)
        for row in y:
            e = int(round(edge[row]))
            if sign < 0:
                g[row, :max(e, 0)] = 15
            else:
                g[row, min(e, SIDE):] = 15
    return np.clip(g, 0, 255).astype(np.uint8)


def test_border_framing_both_sides_is_a_screen():
    assert border.framed(_crop_with_edges(True, True))
    assert border.framed(_crop_with_edges(True, True, slope=0.15))   # a tilted phone


def test_border_on_one_side_or_wobbly_is_not():
    assert not border.framed(_crop_with_edges(True, False))
    assert not border.framed(_crop_with_edges(False, True))
    assert not border.framed(_crop_with_edges(False, False))
    assert not border.framed(_crop_with_edges(True, True, wobble=3.0))  # hair, not a bezel


def test_screen_share_and_refuse_all():
    framed = [cv2.cvtColor(_crop_with_edges(True, True), cv2.COLOR_GRAY2BGR)] * 6
    plain = [cv2.cvtColor(_crop_with_edges(False, False), cv2.COLOR_GRAY2BGR)] * 6
    mk = lambda crops: [Sample(t=i / 8, found=True, crop=c) for i, c in enumerate(crops)]  # noqa: E731
    assert presentation.screen_share(mk(framed)) == 1.0
    assert presentation.screen_share(mk(plain)) == 0.0
    verdicts = [Verdict(4, True, 0.9, 2.0), Verdict(5, False, 0.2, 0.4)]
    presentation.refuse_all(verdicts)
    assert [v.found for v in verdicts] == [False, False]
    assert all(v.confidence < 0.5 for v in verdicts) and verdicts[1].confidence <= 0.2


@pytest.mark.parametrize("name", QUICK)
def test_attack_clip_is_refused(name, liveness_models):
    a = next(x for x in ATTACKS if x.name == name)
    try:
        data = a.video()
    except MissingClip as exc:
        pytest.skip(str(exc))
    body = live_detect(data, a.actions)
    vr = body["video-result"]
    warnings = {w["warningCode"] for w in body["warning-list"]}
    assert vr["alive"] is False
    assert 7 in warnings
    assert all(x["confidence"] < 0.5 for x in vr["actions"])
