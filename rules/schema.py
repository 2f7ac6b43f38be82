"""The rule-file schema: the format, and the names the rest of PoseCoach imports for it.

A rule file is YAML read with the safe loader only (`rules.yaml_lines`: the node tree is composed
first for the line of every field and to refuse any tag outside plain YAML), validated by the
pydantic models of `rules.format` (`rules.validation` reports every problem as
``file:line: field: what was expected``) and handed on as the typed specs of `rules.specs`.
Nothing in a rule file is ever evaluated: metrics name a function from a fixed vocabulary
(`analysis.kinematics.angles`) and the keypoints it takes; messages are ``str.format`` templates whose
fields must be plain names from :data:`MESSAGE_FIELDS`.

Format (see ``rules/library/*.yaml`` and docs/rules.md)::

    id: squat                       # [a-z0-9_]+
    name: Squat
    version: "1.0"
    exercise: squat                 # matched against the videos row's exercise
    aliases: [squats, air_squat]    # optional
    view: [side, oblique]           # default view the checks need: side|front|oblique|any
    metrics:                        # optional; a name -> a vocabulary function over points,
      knee: {fn: joint_angle, points: [left_hip, left_knee, left_ankle]}
      knee_mean: {op: mean, of: [knee_angle_left_deg, knee_angle_right_deg]}  # or over metrics
    reps:                           # a rep exercise ...
      signal: {side: knee_mean, front: hip_height}   # or one metric name
      turn: valley                  # valley | peak: the turning point is a minimum or a maximum
      turn_phase: bottom            # what the turning point is: bottom | lockout
      min_range: 35                 # prominence in the signal's unit
      side: {left: m_left, right: m_right, pick: max}   # optional: alternating exercises record
                                    # the side whose metric is the larger (max) / smaller (min)
      fallback: {signal: trunk_to_vertical_deg, min_range: 30, turn: peak}  # optional: where
                                    # the signal is not measured (its joints out of frame)
    hold:                           # ... or a hold exercise
      position: [{metric: body_line_deg, above: 150}]
      target: [{metric: hip_sag_deg, between: [-10, 10]}]
      min_hold_s: 2
    pose:                           # optional, holds only: a pose of a family (a yoga flow)
      family: yoga                  # the exercise name that splits a flow into these poses
      identify: [{metric: trunk_to_vertical_deg, below: 15}]  # tells it from the family's others
    checks:
      - id: depth
        metric: knee_mean
        phase: bottom               # bottom | lockout | throughout (reps) or hold (holds)
        comparison: above           # above: larger is worse; below: smaller is worse
        thresholds: {info: 100, caution: 120}
        view: side                  # optional, overrides the file's view
        message: "Knee angle at the bottom {value:.0f} deg (limit {threshold:.0f} deg)."
        source: "coaching-evidence.md: Squat depth"   # or: heuristic
"""

from __future__ import annotations

from rules.errors import RuleFileError
from rules.format import check_message_template
from rules.specs import (
    AGGREGATES,
    BANDS,
    COMPARISONS,
    MESSAGE_FIELDS,
    PHASES_HOLD,
    PHASES_REP,
    VIEWS,
    CheckSpec,
    Condition,
    FallbackSpec,
    HoldSpec,
    MetricSpec,
    PoseSpec,
    RepSpec,
    RuleFile,
    SideSpec,
)
from rules.validation import validate
from rules.yaml_lines import parse_yaml

__all__ = [
    "AGGREGATES",
    "BANDS",
    "COMPARISONS",
    "MESSAGE_FIELDS",
    "PHASES_HOLD",
    "PHASES_REP",
    "VIEWS",
    "CheckSpec",
    "Condition",
    "HoldSpec",
    "MetricSpec",
    "PoseSpec",
    "FallbackSpec",
    "RepSpec",
    "RuleFile",
    "SideSpec",
    "RuleFileError",
    "check_message_template",
    "parse_yaml",
    "validate",
]
