"""Scoring on generated motion with planted faults (exact truth) and through the store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.testing.synthetic import generate_clip
from posecoach.schema import SCHEMA_VERSION
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from rules.checks import turn_window
from rules.loader import Library, load_library, rules_digest
from rules.reps import find_reps, prepare_signal
from rules.scoring import score_keypoints, score_video

LIB = load_library()

# (exercise, view, generator kwargs, {planted parameter: check id}). Planted values sit at least
# 4 degrees from every threshold of the library, so that noise cannot move them across a band.
SCENARIOS = [
    ("squat", "side", {"reps": 4, "depth": [70, 108, 70, 130], "trunk_lean_deg": [30, 30, 50, 62]},
     {"depth": "depth", "trunk_lean_deg": "trunk_lean"}),
    ("squat", "front", {"reps": 4, "depth": 90, "valgus_deg": [0, 25, 5, 25]},
     {"valgus_deg": "knee_valgus"}),
    ("lunge", "side", {"reps": 3, "depth": [90, 120, 90], "trunk_lean_deg": [5, 5, 25]},
     {"depth": "depth", "trunk_lean_deg": "trunk_lean"}),
    ("push_up", "side", {"reps": 4, "depth": [90, 125, 90, 90], "hip_sag_deg": [0, 0, 15, 27]},
     {"depth": "depth", "hip_sag_deg": "hip_sag"}),
    ("push_up", "side", {"reps": 3, "lockout_deg": 145, "hip_sag_deg": [0, -25, 0]},
     {"lockout_deg": "lockout", "hip_sag_deg": "pike"}),
    ("hip_hinge", "side", {"reps": 3, "knee_deg": [155, 120, 155]}, {"knee_deg": "knee_bend"}),
    ("hip_hinge", "side", {"reps": 3, "lockout_deg": 155}, {"lockout_deg": "lockout"}),
    ("overhead_press", "side",
     {"reps": 3, "lockout_deg": [175, 163, 150], "trunk_lean_deg": [3, 3, 20]},
     {"lockout_deg": "overhead_lockout", "trunk_lean_deg": "lean_back"}),
    ("jumping_jacks", "front", {"reps": 6}, {}),
    ("jumping_jacks", "side", {"reps": 6}, {}),
    ("plank", "side", {"hip_sag_deg": 0}, {"hip_sag_deg": "hip_sag"}),
    ("plank", "side", {"hip_sag_deg": 15}, {"hip_sag_deg": "hip_sag"}),
    ("plank", "side", {"hip_sag_deg": 25}, {"hip_sag_deg": "hip_sag"}),
    ("plank", "side", {"hip_sag_deg": -25}, {"hip_sag_deg": "pike"}),
    ("warrior_ii", "front", {}, {"depth": "front_knee", "arm_drop_deg": "arms_level"}),
    ("warrior_ii", "front", {"depth": 117, "arm_drop_deg": 27},
     {"depth": "front_knee", "arm_drop_deg": "arms_level"}),
    ("warrior_ii", "front", {"depth": 135, "arm_drop_deg": 45},
     {"depth": "front_knee", "arm_drop_deg": "arms_level"}),
    ("tree", "front", {}, {"depth": "standing_knee", "trunk_lean_deg": "trunk_lean"}),
    ("tree", "front", {"depth": 155, "trunk_lean_deg": 21},
     {"depth": "standing_knee", "trunk_lean_deg": "trunk_lean"}),
    ("tree", "front", {"trunk_lean_deg": 12}, {"trunk_lean_deg": "trunk_lean"}),
    ("downward_dog", "side", {}, {"depth": "hip_angle", "knee_deg": "knees"}),
    ("downward_dog", "side", {"depth": 122, "knee_deg": 150}, {"depth": "hip_angle", "knee_deg": "knees"}),
]  # fmt: skip


def expected_findings(clip, mapping: dict[str, str]) -> set[tuple[int, str, str]]:
    """(rep/hold index, check id, severity) of every planted fault, from the truth and the
    library's bands."""
    rule = LIB.find(clip.truth.exercise)
    checks = {c.id: c for c in rule.checks}
    table = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
    out = set()
    for i, row in table.reset_index(drop=True).iterrows():
        for param, check_id in mapping.items():
            severity, _ = checks[check_id].severity(float(row[param]))
            if severity != "ok":
                out.add((i, check_id, severity))
    return out


