"""The video page of a yoga flow lists each held pose by name, with its hold time."""

from __future__ import annotations

import re
from html import unescape

from analysis.testing.yoga import Step, generate_flow
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports.build import build_reports, video_page_path
from rules.scoring import score_video


def test_a_flows_holds_are_listed_with_their_pose_names(tmp_path):
    flow = [Step("warrior_ii", 3.0, {"front_knee_deg": 130.0}), Step("triangle", 4.0)]
    clip = generate_flow(flow, ease=False)
    store = Store(tmp_path / "store")
    vid, date = "9a9a9a9a9a9a9a9a", "2024-07-04"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/flow.mp4", file_name="flow.mp4", athlete="Ida",
        exercise="yoga", fps=clip.truth.fps, width=clip.truth.width, height=clip.truth.height,
        frames=len(clip.keypoints), status="ok",
    )  # fmt: skip
    result = score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert "<th>pose</th>" in table
    assert re.findall(r"<td>(warrior ii|triangle)</td>", table) == ["warrior ii", "triangle"]
    durations = [f"{d:.2f} s" for d in result.reps["duration_s"]]
    assert all(d in table for d in durations) and durations[1] != durations[0]
    assert "2 holds" in html


def test_a_single_exercise_table_has_no_pose_column(tmp_path):
    from analysis.testing.synthetic import generate_clip

    clip = generate_clip("warrior_ii", view="front")
    store = Store(tmp_path / "store")
    vid, date = "8b8b8b8b8b8b8b8b", "2024-07-05"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/w2.mp4", file_name="w2.mp4", athlete="Ida",
        exercise="warrior_ii", view="front", fps=clip.truth.fps, width=clip.truth.width,
        height=clip.truth.height, frames=len(clip.keypoints), status="ok",
    )  # fmt: skip
    score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)
    build_reports(store, tmp_path / "out")
    html = video_page_path((tmp_path / "out").resolve(), date, vid).read_text()
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert "<th>pose</th>" not in table and "<th>kind</th>" in table
