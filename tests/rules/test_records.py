"""Rep and finding records: in step with the store's tables, and the same tables scoring writes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from analysis.testing.synthetic import generate_clip
from posecoach.schema import FINDINGS, REPS
from rules.loader import load_library
from rules.records import Finding, Rep, to_frame
from rules.reps import Segment
from rules.scoring import score_keypoints

LIB = load_library()


def _names(record: type) -> list[str]:
    return [f.name for f in dataclasses.fields(record)]


def test_records_hold_the_table_columns_in_order():
    assert _names(Rep) == [n for n in REPS.names if n not in ("video_id", "exercise")]
    assert _names(Finding) == [n for n in FINDINGS.names if n != "video_id"]


def test_scored_rows_round_trip_through_the_records():
    # Scoring now builds its tables with to_frame itself, so this checks that every stored
    # column has a record field of the right type and back (dtypes included), not the builder.
    clip = generate_clip("squat", view="side", reps=3, depth=[70, 108, 130])
    result = score_keypoints(clip.keypoints, "squat", video_id="v1", library=LIB)
    assert len(result.reps) == 3 and len(result.findings) > 3
    reps = [Rep(**{k: v for k, v in row.items() if k not in ("video_id", "exercise")})
            for row in result.reps.to_dict("records")]  # fmt: skip
    findings = [
        Finding(**{k: v for k, v in row.items() if k != "video_id"})
        for row in result.findings.to_dict("records")
    ]
    pd.testing.assert_frame_equal(to_frame(reps, REPS, "v1", exercise="squat"), result.reps)
    pd.testing.assert_frame_equal(to_frame(findings, FINDINGS, "v1"), result.findings)


def test_no_rule_file_finding_is_the_note_scoring_writes():
    clip = generate_clip("squat", view="side", reps=2)
    result = score_keypoints(clip.keypoints, "zumba", video_id="v2", library=LIB)
    expected = to_frame([Finding.no_rule_file(result.note)], FINDINGS, "v2")
    pd.testing.assert_frame_equal(expected, result.findings)


def test_empty_records_give_every_column():
    frame = to_frame([], REPS, "v3", exercise="plank")
    assert list(frame.columns) == REPS.names and frame.empty


def test_rep_from_segment_and_finding_of_check():
    rule = LIB.find("squat")
    assert rule is not None
    t_s = np.arange(10) / 10.0
    frames = np.arange(100, 110)
    seg = Segment("rep", start=1, turn=4, end=8, rest_before=0, rest_after=9,
                  signal_min=70.0, signal_max=170.0)  # fmt: skip
    rep = Rep.from_segment(seg, 0, frames, t_s, 10.0, track_id=3, rule=rule, worst_severity="info")
    assert (rep.start_frame, rep.turn_frame, rep.end_frame) == (101, 104, 108)
    assert math.isclose(rep.duration_s, 0.8) and math.isnan(rep.in_target_s)
    assert (rep.rule_id, rep.rule_version, rep.track_id) == ("squat", rule.version, 3)
    check = rule.checks[0]
    finding = Finding.of_check(
        check, rule, track_id=3, rep_index=0, severity="info", value=105.0, threshold=100.0,
        start_s=0.1, end_s=0.8, worst_frame=104, worst_s=0.4, message="shallow",
    )  # fmt: skip
    assert (finding.check_id, finding.metric, finding.unit) == (check.id, check.metric, check.unit)
    assert finding.source == check.source and finding.comparison == check.comparison
