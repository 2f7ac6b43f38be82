"""The rule-file format as pydantic models: what a file may say, field by field.

Each model mirrors one mapping of the YAML (see `rules.schema` for the format); unknown fields
are refused. Every check that does not fit a type raises its own message with the exact text a
reader gets (``PydanticCustomError``), so that `rules.validate` only has to put the file's line
in front of it. Checks that compare entries (metrics defined above their use, duplicate check
ids, thresholds ordered by the comparison) raise at the entry's own place, not the list's.

Two things depend on the file as a whole and come in the validation context: ``metrics``, the
names the file declares under ``metrics`` (references to them are resolved there), and
``phases``, the phases its kind allows (a ``hold`` file's checks are read during the hold).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from analysis.kinematics.angles import COMBINE_OPS, FEATURE_NAMES, POINT_FUNCTIONS, POINT_NAMES
from rules.specs import AGGREGATES, BANDS, COMPARISONS, MESSAGE_FIELDS, PHASES_REP, PICKS, VIEWS

_ID = re.compile(r"^[a-z0-9_]{1,64}$")
_FORMAT_SPEC = re.compile(r"^[<>^=]?[+\- ]?\d{0,3}(\.\d{1,2})?[fgde%]?$")
_SIGNAL_VIEWS = (*VIEWS, "any")


def problem(message: str) -> PydanticCustomError:
    """The error a validator raises: ``message`` is what the reader sees after the field."""
    return PydanticCustomError("rule_file", message)


def problems_at(found: Iterable[tuple[tuple, str, Any]]) -> ValidationError:
    """Several problems at places below the validated value: (path, message, input) each."""
    details = [
        InitErrorDetails(type=problem(msg), loc=loc, input=value) for loc, msg, value in found
    ]
    return ValidationError.from_exception_data("rule file", details)


# -- scalar fields ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    # YAML reads `version: 1.0` as a number; a number is fine where text is wanted.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise problem(f"expected a string, got {type(value).__name__}")
    return str(value)


def _number(positive: bool) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise problem(f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise problem(f"expected a positive number, got {value!r}")
        return float(value)

    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise problem(f"{value!r} is not one of {list(options)}")
        return str(value)

    return check


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise problem(f"{value!r}: use lower-case letters, digits and _")
    return value


def _view(value: Any) -> str:
    if value not in _SIGNAL_VIEWS:
        raise problem(f"unknown view {value!r}; expected one of {list(_SIGNAL_VIEWS)}")
    return str(value)


def _signal_view(value: Any) -> str:
    if value not in _SIGNAL_VIEWS:
        raise problem(f"unknown view {value!r}")
    return str(value)


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def _expand_any(views: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if views is None:
        return None
    expanded = [v for view in views for v in (VIEWS if view == "any" else (view,))]
    return tuple(dict.fromkeys(expanded))


def _as_any_view(value: Any) -> Any:
    # One metric / one number stands for every view.
    return value if isinstance(value, dict) else {"any": value}


def _mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise problem(f"expected a mapping, got {type(value).__name__}")
    return value


def _strings(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise problem("expected a list of strings")
    return value


def _metric_ref(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str):
        raise problem(f"expected a metric name, got {value!r}")
    declared = (info.context or {}).get("metrics", ())
    if value not in FEATURE_NAMES and value not in declared:
        raise problem(f"unknown metric {value!r}: define it under 'metrics' or use a standard "
                      "feature of analysis.kinematics.angles")  # fmt: skip
    return value


def _metric_name(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise problem(f"metric name {value!r}: use lower-case letters, digits and _")
    if value in FEATURE_NAMES:
        raise problem(f"{value!r} is a standard feature name; pick another name")
    return value


def _function(value: Any) -> str:
    if not isinstance(value, str) or value not in POINT_FUNCTIONS:
        raise problem(f"unknown metric function {value!r}; known: {sorted(POINT_FUNCTIONS)}")
    return str(value)


def _operation(value: Any) -> str:
    if not isinstance(value, str) or value not in COMBINE_OPS:
        raise problem(f"unknown metric operation {value!r}; known: {sorted(COMBINE_OPS)}")
    return str(value)


def _keypoint(value: Any) -> str:
    if value not in POINT_NAMES:
        raise problem(f"unknown keypoint {value!r}; known: {', '.join(POINT_NAMES)}")
    return str(value)


def _phase(value: Any, info: ValidationInfo) -> str:
    return _choice(tuple((info.context or {}).get("phases", PHASES_REP)))(value)


def _between(value: Any) -> Any:
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and value[0] <= value[1]
    ):
        raise problem("expected [low, high] with low <= high")
    return value


def _conditions(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise problem("expected a non-empty list of conditions {metric, above|below|between}")
    return value


def _checks(value: Any) -> Any:
    if not isinstance(value, list):
        raise problem("expected a list of checks")
    return value


def check_message_template(template: str) -> str | None:
    """None if ``template`` is a safe message template, else the problem: only plain fields
    from MESSAGE_FIELDS, no attribute or index access, no conversion, simple format specs."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"bad message template: {exc}"
    for _, fld, spec, conversion in parsed:
        if fld is None:
            continue
        if fld not in MESSAGE_FIELDS:
            return (f"message field {{{fld}}} is not allowed; use plain names from "
                    f"{list(MESSAGE_FIELDS)}")  # fmt: skip
        if conversion is not None:
            return f"message field {{{fld}!{conversion}}}: conversions are not allowed"
        if spec and not _FORMAT_SPEC.match(spec):
            return f"message field {{{fld}:{spec}}}: use a simple number format such as .0f"
    return None


