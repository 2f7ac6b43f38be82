"""The camera view of a track over time: segments of one view, split at view changes and cuts.

A camera that pans from the front to the side mid-set, or an edit that cuts from a front shot
to a side shot, gives a track more than one view. Per frame the yaw
(`analysis.kinematics.view.frame_yaw`) is smoothed by a weighted median over a window
(:data:`WINDOW_S`) and classified with hysteresis (a boundary must be passed by
:data:`HYSTERESIS_DEG`); runs shorter than :data:`MIN_SEGMENT_S` are merged into their
neighbours, so a turn of the body or a few bad frames do not make a segment. A camera cut (the
keypoints' box jumps in size or position between consecutive rows, or the track is not seen
for more than :data:`MAX_GAP_S`) always ends a segment. Each segment's view and confidence are
then estimated from its own frames (`analysis.kinematics.view.view_of_yaws`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.kinematics.angles import MIN_SCORE
from analysis.kinematics.view import (
    FRONT_YAW,
    SIDE_YAW,
    frame_yaw,
    view_of_yaws,
    weighted_median,
)
from posecoach.keypoints import KeyPoints

#: Width of the rolling median over the per-frame yaw, seconds.
WINDOW_S = 1.0
#: A smoothed yaw must pass a class boundary by this much to change the class, degrees.
HYSTERESIS_DEG = 5.0
#: Runs of one view shorter than this are merged into a neighbour, seconds.
MIN_SEGMENT_S = 2.0
#: A box height ratio above this between consecutive rows is a cut (or zoom jump).
CUT_SCALE = 1.4
#: A box centre moving more than this fraction of the box height between rows is a cut.
CUT_SHIFT = 0.5
#: Rows with fewer visible keypoints than this have no box (neither cut nor hide a cut).
MIN_BOX_POINTS = 6
#: The track unseen for longer than this (seconds) is a cut.
MAX_GAP_S = 0.5


@dataclass(frozen=True)
class ViewSegment:
    """Rows ``[start, end)`` of a track (in its frame order) seen in one view."""

    start_frame: int
    end_frame: int  # last frame of the segment (inclusive)
    start_s: float
    end_s: float
    view: str
    confidence: float
    cut_before: bool  # the segment starts at a camera cut (False for the first)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


def _visible(kp: KeyPoints, min_score: float) -> np.ndarray:
    """(n, 17) keypoints seen (score at least ``min_score``, finite position) per row."""
    return (np.nan_to_num(kp.scores, nan=0.0) >= min_score) & np.isfinite(kp.xy).all(axis=2)


def _jump(xy_a: np.ndarray, xy_b: np.ndarray) -> tuple[float, float]:
    """(scale ratio, centre shift over size) between two sets of the same keypoints."""
    ca, cb = xy_a.mean(axis=0), xy_b.mean(axis=0)
    ha = float(np.ptp(xy_a[:, 1])) + float(np.ptp(xy_a[:, 0])) / 4
    hb = float(np.ptp(xy_b[:, 1])) + float(np.ptp(xy_b[:, 0])) / 4
    ha, hb = max(ha, 1.0), max(hb, 1.0)
    return max(ha, hb) / min(ha, hb), float(np.hypot(*(cb - ca))) / max(ha, hb)


def cut_rows(kp: KeyPoints, min_score: float = MIN_SCORE) -> np.ndarray:
    """Row indices (of ``kp``, in frame order) at which a camera cut starts a new shot.

    Each row is compared with the last row that had enough keypoints, on the keypoints seen in
    both: a joint leaving or entering the frame (an upper-body close-up, a knee at the frame's
    edge) changes the box of what is visible but is no cut. The size is the vertical extent plus
    a quarter of the horizontal one, so that a horizontal body (a push-up) has one too.
    """
    n = len(kp)
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    seen = _visible(kp, min_score)
    # A handful of points (a close-up's flicker) would make cuts of its noise.
    has = seen.sum(axis=1) >= MIN_BOX_POINTS
    xy = kp.xy.astype(np.float64)
    t_s = kp.t_s.astype(np.float64)
    cuts = []
    last = -1
    for i in range(n):
        if not has[i]:
            continue
        if last >= 0 and is_cut(seen[last], xy[last], t_s[last], seen[i], xy[i], t_s[i]):
            cuts.append(i)
        last = i
    return np.asarray(cuts, dtype=np.int64)


def is_cut(
    seen_a: np.ndarray,
    xy_a: np.ndarray,
    t_a: float,
    seen_b: np.ndarray,
    xy_b: np.ndarray,
    t_b: float,
) -> bool:
    """Whether row b, the next with enough keypoints after row a, starts a new shot (as
    `cut_rows` finds it): ``seen_*`` (17,) the keypoints seen, ``xy_*`` (17, 2) float64."""
    if float(t_b - t_a) > MAX_GAP_S:
        return True
    both = seen_a & seen_b
    if both.sum() < MIN_BOX_POINTS:
        return False
    scale, shift = _jump(xy_a[both], xy_b[both])
    return scale > CUT_SCALE or shift > CUT_SHIFT


def _smoothed(yaw: np.ndarray, weight: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    half = WINDOW_S / 2
    lo = np.searchsorted(t_s, t_s - half, side="left")
    hi = np.searchsorted(t_s, t_s + half, side="right")
    return np.array([weighted_median(yaw[a:b], weight[a:b]) for a, b in zip(lo, hi, strict=True)])


def hysteresis_class(state: str, yaw: float) -> str:
    """The view class of a (smoothed) yaw after ``state`` (the class before; "" or ``unknown``:
    none): a boundary must be passed by :data:`HYSTERESIS_DEG` to leave ``state``; a NaN yaw
    keeps it."""
    if not np.isfinite(yaw):
        return state
    if state == "side":
        state = "side" if yaw > SIDE_YAW - HYSTERESIS_DEG else ""
    elif state == "front":
        state = "front" if yaw < FRONT_YAW + HYSTERESIS_DEG else ""
    elif state == "oblique":
        if yaw > SIDE_YAW + HYSTERESIS_DEG:
            state = "side"
        elif yaw < FRONT_YAW - HYSTERESIS_DEG:
            state = "front"
    else:
        state = ""
    if not state:
        state = "side" if yaw > SIDE_YAW else "front" if yaw < FRONT_YAW else "oblique"
    return state


def _classes(smooth: np.ndarray) -> list[str]:
    """Per row: the view class of the smoothed yaw, with hysteresis; NaN rows take the class
    before them (or after, at the start), ``unknown`` when there is none at all."""
    out: list[str] = []
    state = ""
    for y in smooth:
        state = hysteresis_class(state, float(y))
        out.append(state)
    first = next((s for s in out if s), "unknown")
    filled, prev = [], first
    for s in out:
        prev = s or prev
        filled.append(prev)
    return filled


def _runs(classes: Sequence[str], t_s: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of one class, short ones merged into the longer neighbour."""
    runs: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(classes) + 1):
        if i == len(classes) or classes[i] != classes[start]:
            runs.append((start, i, classes[start]))
            start = i

    def dur(r: tuple[int, int, str]) -> float:
        return float(t_s[r[1] - 1] - t_s[r[0]])

    while len(runs) > 1:
        short = [k for k, r in enumerate(runs) if dur(r) < MIN_SEGMENT_S]
        if not short:
            break
        k = min(short, key=lambda j: dur(runs[j]))
        nbrs = [j for j in (k - 1, k + 1) if 0 <= j < len(runs)]
        j = max(nbrs, key=lambda m: dur(runs[m]))
        a, b = sorted((j, k))
        runs[a : b + 1] = [(runs[a][0], runs[b][1], runs[j][2])]
        # Neighbours of one class after a merge become one run.
        merged = [runs[0]]
        for r in runs[1:]:
            if r[2] == merged[-1][2]:
                merged[-1] = (merged[-1][0], r[1], r[2])
            else:
                merged.append(r)
        runs = merged
    return [(r[0], r[1]) for r in runs]


