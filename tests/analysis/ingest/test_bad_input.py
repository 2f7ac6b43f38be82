"""Every bad input of issue 3 gives a clear error or an empty result, recorded in ``videos``
with its status and reason, and leaves nothing half-written in the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.ingest.analyze import VideoMeta, analyze_into_store
from analysis.pipeline.config import EngineConfig
from analysis.pipeline.engine import PoseEngine
from posecoach.failures import RETRYABLE, ErrorKind
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from tests.helpers import Person, RectDetector, RectPose, write_video


@pytest.fixture(scope="module")
def engine() -> PoseEngine:
    return PoseEngine(EngineConfig(det_interval=2), detector=RectDetector(), pose=RectPose())


def _ingest(engine: PoseEngine, path: Path, store_dir: Path) -> tuple[VideoRow, Store]:
    store = Store(store_dir)
    row = analyze_into_store(engine, path, store, VideoMeta(athlete="a", exercise="squat"))
    write_video_row(store, row)
    return row, store


def _assert_clean(store: Store) -> None:
    left = [p for p in store.fs.find(store.root) if os.path.basename(p).startswith(".")]
    assert left == [], f"half-written files left: {left}"


def _assert_failed(row: VideoRow, store: Store, path: Path, *words: str) -> None:
    assert row.status == "failed"
    assert str(path) in row.error, row.error
    assert not row.error.startswith(RETRYABLE), "a bad file is not retried every night"
    assert row.error_kind is ErrorKind.BAD_FILE
    for word in words:
        assert word in row.error, row.error
    videos = store.read("videos")
    assert list(videos.status) == ["failed"] and videos.error[0] == row.error
    assert list(videos.error_kind) == ["bad_file"]
    assert store.read("keypoints").empty
    _assert_clean(store)


def test_zero_byte_file(engine, tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    row, store = _ingest(engine, path, tmp_path / "store")
    _assert_failed(row, store, path, "empty file", "0 bytes")
    assert row.size_bytes == 0


def test_text_file_named_mp4(engine, tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("PoseCoach notes, not a video\n" * 100)
    row, store = _ingest(engine, path, tmp_path / "store")
    _assert_failed(row, store, path, "not a readable video")


def test_truncated_file(engine, tmp_path):
    good = write_video(tmp_path / "good.mp4", [Person(start=(20, 40))], 40)
    path = tmp_path / "truncated.mp4"
    path.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    row, store = _ingest(engine, path, tmp_path / "store")
    _assert_failed(row, store, path)


def test_missing_file(engine, tmp_path):
    path = tmp_path / "gone.mp4"
    row, store = _ingest(engine, path, tmp_path / "store")
    _assert_failed(row, store, path, "cannot read")


def test_video_with_nobody_is_empty_not_failed(engine, tmp_path):
    path = write_video(tmp_path / "blank.mp4", [], 12)
    row, store = _ingest(engine, path, tmp_path / "store")
    assert row.status == "empty"
    assert "no person" in row.error and row.n_tracks == 0 and row.frames == 12
    videos = store.read("videos")
    assert list(videos.status) == ["empty"]
    # An empty keypoints file replaces any earlier rows and records the run's metadata.
    assert store.read("keypoints").empty
    assert store.metadata("keypoints", row.video_id)["smoothing"]["min_score"] == 0.3
    _assert_clean(store)


def test_one_frame_video(engine, tmp_path):
    path = write_video(tmp_path / "one.mp4", [Person(start=(60, 60))], 1)
    row, store = _ingest(engine, path, tmp_path / "store")
    assert row.status == "ok" and row.frames == 1 and row.n_tracks == 1
    kp = store.read("keypoints")
    assert len(kp) == 1 and kp.nose_x.notna().all()
    _assert_clean(store)


def test_one_frame_blank_video(engine, tmp_path):
    path = write_video(tmp_path / "one_blank.mp4", [], 1)
    row, store = _ingest(engine, path, tmp_path / "store")
    assert row.status == "empty" and row.frames == 1


def test_failure_replaces_earlier_success(engine, tmp_path):
    """A file that analysed fine once and is now unreadable in place does not keep old rows."""
    path = write_video(tmp_path / "clip.mp4", [Person(start=(60, 60))], 6)
    store = Store(tmp_path / "store")
    ok = analyze_into_store(engine, path, store)
    assert ok.status == "ok" and len(store.read("keypoints")) == 6

    class Broken(RectPose):
        def __call__(self, frames, boxes):
            raise RuntimeError("model crashed")

    broken = PoseEngine(engine.config, detector=RectDetector(), pose=Broken())
    row = analyze_into_store(broken, path, store)
    assert row.status == "failed" and "model crashed" in row.error
    assert row.video_id == ok.video_id
    assert store.read("keypoints").empty
    _assert_clean(store)
