"""Validating parsed rule-file data: pydantic's errors as ``file:line: field: problem``, and
the validated document turned into the typed specs scoring reads.

`rules.format` says what each field may hold; here every error pydantic reports gets the line of
its node (from the composed YAML tree) and a message in the reader's words. A missing field is
reported at the mapping that lacks it; an unknown one lists the fields that mapping takes.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from analysis.kinematics.angles import FEATURE_UNITS, POINT_FUNCTION_UNITS
from rules.errors import Problem, RuleFileError, dotted
from rules.format import CheckDoc, ConditionDoc, RuleDoc
from rules.specs import (
    PHASES_HOLD,
    PHASES_REP,
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
from rules.yaml_lines import LineMap, line_of

#: What a missing field is, where its name alone does not say it.
_MISSING_HINTS = {
    "view": " (side, front, oblique, any or a list)",
    "checks": " (a list, may be empty)",
    "thresholds": " (one or more of ['info', 'caution', 'risk'])",
    "min_range": " (the prominence of a repetition)",
    "position": " (a non-empty list of conditions {metric, above|below|between})",
}
_MAPPING_ERRORS = {"model_type", "model_attributes_type", "dict_type"}
_LIST_ERRORS = {"list_type", "tuple_type"}


def validate(data: Any, lines: LineMap, path: str, sha256: str = "") -> RuleFile:
    """Check parsed rule-file data; returns a RuleFile or raises RuleFileError listing every
    problem found with its line and field."""
    top = data if isinstance(data, dict) else {}
    declared = top.get("metrics")
    context = {
        # Checks may use any metric the file declares; one that is itself broken is reported
        # once, where it is defined, not again at every use.
        "metrics": set(declared) if isinstance(declared, dict) else set(),
        "phases": PHASES_HOLD if "hold" in top else PHASES_REP,
    }
    try:
        doc = RuleDoc.model_validate(data, context=context)
    except ValidationError as exc:
        raise RuleFileError(path, problems(exc, data, lines, RuleDoc)) from None
    return to_rule_file(doc, lines, path, sha256)


def problems(
    exc: ValidationError, data: Any, lines: LineMap, model: type[BaseModel]
) -> list[Problem]:
    """pydantic's errors for ``model`` (validated from ``data``) as (line, field, message).

    The order is pydantic's (fields as the model lists them), except that a mapping's unknown
    fields come before its other problems: a misspelt key explains the missing one."""
    out: list[tuple[tuple, bool, Problem]] = []  # (place, unknown field?, problem)
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")  # a bad key: report the key's place
        kind, value = err["type"], err.get("input")
        where = _place(data, loc[:-1] if kind == "missing" else loc)
        line = line_of(lines, where)[1]
        if kind == "missing":
            message = f"missing required field {loc[-1]!r}{_MISSING_HINTS.get(str(loc[-1]), '')}"
        elif kind == "extra_forbidden":
            message = f"unknown field; expected one of {sorted(_fields_at(model, loc[:-1]))}"
        elif kind in _MAPPING_ERRORS:
            message = f"expected a mapping, got {type(value).__name__}"
        elif kind in _LIST_ERRORS:
            message = f"expected a list, got {type(value).__name__}"
        else:
            message = err["msg"]
        entry = (line, dotted(where), message)
        unknown = kind == "extra_forbidden"
        if unknown:
            parent = where[:-1]
            first = next(
                (i for i, (w, u, _) in enumerate(out) if w[: len(parent)] == parent and not u), None
            )
            if first is not None:
                out.insert(first, (where, unknown, entry))
                continue
        out.append((where, unknown, entry))
    return [entry for _, _, entry in out]


def _place(data: Any, loc: tuple) -> tuple:
    """Where a problem at ``loc`` is in the file: all of ``loc``, also a field that a mapping
    lacks, but not a key below a plain value (`rules.format` reads ``view: side`` as a list of
    one view and ``signal: knee`` as ``{any: knee}``: the problem is the value's)."""
    node = data
    for i, part in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            return loc
        else:
            return loc[:i]
    return loc


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the model found at ``loc`` below ``model`` ([] if none)."""
    tp: Any = model
    for part in (*loc, None):
        tp = _strip(tp)
        if inspect.isclass(tp) and issubclass(tp, BaseModel):
            if part is None:
                return list(tp.model_fields)
            if part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    return []  # pragma: no cover - the loop returns at the end of loc


def _strip(tp: Any) -> Any:
    """``tp`` without Annotated metadata and without ``| None``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return tp


# -- the validated document as specs ------------------------------------------------------------


def to_rule_file(doc: RuleDoc, lines: LineMap, path: str, sha256: str = "") -> RuleFile:
    """The typed specs of a validated rule file: views expanded, units filled in."""
    metrics: dict[str, MetricSpec] = {}
    for name, m in doc.metrics.items():
        if m.fn is not None:
            unit = m.unit if m.unit is not None else POINT_FUNCTION_UNITS[m.fn]
            metrics[name] = MetricSpec(name=name, fn=m.fn, points=tuple(m.points or ()), unit=unit)
        else:
            first = m.of[0]
            base = metrics[first].unit if first in metrics else FEATURE_UNITS.get(first, "")
            default = f"{base}/s" if m.op == "velocity" else base
            unit = m.unit if m.unit is not None else default
            metrics[name] = MetricSpec(name=name, op=m.op, of=tuple(m.of), unit=unit)
    reps = hold = None
    if doc.reps is not None:
        r = doc.reps
        side = SideSpec(r.side.left, r.side.right, r.side.pick) if r.side else None
        fallback = None
        if r.fallback is not None:
            fb = r.fallback
            fallback = FallbackSpec(dict(fb.signal), dict(fb.min_range), fb.turn)
        reps = RepSpec(signal=dict(r.signal), turn=r.turn, turn_phase=r.turn_phase,
                       min_range=dict(r.min_range), min_rep_s=r.min_rep_s, max_rep_s=r.max_rep_s,
                       smooth_s=r.smooth_s, side=side, fallback=fallback)  # fmt: skip
    if doc.hold is not None:
        h = doc.hold
        hold = HoldSpec(position=_conditions(h.position), target=_conditions(h.target or ()),
                        min_hold_s=h.min_hold_s, max_gap_s=h.max_gap_s)  # fmt: skip
    pose = None
    if doc.pose is not None:
        pose = PoseSpec(family=doc.pose.family, identify=_conditions(doc.pose.identify))
    checks = tuple(
        _check(c, doc.view, metrics, line_of(lines, ("checks", i))[1])
        for i, c in enumerate(doc.checks)
    )
    return RuleFile(
        id=doc.id,
        name=doc.name,
        version=doc.version,
        exercise=doc.exercise,
        aliases=doc.aliases,
        views=doc.view,
        metrics=metrics,
        checks=checks,
        reps=reps,
        hold=hold,
        pose=pose,
        min_score=doc.min_score,
        description=doc.description,
        path=path,
        sha256=sha256,
    )


def _conditions(docs: tuple[ConditionDoc, ...]) -> tuple[Condition, ...]:
    return tuple(Condition(c.metric, *c.bounds) for c in docs)


def _check(
    c: CheckDoc, file_views: tuple[str, ...], metrics: dict[str, MetricSpec], line: int
) -> CheckSpec:
    if c.unit is not None:
        unit = c.unit
    else:
        unit = metrics[c.metric].unit if c.metric in metrics else FEATURE_UNITS.get(c.metric, "")
    return CheckSpec(
        id=c.id,
        metric=c.metric,
        phase=c.phase,
        comparison=c.comparison,
        thresholds=c.thresholds.bands(),
        message=c.message,
        source=c.source,
        views=c.view if c.view is not None else file_views,
        unit=unit,
        aggregate=c.aggregate,
        line=line,
    )
