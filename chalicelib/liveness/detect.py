"""Face LiveDetect (API Reference §4.3): video bytes + requested actions ->
the documented response dict. The HTTP route only feeds this function."""
from __future__ import annotations

import base64
import time
from collections.abc import Iterable

import numpy as np

from chalicelib.errors import ACTION_TIME_INVALID, VIDEO_MULTI_FACE, VIDEO_NO_FACE, VIDEO_QUALITY, FrsError
from chalicelib.liveness import judges, presentation, request, same_person
from chalicelib.liveness.track import Sample, Track, track
from chalicelib.liveness.video import Video
from chalicelib.vision import pixels

# Analysis rate: enough for turns, nods and mouth cycles (all >= 0.3 s) and
# for most blinks; keeps 5 s of 512x512 video near 40 mesh runs.
SAMPLE_FPS = 8.0
# A blink lasts 100-400 ms: sampled at 8 fps it can fall between frames.
SAMPLE_FPS_BLINK = 15.0

# Table 5-14.
WARNINGS = {
    1: "The face is not facing forward.",
    2: "The video does not exceed 1 second.",
    3: "The video lasts for more than 15 seconds.",
    4: "Two faces are detected.",
    5: "No face is detected.",
    6: "The range of motion is too small.",
    7: "The video quality is poor or the person in the video is not a real person.",
    8: "Failed to select a preferred image.",
    101: "The overall quality of the facial image is low.",
    102: "The face is blurred.",
    103: "The face angle is too large.",
    104: "The face is blocked.",
    105: "The image is dark.",
    106: "The image contains multiple faces.",
}

MIN_FACE_PX = 40          # below this the mesh is unreliable: FRS.0708
MIN_BRIGHTNESS = 25       # mean grey level of the face: FRS.0708
MULTI_FACE_SHARE = 0.5    # share of detector runs seeing 2+ faces: FRS.0709
FROZEN_MOTION = 0.5       # median face-region change (grey levels) of a still
FRONTAL_DEG = 15.0
FRONTAL_SHARE = 0.2       # warning 1 below this share of frontal frames
FOUND_SHARE = 0.8         # warning 5 below this share of frames with a face
PICTURE_MIN_FACE = 80     # FRS asks for faces > 80x80
PICTURE_MIN_SHARP = 15.0  # Laplacian variance of the face centre
PICTURE_DARK = 60
PICTURE_MAX_YAW, PICTURE_MAX_PITCH = 30.0, 15.0


def _series(tr: Track) -> judges.Series:
    S = tr.samples
    a = lambda name: np.array([getattr(s, name) for s in S], np.float64)  # noqa: E731
    segment = np.cumsum([s.jump for s in S])
    return judges.Series(a("t"), np.array([s.found for s in S], bool), a("yaw"), a("pitch"),
                         a("mouth"), a("eye"), a("presence"), segment)


def _warn(codes: Iterable[int]) -> list[dict]:
    return [{"warningCode": c, "warningMsg": WARNINGS[c]} for c in sorted(set(codes))]


def _check_windows(windows: list[tuple[float, float]] | None, duration: float) -> None:
    """Refuse an action window that starts after the end of the video."""
    for a, b in windows or ():
        if a >= duration:
            raise FrsError(ACTION_TIME_INVALID,
                           f"The action time {int(a * 1000)}-{int(b * 1000)} starts after "
                           f"the end of the video ({duration:.2f} s).")


def _face_side(s: Sample) -> float:
    """The shorter side of a found sample's face box (pixels)."""
    assert s.box is not None  # every found sample has its box
    return float(min(s.box[2] - s.box[0], s.box[3] - s.box[1]))


def _check_faces(S: list[Sample], found: list[Sample]) -> int:
    """Refuse a video without one usable face; answers how many samples show several."""
    if not found:
        raise FrsError(VIDEO_NO_FACE, "No face is detected in the video.")
    counted = [s.faces for s in S if s.faces is not None]
    multi = sum(1 for n in counted if n >= 2)
    if counted and multi / len(counted) > MULTI_FACE_SHARE:
        raise FrsError(VIDEO_MULTI_FACE, "Several faces of similar size are detected in the "
                                         "video; record one person.")
    sizes = [_face_side(s) for s in found]
    if np.median(sizes) < MIN_FACE_PX or np.median([s.brightness for s in found]) < MIN_BRIGHTNESS:
        raise FrsError(VIDEO_QUALITY, "The face in the video is too small or too dark "
                                      "to be analysed.")
    return multi