def judged(findings: pd.DataFrame) -> set[tuple[int, str, str]]:
    bad = findings[findings["severity"].isin(["info", "caution", "risk"])]
    return {(int(r.rep_index), r.check_id, r.severity) for r in bad.itertuples()}


def _run(scenario, **noise):
    exercise, view, kwargs, mapping = scenario
    clip = generate_clip(exercise, view=view, **kwargs, **noise)
    result = score_keypoints(clip.points, exercise, library=LIB)
    return clip, result, expected_findings(clip, mapping)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s[0]}-{s[1]}-{s[2]}")
def test_clean_motion_counts_and_faults_exact(scenario):
    clip, result, expected = _run(scenario)
    truth = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
    assert len(result.reps) == len(truth)
    assert judged(result.findings) == expected
    # Every judged check measured something: no not_assessable inside a rep in the right view.
    in_rep = result.findings[result.findings["rep_index"] >= 0]
    assert (in_rep["severity"] != "not_assessable").all()
    # Turning points where they were generated (within two frames).
    turns = result.reps["turn_s"].to_numpy()
    assert np.allclose(turns, truth["turn_s"].to_numpy(), atol=2.5 / clip.truth.fps)


def test_clean_values_equal_the_planted_ones():
    clip, result, _ = _run(SCENARIOS[0])
    f = result.findings
    depth = f[f["check_id"] == "depth"].sort_values("rep_index")["value"].to_numpy()
    lean = f[f["check_id"] == "trunk_lean"].sort_values("rep_index")["value"].to_numpy()
    # The bottom value is a median over the frames within 5 % of the rep's range of its
    # minimum: within a quarter of that band (105 deg of range: 1.3 deg) of the turn's value.
    assert np.allclose(depth, clip.truth.reps["depth"], atol=1.5)
    assert np.allclose(lean, clip.truth.reps["trunk_lean_deg"], atol=1.0)


def test_caution_band_of_valgus_on_clean_motion():
    clip = generate_clip("squat", view="front", reps=2, depth=90, valgus_deg=[15.2, 2])
    result = score_keypoints(clip.points, "squat", library=LIB)
    assert judged(result.findings) == {(0, "knee_valgus", "caution")}


@pytest.mark.slow
def test_noisy_motion_counts_exact_and_findings_precise():
    """Realistic noise (2.5 px on a 540 px person, 3 % dropped points) over two seeds."""
    tp = fp = fn = 0
    for seed in (11, 12):
        for scenario in SCENARIOS:
            clip, result, expected = _run(scenario, noise_px=2.5, dropout=0.03, seed=seed)
            truth = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
            assert len(result.reps) == len(truth), (scenario[:3], seed)
            got = judged(result.findings)
            tp += len(got & expected)
            fp += len(got - expected)
            fn += len(expected - got)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"noisy batch: {tp} true, {fp} false, {fn} missed; precision {precision:.3f}, "
          f"recall {recall:.3f}")  # fmt: skip
    assert tp >= 40
    assert precision >= 0.95 and recall >= 0.95


def test_view_mismatch_is_not_assessable_never_judged():
    clip = generate_clip("squat", view="front", reps=3, depth=108, trunk_lean_deg=62)
    result = score_keypoints(clip.points, "squat", library=LIB)
    f = result.findings
    depth = f[f["check_id"] == "depth"]
    assert len(depth) == 1 and depth["severity"].iloc[0] == "not_assessable"
    assert "not assessable from this view" in depth["message"].iloc[0]
    assert not {"depth", "trunk_lean"} & {c for _, c, _ in judged(f)}
    assert len(result.reps) == 3  # still counted, from the hip height


def test_declared_view_overrides_the_estimate():
    clip = generate_clip("squat", view="side", reps=2, depth=130)
    result = score_keypoints(clip.points, "squat", library=LIB, view="front")
    assert result.views == {0: "front"}
    assert "depth" not in {c for _, c, _ in judged(result.findings)}


