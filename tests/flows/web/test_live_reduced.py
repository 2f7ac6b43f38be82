"""Received 1080p frames decoded at half size (`analysis.io.jpeg_reduced`) and what they give.

A synthetic 1920x1080 "person", a bright rectangle at odd pixel edges that move each frame, is
sent as JPEG to a `LiveRecorder` whose fake estimator finds the rectangle in the image it is
given and puts keypoints at known fractions of it: it is given 960x540 images, and the replies,
the stored rows and the reports' frame reader over the stored video all see the rectangle where
it was drawn in the received frame's pixels. The trained RTMDet-nano then finds the same people
in frames of ``two_people_1080p.mp4`` decoded in full and at half size (boxes mapped back). The
pose weights here are random, so the pose's own accuracy at half size cannot be checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import cv2
import numpy as np
import pytest

from analysis.io.jpeg_reduced import decode_reduced, to_frame_pixels
from flows.live_store import live_video_dir, store_live
from flows.web.live_session import LiveRecorder
from posecoach.store import Store
from posecoach.videos import read_video_rows
from reports.thumbnails import FrameReader
from rules.loader import load_library
from tests.helpers import iou, keypoints_for_rect, shared_path, video_frames

WIDTH, HEIGHT = 1920, 1080


def truth(i: int) -> tuple[int, int, int, int]:
    """Frame ``i``'s rectangle, ``x1, y1, x2, y2`` (pixels ``[x1, x2)``, ``[y1, y2)``)."""
    x1, y1 = 301 + 37 * i, 207 + 11 * i
    return x1, y1, x1 + 401, y1 + 655


def frame_jpeg(i: int) -> bytes:
    image = np.full((HEIGHT, WIDTH, 3), 20, np.uint8)
    x1, y1, x2, y2 = truth(i)
    image[y1:y2, x1:x2] = 235
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def find_rect(image: np.ndarray) -> list[tuple[int, list[float], np.ndarray]]:
    """The bright rectangle's box in ``image``'s pixels (its last pixel + 1) and keypoints."""
    ys = np.flatnonzero((image[..., 1] > 127).any(axis=1))
    xs = np.flatnonzero((image[..., 1] > 127).any(axis=0))
    box = [float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1), 0.9]
    kp = np.concatenate([keypoints_for_rect(*box[:4]), np.full((17, 1), 0.9)], axis=1)
    return [(3, box, kp.astype(np.float32))]


def test_a_1080p_session_decoded_at_half_size_is_in_the_received_frames_pixels(tmp_path) -> None:
    seen: list[tuple[int, ...]] = []

    def pose(image: np.ndarray) -> list[Any]:
        seen.append(image.shape)
        return find_rect(image)

    store = Store(tmp_path / "store")
    recording = LiveRecorder(
        load_library().find("squat"), "front", pose, live_video_dir(tmp_path / "store")
    )
    frames = 6
    for i in range(frames):
        data = frame_jpeg(i)
        reply = recording.process(recording.received(data, i / 28), i / 28, data)
        assert isinstance(reply, dict)
        (person,) = reply["people"]
        x1, y1, x2, y2 = truth(i)
        np.testing.assert_allclose(person["bbox"][:4], [x1, y1, x2, y2], atol=2)
        np.testing.assert_allclose(
            np.array(person["keypoints"])[:, :2], keypoints_for_rect(x1, y1, x2, y2), atol=2
        )
    assert seen == [(540, 960, 3)] * frames
    assert recording.shape == (WIDTH, HEIGHT)
    rows = recording.keypoints()
    np.testing.assert_allclose(rows.box[:, :4], [truth(i) for i in range(frames)], atol=2)

    started = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    video_id = store_live(
        store, recording, athlete="eve", exercise="squat", view="front", started=started
    )
    (row,) = read_video_rows(store, [video_id])
    assert (row.width, row.height, row.frames) == (WIDTH, HEIGHT, frames)
    assert recording.video is not None and recording.video.size == (960, 540)
    # The reports' reader brings the 540-line video back to the row's size: each stored box
    # holds the bright rectangle, and just outside it is dark.
    with FrameReader(row.path, row.width, row.height) as reader:
        for k in range(frames):
            image = reader.read(k, float(rows.t_s[k]))
            assert image is not None and image.shape == (HEIGHT, WIDTH, 3)
            x1, y1, x2, y2 = (round(v) for v in rows.box[k, :4])
            assert image[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4, 1].min() > 180
            ring = [
                image[y1 - 8 : y1 - 4, x1:x2],
                image[y2 + 4 : y2 + 8, x1:x2],
                image[y1:y2, x1 - 8 : x1 - 4],
                image[y1:y2, x2 + 4 : x2 + 8],
            ]
            assert max(int(part[..., 1].max()) for part in ring) < 60


@pytest.mark.slow
def test_the_trained_detector_finds_the_same_people_at_half_size() -> None:
    from analysis.models.loading import load_detector

    detector = load_detector(
        shared_path("models", "rtmdet-nano-person"), backend="onnxruntime", allow_download=False
    )
    found = 0
    for frame in video_frames(indices=(0, 24, 48, 71)):
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        full = cv2.imdecode(data, cv2.IMREAD_COLOR)
        decoded = decode_reduced(data.tobytes())
        assert decoded is not None and decoded[1].factor == 2
        (ours,) = detector([decoded[0]])
        (theirs,) = detector([full])
        people = [(0, box, np.zeros((17, 3))) for box in ours.as_array()]
        boxes = np.array([p[1] for p in to_frame_pixels(people, 2)]).reshape(-1, 5)
        reference = theirs.as_array()
        assert len(boxes) == len(reference) == 2  # the clip's two people, and nobody else
        overlap = iou(boxes, reference)
        assert (overlap.max(axis=1) >= 0.9).all() and (overlap.max(axis=0) >= 0.9).all()
        found += len(boxes)
    assert found == 8
