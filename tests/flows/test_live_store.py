"""A live session's record (shared by the web and the command line): counted, its frames kept
as JPEGs as it goes and transcoded to H.264 when stored, so that a keypoints row's frame is
found in that video.

The fake estimator answers a generated 3-squat set's keypoints in call order; each processed
frame is a flat grey of its own (by its number in the set), so the video's frames can be told
apart. Every third received frame is dropped unprocessed, as a server behind its camera does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from analysis.kinematics.view_segments import ViewSegment
from analysis.testing.synthetic import generate_clip
from flows.live_store import LiveRecording, live_video_dir, store_live
from posecoach.keypoints import KeyPoints
from posecoach.store import Store
from reports.thumbnails import FrameReader
from rules.loader import load_library

FPS = 30.0


@pytest.fixture(scope="module")
def squats() -> Any:
    return generate_clip("squat", view="side", reps=3, depth=[90, 125, 90], fps=FPS).points


def grey(i: int) -> int:
    return 20 + 10 * (i % 20)


def test_a_session_is_stored_with_its_video_and_rows_that_find_their_frames(
    tmp_path, squats, monkeypatch
) -> None:
    monkeypatch.setattr("flows.live_store.CHUNK_FRAMES", 50)  # rows joined as they go
    kept = [i for i in range(len(squats)) if i % 3 != 2]
    order = iter(kept)

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = next(order)
        assert abs(float(image.mean()) - grey(i)) < 1  # the frame pushed
        kp = np.concatenate([squats.xy[i], squats.scores[i][:, None]], axis=1)
        return [(4, squats.box[i].tolist(), kp)]

    store = Store(tmp_path / "store")
    video_dir = live_video_dir(tmp_path / "store")
    assert video_dir == (tmp_path / "store" / "_live").resolve()
    assert live_video_dir("s3://bucket/store") is None
    recording = LiveRecording(load_library().find("squat"), "side", pose, video_dir)
    replies = []
    for i in range(len(squats)):
        t_s = i / FPS + 0.0004 * (i % 3)  # arrival jitter below a millisecond
        frame = recording.received(bytes([i % 256]) * 10, t_s)
        if i % 3 != 2:
            image = np.full((120, 160, 3), grey(i), np.uint8)
            replies.append(recording.push(frame, t_s, image))
    assert [r["frame"] for r in replies] == kept  # replies number frames as received
    assert replies[-1]["people"][0]["reps"] == 3
    assert [len(c) for c in recording.chunks] == [50, 50, 50] and len(recording.rows) == 31

    started = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    video_id = store_live(
        store, recording, athlete="eve", exercise="squat", view="side", started=started
    )
    timing = recording.timing()  # ms per call of each stage, for the log and the benchmark
    assert {k: v["calls"] for k, v in timing.items()} == dict.fromkeys(
        ("record", "rules", "jpeg_encode", "keep", "transcode"), len(kept)
    )
    row = store.read("videos", video_ids=[video_id]).iloc[0]
    path = video_dir / "2026-12-01" / f"{video_id}.mp4"
    assert row["path"] == str(path) and path.exists()
    assert [p.name for p in video_dir.rglob("*")] == ["2026-12-01", path.name]  # no temporary
    assert (row["source"], row["codec"], row["frames"]) == ("live", "h264", len(kept))
    assert (row["width"], row["height"]) == (160, 120)
    assert row["fps"] == pytest.approx(FPS * 2 / 3, rel=0.05)  # the processed frames' rate
    assert len(store.read("reps", video_ids=[video_id])) == 3

    points = KeyPoints.from_frame(store.read("keypoints", video_ids=[video_id]))
    assert list(points.frame) == list(range(len(kept)))  # the video's own frame numbers
    expected_ms = [round(1000 * (i / FPS + 0.0004 * (i % 3))) for i in kept]
    assert list(np.round(points.t_s * 1000).astype(int)) == expected_ms
    # The reports' frame reader finds each row's frame, in order and by seeking back.
    with FrameReader(str(path), 160, 120) as reader:
        for k in [0, 1, 2, 40, 41, 150, 3, len(kept) - 1]:
            image = reader.read(int(points.frame[k]), float(points.t_s[k]))
            assert image is not None and abs(float(image.mean()) - grey(kept[k])) < 6, k


def test_a_session_that_is_not_stored_leaves_no_file(tmp_path, squats) -> None:
    video_dir = tmp_path / "live"

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        return []

    recording = LiveRecording(load_library().find("squat"), "side", pose, video_dir)
    recording.push(recording.received(b"x", 0.0), 0.0, np.zeros((16, 16, 3), np.uint8))
    recording.close()
    assert [p for p in video_dir.rglob("*") if p.is_file()] == []


def test_a_session_without_a_view_is_reported_in_the_view_its_cues_used(
    tmp_path, monkeypatch
) -> None:
    """No declared view (the QA case): the person's view is estimated from their first frames
    (replies: ``starting``, view None, then ``front``); the stored session records it
    (``videos.view`` estimated, the keypoints' ``live_views``) and scoring judges each rep in
    it, even where estimating over the whole session would say otherwise (here made to say
    oblique, where no squat check is assessable), on the first score and on a re-score."""
    from rules.scoring import score_video

    squats = generate_clip("squat", view="front", reps=3, valgus_deg=[0, 14, 0], fps=FPS).points
    order = iter(range(len(squats)))

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = next(order)
        return [
            (
                4,
                squats.box[i].tolist(),
                np.concatenate([squats.xy[i], squats.scores[i][:, None]], axis=1),
            )
        ]

    store = Store(tmp_path / "store")
    rule = load_library().find("squat")
    front_checks = {c.id for c in rule.checks if "front" in c.views}
    assert front_checks and front_checks != {c.id for c in rule.checks}
    recording = LiveRecording(rule, None, pose, None)
    replies = []
    for i in range(len(squats)):
        frame = recording.received(bytes([i % 256]) * 10, i / FPS)
        replies.append(recording.push(frame, i / FPS, np.zeros((72, 128, 3), np.uint8)))
    people = [r["people"][0] for r in replies]
    assert (people[0]["phase"], people[0]["reps"], people[0]["view"]) == ("starting", 0, None)
    assert people[-1]["view"] == "front" and people[-1]["reps"] == 3
    cues = {p["cue"] for p in people} - {""}
    assert len(cues) == 1  # the valgus rep's

    def oblique(track: KeyPoints) -> list[ViewSegment]:
        t = track.t_s
        return [ViewSegment(int(track.frame.min()), int(track.frame.max()), float(t.min()),
                            float(t.max()), "oblique", 1.0, False)]  # fmt: skip

    monkeypatch.setattr("rules.scoring.view_segments", oblique)
    started = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    video_id = store_live(
        store, recording, athlete="eve", exercise="squat", view=None, started=started
    )
    row = store.read("videos", video_ids=[video_id]).iloc[0]
    assert (row["view"], row["view_source"]) == ("front", "estimated")
    last = len(squats) - 1
    assert store.metadata("keypoints", video_id)["live_views"] == {"4": [[0, last, "front"]]}
    for _ in range(2):  # stored, then scored again from the store (posecoach score)
        reps = store.read("reps", video_ids=[video_id])
        findings = store.read("findings", video_ids=[video_id])
        assert list(reps["view"]) == ["front"] * 3
        judged = findings[findings["rep_index"] >= 0]
        assert set(judged["check_id"]) == front_checks
        assert not judged["severity"].eq("not_assessable").any()
        unseen = findings[findings["message"].str.contains("not assessable from this view")]
        assert unseen["message"].str.contains("the camera view is front").all()
        flagged = findings[findings["severity"].isin(["info", "caution", "risk"])]
        assert set(flagged["message"]) == cues
        score_video(store, video_id)
    # Without the live views (a session stored before them) the estimate decides: oblique.
    monkeypatch.setattr("rules.scoring.live_views", lambda *a: {})
    score_video(store, video_id)
    findings = store.read("findings", video_ids=[video_id])
    assert findings["message"].str.contains("the camera view is oblique").any()
