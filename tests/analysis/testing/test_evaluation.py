"""The coaching evaluation's arithmetic on small inputs with known answers."""

from __future__ import annotations

import math

import pytest

from analysis.testing import evaluation as ev
from analysis.testing.evaluation import (
    FlagCounts,
    count_outcome,
    flag_counts,
    fmt_ratio,
    is_flag,
    match_reps,
    overall,
    pool,
    rate,
)


def test_only_caution_and_risk_flag():
    assert is_flag("caution") and is_flag("risk")
    assert not any(is_flag(s) for s in ("ok", "info", "not_assessable", ""))


def test_count_outcome():
    assert count_outcome(5, 5) == "exact"
    assert count_outcome(6, 5) == "off"
    assert count_outcome(6, 5, tolerance=1) == "within"
    assert count_outcome(3, 5, tolerance=1) == "off"


TRUTH = [(1.0, 2.0, 3.0), (3.5, 4.5, 5.5), (6.0, 7.0, 8.0)]


def test_match_reps_by_turn_inside_the_true_rep():
    assert match_reps(TRUTH, [2.1, 4.4, 7.2]) == {0: 0, 1: 1, 2: 2}
    # A rep outside every true rep (the lead-in) and a missed one leave gaps.
    assert match_reps(TRUTH, [0.5, 4.4]) == {1: 1}


def test_match_reps_a_double_count_leaves_the_farther_one_unmatched():
    assert match_reps(TRUTH, [1.5, 2.05, 4.5]) == {1: 0, 2: 1}


def test_flag_counts_per_check():
    expected = {(1, "valgus"), (3, "valgus"), (2, "lean")}
    flagged = [
        (1, "valgus"),  # hit
        (1, "valgus"),  # the same rep twice: once
        (0, "valgus"),  # a clean rep: false
        (None, "valgus"),  # a rep that is not a true one: false
        (2, "lean"),  # hit
        (4, "depth"),  # nothing planted: false
    ]
    counts = flag_counts(expected, flagged, checks=["pike"])
    assert counts == {
        "depth": FlagCounts(tp=0, fp=1, fn=0),
        "lean": FlagCounts(tp=1, fp=0, fn=0),
        "pike": FlagCounts(),
        "valgus": FlagCounts(tp=1, fp=2, fn=1),
    }
    assert list(counts) == sorted(counts)
    assert counts["valgus"].precision == 1 / 3
    assert counts["valgus"].recall == 0.5


def test_precision_and_recall_are_undefined_not_perfect_without_cases():
    assert math.isnan(FlagCounts().precision) and math.isnan(FlagCounts().recall)
    assert FlagCounts(tp=0, fp=2).precision == 0.0
    assert math.isnan(FlagCounts(tp=0, fp=2).recall)
    assert fmt_ratio(math.nan) == "-" and fmt_ratio(0.945) == "0.94"


def test_pool_and_overall_sum_counts():
    a = {"valgus": FlagCounts(2, 1, 0)}
    b = {"valgus": FlagCounts(1, 0, 1), "lean": FlagCounts(3, 0, 0)}
    pooled = pool([a, b])
    assert pooled == {"lean": FlagCounts(3, 0, 0), "valgus": FlagCounts(3, 1, 1)}
    assert overall(pooled) == FlagCounts(6, 1, 1)
    assert overall({}) == FlagCounts()


def test_rate():
    assert rate([True, False, True, True]) == 0.75
    assert math.isnan(rate([]))


def test_a_fault_is_clear_only_beyond_its_threshold_by_more_than_its_uncertainty():
    # valgus planted at 22 deg, flagged above 13.5: clear while u < 8.5
    flagged = ev.tally_fault(22.0, 13.5, "above", "caution", 3.0)
    assert (flagged.clear, flagged.clear_flagged, flagged.missed) == (1, 1, 0)
    abstained = ev.tally_fault(22.0, 13.5, "above", "not_assessable", 9.0)
    assert (abstained.clear, abstained.not_assessable, abstained.missed) == (0, 1, 0)
    wrong = ev.tally_fault(22.0, 13.5, "above", "ok", 2.0)  # clear, and called ok: a miss
    assert (wrong.clear, wrong.clear_flagged, wrong.missed) == (1, 0, 1)
    assert ev.tally_fault(22.0, 13.5, "above", "info", 2.0).missed == 1
    # below-comparisons: a lockout of 150 deg, flagged below 158
    assert ev.tally_fault(150.0, 158.0, "below", "caution", 5.0).clear_flagged == 1
    assert ev.tally_fault(150.0, 158.0, "below", "caution", 9.0).clear == 0
    # nothing measured (NaN) is never clear; a rep not found at all is a clear miss
    assert ev.tally_fault(22.0, 13.5, "above", "not_assessable", float("nan")).clear == 0
    unfound = ev.tally_fault(22.0, 13.5, "above", None, float("nan"))
    assert (unfound.clear, unfound.missed) == (1, 1)
    total = flagged + abstained + wrong + unfound
    assert (total.faults, total.clear, total.clear_flagged) == (4, 3, 1)
    assert total.recall_clear == pytest.approx(1 / 3)
    assert math.isnan(ev.FaultTally().recall_clear)
