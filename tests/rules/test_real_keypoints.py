"""Real exercise keypoints (../shared/data/keypoints, MoveNet) imported and scored.

Counts by eye (README there; the table is analysis.testing.real_clips): squats 11, jumping jacks
19, wall push-ups 5, plank held ~10 s.
"""

from __future__ import annotations

import pytest

from analysis.testing.real_clips import REAL_CLIPS
from flows.importing import import_keypoints
from posecoach.store import Store
from tests.helpers import shared_path

# The clips counted in reps (the plank is a hold, below); measurable is what a good count gives.
CASES = [(c.name, c.exercise, c.measurable) for c in REAL_CLIPS if c.kind == "rep"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("real") / "store")


@pytest.mark.parametrize(("name", "exercise", "count"), CASES)
def test_rep_counts_match_the_eye(store, name, exercise, count):
    path = shared_path("data", "keypoints", f"{name}.csv")
    row = import_keypoints(path, store, athlete="real", exercise=exercise, date="2025-01-01")
    reps = store.read("reps", [row.video_id])
    counted = reps[~reps["partial"].eq(True)]  # a partial rep (cut by the clip) is not counted
    print(f"{name}: {len(counted)} reps, {len(reps) - len(counted)} partial (by eye {count})")
    assert abs(len(counted) - count) <= 1
    assert (reps["kind"] == "rep").all()
    assert (reps["end_s"] > reps["start_s"]).all()


def test_plank_hold_time(store):
    path = shared_path("data", "keypoints", "plank.csv")
    row = import_keypoints(path, store, athlete="real", exercise="plank", date="2025-01-01")
    reps = store.read("reps", [row.video_id])
    print(f"plank: holds {reps['duration_s'].round(2).tolist()}")
    assert (reps["kind"] == "hold").all()
    assert reps["duration_s"].max() == pytest.approx(10, abs=3)
    assert len(reps) == 1
