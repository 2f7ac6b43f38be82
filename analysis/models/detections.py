"""The detector's output for one frame: the people's boxes and how sure it is of each.

Our own small record rather than ``supervision.Detections``: supervision is here only as the
tracker's dependency (``trackers``, whose adapter builds its ``Detections`` from these arrays),
its container is mutable and checks neither dtype nor shape, and it takes about a second to
import; the models layer would depend on the tracking library's choice for two arrays.

Example:
    >>> import numpy as np
    >>> found = Detections.from_array(np.array([[10, 20, 50, 120, 0.9]], np.float32))
    >>> len(found), found.xyxy[0].tolist(), round(float(found.confidence[0]), 2)
    (1, [10.0, 20.0, 50.0, 120.0], 0.9)
    >>> found.as_array().shape, len(Detections.empty())
    ((1, 5), 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """People found in one frame, in the detector's order (best first).

    Attributes:
        xyxy: float32 (N, 4) boxes ``x1, y1, x2, y2`` in frame pixels.
        confidence: float32 (N,) the detector's score of each box, in [0, 1].
    """

    xyxy: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        confidence = np.asarray(self.confidence, dtype=np.float32)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"Detections.xyxy: expected shape (N, 4), got {xyxy.shape}")
        if confidence.shape != (len(xyxy),):
            raise ValueError(
                f"Detections.confidence: expected shape ({len(xyxy)},) like xyxy, "
                f"got {confidence.shape}"
            )
        # Frozen: the checked float32 arrays replace what was given.
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Detections:
        """No one found."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    @classmethod
    def from_array(cls, arr: np.ndarray) -> Detections:
        """From rows ``x1, y1, x2, y2, score`` (an (N, 5) array; an empty array is no one)."""
        arr = np.asarray(arr, dtype=np.float32)
        if arr.size == 0:
            return cls.empty()
        if arr.ndim != 2 or arr.shape[1] != 5:
            raise ValueError(f"Detections.from_array: expected shape (N, 5), got {arr.shape}")
        return cls(arr[:, :4], arr[:, 4])

    def as_array(self) -> np.ndarray:
        """float32 (N, 5) rows ``x1, y1, x2, y2, score``, as the tracker and the store take."""
        return np.concatenate([self.xyxy, self.confidence[:, None]], axis=1)
