"""``posecoach live`` on an MPEG-TS stream that ffmpeg sends over UDP on 127.0.0.1.

The clips are generated squat sets whose every frame carries its number as a barcode (ten
black or white columns), so a fake estimator answers the frame's known keypoints whatever the
stream lost or the session dropped: reps and cues are known. Then the real models (RTMDet-nano
from ../shared, random pose weights) in a subprocess, stopped by SIGINT.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import cv2
import numpy as np
import pytest

from analysis.io.live_source import LiveFrame, LiveFrames, SourceError, parse_source
from analysis.testing.synthetic import generate_clip
from flows.cli import live as live_command
from flows.cli.live_loop import EventPrinter, run_live
from flows.live_store import live_video_dir, store_live
from posecoach.keypoints import KeyPoints
from posecoach.store import Store
from rules.loader import load_library
from tests.helpers import REPO, model_args, real_engine_options, shared_path

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

FPS = 30
BITS = 10
W, H = 160, 96


def barcode(i: int) -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    for b in range(BITS):
        if i >> b & 1:
            image[:, b * 16 : (b + 1) * 16] = 230
    return image


def read_barcode(image: np.ndarray) -> int:
    return sum(1 << b for b in range(BITS) if image[:, b * 16 + 4 : b * 16 + 12].mean() > 125)


def write_clip(path: Path, first: int, n: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.options = {"qscale": "2"}
        for i in range(first, first + n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(barcode(i), format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send(clip: Path, port: int, *extra: str, size: str = "") -> subprocess.Popen[bytes]:
    """ffmpeg sending ``clip`` at its own rate as MPEG-TS over UDP (a keyframe every 5);
    ``extra``: input options; ``size``: scaled to WxH."""
    return subprocess.Popen(
        ["ffmpeg", "-loglevel", "error", "-re", *extra, "-i", str(clip)]
        + (["-s", size] if size else [])
        + ["-c:v", "mpeg2video", "-q:v", "2", "-g", "5", "-f", "mpegts"]
        + [f"udp://127.0.0.1:{port}?pkt_size=1316"]
    )


class FakePose:
    """Answers the keypoints of the frame whose number the image carries."""

    def __init__(self, points: KeyPoints, on_frame: Any = None) -> None:
        self.points, self.on_frame, self.seen = points, on_frame, []

    def __call__(self, image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = read_barcode(image)
        self.seen.append(i)
        if self.on_frame is not None:
            self.on_frame(i)
        kp = np.concatenate([self.points.xy[i], self.points.scores[i][:, None]], axis=1)
        return [(1, self.points.box[i].tolist(), kp)]


def session(tmp_path: Path, port: int, pose: FakePose, **kw: Any) -> tuple[Any, LiveFrames, str]:
    out = io.StringIO()
    frames = LiveFrames(
        parse_source(f"udp://127.0.0.1:{port}"), read_timeout_s=1.0, give_up_s=kw.pop("give_up")
    )
    printer = EventPrinter(json_lines=True, out=out, err=out)
    frames.on_event = printer.source
    run = run_live(
        frames,
        lambda fps: pose,
        load_library().find("squat"),
        view="side",
        video_dir=live_video_dir(tmp_path / "store"),
        printer=printer,
        **kw,
    )
    return run, frames, out.getvalue()


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_sources_are_named_or_refused_with_what_is_expected() -> None:
    assert parse_source("0").url == "/dev/video0" and parse_source("2").format == "v4l2"
    assert parse_source("/dev/video1").url == "/dev/video1"
    udp = parse_source("udp://127.0.0.1:5000")
    assert udp.network and udp.options["overrun_nonfatal"] == "1"
    assert parse_source("rtsp://cam/stream").options["rtsp_transport"] == "tcp"
    with pytest.raises(SourceError, match="'clip.mp4': expected a camera index"):
        parse_source("clip.mp4")


def test_a_camera_that_is_not_there_ends_at_once_naming_it() -> None:
    said: list[str] = []
    frames = LiveFrames(parse_source("63"), on_event=lambda kind, message: said.append(kind))
    assert list(frames) == [] and said == []
    assert frames.error is not None and frames.error.startswith(
        "source '63': cannot open /dev/video63: "
    )


class ListFrames:
    """`LiveFrames` over a list (no stream): frames at 30 a second, as fast as taken."""

    def __init__(self, n: int) -> None:
        self.n, self.stopped, self.fps, self.frames, self.size_bytes = n, False, 30.0, 0, 0
        self.dropped, self.error = 0, None
        self.digest = hashlib.sha256(b"frames")

    def __iter__(self) -> Any:
        for i in range(self.n):
            if self.stopped:
                return
            self.frames += 1
            yield LiveFrame(i, i / 30.0, barcode(i))

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.stop()


def test_duration_stops_the_session_and_frames_without_people_are_drawn_too(tmp_path) -> None:
    points = generate_clip("squat", view="side", reps=2, fps=FPS).points
    pose = FakePose(points)

    def sometimes(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        people = pose(image)
        return people if read_barcode(image) % 10 else []  # every 10th frame: nobody

    frames = ListFrames(len(points))
    run = run_live(
        frames,  # type: ignore[arg-type]  # duck-typed LiveFrames
        lambda fps: sometimes,
        load_library().find("squat"),
        view="side",
        video_dir=None,
        printer=EventPrinter(json_lines=True, out=io.StringIO()),
        duration_s=2.0,
        overlay=tmp_path / "drawn.mp4",
    )
    assert frames.stopped and pose.seen == list(range(60))  # the frames before 2.0 s
    assert run.recording is not None and run.recording.processed == 60
    assert run.recording.digest is frames.digest  # the session's id: the source's bytes
    assert run.overlay is not None
    with av.open(str(run.overlay)) as container:
        assert len(list(container.decode(video=0))) == 60


def test_a_stream_back_at_another_size_is_brought_to_the_sessions(tmp_path) -> None:
    sizes: list[tuple[int, int]] = []

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        sizes.append((image.shape[1], image.shape[0]))
        return []

    class Resized(ListFrames):  # from frame 10 on, the camera sends twice the size
        def __iter__(self) -> Any:
            for frame in super().__iter__():
                if frame.index >= 10:
                    frame = LiveFrame(
                        frame.index, frame.t_s, cv2.resize(frame.image, (2 * W, 2 * H))
                    )
                yield frame

    run = run_live(
        Resized(20),  # type: ignore[arg-type]  # duck-typed LiveFrames
        lambda fps: pose,
        load_library().find("squat"),
        view="side",
        video_dir=tmp_path / "live",
        printer=EventPrinter(json_lines=True, out=io.StringIO()),
    )
    assert run.recording is not None and run.recording.processed == 20
    assert sizes == [(W, H)] * 20 and run.recording.shape == (W, H)
    run.recording.close()


def test_the_command_stores_the_session_and_builds_its_report(tmp_path, monkeypatch, capsys):
    """`posecoach live` itself, over a list of frames and a fake estimator (no stream, no
    models): the session stored, its report page built in ``--reports`` and named last."""
    points = generate_clip("squat", view="side", reps=2, depth=[90, 125], fps=FPS).points
    pose, frames = FakePose(points), ListFrames(len(points))
    engine = SimpleNamespace(detector=None, pose=None, config=None, random_weights=False)
    monkeypatch.setattr("flows.cli.live.load_engine", lambda options: engine)
    monkeypatch.setattr("analysis.io.live_source.LiveFrames", lambda *a, **k: frames)
    monkeypatch.setattr("analysis.pipeline.live.LiveEstimator", lambda *a, **k: pose)
    monkeypatch.setattr("analysis.ingest.analyze.model_columns", lambda engine: {})
    parser = argparse.ArgumentParser()
    live_command.add_arguments(parser)
    given = ["--source", "udp://127.0.0.1:9", "--athlete", "eve", "--exercise", "squat"]
    given += ["--store", str(tmp_path / "store"), "--json"]
    assert parser.parse_args(given).reports == "reports_out"  # make run's folder
    assert live_command.run(parser.parse_args([*given, "--reports", str(tmp_path / "r")])) == 0
    saved = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert saved["event"] == "saved" and saved["processed"] == len(points)
    assert saved["reps"] == {"1": 2}
    row = Store(tmp_path / "store").read("videos", video_ids=[saved["video_id"]]).iloc[0]
    page = Path(saved["report"])
    assert page == (tmp_path / "r" / row["date"] / f"{saved['video_id']}.html").resolve()
    assert "2 reps" in page.read_text()
    # Reported as the web reports a saved session: its night, its athlete and the index too.
    assert (tmp_path / "r" / row["date"] / "index.html").is_file()
    assert (tmp_path / "r" / "index.html").is_file()
    assert "eve" in (tmp_path / "r" / "index.html").read_text()


@pytest.mark.parametrize(
    ("athlete", "exercise", "said"),
    [("../x", "squat", "athlete '../x' cannot be a folder name"), ("eve", ".hidden", "exercise")],
)
def test_names_that_cannot_be_folders_are_refused_before_anything_opens(
    tmp_path, monkeypatch, capsys, athlete: str, exercise: str, said: str
) -> None:
    monkeypatch.setattr("flows.cli.live.load_engine", pytest.fail)  # refused before the models
    parser = argparse.ArgumentParser()
    live_command.add_arguments(parser)
    given = ["--source", "udp://127.0.0.1:9", "--athlete", athlete, "--exercise", exercise]
    assert live_command.run(parser.parse_args([*given, "--store", str(tmp_path / "s")])) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_udp_stream_is_counted_cued_and_stored_with_an_overlay(tmp_path) -> None:
    points = generate_clip("squat", view="side", reps=2, depth=[90, 125], fps=FPS).points
    clip = write_clip(tmp_path / "set.mp4", 0, len(points))
    port = free_port()
    pose = FakePose(points)
    sender = threading.Timer(0.5, lambda: send(clip, port).wait())
    sender.start()
    run, frames, text = session(tmp_path, port, pose, give_up=1.5, overlay=tmp_path / "o.mp4")
    sender.join()
    said = events(text)
    kinds = [e["event"] for e in said]
    assert kinds[0] == "receiving" and kinds[-1] == "gave_up"
    assert [e["reps"] for e in said if e["event"] == "rep"] == [1, 2]
    cues = [e for e in said if e["event"] == "cue"]
    assert [c["rep"] for c in cues] == [1, 2]
    assert cues[0]["cue"] == "" and "Shallow squat" in cues[1]["cue"]
    recording = run.recording
    assert pose.seen == sorted(pose.seen) and len(pose.seen) > 0.9 * len(points)
    assert recording.processed == len(pose.seen) and recording.frames == frames.frames
    video_id = store_live(
        Store(tmp_path / "store"),
        recording,
        athlete="eve",
        exercise="squat",
        view="side",
        started=dt.datetime.now(dt.UTC),
    )
    store = Store(tmp_path / "store")
    row = store.read("videos", video_ids=[video_id]).iloc[0]
    assert (row["source"], row["frames"]) == ("live", len(pose.seen))
    assert len(store.read("reps", video_ids=[video_id])) == 2
    with av.open(row["path"]) as container:  # the session's video: the frames as they came
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert [read_barcode(im) for im in decoded] == pose.seen
    assert run.overlay == tmp_path / "o.mp4"
    with av.open(str(run.overlay)) as container:
        drawn = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    # The same frames with each person's skeleton and count drawn on them.
    assert len(drawn) == len(decoded)
    changed = [
        float((np.abs(d.astype(int) - v.astype(int)).max(axis=2) > 60).mean())
        for d, v in zip(drawn, decoded, strict=True)
    ]
    assert min(changed) > 0.01


@pytest.mark.slow
def test_a_stream_that_drops_and_comes_back_continues_the_session(tmp_path) -> None:
    first = generate_clip("squat", view="side", reps=2, fps=FPS).points
    second = generate_clip("squat", view="side", reps=1, fps=FPS).points
    points = KeyPoints.concat([first, second])
    clips = [
        write_clip(tmp_path / "a.mp4", 0, len(first)),
        write_clip(tmp_path / "b.mp4", len(first), len(second)),
    ]
    port = free_port()
    senders: list[subprocess.Popen[bytes]] = []
    cut = len(first) - 12  # in the rest after the second rep

    def on_frame(i: int) -> None:
        if i >= cut and len(senders) == 1 and senders[0].poll() is None:
            senders[0].kill()  # the stream drops

    pose = FakePose(points, on_frame)
    threading.Timer(0.5, lambda: senders.append(send(clips[0], port))).start()

    def come_back() -> None:
        while not (len(senders) == 1 and senders[0].poll() is not None):
            time.sleep(0.1)
        time.sleep(2.0)  # past the read timeout: the session is reconnecting
        senders.append(send(clips[1], port))

    restarter = threading.Thread(target=come_back)
    restarter.start()
    run, frames, text = session(tmp_path, port, pose, give_up=2.5)
    restarter.join()
    for s in senders:
        s.wait()
    said = events(text)
    kinds = [e["event"] for e in said]
    assert kinds.count("receiving") == 1 and "reconnecting" in kinds and "reconnected" in kinds
    assert kinds.index("reconnecting") < kinds.index("reconnected")
    assert [e["reps"] for e in said if e["event"] == "rep"] == [1, 2, 3]
    assert max(pose.seen) >= len(points) - 5 and min(i for i in pose.seen if i >= cut) < len(first)
    assert run.recording.session.reps[1][2].start_s > run.recording.session.reps[1][1].end_s + 2


@pytest.mark.slow
def test_the_command_with_real_models_stores_what_it_had_on_sigint(tmp_path) -> None:
    clip = shared_path("data", "videos", "two_people_1080p.mp4")
    port = free_port()
    store = tmp_path / "store"
    options = real_engine_options(tmp_path / "models")
    command = [sys.executable, "-m", "flows.cli.main", "live", "--source"]
    command += [f"udp://127.0.0.1:{port}", "--athlete", "eve", "--exercise", "squat"]
    command += ["--store", str(store), "--reports", str(tmp_path / "reports"), "--json"]
    command += model_args(options)
    live = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sender = send(clip, port, "-stream_loop", "-1", size="640x360")
    try:
        assert live.stdout is not None
        # Once the models are loaded the stream is received (any tries before it are said).
        while (said := json.loads(live.stdout.readline()))["event"] != "receiving":
            assert said["event"] == "reconnecting", said
        time.sleep(3.0)
        live.send_signal(signal.SIGINT)
        out, err = live.communicate(timeout=60)
    finally:
        sender.kill()
        live.kill()
    assert live.returncode == 0, err
    assert "RANDOM (untrained) weights" in err
    saved = json.loads(out.splitlines()[-1])
    assert saved["event"] == "saved" and saved["processed"] > 10
    row = Store(store).read("videos", video_ids=[saved["video_id"]]).iloc[0]
    assert (row["source"], row["frames"], bool(row["random_weights"])) == (
        "live",
        saved["processed"],
        True,
    )
    assert Path(row["path"]).exists() and row["width"] == 640
    assert Path(saved["report"]).is_relative_to(tmp_path / "reports")
    assert Path(saved["report"]).is_file()
