"""The video page lists the camera view each repetition was judged in."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd

from analysis.testing.view_clips import view_switch
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports import summaries
from reports.build import build_reports, video_page_path
from rules.scoring import score_video


def test_the_reps_table_shows_each_reps_view(tmp_path):
    clip, truth = view_switch("squat", "front", "side", reps=2, seed=1)
    store = Store(tmp_path / "store")
    vid, date = "7c7c7c7c7c7c7c7c", "2024-07-03"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/squat.mp4", file_name="squat.mp4", athlete="Ida",
        exercise="squat", view="front", fps=clip.truth.fps, width=clip.truth.width,
        height=clip.truth.height, frames=len(clip.keypoints), status="ok",
    )  # fmt: skip
    score_video(store, vid, video={**row.to_dict(), "view": None})
    write_video_row(store, row)
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert "<th>view</th>" in table
    cells = re.findall(r"<td>(front|side|oblique)</td>", table)
    assert cells == truth


def test_reps_from_before_the_view_column_show_no_view_column():
    reps = pd.DataFrame(
        {"rep_index": [0], "kind": ["rep"], "start_s": [0.0], "end_s": [1.0],
         "duration_s": [1.0], "in_target_s": [float("nan")]}
    )  # fmt: skip
    findings = pd.DataFrame(columns=["rep_index", "check_id", "metric", "unit", "severity",
                                     "value", "message"])  # fmt: skip
    table = summaries.rep_table(reps, findings)
    assert table.rows[0].view is None
    table = summaries.rep_table(reps.assign(view=[None]), findings)
    assert table.rows[0].view is None
