"""The real exercise clips in ../shared/data/keypoints and what their README says of them.

One table for the coaching evaluation (bench/eval_coaching.py) and the tests that count the
clips offline and online, so that a judgement on a clip's truth is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealClip:
    """One real clip: reps counted by eye, the measurable ones (what a good count gives), the
    camera view(s) in order (two for a clip whose camera moves), reps or one hold."""

    name: str
    exercise: str
    by_eye: int
    measurable: int
    views: tuple[str, ...]
    kind: str = "rep"


REAL_CLIPS = (
    RealClip("squats", "squat", 11, 11, ("side",)),
    RealClip("jacks", "jumping_jacks", 19, 19, ("front", "side")),
    RealClip("wall_push_ups", "wall_push_up", 5, 5, ("side",)),
    RealClip("plank", "plank", 1, 1, ("side",), kind="hold"),
    # The close-up (12.2-15.5 s) hides the hips but shows the wrists and shoulders the jacks'
    # signal needs, at the close-up's own torso scale: all 13 can be measured.
    RealClip("jumping_jacks_front", "jumping_jacks", 13, 13, ("front",)),
    # Step-ups: the README gives no view; the shoulders and hips overlap in full view (side).
    # About 4 are done, 2 in full view; the close-up of the feet cannot show the others.
    RealClip("step_ups", "step_up", 4, 2, ("side",)),
)
