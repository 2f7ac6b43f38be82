"""The rule library loads, cites its sources, and malformed rule files get precise errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.loader import LIBRARY_DIR, load_library, load_rule_file
from rules.schema import RuleFileError
from tests.helpers import shared_path

EXPECTED = {"squat", "lunge", "push_up", "hip_hinge", "overhead_press", "plank",
            "jumping_jacks", "warrior_ii", "tree", "downward_dog", "burpee", "high_knees",
            "step_up", "single_leg_deadlift", "glute_bridge", "side_plank", "wall_sit",
            # the yoga pose library (pose.family: yoga), with warrior_ii, tree, downward_dog
            "warrior_i", "reverse_warrior", "side_angle", "triangle", "pyramid", "chair",
            "cobra"}  # fmt: skip

GOOD = """\
id: mini
name: Mini squat
version: "0.1"
exercise: mini_squat
view: side
reps:
  signal: knee_angle_deg
  min_range: 30
  turn: valley
checks:
  - id: depth
    metric: knee_angle_deg
    phase: bottom
    comparison: above
    thresholds: {info: 100, caution: 120}
    message: "Knee {value:.0f} deg, limit {threshold:.0f}"
    source: heuristic
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> RuleFileError:
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as info:
        load_rule_file(path)
    assert str(path) in str(info.value)
    return info.value


def test_library_has_every_exercise_and_cites_sources():
    lib = load_library()
    assert set(lib) == EXPECTED
    for rule in lib.values():
        assert rule.version and rule.checks
        for check in rule.checks:
            src = check.source
            assert src == "heuristic" or src.startswith("heuristic") or "coaching-evidence.md" in src, (
                rule.id, check.id)  # fmt: skip


def test_cited_evidence_rows_exist():
    # "Thresholds: <row name>" in a check's source names a row of ../shared's evidence table.
    evidence_text = shared_path("docs", "coaching-evidence.md").read_text()
    cited = [
        (rule.id, check.id, check.source)
        for rule in load_library().values()
        for check in rule.checks
        if "coaching-evidence.md" in check.source
    ]
    assert cited, "no check cites coaching-evidence.md"
    for rule_id, check_id, src in cited:
        row = src.split("Thresholds:")[1].split("(")[0].strip().split(",")[0]
        assert row.split()[0] in evidence_text, (rule_id, check_id, row)


def test_minimal_file_loads():
    rule = load_rule_file_text(GOOD)
    assert rule.id == "mini" and rule.kind == "rep"
    assert rule.checks[0].severity(110) == ("info", 100)
    assert rule.checks[0].severity(130) == ("caution", 120)
    assert rule.checks[0].severity(90) == ("ok", 100)


def load_rule_file_text(text: str, tmp=None):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return load_rule_file(write(Path(d), text))


def test_bad_yaml_names_the_line(tmp_path):
    err = error_of(tmp_path, GOOD.replace("  min_range: 30", "  min_range: [30"))
    assert "invalid YAML" in str(err)
    assert err.line in (9, 10)


def test_unknown_keypoint_names_line_and_field(tmp_path):
    text = GOOD.replace(
        "reps:\n",
        "metrics:\n  shin: {fn: segment_to_vertical, points: [left_knee, left_toe]}\nreps:\n",
    )
    err = error_of(tmp_path, text)
    assert "unknown keypoint 'left_toe'" in str(err)
    assert err.field == "metrics.shin.points[1]"
    assert err.line == 7
    assert ":7: metrics.shin.points[1]:" in str(err)


def test_unknown_metric_names_line_and_field(tmp_path):
    err = error_of(tmp_path, GOOD.replace("    metric: knee_angle_deg", "    metric: knee_wobble"))
    assert "unknown metric 'knee_wobble'" in str(err)
    assert err.field == "checks[0].metric"
    assert err.line == 12


def test_unknown_metric_function(tmp_path):
    text = GOOD.replace("reps:\n", "metrics:\n  x: {fn: eval, points: [nose]}\nreps:\n")
    err = error_of(tmp_path, text)
    assert "unknown metric function 'eval'" in str(err)
    assert (err.line, err.field) == (7, "metrics.x.fn")