def _template(value: str) -> str:
    if (found := check_message_template(value)) is not None:
        raise problem(found)
    return value


def _source(value: str) -> str:
    if not value.strip():
        raise problem("empty source: cite coaching-evidence.md or write 'heuristic'")
    return value


Text = Annotated[str, BeforeValidator(_text)]
AnyText = Annotated[str, BeforeValidator(str)]
Number = Annotated[float, BeforeValidator(_number(positive=False))]
# Optional fields: absent is None, but a YAML null is checked like any value written there (the
# validator sits outside the ``| None``), since ``view:`` with nothing after it is a mistake.
OptText = Annotated[str | None, BeforeValidator(str)]
OptNumber = Annotated[float | None, BeforeValidator(_number(positive=False))]
Positive = Annotated[float, BeforeValidator(_number(positive=True))]
Identifier = Annotated[Text, AfterValidator(_identifier)]
Views = Annotated[
    tuple[Annotated[str, BeforeValidator(_view)], ...],
    BeforeValidator(_as_list),
    AfterValidator(_expand_any),
]
OptViews = Annotated[
    tuple[Annotated[str, BeforeValidator(_view)], ...] | None,
    BeforeValidator(_as_list),
    AfterValidator(_expand_any),
]
SignalView = Annotated[str, BeforeValidator(_signal_view)]
MetricRef = Annotated[str, BeforeValidator(_metric_ref)]
MetricName = Annotated[str, BeforeValidator(_metric_name)]


# -- mappings -----------------------------------------------------------------------------------


class _Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricDoc(_Mapping):
    """``metrics.<name>``: a vocabulary function over points, or an operation over metrics."""

    fn: Annotated[str | None, BeforeValidator(_function)] = None
    points: list[Annotated[str, BeforeValidator(_keypoint)]] | None = None
    op: Annotated[str | None, BeforeValidator(_operation)] = None
    of: Any = None  # metric names, checked against the metrics above this one (RuleDoc)
    unit: OptText = None
    description: Any = None

    @field_validator("points", mode="before")
    @classmethod
    def _point_list(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list):
            return value
        fn = info.data.get("fn")
        if fn is None:
            raise problem("expected a list of keypoint names")
        raise problem(f"{fn} takes a list of {POINT_FUNCTIONS[fn][0]} keypoint names")

    @model_validator(mode="after")
    def _one_kind(self) -> MetricDoc:
        if (self.fn is None) == (self.op is None):
            raise problem("a metric needs exactly one of 'fn' (over points) or 'op' (over metrics)")
        if self.fn is not None:
            n_points = POINT_FUNCTIONS[self.fn][0]
            if self.points is None or len(self.points) != n_points:
                raise problems_at(
                    [(("points",), f"{self.fn} takes a list of {n_points} keypoint names", None)]
                )
        elif self.op is not None:
            arity = COMBINE_OPS[self.op]
            n = len(self.of) if isinstance(self.of, list) else 0
            if n == 0 or (arity is not None and n != arity) or (arity is None and n < 2):
                want = f"{arity}" if arity is not None else "two or more"
                raise problems_at(
                    [(("of",), f"{self.op} takes a list of {want} metric names", None)]
                )
        return self


