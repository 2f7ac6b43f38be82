"""analysis.io.jpeg_reduced: the reduction a frame's height allows, the JPEG header's size, the
reduced decode, and people mapped back to the received frame's pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from analysis.io.jpeg_reduced import (
    FrameScale,
    decode_flag,
    decode_reduced,
    jpeg_size,
    reduction,
    to_frame_pixels,
)


def jpeg(width: int, height: int, *params: int) -> bytes:
    image = np.random.default_rng(width * height).integers(0, 255, (height, width, 3), np.uint8)
    ok, data = cv2.imencode(".jpg", image, list(params))
    assert ok
    return data.tobytes()


def test_the_largest_reduction_keeping_the_minimum_height() -> None:
    assert [reduction(h, 540) for h in (360, 480, 720, 1077, 1079, 1080)] == [1, 1, 1, 1, 2, 2]
    assert [reduction(h, 540) for h in (2156, 2157, 4320, 8640)] == [2, 4, 8, 8]
    assert reduction(1080, 1080) == 1 and reduction(100, 10) == 8
    assert decode_flag(1080, 540) == cv2.IMREAD_REDUCED_COLOR_2
    assert decode_flag(2160, 540) == cv2.IMREAD_REDUCED_COLOR_4
    assert decode_flag(720, 540) == cv2.IMREAD_COLOR


@pytest.mark.parametrize("size", [(1920, 1080), (1921, 1081), (640, 360), (17, 9)])
def test_the_size_in_the_header_is_the_decoded_size(size: tuple[int, int]) -> None:
    for params in ((), (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)):  # baseline SOF0, progressive SOF2
        data = jpeg(*size, *params)
        assert jpeg_size(data) == size
        full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert (full.shape[1], full.shape[0]) == size


def test_no_size_without_a_frame_header() -> None:
    data = jpeg(64, 48)
    assert jpeg_size(b"") is None and jpeg_size(b"GIF89a....") is None
    sof = data.index(b"\xff\xc0")
    assert jpeg_size(data[: sof + 6]) is None  # cut inside the header
    assert jpeg_size(data[:sof]) is None  # cut before it
    assert jpeg_size(data[:2] + b"\xff\xda" + data[2:]) is None  # a scan before any header


def test_a_1080p_frame_decodes_at_half_size_and_others_in_full() -> None:
    got = decode_reduced(jpeg(1920, 1080))
    assert got is not None and got[0].shape == (540, 960, 3)
    assert got[1] == FrameScale(2, (1920, 1080))
    got = decode_reduced(jpeg(1921, 1081))  # libjpeg rounds up
    assert got is not None and got[0].shape == (541, 961, 3)
    assert got[1] == FrameScale(2, (1921, 1081))
    got = decode_reduced(jpeg(3840, 2160))
    assert got is not None and got[0].shape == (540, 960, 3) and got[1].factor == 4
    got = decode_reduced(jpeg(640, 480))
    assert got is not None and got[0].shape == (480, 640, 3)
    assert got[1] == FrameScale(1, (640, 480))
    assert decode_reduced(b"\xff\xd8\xff not a jpeg") is None


def test_people_are_mapped_back_by_the_factor_scores_kept() -> None:
    kp = np.array([[10.0, 20.0, 0.9]] * 17, np.float32)
    kp[3] = [np.nan, np.nan, 0.1]
    raw = kp[:, :2] + 1.0
    (tid, box, xy, xy_raw), (tid2, box2, xy2) = to_frame_pixels(
        [(4, [1.0, 2.0, 3.0, 4.0, 0.8], kp, raw), (5, (1, 2, 3, 4), kp)], 2
    )
    assert (tid, tid2) == (4, 5) and box == [2.0, 4.0, 6.0, 8.0, 0.8] and box2 == [2, 4, 6, 8]
    np.testing.assert_array_equal(xy[0], np.float32([20.0, 40.0, 0.9]))
    assert np.isnan(xy[3, :2]).all() and xy[3, 2] == np.float32(0.1)
    np.testing.assert_array_equal(xy_raw[0], [22.0, 42.0])
    np.testing.assert_array_equal(xy2, xy)
    assert kp[0, 0] == 10.0  # the estimator's own arrays are left as they were
    people = [(1, [1.0, 2.0, 3.0, 4.0], kp)]
    assert to_frame_pixels(people, 1) == people


def test_a_frame_turned_by_its_exif_orientation_is_decoded_as_in_full() -> None:
    # An APP1 Exif segment whose one tag, Orientation = 6, turns the image 90 degrees.
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x01\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00"
    tiff += b"\x06\x00\x00\x00" + b"\x00\x00\x00\x00"
    exif = b"Exif\x00\x00" + tiff
    plain = jpeg(1920, 1080)
    data = plain[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + plain[2:]
    assert jpeg_size(data) == (1920, 1080)
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert full.shape == (1920, 1080, 3)  # turned
    got = decode_reduced(data)
    assert got is not None and got[1] == FrameScale(1, (1080, 1920))
    np.testing.assert_array_equal(got[0], full)
