"""Why a check was not judged: a fact about the camera view, or an unclear measurement."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd

from analysis.testing.synthetic import generate_clip
from analysis.testing.view_clips import view_switch
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports import summaries, unjudged
from reports.build import athlete_page_path, build_reports, video_page_path
from rules.scoring import score_video

VIEW = "knee_valgus: not assessable from this view (needs front, the camera view is side)"
UNCLEAR = "depth: not assessable, 101 +- 9 deg could be on either side of 100 deg ({})"


def _tables(views, findings):
    reps = pd.DataFrame({"rep_index": range(len(views)), "kind": "rep", "view": views})
    return reps, pd.DataFrame(findings, columns=["rep_index", "check_id", "severity", "message"])


def test_the_cause_comes_from_the_checks_views_against_each_reps_own():
    needs = {"knee_valgus": ("front",), "depth": ("side",), "trunk_lean": ("side",)}
    reps, findings = _tables(
        ["front", "front", "side", "side", "side"],
        [(2, "knee_valgus", "not_assessable", "x"), (3, "knee_valgus", "not_assessable", "x"),
         (4, "knee_valgus", "not_assessable", "x"), (0, "depth", "not_assessable", "x"),
         (1, "depth", "not_assessable", "x"), (4, "depth", "not_assessable",
                                              UNCLEAR.format("subject too small: thigh 12 px")),
         (2, "depth", "ok", "")],
    )  # fmt: skip
    got = {(u.check_id, u.by_view): u for u in unjudged.unjudged(reps, findings, needs)}
    assert set(got) == {("knee_valgus", True), ("depth", True), ("depth", False)}
    assert (got["knee_valgus", True].reps, got["knee_valgus", True].cameras) == (3, ("side",))
    assert (got["depth", True].reps, got["depth", True].needs) == (2, ("side",))
    assert got["depth", False].reason == "subject too small: thigh 12 px"
    line = summaries.summarize_track(1, reps, findings, needs).line
    assert line == (
        "5 reps, no flags, depth not assessable on 1 rep (subject too small: thigh 12 px); "
        "knee valgus needs a front view (3 reps filmed side); "
        "depth needs a side view (2 reps filmed front)"
    )


def test_without_recorded_views_the_message_says_which_it_is():
    reps, findings = _tables(
        ["side"] * 2,
        [(-1, "knee_valgus", "not_assessable", VIEW),
         (0, "depth", "not_assessable", UNCLEAR.format("keypoints jitter 5.1 px on a 80 px trunk"))],
    )  # fmt: skip
    line = summaries.summarize_track(1, reps.drop(columns="view"), findings).line
    assert line == (
        "2 reps, no flags, depth not assessable on 1 rep (keypoints jitter 5.1 px on a 80 px "
        "trunk); knee valgus needs a front view (filmed side)"
    )
    # Nothing is said to be "from this view" that was not.
    reps, findings = _tables(["front"], [(0, "knee_valgus", "not_assessable", UNCLEAR.format("x"))])
    assert "view" not in summaries.summarize_track(1, reps, findings).line


def _store_with(tmp_path, keypoints, vid, date, **row):
    store = Store(tmp_path / "store")
    store.write("keypoints", keypoints.assign(video_id=vid), video_id=vid, date=date)
    video = VideoRow(video_id=vid, date=date, path="missing/squat.mp4", file_name=f"{vid}.mp4",
                     athlete="Ida", exercise="squat", status="ok", source="video", **row)  # fmt: skip
    score_video(store, vid, video=video.to_dict())
    return store, video


def test_pages_of_a_set_filmed_front_then_side(tmp_path):
    # Estimated view: each rep in its own; what each half cannot show is a fact about that
    # half's camera, said once per check on the video page and the athlete's trend page.
    clip, truth = view_switch("squat", "front", "side", reps=3, noise_px=1.0, seed=3)
    vid, date = "6b6b6b6b6b6b6b6b", "2024-07-05"
    store, row = _store_with(tmp_path, clip.keypoints, vid, date, fps=clip.truth.fps,
                             width=clip.truth.width, height=clip.truth.height,
                             frames=len(clip.keypoints))  # fmt: skip
    reps = store.read("reps").sort_values("rep_index")
    assert reps["view"].tolist() == truth
    write_video_row(store, row.with_view(str(reps["view"].iloc[-1]), "estimated"))
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    summary = re.search(r'<p class="summary-line" id="summary">(.*?)</p>', html).group(1)
    assert "knee valgus needs a front view (3 reps filmed side)" in summary
    assert "depth needs a side view (3 reps filmed front)" in summary
    assert "not assessable from this view" not in summary
    camera = re.search(r'<dd id="camera-view">(.*?)</dd>', html).group(1)
    assert camera == "side (estimated from the poses); reps 1-3 front, reps 4-6 side"
    # The reps table: each rep's view, and in a not-assessable cell its reason.
    table = re.search(r'<table class="reps">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"<td>(front|side)</td>", table) == truth
    note = '<span class="note">needs front, this rep\'s camera view is side</span>'
    assert table.count(note) == 3
    athlete = unescape(athlete_page_path(out.resolve(), "Ida").read_text())
    assert athlete.count("knee valgus needs a front view (3 reps filmed side)") == 1
    assert "checks not assessable from this view" not in athlete


def test_pages_of_a_small_front_view_squat_give_the_measurements_reason(tmp_path):
    # Filmed from the front, which shows valgus, but too small to tell: the reason, no view.
    clip = generate_clip("squat", view="front", reps=3, valgus_deg=14.0, height=200,
                         noise_px=4, seed=2)  # fmt: skip
    vid, date = "7d7d7d7d7d7d7d7d", "2024-07-06"
    store, row = _store_with(tmp_path, clip.keypoints, vid, date, view="front",
                             view_source="declared", fps=clip.truth.fps, width=clip.truth.width,
                             height=clip.truth.height, frames=len(clip.keypoints))  # fmt: skip
    findings = store.read("findings")
    unclear = findings[(findings["check_id"] == "knee_valgus")
                       & (findings["severity"] == "not_assessable")]  # fmt: skip
    assert len(unclear) >= 1
    write_video_row(store, row)
    out = tmp_path / "out"
    build_reports(store, out)
    html = unescape(video_page_path(out.resolve(), date, vid).read_text())
    summary = re.search(r'<p class="summary-line" id="summary">(.*?)</p>', html).group(1)
    n = unclear["rep_index"].nunique()
    assert (
        f"knee valgus not assessable on {n} rep{'' if n == 1 else 's'} (subject too small"
        in summary
    )
    assert "knee valgus needs" not in summary
    assert re.search(r'<dd id="camera-view">(.*?)</dd>', html).group(1) == "front (declared)"
