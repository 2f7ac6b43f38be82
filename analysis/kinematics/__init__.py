"""What scoring measures on a track: joint and segment angles, camera view."""