def test_missing_threshold(tmp_path):
    err = error_of(tmp_path, GOOD.replace("    thresholds: {info: 100, caution: 120}\n", ""))
    assert "missing required field 'thresholds'" in str(err)
    assert err.field == "checks[0]" and err.line == 11
    err = error_of(tmp_path, GOOD.replace("{info: 100, caution: 120}", "{}"))
    assert "missing threshold" in str(err) and err.field == "checks[0].thresholds"


def test_thresholds_must_get_stricter(tmp_path):
    err = error_of(tmp_path, GOOD.replace("{info: 100, caution: 120}", "{info: 120, caution: 100}"))
    assert "stricter" in str(err) and err.line == 15


def test_python_tag_is_rejected_before_anything_is_built(tmp_path):
    text = GOOD.replace("name: Mini squat", 'name: !!python/object/apply:os.system ["echo pwned"]')
    err = error_of(tmp_path, text)
    assert "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in str(err)
    assert (err.line, err.field) == (2, "name")


def test_message_template_cannot_reach_attributes(tmp_path):
    err = error_of(tmp_path, GOOD.replace("Knee {value:.0f} deg", "Knee {value.__class__} deg"))
    assert "message field {value.__class__} is not allowed" in str(err)
    assert err.field == "checks[0].message" and err.line == 16
    err = error_of(tmp_path, GOOD.replace("Knee {value:.0f} deg", "Knee {value!r} deg"))
    assert "conversions are not allowed" in str(err)


def test_missing_source_and_unknown_field(tmp_path):
    err = error_of(tmp_path, GOOD.replace("    source: heuristic\n", "    sauce: heuristic\n"))
    fields = {f for _, f, _ in err.problems}
    assert {"checks[0].sauce", "checks[0]"} <= fields
    assert "missing required field 'source'" in str(err)


def test_wrong_phase_for_kind_and_unknown_view(tmp_path):
    err = error_of(
        tmp_path, GOOD.replace("phase: bottom", "phase: hold").replace("view: side", "view: top")
    )
    fields = {f for _, f, _ in err.problems}
    assert {"checks[0].phase", "view"} <= fields


def test_two_files_claiming_one_exercise(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("id: mini", "id: mini2"))
    with pytest.raises(RuleFileError, match="already claimed"):
        load_library(tmp_path)


def test_library_dir_exists():
    assert sorted(p.stem for p in LIBRARY_DIR.glob("*.yaml")) == sorted(EXPECTED)


def test_null_is_checked_like_any_value(tmp_path):
    # An optional field written with nothing after it is a mistake, not "use the default".
    text = GOOD.replace("    source: heuristic\n", "    source: heuristic\n    view:\n")
    err = error_of(tmp_path, text)
    assert (err.line, err.field) == (18, "checks[0].view")
    assert "unknown view None" in str(err)
    err = error_of(tmp_path, GOOD.replace("{info: 100, caution: 120}", "{info: 100, caution: }"))
    assert err.field == "checks[0].thresholds.caution" and "expected a number, got None" in str(err)


def test_a_broken_metric_is_reported_where_it_is_defined_only(tmp_path):
    text = GOOD.replace(
        "reps:\n", "metrics:\n  shin: {fn: segment_to_vertical, points: [left_knee]}\nreps:\n"
    ).replace("    metric: knee_angle_deg", "    metric: shin")
    err = error_of(tmp_path, text)
    assert [(line, f) for line, f, _ in err.problems] == [(7, "metrics.shin.points")]
    assert "segment_to_vertical takes a list of 2 keypoint names" in str(err)


def test_metric_may_use_only_metrics_above_it(tmp_path):
    metrics = (
        "metrics:\n"
        "  both: {op: mean, of: [left, knee_angle_deg]}\n"
        "  left: {fn: joint_angle, points: [left_hip, left_knee, left_ankle]}\n"
    )
    err = error_of(tmp_path, GOOD.replace("reps:\n", metrics + "reps:\n"))
    assert (err.line, err.field) == (7, "metrics.both.of[0]")
    assert "unknown metric 'left' (define it above this one" in str(err)


