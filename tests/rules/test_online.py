"""The online (causal) counter against the offline path, on generated clips with exact answers.

Each clip is streamed one frame at a time into `rules.online.OnlineCounter` and scored offline
(`rules.scoring.score_keypoints`); the counts, the rep bounds and the findings must agree.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from rules.loader import load_library
from rules.online import OnlineCounter
from rules.scoring import score_keypoints


@pytest.fixture(scope="module")
def library():
    return load_library()


def stream(counter: OnlineCounter, track: KeyPoints) -> list:
    """Every frame pushed in frame order; the states returned, then the session finished."""
    track = track.take(np.argsort(track.frame, kind="stable"))
    states = [counter.push(track.take([i])) for i in range(len(track))]
    counter.finish()
    return states


def offline_and_online(library, exercise: str, view: str, **kwargs):
    clip = generate_clip(exercise, view=view, **kwargs)
    result = score_keypoints(clip.points, exercise, view=view, library=library)
    counter = OnlineCounter(library.find(exercise), view)
    states = stream(counter, clip.points)
    return clip, result, counter, states


CLIPS = [
    ("squat", "side", {"reps": 5, "depth": [90, 125, 90, 85, 95]}),
    ("squat", "front", {"reps": 4}),
    ("push_up", "side", {"reps": 4, "hip_sag_deg": [0, 20, 0, 0]}),
    ("jumping_jacks", "front", {"reps": 6}),
    ("hip_hinge", "side", {"reps": 4}),
    ("lunge", "side", {"reps": 3}),
]


@pytest.mark.parametrize(("exercise", "view", "kwargs"), CLIPS)
def test_counts_bounds_and_findings_equal_offline(library, exercise, view, kwargs):
    clip, result, counter, _ = offline_and_online(library, exercise, view, **kwargs)
    assert len(counter.reps) == result.n_reps == kwargs["reps"]
    offline = result.reps[~result.reps["partial"].eq(True)]
    assert [r.start_s for r in counter.reps] == pytest.approx(offline["start_s"].tolist())
    assert [r.end_s for r in counter.reps] == pytest.approx(offline["end_s"].tolist())
    findings = result.findings[result.findings["rep_index"] >= 0]
    for rep in counter.reps:
        expected = findings[findings["rep_index"] == rep.index]
        got = {(f.check_id, f.severity, f.message) for f in rep.findings}
        want = set(zip(expected["check_id"], expected["severity"], expected["message"],
                       strict=True))  # fmt: skip
        assert got == want, f"rep {rep.index}"


def test_cue_only_on_the_faulted_reps(library):
    # Rep 2 is planted shallow (knee 125 deg at the bottom), rep 4 deep enough.
    _, result, counter, states = offline_and_online(
        library, "squat", "side", reps=4, depth=[90, 125, 90, 88]
    )
    cues = [r.cue for r in counter.reps]
    assert [bool(c) for c in cues] == [False, True, False, False]
    flagged = [f for f in counter.reps[1].findings if f.severity != "ok"]
    assert [f.check_id for f in flagged] == ["depth"]
    offline = result.findings.query("rep_index == 1 and check_id == 'depth'").iloc[0]
    assert cues[1] == offline["message"] and offline["severity"] == "caution"
    # The cue comes when the rep has ended, never before: after its end frame (10 % of the
    # range short of the rest), once the signal has settled at rest: within 1 s.
    ended = {r.index: s.t_s for s in states for r in s.ended}
    for rep in counter.reps:
        assert rep.end_s < ended[rep.index] <= rep.end_s + 1.0


def test_phases_in_order_and_count_rises_once_per_rep(library):
    _, _, counter, states = offline_and_online(library, "squat", "side", reps=3)
    phases = [s.phase for s in states]
    # Collapse runs: each rep goes rest -> descent -> turn -> ascent -> rest.
    runs = [p for k, p in enumerate(phases) if k == 0 or p != phases[k - 1]]
    assert runs == ["rest", *(["descent", "turn", "ascent", "rest"] * 3)]
    counts = [s.reps for s in states]
    assert counts == sorted(counts) and counts[-1] == 3
    assert sorted(set(counts)) == [0, 1, 2, 3]


def test_noisy_clip_counts_as_offline(library):
    clip = generate_clip("squat", view="side", reps=6, noise_px=2.0, dropout=0.03, seed=4)
    result = score_keypoints(clip.points, "squat", view="side", library=library)
    counter = OnlineCounter(library.find("squat"), "side")
    stream(counter, clip.points)
    assert len(counter.reps) == result.n_reps == 6


def test_hold_time_runs_and_the_ended_hold_is_emitted(library):
    clip, result, counter, states = offline_and_online(
        library, "plank", "side", holds=1, hold_s=8.0, hip_sag_deg=20.0
    )
    assert result.n_holds == len(counter.reps) == 1
    hold = counter.reps[0]
    offline = result.reps.iloc[0]
    assert hold.kind == "hold"
    assert (hold.start_s, hold.end_s) == pytest.approx((offline["start_s"], offline["end_s"]))
    held = [s.hold_s for s in states if s.phase == "hold"]
    assert held == sorted(held) and held[-1] == pytest.approx(hold.duration_s, abs=0.1)
    assert "hold" in {s.phase for s in states} and states[0].phase == "rest"
    # The planted 20 deg sag is the cue, as offline finds it.
    sag = result.findings[result.findings["check_id"] == "hip_sag"].iloc[0]
    assert sag["severity"] in ("caution", "risk")
    assert hold.cue == sag["message"]
    assert hold.in_target_s == pytest.approx(offline["in_target_s"], abs=0.05)


def test_memory_stays_bounded_over_a_ten_minute_session(library):
    """Ten minutes of squats at 30 frames/s (a rep every 3 s, 200 reps, then a 60 s pause):
    the frames held never exceed one rep plus the rest window, whatever the length."""
    rule = library.find("squat")
    counter = OnlineCounter(rule, "side", fps=30.0)
    fps, tempo = 30.0, 3.0
    n = int(11 * 60 * fps)
    held = []
    for f in range(n):
        t = f / fps
        phase = (t % tempo) / tempo
        down = 0.0 if t >= 600 or phase >= 0.7 else math.sin(math.pi * phase / 0.7)
        knee = 170.0 - 80.0 * down + 0.5 * math.sin(1.7 * f)
        counter.push_metrics(f, t, {"knee_angle_deg": knee})
        held.append(counter.buffered)
    counter.finish()
    assert len(counter.reps) == 200
    bound = int((tempo + 2.0) * fps)  # one rep (2.1 s) with its rest window (2 s) and margins
    assert max(held) <= bound
    # Flat: the last minute (a pause) holds no more than the first.
    assert max(held[-int(60 * fps) :]) <= max(held[: int(60 * fps)])


def test_frames_must_increase(library):
    clip = generate_clip("squat", view="side", reps=1)
    track = clip.points
    counter = OnlineCounter(library.find("squat"), "side")
    counter.push(track.take([5]))
    with pytest.raises(ValueError, match="frames must increase"):
        counter.push(track.take([5]))


def test_skipped_frames_are_gaps_not_lost_time(library):
    # Every third frame dropped (a live server that cannot keep up): still every rep.
    clip = generate_clip("squat", view="side", reps=4)
    track = clip.points
    kept = track.take(track.frame % 3 != 1)
    counter = OnlineCounter(library.find("squat"), "side")
    stream(counter, kept)
    assert len(counter.reps) == 4


def test_a_long_hold_keeps_a_bounded_buffer_and_its_whole_time(library):
    """A three-minute plank at 30 frames/s: the hold's time runs to the end, the frames held
    stop growing at MAX_HOLD_BUFFER_S, the ended hold has its whole duration and time in target."""
    from rules.online import MAX_HOLD_BUFFER_S

    counter = OnlineCounter(library.find("plank"), "side", fps=30.0)
    fps = 30.0
    n = int(200 * fps)
    held, states = [], []
    for f in range(n):
        in_plank = 5 * fps <= f < 185 * fps
        metrics = {
            "body_line_deg": 175.0 if in_plank else 100.0,
            "knee_angle_deg": 175.0,
            "trunk_to_horizontal_deg": 10.0 if in_plank else 80.0,
            # On target (-10..10 deg) for the first two minutes of the hold, then sagging.
            "hip_sag_deg": 2.0 if f < 125 * fps else 15.0,
        }
        states.append(counter.push_metrics(f, f / fps, metrics))
        held.append(counter.buffered)
    counter.finish()
    assert len(counter.reps) == 1
    hold = counter.reps[0]
    assert hold.duration_s == pytest.approx(180.0, abs=0.05)
    assert hold.in_target_s == pytest.approx(120.0, abs=0.1)
    assert max(states, key=lambda s: s.hold_s).hold_s == pytest.approx(180.0, abs=0.05)
    assert max(held) <= MAX_HOLD_BUFFER_S * fps + 10


@pytest.mark.parametrize(("exercise", "view"), [("squat", "side"), ("jumping_jacks", "front")])
def test_a_session_cut_mid_rep_counts_as_offline(library, exercise, view):
    """Sessions that start and end anywhere in a rep (0-36 % of a 3-rep clip cut off the start,
    0-52 frames off the end; 52 ends a squat just after its last turn): the counter counts what
    offline counts of the same frames (a cut rep whose turn and most of its range are seen,
    `rules.reps`)."""
    track = generate_clip(exercise, view=view, reps=3).points
    n = len(track)
    wrong = []
    for start in range(0, int(0.37 * n), int(0.09 * n)):
        for cut_end in range(0, 53, 13):
            part = track.take(slice(start, n - cut_end))
            offline = score_keypoints(part, exercise, view=view, library=library).n_reps
            counter = OnlineCounter(library.find(exercise), view)
            stream(counter, part)
            if len(counter.reps) != offline:
                wrong.append((start, cut_end, offline, len(counter.reps)))
    assert wrong == []


def test_a_session_counts_each_person_on_its_own(library):
    """Two people in one camera's frames (track 1: 3 squats, track 2: 5, starting 1 s later),
    pushed a frame at a time: each track's count is its own, as offline counts each track."""
    from posecoach.keypoints import KeyPoints
    from rules.online_session import OnlineSession

    one = generate_clip("squat", view="side", reps=3, track_id=1).points
    two = generate_clip("squat", view="side", reps=5, track_id=2, seed=1).points
    two = KeyPoints(**{**two.__dict__, "frame": two.frame + 30, "t_s": two.t_s + 1.0})
    both = KeyPoints.concat([one, two])
    offline = score_keypoints(both, "squat", view="side", library=library)
    by_track = offline.reps[~offline.reps["partial"].eq(True)].groupby("track_id").size()
    session = OnlineSession(library.find("squat"), "side")
    seen = {}
    for f in np.unique(both.frame):
        for tid, state in session.push(both.take(both.frame == f)).items():
            seen[tid] = state.reps
    reps = session.finish()
    assert {t: len(r) for t, r in reps.items()} == {1: 3, 2: 5} == by_track.to_dict()
    assert seen == {1: 3, 2: 5}
    assert session.counters == {}


def test_a_person_who_leaves_is_finished_and_forgotten(library):
    """Track 1 squats 3 times and leaves; track 2 comes 12 s after: once track 1 has been
    unseen for DROP_TRACK_S its counter is gone, its reps kept."""
    from posecoach.keypoints import KeyPoints
    from rules.online_session import DROP_TRACK_S, OnlineSession

    one = generate_clip("squat", view="side", reps=3, track_id=1).points
    two = generate_clip("squat", view="side", reps=2, track_id=2).points
    later = float(one.t_s.max()) + DROP_TRACK_S + 2.0
    shift = int(round(later * 30))
    two = KeyPoints(**{**two.__dict__, "frame": two.frame + shift, "t_s": two.t_s + later})
    both = KeyPoints.concat([one, two])
    session = OnlineSession(library.find("squat"), "side")
    tracked = []
    for f in np.unique(both.frame):
        session.push(both.take(both.frame == f))
        tracked.append(sorted(session.counters))
    assert [1] in tracked and [2] in tracked and [1, 2] not in tracked
    assert {t: len(r) for t, r in session.finish().items()} == {1: 3, 2: 2}
