"""The per-frame live estimator: detection every k-th frame, boxes carried by the keypoints,
ids from the tracker, one session's state per estimator; on fakes of known geometry and on
frames of a real video with the trained RTMDet-nano."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from analysis.pipeline.config import EngineConfig
from analysis.pipeline.engine import PoseEngine
from analysis.pipeline.live import LiveEstimator, live_estimators
from tests.helpers import Person, RectDetector, RectPose, keypoints_for_rect, render

PEOPLE = [
    Person(start=(20, 40), velocity=(2.0, 0.0)),
    Person(start=(200, 100), velocity=(-1.0, 0.5), size=(36, 90)),
]
FPS = 25.0


def _clock():
    ticks = itertools.count()
    return lambda: next(ticks) / FPS


def test_frames_one_by_one_give_stable_ids_and_exact_keypoints():
    det, pose = RectDetector(), RectPose()
    config = EngineConfig(det_interval=3)
    live = LiveEstimator(det, pose, config, fps=FPS, clock=_clock(), smooth=False)
    n = 20
    seen: dict[int, set[int]] = {0: set(), 1: set()}
    for f in range(n):
        people = live(render(PEOPLE, f))
        # ByteTrack confirms a person on their second detection (frame 3): none before.
        assert len(people) == (0 if f < 3 else 2), f
        for tid, box, kp, raw in people:
            assert kp.shape == (17, 3) and len(box) == 5
            np.testing.assert_array_equal(kp[:, :2], raw)
            expected = [keypoints_for_rect(*p.rect(f)) for p in PEOPLE]
            who = int(np.argmin([np.abs(kp[:, :2] - e).max() for e in expected]))
            np.testing.assert_allclose(kp[:, :2], expected[who], atol=1e-3)
            assert (kp[:, 2] == pose.score).all()
            seen[who].add(tid)
    assert [len(ids) for ids in seen.values()] == [1, 1] and seen[0] != seen[1]
    assert len(det.calls) == -(-n // 3)  # frames 0, 3, 6...: every 3rd only
    assert sum(frames for frames, _ in pose.calls) == n


def test_each_session_tracks_on_its_own():
    engine = PoseEngine(EngineConfig(det_interval=2), detector=RectDetector(), pose=RectPose())
    new = live_estimators(engine, fps=FPS)
    first, second = new(), new()
    for f in range(6):
        first(render(PEOPLE, f))
    # A new session starts from nothing: its own frame numbers, tracker and ids.
    assert second.frames == 0 and second.tracker is not first.tracker
    assert second(render(PEOPLE, 6)) == []
    assert {person[0] for person in second(render(PEOPLE, 7))} <= {1, 2}
    assert len(second(render(PEOPLE, 8))) == 2


def test_keypoints_are_smoothed_causally_and_the_raw_ones_kept():
    # One person still, then moving 6 px a frame: the smoothed points trail the raw ones by
    # less than a frame's move once moving, and sit on them while still.
    still, moving = 12, 12
    person = Person(start=(40, 60))
    live = LiveEstimator(RectDetector(), RectPose(), EngineConfig(det_interval=3), FPS, _clock())
    lags = []
    for f in range(still + moving):
        x = 40.0 + 6.0 * max(0, f - still)
        frame = render([Person(start=(x, 60))], f)
        people = live(frame)
        for _, _, kp, raw in people:
            np.testing.assert_allclose(raw, keypoints_for_rect(x, 60, x + 39, 159), atol=1e-3)
            lags.append(float(np.mean(raw[:, 0] - kp[:, 0])))
    assert person.size == (40, 100) and len(lags) == still + moving - 3
    assert max(abs(v) for v in lags[: still - 3]) < 1e-3
    assert 0 < lags[-1] < 6.0 and all(v >= 0 for v in lags)


@pytest.mark.slow
def test_real_video_frames_with_the_trained_detector():
    """RTMDet-nano (trained, from ../shared) and a random-weight pose, explicitly allowed, on
    frames of the two-people clip downscaled to 480x270: the same two ids on every frame."""
    from tests.helpers import shared_path, video_frames

    detector = shared_path("models", "rtmdet-nano-person")
    config = EngineConfig(
        detector=str(detector), backend="onnxruntime", det_interval=2, allow_random_weights=True
    )
    engine = PoseEngine(config)
    assert engine.random_weights
    live = live_estimators(engine)()
    frames = video_frames(indices=tuple(range(8)))
    ids = []
    for image in frames:
        small = cv2.resize(image, (480, 270), interpolation=cv2.INTER_AREA)
        people = live(small)
        # Random weights score low: the smoothed points are mostly NaN, the raw ones are all there.
        assert all(kp.shape == (17, 3) and np.isfinite(raw).all() for _, _, kp, raw in people)
        ids.append(sorted(person[0] for person in people))
    assert ids[0] == []  # ids are confirmed on the second detection
    assert all(found == ids[2] for found in ids[2:]) and len(ids[2]) == 2, ids
