"""flows.progress: a video's progress record, written atomically while a worker analyses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.pipeline.config import EngineConfig
from analysis.pipeline.engine import PoseEngine
from flows import workers
from flows.inbox import discover
from flows.progress import (
    Progress,
    ProgressRecorder,
    progress_path,
    read_progress,
    write_progress,
)
from posecoach.store import Store
from posecoach.videos import read_video_rows
from tests.helpers import Person, RectDetector, RectPose, write_video

VID = "0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_record_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    assert read_progress(store, VID) is None
    write_progress(store, VID, 3, 12)
    write_progress(store, VID, 6, 12)
    got = read_progress(store, VID)
    assert got is not None and (got.frames_done, got.frames_total) == (6, 12)
    assert got.fraction == 0.5
    folder = Path(progress_path(store, VID)).parent
    assert [p.name for p in folder.iterdir()] == [f"{VID}.json"]  # no temporary left behind
    Path(progress_path(store, VID)).write_text('{"frames_done": 1')  # not a record
    assert read_progress(store, VID) is None


def test_fraction_is_clamped_and_zero_for_an_unknown_length() -> None:
    assert Progress(5, 0, "").fraction == 0.0
    assert Progress(7, 5, "").fraction == 1.0
    assert Progress(1, 4, "").fraction == 0.25


def test_the_recorder_writes_at_most_once_per_interval_and_always_the_last(
    tmp_path: Path,
) -> None:
    store = Store(str(tmp_path / "store"))
    clock = Clock()
    record = ProgressRecorder(store, VID, min_interval_s=1.0, clock=clock)
    seen = []
    for done, dt_s in [(10, 0.0), (20, 0.4), (30, 0.4), (40, 0.4), (50, 0.1), (60, 0.1)]:
        clock.now += dt_s
        record(done, 60)
        got = read_progress(store, VID)
        seen.append(got.frames_done if got else None)
    # 10 at t=0; 20 and 30 within the second; 40 at t=1.2; 50 too soon; 60 is the last
    assert seen == [10, 10, 10, 40, 40, 60]
    assert record.writes == 3
    # a video longer than its container said: past the total, throttled again
    for done in (61, 62):
        clock.now += 0.1
        record(done, 60)
    assert read_progress(store, VID).frames_done == 60  # type: ignore[union-attr]
    clock.now += 1.0
    record(63, 60)
    assert read_progress(store, VID).frames_done == 63  # type: ignore[union-attr]


def test_a_worker_records_increasing_progress_then_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "Ana" / "squat").mkdir(parents=True)
    write_video(inbox / "Ana" / "squat" / "set.mp4", [Person((100, 60))], n_frames=12)
    store = Store(str(tmp_path / "store"))
    (item,) = discover([inbox])
    # windows of 4 frames: the engine calls back after frames 4, 8 and 12
    engine = PoseEngine(
        EngineConfig(batch_frames=4, det_interval=1), detector=RectDetector(), pose=RectPose()
    )
    analyze = engine.analyze
    seen: list[tuple[int, int] | None] = []

    def watched(path, progress=None, **kw):  # type: ignore[no-untyped-def]
        assert progress is not None

        def spy(done: int, total: int) -> None:
            progress(done, total)
            got = read_progress(store, item.video_id)  # what a status poll would read now
            seen.append((got.frames_done, got.frames_total) if got else None)

        return analyze(path, progress=spy, **kw)

    engine.analyze = watched  # type: ignore[method-assign]
    before_analysis: list[Progress | None] = []

    def get_engine(options: dict) -> PoseEngine:
        before_analysis.append(read_progress(store, item.video_id))
        return engine

    monkeypatch.setattr(workers, "get_engine", get_engine)
    monkeypatch.setattr("flows.progress.MIN_INTERVAL_S", 0.0)
    write_progress(store, item.video_id, 11, 12)  # a crashed run's record: not this run's

    result = workers.process_video(item.to_dict(), store.url, {})

    assert before_analysis == [None]  # while the models load, no stale 11 of 12
    assert seen == [(4, 12), (8, 12), (12, 12)]
    assert result["status"] == "ok"
    assert read_progress(store, item.video_id) is None  # done: the row tells from now on
    assert read_video_rows(store, [item.video_id])[0].frames == 12
