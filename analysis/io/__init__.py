"""Frames in and pictures out: decoding (threaded), seeking by timestamp, skeleton drawing, the overlay video."""
