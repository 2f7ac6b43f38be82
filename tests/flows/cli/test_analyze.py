"""``posecoach analyze``: summary per input, non-zero exit after a failure, overlay video."""

from __future__ import annotations

import av
import numpy as np
import pytest

import analysis.pipeline.engine
from flows.cli.main import main
from posecoach.store import Store
from tests.helpers import Person, RectDetector, RectPose, write_video


@pytest.fixture
def fake_models(monkeypatch):
    seen = {}

    def load(config):
        seen["config"] = config
        return RectDetector(), RectPose()

    monkeypatch.setattr(analysis.pipeline.engine, "_load_models", load)
    return seen


def test_analyze_good_and_bad_inputs(tmp_path, fake_models, capsys):
    good = write_video(tmp_path / "walk.mp4", [Person(start=(20, 40), velocity=(3, 0))], 20)
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    store_dir = tmp_path / "store"
    code = main(
        [
            "analyze", str(bad), str(good), "--store", str(store_dir), "--det-interval", "4",
            "--athlete", "ana", "--exercise", "squat", "--overlay", str(tmp_path / "overlays"),
            "--quiet",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 1  # the bad input failed; the good one was still processed after it
    assert fake_models["config"].det_interval == 4
    lines = [line for line in out.out.splitlines() if "  " in line and "overlay" not in line]
    assert len(lines) == 2
    assert "failed" in lines[0] and str(bad) in lines[0]
    assert "ok" in lines[1] and "tracks=1" in lines[1] and "frames=20" in lines[1]
    assert "1 of 2 input(s) failed" in out.err
    videos = Store(store_dir).read("videos").set_index("file_name")
    assert (
        videos.loc["walk.mp4", "status"] == "ok" and videos.loc["broken.mp4", "status"] == "failed"
    )
    assert (videos.athlete == "ana").all()
    # scored with the squat rule file before the videos row was written
    walk_id = videos.loc["walk.mp4", "video_id"]
    meta = Store(store_dir).metadata("findings", walk_id)
    assert meta["rule_id"] == "squat"
    assert Store(store_dir).files("findings", videos.loc["broken.mp4", "video_id"]) == []

    overlay = tmp_path / "overlays" / "walk.overlay.mp4"
    assert overlay.exists()
    with av.open(str(overlay)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == 20
    # The skeleton is drawn in colour on a grey-scale picture: coloured pixels exist.
    spread = frames[10].astype(int).max(axis=2) - frames[10].astype(int).min(axis=2)
    assert (spread > 60).sum() > 50
    assert not list(tmp_path.glob("overlays/.*"))


def test_analyze_all_ok_exits_zero_and_single_overlay_file(tmp_path, fake_models, capsys):
    good = write_video(tmp_path / "a.mp4", [Person(start=(20, 40))], 5)
    out_file = tmp_path / "over.mp4"
    code = main(
        [
            "analyze",
            str(good),
            "--store",
            str(tmp_path / "s"),
            "--overlay",
            str(out_file),
            "--quiet",
        ]
    )
    assert code == 0
    assert out_file.exists() and out_file.stat().st_size > 0
    assert "ok" in capsys.readouterr().out


def test_random_weights_warning(tmp_path, monkeypatch, capsys):
    def load(config):
        det, pose = RectDetector(), RectPose()
        pose.info = {**pose.info, "random_weights": True}
        return det, pose

    monkeypatch.setattr(analysis.pipeline.engine, "_load_models", load)
    good = write_video(tmp_path / "a.mp4", [Person(start=(20, 40))], 3)
    code = main(
        ["analyze", str(good), "--store", str(tmp_path / "s"), "--allow-random-weights", "--quiet"]
    )
    assert code == 0
    assert "RANDOM" in capsys.readouterr().err
    videos = Store(tmp_path / "s").read("videos")
    assert bool(videos.random_weights[0]) is True
    assert np.isfinite(videos.fps[0])


def test_bad_rules_folder_reports_and_keeps_the_keypoints(tmp_path, fake_models, capsys):
    good = write_video(tmp_path / "a.mp4", [Person(start=(20, 40))], 5)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "squat.yaml").write_text("id: squat\nchecks: [\n")  # malformed YAML
    code = main(
        ["analyze", str(good), "--store", str(tmp_path / "s"), "--exercise", "squat",
         "--rules", str(rules), "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "not scored" in err and "squat.yaml" in err
    store = Store(tmp_path / "s")
    assert store.read("videos")["status"].tolist() == ["ok"]
    assert len(store.read("keypoints")) == 5


def test_json_lines_for_other_programs(tmp_path, fake_models, capsys):
    import json

    good = write_video(tmp_path / "walk.mp4", [Person(start=(20, 40), velocity=(3, 0))], 12)
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    store_dir = tmp_path / "store"
    code = main(["analyze", str(good), str(bad), "--store", str(store_dir), "--json",
                 "--exercise", "squat", "--overlay", str(tmp_path / "over")])  # fmt: skip
    out = capsys.readouterr()
    assert code == 1
    ok, failed = (json.loads(line) for line in out.out.splitlines())  # nothing else on stdout
    store = Store(store_dir)
    videos = store.read("videos").set_index("video_id")
    assert ok["input"] == str(good) and ok["status"] == "ok" and ok["frames"] == 12
    assert ok["n_tracks"] == videos.loc[ok["video_id"], "n_tracks"] == 1
    assert ok["keypoints_file"] == store.files("keypoints", ok["video_id"])[0]
    assert ok["overlay"] == str(tmp_path / "over" / "walk.overlay.mp4")
    findings = store.read("findings", [ok["video_id"]])
    assert ok["findings"] == findings["severity"].value_counts().to_dict()
    assert sum(ok["findings"].values()) == len(findings)  # a sideways walk: no squat reps
    assert ok["scoring_error"] is None and ok["exercise"] == "squat"
    assert ok["processed_at"].startswith(str(videos.loc[ok["video_id"], "processed_at"].year))
    assert failed["status"] == "failed" and str(bad) in failed["error"]
    assert failed["keypoints_file"] is None and failed["findings"] is None
    assert failed["frames"] is None  # NaN in the row -> null, so the line stays valid JSON
    assert failed["overlay"] is None


def test_json_record_is_plain_json():
    import json

    import pandas as pd

    from flows.cli.analyze import json_record
    from posecoach.schema import VIDEOS

    row = {"video_id": "ab", "frames": np.int64(7), "fps": np.float32(2.5), "width": float("nan"),
           "recorded_at": pd.NaT, "processed_at": pd.Timestamp("2026-11-26T21:00:00Z"),
           "random_weights": np.bool_(False), "error": None}  # fmt: skip
    record = json_record(row, "a.mp4", keypoints_file="k.parquet", severities={"risk": 2},
                         scoring_error=None, overlay=None, seconds=1.23456)  # fmt: skip
    got = json.loads(json.dumps(record, allow_nan=False))
    assert list(got) == ["input", *VIDEOS.names, "date", "keypoints_file", "findings",
                         "scoring_error", "overlay", "seconds"]  # fmt: skip
    assert {k: v for k, v in got.items() if v is not None} == {
        "input": "a.mp4", "video_id": "ab", "frames": 7, "fps": 2.5,
        "processed_at": "2026-11-26T21:00:00+00:00", "random_weights": False,
        "keypoints_file": "k.parquet", "findings": {"risk": 2}, "seconds": 1.235,
    }  # fmt: skip
