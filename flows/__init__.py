"""PoseCoach flows."""
