"""chalicelib.liveness.video: FFmpeg decoding of uploaded clips.

No models and no dataset needed (the dataset comparisons skip without it).
Clips are made at test time with the imageio-ffmpeg binary (rotation
metadata, odd containers, playlists) or OpenCV's VideoWriter (the
containers the liveness cases use); OpenCV's VideoCapture, which decoded
videos before, is the reference for frame counts, rates and pixels.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from chalicelib.errors import VIDEO_DURATION, VIDEO_PARSE, FrsError
from chalicelib.liveness import video as V
from chalicelib.liveness.ffmpeg import ffmpeg_exe
from chalicelib.liveness.video import MAX_SIDE, Video
from testkit.clips import MissingClip, source
from testkit.clips import read_with_opencv as cv2_decode


def ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True)


def lavfi(path: Path, size: str, rate: int, seconds: float, codec: str = "mpeg4",
          extra: tuple[str, ...] = ()) -> Path:
    ff("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
       "-c:v", codec, "-q:v", "2", *extra, str(path))
    return path


def decode_all(data: bytes, sample_fps: float = 1000.0):
    with Video(data) as v:
        frames = list(v.frames(sample_fps))
        return v, frames


def children() -> set[int]:
    """Live or zombie child processes of this test process."""
    me = str(os.getpid())
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                out.add(int(d))
    return out


def temp_files() -> set[str]:
    import tempfile
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("frs-live-")}


# --- rotation ------------------------------------------------------------

@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    d = tmp_path_factory.mktemp("rot")
    plain = lavfi(d / "plain.mp4", "320x240", 10, 2)
    r90 = d / "r90.mp4"
    ff("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(r90))
    big = lavfi(d / "big.mp4", "1280x720", 10, 1.5)
    big90 = d / "big90.mp4"
    ff("-display_rotation", "-90", "-i", str(big), "-c", "copy", str(big90))
    return plain, r90, big, big90


def test_rotation_metadata_is_applied(rotated):
    plain, r90, _, _ = rotated
    assert "rotation of 90" in subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(r90)],
                                              capture_output=True, text=True).stderr
    v0, f0 = decode_all(plain.read_bytes())
    v1, f1 = decode_all(r90.read_bytes())
    assert (v0.width, v0.height) == (320, 240) and (v1.width, v1.height) == (240, 320)
    assert (v1.info.width, v1.info.height) == (240, 320) and v1.info.frames == v0.info.frames == 20
    assert f1[0].bgr.shape == (320, 240, 3) and f1[0].bgr.flags.c_contiguous
    # display_rotation 90 = a quarter turn counter-clockwise, as np.rot90.
    for a, b in zip(f0, f1, strict=True):
        assert np.abs(np.rot90(a.bgr).astype(int) - b.bgr).max() <= 1
    # The same orientation OpenCV (which also autorotates) shows.
    _, size, ref = cv2_decode(r90)
    assert size == (240, 320)
    assert np.abs(ref[0].astype(int) - f1[0].bgr).mean() < 3


def test_rotated_size_drives_downscale(rotated):
    _, _, big, big90 = rotated
    v, f = decode_all(big90.read_bytes())
    assert (v.width, v.height) == (720, 1280)
    assert f[0].scale == pytest.approx(MAX_SIDE / 1280)
    assert f[0].bgr.shape == (640, 360, 3)
    _, g = decode_all(big.read_bytes())
    assert g[0].bgr.shape == (360, 640, 3)
    # -90: a quarter turn clockwise.
    assert np.abs(np.rot90(g[0].bgr, -1).astype(int) - f[0].bgr).mean() < 1


# --- the containers FRS lists, against OpenCV ---------------------------

CONTAINERS = [("mp4v", "mp4"), ("MJPG", "avi"), ("VP80", "webm"), ("FLV1", "flv"),
              ("mp4v", "mov"), ("WMV2", "asf")]


def synthetic(n: int, w: int, h: int) -> list[np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        f = np.stack([(xx + 3 * i) % 256, (yy + 2 * i) % 256, (xx + yy) // 4 % 256], -1)
        f = f.astype(np.uint8)
        cv2.circle(f, (w // 2 + 2 * i, h // 2), h // 5, (255, 255, 255), -1)
        out.append(np.ascontiguousarray(f))
    return out


def cv2_write(path: Path, fourcc: str, fps: float, frames) -> Path:
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert wr.isOpened(), f"OpenCV cannot write {fourcc} in {path.suffix}"
    for f in frames:
        wr.write(f)
    wr.release()
    return path


def assert_matches_opencv(path: Path, sample_fps: float = 1000.0):
    fps, size, ref = cv2_decode(path)
    v, frames = decode_all(path.read_bytes(), sample_fps)
    assert v.fps == pytest.approx(fps, abs=1e-6), (v.fps, fps)
    assert (v.width, v.height) == size
    assert abs(v.info.frames - len(ref)) <= 1, (v.info.frames, len(ref))
    first = ref[0]
    scale = min(1.0, MAX_SIDE / max(size))
    if scale < 1:
        first = cv2.resize(first, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    got = frames[0].bgr
    assert got.shape == first.shape and got.dtype == np.uint8 and got.flags.c_contiguous
    diff = np.abs(got.astype(int) - first)
    assert diff.mean() < 2.5 and np.percentile(diff, 99) < 20, (diff.mean(), np.percentile(diff, 99))
    return v, frames


@pytest.mark.parametrize("fourcc,ext", CONTAINERS, ids=[e for _, e in CONTAINERS])
def test_containers_match_opencv(tmp_path, fourcc, ext):
    path = cv2_write(tmp_path / f"c.{ext}", fourcc, 25, synthetic(50, 320, 240))
    v, frames = assert_matches_opencv(path)
    assert v.info.frames == 50 and v.info.duration == pytest.approx(2.0)
    assert [f.index for f in frames] == list(range(50))


def test_downscale_matches_opencv_inter_area(tmp_path):
    path = cv2_write(tmp_path / "big.avi", "MJPG", 10, synthetic(12, 1280, 720))
    v, frames = assert_matches_opencv(path)
    assert frames[0].scale == 0.5 and frames[0].bgr.shape == (360, 640, 3)


DATASET = ["liveportrait/d3.mp4", "replay/real.mov", "replay/fake.mp4",
           "talking/WDA_KatieHill_000.mp4"]


@pytest.mark.parametrize("rel", DATASET)
def test_dataset_clips_match_opencv(rel):
    try:
        path = source(rel)
    except MissingClip as exc:
        pytest.skip(str(exc))
    v, frames = assert_matches_opencv(path, sample_fps=8.0)
    assert len(frames) == pytest.approx(v.info.duration * 8.0, abs=2)


def test_sampling(tmp_path):
    path = lavfi(tmp_path / "s.mp4", "64x48", 30, 3)
    v, frames = decode_all(path.read_bytes(), sample_fps=8.0)
    assert v.info.frames == 90 and v.fps == 30.0
    # The first frame at or after each multiple of 1/8 s, as before.
    assert [f.index for f in frames] == [0, 4, 8, 12, 15, 19, 23, 27, 30, 34, 38, 42, 45, 49, 53,
                                         57, 60, 64, 68, 72, 75, 79, 83, 87]
    assert all(f.t == pytest.approx(f.index / 30) for f in frames)
    assert len({id(f.bgr) for f in frames}) == len(frames)   # no shared buffers


def test_ntsc_rate_is_exact(tmp_path):
    path = lavfi(tmp_path / "ntsc.mp4", "64x48", "30000/1001", 2)
    v, _ = decode_all(path.read_bytes())
    assert v.fps == 30000 / 1001 == pytest.approx(cv2_decode(path)[0], abs=1e-9)


def recorded_webm(tmp_path, seconds: int, pts: str) -> tuple:
    """A WebM like a browser's MediaRecorder writes: frames at the times
    ``pts`` gives (seconds, in terms of frame number N), no declared average
    rate; answers the file and FFmpeg's description of it."""
    path = tmp_path / "recorded.webm"
    ff("-f", "lavfi", "-i", f"testsrc2=size=96x64:rate=30:duration={seconds}",
       "-vf", f"settb=1/12800,setpts='({pts})/TB'", "-fps_mode", "passthrough",
       "-c:v", "libvpx", "-b:v", "500k", str(path))
    header = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True).stderr
    return path, header