class SideDoc(_Mapping):
    """``reps.side``: the metric of each side and which one marks the side a rep is done with."""

    left: MetricRef
    right: MetricRef
    pick: Annotated[str, BeforeValidator(_choice(PICKS))] = "max"


class FallbackDoc(_Mapping):
    """``reps.fallback``: a signal (per view or one metric) for where the primary one is not
    measured, with its own prominence and turn (default: the primary's)."""

    signal: Annotated[dict[SignalView, MetricRef], BeforeValidator(_as_any_view)]
    min_range: Annotated[dict[SignalView, Positive], BeforeValidator(_as_any_view)]
    turn: Annotated[str | None, BeforeValidator(_choice(("valley", "peak")))] = None

    @model_validator(mode="after")
    def _range_per_signal(self) -> FallbackDoc:
        _check_ranges(self.signal, self.min_range)
        return self


def _check_ranges(signal: dict[str, str], min_range: dict[str, float]) -> None:
    missing = [v for v in signal if v not in min_range and "any" not in min_range]
    if missing:
        raise problems_at(
            (("min_range",), f"no min_range for the {view!r} signal", None) for view in missing
        )


class RepsDoc(_Mapping):
    """``reps``: the driving signal (per view or one metric), its turning point, a prominence;
    optionally the side of each rep (``side``) and a fallback signal (``fallback``)."""

    signal: Annotated[dict[SignalView, MetricRef], BeforeValidator(_as_any_view)]
    turn: Annotated[str, BeforeValidator(_choice(("valley", "peak")))]
    turn_phase: Annotated[str, BeforeValidator(_choice(("bottom", "lockout")))] = "bottom"
    min_range: Annotated[dict[SignalView, Positive], BeforeValidator(_as_any_view)]
    min_rep_s: Positive = 0.4
    max_rep_s: Positive = 20.0
    smooth_s: Number = 0.2
    side: Annotated[SideDoc | None, BeforeValidator(_mapping)] = None
    fallback: Annotated[FallbackDoc | None, BeforeValidator(_mapping)] = None

    @model_validator(mode="after")
    def _range_per_signal(self) -> RepsDoc:
        _check_ranges(self.signal, self.min_range)
        return self


