"""Presentation-attack clips synthesised deterministically from the stills in
../shared/datasets/stills (and, for the phone replay, a real clip from
../shared/datasets/liveness), for tests/liveness and bench/liveness_attacks.

Nothing is stored in the repository: clips are rendered with OpenCV into a
cache folder (``FRS_ATTACK_CACHE`` or /tmp/frs-liveness-attacks-v<N>), keyed
by the case name and the generator version, so the bench's three runs
render each clip once.

Scene: a pinhole camera (focal length = frame width, 512x512, 25 fps, like
the head-pose model assumes) looks at a static room-like background; a
printed photo (or a phone) is a rigid plane (or a sheet bent into a
cylinder) held in front of it and moved by the attacker's hand: tilted about
its vertical axis to fake a head turn, about its horizontal axis to fake a
nod, with a little hand tremor always, and in some classes strong jitter, a
slow zoom (moved toward the camera) or a sideways slide. Every frame gets
lighting that follows the tilt, sensor noise and MPEG-4 compression.

The service's mesh reads a tilted picture's yaw with either sign (it
depends on the portrait and the tilt), so an attacker asks for whichever
turn it gives: every turn clip is asked both ways (``_tilt_cases``).
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from testkit.clips import REPO, Clip, MissingClip, original

STILLS = REPO.parent / "shared" / "datasets" / "stills"
VERSION = 1               # part of the cache folder's name: bump it when the renderer changes
SIZE = 512
FPS = 25.0
FOCAL = float(SIZE)
FACE_PX = 160           # face width at rest in the frame
CACHE = Path(os.environ.get("FRS_ATTACK_CACHE")
             or Path(tempfile.gettempdir()) / f"frs-liveness-attacks-v{VERSION}")

# Portraits: frontal, one face, varied people (deepface unit-test set and the
# face_recognition examples, both MIT).
PORTRAITS = ["deepface/img1.jpg", "deepface/img2.jpg", "deepface/img6.jpg",
             "deepface/img11.jpg", "deepface/img17.jpg", "deepface/img22.jpg",
             "deepface/img30.jpg", "deepface/img47.jpg", "face_recognition/obama.jpg",
             "face_recognition/biden.jpg"]
ANGLES = [20, 32, 45, 57, 70]


@dataclass(frozen=True)
class Pose:
    """Rigid pose of the held plane: rotation about its own vertical axis
    (yaw, degrees; + = image-right edge away), horizontal axis (pitch; + =
    top edge away) and the view axis (roll), shift in frame pixels at the
    rest distance, and distance factor (< 1 = closer)."""
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    dist: float = 1.0


@dataclass
class Attack:
    name: str
    kind: str            # attack class reported by the bench
    actions: str
    build: Callable[[], bytes]
    angle: float = 0.0   # peak tilt (degrees), 0 when not a tilt
    portrait: str = ""

    def video(self) -> bytes:
        return self.build()


# --- sources ---------------------------------------------------------------

def _still(rel: str) -> np.ndarray:
    p = STILLS / rel
    if not p.is_file():
        raise MissingClip(f"dataset still {p} is absent (../shared/datasets is only on dev/CI machines)")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    assert img is not None, p
    return img


@functools.lru_cache(maxsize=16)
def _portrait(rel: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The still and its largest face (centre x, centre y, width) as BlazeFace
    finds it (only to frame the print; this OpenCV build has no cascade)."""
    from chalicelib.liveness.mediapipe import get_models
    img = _still(rel)
    faces = get_models()[0].detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    assert faces, f"no face in {rel}"
    b = faces[0].box
    return img, ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, float(b[2] - b[0]))


