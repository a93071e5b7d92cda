"""The numpy pose solver (chalicelib/liveness/pose.py) against OpenCV.

OpenCV is a test-only dependency: cv2.solvePnP (SOLVEPNP_ITERATIVE) and
cv2.Rodrigues are the oracle, and ``head_pose_cv2`` (testkit/heads.py) is the
OpenCV-based head_pose() that geometry.py used before.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from chalicelib.liveness import geometry, pose
from chalicelib.liveness.geometry import _MODEL, MESH_IDX, turn_ratio
from testkit.heads import CAM, H, W
from testkit.heads import angles_cv2 as _angles_cv2
from testkit.heads import head as _head
from testkit.heads import head_pose_cv2 as _head_pose_cv2
from testkit.heads import mesh_points as _mesh_points
from testkit.heads import scene as _scene

NAN = float("nan")


def _rmse(img, rvec, tvec) -> float:
    return pose.reprojection_rmse(_MODEL, img, CAM, rvec, tvec)


def test_rodrigues_matches_opencv():
    rng = np.random.default_rng(0)
    vecs = [np.zeros(3), np.array([1e-12, 0, 0]), np.array([0, 0, np.pi]),
            np.array([0, np.pi - 1e-7, 0])]
    vecs += [rng.normal(size=3) * rng.uniform(0, 3.1) for _ in range(500)]
    for v in vecs:
        r = pose.rodrigues(v)
        assert np.allclose(r, cv2.Rodrigues(v)[0], atol=1e-12)
        back = pose.rotation_vector(r)
        # The vector may differ only by the sign of a 180-degree turn.
        assert np.allclose(pose.rodrigues(back), r, atol=1e-9)
        if np.linalg.norm(v) < 3.1:
            assert np.allclose(back, cv2.Rodrigues(r)[0], atol=1e-9)
            assert np.allclose(back.ravel(), v, atol=1e-9)
    # A slightly non-orthogonal matrix is projected onto a rotation first.
    r = cv2.Rodrigues(np.array([0.2, -0.4, 0.1]))[0] * 1.01
    assert np.allclose(pose.rotation_vector(r), cv2.Rodrigues(r)[0], atol=1e-9)


def test_jacobian_matches_central_differences():
    rng = np.random.default_rng(1)
    img, _ = _scene(rng)
    prob = pose._Problem(_MODEL, img, W, W, W / 2, H / 2)
    for p in ([0.3, -0.5, 0.2, 10, -20, 2000.0], [0, 0, 0, 0, 0, 1500.0],
              [1e-6, 2e-6, 0, 50, 30, 900.0]):
        p = np.array(p)
        _, jac = prob.residuals(p, jac=True)
        num = np.zeros_like(jac)
        for i in range(6):
            e = np.zeros(6)
            e[i] = 1e-6 * max(1.0, abs(p[i]))
            num[:, i] = (prob.residuals(p + e) - prob.residuals(p - e)) / (2 * e[i])
        assert np.abs(jac - num).max() < 1e-5 * np.abs(jac).max()


@pytest.mark.parametrize("noise,shape", [(0.5, 0.0), (2.0, 0.0), (1.0, 0.08)])
def test_solve_pnp_matches_opencv_on_random_heads(noise, shape):
    rng = np.random.default_rng(int(noise * 10 + shape * 100))
    n, close, worst_extra = 1000, 0, 0.0
    for _ in range(n):
        img, _ = _scene(rng, noise, shape)
        ok_cv, r_cv, t_cv = cv2.solvePnP(_MODEL, img, CAM, None, flags=cv2.SOLVEPNP_ITERATIVE)
        ok, r, t = pose.solve_pnp(_MODEL, img, CAM)
        assert ok_cv and ok
        (y_cv, p_cv), (y, p) = _angles_cv2(r_cv), geometry._angles(r)
        close += abs(y - y_cv) <= 0.5 and abs(p - p_cv) <= 0.5
        worst_extra = max(worst_extra, _rmse(img, r, t) - _rmse(img, r_cv, t_cv))
    assert close >= 0.99 * n, f"only {close}/{n} poses within 0.5 degree of OpenCV"
    assert worst_extra < 0.01, f"reprojection error up to {worst_extra:.4f} px worse than OpenCV"


def test_solve_pnp_with_extrinsic_guess_matches_opencv():
    rng = np.random.default_rng(7)
    n, close, worst_extra, diverged = 600, 0, 0.0, 0
    for i in range(n):
        img, cheeks = _scene(rng, 1.0, 0.05)
        _, r_true, t_true = cv2.solvePnP(_MODEL, img, CAM, None, flags=cv2.SOLVEPNP_ITERATIVE)
        if i % 2:
            # head_pose's restart: a pure yaw from the 2-D cue, the first fit's t.
            cue = turn_ratio(_mesh_points(img, cheeks))
            rv0 = np.array([[0.0], [-np.arcsin(np.clip(cue, -1, 1))], [0.0]])
            tv0 = t_true.copy()
        else:  # a start off by up to ~17 degrees and 10 % of the distance
            rv0 = r_true + rng.uniform(-0.3, 0.3, (3, 1))
            tv0 = t_true * rng.uniform(0.9, 1.1, (3, 1))
        ok_cv, r_cv, t_cv = cv2.solvePnP(_MODEL, img, CAM, None, rv0.copy(), tv0.copy(),
                                         useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        ok, r, t = pose.solve_pnp(_MODEL, img, CAM, rv0, tv0)
        assert ok_cv and ok
        (y_cv, p_cv), (y, p) = _angles_cv2(r_cv), geometry._angles(r)
        close += abs(y - y_cv) <= 0.5 and abs(p - p_cv) <= 0.5
        e_cv = _rmse(img, r_cv, t_cv)
        if e_cv < 30:
            worst_extra = max(worst_extra, _rmse(img, r, t) - e_cv)
        else:
            # A pure-yaw start far from a pitched and rolled head can leave
            # OpenCV itself off after its 20 tries (60+ px); where two
            # solvers wander off to from there is chaotic, not compared.
            diverged += 1
    assert close >= 0.99 * n, f"only {close}/{n} guided fits within 0.5 degree of OpenCV"
    print(f"guided: {close}/{n} within 0.5 degree, {diverged} OpenCV fits off (> 30 px)")
    assert worst_extra < 0.01, f"reprojection error up to {worst_extra:.4f} px worse than OpenCV"


def _agree(ref, got, tol) -> bool:
    """Same NaNs, and the numbers within ``tol`` degrees."""
    return all(np.isnan(a) == np.isnan(b) and (np.isnan(a) or abs(a - b) <= tol)
               for a, b in zip(ref, got, strict=True))


def _in_front(img, size) -> bool:
    """Whether OpenCV's first fit puts the head in front of the camera. Near
    profile the 6-point fit can land on a twin behind it (t_z < 0); the
    restart from there is a chaotic 20-try descent in both solvers."""
    w, h = size
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    _, _, tvec = cv2.solvePnP(_MODEL, img, cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
    return tvec[2, 0] > 0


def test_head_pose_matches_opencv_version_on_random_heads():
    """The whole of head_pose, including the mirror-solution restart (the
    generic head with 8 % shape noise makes the restart happen). Where
    OpenCV's fit is physically possible (the head in front of the camera)
    the two agree; where it put the head behind the camera, head_pose
    deliberately refits (see the ground-truth test below)."""
    rng = np.random.default_rng(11)
    n, front, front_close, restarts = 1500, 0, 0, 0
    for _ in range(n):
        img, cheeks = _scene(rng, 1.0, 0.08)
        pts = _mesh_points(img, cheeks)
        ref = _head_pose_cv2(pts, (W, H))
        got = geometry.head_pose(pts, (W, H))
        if _in_front(img, (W, H)):
            front += 1
            front_close += _agree(ref, got, 0.5)
        cue = turn_ratio(pts)
        _, rv, _ = cv2.solvePnP(_MODEL, img, CAM, None, flags=cv2.SOLVEPNP_ITERATIVE)
        restarts += abs(cue) > 0.15 and np.sign(cue) != np.sign(_angles_cv2(rv)[0])
    print(f"head_pose synthetic: in front of the camera {front_close}/{front}; {restarts} restarts")
    assert front >= 0.5 * n
    assert front_close == front, f"{front - front_close}/{front} well-posed head poses differ"
    assert restarts >= 10, "the mirror restart was not exercised"


def _truth(rng, noise=1.0, shape=0.08):
    """Mesh points of a random head and its true (yaw, pitch)."""
    img6, cheeks, true = _head(rng, noise, shape)
    return _mesh_points(img6, cheeks), true


def test_head_pose_against_ground_truth_beats_the_opencv_version():
    """1,500 random heads (8 % shape noise, 1 px landmark noise) with known
    pose. OpenCV's iterative fit puts ~40 % of them behind the camera and
    then answers a wrong yaw (and often no pitch); head_pose refits those in
    front. Measured: yaw within 10 degrees 99.2 % vs 75.8 %, pitch missing
    0.7 % vs 19 %."""
    rng = np.random.default_rng(11)
    heads = [_truth(rng) for _ in range(1500)]
    true = np.array([t for _, t in heads])
    ours = np.array([geometry.head_pose(p, (W, H)) for p, _ in heads])
    ref = np.array([_head_pose_cv2(p, (W, H)) for p, _ in heads])
    turned = np.abs(true[:, 0]) > 10

    def within(v, k, deg):
        return np.mean(np.abs(v[:, k] - true[:, k]) < deg)  # NaN counts as a miss
    print(f"yaw within 10 deg: ours {within(ours, 0, 10):.3f}, OpenCV {within(ref, 0, 10):.3f}; "
          f"pitch within 5 deg: ours {within(ours, 1, 5):.3f}, OpenCV {within(ref, 1, 5):.3f}")
    assert within(ours, 0, 10) >= 0.97
    assert within(ours, 0, 10) > within(ref, 0, 10) + 0.1
    assert np.mean(np.sign(ours[turned, 0]) == np.sign(true[turned, 0])) >= 0.995
    assert within(ours, 1, 5) >= 0.85
    assert np.mean(np.isnan(ours[:, 1])) <= 0.02


@pytest.mark.parametrize("img", [
    np.full((6, 2), np.nan),
    np.array([[1.0, 2], [3, 4], [np.inf, 6], [7, 8], [9, 10], [11, 12]]),
    np.zeros((6, 2)),                               # all on one point
    np.full((6, 2), 200.0),
    np.column_stack([np.linspace(0, 500, 6), np.linspace(100, 300, 6)]),  # collinear
    np.column_stack([np.full(6, 320.0), np.linspace(0, 400, 6)]),          # vertical line
])
def test_degenerate_points_give_nan_without_raising(img):
    pts = np.zeros((468, 3))
    pts[MESH_IDX, :2] = img
    yaw, pitch = geometry.head_pose(pts, (W, H))
    assert np.isnan(yaw) and np.isnan(pitch)
    assert pose.solve_pnp(_MODEL, img, CAM)[0] is False
    assert pose.solve_pnp(_MODEL, img, CAM, np.zeros(3), np.array([0, 0, 1000.0]))[0] is False


def test_degenerate_solver_inputs_are_refused():
    img, _ = _scene(np.random.default_rng(3))
    planar = _MODEL.copy()
    planar[:, 2] = 0
    assert pose.solve_pnp(planar, img, CAM)[0] is False        # no DLT for a plane
    assert pose.solve_pnp(_MODEL[:5], img[:5], CAM)[0] is False  # DLT needs 6
    assert pose.solve_pnp(_MODEL, img[:5], CAM)[0] is False     # count mismatch
    assert pose.solve_pnp(_MODEL, img, np.zeros((3, 3)))[0] is False
    assert pose.solve_pnp(_MODEL, img, CAM, np.full(3, np.nan), np.ones(3))[0] is False
    assert pose.solve_pnp(_MODEL, img, CAM)[0] is True


# --- real Face Mesh points -----------------------------------------------------

# (clip, start s, end s, step s): turns both ways (d3, Katie), a nod (d9), and a
# webcam clip turning to profile (real.mov, where the mirror restart matters).
REAL = [("liveportrait/d3.mp4", 0.0, 8.0, 0.4),
        ("talking/WDA_KatieHill_000.mp4", 0.8, 4.2, 0.4),
        ("liveportrait/d9.mp4", 9.2, 13.0, 0.5),
        ("replay/real.mov", 5.8, 9.8, 0.25)]


def _real_points():
    from chalicelib.liveness.mediapipe import get_models, roi_from_face
    from testkit.clips import Clip, MissingClip

    det, mesh = get_models()
    out = []
    for rel, t0, t1, step in REAL:
        try:
            clip = Clip.load(rel)
        except MissingClip as exc:
            pytest.skip(str(exc))
        for t in np.arange(t0, t1, step):
            i = int(round(t * clip.fps))
            if i >= len(clip.frames):
                break
            bgr = clip.frames[i]
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            faces = det.detect(rgb)
            if not faces:
                continue
            m = mesh.run(rgb, roi_from_face(faces[0]))
            if m is None or m.presence < 0.5:
                continue
            h, w = bgr.shape[:2]
            out.append((f"{rel}@{t:.2f}", m.points, (w, h)))
    return out


def test_head_pose_matches_opencv_version_on_real_frames(liveness_models):
    frames = _real_points()
    assert len(frames) >= 40, f"only {len(frames)} frames with a face"
    close, front, front_bad, nan_bad, yaws = 0, 0, [], [], []
    for name, pts, size in frames:
        ref = _head_pose_cv2(pts, size)
        got = geometry.head_pose(pts, size)
        ok = _agree(ref, got, 1.0)
        close += ok
        if np.isnan(ref[0]) != np.isnan(got[0]):
            nan_bad.append((name, ref, got))
        if _in_front(pts[MESH_IDX, :2].astype(np.float64), size):
            front += 1
            if not ok:
                front_bad.append((name, ref, got))
        if not np.isnan(ref[0]):
            yaws.append(ref[0])
    print(f"head_pose real: {close}/{len(frames)} within 1 degree; "
          f"in front of the camera {front - len(front_bad)}/{front}")
    assert not nan_bad, nan_bad
    # Where OpenCV's fit is physically possible the two agree; the others
    # (head behind the camera, near profile) are refitted on purpose.
    assert not front_bad, front_bad
    assert front >= 0.7 * len(frames)
    # The frames must cover real turns both ways, or this proves little.
    assert min(yaws) < -10 and max(yaws) > 10, (min(yaws), max(yaws))