def test_unknown_exercise_gets_kinematics_and_a_note_only():
    clip = generate_clip("squat", reps=2)
    result = score_keypoints(clip.points, "underwater basket weaving", library=LIB)
    assert result.reps.empty
    assert result.rule_id == ""
    assert list(result.findings["check_id"]) == ["no_rule_file"]
    assert result.findings["severity"].iloc[0] == "not_assessable"
    assert "no rule file" in result.note
    feats = result.features[0]
    assert feats["knee_angle_deg"].min() == pytest.approx(70, abs=0.5)


def test_a_keypoints_table_scores_as_its_keypoints():
    """The stored table is converted at the boundary: the same results as from KeyPoints."""
    clip = generate_clip("lunge", view="side", reps=2, depth=[90, 120], noise_px=2, seed=3)
    a = score_keypoints(clip.points, "lunge", library=LIB)
    b = score_keypoints(clip.keypoints.assign(video_id="v"), "lunge", library=LIB)
    assert a.n_reps == 2 and a.views == b.views == {0: "side"}
    pd.testing.assert_frame_equal(a.reps, b.reps, check_exact=True)
    pd.testing.assert_frame_equal(a.findings, b.findings, check_exact=True)
    pd.testing.assert_frame_equal(a.features_table(), b.features_table(), check_exact=True)
    empty = score_keypoints(pd.DataFrame(), "lunge", library=LIB)
    assert empty.reps.empty and empty.features == {} and "no track long enough" in empty.note


def test_exercise_aliases_pick_the_rule_file():
    assert LIB.find("Push-Ups").id == "push_up"
    assert LIB.find("wall push ups").id == "push_up"
    assert LIB.find("Squats").id == "squat"
    assert LIB.find("curling") is None


def _store_with_clip(tmp_path, exercise="squat", **kwargs):
    store = Store(tmp_path / "store")
    clip = generate_clip(exercise, **kwargs)
    kp = clip.keypoints.copy()
    kp.insert(0, "video_id", "vid1")
    store.write("keypoints", kp, video_id="vid1", date="2025-03-04")
    row = VideoRow(video_id="vid1", date="2025-03-04", exercise=exercise, view="unknown",
                   status="ok", fps=30.0)  # fmt: skip
    return store, row


def test_score_video_writes_reps_and_findings_not_videos(tmp_path):
    store, row = _store_with_clip(tmp_path, reps=3, depth=[70, 70, 130])
    result = score_video(store, "vid1", video=row.to_dict())
    assert result.n_reps == 3
    assert store.files("videos") == []
    reps = store.read("reps")
    findings = store.read("findings")
    assert len(reps) == 3 and set(reps["date"]) == {"2025-03-04"}
    assert reps["worst_severity"].tolist() == ["ok", "ok", "caution"]
    assert set(findings["rule_id"]) == {"squat"}
    meta = store.metadata("findings", "vid1")
    assert meta["rule_id"] == "squat" and meta["rule_version"] == LIB.find("squat").version
    assert meta["rules_digest"] == rules_digest()
    # query sees the tables
    worst = store.query("SELECT max(value) AS v FROM findings WHERE check_id = 'depth'")
    assert worst["v"].iloc[0] == pytest.approx(130, abs=1)


def test_score_video_takes_the_callers_keypoints_or_reads_the_stored_ones(tmp_path):
    store, row = _store_with_clip(tmp_path, reps=2, depth=[70, 130])
    read = score_video(store, "vid1", video=row.to_dict())
    stored = store.read("features")
    clip = generate_clip("squat", reps=2, depth=[70, 130])
    given = score_video(store, "vid1", video=row.to_dict(), keypoints=clip.points)
    pd.testing.assert_frame_equal(given.findings, read.findings, check_exact=True)
    pd.testing.assert_frame_equal(store.read("features"), stored, check_exact=True)


def test_score_video_reads_the_videos_row_when_not_given(tmp_path):
    store, row = _store_with_clip(tmp_path, reps=2)
    with pytest.raises(ValueError, match="no videos row"):
        score_video(store, "vid1")
    write_video_row(store, row)
    assert score_video(store, "vid1").n_reps == 2


