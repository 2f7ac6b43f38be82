"""analyze_into_store: keypoints and the videos row in a local and a non-local (memory://) store."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import numpy as np
import pytest

from analysis.ingest.analyze import VideoMeta, analyze_into_store, session_date, source_sha256
from analysis.kinematics.view_segments import video_view
from analysis.pipeline.config import EngineConfig
from analysis.pipeline.engine import PoseEngine
from posecoach.keypoints import KeyPoints
from posecoach.schema import SCHEMA_VERSION
from posecoach.store import Store, file_sha256, video_id_for
from posecoach.videos import write_video_row
from tests.helpers import Person, RectDetector, RectPose, write_video

PEOPLE = [Person(start=(20, 40), velocity=(2.0, 0.0)), Person(start=(220, 60), size=(36, 90))]


@pytest.fixture(scope="module")
def engine() -> PoseEngine:
    return PoseEngine(EngineConfig(det_interval=3), detector=RectDetector(), pose=RectPose())


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "squat.mp4", PEOPLE, 24, fps=24)


def _hidden_files(store: Store) -> list[str]:
    return [p for p in store.fs.find(store.root) if os.path.basename(p).startswith(".")]


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_ok_video_into_store(engine, video, tmp_path, kind):
    url = str(tmp_path / "store") if kind == "local" else f"memory://posecoach-{uuid.uuid4().hex}"
    store = Store(url)
    recorded = dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    meta = VideoMeta(athlete="ana", exercise="squat", view="side", recorded_at=recorded)
    row = analyze_into_store(engine, video, store, meta)
    sha = file_sha256(video)
    assert row.status == "ok" and row.error is None
    assert row.video_id == video_id_for(sha) and row.sha256 == sha
    assert row.date == "2026-03-15"  # the UTC date of the recording
    assert (row.n_tracks, row.frames, row.fps) == (2, 24, pytest.approx(24.0))
    assert (row.width, row.height, row.rotation, row.codec) == (320, 240, 0, "mpeg4")
    assert row.detector == "rect-detector" and row.random_weights is False
    assert (row.view, row.view_source) == ("side", "declared")
    # The keypoints are there before the videos row is written; the row is written last.
    assert store.read("videos").empty
    write_video_row(store, row)
    videos = store.read("videos")
    assert len(videos) == 1 and videos.status[0] == "ok" and videos.athlete[0] == "ana"
    assert videos.date[0] == "2026-03-15"
    kp = store.read("keypoints")
    assert len(kp) == 48 and set(kp.video_id) == {row.video_id}
    meta_kp = store.metadata("keypoints", row.video_id)
    assert meta_kp["schema_version"] == SCHEMA_VERSION
    assert meta_kp["smoothing"]["cutoff_hz"] == 6.0
    assert meta_kp["detector"]["sha256"] == "0" * 64 and meta_kp["random_weights"] is False
    # DuckDB over the store sees it.
    n = store.query("SELECT count(*) AS n FROM keypoints k JOIN videos v USING (video_id)")
    assert int(n.n[0]) == 48
    # A re-run replaces rows, never duplicates them (even with another date).
    row2 = analyze_into_store(engine, video, store, VideoMeta(recorded_at=None))
    # Without a declared view the row holds the estimate: the view seen longest.
    assert row2.view_source == "estimated"
    assert row2.view == video_view(KeyPoints.from_frame(store.read("keypoints")))
    write_video_row(store, row2)
    assert len(store.read("keypoints")) == 48 and len(store.read("videos")) == 1
    assert _hidden_files(store) == []


def test_session_date_and_folder_hash(tmp_path):
    file = tmp_path / "clip.mp4"
    file.write_bytes(b"x")
    assert session_date(file, dt.datetime(2025, 1, 2, 3, 4)) == "2025-01-02"  # naive = UTC
    os.utime(file, (0, 86400 * 365))
    assert session_date(file, None) == "1971-01-01"
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    h1 = source_sha256(folder)
    (folder / "a.png").write_bytes(b"y")
    assert source_sha256(folder) != h1
    assert len(h1) == 64 and np.all([c in "0123456789abcdef" for c in h1])


def test_reduced_precision_is_told_apart_in_the_videos_table() -> None:
    from analysis.ingest.analyze import _backend_label

    assert _backend_label({"backend": "openvino", "precision": "bf16"}, "auto") == "openvino-bf16"
    assert _backend_label({"backend": "onnxruntime", "precision": "fp32"}, "auto") == "onnxruntime"
    assert _backend_label({}, "pytorch") == "pytorch"  # fakes and imports carry no precision
