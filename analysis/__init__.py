"""PoseCoach analysis."""