def test_rules_digest_changes_with_a_rule_file(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    src = LIB.find("squat").path
    (rules / "squat.yaml").write_text(Path(src).read_text())
    before = rules_digest(rules)
    assert before == rules_digest(rules)
    text = (rules / "squat.yaml").read_text().replace("{info: 100, caution: 115}", "{info: 95}")
    (rules / "squat.yaml").write_text(text)
    assert rules_digest(rules) != before


def test_score_cli_rescores_with_another_rules_folder(tmp_path, capsys):
    from flows.cli.main import main

    store, row = _store_with_clip(tmp_path, reps=3, depth=[70, 70, 108])
    write_video_row(store, row)
    assert main(["score", "--store", str(tmp_path / "store")]) == 0
    assert f"squat v{LIB.find('squat').version}  3 rep(s)  worst info" in capsys.readouterr().out
    rules = tmp_path / "rules"
    rules.mkdir()
    text = Path(LIB.find("squat").path).read_text()
    (rules / "squat.yaml").write_text(text.replace("{info: 100, caution: 115}", "{info: 65}"))
    assert main(["score", "--store", str(tmp_path / "store"), "--rules", str(rules),
                 "--video", "vid1"]) == 0  # fmt: skip
    findings = Store(tmp_path / "store").read("findings")
    assert (findings[findings["check_id"] == "depth"]["severity"] == "info").sum() == 3


def test_score_video_writes_the_features_it_judged_on(tmp_path):
    """The features table: every frame of the track, the planted angles at the turning points,
    the findings' values read back from it, its parameters in the metadata."""
    store, row = _store_with_clip(tmp_path, reps=3, depth=[70, 100, 130], trunk_lean_deg=30)
    result = score_video(store, "vid1", video=row.to_dict())
    features = store.read("features")
    kp = store.read("keypoints")
    assert len(features) == len(kp) and set(features["date"]) == {"2025-03-04"}
    assert features["frame"].tolist() == sorted(kp["frame"]) and set(features["track_id"]) == {0}
    truth = generate_clip("squat", reps=3, depth=[70, 100, 130], trunk_lean_deg=30).truth
    at_turns = features.set_index("frame").loc[np.round(truth.reps["turn_s"] * 30).astype(int)]
    assert np.allclose(at_turns["knee_angle_deg"], truth.reps["depth"], atol=0.05)
    assert np.allclose(at_turns["trunk_to_vertical_deg"], 30, atol=0.05)
    # each depth finding's value is the median of the stored knee angle over its bottom phase
    depth = result.findings[result.findings["check_id"] == "depth"].sort_values("rep_index")
    knee = features["knee_angle_deg"].to_numpy()
    spec = LIB.find("squat").reps
    signal = prepare_signal(knee, 30.0, spec.smooth_s)
    segments = find_reps(knee, features["t_s"].to_numpy(), spec, spec.range_for("side"))
    assert len(segments) == len(depth) == 3
    for f, seg in zip(depth.itertuples(), segments, strict=True):
        rows = turn_window(seg, signal, 2, 30.0, len(knee))
        assert rows.size > 5 and rows[0] < seg.turn < rows[-1]  # wider than +-2 frames
        assert f.value == pytest.approx(float(np.median(knee[rows])), abs=1e-9)
    meta = store.metadata("features", "vid1")
    assert meta["table"] == "features" and meta["schema_version"] == SCHEMA_VERSION
    assert meta["features_version"] == "2" and meta["min_score"] == LIB.find("squat").min_score
    assert meta["rule_id"] == "squat" and meta["units"]["knee_angle_deg"] == "deg"
    assert meta["signals"] == {"0": "knee_angle_deg"}
    checks = {c["id"]: c for c in meta["checks"]}
    assert checks["depth"]["thresholds"] == {"info": 100.0, "caution": 115.0}
    assert store.metadata("findings", "vid1")["checks"] == meta["checks"]
    # analysts query it like any table
    got = store.query("SELECT min(knee_angle_deg) AS v FROM features WHERE track_id = 0")
    assert got["v"].iloc[0] == pytest.approx(70, abs=0.05)


def test_rescoring_replaces_the_features_with_the_reps_and_findings(tmp_path):
    store, row = _store_with_clip(tmp_path, reps=3, depth=[70, 70, 130])
    score_video(store, "vid1", video=row.to_dict())
    score_video(store, "vid1", video=row.to_dict())
    assert len(store.files("features")) == 1
    first = store.read("features")
    assert not first.duplicated(["track_id", "frame"]).any()
    # new keypoints (fewer, deeper reps) and a re-score: the old rows are gone with the old reps
    clip = generate_clip("squat", reps=2, depth=60)
    store.write("keypoints", clip.keypoints.assign(video_id="vid1"), video_id="vid1",
                date="2025-03-04")  # fmt: skip
    score_video(store, "vid1", video=row.to_dict())
    features = store.read("features")
    assert len(features) == len(clip.keypoints) < len(first)
    assert features["knee_angle_deg"].min() == pytest.approx(60, abs=0.05)
    assert len(store.read("reps")) == 2


def test_a_rule_files_own_metric_is_a_column_of_its_own(tmp_path):
    """lunge.yaml defines front_knee_deg: stored beside the standard metrics, queryable."""
    store, row = _store_with_clip(tmp_path, exercise="lunge", reps=2, depth=[90, 120])
    score_video(store, "vid1", video=row.to_dict())
    path = store.files("features", "vid1")[0]
    with store.fs.open(path, "rb") as fh:
        stored = pd.read_parquet(fh)
    assert stored["front_knee_deg"].dtype == np.float64
    expected = np.minimum(stored["knee_angle_left_deg"], stored["knee_angle_right_deg"])
    assert np.allclose(stored["front_knee_deg"], expected, equal_nan=True)
    meta = store.metadata("features", "vid1")
    assert meta["rule_metrics"]["front_knee_deg"]["op"] == "min"
    assert meta["signals"] == {"0": "front_knee_deg"}
    got = store.query("SELECT round(min(front_knee_deg)) AS v FROM features")
    assert got["v"].iloc[0] == pytest.approx(90, abs=1)


def test_an_exercise_without_rule_file_still_gets_its_features(tmp_path):
    store, row = _store_with_clip(tmp_path, reps=2)
    row = dataclasses.replace(row, exercise="underwater basket weaving")
    score_video(store, "vid1", video=row.to_dict())
    features = store.read("features")
    assert features["knee_angle_deg"].min() == pytest.approx(70, abs=0.5)
    assert store.metadata("features", "vid1")["checks"] == []


def test_a_rep_cut_by_the_clip_is_a_partial_row_not_counted_not_judged(tmp_path):
    """Issue 14: the clip starts on the first rep's way up (its turn not seen); the cut rep is
    stored as partial, without findings, and the count is of the whole reps; a reps file from
    before the column reads its partial as null."""
    clip = generate_clip("squat", view="side", reps=3, depth=[70, 70, 130])
    kp = clip.keypoints
    after_turn = float(clip.truth.reps["turn_s"].iloc[0]) + 0.2
    cut = kp[kp["t_s"] >= after_turn].reset_index(drop=True)
    result = score_keypoints(cut, "squat", library=LIB)
    assert result.reps["partial"].tolist() == [True, False, False]
    assert result.n_reps == 2 and result.reps["rep_index"].tolist() == [0, 1, 2]
    in_rep = result.findings[result.findings["rep_index"] >= 0]
    assert sorted(set(in_rep["rep_index"])) == [1, 2]
    assert judged(result.findings) == {(2, "depth", "caution")}
    whole = score_keypoints(clip.points, "squat", library=LIB)
    assert whole.reps["partial"].tolist() == [False, False, False] and whole.n_reps == 3

    import pyarrow as pa
    import pyarrow.parquet as pq

    from posecoach.schema import REPS

    store = Store(tmp_path / "store")
    old = pa.schema([f for f in REPS if f.name != "partial"])
    table = pa.Table.from_pandas(whole.reps.assign(video_id="v1")[old.names], schema=old)
    path = store.file_path("reps", "v1", "2026-11-24")
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with store.fs.open(path, "wb") as fh:
        pq.write_table(table, fh)
    store.write("reps", result.reps.assign(video_id="v2"), video_id="v2", date="2026-11-25")
    reps = store.read("reps").set_index("video_id")
    assert reps.loc["v1", "partial"].isna().all()
    assert reps.loc["v2", "partial"].tolist() == [True, False, False]


def test_reps_side_is_stored_and_old_files_read_it_as_null(tmp_path):
    """Schema 7: reps.side (alternating exercises); a file from before it reads a null side."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.testing.exercises import generate_exercise
    from posecoach.schema import REPS

    clip = generate_exercise("high_knees", view="front", reps=4)
    result = score_keypoints(clip.points, "high_knees", view="front", library=LIB)
    assert result.reps["side"].tolist() == ["left", "right", "left", "right"]
    squat = score_keypoints(generate_clip("squat", reps=2).points, "squat", library=LIB)
    assert squat.reps["side"].isna().all()  # no reps.side in the squat's rule file
    store = Store(tmp_path / "store")
    store.write("reps", result.reps.assign(video_id="v2"), video_id="v2", date="2026-12-01")
    old = pa.schema([f for f in REPS if f.name != "side"])
    table = pa.Table.from_pandas(result.reps.assign(video_id="v1")[old.names], schema=old)
    path = store.file_path("reps", "v1", "2026-11-30")
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with store.fs.open(path, "wb") as fh:
        pq.write_table(table, fh)
    reps = store.read("reps").set_index("video_id")
    assert reps.loc["v1", "side"].isna().all()
    assert reps.loc["v2", "side"].tolist() == ["left", "right", "left", "right"]
    assert store.metadata("reps", "v2")["schema_version"] == SCHEMA_VERSION


def _close_up(df, after_s: float, points=("knee", "ankle")):
    # From after_s on, the named joints are out of frame (an upper-body close-up): the pose
    # model scores them near zero.
    df = df.copy()
    cols = [f"{s}_{p}_score" for s in ("left", "right") for p in points]
    df.loc[df["t_s"] >= after_s, cols] = 0.0
    return df


@pytest.mark.parametrize("noise_px", [0.0, 2.0])
def test_a_hinge_whose_knees_leave_the_frame_counts_on_its_fallback_signal(noise_px):
    """Issue 14: a good morning's last reps in a close-up without the knees (the hip angle, the
    primary signal, needs them): the trunk's angle counts them, each rep once, also the one
    the close-up cuts mid-descent."""
    clip = generate_clip("hip_hinge", view="side", reps=5, noise_px=noise_px, seed=4)
    truth = clip.truth.reps
    for cut in (
        float(truth["end_s"].iloc[2]) + 0.2,  # in the pause after the third rep
        float(truth["start_s"].iloc[3]) + 0.3,
    ):  # on the fourth rep's way down
        kp = _close_up(clip.keypoints, cut)
        result = score_keypoints(kp, "hip_hinge", view="side", library=LIB)
        counted = result.reps[~result.reps["partial"]]
        assert counted["turn_s"].to_numpy() == pytest.approx(truth["turn_s"].to_numpy(), abs=0.15)
        assert len(result.reps) == 5  # no partial row beside a rep counted on the fallback
        # The primary alone loses the close-up's reps.
        rule = LIB.find("hip_hinge")
        alone = dataclasses.replace(rule, reps=dataclasses.replace(rule.reps, fallback=None))
        only = score_keypoints(kp, "hip_hinge", view="side", library=Library({"hip_hinge": alone}))
        assert only.n_reps < 5


def test_a_side_view_squat_whose_knees_leave_the_frame_counts_on_the_trunk():
    clip = generate_clip("squat", view="side", reps=5, noise_px=2.0, seed=1)
    truth = clip.truth.reps
    kp = _close_up(clip.keypoints, float(truth["start_s"].iloc[3]) + 0.3)
    result = score_keypoints(kp, "squat", view="side", library=LIB)
    assert result.n_reps == 5 and not result.reps["partial"].any()
    assert result.reps["turn_s"].to_numpy() == pytest.approx(truth["turn_s"].to_numpy(), abs=0.15)
    # The close-up's reps are counted but their depth (the knee angle) is not judged.
    depth = result.findings[(result.findings["check_id"] == "depth")]
    late = depth[depth["rep_index"] >= 3]
    assert len(late) == 2 and (late["severity"] == "not_assessable").all()