def _sample_warnings(S: list[Sample], found: list[Sample], multi: int) -> list[int]:
    """Warnings 4 (several faces), 5 (face often lost) and 1 (rarely frontal)."""
    warnings: list[int] = []
    if multi:
        warnings.append(4)
    if len(found) / len(S) < FOUND_SHARE:
        warnings.append(5)
    frontal = [s for s in found if abs(s.yaw) < FRONTAL_DEG and abs(s.pitch) < FRONTAL_DEG]
    if len(frontal) / len(found) < FRONTAL_SHARE:
        warnings.append(1)
    return warnings


def _picture(tr: Track, warnings: list[int]) -> str:
    """The best frame as base64 JPEG ("" without one), appending its quality
    warnings (8, 101-106) to ``warnings``."""
    if tr.best_index < 0 or tr.best_frame is None:
        warnings.append(8)
        return ""
    picture = ""
    p = tr.samples[tr.best_index]
    jpg = pixels.encode_jpeg(tr.best_frame, quality=90)
    if jpg:
        picture = base64.b64encode(jpg).decode("ascii")
    else:
        warnings.append(8)
    side = _face_side(p)
    if side < PICTURE_MIN_FACE:
        warnings.append(101)
    if p.sharpness < PICTURE_MIN_SHARP:
        warnings.append(102)
    if abs(p.yaw) > PICTURE_MAX_YAW or abs(p.pitch) > PICTURE_MAX_PITCH:
        warnings.append(103)
    if p.brightness < PICTURE_DARK:
        warnings.append(105)
    if p.faces is not None and p.faces > 1:
        warnings.append(106)
    return picture


def analyse(data: bytes, actions: object, action_time: object = None,
            nod_threshold: object = None) -> dict:
    """Full analysis; answers the response body plus ``"_debug"`` details
    (verdicts, timings) that the route strips."""
    t0 = time.perf_counter()
    req = request.parse(actions, action_time, nod_threshold)
    with Video(data) as v:
        fps = SAMPLE_FPS_BLINK if 5 in req.actions else SAMPLE_FPS
        tr = track(v.frames(fps), (v.width, v.height), eyelids=5 in req.actions)
        info = v.info
    assert info is not None  # frames() sets it when the stream ends
    t_track = time.perf_counter() - t0

    _check_windows(req.windows, info.duration)
    S = tr.samples
    found = [s for s in S if s.found]
    multi = _check_faces(S, found)
    warnings = _sample_warnings(S, found, multi)

    series = _series(tr)
    verdicts = judges.judge(req.actions, series, req.windows, req.nod_threshold)
    # A face that moved as a plane (a tilted print or screen) did not act.
    evidence = presentation.examine(verdicts, S)
    flat = presentation.refuse_flat(verdicts, evidence)
    # A face framed by a screen bezel or card edge: whatever it did, it is
    # a replay or a picture.
    framed = presentation.screen_share(S)
    screen = framed >= presentation.border.VIDEO_SHARE
    if screen:
        presentation.refuse_all(verdicts)
    motion = [s.motion for s in found if not np.isnan(s.motion)]
    frozen = not motion or float(np.median(motion)) < FROZEN_MOTION
    if frozen or any(not v.found and v.strength_ratio < 1.0 for v in verdicts):
        warnings.append(6)

    t1 = time.perf_counter()
    ident = same_person.check(tr)
    t_ident = time.perf_counter() - t1
    # A cut means the clip is not one continuous recording of one face.
    cuts = sum(1 for s in S if s.jump)
    if not ident.same or cuts or flat or screen:
        warnings.append(7)

    picture = _picture(tr, warnings)

    alive = all(v.found for v in verdicts) and ident.same and not frozen and not cuts and not flat \
        and not screen
    body = {
        "video-result": {
            "alive": bool(alive),
            "actions": [{"action": v.action, "confidence": v.confidence} for v in verdicts],
            "picture": picture,
        },
        "warning-list": _warn(warnings),
    }
    body["_debug"] = {
        "duration": info.duration, "fps": info.fps, "size": [info.width, info.height],
        "samples": len(S), "faces_found": len(found),
        "frozen": frozen, "median_motion": float(np.median(motion)) if motion else 0.0,
        "identity": ident.__dict__, "cuts": cuts,
        "presentation": [e.__dict__ for e in evidence], "flat": flat,
        "framed_share": round(framed, 3), "screen": screen,
        "verdicts": [{"action": v.action, "found": v.found, "ratio": round(v.strength_ratio, 3),
                      "event": v.event.__dict__ if v.event else None} for v in verdicts],
        "seconds": {"track": t_track, "identity": t_ident, "total": time.perf_counter() - t0},
    }
    return body


def live_detect(data: bytes, actions: object, action_time: object = None,
                nod_threshold: object = None) -> dict:
    """The documented LiveDetect response body."""
    body = analyse(data, actions, action_time, nod_threshold)
    body.pop("_debug", None)
    return body