def view_segments(kp: KeyPoints, min_score: float = MIN_SCORE) -> list[ViewSegment]:
    """The view segments of one track (any row order; read in frame order)."""
    if len(kp) == 0:
        return []
    kp = kp.take(np.argsort(kp.frame, kind="stable"))
    t_s = kp.t_s.astype(np.float64)
    yaw, weight = frame_yaw(kp, min_score)
    bounds = [0, *cut_rows(kp, min_score).tolist(), len(kp)]
    out: list[ViewSegment] = []
    for p, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        smooth = _smoothed(yaw[a:b], weight[a:b], t_s[a:b])
        for i, (s, e) in enumerate(_runs(_classes(smooth), t_s[a:b])):
            est = view_of_yaws(yaw[a + s : a + e], weight[a + s : a + e])
            seg = ViewSegment(
                start_frame=int(kp.frame[a + s]),
                end_frame=int(kp.frame[a + e - 1]),
                start_s=float(t_s[a + s]),
                end_s=float(t_s[a + e - 1]),
                view=est.view,
                confidence=est.confidence,
                cut_before=p > 0 and i == 0,
            )
            prev = out[-1] if out else None
            # Unknown stretches (a close-up's cuts) are one segment; a known view is split at
            # each cut, so that a cut between two shots of one view still shows.
            same = prev is not None and prev.view == seg.view
            if prev is not None and same and (not seg.cut_before or seg.view == "unknown"):
                seg = ViewSegment(prev.start_frame, seg.end_frame, prev.start_s, seg.end_s,
                                  seg.view, min(prev.confidence, seg.confidence),
                                  prev.cut_before)  # fmt: skip
                out[-1] = seg
            else:
                out.append(seg)
    return out


def view_at(segments: Sequence[ViewSegment], frame: int, default: str = "unknown") -> str:
    """The view of the segment holding ``frame``; of the nearest segment when it falls between
    two (a gap), ``default`` with no segments or where the segment's view is unknown."""
    if not segments:
        return default
    best = min(
        segments,
        key=lambda s: 0 if s.start_frame <= frame <= s.end_frame
        else min(abs(frame - s.start_frame), abs(frame - s.end_frame)),
    )  # fmt: skip
    return best.view if best.view != "unknown" else default


def dominant_view(segments: Sequence[ViewSegment]) -> str:
    """The view seen longest over the segments (``unknown`` if none is known)."""
    time: dict[str, float] = {}
    for s in segments:
        if s.view != "unknown":
            # A one-frame segment has no duration but was seen: it still counts a little.
            time[s.view] = time.get(s.view, 0.0) + s.duration_s + 1e-9
    return max(time, key=time.__getitem__) if time else "unknown"


def video_view(kp: KeyPoints, min_score: float = MIN_SCORE) -> str:
    """A video's view: the view seen longest over all its tracks' segments."""
    segments = [s for tid in kp.track_ids() for s in view_segments(kp.for_track(tid), min_score)]
    return dominant_view(segments)