class ConditionDoc(_Mapping):
    """One condition of a hold: ``metric`` above / below a value, or between two."""

    metric: MetricRef
    above: OptNumber = None
    below: OptNumber = None
    between: Annotated[tuple[float, float] | None, BeforeValidator(_between)] = None

    @model_validator(mode="after")
    def _bounded(self) -> ConditionDoc:
        if self.above is None and self.below is None and self.between is None:
            raise problem("a condition needs 'above', 'below' or 'between'")
        return self

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(above, below): ``between`` wins over the separate bounds."""
        return self.between if self.between is not None else (self.above, self.below)


Conditions = Annotated[tuple[ConditionDoc, ...], BeforeValidator(_conditions)]


class HoldDoc(_Mapping):
    """``hold``: the position that counts as holding, the target within it, durations."""

    position: Conditions
    target: Annotated[tuple[ConditionDoc, ...] | None, BeforeValidator(_conditions)] = None
    min_hold_s: Positive = 2.0
    max_gap_s: Positive = 0.5


class PoseDoc(_Mapping):
    """``pose``: the hold is a pose of a family (a yoga flow), told from the family's other poses
    by ``identify`` (conditions read, with ``hold.position``, only when a flow is split)."""

    family: Identifier
    identify: Annotated[tuple[ConditionDoc, ...], BeforeValidator(_conditions)] = ()


class ThresholdsDoc(_Mapping):
    """``thresholds``: the limit of each severity band a check uses."""

    info: OptNumber = None
    caution: OptNumber = None
    risk: OptNumber = None

    @model_validator(mode="after")
    def _some(self) -> ThresholdsDoc:
        if not self.bands():
            raise problem(f"missing threshold: give at least one of {list(BANDS)}")
        return self

    def bands(self) -> dict[str, float]:
        """The bands given, mildest first."""
        return {b: v for b in BANDS if (v := getattr(self, b)) is not None}


class CheckDoc(_Mapping):
    """One entry of ``checks``."""

    id: Identifier
    metric: MetricRef
    phase: Annotated[str, BeforeValidator(_phase)]
    comparison: Annotated[str, BeforeValidator(_choice(COMPARISONS))]
    thresholds: ThresholdsDoc
    view: OptViews = None
    message: Annotated[Text, AfterValidator(_template)]
    source: Annotated[Text, AfterValidator(_source)]
    unit: OptText = None
    aggregate: Annotated[str | None, BeforeValidator(_choice(AGGREGATES))] = None
    description: Any = None

    @field_validator("thresholds")
    @classmethod
    def _stricter(cls, value: ThresholdsDoc, info: ValidationInfo) -> ThresholdsDoc:
        comparison = info.data.get("comparison")  # absent when it was invalid itself
        ordered = list(value.bands().values())
        if comparison is None or len(ordered) < 2:
            return value
        rising = comparison == "above"
        pairs = zip(ordered, ordered[1:], strict=False)
        if any((b <= a) if rising else (b >= a) for a, b in pairs):
            raise problem("thresholds must get stricter from info to risk "
                          f"({'increasing' if rising else 'decreasing'} for '{comparison}')")  # fmt: skip
        return value


class RuleDoc(_Mapping):
    """A whole rule file."""

    id: Identifier
    name: Text
    version: Text
    exercise: Text
    aliases: Annotated[tuple[str, ...], BeforeValidator(_strings)] = ()
    description: AnyText = ""
    view: Views
    min_score: Positive = 0.3
    metrics: dict[MetricName, MetricDoc] = Field(default_factory=dict)
    reps: Annotated[RepsDoc | None, BeforeValidator(_mapping)] = None
    hold: Annotated[HoldDoc | None, BeforeValidator(_mapping)] = None
    pose: Annotated[PoseDoc | None, BeforeValidator(_mapping)] = None
    checks: Annotated[tuple[CheckDoc, ...], BeforeValidator(_checks)]

    @field_validator("metrics")
    @classmethod
    def _defined_above(cls, metrics: dict[str, MetricDoc]) -> dict[str, MetricDoc]:
        # A metric may use only the metrics above it: no cycles by construction.
        found, above = [], set(FEATURE_NAMES)
        for name, doc in metrics.items():
            for i, ref in enumerate(doc.of or ()):
                if not isinstance(ref, str) or ref not in above:
                    msg = f"unknown metric {ref!r} (define it above this one, or use a standard feature)"
                    found.append(((name, "of", i), msg, ref))
            above.add(name)
        if found:
            raise problems_at(found)
        return metrics

    @field_validator("checks")
    @classmethod
    def _unique_ids(cls, checks: tuple[CheckDoc, ...]) -> tuple[CheckDoc, ...]:
        seen: set[str] = set()
        found = []
        for i, check in enumerate(checks):
            if check.id in seen:
                found.append(((i, "id"), f"duplicate check id {check.id!r}", check.id))
            seen.add(check.id)
        if found:
            raise problems_at(found)
        return checks

    @model_validator(mode="after")
    def _one_kind(self) -> RuleDoc:
        if (self.reps is None) == (self.hold is None):
            raise problem(
                "a rule file needs exactly one of 'reps' (repetitions) or 'hold' (isometric)"
            )
        if self.pose is not None and self.hold is None:
            raise problems_at(
                [(("pose",), "a pose is held: 'pose' needs 'hold', not 'reps'", None)]
            )
        return self