def test_variable_rate_webm_is_timed_by_its_timestamps(tmp_path):
    """A browser recording (MediaRecorder WebM) declares no average rate, only a
    guess ("30 tbr" here), and its frames come at uneven times (a loaded machine
    drops some). Frames are placed by their timestamps: a 0.5 s stall after the
    first second lengthens the clip instead of vanishing."""
    path, header = recorded_webm(tmp_path, 3, "N/30+if(gte(N,30),0.5,0)")
    assert " tbr" in header and " fps," not in header   # what makes this case
    v, frames = decode_all(path.read_bytes(), sample_fps=10.0)
    assert v.fps == 30.0
    assert v.info.duration == pytest.approx(3.5, abs=0.1)
    assert [round(f.t, 1) for f in frames[:3]] == [0.0, 0.1, 0.2]


def test_millisecond_time_base_only_is_resampled(tmp_path):
    """Chrome's MediaRecorder often leaves only "1k tbr": that was refused as an
    "unusable frame rate 1000" (FRS.0701), the console's intermittent failure."""
    path, header = recorded_webm(tmp_path, 2, "N/30+0.015*random(1)")
    assert "1k tbr" in header and " fps," not in header
    v, _ = decode_all(path.read_bytes())
    assert v.fps == V.RESAMPLE_FPS
    assert v.info.duration == pytest.approx(2.0, abs=0.1)


