"""analysis.models.detections: one frame's boxes and scores, checked and converted exactly."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.detections import Detections

ROWS = np.array([[10, 20, 50, 120, 0.9], [0.5, 1.5, 2.5, 3.5, 0.25]], np.float32)


def test_from_array_and_back_is_exact() -> None:
    found = Detections.from_array(ROWS)
    assert len(found) == 2
    assert found.xyxy.dtype == np.float32 and found.xyxy.shape == (2, 4)
    assert found.confidence.dtype == np.float32 and found.confidence.shape == (2,)
    np.testing.assert_array_equal(found.xyxy, ROWS[:, :4])
    np.testing.assert_array_equal(found.confidence, ROWS[:, 4])
    back = found.as_array()
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, ROWS)


def test_float64_input_becomes_float32() -> None:
    found = Detections(ROWS[:, :4].astype(np.float64), ROWS[:, 4].astype(np.float64))
    assert found.xyxy.dtype == np.float32 and found.confidence.dtype == np.float32


@pytest.mark.parametrize(
    "empty", [np.zeros((0, 5), np.float32), np.zeros(0, np.float32), np.array([])]
)
def test_no_one_found(empty: np.ndarray) -> None:
    for found in (Detections.empty(), Detections.from_array(empty)):
        assert len(found) == 0
        assert found.xyxy.shape == (0, 4) and found.confidence.shape == (0,)
        assert found.as_array().shape == (0, 5) and found.as_array().dtype == np.float32


def test_shapes_are_checked_naming_the_field() -> None:
    with pytest.raises(
        ValueError, match=r"Detections\.xyxy: expected shape \(N, 4\), got \(2, 5\)"
    ):
        Detections(ROWS, ROWS[:, 4])
    with pytest.raises(ValueError, match=r"Detections\.confidence: expected shape \(2,\)"):
        Detections(ROWS[:, :4], ROWS[:1, 4])
    with pytest.raises(ValueError, match=r"from_array: expected shape \(N, 5\), got \(2, 4\)"):
        Detections.from_array(ROWS[:, :4])
    with pytest.raises(ValueError, match=r"from_array: expected shape \(N, 5\), got \(10,\)"):
        Detections.from_array(ROWS.ravel())


def test_frozen() -> None:
    found = Detections.from_array(ROWS)
    with pytest.raises(AttributeError):
        found.xyxy = ROWS[:, :4]  # type: ignore[misc]
