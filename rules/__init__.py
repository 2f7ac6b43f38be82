"""PoseCoach rules."""
