"""Camera pose from 3-D/2-D point pairs in numpy (replaces cv2.solvePnP with
SOLVEPNP_ITERATIVE and cv2.Rodrigues, so the Lambda package needs no OpenCV).

The method follows OpenCV's iterative PnP (calib3d findExtrinsicCameraParams2):
- no lens distortion; image points are normalised with the intrinsics;
- without a guess, a DLT on the normalised image points gives [R|t] for a
  non-planar object, R is projected onto SO(3) with an SVD and t rescaled;
- Levenberg-Marquardt over (rvec, tvec) minimises the pixel reprojection
  error with an analytic Jacobian, with OpenCV 5's LevMarq schedule (damping
  lambda * diag(J^T J) clamped to [1e-6, 1e32], start 1e-4, step-quality
  update, geodesic acceleration, at most 20 tries, stop on a relative energy
  change, a step or a gradient below 1e-6).
Following the same steps from the same start matters here: a 6-point head
fit near 40 degrees of yaw has two minima, and the solver has to end in the
same one as the OpenCV version did.
"""
from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

_EYE = np.eye(3)
MAX_TRIES = 20
_MIN_DIAG, _MAX_DIAG, _MAX_LAMBDA = 1e-6, 1e32, 1e32
_TOL = 1e-6
_H_GEO, _GEO_SCALE = 1e-4, 0.5


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def rodrigues(rvec: ArrayLike) -> np.ndarray:
    """3x3 rotation of a rotation vector (axis * angle in radians)."""
    x, y, z = (float(v) for v in np.asarray(rvec, np.float64).reshape(3))
    theta = math.sqrt(x * x + y * y + z * z)
    if theta < 2.220446049250313e-16:
        return _EYE.copy()
    x, y, z = x / theta, y / theta, z / theta
    c, s = math.cos(theta), math.sin(theta)
    c1 = 1.0 - c
    return np.array([[c + c1 * x * x, c1 * x * y - s * z, c1 * x * z + s * y],
                     [c1 * x * y + s * z, c + c1 * y * y, c1 * y * z - s * x],
                     [c1 * x * z - s * y, c1 * y * z + s * x, c + c1 * z * z]])


def rotation_vector(rmat: ArrayLike, orthonormal: bool = False) -> np.ndarray:
    """Inverse of :func:`rodrigues`: the (3, 1) rotation vector of a 3x3
    matrix, which is first projected onto the nearest rotation (skipped when
    the caller says it is one already)."""
    rot = np.asarray(rmat, np.float64).reshape(3, 3)
    if not orthonormal:
        u, _, vt = np.linalg.svd(rot)
        rot = u @ vt
    w = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    s = 0.5 * math.sqrt(float(w @ w))
    c = min(1.0, max(-1.0, 0.5 * (np.trace(rot) - 1.0)))
    theta = math.atan2(s, c)
    if s >= 1e-5:
        return (w * (theta / (2.0 * s))).reshape(3, 1)
    if c > 0:
        return np.zeros((3, 1))
    # Near 180 degrees: (R + I) / 2 ~ k k^T; the largest column gives k.
    b = 0.5 * (rot + _EYE)
    j = int(np.argmax(np.diag(b)))
    k = b[:, j] / math.sqrt(max(b[j, j], 1e-300))
    if k @ w < 0:
        k = -k
    return (k * theta).reshape(3, 1)


def _left_jacobian(r: np.ndarray) -> np.ndarray:
    """d(exp(r) x)/dr = -[exp(r) x]_x @ J_l(r) (SO(3) left Jacobian)."""
    t2 = float(r @ r)
    k = _skew(r)
    if t2 < 1e-8:
        a, b = 0.5 - t2 / 24.0, 1.0 / 6.0 - t2 / 120.0
    else:
        t = math.sqrt(t2)
        a = (1.0 - math.cos(t)) / t2
        b = (t - math.sin(t)) / (t2 * t)
    return _EYE + a * k + b * (k @ k)


