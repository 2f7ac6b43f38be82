"""The video page lists partial reps (cut by the clip, not counted) and the reason a finding is
not assessable (issue 14)."""

from __future__ import annotations

import re
from html import unescape

from analysis.testing.synthetic import generate_clip
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports import summaries
from reports.build import build_reports, video_page_path
from rules.scoring import score_video


def test_partial_reps_and_not_assessable_reasons_on_the_video_page(tmp_path):
    # A small, jittery subject seen from the front, the clip starting on the first rep's way up
    # (its turn not seen: partial).
    clip = generate_clip("squat", view="front", reps=3, depth=90, valgus_deg=[0, 14, 0],
                         height=200, noise_px=4, seed=2)  # fmt: skip
    after_turn = float(clip.truth.reps["turn_s"].iloc[0]) + 0.2
    kp = clip.keypoints[clip.keypoints["t_s"] >= after_turn].reset_index(drop=True)
    store = Store(tmp_path / "store")
    vid, date = "5a5a5a5a5a5a5a5a", "2024-07-04"
    store.write("keypoints", kp.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/squat.mp4", file_name="squat.mp4", athlete="Ida",
        exercise="squat", view="front", fps=clip.truth.fps, width=clip.truth.width,
        height=clip.truth.height, frames=len(kp), status="ok",
    )  # fmt: skip
    result = score_video(store, vid, video=row.to_dict())
    assert result.reps["partial"].tolist() == [True, False, False]
    write_video_row(store, row)
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert table.count("partial: cut by the clip, not counted") == 1
    assert "subject too small: thigh" in table
    assert "2 reps" in html and "3 reps" not in html


def test_the_reason_is_the_messages_closing_parentheses():
    reason = summaries.not_assessable_reason
    assert (
        reason(
            "knee_valgus: not assessable, 12.0 +- 4.0 deg could be on either side of "
            "13.5 deg (subject too small: thigh 38 px)"
        )
        == "subject too small: thigh 38 px"
    )
    assert reason("depth: not measurable (keypoints missing)") == "keypoints missing"
    assert reason("no reason given") == ""
    assert reason("hip_sag: ... 10 deg (keypoints jitter 5.1 px on a 275 px trunk)") == (
        "keypoints jitter 5.1 px on a 275 px trunk"
    )
