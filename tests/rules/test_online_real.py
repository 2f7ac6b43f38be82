"""The real clips (../shared/data/keypoints, MoveNet) streamed frame by frame count as offline.

Issue 16: "Streamed frame by frame, the real clips in ../shared/data/keypoints give the same
counts as the offline analysis." Each clip is imported and scored offline as
tests/rules/test_real_keypoints.py does; its stored keypoints are then pushed one row at a time
into `rules.online.OnlineCounter`, in the view the offline analysis estimated for the track (a
live caller names the view). The offline counts are analysis.testing.real_clips' ``REAL_CLIPS``.

All six match, so nothing here is an expected failure. Bounds do not all match: step_ups.csv's
first rep streams as 10.8-16.6 s (offline 10.8-11.9 s, then a partial one at 16.5 s), since the
close-up's stray hip detections (single frames 0.4 s apart), which `rules.reps.drop_strays`
removes offline by looking 0.25 s past them, reach the causal counter as a higher turn.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.testing.real_clips import REAL_CLIPS
from analysis.tracking.causal import KeypointSmoother
from flows.importing import import_keypoints
from posecoach.store import Store
from rules.loader import load_library
from rules.online import OnlineCounter
from rules.online_track import LiveTrack
from rules.scoring import as_keypoints
from tests.helpers import shared_path

#: (clip, exercise, counted offline: reps, or holds)
CASES = [(c.name, c.exercise, c.measurable) for c in REAL_CLIPS]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("online_real") / "store")


@pytest.mark.parametrize(("name", "exercise", "count"), CASES)
def test_streamed_counts_equal_offline(store, name, exercise, count):
    path = shared_path("data", "keypoints", f"{name}.csv")
    row = import_keypoints(path, store, athlete="real", exercise=exercise, date="2025-01-01")
    reps = store.read("reps", [row.video_id])
    offline = reps[~reps["partial"].eq(True)]
    assert len(offline) == count  # the offline figure this test compares with
    keypoints = as_keypoints(store.read("keypoints", [row.video_id]))
    rule = load_library().find(exercise)
    streamed = []
    for tid in keypoints.track_ids():
        track = keypoints.for_track(tid)
        track = track.take(np.argsort(track.frame, kind="stable"))
        of_track = reps[reps["track_id"] == tid]
        view = str(of_track["view"].mode().iloc[0]) if len(of_track) else "side"
        counter = OnlineCounter(rule, view, int(tid))
        for i in range(len(track)):
            counter.push(track.take([i]))
        counter.finish()
        streamed += counter.reps
    print(f"{name}: online {len(streamed)}, offline {len(offline)}")
    assert len(streamed) == len(offline)
    assert {r.kind for r in streamed} == {rule.kind}
    # Every streamed rep overlaps an offline one: the same reps, not only as many.
    for rep in streamed:
        assert ((offline["start_s"] <= rep.end_s) & (offline["end_s"] >= rep.start_s)).any()


@pytest.mark.parametrize(("name", "exercise", "count"), CASES)
def test_streamed_through_the_live_smoother_counts_equal_offline(store, name, exercise, count):
    """The live path smooths each frame's raw keypoints causally (One Euro,
    `analysis.tracking.causal`) before the counter: the counts stay the offline ones."""
    path = shared_path("data", "keypoints", f"{name}.csv")
    row = import_keypoints(path, store, athlete="real", exercise=exercise, date="2025-01-01")
    reps = store.read("reps", [row.video_id])
    offline = reps[~reps["partial"].eq(True)]
    keypoints = as_keypoints(store.read("keypoints", [row.video_id]))
    rule = load_library().find(exercise)
    smoother = KeypointSmoother()
    streamed = []
    for tid in keypoints.track_ids():
        track = keypoints.for_track(tid)
        track = track.take(np.argsort(track.frame, kind="stable"))
        of_track = reps[reps["track_id"] == tid]
        view = str(of_track["view"].mode().iloc[0]) if len(of_track) else "side"
        counter = OnlineCounter(rule, view, int(tid))
        for i in range(len(track)):
            raw = track.take([i])
            xy = smoother(int(tid), float(raw.t_s[0]), raw.xy_raw[0], raw.scores[0], raw.box[0])
            counter.push(dataclasses.replace(raw, xy=xy[None].astype(np.float32)))
        counter.finish()
        streamed += counter.reps
    print(f"{name}: online (One Euro) {len(streamed)}, offline {len(offline)}")
    assert len(streamed) == count == len(offline)
    for rep in streamed:
        assert ((offline["start_s"] <= rep.end_s) & (offline["end_s"] >= rep.start_s)).any()


@pytest.mark.parametrize(("name", "exercise", "count"), CASES)
def test_streamed_without_a_declared_view_counts_equal_offline(store, name, exercise, count):
    """A live session without a declared view (`posecoach live` without ``--view``): each
    track's view is estimated from its own first frames (`rules.online_track.LiveTrack`); the
    counts are still the offline ones, and the views counted in are those offline judged the
    reps in."""
    path = shared_path("data", "keypoints", f"{name}.csv")
    row = import_keypoints(path, store, athlete="real", exercise=exercise, date="2025-01-01")
    reps = store.read("reps", [row.video_id])
    offline = reps[~reps["partial"].eq(True)]
    keypoints = as_keypoints(store.read("keypoints", [row.video_id]))
    rule = load_library().find(exercise)
    streamed, views = [], set()
    for tid in keypoints.track_ids():
        track = keypoints.for_track(tid)
        track = track.take(np.argsort(track.frame, kind="stable"))
        live = LiveTrack(rule, None, int(tid))
        for i in range(len(track)):
            live.push(track.take([i]))
        live.finish()
        streamed += live.reps
        views |= {v for _, _, v in live.spans()} if live.reps else set()
    print(f"{name}: online (view estimated) {len(streamed)}, offline {len(offline)}, {views}")
    assert len(streamed) == count == len(offline)
    assert views == set(offline["view"])
    for rep in streamed:
        assert ((offline["start_s"] <= rep.end_s) & (offline["end_s"] >= rep.start_s)).any()
