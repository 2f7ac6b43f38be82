"""PoseCoach: recorded training videos in, coaching feedback out.

The cross-cutting pieces live here: the table schemas (`posecoach.schema`), the Parquet store
(`posecoach.store`) and the command line (`posecoach.cli`). The work itself is in the
`analysis`, `rules`, `reports` and `flows` packages.
"""

__version__ = "0.1.0"
# Bumped whenever a change in analysis/ changes the keypoints it produces for the same video;
# the nightly flow re-runs inference for videos processed by an older pipeline version.
PIPELINE_VERSION = "1"
