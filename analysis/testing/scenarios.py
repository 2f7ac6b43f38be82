"""Camera set-ups for generated clips: view, subject size, jitter, frame rate, cuts, partial reps.

A `Scenario` names one generated clip of `analysis.testing.synthetic` as a coach's camera would
film it, with faults planted on known repetitions, and `build` makes it. The subject's height
in pixels is set through the frame size (the generator draws the standing body at 75% of the
frame height), so the jitter in pixels means the same thing at every size.

Two edits the generator has no parameter for are made on its keypoints table here:

- ``partial``: the clip starts in the first rep's descent (30% into it) and/or ends in the
  last rep's ascent (80% into it). The turn and most of the range stay visible, so the issue's
  rule ("counted when its turn and most of its range are visible") says the rep counts: the
  true count is unchanged.
- ``cut``: a camera cut in the pause after the second rep: 0.3 s of frames are dropped and the
  shot after it is zoomed by `CUT_ZOOM` about the floor under the subject (a zoom jump). A cut neither
  creates nor removes reps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.testing.synthetic import DEFAULTS, PAUSE_S, SyntheticClip, generate_clip

#: The standing body's height over the frame height in the generator.
BODY_FRACTION = 0.75
#: Zoom factor of the shot after a camera cut, and the generator's floor line (frame heights).
CUT_ZOOM = 1.2
FLOOR = 0.95
#: Reps that carry the planted fault in every faulted scenario (0-based, of REPS).
FAULTY_REPS = (1, 3)
REPS = 5


@dataclass(frozen=True)
class Fault:
    """A planted fault: generator parameter ``param`` set to ``value`` on the faulty reps (the
    default elsewhere), which the rule file's check ``check`` should flag."""

    param: str
    value: float
    check: str


#: Per (exercise, view): the fault planted, chosen where the view shows it (sagittal angles
#: from the side, the knee's frontal-plane projection angle from the front) and well clear of
#: the check's caution band (squat valgus 22 vs 13.5 deg, trunk lean 62 vs 55 deg; push-up hip
#: sag 18 vs 10 deg; lunge trunk lean 38 vs 30 deg; press lean back 20 vs 12 deg). None: a clean
#: clip, where every flag is false.
FAULTS: dict[tuple[str, str], Fault | None] = {
    ("squat", "side"): Fault("trunk_lean_deg", 62.0, "trunk_lean"),
    ("squat", "front"): Fault("valgus_deg", 22.0, "knee_valgus"),
    ("squat", "oblique"): None,
    ("push_up", "side"): Fault("hip_sag_deg", 18.0, "hip_sag"),
    ("push_up", "oblique"): None,  # a horizontal body seen at 45 degrees: the view's hard case
    ("lunge", "side"): Fault("trunk_lean_deg", 38.0, "trunk_lean"),
    ("lunge", "front"): Fault("valgus_deg", 22.0, "knee_valgus"),
    ("overhead_press", "side"): Fault("trunk_lean_deg", 20.0, "lean_back"),
}

BODY_PX = (150, 250, 400, 600)
JITTER_PX = (1.0, 3.0, 5.0)
FPS = (24.0, 30.0, 60.0)


@dataclass(frozen=True)
class Scenario:
    """One generated clip's set-up.

    Attributes:
        exercise, view: as in `generate_clip`. body_px: the standing subject's height (pixels).
        jitter_px: keypoint noise (pixels, one standard deviation). fps: frame rate.
        fault: what is planted on `FAULTY_REPS` (None: a clean clip).
        partial: ``""``, ``first``, ``last`` or ``both`` (see the module docstring).
        cut: a camera cut with a zoom jump after the second rep.
    """

    exercise: str
    view: str
    body_px: int
    jitter_px: float
    fps: float
    fault: Fault | None = None
    partial: str = ""
    cut: bool = False
    seed: int = 0

    @property
    def name(self) -> str:
        extra = (f" partial={self.partial}" if self.partial else "") + (" cut" if self.cut else "")
        return (
            f"{self.exercise} {self.view} {self.body_px}px jitter={self.jitter_px:g} "
            f"{self.fps:g}fps{extra}"
        )

    @property
    def expected(self) -> set[tuple[int, str]]:
        """(true rep index, check id) of every planted fault."""
        return {(k, self.fault.check) for k in FAULTY_REPS} if self.fault else set()


