"""Repetition and hold segmentation on signals with known answers."""

from __future__ import annotations

import numpy as np

from rules.reps import fill_gaps, find_holds, find_reps
from rules.schema import HoldSpec, RepSpec

FPS = 30.0


def squat_signal(n_reps: int, depth=80.0, top=175.0, rep_s=2.0, pause_s=0.6, lead_s=1.0):
    t = np.arange(int((lead_s * 2 + n_reps * (rep_s + pause_s)) * FPS)) / FPS
    x = np.full(t.size, top)
    turns = []
    for i in range(n_reps):
        a = lead_s + i * (rep_s + pause_s)
        m = (t >= a) & (t <= a + rep_s)
        x[m] = top - (top - depth) * (1 - np.cos(2 * np.pi * (t[m] - a) / rep_s)) / 2
        turns.append(a + rep_s / 2)
    return t, x, np.array(turns)


SPEC = RepSpec(signal={"any": "knee_angle_deg"}, turn="valley", min_range={"any": 35.0})


def test_counts_and_times_of_clean_reps():
    t, x, turns = squat_signal(6)
    reps = find_reps(x, t, SPEC)
    assert len(reps) == 6
    assert np.allclose(t[[r.turn for r in reps]], turns, atol=1.5 / FPS)
    for r in reps:
        assert r.start < r.turn < r.end
        # Hysteresis band: start and end are 10 % of the amplitude below the top, not in the pause.
        assert 165 < x[r.start] < 175 and 165 < x[r.end] < 175
        assert x[r.rest_before] == 175 and x[r.rest_after] == 175
        assert r.signal_min == 80


def test_prominence_rejects_small_wiggles_and_noise():
    t, x, _ = squat_signal(4)
    rng = np.random.default_rng(0)
    wiggle = 10 * np.sin(2 * np.pi * 0.7 * t) + rng.normal(0, 2, t.size)
    assert len(find_reps(x + wiggle, t, SPEC)) == 4
    assert find_reps(175 + wiggle, t, SPEC) == []


def test_peaks_for_peak_turns():
    t, x, turns = squat_signal(3)
    spec = RepSpec(signal={"any": "wrist_height"}, turn="peak", min_range={"any": 35.0})
    reps = find_reps(-x, t, spec)
    assert np.allclose(t[[r.turn for r in reps]], turns, atol=1.5 / FPS)


def test_short_gaps_filled_long_gaps_split():
    t, x, _ = squat_signal(5)
    y = x.copy()
    y[100:108] = np.nan  # 0.27 s: filled
    assert len(find_reps(y, t, SPEC)) == 5
    y[150:200] = np.nan  # 1.7 s through the third rep: that rep is lost, not invented
    got = find_reps(y, t, SPEC)
    assert 3 <= len(got) <= 4
    assert all(not (150 <= r.turn < 200) for r in got)
    filled = fill_gaps(np.array([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0]), 2)
    assert filled[1] == 2.0 and np.isnan(filled[3:6]).all()


def test_cut_rep_at_the_end_is_not_counted():
    t, x, _ = squat_signal(3, lead_s=1.0)
    end = int((1.0 + 2 * 2.6 + 1.0) * FPS)  # in the middle of the third rep's bottom
    assert len(find_reps(x[:end], t[:end], SPEC)) == 2


def test_holds_with_flicker_and_target():
    t = np.arange(int(20 * FPS)) / FPS
    pos = (t >= 5) & (t < 15)
    rng = np.random.default_rng(1)
    flicker = pos & (rng.random(t.size) < 0.1)  # 10 % of frames drop out of position
    target = (t >= 5) & (t < 10)
    spec = HoldSpec(position=(), min_hold_s=2.0)
    holds = find_holds(pos & ~flicker, target, t, spec)
    assert len(holds) == 1
    h = holds[0]
    assert abs(t[h.start] - 5) < 0.05 and abs(t[h.end] - 15) < 0.05
    assert abs(h.in_target_s - 5) < 0.6
    # Too short: no hold. A blip: no hold.
    assert find_holds((t >= 5) & (t < 6), None, t, spec) == []
    assert find_holds((t >= 5) & (t < 5.1), None, t, HoldSpec(position=(), min_hold_s=0.05)) == []


def test_a_rep_cut_at_the_start_is_partial_not_dropped():
    """Issue 14: the clip starts mid-descent of the first rep (a third of its range seen)."""
    t, x, turns = squat_signal(4)
    first = int((1.0 + 0.6) * FPS)  # 0.6 s into the 1 s descent: a third of its range seen
    got = find_reps(x[first:], t[first:], SPEC, with_partial=True)
    assert [r.partial for r in got] == [True, False, False, False]
    assert len(find_reps(x[first:], t[first:], SPEC)) == 3  # counted: the three whole ones
    assert got[0].turn == int(np.argmin(x[first : first + int(2 * FPS)]))


def test_a_rep_cut_with_its_turn_and_most_of_its_range_seen_is_counted():
    t, x, _ = squat_signal(3)
    # The clip starts a fifth of the way down the first rep: turn and 80 % of the range seen.
    first = int((1.0 + np.arccos(1 - 2 * 0.2) / (2 * np.pi) * 2.0) * FPS)
    got = find_reps(x[first:], t[first:], SPEC, with_partial=True)
    assert len(got) == 3 and not any(r.partial for r in got)


def test_a_rep_cut_at_the_end_or_by_a_long_gap_is_partial():
    t, x, _ = squat_signal(3, lead_s=1.0)
    end = int((1.0 + 2 * 2.6 + 1.3) * FPS)  # just after the third rep's bottom: turn seen
    got = find_reps(x[:end], t[:end], SPEC, with_partial=True)
    assert [r.partial for r in got] == [False, False, True]
    end = int((1.0 + 2 * 2.6 + 0.7) * FPS)  # before the third rep's bottom: no turn seen
    got = find_reps(x[:end], t[:end], SPEC, with_partial=True)
    assert [r.partial for r in got] == [False, False, True]
    assert got[2].turn == end - 1
    y = x.copy()
    y[int(3.35 * FPS) : int(4.4 * FPS)] = np.nan  # 1 s, most of the second rep's way down
    got = find_reps(y, t, SPEC, with_partial=True)
    assert [r.partial for r in got] == [False, True, False]


def test_a_two_humped_turn_is_one_rep():
    """A turn with a small bump in it (a press finished with a lean back lowers the wrists a
    little mid-lockout) is one turn: each hump alone would look like a wiggle beside the other
    and both be dropped."""
    t, x, turns = squat_signal(4)
    for turn in turns[[1, 3]]:
        near = np.abs(t - turn) < 0.6  # a flat bottom at 110 deg with a 6 deg bump in it
        x[near] = np.maximum(x[near], 110) + 6 * np.exp(-(((t[near] - turn) / 0.2) ** 2))
    reps = find_reps(x, t, SPEC)
    assert len(reps) == 4
    assert np.allclose(t[[r.turn for r in reps]], turns, atol=0.3)
