"""Scoring with the camera view over time: each rep judged in the view of its own segment."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.testing.synthetic import generate_clip
from analysis.testing.view_clips import view_switch
from flows.importing import import_keypoints
from posecoach.schema import REPS
from posecoach.store import Store, conform
from posecoach.videos import VideoRow
from rules.loader import load_library
from rules.scoring import score_keypoints, score_video
from tests.helpers import shared_path

LIB = load_library()


def _judged(findings: pd.DataFrame) -> set[tuple[int, str]]:
    ok = findings[findings["severity"] != "not_assessable"]
    return {(int(r), str(c)) for r, c in zip(ok["rep_index"], ok["check_id"], strict=True)}


def test_a_front_then_side_set_judges_each_rep_in_its_own_view():
    clip, truth = view_switch("squat", "front", "side", reps=3, noise_px=1.0, seed=2)
    result = score_keypoints(clip.points, "squat", library=LIB)
    assert result.reps["view"].tolist() == truth
    assert [s.view for s in result.view_segments[0]] == ["front", "side"]
    judged = _judged(result.findings)
    # Valgus from the front shot only, depth and trunk lean from the side shot only.
    assert {r for r, c in judged if c == "knee_valgus"} == {0, 1, 2}
    assert {r for r, c in judged if c == "depth"} == {3, 4, 5}
    assert {r for r, c in judged if c == "trunk_lean"} == {3, 4, 5}
    na = result.findings[result.findings["severity"] == "not_assessable"]
    assert (na["rep_index"] >= 0).all()  # every check is assessable in some rep: none per track
    depth_na = na[na["check_id"] == "depth"]
    assert depth_na["rep_index"].tolist() == [0, 1, 2]
    assert "this rep's camera view is front" in depth_na["message"].iloc[0]


def test_a_single_view_clip_keeps_its_track_level_findings():
    clip = generate_clip("squat", view="front", reps=3)
    result = score_keypoints(clip.points, "squat", library=LIB)
    assert result.reps["view"].tolist() == ["front"] * 3
    na = result.findings[result.findings["severity"] == "not_assessable"]
    assert set(na["check_id"]) == {"depth", "trunk_lean"}
    assert (na["rep_index"] == -1).all()
    assert "the camera view is front" in na["message"].iloc[0]


def test_a_declared_view_wins_for_every_rep():
    clip, _ = view_switch("squat", "front", "side", reps=2, seed=1)
    result = score_keypoints(clip.points, "squat", library=LIB, view="side")
    assert result.views == {0: "side"}
    # (the knee-angle signal of the declared side view misses the front shot's reps)
    assert len(result.reps) >= 2 and set(result.reps["view"]) == {"side"}
    assert result.view_segments == {}


def test_reps_view_is_stored_and_old_files_read_it_as_null(tmp_path):
    store = Store(tmp_path / "store")
    clip, truth = view_switch("squat", "front", "side", reps=2, seed=1)
    kp = clip.keypoints.copy()
    kp.insert(0, "video_id", "vid1")
    store.write("keypoints", kp, video_id="vid1", date="2025-03-04")
    row = VideoRow(video_id="vid1", date="2025-03-04", exercise="squat", view="unknown",
                   status="ok", fps=30.0)  # fmt: skip
    score_video(store, "vid1", video=row.to_dict())
    assert store.read("reps", ["vid1"])["view"].tolist() == truth
    segments = store.metadata("reps", "vid1")["view_segments"]["0"]
    assert [s[2] for s in segments] == ["front", "side"]
    # A reps file written before the column existed reads with a null view.
    old = pa.schema([f for f in REPS if f.name != "view"])
    reps = store.read("reps", ["vid1"]).drop(columns=["date"]).assign(video_id="old")
    table = conform("reps", reps).select(old.names)
    path = tmp_path / "store" / "reps" / "date=2025-03-04" / "old.parquet"
    pq.write_table(table, path)
    both = store.read("reps").set_index("video_id")
    assert both.loc["old", "view"].isna().all()
    assert both.loc["vid1", "view"].tolist() == truth


REAL = [
    # name, exercise, videos.view, the views the reps are seen in (first, last)
    ("squats", "squat", "side", ("side", "side")),
    ("wall_push_ups", "wall push-up", "side", ("side", "side")),
    ("jumping_jacks_front", "jumping_jacks", "front", ("front", "front")),
    ("jacks", "jumping_jacks", "side", ("front", "side")),  # filmed front, then side
]


@pytest.mark.parametrize(("name", "exercise", "video_view", "rep_views"), REAL)
def test_real_clips_views(tmp_path, name, exercise, video_view, rep_views):
    store = Store(tmp_path / "store")
    path = shared_path("data", "keypoints", f"{name}.csv")
    row = import_keypoints(path, store, athlete="real", exercise=exercise, date="2025-01-01")
    assert row.view == video_view
    reps = store.read("reps", [row.video_id]).sort_values("turn_s")
    assert (reps["view"].iloc[0], reps["view"].iloc[-1]) == rep_views