# --- durations and sizes ---------------------------------------------------

def test_declared_duration_refused_before_decoding(tmp_path):
    path = lavfi(tmp_path / "long.mp4", "64x48", 2, 20)
    with pytest.raises(FrsError) as exc:
        Video(path.read_bytes())
    assert exc.value.code == VIDEO_DURATION and "20.00 s" in exc.value.msg


def test_undeclared_long_video_stops_at_the_limit(tmp_path):
    # Matroska written to a pipe carries no duration: only decoding can tell.
    data = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                           "-i", "testsrc2=size=64x48:rate=5:duration=40", "-c:v", "mpeg4",
                           "-f", "matroska", "pipe:1"], capture_output=True, check=True).stdout
    with Video(data) as v:
        seen = []
        with pytest.raises(FrsError) as exc:
            for f in v.frames(5):
                seen.append(f.t)
    assert exc.value.code == VIDEO_DURATION and max(seen) <= 15.05


@pytest.mark.parametrize("size,rotation", [("4104x2160", 0), ("4104x2160", 90), ("4800x2200", 0),
                                           ("4800x2200", 90)])
def test_too_many_pixels_refused(tmp_path, size, rotation):
    """Just over MAX_PIXELS: refused on the header's (displayed) size; far
    over: FFmpeg's decoder refuses the frame (-max_pixels) before allocating
    it, and the message names the coded size (4800x2200 here)."""
    path = lavfi(tmp_path / "huge.mp4", size, 2, 1)
    if rotation:
        ff("-display_rotation", str(rotation), "-i", str(path), "-c", "copy", str(tmp_path / "r.mp4"))
        path = tmp_path / "r.mp4"
    with pytest.raises(FrsError) as exc:
        Video(path.read_bytes())
    assert exc.value.code == VIDEO_PARSE
    w, h = map(int, size.split("x"))
    if rotation:
        w, h = (w, h) if size == "4800x2200" else (h, w)
    assert exc.value.msg == f"Parse video data failed: unsupported frame size {w}x{h}."


