"""reports: pages built from a generated store with known reps and findings.

The sample store (`reports.sample`) plants shallow and leaning reps per person; every count on
the pages is derived here from those parameters, never hard-coded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from html import unescape
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports import charts, series, summaries
from reports.build import (
    athlete_page_path,
    build_reports,
    night_page_path,
    render_video,
    resolve_video_path,
    video_page_path,
)
from reports.sample import (
    DEPTH_LIMIT_DEG,
    HOSTILE_MESSAGE,
    HOSTILE_NAME,
    LEAN_LIMIT_DEG,
    UNCLEAR_REASON,
    SampleTrack,
    SampleVideo,
    build_sample_store,
)
from reports.thumbnails import FrameReader, _upright

_LINK = re.compile(r'(?:href|src)="([^"]*)"')


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    store, videos = build_sample_store(root / "store")
    out = root / "out"
    index = build_reports(store, out)
    return store, videos, out, index


def _expected_line(track: SampleTrack, video: SampleVideo) -> str:
    parts = [f"{track.n_reps} rep" + ("" if track.n_reps == 1 else "s")]
    flags = []
    if track.lean:
        flags.append(f"{len(track.lean)} with trunk lean risk")
    if track.shallow:
        flags.append(f"{len(track.shallow)} with depth caution")
    unclear = []
    if track.unclear:
        n = len(track.unclear)
        unclear.append(f"depth not assessable on {n} rep{'' if n == 1 else 's'} ({UNCLEAR_REASON})")
    # What the side view cannot show: a fact about the camera, said once, after the flags.
    camera = "; knee valgus needs a front view (filmed side)" if video.not_assessable else ""
    return ", ".join(parts + (flags or ["no flags"]) + unclear) + camera


def _page(out: Path, video: SampleVideo) -> Path:
    return video_page_path(out.resolve(), video.date, video.video_id)


def _section(html: str, track_id: int) -> str:
    start = html.index(f'<section class="track" id="track-{track_id}"')
    return html[start : html.index("</section>", start)]


def _chart(html: str, chart_id: str) -> dict:
    m = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S
    )
    assert m, f"no chart data block {chart_id}"
    return json.loads(m.group(1))


def test_every_page_is_written(built):
    store, videos, out, index = built
    assert index == out.resolve() / "index.html"
    for v in videos:
        page = _page(out, v)
        assert page.exists() == (v.status == "ok"), v.file_name
    for date in {v.date for v in videos}:
        assert night_page_path(out.resolve(), date).exists()
    for athlete in {v.athlete for v in videos}:
        assert athlete_page_path(out.resolve(), athlete).exists()
    # plotly.js once per report folder, from the installed package
    copies = [p for p in out.rglob("*.js") if p.stat().st_size > 1_000_000]
    assert copies == [out.resolve() / "assets" / "plotly.min.js"]
    # ...and loaded by the pages with charts, not by the tables-only ones.
    loads = re.compile(r'<script src="[./]*assets/plotly\.min\.js"></script>\s*'
                       r'<script src="[./]*assets/report\.js"></script>')  # fmt: skip
    charted = [_page(out, v) for v in videos if v.status == "ok"]
    charted += [athlete_page_path(out.resolve(), a) for a in {v.athlete for v in videos}]
    for page in charted:
        assert loads.search(page.read_text()), page
    assert not loads.search(index.read_text())


@pytest.mark.parametrize("which", [0, 1, 3, 4])
def test_video_page_counts_match_the_planted_faults(built, which):
    _, videos, out, _ = built
    video = videos[which]
    html = _page(out, video).read_text()
    scored = [t for t in video.tracks if t.scored]
    line = (
        html[html.index('<p class="summary-line" id="summary">') :]
        .split(">", 1)[1]
        .split("<", 1)[0]
    )
    if len(scored) == 1:
        assert unescape(line) == _expected_line(scored[0], video)
    else:
        assert unescape(line).startswith(f"{len(scored)} people.")
        for t in scored:
            assert f"#{t.track_id}: {_expected_line(t, video)}" in unescape(line)
    for t in scored:
        sec = _section(html, t.track_id)
        assert unescape(sec).count(_expected_line(t, video)) == 1
        rows = re.findall(r'<tr class="row-(\w+)">', sec)
        assert len(rows) == t.n_reps
        expected_worst = [
            "risk" if i in t.lean else "caution" if i in t.shallow else "ok"
            for i in range(t.n_reps)
        ]
        assert rows == expected_worst
        # a keyframe per flagged finding, each image a real JPEG beside the page
        figures = re.findall(
            r'<figure class="keyframe sev-border-(\w+)">\s*<img src="([^"]+)"', sec
        )
        assert sorted(s for s, _ in figures) == sorted(
            ["risk"] * len(t.lean) + ["caution"] * len(t.shallow)
        )
        for _, src in figures:
            img = cv2.imread(str(_page(out, video).parent / src))
            assert img is not None and img.shape[0] > 50 and img.shape[1] > 20
        # coaching cues: one per flagged check, naming the reps
        cues = re.findall(r'<li class="cue sev-border-(\w+)">', sec)
        assert cues == (["risk"] if t.lean else []) + (["caution"] if t.shallow else [])
        if t.shallow:
            reps = sorted(i + 1 for i in t.shallow)
            word = "rep " if len(reps) == 1 else "reps "
            assert f"({word}{', '.join(map(str, reps))})" in sec
    # the bystander has no section but is mentioned
    unscored = [t for t in video.tracks if not t.scored]
    assert html.count('<section class="track"') == len(scored)
    if unscored:
        assert f"{len(unscored)} other tracked person was not scored" in html


def test_chart_holds_the_metrics_bands_and_rep_spans(built):
    _, videos, out, _ = built
    video = videos[0]
    track = video.tracks[0]
    fig = _chart(_page(out, video).read_text(), f"chart-t{track.track_id}")
    lines = [d for d in fig["data"] if d["mode"] == "lines"]
    markers = [d for d in fig["data"] if d["mode"] == "markers"]
    # rows: the rep signal (knee angle, also the depth metric) and the trunk angle
    assert [d["name"] for d in lines] == ["knee angle left", "trunk to vertical"]
    assert [len(m["y"]) for m in markers] == [track.n_reps, track.n_reps]
    knee = np.array([np.nan if v is None else v for v in lines[0]["y"]])
    assert np.nanmin(knee) == pytest.approx(85.0, abs=0.5)  # deep reps bottom out at 85 deg
    shapes = fig["layout"]["shapes"]
    spans = [s for s in shapes if s["type"] == "rect" and s["yref"] == "paper"]
    assert len(spans) == track.n_reps
    thresholds = sorted({s["y0"] for s in shapes if s["type"] == "line"})
    assert thresholds == [LEAN_LIMIT_DEG, DEPTH_LIMIT_DEG]
    # the finding markers sit at each rep's bottom with the measured value
    assert sorted(markers[0]["y"]) == sorted(
        118.0 if i in track.shallow else 85.0 for i in range(track.n_reps)
    )


def test_figures_are_valid_plotly(built):
    import plotly.graph_objects as go

    store, videos, out, _ = built
    for page in [_page(out, videos[0]), athlete_page_path(out.resolve(), "Ana")]:
        html = page.read_text()
        chart_ids = re.findall(r'data-chart="([^"]+)-data"', html)
        assert chart_ids, f"no data-chart element in {page}"
        for chart_id in chart_ids:
            fig = _chart(html, chart_id)
            go.Figure(data=fig["data"], layout=fig["layout"])  # raises on an invalid property


def test_hostile_file_name_and_message_render_as_text(built):
    _, videos, out, _ = built
    hostile = next(v for v in videos if v.file_name == HOSTILE_NAME)
    pages = [
        _page(out, hostile),
        night_page_path(out.resolve(), hostile.date),
        athlete_page_path(out.resolve(), "Ana"),
    ]
    for page in pages:
        html = page.read_text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in html, page
        assert "<script>alert" not in html, page
        # every <script> element is ours: JSON data, plotly.js or report.js
        for tag in re.findall(r"<script[^>]*>", html):
            assert tag == '<script type="application/json"' or re.fullmatch(
                r'<script (type="application/json" id="[\w-]+"|src="[./]*assets/(plotly\.min|report)\.js")>',
                tag,
            ), tag
    html = _page(out, hostile).read_text()
    assert HOSTILE_MESSAGE.strip() in unescape(html)  # shown as text in the cue
    # the message is in the chart's hover text: JSON-escaped in the page, HTML-escaped for
    # plotly (which reads labels as HTML), and it reads back intact
    fig = _chart(html, "chart-t1")
    texts = [t for d in fig["data"] for t in d.get("text", []) if "alert(3)" in t]
    assert texts and all("<script>" not in t for t in texts)
    assert all(HOSTILE_MESSAGE.strip() in unescape(t) for t in texts)


def test_night_index_lists_every_video_with_status_and_severities(built):
    _, videos, out, _ = built
    date = "2024-05-06"
    night = [v for v in videos if v.date == date]
    html = night_page_path(out.resolve(), date).read_text()
    rows = re.findall(r'<tr class="status-(\w+)" data-video-id="(\w+)">(.*?)</tr>', html, re.S)
    assert sorted(r[1] for r in rows) == sorted(v.video_id for v in night)
    for status, vid, body in rows:
        v = next(v for v in night if v.video_id == vid)
        assert status == v.status
        if v.status == "failed":
            assert v.error in unescape(body)
            assert "<a href" not in body.split("</td>")[0]  # no page, no link
        else:
            assert f'href="{vid}.html"' in body
            risk = sum(len(t.lean) for t in v.tracks)
            caution = sum(len(t.shallow) for t in v.tracks)
            cells = re.findall(r'<td class="num">(.*?)</td>', body, re.S)[-3:]
            numbers = [int(re.sub(r"<[^>]+>", "", c).strip()) for c in cells]
            assert numbers == [risk, caution, 0]
    total_risk = sum(len(t.lean) for v in night for t in v.tracks)
    total_caution = sum(len(t.shallow) for v in night for t in v.tracks)
    assert f"{total_risk} risk</span>" in html and f"{total_caution} caution</span>" in html
    assert f"{len(night)} videos processed" in html


def test_athlete_trend_has_one_point_per_session(built):
    _, videos, out, _ = built
    ana = [v for v in videos if v.athlete == "Ana" and v.status == "ok"]
    html = athlete_page_path(out.resolve(), "Ana").read_text()
    fig = _chart(html, "trend-0")
    assert len(fig["data"]) == 2  # knee angle and trunk angle
    for trace in fig["data"]:
        assert len(trace["x"]) == len(ana)
    # median knee angle per session: deep reps at 85 unless most reps are shallow
    assert fig["data"][0]["y"] == [85.0] * len(ana)
    for v in ana:
        assert f'href="../{v.date}/{v.video_id}.html"' in html


def test_links_resolve_and_nothing_leaves_the_folder(built):
    _, _, out, _ = built
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 8
    for page in pages:
        html = page.read_text()
        assert "http://" not in html and "https://" not in html and "//cdn" not in html, page
        links = _LINK.findall(html)
        assert links, f"no href or src in {page}"
        for link in links:
            if link.startswith("#"):
                assert f'id="{link[1:]}"' in html, (page, link)
                continue
            target = (page.parent / unescape(link).split("#")[0]).resolve()
            assert target.exists(), (page, link)
            assert out.resolve() in target.parents, (page, link)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        if "<table" in html:
            assert html.count('<div class="table-wrap">') == html.count("<table")


def test_video_page_stays_small(built):
    _, videos, out, _ = built
    pages = [(v, _page(out, v)) for v in videos if v.status == "ok"]
    assert pages, "the sample store has no analysed video"
    for v, page in pages:
        total = page.stat().st_size + sum(
            p.stat().st_size for p in (page.parent / "img").glob(f"{v.video_id}-*.jpg")
        )
        assert total < 5 * 1024 * 1024, page


def test_thumbnails_come_from_the_video_when_it_is_there(built):
    _, videos, out, _ = built
    with_file, without = videos[0], videos[1]
    html = _page(out, with_file).read_text()
    assert "not at hand" not in html
    img = cv2.imread(str(_page(out, with_file).parent / "img" / f"{with_file.video_id}-t1-id.jpg"))
    # the sample video's green background (BGR 70, 90, 60), not the blank frame's grey
    assert np.abs(img[2, 2].astype(int) - [70, 90, 60]).max() < 25
    assert "not at hand" in _page(out, without).read_text()
    blank = cv2.imread(str(_page(out, without).parent / "img" / f"{without.video_id}-t1-id.jpg"))
    assert np.abs(blank[2, 2].astype(int) - [40, 40, 40]).max() < 12


def test_one_night_rebuilds_alone(built, tmp_path):
    store, videos, _, _ = built
    out = tmp_path / "night"
    page = build_reports(store, out, date="2024-05-07")
    assert page == night_page_path(out.resolve(), "2024-05-07")
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    tuesday = [v for v in videos if v.date == "2024-05-07"]
    assert written == {
        "index.html",
        "2024-05-07/index.html",
        *(f"2024-05-07/{v.video_id}.html" for v in tuesday),
        *(
            athlete_page_path(out, a).relative_to(out).as_posix()
            for a in {v.athlete for v in tuesday}
        ),
    }
    # the index names the other night but does not link to a page that was not built
    index = (out / "index.html").read_text()
    assert "2024-05-06" in index and 'href="2024-05-06/index.html"' not in index
    # rebuilding gives the same files
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    build_reports(store, out, date="2024-05-07")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == before
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        build_reports(store, out, date="7 May")


def test_relative_video_paths_resolve_under_the_given_roots(tmp_path):
    (tmp_path / "inbox" / "ana").mkdir(parents=True)
    (tmp_path / "inbox" / "ana" / "a.mp4").write_bytes(b"x")
    assert resolve_video_path("ana/a.mp4", [tmp_path / "nope", tmp_path / "inbox"]) == str(
        tmp_path / "inbox" / "ana" / "a.mp4"
    )
    assert resolve_video_path("ana/missing.mp4", [tmp_path / "inbox"]) is None
    assert resolve_video_path(None) is None


def test_render_video_of_unknown_id_names_it(built, tmp_path):
    store = built[0]
    with pytest.raises(KeyError, match="no videos row for video_id 'feedfeedfeedfeed'"):
        render_video(store, "feedfeedfeedfeed", tmp_path)


def test_cli_builds_a_night(built, tmp_path, capsys):
    from flows.cli.main import main

    store = built[0]
    assert (
        main(["report", "--store", store.url, "--out", str(tmp_path / "r"), "--date", "2024-05-06"])
        == 0
    )
    assert str(night_page_path((tmp_path / "r").resolve(), "2024-05-06")) in capsys.readouterr().out
    assert (
        main(["report", "--store", store.url, "--out", str(tmp_path / "r"), "--date", "May"]) == 2
    )


def test_cli_report_accepts_rules_and_says_it_is_ignored(built, tmp_path, capsys, monkeypatch):
    """Reports chart from the store: ``--rules`` (kept for scripts) changes no page, and the
    command and its help say so."""
    from flows.cli.main import main

    monkeypatch.setattr("reports.site.now", lambda: "2024-05-07 02:00 UTC")  # the footer's time
    store = built[0]
    args = ["report", "--store", store.url, "--date", "2024-05-06"]
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "ruled"), "--rules", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert f"--rules {tmp_path / 'none'} is ignored" in err and "posecoach score" in err
    pages = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*.html"))
    assert pages
    for page in pages:
        assert (tmp_path / "ruled" / page).read_bytes() == (tmp_path / "plain" / page).read_bytes()
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "--rules DIR ignored (accepted for scripts" in " ".join(capsys.readouterr().out.split())


def test_frame_reader_reads_frames_in_any_order(built):
    store, videos, _, _ = built
    row = store.read("videos", [videos[0].video_id]).iloc[0]
    with FrameReader(row["path"], int(row["width"]), int(row["height"])) as reader:
        assert reader.available
        late, early = reader.read(100), reader.read(3)
        assert late.shape == (240, 320, 3) and early.shape == (240, 320, 3)
        assert reader.read(10_000) is None
    with FrameReader("/no/such/file.mp4", 320, 240) as reader:
        assert not reader.available and reader.read(0) is None


def test_upright_applies_clockwise_rotation():
    raw = np.zeros((20, 40, 3), np.uint8)
    raw[0, 0] = 255  # top-left of a landscape frame
    up = _upright(raw, 90, width=20, height=40)
    assert up.shape == (40, 20, 3)
    assert up[0, 19].max() == 255  # clockwise: the top-left corner goes to the top-right
    assert _upright(up, 90, width=20, height=40) is up  # already upright (decoder rotated it)


# -- pure pieces -------------------------------------------------------------------------------
def test_script_json_cannot_close_its_script_block():
    hostile = {"t": "</script><script>alert(1)</script><!-- & \u2028", "n": float("nan")}
    text = charts.script_json(hostile)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": hostile["t"], "n": None}


def _findings(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "rep_index": r, "check_id": c, "severity": s, "metric": "knee_angle_left_deg",
                "value": 90.0, "threshold": 100.0, "comparison": ">", "unit": "deg", "message": "",
            }
            for r, c, s in rows
        ]
    )  # fmt: skip


def test_summary_line_counts_reps_per_check_and_severity():
    reps = pd.DataFrame({"kind": ["rep"] * 4, "duration_s": [2.0] * 4, "rep_index": range(4)})
    f = _findings(
        [
            (0, "knee_valgus", "risk"),
            (1, "knee_valgus", "risk"),
            (1, "depth", "caution"),
            (2, "depth", "ok"),
            (-1, "tempo", "info"),
        ]
    )
    s = summaries.summarize_track(1, reps, f)
    assert (
        s.line == "4 reps, 2 with knee valgus risk, 1 with depth caution, tempo info over the set"
    )
    assert s.counts == {"risk": 2, "caution": 1, "info": 1, "not_assessable": 0}
    holds = pd.DataFrame({"kind": ["hold"], "duration_s": [31.5], "rep_index": [0]})
    assert summaries.summarize_track(1, holds, f.iloc[:0]).line == "1 hold (31.5 s), no flags"
    cues = summaries.coaching_cues(f)
    assert [(c.severity, c.check_id, c.reps) for c in cues] == [
        ("risk", "knee_valgus", "reps 1, 2"),
        ("caution", "depth", "rep 2"),
        ("info", "tempo", "whole set"),
    ]
    assert "Knee valgus: 90.0°" in cues[0].text  # made from the value where no message was given


def test_format_value_and_humanize():
    assert summaries.format_value(float("nan"), "deg") == "n/a"
    assert summaries.format_value(97.34, "deg") == "97.3°"
    assert summaries.format_value(0.5, "torso") == "0.5 torso"
    assert summaries.humanize("knee_angle_left_deg") == "knee angle left"


def test_metric_keypoints_follow_the_kinematics_definitions():
    assert series.metric_keypoints("knee_angle_left_deg") == {"left_hip", "left_knee", "left_ankle"}
    assert series.metric_keypoints("trunk_to_vertical_deg") == {
        "left_shoulder", "right_shoulder", "left_hip", "right_hip"
    }  # fmt: skip
    assert series.metric_keypoints("front_knee_valgus_right") == {
        "right_hip",
        "right_knee",
        "right_ankle",
    }
    assert series.metric_keypoints("mystery") == frozenset()


def test_threshold_bands_take_the_worst_severity_per_threshold():
    f = _findings([(0, "depth", "ok"), (1, "depth", "caution"), (2, "depth", "risk")])
    f.loc[2, "threshold"] = 120.0
    bands = charts.threshold_bands(f)
    assert [(b.threshold, b.above, b.severity) for b in bands] == [
        (100.0, True, "caution"),
        (120.0, True, "risk"),
    ]


def test_store_without_reps_still_renders_people(tmp_path):
    """A video with keypoints but no rule (unknown exercise): people shown, not scored."""
    video = SampleVideo("yoga.mp4", "Dee", "unknown_flow", "2024-06-01", "2024-06-01T08:00:00",
                        tracks=[SampleTrack(4, 2)])  # fmt: skip
    store, _ = build_sample_store(tmp_path / "s", [video])
    store.delete(video.video_id, tables=("reps", "findings"))
    out = tmp_path / "o"
    build_reports(store, out)
    html = video_page_path(out.resolve(), video.date, video.video_id).read_text()
    assert "Not scored: no rule applied to this person." in html
    assert 'id="track-4"' in html and "data-chart" not in html
    assert "no repetitions scored" in html


def test_empty_store_gives_an_index(tmp_path):
    out = tmp_path / "o"
    page = build_reports(Store(tmp_path / "s"), out)
    assert "The store holds no video yet." in page.read_text()
    shutil.rmtree(out)


def test_page_of_a_video_scored_by_the_rule_library(tmp_path):
    """Synthetic squats with planted faults, scored by `rules.scoring` with the shipped squat
    rule: the page's counts follow the rule's own thresholds, the chart draws its rep signal
    and its bands."""
    from analysis.testing import synthetic
    from rules import scoring
    from rules.loader import load_library

    depth = [70.0, 70.0, 125.0, 70.0, 70.0]
    lean = [30.0, 50.0, 30.0, 30.0, 30.0]
    clip = synthetic.generate_clip(
        "squat", reps=5, view="side", fps=30.0, depth=depth, trunk_lean_deg=lean
    )
    truth = clip.truth
    store = Store(tmp_path / "store")
    vid, date = "5a5a5a5a5a5a5a5a", "2024-07-01"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/squat.mp4", file_name="squat.mp4", athlete="Eve",
        exercise="squat", view="side", fps=truth.fps, width=truth.width, height=truth.height,
        frames=int(clip.keypoints["frame"].max()) + 1, status="ok",
        recorded_at=dt.datetime(2024, 6, 30, 18, tzinfo=dt.UTC),
    )  # fmt: skip
    scoring.score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)

    rule = load_library().find("squat")
    checks = {c.id: c for c in rule.checks}
    flagged: dict[tuple[str, str], int] = {}
    for check_id, planted in (("depth", depth), ("trunk_lean", lean)):
        for v in planted:
            sev = checks[check_id].severity(v)[0]
            if sev != "ok":
                flagged[(check_id, sev)] = flagged.get((check_id, sev), 0) + 1
    assert flagged  # the plants do cross the rule's bands
    parts = [
        f"{n} with {summaries.humanize(c)} {s}"
        for (c, s), n in sorted(
            flagged.items(), key=lambda kv: (-summaries.SEVERITY_RANK[kv[0][1]], -kv[1], kv[0][0])
        )
    ]
    out = tmp_path / "out"
    build_reports(store, out)
    html = video_page_path(out.resolve(), date, vid).read_text()
    summary = re.search(r'<p class="summary-line" id="summary">(.*?)</p>', html).group(1)
    # Valgus needs a front view: said once, as a fact about the camera, not as a flag.
    camera = "; knee valgus needs a front view (filmed side)"
    assert unescape(summary) == ", ".join([f"{truth.reps.shape[0]} reps", *parts]) + camera

    fig = _chart(html, "chart-t0")
    signal = rule.reps.signal_for("side")
    names = [d["name"] for d in fig["data"] if d["mode"] == "lines"]
    assert names[0] == summaries.humanize(signal)
    assert fig["layout"]["annotations"][0]["text"].endswith("(signal)")
    lines = {round(s["y0"], 3) for s in fig["layout"]["shapes"] if s["type"] == "line"}
    expected = {
        round(float(t), 3) for c in ("depth", "trunk_lean") for t in checks[c].thresholds.values()
    }
    assert lines == expected
    spans = [s for s in fig["layout"]["shapes"] if s["type"] == "rect" and s["yref"] == "paper"]
    assert len(spans) == truth.reps.shape[0]
    # the side view cannot judge valgus: said so over the whole set, never judged per rep
    assert "not assessable from this view" in html


def test_reports_from_a_store_that_is_not_the_local_disk(tmp_path):
    """The store may be any fsspec URL; the pages come out the same."""
    videos = [
        SampleVideo("a.mp4", "Fay", "squat", "2024-08-01", "2024-08-01T07:00:00",
                    tracks=[SampleTrack(1, 3, shallow={1})]),
    ]  # fmt: skip
    store, _ = build_sample_store("memory://reports-test-store", videos)
    try:
        page = build_reports(store, tmp_path / "o", date="2024-08-01")
        html = video_page_path(
            (tmp_path / "o").resolve(), "2024-08-01", videos[0].video_id
        ).read_text()
        assert "3 reps, 1 with depth caution" in html
        assert "a.mp4" in page.read_text()
    finally:
        store.fs.rm(store.root, recursive=True)


def test_pages_of_real_imported_motion(tmp_path, shared):
    """Real keypoints from ../shared (squats, a plank hold), imported and scored with the
    library: each page's numbers are those of the stored reps and findings, and imported
    keypoints (no video at hand) get skeletons on blank frames of the recorded size."""
    from flows.importing import import_keypoints
    from tests.helpers import shared_path

    store = Store(tmp_path / "store")
    rows = []
    for name, exercise, w, h in (
        ("squats.csv", "squat", 1920, 1080),
        ("plank.csv", "plank", 1920, 1080),
    ):
        rows.append(
            import_keypoints(
                shared_path("data", "keypoints", name), store, athlete="Real", exercise=exercise,
                width=w, height=h, date="2024-09-02",
            )
        )  # fmt: skip
    out = tmp_path / "out"
    build_reports(store, out)
    for row in rows:
        vid = row.video_id
        reps = store.read("reps", [vid])
        findings = store.read("findings", [vid])
        html = video_page_path(out.resolve(), "2024-09-02", vid).read_text()
        assert not reps.empty, f"no reps scored for video {vid}"
        for track_id, t_reps in reps.groupby("track_id"):
            sec = _section(html, int(track_id))
            assert len(re.findall(r'<tr class="row-(\w+)">', sec)) == len(t_reps)
            t_find = findings[findings["track_id"] == track_id]
            flagged = t_find[t_find["severity"].isin(["info", "caution", "risk"])]
            assert len(re.findall(r'<figure class="keyframe', sec)) == len(flagged)
        counts = findings["severity"].value_counts()
        for sev in ("risk", "caution", "info"):
            assert f"{int(counts.get(sev, 0))} {sev}</span>" in html
        assert "not at hand" in html
        ident = next((out.resolve() / "2024-09-02" / "img").glob(f"{vid}-t*-id.jpg"))
        assert cv2.imread(str(ident)) is not None
    plank = video_page_path(out.resolve(), "2024-09-02", rows[1].video_id).read_text()
    holds = store.read("reps", [rows[1].video_id])
    assert (holds["kind"] == "hold").all() and len(holds) >= 1
    assert f"{len(holds)} hold" in plank and "in target" in plank


def test_long_series_are_thinned_and_gaps_stay_gaps():
    n = 3 * charts.MAX_POINTS + 7
    t = np.arange(n) / 60.0
    y = np.sin(t)
    y[100:200] = np.nan
    values = pd.DataFrame({"frame": np.arange(n), "t_s": t, "knee_angle_left_deg": y})
    f = _findings([(0, "depth", "caution")]).assign(
        worst_s=1.0, check_id="depth", severity="caution"
    )
    reps = pd.DataFrame(
        {
            "rep_index": [0],
            "start_s": [0.5],
            "turn_s": [1.0],
            "end_s": [1.5],
            "worst_severity": ["caution"],
        }
    )
    fig = charts.track_chart(values, f, reps)
    line = next(d for d in fig["data"] if d["mode"] == "lines")
    assert len(line["x"]) <= charts.MAX_POINTS
    assert None in line["y"]  # the dropped stretch is a gap, not interpolated
    assert line["x"][0] == 0.0 and line["x"][-1] <= t[-1]


def test_frame_reader_over_an_image_folder(tmp_path):
    for i, shade in enumerate((10, 120, 240)):
        cv2.imwrite(str(tmp_path / f"img{i + 1}.png"), np.full((30, 40, 3), shade, np.uint8))
    with FrameReader(str(tmp_path), 40, 30) as reader:
        assert [int(reader.read(i)[0, 0, 0]) for i in (2, 0, 1)] == [240, 10, 120]
        assert reader.read(3) is None


def test_charts_draw_the_stored_features_not_a_recomputation(tmp_path):
    """The chart's series is the features table's: shift it in the store, the chart follows
    (the keypoints, unchanged, would give the old values)."""
    video = SampleVideo("a.mp4", "Gus", "squat", "2024-08-02", "2024-08-02T07:00:00",
                        tracks=[SampleTrack(1, 2)])  # fmt: skip
    store, _ = build_sample_store(tmp_path / "s", [video])
    features = store.read("features", [video.video_id]).drop(columns="date")
    features["knee_angle_left_deg"] += 1.0
    store.write("features", features, video_id=video.video_id, date=video.date)
    out = tmp_path / "o"
    build_reports(store, out)
    fig = _chart(_page(out, video).read_text(), "chart-t1")
    knee = next(d for d in fig["data"] if d["mode"] == "lines")
    assert min(v for v in knee["y"] if v is not None) == pytest.approx(86.0, abs=0.01)


def _scored_squat_store(root: Path) -> tuple[Store, str, str]:
    """Synthetic squats (one shallow rep) scored by the library, as `posecoach analyze` does."""
    from analysis.testing.synthetic import generate_clip
    from rules.scoring import score_video

    clip = generate_clip("squat", reps=3, view="side", depth=[70.0, 125.0, 70.0])
    store = Store(root)
    vid, date = "6b6b6b6b6b6b6b6b", "2024-07-02"
    store.write("keypoints", clip.keypoints.assign(video_id=vid), video_id=vid, date=date)
    row = VideoRow(
        video_id=vid, date=date, path="missing/squat.mp4", file_name="squat.mp4", athlete="Hal",
        exercise="squat", view="side", fps=clip.truth.fps, width=clip.truth.width,
        height=clip.truth.height, frames=len(clip.keypoints), status="ok",
    )  # fmt: skip
    score_video(store, vid, video=row.to_dict())
    write_video_row(store, row)
    return store, vid, date


def test_a_store_from_before_the_features_table_says_how_to_get_the_chart(tmp_path, capsys):
    """Without a features file (a store written before the table existed) the page says the
    chart is unavailable and names the command; `posecoach score` writes the features from the
    stored keypoints and the next build has the chart, the same as a fresh store's."""
    from flows.cli.main import main

    store, vid, date = _scored_squat_store(tmp_path / "store")
    out = tmp_path / "out"
    build_reports(store, out)
    fresh = _chart(video_page_path(out.resolve(), date, vid).read_text(), "chart-t0")
    store.delete(vid, tables=("features",))
    build_reports(store, out)
    html = video_page_path(out.resolve(), date, vid).read_text()
    assert unescape(series.UNAVAILABLE) in unescape(html)
    assert "posecoach score --store DIR" in unescape(html) and "data-chart" not in html
    assert "1 with depth" in unescape(html)  # the reps and findings are shown all the same

    assert main(["score", "--store", str(tmp_path / "store")]) == 0
    capsys.readouterr()
    assert store.files("features", vid)
    build_reports(store, out)
    html = video_page_path(out.resolve(), date, vid).read_text()
    assert series.UNAVAILABLE not in unescape(html)
    assert _chart(html, "chart-t0") == fresh


def test_reports_import_neither_rules_nor_model_code():
    """Building every page needs the store's tables only: importing the reports loads no module
    of rules/, of the models or of the pose pipeline."""
    import subprocess
    import sys

    code = (
        "import sys, reports.build, reports.sample, reports.series\n"
        "bad = sorted(m for m in sys.modules if m == 'rules' or m.startswith("
        "('rules.', 'analysis.models', 'analysis.pipeline', 'torch', 'mmpose', 'mmdet')))\n"
        "print(bad)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
