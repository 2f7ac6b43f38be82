"""The engine's plumbing with a deterministic detector/pose pair on frames of known geometry:
detection interval, batching across frames, boxes carried from keypoints, track assembly,
the keypoints table and its metadata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.pipeline.boxes import boxes_from_keypoints, select_boxes
from analysis.pipeline.config import EngineConfig, default_det_interval
from analysis.pipeline.engine import PoseEngine
from posecoach.keypoints import KeyPoints
from posecoach.schema import KEYPOINTS
from tests.helpers import (
    Person,
    RectDetector,
    RectPose,
    keypoints_for_rect,
    write_images,
    write_video,
)

PEOPLE = [
    Person(start=(20, 40), velocity=(2.0, 0.0)),
    Person(start=(200, 100), velocity=(-1.0, 0.5), size=(36, 90)),
]


def _engine(**kw) -> tuple[PoseEngine, RectDetector, RectPose]:
    det, pose = RectDetector(), RectPose()
    return PoseEngine(EngineConfig(**kw), detector=det, pose=pose), det, pose


def _expected(person: Person, frame: int) -> np.ndarray:
    return keypoints_for_rect(*person.rect(frame))


def _track_of(kp: KeyPoints, person: Person, frame: int) -> int:
    """The track id whose raw nose is at the person's nose in that frame."""
    rows = kp.take(kp.frame == frame)
    nose = _expected(person, frame)[0]
    d = np.hypot(*(rows.xy_raw[:, 0] - nose).T)
    assert d.min() < 1.0, f"person not found in frame {frame}"
    return int(rows.track_id[int(np.argmin(d))])


@pytest.mark.parametrize("interval", [1, 3, 5])
def test_interval_batching_and_tracks(tmp_path, interval):
    n = 40
    folder = write_images(tmp_path / "seq", PEOPLE, n)
    engine, det, pose = _engine(det_interval=interval, batch_frames=12)
    result = engine.analyze(folder, images_fps=25)
    kp = result.keypoints

    # Detection ran on every k-th frame only (and batched over frames).
    assert sum(det.calls) == math.ceil(n / interval)
    assert max(det.calls) > 1
    assert result.metadata["timings_s"]["detected_frames"] == math.ceil(n / interval)
    # Pose ran once per step over several frames' crops, never once per frame.
    assert sum(f for f, _ in pose.calls) == n
    assert len(pose.calls) < n
    assert max(c for _, c in pose.calls) >= 2 * 2

    # One row per person and frame, two stable tracks.
    assert len(kp) == 2 * n
    assert len(kp.track_ids()) == 2
    for person in PEOPLE:
        ids = {_track_of(kp, person, f) for f in range(n)}
        assert len(ids) == 1, ids
    # Raw keypoints are exact (boxes carried from keypoints followed the moving people).
    for person in PEOPLE:
        rows = kp.for_track(_track_of(kp, person, 0))
        assert (np.diff(rows.frame) > 0).all()
        expected = np.stack([_expected(person, f) for f in rows.frame])
        np.testing.assert_allclose(rows.xy_raw, expected, atol=1e-3)
        smooth = rows.xy
        # Linear motion passes a low-pass filter unchanged (up to the edges' padding).
        np.testing.assert_allclose(smooth[5:-5], expected[5:-5], atol=0.5)


def test_table_layout_and_metadata(tmp_path):
    path = write_video(tmp_path / "two.mp4", PEOPLE, 30, fps=30)
    engine, _, _ = _engine(det_interval=2)
    progress = []
    result = engine.analyze(path, progress=lambda done, total: progress.append((done, total)))
    assert isinstance(result.keypoints, KeyPoints)
    df = result.keypoints.to_frame()
    assert list(df.columns) == [c for c in KEYPOINTS.names if c != "video_id"]
    assert df.frame.is_monotonic_increasing
    assert df.frame.dtype == np.int32 and df.track_id.dtype == np.int32
    np.testing.assert_allclose(df.t_s.to_numpy(), df.frame.to_numpy() / 30.0, atol=1e-6)
    np.testing.assert_allclose(df.bbox_score, 0.9, rtol=1e-6)
    assert result.info.frames == 30 and result.n_tracks == 2
    assert progress[-1][0] == 30
    meta = result.metadata
    assert meta["detector"]["name"] == "rect-detector" and meta["pose"]["sha256"] == "1" * 64
    assert meta["random_weights"] is False
    assert meta["engine"]["det_interval"] == 2
    assert meta["smoothing"]["cutoff_hz"] == 6.0 and meta["smoothing"]["effective_cutoff_hz"] == 6.0
    assert meta["source"]["fps"] == pytest.approx(30.0)


def test_nobody_gives_an_empty_table(tmp_path):
    folder = write_images(tmp_path / "blank", [], 7)
    engine, det, pose = _engine(det_interval=5)
    result = engine.analyze(folder)
    assert len(result.keypoints) == 0 and result.n_tracks == 0
    df = result.keypoints.to_frame()
    assert list(df.columns) == [c for c in KEYPOINTS.names if c != "video_id"]
    assert df.frame.dtype == np.int32 and df.nose_x.dtype == np.float32
    assert sum(det.calls) == 2 and pose.calls == []  # frames 0 and 5


