"""The coaches' tables (schema 8): reviews and named tracks, and a store without them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from posecoach.annotations import (
    AGREEMENT_SQL,
    Review,
    TrackName,
    latest_reviews,
    name_track,
    record_review,
    track_names,
    video_reviews,
)
from posecoach.store import StoreError
from reports.reading import athlete_rows
from reports.sample import SAMPLE_RULE_ID, SampleTrack, SampleVideo, build_sample_store


@pytest.fixture
def sample(tmp_path: Path):
    video = SampleVideo("a.mp4", "Ana", "squat", "2024-05-06", "2024-05-06T18:00:00")
    video.tracks = [SampleTrack(1, 4)]
    store, _ = build_sample_store(tmp_path / "store", [video])
    return store, video.video_id


def review(video_id: str, verdict: str, at: int, reviewer: str = "bob") -> Review:
    return Review(
        video_id, 1, 0, "depth", SAMPLE_RULE_ID, "1", reviewer, verdict, "",
        dt.datetime(2026, 12, 1, 10, at, tzinfo=dt.UTC),
    )  # fmt: skip


def test_a_store_without_the_coaches_tables_reads_as_having_none(sample, tmp_path) -> None:
    store, video_id = sample
    assert not (tmp_path / "store" / "reviews").exists()
    assert store.query("SELECT count(*) AS n FROM reviews")["n"].tolist() == [0]
    assert not len(store.query(AGREEMENT_SQL)) and track_names(store) == {}
    videos, reps, findings = athlete_rows(store, "Ana")
    assert list(videos["video_id"]) == [video_id] and len(reps) == 4
    assert len(findings) == 8  # depth and trunk lean per rep


def test_the_latest_review_per_finding_and_reviewer_wins(sample) -> None:
    store, video_id = sample
    record_review(store, review(video_id, "agree", 1))
    record_review(store, review(video_id, "agree", 2, reviewer="ana"))
    record_review(store, review(video_id, "disagree", 3))
    rows = video_reviews(store, video_id)
    assert sorted(zip(rows["reviewer"], rows["verdict"], strict=True)) == [
        ("ana", "agree"),
        ("bob", "disagree"),
    ]
    # rows from anywhere (two files, an export): the latest per key still wins
    older = rows.assign(verdict="x", reviewed_at=rows["reviewed_at"] - dt.timedelta(hours=1))
    doubled = latest_reviews(pd.concat([rows, older], ignore_index=True))
    assert sorted(doubled["verdict"]) == ["agree", "disagree"]
    with pytest.raises(ValueError, match="verdict"):
        record_review(store, review(video_id, "maybe", 4))
    with pytest.raises(StoreError, match="no videos row"):
        record_review(store, review("nosuchvideo", "agree", 4))


def test_naming_a_track_and_taking_the_name_back(sample) -> None:
    store, video_id = sample
    name_track(store, TrackName(video_id, 1, "ben", "bob"))
    assert track_names(store) == {(video_id, 1): "ben"}
    name_track(store, TrackName(video_id, 1, "cleo", "bob"))
    assert track_names(store, [video_id]) == {(video_id, 1): "cleo"}
    name_track(store, TrackName(video_id, 1, "", "bob"))
    assert track_names(store) == {} and not store.files("track_athletes")
