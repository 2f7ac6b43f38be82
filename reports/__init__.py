"""PoseCoach reports."""
