"""The typed specs of a validated rule file: what scoring, reps and reports read.

These are plain frozen dataclasses, built by `rules.format` once a file has passed validation
(or directly, by tests and callers that need a spec without a file). They hold the file's
meaning, already normalised: views expanded from ``any``, per-view signals and prominences as
mappings, ``between`` as ``above`` + ``below``, every unit filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from analysis.kinematics.angles import FEATURE_UNITS

VIEWS = ("side", "front", "oblique")
PHASES_REP = ("bottom", "lockout", "throughout")
PHASES_HOLD = ("hold",)
COMPARISONS = ("above", "below")
BANDS = ("info", "caution", "risk")
AGGREGATES = ("median", "mean", "min", "max", "p10", "p90")
#: The fields a check's message template may use (``str.format`` names, nothing else).
MESSAGE_FIELDS = (
    "value",
    "threshold",
    "severity",
    "unit",
    "metric",
    "check",
    "rep",
    "phase",
    "view",
)


@dataclass(frozen=True)
class MetricSpec:
    """A named metric: a vocabulary function over points, or an operation over other metrics."""

    name: str
    fn: str | None = None
    points: tuple[str, ...] = ()
    op: str | None = None
    of: tuple[str, ...] = ()
    unit: str = ""


@dataclass(frozen=True)
class Condition:
    """``metric`` above / below a value or between two values (inclusive)."""

    metric: str
    above: float | None = None
    below: float | None = None

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.above is not None and not value >= self.above:
            return False
        return not (self.below is not None and not value <= self.below)


SIDES = ("left", "right")
PICKS = ("max", "min")


@dataclass(frozen=True)
class SideSpec:
    """Which side a rep of an alternating exercise is done with: the side whose metric is the
    larger (``pick: max``) or the smaller (``min``) over the rep, e.g. the lead knee's height
    above its hip (higher: the leg on the box, in front, or lifted)."""

    left: str
    right: str
    pick: str = "max"


@dataclass(frozen=True)
class FallbackSpec:
    """A signal used where the primary one is not measured (its joints out of frame): per view,
    with its own prominence (its unit may differ from the primary's)."""

    signal: dict[str, str]
    min_range: dict[str, float]
    turn: str | None = None  # valley | peak; None: the primary signal's

    def signal_for(self, view: str) -> str | None:
        return self.signal.get(view) or self.signal.get("any")

    def range_for(self, view: str) -> float:
        if view in self.min_range:
            return self.min_range[view]
        return self.min_range.get("any", next(iter(self.min_range.values())))


@dataclass(frozen=True)
class RepSpec:
    """How repetitions are found: a driving signal per view, its turning point, a prominence;
    optionally the side each rep is done with (alternating exercises) and a fallback signal."""

    signal: dict[str, str]  # view (side/front/oblique/any) -> metric
    turn: str = "valley"
    turn_phase: str = "bottom"
    min_range: dict[str, float] = field(default_factory=lambda: {"any": 30.0})
    min_rep_s: float = 0.4
    max_rep_s: float = 20.0
    smooth_s: float = 0.2
    side: SideSpec | None = None
    fallback: FallbackSpec | None = None

    def signal_for(self, view: str) -> str | None:
        """The driving signal's metric for a view (None: the file has none for it)."""
        return self.signal.get(view) or self.signal.get("any")

    def range_for(self, view: str) -> float:
        """The prominence a repetition needs in a view (the signal's unit)."""
        if view in self.min_range:
            return self.min_range[view]
        return self.min_range.get("any", next(iter(self.min_range.values())))


@dataclass(frozen=True)
class HoldSpec:
    """How holds are found: the position conditions, the target ones, a minimum duration."""

    position: tuple[Condition, ...]
    target: tuple[Condition, ...] = ()
    min_hold_s: float = 2.0
    max_gap_s: float = 0.5


@dataclass(frozen=True)
class PoseSpec:
    """A hold that is a pose of a family (a yoga flow): the family's name and the conditions
    that tell it from the family's other poses (read with the hold's position in a flow)."""

    family: str
    identify: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    """One check of a rule file."""

    id: str
    metric: str
    phase: str
    comparison: str
    thresholds: dict[str, float]
    message: str
    source: str
    views: tuple[str, ...]
    unit: str = ""
    aggregate: str | None = None
    line: int = 0

    def severity(self, value: float) -> tuple[str, float]:
        """(severity, threshold) for a measured value: the worst band crossed, else ``ok`` with
        the mildest band's threshold. NaN gives ``not_assessable``."""
        ordered = [(b, self.thresholds[b]) for b in BANDS if b in self.thresholds]
        if not math.isfinite(value):
            return "not_assessable", ordered[0][1]
        worst = ("ok", ordered[0][1])
        for band, limit in ordered:
            crossed = value > limit if self.comparison == "above" else value < limit
            if crossed:
                worst = (band, limit)
        return worst


@dataclass(frozen=True)
class RuleFile:
    """A validated rule file."""

    id: str
    name: str
    version: str
    exercise: str
    aliases: tuple[str, ...]
    views: tuple[str, ...]
    metrics: dict[str, MetricSpec]
    checks: tuple[CheckSpec, ...]
    reps: RepSpec | None = None
    hold: HoldSpec | None = None
    pose: PoseSpec | None = None
    min_score: float = 0.3
    description: str = ""
    path: str = ""
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "hold" if self.hold is not None else "rep"

    def metric_unit(self, name: str) -> str:
        if name in self.metrics:
            return self.metrics[name].unit
        return FEATURE_UNITS.get(name, "")