def test_4k_h264_is_accepted(tmp_path):
    """4096x2160 H.264 is coded 4096x2176: still within the limit."""
    path = lavfi(tmp_path / "4k.mp4", "4096x2160", 2, 1.5, codec="libx264",
                 extra=("-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    v, frames = decode_all(path.read_bytes())
    assert (v.width, v.height) == (4096, 2160) and v.info.frames == 3
    assert frames[0].bgr.shape == (338, 640, 3) and frames[0].scale == 640 / 4096


def test_error_messages_unchanged(tmp_path):
    with pytest.raises(FrsError) as exc:
        Video(b"")
    assert exc.value.code == VIDEO_PARSE and exc.value.msg == "Parse video data failed: no video data."
    with pytest.raises(FrsError) as exc:
        Video(b"\0" * (8 * 1024 * 1024 + 1))
    assert exc.value.code == "FRS.0017" and exc.value.msg == "The video exceeds 8 MB."
    with pytest.raises(FrsError) as exc:
        Video(b"not a video at all" * 100)
    assert exc.value.msg == ("Parse video data failed: the container or codec is not "
                                 "supported or the file is damaged.")


# --- untrusted input: no playlists, no network, no other files -----------

@pytest.fixture()
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(0.3)
    yield s
    s.close()


def no_connection(s: socket.socket) -> bool:
    try:
        conn, _ = s.accept()
    except (socket.timeout, TimeoutError):
        return True
    conn.close()
    return False


def playlist(port: int) -> bytes:
    return (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:10.0,\nhttp://127.0.0.1:{port}/x.ts\n#EXTINF:10.0,\nx.ts\n"
            f"#EXT-X-ENDLIST\n").encode()


@pytest.fixture(scope="module")
def ok_clip(tmp_path_factory):
    return lavfi(tmp_path_factory.mktemp("ok") / "ok.mp4", "64x48", 10, 2)


def test_hls_playlist_refused(listener):
    with pytest.raises(FrsError) as exc:
        Video(playlist(listener.getsockname()[1]))
    assert exc.value.code == VIDEO_PARSE
    assert no_connection(listener)


def test_concat_script_refused(ok_clip):
    data = f"ffconcat version 1.0\nfile '{ok_clip}'\nfile 'ok.mp4'\n".encode()
    with pytest.raises(FrsError) as exc:
        Video(data)
    assert exc.value.code == VIDEO_PARSE


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_whitelists_are_what_refuses(tmp_path, listener, ok_clip):
    """The temp file's ".bin" suffix already keeps FFmpeg's HLS and image2
    probes away; named .m3u8 / %d.png, the demuxer whitelist still refuses
    (without it FFmpeg would open the playlist's local segment and the
    image sequence)."""
    exe = ffmpeg_exe()
    m3u8 = tmp_path / "p.m3u8"
    m3u8.write_bytes(playlist(listener.getsockname()[1]))
    (tmp_path / "x.ts").write_bytes(b"\x47" + b"\0" * 187)
    r = _run(V.command(exe, str(m3u8)))
    assert r.returncode != 0 and not r.stdout and "not on whitelist" in r.stderr, r.stderr[-500:]
    assert no_connection(listener)
    concat = tmp_path / "c.ffconcat"
    concat.write_text(f"ffconcat version 1.0\nfile '{ok_clip}'\n")
    r = _run(V.command(exe, str(concat)))
    assert r.returncode != 0 and "not on whitelist" in r.stderr, r.stderr[-500:]
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.zeros((8, 8, 3), np.uint8))
    r = _run(V.command(exe, str(tmp_path / "img%d.png")))
    assert r.returncode != 0 and not r.stdout, r.stderr[-500:]
    # ...and the same command does read a listed container.
    r = subprocess.run(V.command(exe, str(ok_clip)), capture_output=True, timeout=30)
    assert r.returncode == 0 and len(r.stdout) == 20 * 64 * 48 * 3


def test_command_has_no_shell_and_only_file_protocol():
    cmd = V.command("/x/ffmpeg", "/tmp/a b;rm -rf ~.bin")
    assert cmd[cmd.index("-protocol_whitelist") + 1] == "file"
    assert cmd[cmd.index("-i") + 1] == "file:/tmp/a b;rm -rf ~.bin"


# --- processes and temp files --------------------------------------------

def test_early_close_leaves_no_process_or_file(ok_clip):
    before, files = children(), temp_files()
    with Video(ok_clip.read_bytes()) as v:
        pid = v.proc.pid
        gen = v.frames(10)
        next(gen)
        assert pid in children()
        gen.close()
        assert v.proc is None
    assert children() <= before and pid not in children()
    assert temp_files() == files


def test_abandoned_generator_and_exception_in_body(ok_clip):
    before, files = children(), temp_files()
    with pytest.raises(ZeroDivisionError):
        with Video(ok_clip.read_bytes()) as v:
            for _ in v.frames(10):
                raise ZeroDivisionError("raised while the frames are being read")
    with Video(ok_clip.read_bytes()) as v:   # never iterated
        pid = v.proc.pid
    assert children() <= before and pid not in children()
    assert temp_files() == files


def test_refusals_leave_no_process_or_file(tmp_path):
    before, files = children(), temp_files()
    for data in (b"x" * 1000, lavfi(tmp_path / "l.mp4", "64x48", 2, 20).read_bytes()):
        with pytest.raises(FrsError):
            Video(data)
    assert children() <= before and temp_files() == files


def test_watchdog_kills_a_slow_decode(ok_clip, monkeypatch):
    monkeypatch.setattr(V, "DECODE_TIMEOUT_S", 0.3)
    before = children()
    with Video(ok_clip.read_bytes()) as v:
        with pytest.raises(FrsError) as exc:
            for _ in v.frames(10):
                time.sleep(0.5)   # a consumer this slow lets the watchdog fire
    assert exc.value.code == VIDEO_PARSE and "took too long" in exc.value.msg
    assert children() <= before
