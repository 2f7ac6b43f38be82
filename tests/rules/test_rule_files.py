"""The rule library loads, cites its sources, and malformed rule files get precise errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.loader import LIBRARY_DIR, load_library, load_rule_file
from rules.schema import RuleFileError
from tests.helpers import shared_path

EXPECTED = {"squat", "lunge", "push_up", "hip_hinge", "overhead_press", "plank",
            "jumping_jacks", "warrior_ii", "tree", "downward_dog"}  # fmt: skip

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
