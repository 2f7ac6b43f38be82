"""posecoach.keypoints: shapes checked on construction, the store's table out and back unchanged."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from posecoach.keypoints import FRAME_COLUMNS, KeyPoints
from posecoach.schema import KEYPOINTS
from posecoach.store import Store, conform

FIELDS = ("frame", "t_s", "track_id", "box", "xy", "scores", "xy_raw")


def _keypoints(frames: int = 4, tracks: tuple[int, ...] = (1, 2), seed: int = 0) -> KeyPoints:
    rng = np.random.default_rng(seed)
    n = frames * len(tracks)
    xy = rng.uniform(0, 640, (n, 17, 2)).astype(np.float32)
    xy[0, 3] = np.nan  # a dropped point
    return KeyPoints(
        frame=np.repeat(np.arange(frames), len(tracks)),
        t_s=np.repeat(np.arange(frames) / 30.0, len(tracks)),
        track_id=np.tile(tracks, frames),
        box=rng.uniform(0, 640, (n, 5)),
        xy=xy,
        scores=rng.uniform(0, 1, (n, 17)),
        xy_raw=rng.uniform(0, 640, (n, 17, 2)),
    )


def _assert_same(a: KeyPoints, b: KeyPoints) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_dtypes_are_fixed_on_construction() -> None:
    kp = _keypoints()
    assert kp.frame.dtype == np.int64 and kp.track_id.dtype == np.int64
    assert kp.t_s.dtype == np.float64
    assert kp.box.dtype == kp.xy.dtype == kp.scores.dtype == kp.xy_raw.dtype == np.float32
    assert len(kp) == 8


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "xy",
            np.zeros((8, 17, 3)),
            r"KeyPoints\.xy: expected shape \[T, 17, 2\], got \[8, 17, 3\]",
        ),
        ("box", np.zeros((8, 4)), r"KeyPoints\.box: expected shape \[T, 5\], got \[8, 4\]"),
        (
            "scores",
            np.zeros((7, 17)),
            r"KeyPoints\.scores: expected 8 rows \(as frame has\), got 7",
        ),
        ("frame", np.zeros((8, 1)), r"KeyPoints\.frame: expected shape \[T\], got \[8, 1\]"),
    ],
)
def test_a_wrong_shape_names_the_field(field: str, value: np.ndarray, message: str) -> None:
    kp = _keypoints()
    arrays = {name: getattr(kp, name) for name in FIELDS}
    arrays[field] = value
    with pytest.raises(ValueError, match=message):
        KeyPoints(**arrays)


def test_for_track_take_concat_and_point() -> None:
    kp = _keypoints(frames=3, tracks=(2, 5))
    assert kp.track_ids().tolist() == [2, 5]
    five = kp.for_track(5)
    assert len(five) == 3 and set(five.track_id.tolist()) == {5}
    assert five.frame.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(five.xy, kp.xy[kp.track_id == 5])
    assert len(kp.for_track(9)) == 0
    _assert_same(KeyPoints.concat([kp.take(slice(0, 2)), kp.take(np.arange(2, 6))]), kp)
    assert len(KeyPoints.concat([])) == 0
    np.testing.assert_array_equal(kp.point("left_knee"), kp.xy[:, 13])
    with pytest.raises(KeyError, match="no keypoint 'knee'"):
        kp.point("knee")


def test_at_frames_lays_one_track_on_frames_with_nan_rows_between() -> None:
    two = _keypoints(frames=4, tracks=(2, 5)).for_track(5)
    track = two.take([3, 0, 2])  # frames 3, 0, 2: any order
    grid = track.at_frames(np.arange(5))
    assert grid.frame.tolist() == [0, 1, 2, 3, 4]
    assert grid.track_id.tolist() == [5] * 5
    assert grid.xy.dtype == grid.box.dtype == np.float32 and grid.t_s.dtype == np.float64
    for row, frame in ((0, 0), (2, 2), (3, 3)):
        for name in ("t_s", "box", "xy", "scores", "xy_raw"):
            np.testing.assert_array_equal(getattr(grid, name)[row], getattr(two, name)[frame])
    for name in ("t_s", "box", "xy", "scores", "xy_raw"):
        assert np.isnan(getattr(grid, name)[[1, 4]]).all(), name
    with pytest.raises(ValueError, match="one track, got \\[2 5\\]"):
        _keypoints(tracks=(2, 5)).at_frames(np.arange(4))
    with pytest.raises(ValueError, match="each frame once"):
        KeyPoints.concat([track, track]).at_frames(np.arange(4))
    with pytest.raises(ValueError, match="one track, got \\[\\]"):
        KeyPoints.empty().at_frames(np.arange(4))


def test_to_frame_has_the_schema_columns_and_dtypes() -> None:
    for kp in (_keypoints(), KeyPoints.empty()):
        df = kp.to_frame("v1")
        assert list(df.columns) == KEYPOINTS.names
        # The same table as the schema's own empty one, column for column.
        expected = KEYPOINTS.empty_table().to_pandas()
        assert df.dtypes.drop("video_id").equals(expected.dtypes.drop("video_id"))
        assert conform("keypoints", df).schema.equals(KEYPOINTS)
        assert list(kp.to_frame().columns) == list(FRAME_COLUMNS)
    df = _keypoints().to_frame()
    assert df.loc[1, "nose_x"] == np.float32(_keypoints().xy[1, 0, 0])
    assert df.loc[0, "right_shoulder_y_raw"] == np.float32(_keypoints().xy_raw[0, 6, 1])
    assert df.loc[0, "bbox_score"] == np.float32(_keypoints().box[0, 4])


@pytest.mark.parametrize("url", ["local", "memory"])
def test_round_trip_through_the_store(tmp_path, url: str) -> None:
    store = Store(tmp_path / "store" if url == "local" else f"memory://kp-{uuid.uuid4().hex}")
    kp = _keypoints()
    store.write("keypoints", kp.to_frame("v1"), video_id="v1", date="2026-11-25")
    back = KeyPoints.from_frame(store.read("keypoints", video_ids=["v1"]))
    _assert_same(back, kp)
    assert np.isnan(back.xy[0, 3]).all()
    store.write("keypoints", KeyPoints.empty().to_frame("v2"), video_id="v2", date="2026-11-25")
    assert len(KeyPoints.from_frame(store.read("keypoints", video_ids=["v2"]))) == 0


def test_from_frame_reads_absent_optional_columns_as_nan_and_names_missing_ones() -> None:
    df = _keypoints().to_frame().drop(columns=["t_s", "bbox_x1", "nose_x_raw"])
    kp = KeyPoints.from_frame(df)
    assert np.isnan(kp.t_s).all() and np.isnan(kp.box[:, 0]).all()
    assert np.isnan(kp.xy_raw[:, 0, 0]).all() and not np.isnan(kp.xy_raw[:, 0, 1]).any()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['track_id', 'nose_score'\]"):
        KeyPoints.from_frame(df.drop(columns=["track_id", "nose_score"]))


def test_from_frame_keeps_row_order_and_ignores_the_index() -> None:
    df = _keypoints().to_frame().iloc[::-1]
    kp = KeyPoints.from_frame(df)
    assert kp.frame.tolist() == df["frame"].tolist()
    assert isinstance(kp.to_frame().index, pd.RangeIndex)
