"""A live session has no file name: its pages name it by when it started, not by its id."""

from __future__ import annotations

import dataclasses
import re

from posecoach.videos import read_video_rows, write_video_row
from reports.athlete_page import render_athlete
from reports.build import build_reports
from reports.sample import SampleTrack, SampleVideo, build_sample_store
from reports.site import video_label, video_page_path

LABEL = "Live session 2024-05-06 17:00 UTC"


def test_a_live_sessions_pages_name_it_by_its_start(tmp_path) -> None:
    video = SampleVideo(
        "ignored.mp4", "Cleo", "squat", "2024-05-06", "2024-05-06T19:00:00+02:00",
        tracks=[SampleTrack(1, 3)],
    )  # fmt: skip
    store, _ = build_sample_store(tmp_path / "store", [video])
    row = read_video_rows(store, [video.video_id])[0]
    write_video_row(store, dataclasses.replace(row, file_name=None, source="live"))
    build_reports(store, tmp_path / "out")
    page = video_page_path(tmp_path / "out", "2024-05-06", video.video_id).read_text()
    assert re.search(r"<title>([^<]*)</title>", page).group(1) == LABEL  # type: ignore[union-attr]
    night = (tmp_path / "out" / "2024-05-06" / "index.html").read_text()
    assert f">{LABEL}</a>" in night
    assert LABEL in render_athlete(store, tmp_path / "out", "Cleo").read_text()


def test_a_file_keeps_its_name_and_a_video_without_either_its_id() -> None:
    at = "2024-05-06T17:00:00Z"
    assert video_label("set1.mp4", "live", at, "ab12") == "set1.mp4"
    assert video_label(None, "live", at, "ab12") == LABEL
    assert video_label(None, "video", at, "ab12") == "ab12"
    assert video_label(float("nan"), "live", None, "ab12") == "ab12"
