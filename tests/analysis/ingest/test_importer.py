"""posecoach import: the import format into the store, scored; bad files named by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.ingest.importer import ImportFileError, validate_import
from analysis.testing.synthetic import generate_clip
from analysis.testing.view_clips import view_switch
from flows.cli.main import main
from flows.importing import import_keypoints
from posecoach.schema import COCO17, VIDEOS
from posecoach.store import Store, conform

IMPORT_COLUMNS = ["frame", "t_s", "track_id"] + [
    f"{n}_{c}" for n in COCO17 for c in ("x", "y", "score")
]


def import_table(exercise="squat", **kwargs) -> pd.DataFrame:
    clip = generate_clip(exercise, noise_px=2, dropout=0.02, seed=7, **kwargs)
    df = clip.keypoints.copy()
    for n in COCO17:  # the other tool's raw output
        df[f"{n}_x"], df[f"{n}_y"] = df[f"{n}_x_raw"], df[f"{n}_y_raw"]
    return df[IMPORT_COLUMNS]


def test_csv_import_writes_keypoints_scores_and_videos_row_last(tmp_path):
    path = tmp_path / "squat.csv"
    import_table(reps=4, depth=[70, 70, 108, 70]).to_csv(path, index=False)
    store = Store(tmp_path / "store")
    row = import_keypoints(path, store, athlete="ann", exercise="squats", date="2025-02-03")
    assert row.source == "import" and row.status == "ok" and row.view == "side"
    assert row.fps == pytest.approx(30)
    videos = store.read("videos")
    assert videos["athlete"].tolist() == ["ann"] and videos["date"].tolist() == ["2025-02-03"]
    kp = store.read("keypoints")
    raw = pd.read_csv(path)
    assert np.allclose(kp["left_knee_x_raw"], raw["left_knee_x"], equal_nan=True)
    assert not np.allclose(kp["left_knee_x"], raw["left_knee_x"], equal_nan=True)  # smoothed
    reps = store.read("reps")
    assert len(reps) == 4
    findings = store.read("findings")
    bad = findings[findings["severity"].isin(["info", "caution", "risk"])]
    assert bad[["rep_index", "check_id"]].values.tolist() == [[2, "depth"]]
    # The videos file is the newest: the done marker.
    mtimes = {t: (tmp_path / "store" / store.files(t)[0]).stat().st_mtime_ns for t in
              ("keypoints", "reps", "findings", "videos")}  # fmt: skip
    assert mtimes["videos"] == max(mtimes.values())


def test_parquet_without_t_s_needs_fps(tmp_path):
    df = import_table(reps=2).drop(columns=["t_s"])
    path = tmp_path / "k.parquet"
    df.to_parquet(path)
    store = Store(tmp_path / "store")
    with pytest.raises(ImportFileError, match="'t_s' is missing"):
        import_keypoints(path, store, athlete="a", exercise="squat")
    row = import_keypoints(path, store, athlete="a", exercise="squat", fps=30, date="2025-01-01")
    assert len(store.read("reps")) == 2 and row.fps == 30


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns=["left_knee_score"]), "missing column(s) left_knee_score"),
        (lambda d: d.assign(left_hip_x=d["left_hip_x"].astype(object).where(d.index != 5, "abc")),
         "column 'left_hip_x': non-numeric value 'abc' (data row 6)"),
        (lambda d: d.assign(frame=d["frame"] + 0.5), "column 'frame': expected whole numbers"),
        (lambda d: d.assign(t_s=d["t_s"].where(d.index != 10, 0.0)),
         "column 't_s': time is not increasing"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), "column 'frame': frame repeated"),
    ],
    ids=["missing", "type", "frame", "time", "duplicate"],
)  # fmt: skip
def test_bad_files_name_the_column(tmp_path, mutate, message):
    path = tmp_path / "bad.csv"
    mutate(import_table(reps=1)).to_csv(path, index=False)
    with pytest.raises(ImportFileError) as info:
        validate_import(pd.read_csv(path), str(path))
    assert message in str(info.value) and str(path) in str(info.value)


def test_cli_import_and_unknown_exercise(tmp_path, capsys):
    path = tmp_path / "k.csv"
    import_table(reps=2).to_csv(path, index=False)
    store = tmp_path / "store"
    code = main(["import", str(path), "--store", str(store), "--athlete", "bo",
                 "--exercise", "handstand walk", "--date", "2025-05-06"])  # fmt: skip
    assert code == 0
    assert "ok" in capsys.readouterr().out
    findings = Store(store).read("findings")
    assert findings["check_id"].tolist() == ["no_rule_file"]
    bad = tmp_path / "bad.csv"
    import_table(reps=1).drop(columns=["track_id"]).to_csv(bad, index=False)
    code = main(
        ["import", str(bad), "--store", str(store), "--athlete", "bo", "--exercise", "squat"]
    )
    assert code == 1
    assert "missing column(s) track_id" in capsys.readouterr().err


def _switch_file(tmp_path):
    clip, truth = view_switch("squat", "front", "side", reps=3, noise_px=2.0, seed=2)
    df = clip.keypoints.copy()
    for n in COCO17:
        df[f"{n}_x"], df[f"{n}_y"] = df[f"{n}_x_raw"], df[f"{n}_y_raw"]
    path = tmp_path / "switch.csv"
    df[IMPORT_COLUMNS].to_csv(path, index=False)
    return path, truth


def test_an_estimated_view_is_estimated_again_when_rescored_a_declared_one_binds(tmp_path):
    # A set filmed front then side: the video's view is one of the two (the longer), each rep's
    # its own segment's. Re-scoring must not take the stored estimate for a declaration, which
    # would judge every rep in one view.
    path, truth = _switch_file(tmp_path)
    store = Store(tmp_path / "store")
    row = import_keypoints(path, store, athlete="a", exercise="squat", date="2025-01-01")
    assert row.view_source == "estimated" and row.view in ("front", "side")
    assert store.read("reps").sort_values("rep_index")["view"].tolist() == truth
    assert main(["score", "--store", str(tmp_path / "store")]) == 0
    assert store.read("reps").sort_values("rep_index")["view"].tolist() == truth
    (stored,) = store.read("videos").to_dict("records")
    assert (stored["view"], stored["view_source"]) == (row.view, "estimated")

    declared = Store(tmp_path / "declared")
    row = import_keypoints(path, declared, athlete="a", exercise="squat", date="2025-01-01",
                           view="side")  # fmt: skip
    assert (row.view, row.view_source) == ("side", "declared")
    assert main(["score", "--store", str(tmp_path / "declared")]) == 0
    assert set(declared.read("reps")["view"]) == {"side"}


def test_rescoring_a_store_from_before_view_source(tmp_path):
    # An import of schema 5 or older stored its estimate in videos.view without saying so: posecoach
    # score reads it as estimated (per-rep views come back) and records where it came from.
    path, truth = _switch_file(tmp_path)
    store = Store(tmp_path / "store")
    row = import_keypoints(path, store, athlete="a", exercise="squat", date="2025-01-01")
    old = pa.schema([f for f in VIDEOS if f.name != "view_source"])
    table = conform("videos", row.to_frame()).select(old.names)
    with store.fs.open(store.files("videos")[0], "wb") as fh:
        pq.write_table(table, fh)
    assert store.read("videos")["view_source"].isna().all()
    assert main(["score", "--store", str(tmp_path / "store")]) == 0
    assert store.read("reps").sort_values("rep_index")["view"].tolist() == truth
    assert store.read("videos")["view_source"].tolist() == ["estimated"]
