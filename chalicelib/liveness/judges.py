"""Decide each requested action from the per-frame time series.

Every action is an *excursion and return*: the signal moves away from its
resting level by at least a swing threshold and comes back by at least the
same amount, and the far point is held for ``HOLD_S`` (one stray landmark
frame cannot make an action). Thresholds (docs/liveness.md):

- 1 turn left / 2 turn right: yaw toward the requested side (subject's own
  left/right) reaching at least ``TURN_PEAK`` degrees, with a rise and a
  return of at least ``TURN_SWING`` degrees, from and back to within
  ``TURN_REST`` degrees of frontal.
- 3 nod: pitch down by at least ``nod_threshold`` degrees from the resting
  pitch (median of the first and last fifth of the judged samples) and back
  up to within half the threshold of it; looking up and back is not a nod.
- 4 mouth movement: inner-lip gap / mouth width opening by at least
  ``MOUTH_SWING`` to at least ``MOUTH_PEAK`` and closing again (from and back
  to ``MOUTH_REST`` or less).
- 5 blink: lid gap (iris model) dropping by at least ``BLINK_DROP`` of its open
  level and reopening within ``BLINK_MAX_S``, with the head within
  ``BLINK_MAX_YAW`` of frontal and ``BLINK_MAX_PITCH`` of its median pitch.

Confidence: with r = strength / swing threshold (strength = the smaller of
rise and return), a found action scores 0.5 + 0.5 * (1 - 1/r) * clarity, so
exactly at the threshold it is 0.5 and it tends to 1 for large, clean
motion; clarity is the mean face-presence probability of the mesh over the
event times the share of window frames with a tracked face. An action not
found scores below 0.5 (0.49 * min(r, 1) * clarity), so "confidence >= 0.5"
is the per-action verdict.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TURN_PEAK = 15.0
TURN_SWING = 12.0
# A turn starts from and comes back to within TURN_REST of frontal: jitter
# of a head held in profile is not a turn.
TURN_REST = 10.0
MOUTH_PEAK = 0.25
MOUTH_SWING = 0.18
MOUTH_REST = 0.15
# Eye openness comes from MediaPipe's iris model lids when a blink is asked
# (the plain mesh reads a full blink as a mere 20-30 % drop): a blink closes
# the lids to half their open gap or less (at 15 fps the fully shut frame
# is often between samples) and reopens quickly.
BLINK_DROP = 0.5
BLINK_MAX_YAW = 25.0
BLINK_MAX_PITCH = 10.0
BLINK_MAX_S = 0.6
HOLD_S = 0.12


@dataclass
class Event:
    start: float     # time the signal left its resting level
    peak: float      # time of the far point
    end: float       # time it came back
    strength: float  # min(rise, return) in signal units
    clarity: float


@dataclass
class Verdict:
    action: int
    found: bool
    confidence: float
    strength_ratio: float  # best strength / threshold (also for misses)
    event: Event | None = None


@dataclass
class Series:
    t: np.ndarray
    found: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    mouth: np.ndarray
    eye: np.ndarray
    presence: np.ndarray
    segment: np.ndarray  # continuous-recording segment id (cuts split them)


def excursions(t: np.ndarray, x: np.ndarray, presence: np.ndarray, swing: float, hold_s: float,
               peak_ok: Callable[[float], bool] | None = None,
               rest_max: float = np.inf) -> tuple[list[Event], float]:
    """All upward excursions of ``x`` (NaN = no face) with rise and return
    both >= ``swing`` that start from and come back to ``rest_max`` or less;
    answers (events, best partial strength)."""
    ok = ~np.isnan(x)
    t, x, presence = t[ok], x[ok], presence[ok]
    events: list[Event] = []
    best = 0.0
    n = len(x)
    k = 0
    while k < n:
        # local maximum (plateaus: first sample)
        if (k > 0 and x[k - 1] > x[k]) or (k + 1 < n and x[k + 1] > x[k]):
            k += 1
            continue
        lo_before, lo_after = x[:k + 1].min(), x[k:].min()
        strength = min(x[k] - lo_before, x[k] - lo_after)
        best = max(best, strength)
        if (strength < swing or (peak_ok is not None and not peak_ok(x[k]))
                or lo_before > rest_max or lo_after > rest_max):
            k += 1
            continue
        thr = min(x[k] - swing, rest_max)
        s = int(np.nonzero(x[:k + 1] <= thr)[0][-1])
        e = k + int(np.nonzero(x[k:] <= thr)[0][0])
        # Held: the time spent within half a swing of the peak.
        near = x[s:e + 1] >= x[k] - swing / 2
        held = t[s:e + 1][near]
        if held.size and held[-1] - held[0] + _dt(t) >= hold_s:
            events.append(Event(float(t[s]), float(t[k]), float(t[e]), float(strength),
                                float(presence[s:e + 1].mean())))
        k = e  # next excursion starts after this one came back
        k += 1
    return events, best


def _dt(t: np.ndarray) -> float:
    # A lone sample stands for one sampling interval.
    return float(np.median(np.diff(t))) if len(t) > 1 else 0.0


def _signal(action: int, s: Series, nod_threshold: float
            ) -> tuple[np.ndarray, float, Callable[[float], bool] | None, float, float]:
    """(signal, swing, peak_ok, hold, rest_max) with excursions pointing up."""
    # Signals are floored (NaN kept: no face is not "frontal") at their resting level
    # (frontal yaw 0, the median pitch at the start and end) so a swing from the
    # opposite side does not count toward the rise: left-right-left is two left
    # turns of the size of each, not more.
    if action == 1:
        return np.maximum(s.yaw, 0.0), TURN_SWING, (lambda v: v >= TURN_PEAK), HOLD_S, TURN_REST
    if action == 2:
        return np.maximum(-s.yaw, 0.0), TURN_SWING, (lambda v: v >= TURN_PEAK), HOLD_S, TURN_REST
    if action == 3:
        rest = _rest_level(s.pitch)
        return (np.maximum(s.pitch - rest, 0.0), nod_threshold,
                (lambda v: v >= nod_threshold / 2), HOLD_S, nod_threshold / 2)
    if action == 4:
        return s.mouth, MOUTH_SWING, (lambda v: v >= MOUTH_PEAK), HOLD_S, MOUTH_REST
    if action == 5:
        eye = s.eye.copy()
        med = np.nanmedian(s.pitch) if np.any(~np.isnan(s.pitch)) else 0.0
        # Turning or looking down narrows the eye without a blink.
        eye[(np.abs(s.yaw) > BLINK_MAX_YAW) | (np.abs(s.pitch - med) > BLINK_MAX_PITCH)] = np.nan
        base = np.nanpercentile(eye, 75) if np.any(~np.isnan(eye)) else 0.3
        # Relative drop, so the threshold does not depend on eye shape.
        return 1.0 - eye / max(base, 1e-3), BLINK_DROP, None, 0.0, np.inf
    raise ValueError(action)


def _rest_level(x: np.ndarray) -> float:
    """Resting pitch: the median of the first and last fifth of the judged
    samples (a challenge starts and ends looking at the camera). The median
    of the whole range would sit inside a long nod and hide it."""
    v = x[~np.isnan(x)]
    if not v.size:
        return 0.0
    k = max(1, len(v) // 5)
    return float(np.median(np.concatenate([v[:k], v[-k:]])))


def _subset(s: Series, lo: float, hi: float) -> Series:
    m = (s.t >= lo) & (s.t <= hi)
    return Series(*(a[m] for a in (s.t, s.found, s.yaw, s.pitch, s.mouth, s.eye, s.presence,
                                    s.segment)))


def judge(actions: list[int], s: Series, windows: list[tuple[float, float]] | None,
          nod_threshold: float) -> list[Verdict]:
    """One verdict per requested action. With windows each action is judged
    inside its own window; without, actions must follow each other: each one
    must start after the previous found action's far point."""
    out = []
    cursor = -1.0
    for i, a in enumerate(actions):
        if windows:
            sub = _subset(s, *windows[i])
        else:
            sub = _subset(s, cursor, np.inf)
        x, swing, peak_ok, hold, rest_max = _signal(a, sub, nod_threshold)
        # An action cannot span a cut: judge each continuous segment alone.
        events: list[Event] = []
        best = 0.0
        for seg in np.unique(sub.segment):
            m = sub.segment == seg
            seg_events, b = excursions(sub.t[m], x[m], sub.presence[m], swing, hold, peak_ok, rest_max)
            events += seg_events
            best = max(best, b)
        events.sort(key=lambda e: e.start)
        coverage = float(sub.found.mean()) if len(sub.t) else 0.0
        if not windows:
            events = [e for e in events if e.start >= cursor]
        if a == 5:
            events = [e for e in events if e.end - e.start <= BLINK_MAX_S]
        if events:
            ev = events[0]
            r = ev.strength / swing
            clarity = ev.clarity * coverage
            conf = 0.5 + 0.5 * (1 - 1 / r) * clarity
            out.append(Verdict(a, True, round(float(conf), 4), float(r), ev))
            cursor = ev.peak
        else:
            r = best / swing if swing else 0.0
            clarity = float(np.mean(sub.presence[sub.found])) * coverage if sub.found.any() else 0.0
            out.append(Verdict(a, False, round(float(0.49 * min(r, 1.0) * clarity), 4), float(r)))
    return out
