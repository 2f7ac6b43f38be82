"""The time axis of an athlete's trend: in days, also for a single session (issue 15: plotly
zoomed one session down to milliseconds around midnight)."""

from __future__ import annotations

import json
import re

import pandas as pd

from reports.athlete_page import render_athlete
from reports.sample import SampleTrack, SampleVideo, build_sample_store


def _trend(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="trend-0-data">(.*?)</script>', html, re.S)
    assert m, "no trend chart"
    return json.loads(m.group(1))


def _athlete(tmp_path, *recorded: str) -> dict:
    videos = [
        SampleVideo(f"s{i}.mp4", "Cleo", "squat", at[:10], at, tracks=[SampleTrack(1, 3)])
        for i, at in enumerate(recorded)
    ]
    store, _ = build_sample_store(tmp_path / "store", videos)
    return _trend(render_athlete(store, tmp_path / "out", "Cleo").read_text())


def test_a_single_session_is_drawn_on_a_day_axis(tmp_path) -> None:
    xaxis = _athlete(tmp_path, "2024-05-06T23:59:59")["layout"]["xaxis"]
    assert "%b" in xaxis["tickformat"] and "%H" not in xaxis["tickformat"]
    assert xaxis["dtick"] == 86_400_000
    low, high = (pd.Timestamp(t) for t in xaxis["range"])
    session = pd.Timestamp("2024-05-06T23:59:59")
    assert low <= session - pd.Timedelta(days=1) and high >= session + pd.Timedelta(days=1)
    assert xaxis["type"] == "date"


def test_sessions_on_several_days_keep_plotlys_own_axis(tmp_path) -> None:
    xaxis = _athlete(tmp_path, "2024-05-01T18:00:00", "2024-05-08T18:00:00")["layout"]["xaxis"]
    assert "range" not in xaxis and "tickformat" not in xaxis
