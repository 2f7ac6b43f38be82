"""The rule-file schema: typed specs and validation with errors naming file, line and field.

A rule file is YAML read with the safe loader only. Its node tree is composed first
(``yaml.compose`` with ``SafeLoader``: no object is built) to learn the line of every field and
to refuse any tag outside plain YAML (``!!python/object...`` and friends) before anything is
constructed; the data is then read with ``yaml.safe_load`` and checked field by field here.
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
    hold:                           # ... or a hold exercise
      position: [{metric: body_line_deg, above: 150}]
      target: [{metric: hip_sag_deg, between: [-10, 10]}]
      min_hold_s: 2
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

import math
import re
import string
from dataclasses import dataclass, field
from typing import Any

import yaml

from analysis.kinematics.angles import (
    COMBINE_OPS,
    FEATURE_NAMES,
    FEATURE_UNITS,
    POINT_FUNCTION_UNITS,
    POINT_FUNCTIONS,
    POINT_NAMES,
)

VIEWS = ("side", "front", "oblique")
PHASES_REP = ("bottom", "lockout", "throughout")
PHASES_HOLD = ("hold",)
COMPARISONS = ("above", "below")
BANDS = ("info", "caution", "risk")
AGGREGATES = ("median", "mean", "min", "max", "p10", "p90")
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
_ID = re.compile(r"^[a-z0-9_]{1,64}$")
_FORMAT_SPEC = re.compile(r"^[<>^=]?[+\- ]?\d{0,3}(\.\d{1,2})?[fgde%]?$")
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class RuleFileError(ValueError):
    """A rule file is invalid. ``problems`` holds (line, field, problem) triples (line 1-based,
    0 when unknown); the message lists them as ``file:line: field: problem``."""

    def __init__(self, path: str, problems: list[tuple[int, str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}:{line}: {fld}: {msg}" if fld else f"{path}:{line}: {msg}"
                 for line, fld, msg in problems]  # fmt: skip
        super().__init__("invalid rule file\n  " + "\n  ".join(lines))

    @property
    def line(self) -> int:
        return self.problems[0][0]

    @property
    def field(self) -> str:
        return self.problems[0][1]


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


@dataclass(frozen=True)
class RepSpec:
    """How repetitions are found: a driving signal per view, its turning point, a prominence."""

    signal: dict[str, str]  # view (side/front/oblique/any) -> metric
    turn: str = "valley"
    turn_phase: str = "bottom"
    min_range: dict[str, float] = field(default_factory=lambda: {"any": 30.0})
    min_rep_s: float = 0.4
    max_rep_s: float = 20.0
    smooth_s: float = 0.2

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


# -- YAML with line numbers ---------------------------------------------------------------------


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each path (tuple of keys / indices) to the 1-based line of its node."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)
    return out


def _foreign_tags(node: yaml.Node, path: tuple = ()) -> list[tuple[int, str, str]]:
    problems = []
    if node.tag not in _PLAIN_TAGS and not node.tag.startswith("tag:yaml.org,2002:timestamp"):
        problems.append(
            (
                node.start_mark.line + 1,
                _dotted(path),
                f"tag {node.tag!r} is not allowed: rule files are plain data "
                "(strings, numbers, lists, mappings); no code",
            )
        )
        return problems
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            problems += _foreign_tags(key_node, path)
            problems += _foreign_tags(value_node, (*path, getattr(key_node, "value", "?")))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _foreign_tags(item, (*path, i))
    return problems


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def parse_yaml(text: str, path: str) -> tuple[Any, dict[tuple, int]]:
    """Safe-parse YAML text; returns (data, line map). Raises RuleFileError for bad YAML or a
    tag outside plain YAML, naming the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise RuleFileError(path, [(line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(path, [(0, "", f"invalid YAML: {exc}")]) from None
    if node is None:
        raise RuleFileError(path, [(1, "", "empty file")])
    tags = _foreign_tags(node)
    if tags:
        raise RuleFileError(path, tags)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # pragma: no cover - compose already accepted it
        raise RuleFileError(path, [(0, "", f"invalid YAML: {exc}")]) from None
    return data, _line_map(node)


# -- validation ----------------------------------------------------------------------------------


class _Checker:
    def __init__(self, path: str, lines: dict[tuple, int]):
        self.path = path
        self.lines = lines
        self.problems: list[tuple[int, str, str]] = []

    def line(self, path: tuple) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 0)

    def error(self, path: tuple, msg: str) -> None:
        self.problems.append((self.line(path), _dotted(path), msg))

    def mapping(self, value: Any, path: tuple) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {type(value).__name__}")
            return None
        return value

    def known_keys(self, data: dict, path: tuple, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                self.error((*path, key), f"unknown field; expected one of {sorted(allowed)}")

    def string(self, data: dict, key: str, path: tuple, required: bool = True) -> str | None:
        if key not in data:
            if required:
                self.error(path, f"missing required field {key!r}")
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error((*path, key), f"expected a string, got {type(value).__name__}")
            return None
        return str(value)

    def number(
        self, data: dict, key: str, path: tuple, default: float | None = None, positive=False
    ) -> float | None:
        if key not in data:
            return default
        value = data[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.error((*path, key), f"expected a number, got {value!r}")
            return default
        if positive and value <= 0:
            self.error((*path, key), f"expected a positive number, got {value!r}")
            return default
        return float(value)

    def choice(self, data: dict, key: str, path: tuple, options, default=None) -> str | None:
        if key not in data:
            if default is None:
                self.error(path, f"missing required field {key!r}")
            return default
        value = data[key]
        if value not in options:
            self.error((*path, key), f"{value!r} is not one of {list(options)}")
            return default
        return value

    def views(self, value: Any, path: tuple) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for i, v in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if v == "any":
                out.extend(VIEWS)
            elif v in VIEWS:
                out.append(v)
            else:
                self.error(p, f"unknown view {v!r}; expected one of {[*VIEWS, 'any']}")
        return tuple(dict.fromkeys(out))


def validate(data: Any, lines: dict[tuple, int], path: str, sha256: str = "") -> RuleFile:
    """Check parsed rule-file data; returns a RuleFile or raises RuleFileError listing every
    problem found with its line and field."""
    c = _Checker(path, lines)
    top = c.mapping(data, ())
    if top is None:
        raise RuleFileError(path, c.problems)
    allowed = {"id", "name", "version", "exercise", "aliases", "description", "view", "min_score",
               "metrics", "reps", "hold", "checks"}  # fmt: skip
    c.known_keys(top, (), allowed)
    rule_id = c.string(top, "id", ())
    if rule_id is not None and not _ID.match(rule_id):
        c.error(("id",), f"{rule_id!r}: use lower-case letters, digits and _")
    name = c.string(top, "name", ()) or ""
    version = c.string(top, "version", ()) or ""
    exercise = c.string(top, "exercise", ()) or ""
    aliases: list[str] = []
    if "aliases" in top:
        if isinstance(top["aliases"], list) and all(isinstance(a, str) for a in top["aliases"]):
            aliases = list(top["aliases"])
        else:
            c.error(("aliases",), "expected a list of strings")
    views: tuple[str, ...] = VIEWS
    if "view" not in top:
        c.error((), "missing required field 'view' (side, front, oblique, any or a list)")
    else:
        views = c.views(top["view"], ("view",))
    min_score = c.number(top, "min_score", (), 0.3, positive=True)

    metrics = _metrics(c, top.get("metrics", {}))
    known = set(FEATURE_NAMES) | set(metrics)

    def metric_ref(value: Any, p: tuple) -> str | None:
        if not isinstance(value, str):
            c.error(p, f"expected a metric name, got {value!r}")
            return None
        if value not in known:
            c.error(p, f"unknown metric {value!r}: define it under 'metrics' or use a standard "
                       "feature of analysis.kinematics.angles")  # fmt: skip
            return None
        return value

    reps = hold = None
    if ("reps" in top) == ("hold" in top):
        c.error((), "a rule file needs exactly one of 'reps' (repetitions) or 'hold' (isometric)")
    elif "reps" in top:
        reps = _reps(c, top["reps"], metric_ref)
    else:
        hold = _hold(c, top["hold"], metric_ref)

    checks: list[CheckSpec] = []
    raw_checks = top.get("checks")
    if raw_checks is None:
        c.error((), "missing required field 'checks' (a list, may be empty)")
    elif not isinstance(raw_checks, list):
        c.error(("checks",), "expected a list of checks")
    else:
        phases = PHASES_HOLD if hold is not None else PHASES_REP
        seen: set[str] = set()
        for i, raw in enumerate(raw_checks):
            check = _check(c, raw, ("checks", i), phases, views, metric_ref, metrics)
            if check is None:
                continue
            if check.id in seen:
                c.error(("checks", i, "id"), f"duplicate check id {check.id!r}")
            seen.add(check.id)
            checks.append(check)

    if c.problems:
        raise RuleFileError(path, c.problems)
    return RuleFile(
        id=rule_id or "",
        name=name,
        version=version,
        exercise=exercise,
        aliases=tuple(aliases),
        views=views,
        metrics=metrics,
        checks=tuple(checks),
        reps=reps,
        hold=hold,
        min_score=min_score or 0.3,
        description=str(top.get("description", "")),
        path=path,
        sha256=sha256,
    )


def _metrics(c: _Checker, raw: Any) -> dict[str, MetricSpec]:
    out: dict[str, MetricSpec] = {}
    m = c.mapping(raw, ("metrics",))
    if m is None:
        return out
    for name, spec in m.items():
        p = ("metrics", name)
        if not isinstance(name, str) or not _ID.match(name):
            c.error(p, f"metric name {name!r}: use lower-case letters, digits and _")
            continue
        if name in FEATURE_NAMES:
            c.error(p, f"{name!r} is a standard feature name; pick another name")
            continue
        spec = c.mapping(spec, p)
        if spec is None:
            continue
        c.known_keys(spec, p, {"fn", "points", "op", "of", "unit", "description"})
        if ("fn" in spec) == ("op" in spec):
            c.error(p, "a metric needs exactly one of 'fn' (over points) or 'op' (over metrics)")
            continue
        if "fn" in spec:
            fn = spec["fn"]
            if fn not in POINT_FUNCTIONS:
                c.error(
                    (*p, "fn"), f"unknown metric function {fn!r}; known: {sorted(POINT_FUNCTIONS)}"
                )
                continue
            n_points = POINT_FUNCTIONS[fn][0]
            points = spec.get("points")
            if not isinstance(points, list) or len(points) != n_points:
                c.error((*p, "points"), f"{fn} takes a list of {n_points} keypoint names")
                continue
            bad = False
            for i, pt in enumerate(points):
                if pt not in POINT_NAMES:
                    c.error(
                        (*p, "points", i),
                        f"unknown keypoint {pt!r}; known: {', '.join(POINT_NAMES)}",
                    )
                    bad = True
            if bad:
                continue
            unit = str(spec.get("unit", POINT_FUNCTION_UNITS[fn]))
            out[name] = MetricSpec(name=name, fn=fn, points=tuple(points), unit=unit)
        else:
            op = spec["op"]
            if op not in COMBINE_OPS:
                c.error(
                    (*p, "op"), f"unknown metric operation {op!r}; known: {sorted(COMBINE_OPS)}"
                )
                continue
            inputs = spec.get("of")
            arity = COMBINE_OPS[op]
            if (
                not isinstance(inputs, list)
                or not inputs
                or (arity is not None and len(inputs) != arity)
                or (arity is None and len(inputs) < 2)
            ):
                want = f"{arity}" if arity is not None else "two or more"
                c.error((*p, "of"), f"{op} takes a list of {want} metric names")
                continue
            bad = False
            for i, ref in enumerate(inputs):
                # Only earlier metrics may be used: no cycles by construction.
                if ref not in FEATURE_NAMES and ref not in out:
                    c.error((*p, "of", i), f"unknown metric {ref!r} (define it above this one, "
                                           "or use a standard feature)")  # fmt: skip
                    bad = True
            if bad:
                continue
            first = inputs[0]
            base_unit = out[first].unit if first in out else FEATURE_UNITS.get(first, "")
            default_unit = f"{base_unit}/s" if op == "velocity" else base_unit
            out[name] = MetricSpec(
                name=name, op=op, of=tuple(inputs), unit=str(spec.get("unit", default_unit))
            )
    return out


def _reps(c: _Checker, raw: Any, metric_ref) -> RepSpec | None:
    p = ("reps",)
    r = c.mapping(raw, p)
    if r is None:
        return None
    c.known_keys(r, p, {"signal", "turn", "turn_phase", "min_range", "min_rep_s", "max_rep_s",
                        "smooth_s"})  # fmt: skip
    signal: dict[str, str] = {}
    if "signal" not in r:
        c.error(p, "missing required field 'signal'")
    elif isinstance(r["signal"], dict):
        for view, metric in r["signal"].items():
            if view not in (*VIEWS, "any"):
                c.error((*p, "signal", view), f"unknown view {view!r}")
            elif (m := metric_ref(metric, (*p, "signal", view))) is not None:
                signal[view] = m
    elif (m := metric_ref(r["signal"], (*p, "signal"))) is not None:
        signal["any"] = m
    turn = c.choice(r, "turn", p, ("valley", "peak"))
    turn_phase = c.choice(r, "turn_phase", p, ("bottom", "lockout"), default="bottom")
    min_range: dict[str, float] = {}
    if "min_range" not in r:
        c.error(p, "missing required field 'min_range' (the prominence of a repetition)")
    elif isinstance(r["min_range"], dict):
        for view in r["min_range"]:
            if view not in (*VIEWS, "any"):
                c.error((*p, "min_range", view), f"unknown view {view!r}")
            elif (
                v := c.number(r["min_range"], view, (*p, "min_range"), positive=True)
            ) is not None:
                min_range[view] = v
        for view in signal:
            if view not in min_range and "any" not in min_range:
                c.error((*p, "min_range"), f"no min_range for the {view!r} signal")
    elif (v := c.number(r, "min_range", p, None, positive=True)) is not None:
        min_range["any"] = v
    return RepSpec(
        signal=signal,
        turn=turn or "valley",
        turn_phase=turn_phase or "bottom",
        min_range=min_range or {"any": 30.0},
        min_rep_s=c.number(r, "min_rep_s", p, 0.4, positive=True) or 0.4,
        max_rep_s=c.number(r, "max_rep_s", p, 20.0, positive=True) or 20.0,
        smooth_s=c.number(r, "smooth_s", p, 0.2) or 0.0,
    )


def _conditions(c: _Checker, raw: Any, p: tuple, metric_ref) -> tuple[Condition, ...]:
    if not isinstance(raw, list) or not raw:
        c.error(p, "expected a non-empty list of conditions {metric, above|below|between}")
        return ()
    out = []
    for i, item in enumerate(raw):
        q = (*p, i)
        d = c.mapping(item, q)
        if d is None:
            continue
        c.known_keys(d, q, {"metric", "above", "below", "between"})
        metric = metric_ref(d.get("metric"), (*q, "metric"))
        above = c.number(d, "above", q)
        below = c.number(d, "below", q)
        if "between" in d:
            b = d["between"]
            if (
                isinstance(b, list)
                and len(b) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in b)
                and b[0] <= b[1]
            ):
                above, below = float(b[0]), float(b[1])
            else:
                c.error((*q, "between"), "expected [low, high] with low <= high")
        if above is None and below is None:
            c.error(q, "a condition needs 'above', 'below' or 'between'")
            continue
        if metric is not None:
            out.append(Condition(metric=metric, above=above, below=below))
    return tuple(out)


def _hold(c: _Checker, raw: Any, metric_ref) -> HoldSpec | None:
    p = ("hold",)
    h = c.mapping(raw, p)
    if h is None:
        return None
    c.known_keys(h, p, {"position", "target", "min_hold_s", "max_gap_s"})
    position = _conditions(c, h.get("position"), (*p, "position"), metric_ref)
    target = _conditions(c, h["target"], (*p, "target"), metric_ref) if "target" in h else ()
    return HoldSpec(
        position=position,
        target=target,
        min_hold_s=c.number(h, "min_hold_s", p, 2.0, positive=True) or 2.0,
        max_gap_s=c.number(h, "max_gap_s", p, 0.5, positive=True) or 0.5,
    )


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


def _check(c: _Checker, raw: Any, p: tuple, phases, file_views, metric_ref, metrics):
    d = c.mapping(raw, p)
    if d is None:
        return None
    c.known_keys(d, p, {"id", "metric", "phase", "comparison", "thresholds", "view", "message",
                        "source", "unit", "aggregate", "description"})  # fmt: skip
    n_before = len(c.problems)
    check_id = c.string(d, "id", p)
    if check_id is not None and not _ID.match(check_id):
        c.error((*p, "id"), f"{check_id!r}: use lower-case letters, digits and _")
    metric = None
    if "metric" not in d:
        c.error(p, "missing required field 'metric'")
    else:
        metric = metric_ref(d["metric"], (*p, "metric"))
    phase = c.choice(d, "phase", p, phases)
    comparison = c.choice(d, "comparison", p, COMPARISONS)
    thresholds: dict[str, float] = {}
    if "thresholds" not in d:
        c.error(p, f"missing required field 'thresholds' (one or more of {list(BANDS)})")
    else:
        t = c.mapping(d["thresholds"], (*p, "thresholds"))
        if t is not None:
            c.known_keys(t, (*p, "thresholds"), set(BANDS))
            for band in BANDS:
                if band in t:
                    v = c.number(t, band, (*p, "thresholds"))
                    if v is not None:
                        thresholds[band] = v
            if not t or not any(b in t for b in BANDS):
                c.error(
                    (*p, "thresholds"), f"missing threshold: give at least one of {list(BANDS)}"
                )
            ordered = [thresholds[b] for b in BANDS if b in thresholds]
            if comparison in COMPARISONS and len(ordered) > 1:
                rising = comparison == "above"
                if any(
                    (b <= a) if rising else (b >= a)
                    for a, b in zip(ordered, ordered[1:], strict=False)
                ):
                    c.error(
                        (*p, "thresholds"),
                        "thresholds must get stricter from info to risk "
                        f"({'increasing' if rising else 'decreasing'} for '{comparison}')",
                    )
    views = c.views(d["view"], (*p, "view")) if "view" in d else file_views
    message = c.string(d, "message", p)
    if message is not None and (problem := check_message_template(message)):
        c.error((*p, "message"), problem)
    source = c.string(d, "source", p)
    if source is not None and not source.strip():
        c.error((*p, "source"), "empty source: cite coaching-evidence.md or write 'heuristic'")
    aggregate = c.choice(d, "aggregate", p, AGGREGATES, default="") or None
    if len(c.problems) > n_before:
        return None
    unit = str(
        d.get("unit", metrics[metric].unit if metric in metrics else FEATURE_UNITS.get(metric, ""))
    )
    return CheckSpec(
        id=check_id or "",
        metric=metric or "",
        phase=phase or "",
        comparison=comparison or "",
        thresholds=thresholds,
        message=message or "",
        source=source or "",
        views=views,
        unit=unit,
        aggregate=aggregate,
        line=c.line(p),
    )
