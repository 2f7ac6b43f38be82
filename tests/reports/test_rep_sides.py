"""The video page of an alternating-side exercise says each rep's side and counts per side."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd

from analysis.testing.exercises import generate_exercise
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports.build import build_reports, video_page_path
from reports.summaries import side_counts
from rules.scoring import score_video


def test_alternating_lunges_list_each_reps_side(tmp_path):
    clip = generate_exercise("alternating_lunge", reps=4, view="side")
    store = Store(tmp_path / "store")
    vid, date = "7c7c7c7c7c7c7c7c", "2024-07-06"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/lunges.mp4", file_name="lunges.mp4",
        athlete="Ida", exercise="lunge", fps=clip.truth.fps, width=clip.truth.width,
        height=clip.truth.height, frames=len(clip.keypoints), status="ok",
    )  # fmt: skip
    result = score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)
    sides = list(result.reps["side"])
    assert sides == ["left", "right", "left", "right"]  # the generator: even reps left
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert "<th>side</th>" in table
    assert re.findall(r"<td>(left|right)</td>", table) == sides
    assert "4 reps (2 left, 2 right)" in html


def test_side_counts_leave_out_partial_and_sideless_reps():
    reps = pd.DataFrame({"kind": ["rep"] * 4, "partial": [False, False, True, False],
                         "side": ["left", "left", "right", None]})  # fmt: skip
    assert side_counts(reps) == " (2 left)"
    assert side_counts(reps.drop(columns="side")) == ""
    assert side_counts(reps.assign(side=None)) == ""
