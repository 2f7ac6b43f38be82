"""Identities through crossings and occlusions; left/right swap repair on generated tracks."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.tracking.tracker import LR_GROUPS, BoxTracker, TrackerParams, repair_left_right
from posecoach.schema import FLIP_PAIRS


def _box(cx: float, cy: float, w: float = 40, h: float = 100, score: float = 0.9):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score]


def _run(frames: list[list[tuple[int, list[float]]]], fps: float = 25.0):
    """Track a generated sequence: per frame a list of (true_id, box). Returns, per true id,
    the list of assigned ids over the frames where it was present."""
    tracker = BoxTracker(fps, TrackerParams())
    rng = np.random.default_rng(1)
    orders = []
    for t, people in enumerate(frames):
        order = rng.permutation(len(people))  # detector output order carries no identity
        boxes = np.array([people[i][1] for i in order], np.float32).reshape(-1, 5)
        tracker.update(boxes, frame=t)
        orders.append(order)
    # The final ids: a new track's first box gets its id when the track is confirmed on the
    # next frame.
    final = tracker.finish()
    seen: dict[int, list[int]] = {}
    for t, (people, order) in enumerate(zip(frames, orders, strict=True)):
        ids = final[t]
        for j, i in enumerate(order):
            seen.setdefault(people[i][0], []).append(int(ids[j]))
    return seen


def _assert_consistent(seen: dict[int, list[int]]):
    first = {}
    for true_id, ids in seen.items():
        assert -1 not in ids, f"person {true_id} lost its id in some frames: {ids}"
        assert len(set(ids)) == 1, f"person {true_id} switched ids: {ids}"
        first[true_id] = ids[0]
    assert len(set(first.values())) == len(first), f"two people share an id: {first}"


def test_crossing_people_keep_their_ids():
    # A walks right, B walks left, at the same height: they overlap around frame 30.
    frames = []
    for t in range(60):
        frames.append(
            [
                (0, _box(50 + 5 * t, 200)),
                (1, _box(350 - 5 * t, 205)),
                (2, _box(500, 100 + 0.5 * t)),  # a bystander, nearly still
            ]
        )
    _assert_consistent(_run(frames))


def test_short_occlusion_keeps_id():
    frames = []
    for t in range(70):
        people = [(0, _box(100 + 3 * t, 200)), (1, _box(400, 220))]
        if 30 <= t < 36:  # person 0 hidden for 6 frames (0.24 s) behind something
            people = people[1:]
        frames.append(people)
    seen = _run(frames)
    _assert_consistent(seen)
    assert len(seen[0]) == 64


def test_crossing_with_occlusion_of_one_person():
    # B passes behind A: B is missing for 4 frames while they overlap.
    frames = []
    for t in range(60):
        people = [(0, _box(60 + 4 * t, 200))]
        if not 27 <= t < 31:
            people.append((1, _box(300 - 4 * t, 195)))
        frames.append(people)
    _assert_consistent(_run(frames))


def test_ids_start_at_one_per_tracker_and_empty_frames_ok():
    for _ in range(2):
        tracker = BoxTracker(30.0)
        assert tracker.update(np.zeros((0, 5))).shape == (0,)
        boxes = np.array([_box(100, 100), _box(300, 100)], np.float32)
        first = tracker.update(boxes)
        assert first.tolist() == [-1, -1]  # not confirmed yet
        second = tracker.update(boxes + [2, 0, 2, 0, 0])
        assert sorted(second.tolist()) == [1, 2]
        assert first.tolist() == [-1, -1]  # what update returned stays as it was
        final = tracker.finish()
        assert sorted(final) == [0, 1, 2] and final[0].shape == (0,)
        assert final[1].tolist() == second.tolist()  # the first boxes completed
        assert final[2].tolist() == second.tolist()


def test_a_frame_tracked_twice_is_refused():
    tracker = BoxTracker(30.0)
    tracker.update(np.zeros((0, 5)), frame=4)
    with pytest.raises(ValueError, match="BoxTracker.update: frame 4 was tracked already"):
        tracker.update(np.zeros((0, 5)), frame=4)


# -- left / right repair -------------------------------------------------------------------------
def _walker(n: int = 60, seed: int = 0):
    """A frontal person walking right: left points 30 px to the image right of right points."""
    rng = np.random.default_rng(seed)
    kpts = np.zeros((n, 17, 2))
    base_x = 100 + 2.0 * np.arange(n)
    heights = np.linspace(50, 300, 17)
    for j in range(17):
        kpts[:, j, 1] = heights[j] + 3 * np.sin(np.arange(n) / 4 + j)
        kpts[:, j, 0] = base_x
    for left, right in FLIP_PAIRS:
        kpts[:, left, 0] += 15
        kpts[:, right, 0] -= 15
    kpts += rng.normal(0, 0.5, kpts.shape)
    scores = np.full((n, 17), 0.9) + rng.uniform(-0.05, 0.05, (n, 17))
    return kpts, scores


def _swap(kpts, scores, rows, pairs):
    k, s = kpts.copy(), scores.copy()
    for a, b in pairs:
        k[np.ix_(rows, [a, b])] = kpts[np.ix_(rows, [b, a])]
        s[np.ix_(rows, [a, b])] = scores[np.ix_(rows, [b, a])]
    return k, s


def test_repair_undoes_leg_swaps_and_whole_body_runs():
    truth, scores = _walker()
    legs, arms, head = LR_GROUPS["legs"], LR_GROUPS["arms"], LR_GROUPS["head"]
    k, s = _swap(truth, scores, [10], legs)  # one frame: legs only
    k, s = _swap(k, s, list(range(30, 34)), legs + arms + head)  # a 4-frame run: everything
    fixed, fixed_s, flipped = repair_left_right(k, s)
    np.testing.assert_allclose(fixed, truth)
    np.testing.assert_allclose(fixed_s, scores)
    g_legs = list(LR_GROUPS).index("legs")
    assert set(np.flatnonzero(flipped[:, g_legs])) == {10, 30, 31, 32, 33}
    assert flipped.sum() == 5 + 4 + 4


def test_repair_when_first_frames_are_the_swapped_ones():
    truth, scores = _walker()
    k, s = _swap(truth, scores, [0, 1], LR_GROUPS["legs"])
    fixed, _, flipped = repair_left_right(k, s)
    np.testing.assert_allclose(fixed, truth)
    assert flipped.sum() == 2


def test_repair_leaves_clean_tracks_and_side_views_alone():
    truth, scores = _walker()
    fixed, _, flipped = repair_left_right(truth, scores)
    assert not flipped.any()
    np.testing.assert_allclose(fixed, truth)
    # Side view: left and right points on top of each other; the model's noise must not
    # trigger swaps.
    side = truth.copy()
    for left, right in FLIP_PAIRS:
        side[:, right] = side[:, left] + np.random.default_rng(3).normal(
            0, 0.5, side[:, left].shape
        )
    _, _, flipped = repair_left_right(side, scores)
    assert not flipped.any()


def test_repair_ignores_low_score_points():
    truth, scores = _walker()
    k, s = _swap(truth, scores, [20], LR_GROUPS["legs"])
    s[20, 11:17] = 0.05  # the swapped legs are not trusted: no evidence, no repair
    _, _, flipped = repair_left_right(k, s)
    assert not flipped.any()


def test_last_frame_and_stills_boxes_get_ids():
    tracker = BoxTracker(25.0)
    ids = tracker.update(np.array([_box(100, 100)], np.float32), frame=7)
    assert ids.tolist() == [-1]
    # A one-frame video: the person is still a track.
    assert {f: v.tolist() for f, v in tracker.finish().items()} == {7: [1]}
    # Unrelated stills (no frame rate): every confident box is someone at once, the
    # low-score ones nobody.
    stills = BoxTracker(None, high_score=0.5)
    boxes = np.array([_box(100, 100), _box(300, 100, score=0.3), _box(500, 100)], np.float32)
    assert stills.update(boxes).tolist() == [1, -1, 2]
    far = np.array([_box(100, 400)], np.float32)
    assert stills.update(far).tolist() == [3]
    assert [v.tolist() for v in stills.finish().values()] == [[1, -1, 2], [3]]


def test_low_score_boxes_continue_tracks_but_never_start_one():
    tracker = BoxTracker(25.0, TrackerParams(low_score=0.2), high_score=0.5)
    for t in range(20):
        score = 0.3 if 8 <= t < 12 else 0.9  # the detector is unsure for 4 frames
        boxes = [_box(100 + 3 * t, 200, score=score), _box(400, 100, score=0.3)]  # + a ghost
        tracker.update(np.array(boxes, np.float32))
    outputs = list(tracker.finish().values())
    person = [int(ids[0]) for ids in outputs]
    ghost = [int(ids[1]) for ids in outputs]
    assert set(person) == {1}
    assert set(ghost) == {-1}