def test_person_entering_between_detections_is_found_at_the_next_one(tmp_path):
    late = Person(start=(150, 20), visible=set(range(7, 30)))
    folder = write_images(tmp_path / "late", [PEOPLE[0], late], 30)
    engine, _, _ = _engine(det_interval=5)
    kp = engine.analyze(folder, images_fps=25).keypoints
    nose_x = kp.xy_raw[:, 0, 0]
    frames_of_late = sorted(set(kp.frame[(nose_x >= 150) & (nose_x <= 200)].tolist()))
    assert frames_of_late[0] == 10  # next detection frame after 7
    assert frames_of_late == list(range(10, 30))


def test_max_people_and_threshold():
    boxes = np.array(
        [[0, 0, 1, 1, 0.4], [0, 0, 1, 1, 0.9], [0, 0, 1, 1, 0.7], [0, 0, 1, 1, 0.8]], np.float32
    )
    out = select_boxes(boxes, 0.5, 2)
    np.testing.assert_allclose(out[:, 4], [0.9, 0.8])
    assert select_boxes(np.zeros((0, 5)), 0.5, 3).shape == (0, 5)


def test_boxes_from_keypoints_grow_clip_and_fall_back():
    kpts = np.array([keypoints_for_rect(100, 50, 140, 150)], np.float32)
    scores = np.full((1, 17), 0.9, np.float32)
    prev = np.array([[90, 40, 150, 160, 0.8]], np.float32)
    out = boxes_from_keypoints(kpts, scores, prev, 320, 240, 0.3)
    x1, y1, x2, y2, s = out[0]
    assert s == pytest.approx(0.8)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ext = kpts[0].max(0) - kpts[0].min(0)
    assert x2 - x1 == pytest.approx(ext[0] * 1.25, rel=1e-4)
    assert cx == pytest.approx((kpts[0, :, 0].max() + kpts[0, :, 0].min()) / 2)
    assert y2 <= 239 and y1 >= 0 and cy > 0
    # Keypoints gone astray (far from the previous box): the previous box is kept.
    astray = kpts + np.float32(150)
    np.testing.assert_allclose(boxes_from_keypoints(astray, scores, prev, 320, 240, 0.3), prev)
    # Too few confident points: the previous box is carried unchanged.
    scores[0, 2:] = 0.1
    np.testing.assert_allclose(boxes_from_keypoints(kpts, scores, prev, 320, 240, 0.3), prev)


def test_default_interval_follows_the_frame_rate(tmp_path):
    assert [default_det_interval(f) for f in (30, 29.97, 60, 10, 1, None)] == [5, 5, 10, 2, 1, 1]
    path = write_video(tmp_path / "v60.mp4", PEOPLE, 20, fps=60)
    engine, det, _ = _engine()
    result = engine.analyze(path)
    assert result.metadata["engine"]["det_interval_used"] == 10
    assert sum(det.calls) == 2


def test_config_validation():
    with pytest.raises(ValueError, match="det_interval"):
        EngineConfig(det_interval=0)
    with pytest.raises(ValueError, match="max_people"):
        EngineConfig(max_people=0)


@pytest.mark.slow
def test_vtest_identities_with_the_real_detector(capsys):
    """The trained RTMDet-nano (MMDeploy ONNX) on the start of vtest.avi, pose with random
    weights (explicitly allowed): distinct track ids against people per frame, printed."""
    from tests.helpers import shared_path

    video = shared_path("data", "videos", "vtest.avi")
    detector = shared_path("models", "rtmdet-nano-person")
    for interval in (1, None):
        config = EngineConfig(
            detector=str(detector),
            backend="onnxruntime",
            det_interval=interval,
            allow_random_weights=True,
            max_frames=200,
        )
        result = PoseEngine(config).analyze(video)
        df = result.keypoints.to_frame()
        per_frame = df.groupby("frame").size()
        lengths = df.groupby("track_id").frame.agg(lambda f: f.max() - f.min() + 1)
        with capsys.disabled():
            print(
                f"\nvtest.avi first 200 frames, det interval "
                f"{result.metadata['engine']['det_interval_used']}: {result.n_tracks} distinct "
                f"track ids; people per frame max {per_frame.max()}, mean {per_frame.mean():.1f}; "
                f"tracks >= 2 s: {(lengths >= 20).sum()}"
            )
        assert result.info.frames == 200 and result.metadata["random_weights"] is True
        assert per_frame.max() >= 3  # a street with several people
        # Every person of the busiest frame has an id of their own, and identities are not
        # shredded: far fewer ids than (people x frames), most rows in long tracks.
        assert per_frame.max() <= result.n_tracks <= 3 * per_frame.max()
        long_rows = df.track_id.isin(lengths[lengths >= 20].index).mean()
        assert long_rows > 0.8
