"""From a source or a foreign keypoints file to the store: keypoints written, the videos row built."""
