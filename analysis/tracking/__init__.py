"""Person identities across frames, left/right repair within a track, and keypoint smoothing."""
