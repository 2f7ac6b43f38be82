"""The live metrics' shortcuts give what the offline arithmetic gives, to the bit: the running
percentile of a shot's window, and a row's points taken once for all of its metrics."""

from __future__ import annotations

import numpy as np

from analysis.kinematics import angles
from analysis.kinematics.angles import FEATURE_SPECS
from analysis.testing.synthetic import generate_clip
from rules.online_metrics import RunningPercentile


def test_the_running_percentile_is_numpys_over_the_last_values_added() -> None:
    rng = np.random.default_rng(7)
    # Ties and a window that fills, then slides (values leave in the order they came).
    values = np.concatenate([rng.normal(100, 20, 300), np.round(rng.normal(50, 5, 200))])
    running = RunningPercentile(90, 64)
    assert np.isnan(running.value())
    for i, v in enumerate(values.tolist()):
        running.add(v)
        window = values[max(0, i + 1 - 64) : i + 1]
        assert running.value() == float(np.percentile(window, 90)), i
        assert len(running) == len(window)
    running.clear()
    running.add(3.5)
    assert (len(running), running.value()) == (1, 3.5)


def test_points_taken_once_for_a_rows_metrics_give_the_same_values() -> None:
    points = generate_clip("squat", view="front", reps=1, fps=30.0).points
    row = points.take([20])
    cache: dict[str, np.ndarray] = {}
    for fn, pts in FEATURE_SPECS.values():
        alone = angles.evaluate_point_function(row, fn, pts, 180.0, 0.3, floor=400.0)
        shared = angles.evaluate_point_function(row, fn, pts, 180.0, 0.3, floor=400.0, cache=cache)
        np.testing.assert_array_equal(alone, shared)
    assert "mid_hip" in cache and "left_knee" in cache
    np.testing.assert_array_equal(cache["mid_hip"], angles.point(row, "mid_hip", 0.3))
