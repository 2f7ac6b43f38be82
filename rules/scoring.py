"""Scoring: keypoints + the exercise's rule file -> ``features``, ``reps`` and ``findings`` rows.

Per track: the keypoints are laid on a regular frame grid (frames where the track is absent are
NaN), the features are computed on it (`analysis.kinematics.features`: every standard metric and
the rule file's own), repetitions or holds are found on the whole series (`rules.reps`) and every
check is evaluated per repetition / hold (`rules.checks`: a robust statistic over the check's
phase window, with its uncertainty from the track's jitter, scores and segment lengths; a value
whose band is ambiguous within it is ``not_assessable`` with the reason).

A repetition cut by the clip's first or last visible frame that is ``partial`` (`rules.reps`) is
a reps row but gets no findings and is not counted (`ScoreResult.n_reps`).

A check whose view does not include the track's camera view gives one ``not_assessable``
finding for the track ("not assessable from this view"), never a judgement. The view is
estimated over time (`analysis.kinematics.view_segments`) unless declared: each rep is judged in
the view of its own segment and records it (``reps.view``); a check that another of the track's
views can show is ``not_assessable`` for the reps that cannot (`rules.view_findings`). A value that cannot
be measured (keypoints missing) is ``not_assessable`` too. An exercise without a rule file gets
no judgement and one note finding (``check_id`` ``no_rule_file``).

Keypoints travel as `posecoach.keypoints.KeyPoints` (a stored table is converted once, where it
is read: `as_keypoints`); repetitions and findings as typed records (`rules.records.Rep` /
``Finding``), which become tables only at the end (`rules.records.to_frame`), in the store's
column order.

`score_video` reads from and writes to the store: the ``features`` table (the values the checks
were evaluated on, for reports and analysts), ``reps`` and ``findings``, each replaced on a
re-score; never the ``videos`` row (the flow writes that last). Their metadata records the rule
file, each track's view and rep signal, and every check's bands, so that a report needs no rule
file. `score_keypoints` is the pure core for callers that hold the keypoints already.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.kinematics.angles import MIN_SCORE
from analysis.kinematics.features import (
    GRID_COLUMNS,
    feature_parameters,
    track_features,
    track_grid,
    video_features,
)
from analysis.kinematics.view_online import spans_to_segments
from analysis.kinematics.view_segments import ViewSegment, dominant_view, view_segments
from posecoach.keypoints import KeyPoints
from posecoach.schema import FINDINGS, REPS, SEVERITIES
from posecoach.videos import declared_view
from rules.checks import evaluate_check
from rules.loader import Library, load_library, rules_digest
from rules.poses import flow_features, flow_metrics, score_flow_track
from rules.records import Finding, Rep, to_frame
from rules.reps import (
    Segment,
    conditions_mask,
    find_holds,
    find_reps,
    frame_rate,
    measured,
    prepare_signal,
    rep_side,
    with_fallback,
)
from rules.schema import VIEWS, RuleFile
from rules.uncertainty import TrackNoise
from rules.view_findings import rep_view_findings, rep_views, track_view_findings

__all__ = ["ScoreResult", "rules_digest", "score_keypoints", "score_video", "track_grid"]

#: Tracks shorter than this (seconds) are not scored (a passer-by, a false detection).
MIN_TRACK_S = 1.0
_SEVERITY_RANK = {s: i for i, s in enumerate(("ok", "info", "caution", "risk"))}
_DATE_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


@dataclass
class ScoreResult:
    """What scoring one video produced.

    Attributes:
        video_id, exercise: as scored. rule_id / rule_version: the rule file used ("" if none).
        views: camera view per track. reps / findings: the rows (REPS / FINDINGS schemas).
        worst_severity: the worst judged severity over all findings ("ok" if none).
        note: why nothing was judged, when nothing was (unknown exercise, no usable track).
        features: per track, the features the checks were evaluated on
            (`analysis.kinematics.features.track_features`: the standard ones and the rule
            file's own metrics; computed even without a rule).
        signals: per track, the metric repetitions or holds were found on.
        parameters: how the features were computed (the features table's metadata).
        view_segments: per track, its view over time (empty with a declared view).
    """

    video_id: str
    exercise: str
    rule_id: str
    rule_version: str
    views: dict[int, str]
    reps: pd.DataFrame
    findings: pd.DataFrame
    worst_severity: str = "ok"
    note: str = ""
    rules_digest: str = ""
    features: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False)
    signals: dict[int, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict, repr=False)
    view_segments: dict[int, list[ViewSegment]] = field(default_factory=dict, repr=False)

    def features_table(self) -> pd.DataFrame:
        """The ``features`` rows of the video: every track's features with ids."""
        return video_features(self.features, self.video_id)

    @property
    def n_reps(self) -> int:
        """Repetitions counted: partial ones (cut by the clip) are kept but not counted."""
        if not len(self.reps):
            return 0
        return int(((self.reps["kind"] == "rep") & ~self.reps["partial"].eq(True)).sum())

    def n_reps_by_side(self) -> dict[str, int]:
        """Counted repetitions per side (``left`` / ``right``; ``unknown`` for a rep whose side
        was not told), for an alternating exercise whose rule file records sides."""
        if not len(self.reps) or "side" not in self.reps.columns:
            return {}
        counted = self.reps[(self.reps["kind"] == "rep") & ~self.reps["partial"].eq(True)]
        return {str(k): int(v) for k, v in counted["side"].fillna("unknown").value_counts().items()}

    @property
    def n_holds(self) -> int:
        return int((self.reps["kind"] == "hold").sum()) if len(self.reps) else 0

    @property
    def video_view(self) -> str:
        """The view the scored tracks show longest over their view segments (a declared view:
        that one; no track: ``unknown``)."""
        segments = [s for segs in self.view_segments.values() for s in segs]
        return dominant_view(segments) if segments else next(iter(self.views.values()), "unknown")


# -- metrics on a frame grid --------------------------------------------------------------------


def rule_features(
    track: KeyPoints, rule: RuleFile | None, fps: float | None = None
) -> pd.DataFrame:
    """A track's features as the rule file measures them: its own metrics and ``min_score``."""
    if rule is None:
        return track_features(track, fps)
    return track_features(track, fps, definitions=rule.metrics, min_score=rule.min_score)


# -- one track, one video -----------------------------------------------------------------------


def _signal_for(rule: RuleFile, view: str) -> tuple[str, float]:
    """(driving metric, prominence) for a view; an unknown view takes the file's first signal."""
    assert rule.reps is not None
    if rule.reps.signal_for(view) is None:
        view = next(iter(rule.reps.signal))
    return rule.reps.signal_for(view) or "", rule.reps.range_for(view)


def signal_metric(rule: RuleFile, view: str) -> str:
    """The metric repetitions (or holds) of a track in this view are found on."""
    if rule.hold is not None:
        return rule.hold.position[0].metric
    return _signal_for(rule, view)[0]


def _fallback_reps(
    rule: RuleFile,
    view: str,
    metrics: dict[str, np.ndarray],
    t_s: np.ndarray,
    signal_name: str,
    segments: list[Segment],
) -> list[Segment]:
    """``segments`` of the primary signal with the reps of the rule's fallback signal where the
    primary is not measured (`rules.reps.with_fallback`)."""
    assert rule.reps is not None
    fb = rule.reps.fallback
    name = fb.signal_for(view) if fb is not None else None
    if fb is None or name is None:
        return segments
    spec = dataclasses.replace(rule.reps, turn=fb.turn or rule.reps.turn)
    found = find_reps(metrics[name], t_s, spec, fb.range_for(view), with_partial=True)
    return with_fallback(segments, found, measured(metrics[signal_name], t_s))


def score_track(
    track: KeyPoints,
    rule: RuleFile,
    view: str,
    track_id: int,
    fps: float | None = None,
    features: pd.DataFrame | None = None,
    segments_of_view: Sequence[ViewSegment] | None = None,
) -> tuple[list[Rep], list[Finding]]:
    """(reps, findings) of one track: records, without ``video_id`` and ``exercise``.

    ``features``: the track's `rule_features` when the caller has them already.
    ``segments_of_view``: the track's view over time (`analysis.kinematics.view_segments`):
    each rep is judged in the view of the segment holding its turn (``view``, the track's
    dominant one, where none is known); without them every rep is in ``view``.
    """
    # The features are on the track's frame grid: their frame and t_s are the grid's.
    grid = features if features is not None else rule_features(track, rule, fps)
    t_s = grid["t_s"].to_numpy(np.float64)
    frames = grid["frame"].to_numpy()
    metrics = {c: grid[c].to_numpy(np.float64) for c in grid.columns if c not in GRID_COLUMNS}
    noise = TrackNoise.of(track_grid(track, fps), rule.min_score)  # the features' grid rows
    in_position = rep_signal = None
    if rule.hold is not None:
        in_position = conditions_mask(rule.hold.position, metrics)
        in_target = known = None
        if rule.hold.target:
            in_target = conditions_mask(rule.hold.target, metrics)
            known = np.logical_and.reduce(
                [np.isfinite(metrics[c.metric]) for c in rule.hold.target]
            )
        signal = metrics[rule.hold.position[0].metric]
        segments = find_holds(in_position, in_target, t_s, rule.hold, signal, known)
    else:
        assert rule.reps is not None  # a rule file has reps or a hold (rules.validation)
        signal_name, prominence = _signal_for(rule, view)
        rep_signal = prepare_signal(metrics[signal_name], frame_rate(t_s), rule.reps.smooth_s)
        segments = find_reps(metrics[signal_name], t_s, rule.reps, prominence, with_partial=True,
                             prepared=rep_signal)  # fmt: skip
        segments = _fallback_reps(rule, view, metrics, t_s, signal_name, segments)
        if rule.reps.side is not None:
            side = rule.reps.side
            segments = [dataclasses.replace(seg, side=rep_side(seg, metrics[side.left],
                        metrics[side.right], side.pick)) for seg in segments]  # fmt: skip

    findings: list[Finding] = []
    reps: list[Rep] = []
    views_of_reps = rep_views(segments, frames, view, segments_of_view)
    seen = sorted(set(views_of_reps)) or [view]
    findings.extend(track_view_findings(rule, seen, t_s, track_id))
    for i, (seg, rep_view) in enumerate(zip(segments, views_of_reps, strict=True)):
        judged = [c for c in rule.checks if rep_view in c.views]
        # A partial rep (cut by the clip) is listed but not judged: its phases are not all seen.
        rows = [evaluate_check(c, seg, i, rule, grid, metrics, rep_view, track_id, in_position,
                               noise, rep_signal) for c in judged if not seg.partial]  # fmt: skip
        findings.extend(rows)
        if not seg.partial:
            findings.extend(rep_view_findings(rule, seg, i, rep_view, seen, t_s, track_id))
        ranks = [_SEVERITY_RANK[r.severity] for r in rows if r.severity in _SEVERITY_RANK]
        worst = ("ok", "info", "caution", "risk")[max(ranks)] if ranks else "ok"
        reps.append(Rep.from_segment(seg, i, frames, t_s, frame_rate(t_s), track_id=track_id,
                                     rule=rule, worst_severity=worst, view=rep_view))  # fmt: skip
    return reps, findings


def as_keypoints(keypoints: KeyPoints | pd.DataFrame) -> KeyPoints:
    """KeyPoints as they are; a keypoints table (the store's rows) converted, once, here."""
    if isinstance(keypoints, KeyPoints):
        return keypoints
    # An empty read may lack columns (a store without the table): no rows, nothing to convert.
    return KeyPoints.from_frame(keypoints) if len(keypoints) else KeyPoints.empty()


def _usable_tracks(keypoints: KeyPoints) -> list[tuple[int, KeyPoints]]:
    out = []
    for tid in keypoints.track_ids():
        track = keypoints.for_track(tid)
        t = track.t_s
        span = float(np.nanmax(t) - np.nanmin(t)) if np.isfinite(t).any() else 0.0
        if len(track) >= 10 and span >= MIN_TRACK_S:
            out.append((int(tid), track))
    return out


def score_keypoints(
    keypoints: KeyPoints | pd.DataFrame,
    exercise: str | None,
    *,
    video_id: str = "",
    view: str | None = None,
    library: Library | None = None,
    rules_dir: str | os.PathLike[str] | None = None,
    fps: float | None = None,
    known_views: Mapping[int, Sequence[ViewSegment]] | None = None,
) -> ScoreResult:
    """Score one video's keypoints (any number of tracks) against the exercise's rules.

    Args:
        keypoints: the video's `KeyPoints`, or its keypoints table (the keypoints schema,
            ``video_id`` optional), converted once (`as_keypoints`).
        exercise: the videos row's exercise; unknown or None -> kinematics only, a note finding.
        view: a declared camera view (side/front/oblique) applied to every track; otherwise each
            track's view is estimated over time from its keypoints
            (`analysis.kinematics.view_segments`): each rep takes its own segment's view, the
            track the view it shows longest.
        library / rules_dir: the rule files (default: the shipped library).
        fps: the video's frame rate, used only when ``t_s`` is missing.
        known_views: without a declared view, the view over time of the tracks it names as
            something else decided it (a live session's cues, `score_video`): used instead of
            the estimate, so that each rep is judged in the view its cue was.
    """
    library = library if library is not None else load_library(rules_dir)
    rule = library.find(exercise)
    poses = library.family(exercise) if rule is None else ()  # a flow of poses (rules.poses)
    tracks = _usable_tracks(as_keypoints(keypoints))
    declared = view if view in VIEWS else None
    known = known_views or {}
    segs = {} if declared else {tid: list(known.get(tid) or view_segments(t)) for tid, t in tracks}
    views = {tid: declared or dominant_view(segs[tid]) for tid, _ in tracks}
    if poses:
        feats = {tid: flow_features(t, poses, fps) for tid, t in tracks}
    else:
        feats = {tid: rule_features(t, rule, fps) for tid, t in tracks}
    signals = {tid: signal_metric(rule, views[tid]) for tid, _ in tracks} if rule else {}
    reps_rows: list[Rep] = []
    findings_rows: list[Finding] = []
    note = ""
    if poses:
        for tid, track in tracks:
            r, f = score_flow_track(track, poses, tid, fps, features=feats[tid],
                                    declared_view=declared)  # fmt: skip
            reps_rows += r
            findings_rows += f
        note = "" if tracks else "no track long enough to score (at least 10 frames over 1 s)"
    elif rule is None:
        note = (f"no rule file for exercise {exercise!r}: kinematics computed, nothing judged "
                f"(known: {', '.join(sorted(library))})")  # fmt: skip
        findings_rows.append(Finding.no_rule_file(note))
    elif not tracks:
        note = "no track long enough to score (at least 10 frames over 1 s)"
    else:
        for tid, track in tracks:
            r, f = score_track(track, rule, views[tid], tid, fps, features=feats[tid],
                               segments_of_view=segs.get(tid))  # fmt: skip
            reps_rows += r
            findings_rows += f
    reps = to_frame(reps_rows, REPS, video_id, exercise=exercise or "")
    findings = to_frame(findings_rows, FINDINGS, video_id)
    judged = [s for s in findings["severity"] if s in _SEVERITY_RANK]
    worst = max(judged, key=_SEVERITY_RANK.__getitem__) if judged else "ok"
    assert set(findings["severity"]) <= set(SEVERITIES)
    return ScoreResult(
        video_id=video_id,
        exercise=exercise or "",
        rule_id=rule.id if rule else (poses[0].pose.family if poses and poses[0].pose else ""),
        rule_version=rule.version if rule else "",  # a flow's poses: each row has its own
        views=views,
        reps=reps,
        findings=findings,
        worst_severity=worst,
        note=note,
        rules_digest=library.digest,
        features=feats,
        signals=signals,
        view_segments=segs,
        parameters=feature_parameters(
            rule.metrics if rule else (flow_metrics(poses) if poses else None),
            rule.min_score if rule else MIN_SCORE,
            fps,
        ),
    )


def _partition_date(store, video_id: str, video: dict) -> str:
    for path in store.files("keypoints", video_id):
        m = _DATE_DIR.search(path)
        if m:
            return m.group(1)
    if video.get("date"):
        return str(video["date"])
    recorded = video.get("recorded_at")
    if recorded is not None and not pd.isna(recorded):
        return pd.Timestamp(recorded).strftime("%Y-%m-%d")
    raise ValueError(f"video {video_id}: no keypoints file and no recorded_at to date the rows")


def live_views(
    store, video_id: str, video: Mapping[str, Any], keypoints: KeyPoints
) -> dict[int, list[ViewSegment]]:
    """The views a live session without a declared view counted each track in (its keypoints
    file's ``live_views`` metadata, `flows.live_store.store_live`); {} for any other video, and
    for a live session stored before they were recorded (estimated anew then)."""
    if video.get("source") != "live":
        return {}
    spans = store.metadata("keypoints", video_id).get("live_views") or {}
    return {int(tid): spans_to_segments(keypoints.for_track(int(tid)), rows)
            for tid, rows in spans.items() if rows}  # fmt: skip


def _check_bands(rule: RuleFile) -> list[dict[str, Any]]:
    """Every check's metric, comparison and bands: what a chart draws, without the rule file."""
    return [
        {"id": c.id, "metric": c.metric, "phase": c.phase, "comparison": c.comparison,
         "thresholds": {k: float(v) for k, v in c.thresholds.items()}, "unit": c.unit,
         "views": list(c.views), "rule_id": rule.id}
        for c in rule.checks
    ]  # fmt: skip


def score_video(
    store,
    video_id: str,
    rules_dir: str | os.PathLike[str] | None = None,
    *,
    video: dict | pd.Series | None = None,
    keypoints: KeyPoints | pd.DataFrame | None = None,
    library: Library | None = None,
) -> ScoreResult:
    """Score one stored video; write its ``features``, ``reps`` and ``findings`` (not ``videos``).

    Args:
        store: a `posecoach.store.Store`.
        video_id: the video to score.
        rules_dir: a rules folder (default: the shipped library); or pass ``library``.
        video: its videos row (dict/Series) when the caller has it and it is not yet written
            (the nightly flow writes that row last); otherwise it is read from the store.
        keypoints: its keypoints (`KeyPoints` or the table) when the caller has them; otherwise
            the stored table is read and converted to `KeyPoints` once.

    The files carry metadata: rule id, version and sha256, the rules digest, each track's view
    and rep signal, every check's metric, comparison and bands; the features file also how its
    values were computed (`analysis.kinematics.features.feature_parameters`).
    """
    if video is None:
        rows = store.read("videos", video_ids=[video_id])
        if rows.empty:
            raise ValueError(f"video {video_id}: no videos row in {store}; pass video=")
        video = rows.iloc[-1].to_dict()
    video = dict(video)
    if keypoints is None:
        keypoints = as_keypoints(store.read("keypoints", video_ids=[video_id]))
    library = library if library is not None else load_library(rules_dir)
    # Only a declared view binds: an estimated one (videos.view_source) is estimated anew.
    declared = declared_view(video)
    fps = video.get("fps")
    kp = as_keypoints(keypoints)
    result = score_keypoints(
        kp,
        video.get("exercise"),
        video_id=video_id,
        view=declared if declared in VIEWS else None,
        library=library,
        fps=float(fps) if fps and np.isfinite(fps) else None,
        known_views=None if declared in VIEWS else live_views(store, video_id, video, kp),
    )
    date = _partition_date(store, video_id, video)
    rule = library.find(video.get("exercise"))
    poses = library.family(video.get("exercise")) if rule is None else ()
    meta = {
        "rule_id": result.rule_id,
        "rule_version": result.rule_version,
        "rule_sha256": rule.sha256 if rule else "",
        "rules_digest": library.digest,
        "exercise": result.exercise,
        "views": {str(k): v for k, v in result.views.items()},
        "signals": {str(k): v for k, v in result.signals.items()},
        "view_segments": {
            str(k): [[s.start_s, s.end_s, s.view, s.confidence] for s in v]
            for k, v in result.view_segments.items()
        },
        "checks": _check_bands(rule) if rule else [b for p in poses for b in _check_bands(p)],
        "note": result.note,
    }
    store.write("features", result.features_table(), video_id=video_id, date=date,
                metadata={**meta, **result.parameters})  # fmt: skip
    store.write("reps", result.reps, video_id=video_id, date=date, metadata=meta)
    store.write("findings", result.findings, video_id=video_id, date=date, metadata=meta)
    return result