def _background(seed: int) -> np.ndarray:
    """A static room-like scene: a wall gradient, a few furniture blocks and
    texture, blurred like an out-of-focus background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    base = rng.uniform(80, 200, 3)
    grad = rng.uniform(-50, 50, 3)
    img = base[None, None, :] + grad[None, None, :] * (0.6 * xx + 0.4 * yy)[..., None]
    for _ in range(7):
        x0, y0 = rng.integers(-100, SIZE, 2)
        w, h = rng.integers(40, 260, 2)
        img[max(0, y0):y0 + h, max(0, x0):x0 + w] = rng.uniform(30, 230, 3)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 3.0)
    return np.clip(img, 0, 255).astype(np.uint8)


# --- the print ---------------------------------------------------------------

def _print(rel: str, style: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(print image BGR, alpha mask, face (cx, cy, w) in print pixels).

    ``border``: the photo around the face (2.1 face widths by 2.6) on white
    paper with a margin, its edges in view; ``noborder``: a big print (6 by 6
    face widths, the photo extended by its edge pixels) whose edges stay outside
    the frame when held flat; ``crop``: cut to an oval around the face, the
    real background all around."""
    img, (cx, cy, fw) = _portrait(rel)
    half_w, half_h = {"border": (1.05, 1.3), "noborder": (3.0, 3.0), "crop": (0.72, 0.95)}[style]
    x0, x1 = int(cx - half_w * fw), int(cx + half_w * fw)
    y0, y1 = int(cy - half_h * fw), int(cy + half_h * fw)
    pad = max(0, -x0, -y0, x1 - img.shape[1], y1 - img.shape[0])
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    photo = big[y0 + pad:y1 + pad, x0 + pad:x1 + pad].copy()
    # Print resolution and ink: a little blur, compressed contrast.
    photo = cv2.GaussianBlur(photo, (0, 0), 0.8)
    photo = (photo.astype(np.float32) * 0.85 + 20).clip(0, 255).astype(np.uint8)
    # Print at about the resolution it is seen at (1.5x oversampled).
    k = 1.5 * FACE_PX / fw
    photo = cv2.resize(photo, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    cx, cy, fw, x0, y0 = cx * k, cy * k, fw * k, x0 * k, y0 * k
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    face = (cx - x0, cy - y0, fw)
    if style == "border":
        m = int(0.12 * fw)
        photo = cv2.copyMakeBorder(photo, m, m, m, m, cv2.BORDER_CONSTANT, value=(235, 235, 235))
        alpha = np.full(photo.shape[:2], 255, np.uint8)
        face = (face[0] + m, face[1] + m, fw)
    elif style == "crop":
        alpha = np.zeros(photo.shape[:2], np.uint8)
        h, w = alpha.shape
        cv2.ellipse(alpha, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0, 360, 255, -1)
    return photo, alpha, face


# --- rendering ---------------------------------------------------------------

def _rot(yaw: float, pitch: float, roll: float) -> np.ndarray:
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _project(pts3: np.ndarray, pose: Pose, z0: float, scale: float) -> np.ndarray:
    """Plane points (print pixels about the face centre, z toward the back)
    in world units -> frame pixels."""
    r = _rot(pose.yaw, pose.pitch, pose.roll)
    p = pts3 * scale @ r.T
    p[:, 2] += z0 * pose.dist
    p[:, 0] += pose.dx * z0 / FOCAL
    p[:, 1] += pose.dy * z0 / FOCAL
    return np.stack([FOCAL * p[:, 0] / p[:, 2] + SIZE / 2, FOCAL * p[:, 1] / p[:, 2] + SIZE / 2], 1)


def _composite(frame: np.ndarray, layer: np.ndarray, alpha: np.ndarray, h: np.ndarray,
               dst: np.ndarray, gain: float) -> None:
    """Blend ``layer`` warped by ``h`` into ``frame``, inside ``dst``'s box only."""
    x0, y0 = np.floor(dst.min(0)).astype(int) - 1
    x1, y1 = np.ceil(dst.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, SIZE), min(y1, SIZE)
    if x1 <= x0 or y1 <= y0:
        return
    h = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ h
    size = (x1 - x0, y1 - y0)
    # Colour with replicated edges (no dark fringe), coverage from alpha.
    warped = cv2.warpPerspective(layer, h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpPerspective(alpha, h, size, flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255
    roi = frame[y0:y1, x0:x1]
    roi[:] = roi * (1 - a) + warped.astype(np.float32) * gain * a


def _render_plane(frame: np.ndarray, layer: np.ndarray, alpha: np.ndarray,
                  face: tuple[float, float, float], pose: Pose, bend: float) -> None:
    """Draw ``layer`` as a plane (``bend`` = 0) or as a sheet bent into a
    vertical cylinder of radius ``bend`` face widths (vertical strips)."""
    fx, fy, fw = face
    scale = 1.0 / fw                      # world unit = one face width
    z0 = FOCAL / FACE_PX                  # rest distance: face FACE_PX wide
    h_img, w_img = layer.shape[:2]
    gain = 0.75 + 0.25 * np.cos(np.radians(pose.yaw)) * np.cos(np.radians(pose.pitch))
    if bend <= 0:
        src = np.array([[0, 0], [w_img, 0], [w_img, h_img], [0, h_img]], np.float64)
        dst = _project(np.column_stack([src - (fx, fy), np.zeros(4)]), pose, z0, scale)
        _composite(frame, layer, alpha, cv2.getPerspectiveTransform(src.astype(np.float32),
                                                                   dst.astype(np.float32)), dst, gain)
        return
    radius = bend * fw
    edges = np.linspace(0, w_img, 25)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        # Strips overlap by 2 px so their anti-aliased edges leave no seams.
        a, b = max(0.0, a - 2), min(float(w_img), b + 2)
        xs = np.array([a, b, b, a]) - fx
        ys = np.array([0, 0, h_img, h_img]) - fy
        # Convex toward the camera: the sheet's sides curl away.
        th = xs / radius
        pts3 = np.column_stack([radius * np.sin(th), ys, radius * (1 - np.cos(th))])
        lo, hi = int(np.floor(a)), min(w_img, int(np.ceil(b)) + 1)
        src = np.array([[a - lo, 0], [b - lo, 0], [b - lo, h_img], [a - lo, h_img]], np.float32)
        dst = _project(pts3, pose, z0, scale).astype(np.float32)
        _composite(frame, np.ascontiguousarray(layer[:, lo:hi]), np.ascontiguousarray(alpha[:, lo:hi]),
                   cv2.getPerspectiveTransform(src, dst), dst, gain)


def _tremor(n: int, seed: int, deg: float, px: float) -> np.ndarray:
    """(n, 4) smooth hand tremor: yaw, pitch, roll (degrees), dx/dy (px)."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(0, 1, (n + 20, 5))
    k = np.hanning(15)
    k /= k.sum()
    sm = np.stack([np.convolve(raw[:, i], k, "same") for i in range(5)], 1)[10:10 + n]
    sm /= sm.std(0) + 1e-9
    return sm * np.array([deg, deg, deg, px, px])


def _profile(t: np.ndarray, peaks: list[float], hold: float = 0.4, move: float = 0.9,
             rest: float = 0.7) -> np.ndarray:
    """Tilt over time: from 0 to each peak and back (smooth), in turn."""
    out = np.zeros_like(t)
    start = rest
    for p in peaks:
        a = np.clip((t - start) / move, 0, 1)
        b = np.clip((t - start - move - hold) / move, 0, 1)
        s = lambda u: 0.5 - 0.5 * np.cos(np.pi * u)  # noqa: E731
        out += p * (s(a) - s(b))
        start += 2 * move + hold + 0.2
    return out


def _encode(name: str, frames: list[np.ndarray]) -> bytes:
    CACHE.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = CACHE / f"{name}.mp4"
    if not path.is_file():
        tmp = CACHE / f".{name}.{os.getpid()}.mp4"
        wr = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), FPS,
                             (SIZE, SIZE))
        for f in frames:
            wr.write(f)
        wr.release()
        os.replace(tmp, path)
    return path.read_bytes()


@dataclass(frozen=True)
class Scene:
    """One print attack: what is held and how it moves."""
    portrait: str
    style: str = "border"        # border / noborder / crop
    axis: str = "yaw"            # yaw (fake turn) or pitch (fake nod)
    peaks: tuple[float, ...] = (45.0,)
    jitter: float = 0.6          # tremor, degrees (and 2.5 px per degree)
    zoom: float = 0.0            # distance shrinks by this share over the clip
    slide: float = 0.0           # sideways travel, frame pixels, over the clip
    bend: float = 0.0            # cylinder radius in face widths (0 = flat)
    seconds: float = 4.0
    seed: int = 0


def render_print(scene: Scene) -> list[np.ndarray]:
    layer, alpha, face = _print(scene.portrait, scene.style)
    bg = _background(1000 + scene.seed)
    n = int(round(scene.seconds * FPS))
    t = np.arange(n) / FPS
    tilt = _profile(t, list(scene.peaks))
    trem = _tremor(n, scene.seed, scene.jitter, 2.5 * scene.jitter)
    rng = np.random.default_rng(scene.seed + 7)
    frames = []
    for i in range(n):
        u = t[i] / scene.seconds
        yaw = tilt[i] if scene.axis == "yaw" else 0.0
        pitch = tilt[i] if scene.axis == "pitch" else 0.0
        pose = Pose(yaw + trem[i, 0], pitch + trem[i, 1], trem[i, 2],
                    trem[i, 3] + scene.slide * (u - 0.5), trem[i, 4],
                    1.0 - scene.zoom * u)
        frame = bg.astype(np.float32)
        _render_plane(frame, layer, alpha, face, pose, scene.bend)
        frame += rng.normal(0, 2.0, frame.shape).astype(np.float32)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def render_phone(clip: Clip, peaks: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """A phone (black bezel, 9:16 screen) playing ``clip``, held in front of
    the camera at a slight tilt with hand tremor; the screen shows the clip
    with a screen's gamma, a glare band and its pixel grid softened."""
    bg = _background(2000 + seed)
    src = clip.resample(FPS).frames
    n = len(src)
    t = np.arange(n) / FPS
    tilt = _profile(t, list(peaks), hold=1.0, move=1.2)
    trem = _tremor(n, seed, 0.8, 2.0)
    rng = np.random.default_rng(seed + 7)
    h0, w0 = src[0].shape[:2]
    sw = int(h0 * 9 / 16)
    x0 = (w0 - sw) // 2
    bezel = 18
    glare = np.linspace(0, 1, h0 + 2 * bezel)[:, None] * np.ones(sw + 2 * bezel)[None, :]
    glare = (40 * np.exp(-((glare - 0.3) ** 2) / 0.01)).astype(np.float32)[..., None]
    frames = []
    for i in range(n):
        screen = src[i][:, x0:x0 + sw].astype(np.float32)
        screen = 255 * (screen / 255) ** 1.15 * 0.9 + 10
        layer = np.zeros((h0 + 2 * bezel, sw + 2 * bezel, 3), np.float32) + 12
        layer[bezel:-bezel, bezel:-bezel] = screen
        layer = np.clip(layer + glare, 0, 255).astype(np.uint8)
        alpha = np.full(layer.shape[:2], 255, np.uint8)
        # The face in the clip is ~1/3 of its height: frame it like a held phone.
        face = (layer.shape[1] / 2, layer.shape[0] * 0.45, h0 * 0.42)
        pose = Pose(tilt[i] + 20 + trem[i, 0], 8 + trem[i, 1], trem[i, 2], trem[i, 3], trem[i, 4])
        frame = bg.astype(np.float32)
        _render_plane(frame, layer, alpha, face, pose, 0.0)
        frame += rng.normal(0, 2.0, frame.shape).astype(np.float32)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def _digest(obj: object) -> str:
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:10]


def print_clip(name: str, scene: Scene) -> bytes:
    key = f"{name}-{_digest(scene)}"
    path = CACHE / f"{key}.mp4"
    if path.is_file():
        return path.read_bytes()
    return _encode(key, render_print(scene))


def phone_clip(name: str, rel: str, t0: float, t1: float, peaks: tuple[float, ...],
               seed: int) -> bytes:
    key = f"{name}-{_digest((rel, t0, t1, peaks, seed))}"
    path = CACHE / f"{key}.mp4"
    if path.is_file():
        return path.read_bytes()
    return _encode(key, render_phone(Clip.load(rel, t0, t1), peaks, seed))


def _turn_actions(peaks: tuple[float, ...]) -> str:
    return ",".join("1" if p > 0 else "2" for p in peaks)


def _tilt_cases() -> list[Attack]:
    """Prints tilted about the vertical axis (fake turns: one way, or one
    way and back the other) and the horizontal axis (fake nods), 20-70
    degrees, each portrait in turn with a border, without one, cropped.
    The mesh reads a tilted picture's yaw with either sign, so an attacker
    asks for whichever turn it gives: every turn clip is asked both ways."""
    out = []
    styles = ["border", "noborder", "crop"]
    for i, rel in enumerate(PORTRAITS[:8]):
        short = Path(rel).stem
        for j, a in enumerate(ANGLES):
            style = styles[(i + j) % 3]
            peaks = [(a,), (-a,), (a, -a)][(i + j) % 3]
            sc = Scene(rel, style, "yaw", tuple(float(p) for p in peaks), seed=100 * i + j,
                       seconds=4.0 if len(peaks) == 1 else 6.0)
            clip = f"turn_{style}_{a}_{short}_{'lr' if len(peaks) > 1 else ('l' if peaks[0] > 0 else 'r')}"
            asks = ["1,2", "2,1"] if len(peaks) > 1 else ["1", "2"]
            for ask in asks:
                out.append(Attack(f"{clip}_ask{ask.replace(',', '')}", f"tilt_turn_{style}", ask,
                                  functools.partial(print_clip, clip, sc), a, rel))
            sc = Scene(rel, styles[(i + j + 1) % 3], "pitch", (float(a),), seed=100 * i + j + 50)
            clip = f"nod_{sc.style}_{a}_{short}"
            out.append(Attack(clip, f"tilt_nod_{sc.style}", "3",
                              functools.partial(print_clip, clip, sc), a, rel))
    return out


def _motion_cases() -> list[Attack]:
    out = []
    for i, rel in enumerate(PORTRAITS[2:10]):
        short = Path(rel).stem
        sign = 1.0 if i % 2 == 0 else -1.0
        variants = [
            ("jitter", Scene(rel, "border", "yaw", (sign * 40,), jitter=2.5, seed=500 + i)),
            ("zoom", Scene(rel, "noborder", "yaw", (sign * 35,), zoom=0.35, seed=600 + i)),
            ("cylinder", Scene(rel, "border", "yaw", (sign * 45,), bend=1.0, seed=700 + i)),
            ("slide", Scene(rel, "crop", "yaw", (sign * 40,), slide=160, seed=800 + i)),
            ("cylinder_nod", Scene(rel, "crop", "pitch", (35.0,), bend=0.8, seed=900 + i)),
        ]
        for kind, sc in variants:
            name = f"{kind}_{short}"
            actions = "3" if sc.axis == "pitch" else _turn_actions(sc.peaks)
            out.append(Attack(name, kind, actions, functools.partial(print_clip, name, sc),
                              abs(sc.peaks[0]), rel))
    return out


def _phone_cases() -> list[Attack]:
    """A phone held in front of the camera replaying a real recording of the
    person doing the action (d3's turns, d12's mouth, d9's nod, d0's blink)."""
    specs = [("phone_d3_left", "liveportrait/d3.mp4", 4.0, 6.8, "1", (0.0,)),
             ("phone_d3_right", "liveportrait/d3.mp4", 0.0, 2.2, "2", (0.0,)),
             ("phone_d3_left_tilting", "liveportrait/d3.mp4", 4.0, 6.8, "1", (15.0,)),
             ("phone_d12_mouth", "liveportrait/d12.mp4", 0.0, 7.3, "4", (10.0,)),
             ("phone_d9_nod", "liveportrait/d9.mp4", 8.5, 13.5, "3", (0.0,)),
             ("phone_katie_turn", "talking/WDA_KatieHill_000.mp4", 0.0, 8.0, "2", (-10.0,))]
    return [Attack(n, "phone_replay", acts, functools.partial(phone_clip, n, rel, a, b, pk, k))
            for k, (n, rel, a, b, acts, pk) in enumerate(specs)]


def _replay_cases() -> list[Attack]:
    """The recorded phone-screen replay of the dataset (replay/fake.mp4)."""
    return [Attack("replay_fake_lr", "screen_replay", "1,2", lambda: original("replay/fake.mp4")),
            Attack("replay_fake_l", "screen_replay", "1", lambda: original("replay/fake.mp4")),
            Attack("replay_fake_mouth", "screen_replay", "4", lambda: original("replay/fake.mp4"))]


ATTACKS: list[Attack] = _tilt_cases() + _motion_cases() + _phone_cases() + _replay_cases()
"""Every attack is expected to answer alive: false (and, where the fake
action is seen at all, warning 7 with confidence < 0.5)."""

# Small, fast subset for tests/liveness (one of each detector path).
QUICK = ["nod_border_45_img1", "turn_crop_57_img22_lr_ask12", "cylinder_nod_img6", "phone_d12_mouth"]