def _frame_size(body_px: int) -> tuple[int, int]:
    height = int(round(body_px / BODY_FRACTION))
    return int(round(height * 16 / 9)), height


def _xy_columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    xs = [c for c in df.columns if c.endswith(("_x", "_x_raw")) or c in ("bbox_x1", "bbox_x2")]
    ys = [c for c in df.columns if c.endswith(("_y", "_y_raw")) or c in ("bbox_y1", "bbox_y2")]
    return xs, ys


def _cut(df: pd.DataFrame, clip: SyntheticClip) -> pd.DataFrame:
    reps = clip.truth.reps
    gap_start = float(reps["end_s"].iloc[1]) + 0.1
    gap_end = gap_start + min(0.3, PAUSE_S - 0.15)
    df = df[(df["t_s"] < gap_start) | (df["t_s"] >= gap_end)].copy()
    after = df["t_s"] >= gap_end
    xs, ys = _xy_columns(df)
    # About the floor under the subject (the generator's feet line), so the zoomed body stays
    # in the frame.
    cx, cy = clip.truth.width / 2, FLOOR * clip.truth.height
    df.loc[after, xs] = (cx + CUT_ZOOM * (df.loc[after, xs] - cx)).astype(np.float32)
    df.loc[after, ys] = (cy + CUT_ZOOM * (df.loc[after, ys] - cy)).astype(np.float32)
    return df


def _trim(df: pd.DataFrame, clip: SyntheticClip, partial: str) -> pd.DataFrame:
    reps = clip.truth.reps
    first, last = reps.iloc[0], reps.iloc[-1]
    keep = np.ones(len(df), dtype=bool)
    if partial in ("first", "both"):
        keep &= df["t_s"].to_numpy() >= first["start_s"] + 0.3 * first["duration_s"]
    if partial in ("last", "both"):
        keep &= df["t_s"].to_numpy() <= last["start_s"] + 0.8 * last["duration_s"]
    return df[keep]


def build(scenario: Scenario) -> SyntheticClip:
    """The generated clip of a scenario, with the generator's exact truth (rep times and planted
    values; a trimmed clip's truth still lists every rep, all of which should be counted)."""
    if scenario.partial not in ("", "first", "last", "both"):
        raise ValueError(
            f"scenario {scenario.name!r}: partial must be '', first, last or both, "
            f"not {scenario.partial!r}"
        )
    width, height = _frame_size(scenario.body_px)
    params: dict[str, Any] = {}
    if scenario.fault is not None:
        clean = DEFAULTS[scenario.exercise][scenario.fault.param]
        params[scenario.fault.param] = [
            scenario.fault.value if k in FAULTY_REPS else clean for k in range(REPS)
        ]
    clip = generate_clip(
        scenario.exercise,
        reps=REPS,
        view=scenario.view,
        fps=scenario.fps,
        width=width,
        height=height,
        noise_px=scenario.jitter_px,
        seed=scenario.seed,
        **params,
    )
    df = clip.keypoints
    if scenario.cut:
        df = _cut(df, clip)
    if scenario.partial:
        df = _trim(df, clip, scenario.partial)
    return replace(clip, keypoints=df.reset_index(drop=True))


def grid(quick: bool = False) -> list[Scenario]:
    """The evaluation's set-ups: every (exercise, view) of `FAULTS` over body sizes, jitters and
    frame rates, plus squat and push-up clips with partial first/last reps and camera cuts.
    ``quick``: the smallest and largest body, the least and most jitter, 30 fps only."""
    bodies = (BODY_PX[0], BODY_PX[-1]) if quick else BODY_PX
    jitters = (JITTER_PX[0], JITTER_PX[-1]) if quick else JITTER_PX
    rates = (30.0,) if quick else FPS
    out = []
    for seed, ((exercise, view), body, jitter, fps) in enumerate(
        itertools.product(FAULTS, bodies, jitters, rates)
    ):
        fault = FAULTS[(exercise, view)]
        out.append(Scenario(exercise, view, body, jitter, fps, fault=fault, seed=seed))
    edits = [("both", False), ("", True), ("first", True)]
    for (exercise, view), body, (partial, cut) in itertools.product(
        (("squat", "side"), ("push_up", "side"), ("squat", "front")), (bodies[0], 300), edits
    ):
        fault = FAULTS[(exercise, view)]
        out.append(Scenario(exercise, view, body, 2.0, 30.0, fault, partial, cut, seed=len(out)))
    return out