def test_unknown_field_comes_before_the_missing_one_and_lists_the_fields(tmp_path):
    err = error_of(tmp_path, GOOD.replace("  turn: valley", "  tunr: valley"))
    assert err.problems[0] == (
        9,
        "reps.tunr",
        "unknown field; expected one of ['fallback', 'max_rep_s', 'min_range', 'min_rep_s', "
        "'side', 'signal', 'smooth_s', 'turn', 'turn_phase']",
    )
    assert err.problems[1] == (6, "reps", "missing required field 'turn'")


def test_one_value_for_every_view_is_reported_at_the_value(tmp_path):
    err = error_of(tmp_path, GOOD.replace("  min_range: 30", "  min_range: [30]"))
    assert err.problems == [(8, "reps.min_range", "expected a number, got [30]")]
    err = error_of(tmp_path, GOOD.replace("view: side", "view: {side: 1}"))
    assert err.field == "view" and "unknown view {'side': 1}" in str(err)


def test_duplicate_check_id_names_the_second(tmp_path):
    check = GOOD.split("checks:\n")[1]
    err = error_of(tmp_path, GOOD + check)
    assert (err.line, err.field) == (18, "checks[1].id")
    assert "duplicate check id 'depth'" in str(err)


def test_hold_file_conditions(tmp_path):
    hold = "hold:\n  position: [{metric: body_line_deg, between: [150, 140]}]\n"
    text = GOOD.split("reps:\n")[0] + hold + "checks: []\n"
    err = error_of(tmp_path, text)
    assert err.problems == [
        (7, "hold.position[0].between", "expected [low, high] with low <= high")
    ]
    rule = load_rule_file_text(text.replace("[150, 140]", "[140, 150]"))
    assert rule.kind == "hold" and rule.hold is not None
    assert (rule.hold.position[0].above, rule.hold.position[0].below) == (140.0, 150.0)


def test_reps_side_loads_and_its_errors_name_line_and_field(tmp_path):
    side = "  side: {left: knee_angle_left_deg, right: knee_angle_right_deg, pick: min}\n"
    rule = load_rule_file(
        write(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n" + side))
    )
    assert rule.reps is not None and rule.reps.side is not None
    assert (rule.reps.side.left, rule.reps.side.right, rule.reps.side.pick) == (
        "knee_angle_left_deg",
        "knee_angle_right_deg",
        "min",
    )
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n"
                                          + side.replace("pick: min", "pick: mean")))  # fmt: skip
    assert (err.line, err.field) == (10, "reps.side.pick")
    assert ":10: reps.side.pick: 'mean' is not one of ['max', 'min']" in str(err)
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n"
                                          + side.replace("right: knee_angle_right_deg, ", "")))  # fmt: skip
    assert err.field == "reps.side" and "missing required field 'right'" in str(err)
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n  side: left\n"))
    assert err.field == "reps.side" and "expected a mapping, got str" in str(err)


def test_reps_fallback_loads_and_its_errors_name_line_and_field(tmp_path):
    fb = "  fallback: {signal: {side: trunk_to_vertical_deg}, min_range: 20, turn: peak}\n"
    rule = load_rule_file(
        write(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n" + fb))
    )
    assert rule.reps is not None and rule.reps.fallback is not None
    assert rule.reps.fallback.signal_for("side") == "trunk_to_vertical_deg"
    assert rule.reps.fallback.signal_for("front") is None  # no fallback from the front
    assert (rule.reps.fallback.range_for("side"), rule.reps.fallback.turn) == (20.0, "peak")
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n"
                                          + fb.replace("turn: peak", "turn: top")))  # fmt: skip
    assert (err.line, err.field) == (10, "reps.fallback.turn")
    assert "'top' is not one of ['valley', 'peak']" in str(err)
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n"
                                          + fb.replace("min_range: 20", "min_range: {front: 20}")))  # fmt: skip
    assert err.field == "reps.fallback.min_range"
    assert "no min_range for the 'side' signal" in str(err)
    err = error_of(tmp_path, GOOD.replace("  turn: valley\n", "  turn: valley\n"
                                          + fb.replace("trunk_to_vertical_deg", "trunk_wobble")))  # fmt: skip
    assert err.field == "reps.fallback.signal.side" and "unknown metric 'trunk_wobble'" in str(err)
