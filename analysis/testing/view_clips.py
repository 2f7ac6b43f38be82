"""Generated clips for the camera-view tests that the generator has no parameter for.

- `arms_at_chest`: a clip's elbows and wrists moved in front of the chest (a goblet or
  prisoner squat held with the hands at the sternum), drawn over the shoulders as a pose model
  sees them, with lower scores on the shoulders they cover.
- `view_switch`: one track whose camera changes view mid-set (a cut from one shot to the
  other, in the rest between two reps), with the truth of every rep's view.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.testing.synthetic import SyntheticClip, generate_clip


def arms_at_chest(clip: SyntheticClip) -> SyntheticClip:
    """``clip`` with both elbows and wrists at the chest (between the shoulders, a third of the
    way down to the hips) and the shoulders' scores lowered to 0.4-0.6, as an occluded joint
    gets. Other keypoints are unchanged."""
    df = clip.keypoints.copy()
    rng = np.random.default_rng(int(clip.truth.params.get("seed", 0)))
    for suffix in ("", "_raw"):
        sx = (df[f"left_shoulder_x{suffix}"] + df[f"right_shoulder_x{suffix}"]) / 2
        sy = (df[f"left_shoulder_y{suffix}"] + df[f"right_shoulder_y{suffix}"]) / 2
        hy = (df[f"left_hip_y{suffix}"] + df[f"right_hip_y{suffix}"]) / 2
        chest_y = sy + (hy - sy) / 3
        for side, s in (("left", 1), ("right", -1)):
            half = (df[f"{side}_shoulder_x{suffix}"] - sx).abs()
            df[f"{side}_elbow_x{suffix}"] = sx + s * 0.6 * half
            df[f"{side}_elbow_y{suffix}"] = chest_y + 0.1 * (hy - sy)
            df[f"{side}_wrist_x{suffix}"] = sx - s * 0.2 * half
            df[f"{side}_wrist_y{suffix}"] = chest_y
    for side in ("left", "right"):
        df[f"{side}_shoulder_score"] = rng.uniform(0.4, 0.6, len(df))
    return SyntheticClip(keypoints=df, truth=clip.truth)


def view_switch(
    exercise: str, first: str, second: str, *, reps: int = 3, **kwargs: Any
) -> tuple[SyntheticClip, list[str]]:
    """One track of ``2 * reps`` repetitions: ``reps`` filmed from ``first``, then (a cut to a
    new shot, frames and times running on) ``reps`` from ``second``; and each rep's true view.

    ``kwargs`` go to `generate_clip` for both shots (noise, fps, planted values, seed).
    """
    a = generate_clip(exercise, view=first, reps=reps, **kwargs)
    b = generate_clip(exercise, view=second, reps=reps, **kwargs)
    dt = 1.0 / a.truth.fps
    offset_s = float(a.keypoints["t_s"].iloc[-1]) + dt
    kb = b.keypoints.copy()
    kb["frame"] = kb["frame"] + int(a.keypoints["frame"].iloc[-1]) + 1
    kb["t_s"] = kb["t_s"] + offset_s
    keypoints = pd.concat([a.keypoints, kb], ignore_index=True)
    rb = b.truth.reps.copy()
    for col in ("start_s", "turn_s", "end_s"):
        rb[col] = rb[col] + offset_s
    rb["rep_index"] = rb["rep_index"] + len(a.truth.reps)
    truth = replace(a.truth, view=f"{first}+{second}",
                    reps=pd.concat([a.truth.reps, rb], ignore_index=True))  # fmt: skip
    return SyntheticClip(keypoints=keypoints, truth=truth), [first] * reps + [second] * reps
