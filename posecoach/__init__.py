"""PoseCoach: recorded training videos in, coaching feedback out.

The cross-cutting pieces live here: the table schemas (`posecoach.schema`), the Parquet store
(`posecoach.store`) and the command line (`flows.cli.main`). The work itself is in the
`analysis`, `rules`, `reports` and `flows` packages.
"""

__version__ = "0.1.0"
# Bumped whenever a change in analysis/ changes the keypoints it produces for the same video;
# the nightly flow re-runs inference for videos processed by an older pipeline version.
PIPELINE_VERSION = "1"


def model_label(preset: str, detector: str | None = None, pose: str | None = None) -> str:
    """What the ``videos.preset`` column records: the preset, plus any model it was overridden with.

    The nightly flow treats a video as done only for the same label, so pointing ``--detector`` or
    ``--pose`` at other models re-runs the videos, as changing the preset does.
    """
    import os.path

    label = preset
    for role, spec in (("detector", detector), ("pose", pose)):
        if spec:
            label += f"+{role}={os.path.basename(os.path.normpath(str(spec)))}"
    return label
