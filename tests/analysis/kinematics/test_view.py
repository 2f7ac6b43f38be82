"""Camera view estimation from keypoints."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.kinematics.view import estimate_view, estimate_views
from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from posecoach.schema import KEYPOINT_INDEX
from tests.helpers import shared_path


@pytest.mark.parametrize("exercise", ["squat", "push_up", "plank", "jumping_jacks", "lunge"])
@pytest.mark.parametrize("view", ["side", "front", "oblique"])
def test_generated_views(exercise, view, request):
    if view == "oblique" and exercise in ("push_up", "plank"):
        # strict: the day this starts passing, the limit is gone and the mark must go too
        request.applymarker(
            pytest.mark.xfail(
                reason="known limit: a horizontal body seen at 45 degrees reads as front "
                "(see view.py)",
                strict=True,
            )
        )
    clip = generate_clip(exercise, view=view, reps=2, holds=1, noise_px=2.0, seed=3)
    assert estimate_view(clip.points) == view


def test_unknown_with_too_few_points():
    clip = generate_clip("squat", reps=1)
    assert estimate_view(clip.points.take(slice(0, 3))) == "unknown"
    hidden = clip.points
    hidden.scores[:, KEYPOINT_INDEX["left_hip"]] = 0.05
    assert estimate_view(hidden) == "unknown"


def test_per_track():
    a = generate_clip("squat", view="side", reps=1, track_id=1).points
    b = generate_clip("squat", view="front", reps=1, track_id=2).points
    assert estimate_views(KeyPoints.concat([b, a])) == {1: "side", 2: "front"}


@pytest.mark.parametrize("name", ["squats", "wall_push_ups", "plank"])
def test_real_side_views(name):
    df = pd.read_csv(shared_path("data", "keypoints", f"{name}.csv"))
    assert estimate_view(KeyPoints.from_frame(df)) == "side"
