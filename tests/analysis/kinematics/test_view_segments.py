"""The camera view over time: segments at view changes and camera cuts."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.kinematics.view_segments import (
    cut_rows,
    dominant_view,
    video_view,
    view_at,
    view_segments,
)
from analysis.testing.synthetic import generate_clip
from analysis.testing.view_clips import FAR_SIDE, hide_far_side, out_of_frame, view_switch
from posecoach.keypoints import KeyPoints
from tests.helpers import shared_path


@pytest.mark.parametrize("view", ["side", "front", "oblique"])
def test_a_single_view_clip_is_one_segment(view):
    clip = generate_clip("jumping_jacks", view=view, reps=6, noise_px=3.0, seed=1)
    segments = view_segments(clip.points)
    assert [s.view for s in segments] == [view]
    assert segments[0].start_s == 0.0
    assert segments[0].end_s == pytest.approx(clip.keypoints["t_s"].iloc[-1])


@pytest.mark.parametrize("exercise", ["squat", "jumping_jacks", "push_up"])
@pytest.mark.parametrize(("first", "second"), [("front", "side"), ("side", "oblique")])
def test_a_view_change_mid_set_makes_two_segments(exercise, first, second):
    clip, truth = view_switch(exercise, first, second, reps=3, noise_px=2.0, seed=2)
    segments = view_segments(clip.points)
    assert [s.view for s in segments] == [first, second]
    # Each rep's turn lies in the segment of its own view.
    frames = (clip.truth.reps["turn_s"] * clip.truth.fps).round().astype(int)
    assert [view_at(segments, f) for f in frames] == truth
    assert dominant_view(segments) in (first, second)


def test_a_camera_cut_ends_a_segment():
    clip = generate_clip("squat", view="side", reps=4, noise_px=1.0, seed=0)
    df = clip.keypoints.copy()
    cut = len(df) // 2
    xs = [c for c in df.columns if c.endswith(("_x", "_x_raw"))]
    df.loc[cut:, xs] = df.loc[cut:, xs] + 500.0  # the next shot frames the athlete elsewhere
    kp = KeyPoints.from_frame(df)
    assert cut_rows(kp).tolist() == [cut]
    segments = view_segments(kp)
    assert [(s.view, s.cut_before) for s in segments] == [("side", False), ("side", True)]
    assert segments[1].start_frame == cut


def test_view_at_and_dominant_view_edge_cases():
    assert view_at([], 3, default="side") == "side"
    assert dominant_view([]) == "unknown"
    clip = generate_clip("squat", view="front", reps=1)
    segments = view_segments(clip.points)
    # A frame after the last segment takes the nearest one.
    assert view_at(segments, 10_000) == "front"


def test_the_longest_view_of_the_video():
    a, _ = view_switch("squat", "front", "side", reps=2, seed=1)
    b = generate_clip("squat", view="side", reps=2, track_id=1)
    assert video_view(KeyPoints.concat([a.points, b.points])) == "side"


def test_real_jacks_go_from_front_to_side():
    # README: jumping jacks filmed from the front, then from the side (the camera moves round).
    kp = KeyPoints.from_frame(pd.read_csv(shared_path("data", "keypoints", "jacks.csv")))
    views = [s.view for s in view_segments(kp)]
    assert views[0] == "front" and views[-1] == "side"
    assert set(views) <= {"front", "oblique", "side"}


@pytest.mark.parametrize(
    ("name", "view"), [("squats", "side"), ("wall_push_ups", "side"), ("plank", "side")]
)
def test_real_single_view_clips(name, view):
    kp = KeyPoints.from_frame(pd.read_csv(shared_path("data", "keypoints", f"{name}.csv")))
    known = {s.view for s in view_segments(kp)} - {"unknown"}
    assert known == {view}
    assert video_view(kp) == view


def test_joints_leaving_the_frame_are_no_cut():
    # An upper-body close-up: the knees and ankles go in and out of the bottom of the frame as
    # the athlete squats; the visible points' box jumps, the shot does not.
    clip = out_of_frame(generate_clip("squat", view="side", reps=4, noise_px=2.0, seed=3),
                        bottom=0.75)  # fmt: skip
    kp = clip.points
    assert cut_rows(kp).size == 0
    assert [s.view for s in view_segments(kp)] == ["side"]


def test_front_to_side_on_a_small_subject_with_a_hidden_far_side():
    clip, truth = view_switch("squat", "front", "side", reps=3, noise_px=5.0, seed=4,
                              width=356, height=200)  # fmt: skip
    second = clip.keypoints["t_s"] >= clip.truth.reps["start_s"].iloc[3] - 0.5
    hidden = hide_far_side(clip).keypoints
    df = clip.keypoints.copy()
    for name in FAR_SIDE:
        df.loc[second, f"{name}_score"] = hidden.loc[second, f"{name}_score"]
    segments = view_segments(KeyPoints.from_frame(df))
    assert [s.view for s in segments] == ["front", "side"]
    assert all(s.confidence > 0.3 for s in segments)
    frames = (clip.truth.reps["turn_s"] * clip.truth.fps).round().astype(int)
    assert [view_at(segments, f) for f in frames] == truth