class _Problem:
    """Residuals (projected - observed, pixels, interleaved u0 v0 u1 v1 ...)
    and their Jacobian with respect to (rvec, tvec)."""

    def __init__(self, obj: np.ndarray, img: np.ndarray, fx: float, fy: float, cx: float,
                 cy: float) -> None:
        self.obj, self.img = obj, img
        self.fx, self.fy, self.cx, self.cy = fx, fy, cx, cy
        self.n = len(obj)
        self.f = np.array([fx, fy])
        self.c_minus_img = np.array([cx, cy]) - img

    @overload
    def residuals(self, p: np.ndarray, jac: Literal[False] = ...) -> np.ndarray: ...
    @overload
    def residuals(self, p: np.ndarray, jac: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...
    def residuals(self, p: np.ndarray,
                  jac: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        r, t = p[:3], p[3:]
        xr = self.obj @ rodrigues(r).T
        xc = xr + t
        iz = 1.0 / xc[:, 2]
        xy = xc[:, :2] * iz[:, None]
        res = (xy * self.f + self.c_minus_img).ravel()
        if not jac:
            return res
        xn, yn = xy[:, 0], xy[:, 1]
        fu, fv = self.fx * iz, self.fy * iz
        jm = np.empty((2 * self.n, 6))
        # Translation: d(u, v)/d(Xc).
        jm[0::2, 3], jm[0::2, 4], jm[0::2, 5] = fu, 0.0, -fu * xn
        jm[1::2, 3], jm[1::2, 4], jm[1::2, 5] = 0.0, fv, -fv * yn
        # Rotation: a^T (-[Xr]_x) = (Xr x a)^T for each row a of d(u, v)/d(Xc),
        # then the left Jacobian of the rotation vector.
        x, y, z = xr[:, 0], xr[:, 1], xr[:, 2]
        jr = np.empty((2 * self.n, 3))
        jr[0::2, 0], jr[0::2, 1], jr[0::2, 2] = -fu * xn * y, fu * (z + xn * x), -fu * y
        jr[1::2, 0], jr[1::2, 1], jr[1::2, 2] = -fv * (yn * y + z), fv * yn * x, fv * x
        jm[:, :3] = jr @ _left_jacobian(r)
        return res, jm


def _inverse(a: np.ndarray) -> np.ndarray | None:
    """Inverse of the damped normal matrix (pseudo-inverse if singular)."""
    try:
        inv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(a)
    return inv if np.all(np.isfinite(inv)) else None


def _levmarq(prob: _Problem, p: np.ndarray) -> np.ndarray:
    """OpenCV 5 LevMarq (dense, geodesic) on ``p``; answers the last
    accepted parameters."""
    res, jm = prob.residuals(p, jac=True)
    energy = float(res @ res)
    if not math.isfinite(energy):
        return p
    lam, up = 1e-4, 2.0
    tries = 0
    while True:
        jtj = jm.T @ jm
        jtb = jm.T @ res
        small_grad = float(np.max(np.abs(jtb))) < _TOL
        diag = np.diag(jtj).copy()
        accepted = done = False
        while not accepted and not done:
            lm_diag = np.minimum(np.maximum(diag * lam, _MIN_DIAG), _MAX_DIAG)
            a = jtj + np.diag(lm_diag)
            a_inv = _inverse(a)
            dx = None if a_inv is None else -(a_inv @ jtb)
            change = -1.0
            if dx is not None:
                jac_change = -0.5 * float(dx @ (jtb - lm_diag * dx))
                step2 = float(dx @ dx)
                # Geodesic acceleration: second directional derivative along dx.
                bv = prob.residuals(p + _H_GEO * dx)
                jtrvv = (jm.T @ bv + jtb * (_H_GEO - 1.0) + lm_diag * dx * _H_GEO) / _H_GEO ** 2
                xgeo = -(a_inv @ jtrvv)
                if step2 > 0 and math.sqrt(float(xgeo @ xgeo) / step2) < 1.0:
                    dx = dx + _GEO_SCALE * xgeo
                probe = p + dx
                new_res = prob.residuals(probe)
                new_energy = float(new_res @ new_res)
                if not math.isfinite(new_energy):
                    return p
                change = energy - new_energy
            if change < 0:
                lam *= up
                up *= 2.0
            else:
                accepted = True
                if jac_change != 0:
                    q = change / jac_change
                    lam *= max(1.0 / 3.0, 1.0 - (2.0 * q - 1.0) ** 3)
                else:
                    lam *= 1.0 / 3.0
                up = 2.0
                small_step = step2 < _TOL
                small_delta = new_energy > 0 and change / new_energy < _TOL
                p, res, energy = probe, new_res, new_energy
            tries += 1
            done = (tries >= MAX_TRIES or lam >= _MAX_LAMBDA
                    or (accepted and (small_grad or small_step or small_delta)))
        if done:
            return p
        res, jm = prob.residuals(p, jac=True)


def _dlt(obj: np.ndarray, norm_img: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Initial (rvec, tvec) of a non-planar object by DLT on normalised image
    points (OpenCV's construction); None when degenerate."""
    n = len(obj)
    L = np.zeros((2 * n, 12))
    x, y = -norm_img[:, 0:1], -norm_img[:, 1:2]
    hom = np.hstack([obj, np.ones((n, 1))])
    L[0::2, 0:4] = hom
    L[0::2, 8:12] = x * hom
    L[1::2, 4:8] = hom
    L[1::2, 8:12] = y * hom
    _, _, vt = np.linalg.svd(L)
    rt = vt[-1].reshape(3, 4)
    rr, tt = rt[:, :3], rt[:, 3]
    if np.linalg.det(rr) < 0:
        rr, tt = -rr, -tt
    sc = float(np.linalg.norm(rr))
    if not sc > 2.220446049250313e-16:
        return None
    u, _, vt3 = np.linalg.svd(rr)
    rot = u @ vt3
    return rotation_vector(rot, orthonormal=True).ravel(), tt * (math.sqrt(3.0) / sc)


def _image_degenerate(img: np.ndarray) -> bool:
    """All points on one line (or one point): no pose can be told."""
    d = img - img.mean(0)
    a, b, c = float(d[:, 0] @ d[:, 0]), float(d[:, 0] @ d[:, 1]), float(d[:, 1] @ d[:, 1])
    # Eigenvalues of the 2x2 scatter [[a, b], [b, c]].
    m, r = 0.5 * (a + c), math.hypot(0.5 * (a - c), b)
    return not m + r > 1e-18 or (m - r) / (m + r) < 1e-12


def solve_pnp(object_pts: ArrayLike, image_pts: ArrayLike, camera_matrix: ArrayLike,
              rvec0: ArrayLike | None = None,
              tvec0: ArrayLike | None = None) -> tuple[bool, np.ndarray | None, np.ndarray | None]:
    """(ok, rvec (3, 1), tvec (3, 1)) minimising the reprojection error of
    ``object_pts`` (N x 3) onto ``image_pts`` (N x 2) through the pinhole
    ``camera_matrix`` (no distortion). With ``rvec0``/``tvec0`` the fit
    starts there (OpenCV's useExtrinsicGuess), else from a DLT (needs N >= 6
    non-coplanar object points). Degenerate or non-finite input answers
    ``(False, None, None)`` instead of raising."""
    fail = (False, None, None)
    try:
        obj = np.asarray(object_pts, np.float64).reshape(-1, 3)
        img = np.asarray(image_pts, np.float64).reshape(-1, 2)
        cam = np.asarray(camera_matrix, np.float64).reshape(3, 3)
    except (TypeError, ValueError):
        return fail
    n = len(obj)
    if len(img) != n or n < 4 or not (np.all(np.isfinite(obj)) and np.all(np.isfinite(img))
                                      and np.all(np.isfinite(cam))):
        return fail
    fx, fy, cx, cy = cam[0, 0], cam[1, 1], cam[0, 2], cam[1, 2]
    if fx == 0 or fy == 0 or _image_degenerate(img):
        return fail
    prob = _Problem(obj, img, fx, fy, cx, cy)
    if rvec0 is not None and tvec0 is not None:
        p0 = np.concatenate([np.asarray(rvec0, np.float64).reshape(3),
                             np.asarray(tvec0, np.float64).reshape(3)])
        if not np.all(np.isfinite(p0)):
            return fail
    else:
        c = obj - obj.mean(0)
        w = np.linalg.eigvalsh(c.T @ c)  # ascending
        if n < 6 or not w[1] > 0 or w[0] / w[1] < 1e-3:
            return fail  # planar object (OpenCV's homography start is not needed here)
        norm_img = np.column_stack([(img[:, 0] - cx) / fx, (img[:, 1] - cy) / fy])
        try:
            init = _dlt(obj, norm_img)
        except np.linalg.LinAlgError:
            return fail
        if init is None:
            return fail
        p0 = np.concatenate(init)
    try:
        with np.errstate(all="ignore"):
            p = _levmarq(prob, p0)
    except np.linalg.LinAlgError:
        return fail
    if not np.all(np.isfinite(p)):
        return fail
    return True, p[:3].reshape(3, 1).copy(), p[3:].reshape(3, 1).copy()


def reprojection_rmse(object_pts: ArrayLike, image_pts: ArrayLike, camera_matrix: ArrayLike,
                      rvec: ArrayLike, tvec: ArrayLike) -> float:
    """Root mean square pixel distance of the projected object points."""
    cam = np.asarray(camera_matrix, np.float64)
    prob = _Problem(np.asarray(object_pts, np.float64).reshape(-1, 3),
                    np.asarray(image_pts, np.float64).reshape(-1, 2),
                    cam[0, 0], cam[1, 1], cam[0, 2], cam[1, 2])
    p = np.concatenate([np.ravel(rvec), np.ravel(tvec)]).astype(np.float64)
    res = prob.residuals(p)
    return float(math.sqrt(res @ res / prob.n))
