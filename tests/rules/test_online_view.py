"""Live sessions without a declared view: each track's view estimated from its own frames.

Generated clips (exact views) are streamed into `rules.online_session.OnlineSession` once with
their view declared and once without: the estimated session must pick the clip's view, say
``starting`` with 0 reps while it estimates, and from then on answer as the declared one
(its buffered rows are replayed into the counter, which is causal), with the same reps and cues.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.kinematics.view_online import ESTIMATE_S, MAX_ESTIMATE_S
from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from rules.loader import load_library
from rules.online_session import OnlineSession
from rules.online_track import STARTING, LiveTrack


@pytest.fixture(scope="module")
def library():
    return load_library()


def run(session: OnlineSession, kp: KeyPoints) -> list[dict]:
    states = [session.push(kp.take(kp.frame == f)) for f in np.unique(kp.frame)]
    session.finish()
    return states


def summary(reps) -> list[tuple]:
    return [(r.kind, r.start_frame, r.turn_frame, r.end_frame, r.cue) for r in reps]


CLIPS = [
    ("squat", "side", {"reps": 5, "depth": [90, 125, 90, 85, 95]}),
    ("squat", "front", {"reps": 4, "valgus_deg": [0, 14, 0, 0]}),
    ("push_up", "side", {"reps": 4, "hip_sag_deg": [0, 20, 0, 0]}),
    ("jumping_jacks", "front", {"reps": 6}),
    ("plank", "side", {"hip_sag_deg": 15}),
]


@pytest.mark.parametrize(("exercise", "view", "kwargs"), CLIPS)
def test_the_estimated_view_counts_and_cues_as_the_declared_one(library, exercise, view, kwargs):
    clip = generate_clip(exercise, view=view, track_id=3, **kwargs)
    rule = library.find(exercise)
    declared, estimated = OnlineSession(rule, view), OnlineSession(rule, None)
    want, got = run(declared, clip.points), run(estimated, clip.points)
    frames = np.unique(clip.points.frame)
    assert estimated.spans == {3: [(int(frames[0]), int(frames[-1]), view)]}
    assert summary(estimated.reps[3]) == summary(declared.reps[3])
    n = kwargs.get("reps", 1)
    assert len(estimated.reps[3]) == n
    if kwargs.get("depth") or kwargs.get("valgus_deg") or kwargs.get("hip_sag_deg"):
        assert any(r.cue for r in estimated.reps[3])  # the faults are cued, as declared
    t = clip.points.t_s[np.argsort(clip.points.frame)]
    starting = [s[3].phase == STARTING for s in got]
    k = starting.index(False)  # the first frame counted
    assert all(starting[:k]) and not any(starting[k:])
    assert ESTIMATE_S <= t[k] - t[0] < ESTIMATE_S + 0.1
    assert all(s[3].reps == 0 for s in got[:k])
    # From then on the replies are the declared session's: the replay caught up.
    assert [s[3].reps for s in got[k:]] == [s[3].reps for s in want[k:]]
    assert [s[3].phase for s in got[k:]] == [s[3].phase for s in want[k:]]
    # Reps that ended while estimating are reported once, with the first counted frame.
    ended = [r for s in got for r in s[3].ended]
    assert summary(ended) == summary([r for s in want for r in s[3].ended])


def test_a_clear_change_of_view_switches_the_counter_at_a_rest(library):
    """Three squats seen from the front, then (the camera moved) four from the side, one
    track: counted in front, then in side once the side view has held for about 2 s, at the
    next rest or rep end; seven reps, numbered on; the reps after the switch are those the
    side set's declared session counts there."""
    rule = library.find("squat")
    front = generate_clip("squat", view="front", reps=3, track_id=1).points
    side = generate_clip("squat", view="side", reps=4, track_id=1, seed=1).points
    shift = int(front.frame.max()) + 1
    side_later = KeyPoints(**{**side.__dict__, "frame": side.frame + shift,
                              "t_s": side.t_s + shift / 30.0})  # fmt: skip
    session = OnlineSession(rule, None)
    run(session, KeyPoints.concat([front, side_later]))
    spans = session.spans[1]
    assert [v for _, _, v in spans] == ["front", "side"]
    assert spans[0][1] == spans[1][0] - 1
    assert 0 < spans[1][0] - shift <= 3.0 * 30  # detected within 3 s of the change
    reps = session.reps[1]
    assert len(reps) == 7
    assert [r.index for r in reps] == list(range(7))
    alone = OnlineSession(rule, "side")
    run(alone, side_later)
    after = [(r.start_frame, r.end_frame) for r in alone.reps[1] if r.start_frame >= spans[1][0]]
    assert [(r.start_frame, r.end_frame) for r in reps if r.start_frame >= spans[1][0]] == after
    assert len(after) >= 2


def test_a_track_without_a_view_waits_then_settles_for_unknown_with_bounded_rows(library):
    """A person whose shoulders and hips are never seen: no view to estimate; the track says
    ``starting`` for MAX_ESTIMATE_S, then counts in ``unknown``; what it keeps stays bounded."""
    clip = generate_clip("squat", view="side", reps=8)
    kp = clip.points
    scores = kp.scores.copy()
    scores[:, 5:7] = 0.0  # shoulders
    scores[:, 11:13] = 0.0  # hips
    kp = KeyPoints(**{**kp.__dict__, "scores": scores})
    kp = kp.take(np.argsort(kp.frame))
    track = LiveTrack(library.find("squat"), None, 0)
    held, yaws, phases = [], [], []
    for i in range(len(kp)):
        state = track.push(kp.take([i]))
        held.append(track.buffered)
        assert track.estimator is not None
        yaws.append(track.estimator.buffered)
        phases.append(state.phase)
    k = phases.index(next(p for p in phases if p != STARTING))
    assert kp.t_s[k] - kp.t_s[0] == pytest.approx(MAX_ESTIMATE_S, abs=0.05)
    assert track.view == "unknown"
    assert max(held) <= int((MAX_ESTIMATE_S + 2.5) * 30)
    assert max(held[-60:]) < max(held)  # the estimation's rows are let go
    assert max(yaws) <= MAX_ESTIMATE_S * 30 + 1 and max(yaws[-60:]) <= 2.0 * 30 + 1
